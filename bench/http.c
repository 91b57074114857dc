/*
 * One HTTP/1.1 client connection over TLS on a non-blocking socket, driven
 * by the caller's epoll loop. One request at a time; the connection is kept
 * alive between requests and opened again when the server closed it. A
 * request that fails on a kept connection before any byte of the answer
 * arrived is sent once more on a fresh connection (the server may have
 * closed an idle connection just as we wrote to it).
 *
 * Buffer invariants: out holds the whole request, out_off bytes of it are
 * written; in holds the raw answer, hdr_len is the header's length with its
 * empty line once parsed (0 before), chunk_off the parse position of a
 * chunked body.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "bench/bench.h"

#define HDR_MAX (64 * 1024)
#define BODY_MAX (4 * 1024 * 1024)

const char *const bn_req_name[RQ__N] = {
	[RQ_DIRECTORY] = "directory",
	[RQ_NEWNONCE] = "newNonce",
	[RQ_NEWACCOUNT] = "newAccount",
	[RQ_NEWORDER] = "newOrder",
	[RQ_AUTHZ] = "authz",
	[RQ_CHALLENGE] = "challenge",
	[RQ_POLL_AUTHZ] = "pollAuthz",
	[RQ_FINALIZE] = "finalize",
	[RQ_POLL_ORDER] = "pollOrder",
	[RQ_CERT] = "certificate",
};

static void conn_fail(struct bn_conn *c, const char *err);

void
bn_conn_init(struct bn_conn *c, int epfd, SSL_CTX *ctx, const struct sockaddr *addr,
    unsigned addrlen, const char *sni, bn_conn_cb cb, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->epfd = epfd;
	c->ctx = ctx;
	c->addr = addr;
	c->addrlen = addrlen;
	c->sni = sni;
	c->cb = cb;
	c->arg = arg;
	c->state = CS_CLOSED;
}

static void
conn_want(struct bn_conn *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->fd < 0 || ev == c->events)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->fd, &e) < 0)
		bn_die("epoll_ctl: %s", strerror(errno));
	c->events = ev;
}

void
bn_conn_close(struct bn_conn *c)
{
	if (c->ssl != NULL) {
		/* No close_notify round trip: the answer is complete or lost. */
		SSL_set_quiet_shutdown(c->ssl, 1);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->events = 0;
	c->state = CS_CLOSED;
}

void
bn_conn_free(struct bn_conn *c)
{
	if (c == NULL)
		return;
	bn_conn_close(c);
	bn_buf_free(&c->out);
	bn_buf_free(&c->in);
	bn_buf_free(&c->resp.body);
}

/* Open the socket and start TCP and TLS; the loop carries on from there. */
static void
conn_open(struct bn_conn *c)
{
	struct epoll_event e;
	int one = 1;

	c->fd = socket(c->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		bn_die("socket: %s", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT;
	e.data.ptr = c;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fd, &e) < 0)
		bn_die("epoll_ctl: %s", strerror(errno));
	c->events = EPOLLOUT;
	c->connects++;
	/* A refused connect is reported from the event loop (EPOLLOUT fires),
	 * never from here: failing here would start the next unit from inside
	 * this call, and a dead server would recurse without bound. */
	c->connect_err = 0;
	if (connect(c->fd, c->addr, c->addrlen) < 0 && errno != EINPROGRESS)
		c->connect_err = errno;
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		bn_die("SSL_new failed");
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, c->sni);
	if (!SSL_set1_host(c->ssl, c->sni))
		bn_die("SSL_set1_host failed");
	SSL_set_connect_state(c->ssl);
	c->state = CS_CONNECTING;
}

static void
reset_resp(struct bn_conn *c)
{
	bn_buf_reset(&c->in);
	bn_buf_reset(&c->resp.body);
	c->hdr_len = 0;
	c->body_len = 0;
	c->chunk_off = 0;
	c->got_bytes = 0;
	c->resp.status = 0;
	c->resp.close = 0;
	c->resp.retry_after = -1;
	c->resp.nonce[0] = '\0';
	c->resp.location[0] = '\0';
}

/* (Re)start sending c->out: on the kept connection, or a new one. */
static void
conn_start(struct bn_conn *c)
{
	c->out_off = 0;
	reset_resp(c);
	if (c->state == CS_IDLE) {
		c->reused = 1;
		c->state = CS_SENDING;
		bn_conn_io(c, 0);
		return;
	}
	c->reused = 0;
	bn_conn_close(c);
	conn_open(c);
}

void
bn_conn_send(struct bn_conn *c, const char *method, const char *host, const char *target,
    const char *body, size_t body_len)
{
	bn_buf_reset(&c->out);
	bn_buf_printf(&c->out, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: acme-bench\r\n",
	    method, target, host);
	if (body != NULL)
		bn_buf_printf(&c->out, "Content-Type: application/jose+json\r\n"
		    "Content-Length: %zu\r\n", body_len);
	bn_buf_adds(&c->out, "\r\n");
	if (body != NULL)
		bn_buf_add(&c->out, body, body_len);
	c->head = strcmp(method, "HEAD") == 0;
	c->retried = 0;
	conn_start(c);
}

static void
conn_fail(struct bn_conn *c, const char *err)
{
	ERR_clear_error();
	if (c->reused && !c->got_bytes && !c->retried) {
		c->retried = 1;
		bn_conn_close(c);
		conn_start(c);
		return;
	}
	bn_conn_close(c);
	c->cb(c, err, NULL);
}

static const char *
hdr_value(const char *line, const char *end, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	const char *v;

	if ((size_t)(end - line) <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return NULL;
	v = line + n + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

static int
has_token(const char *v, size_t n, const char *tok)
{
	size_t t = strlen(tok), i;

	for (i = 0; i + t <= n; i++)
		if (strncasecmp(v + i, tok, t) == 0)
			return 1;
	return 0;
}

/* Parse the header in in[0..hdr_len). Returns 0 or -1 (malformed). */
static int
parse_header(struct bn_conn *c)
{
	const char *p = c->in.p, *end = c->in.p + c->hdr_len - 2, *eol, *v;
	size_t vlen;
	char num[24];

	if (strncmp(p, "HTTP/1.", 7) != 0 || c->hdr_len < 14)
		return -1;
	c->resp.status = atoi(p + 9);
	if (c->resp.status < 100 || c->resp.status > 999)
		return -1;
	c->resp.close = p[7] == '0';
	c->body_len = -1;
	if (c->head || c->resp.status == 204 || c->resp.status == 304)
		c->body_len = 0;
	if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return -1;
	for (p = eol + 1; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p) + 1)) == NULL)
			eol = end;
		const char *le = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
		if ((v = hdr_value(p, le, "Content-Length", &vlen)) != NULL) {
			if (vlen == 0 || vlen >= sizeof(num))
				return -1;
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			if (c->body_len == -1)
				c->body_len = strtol(num, NULL, 10);
			if (c->body_len < -2 || c->body_len > BODY_MAX)
				return -1;
		} else if ((v = hdr_value(p, le, "Transfer-Encoding", &vlen)) != NULL) {
			if (has_token(v, vlen, "chunked") && !c->head)
				c->body_len = -2;
		} else if ((v = hdr_value(p, le, "Connection", &vlen)) != NULL) {
			if (has_token(v, vlen, "close"))
				c->resp.close = 1;
		} else if ((v = hdr_value(p, le, "Replay-Nonce", &vlen)) != NULL) {
			if (vlen < sizeof(c->resp.nonce)) {
				memcpy(c->resp.nonce, v, vlen);
				c->resp.nonce[vlen] = '\0';
			}
		} else if ((v = hdr_value(p, le, "Location", &vlen)) != NULL) {
			if (vlen < sizeof(c->resp.location)) {
				memcpy(c->resp.location, v, vlen);
				c->resp.location[vlen] = '\0';
			}
		} else if ((v = hdr_value(p, le, "Retry-After", &vlen)) != NULL) {
			/* Seconds; an HTTP-date is not expected here and counts as 1. */
			if (vlen > 0 && vlen < 10 && v[0] >= '0' && v[0] <= '9') {
				memcpy(num, v, vlen);
				num[vlen] = '\0';
				c->resp.retry_after = atoi(num);
			} else {
				c->resp.retry_after = 1;
			}
		}
	}
	return 0;
}

/*
 * Decode the chunked body from chunk_off on into resp.body. Returns 1 when
 * the last chunk and the trailer are complete, 0 when more is needed, -1
 * when malformed.
 */
static int
parse_chunks(struct bn_conn *c)
{
	for (;;) {
		const char *p = c->in.p + c->chunk_off, *end = c->in.p + c->in.len, *eol;
		char *stop;
		unsigned long n;

		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return 0;
		n = strtoul(p, &stop, 16);
		if (stop == p || n > BODY_MAX)
			return -1;
		if (n == 0) {
			/* Trailer lines up to an empty one. */
			for (p = eol + 1; p < end; p = eol + 1) {
				if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
					return 0;
				if (eol == p || (eol == p + 1 && *p == '\r'))
					return 1;
			}
			return 0;
		}
		if ((size_t)(end - (eol + 1)) < n + 2)
			return 0;
		if (c->resp.body.len + n > BODY_MAX)
			return -1;
		bn_buf_add(&c->resp.body, eol + 1, n);
		c->chunk_off = (size_t)(eol + 1 + n + 2 - c->in.p);
	}
}

/* The answer is complete: keep or close the connection, then call back. */
static void
conn_done(struct bn_conn *c)
{
	if (c->resp.close || c->body_len == -1) {
		bn_conn_close(c);
	} else {
		c->state = CS_IDLE;
		conn_want(c, EPOLLIN);
	}
	c->cb(c, NULL, &c->resp);
}

/* Try to complete the answer with what is in c->in. 1: done (called back),
 * 0: need more, -1: failed (called back). */
static int
try_parse(struct bn_conn *c, int eof)
{
	if (c->hdr_len == 0) {
		char *e = c->in.len >= 4 ? memmem(c->in.p, c->in.len, "\r\n\r\n", 4) : NULL;

		if (e == NULL) {
			if (c->in.len > HDR_MAX || eof) {
				conn_fail(c, eof ? "reset" : "parse");
				return -1;
			}
			return 0;
		}
		c->hdr_len = (size_t)(e + 4 - c->in.p);
		if (parse_header(c) < 0) {
			c->resp.close = 1;
			conn_fail(c, "parse");
			return -1;
		}
		c->chunk_off = c->hdr_len;
	}
	if (c->body_len >= 0) {
		if (c->in.len - c->hdr_len < (size_t)c->body_len) {
			if (eof) {
				conn_fail(c, "reset");
				return -1;
			}
			return 0;
		}
		bn_buf_add(&c->resp.body, c->in.p + c->hdr_len, (size_t)c->body_len);
	} else if (c->body_len == -2) {
		int r = parse_chunks(c);

		if (r < 0 || (r == 0 && eof)) {
			conn_fail(c, r < 0 ? "parse" : "reset");
			return -1;
		}
		if (r == 0)
			return 0;
	} else {
		if (!eof) {
			if (c->in.len - c->hdr_len > BODY_MAX) {
				conn_fail(c, "parse");
				return -1;
			}
			return 0;
		}
		bn_buf_add(&c->resp.body, c->in.p + c->hdr_len, c->in.len - c->hdr_len);
	}
	conn_done(c);
	return 1;
}

/* An SSL call returned r <= 0: wait for the socket (0) or fail (-1). */
static int
ssl_wait(struct bn_conn *c, int r, const char *what)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		conn_want(c, EPOLLIN);
		return 0;
	case SSL_ERROR_WANT_WRITE:
		conn_want(c, EPOLLOUT);
		return 0;
	default:
		conn_fail(c, what);
		return -1;
	}
}

void
bn_conn_io(struct bn_conn *c, uint32_t ev)
{
	int r;

	for (;;) {
		switch (c->state) {
		case CS_CLOSED:
			return;
		case CS_CONNECTING:
			if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
				return;
			{
				int err = 0;
				socklen_t len = sizeof(err);

				if (c->connect_err != 0 ||
				    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
					conn_fail(c, "connect");
					return;
				}
			}
			c->state = CS_HANDSHAKE;
			break;
		case CS_HANDSHAKE:
			if ((r = SSL_do_handshake(c->ssl)) == 1) {
				c->state = CS_SENDING;
				break;
			}
			if (ssl_wait(c, r, "tls") <= 0)
				return;
			break;
		case CS_SENDING:
			r = SSL_write(c->ssl, c->out.p + c->out_off, (int)(c->out.len - c->out_off));
			if (r > 0) {
				c->out_off += (size_t)r;
				if (c->out_off == c->out.len) {
					c->state = CS_RECEIVING;
					conn_want(c, EPOLLIN);
				}
				break;
			}
			if (ssl_wait(c, r, "reset") <= 0)
				return;
			break;
		case CS_RECEIVING:
			bn_buf_reserve(&c->in, 16384);
			r = SSL_read(c->ssl, c->in.p + c->in.len, (int)(c->in.cap - c->in.len - 1));
			if (r > 0) {
				c->in.len += (size_t)r;
				c->in.p[c->in.len] = '\0';
				c->got_bytes = 1;
				if (try_parse(c, 0) != 0)
					return;
				break;
			}
			{
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
					conn_want(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
					return;
				}
				if (e == SSL_ERROR_ZERO_RETURN ||
				    (e == SSL_ERROR_SYSCALL && c->got_bytes)) {
					ERR_clear_error();
					c->resp.close = 1;
					try_parse(c, 1);
					return;
				}
				conn_fail(c, "reset");
				return;
			}
		case CS_IDLE:
			/* Nothing is expected: a close, or TLS records the library eats. */
			{
				char b[256];

				r = SSL_read(c->ssl, b, sizeof(b));
				if (r <= 0) {
					int e = SSL_get_error(c->ssl, r);

					if (e == SSL_ERROR_WANT_READ)
						return;
				}
				ERR_clear_error();
				bn_conn_close(c);
				return;
			}
		}
		ev = 0;
	}
}
