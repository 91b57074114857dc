/*
 * Helpers for the validator tests: run validations on a private engine and
 * loop, and the local responders they run against — a tiny HTTP server
 * forked on 127.0.0.1 with one behaviour per token prefix, and
 * pebble-challtestsrv as the DNS server. Everything listens on loopback on
 * ports the kernel picks, and is killed by the test's teardown.
 *
 * Functions are static inline so that each test program uses what it needs.
 */
#ifndef VAL_TESTS_VTEST_H
#define VAL_TESTS_VTEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/log.h"
#include "core/validation.h"
#include "store/store.h"
#include "validators/loop.h"
#include "validators/val.h"

/* The thumbprint part of every test key authorization. */
#define VT_THUMB "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

/* ------------------------------------------------------------------ */
/* Running validations                                                   */

struct vt_result {
	int done;
	int valid;
	int caa_checked;
	enum acme_prob type;
	char detail[512];
	int64_t ms;                    /* from start to the callback */
	int64_t started;
};

static inline void
vt_done(void *arg, const struct acme_val_item *it, const struct acme_problem *p, int caa_checked)
{
	struct vt_result *r = arg;

	(void)it;
	r->done = 1;
	r->valid = p == NULL;
	r->caa_checked = caa_checked;
	r->type = p ? p->type : PROB_NONE;
	snprintf(r->detail, sizeof(r->detail), "%s", p ? p->detail : "");
	r->ms = val_now_ms() - r->started;
}

/* An item for ident with token; the key authorization is token.VT_THUMB. */
static inline void
vt_item(struct acme_val_item *it, int type, int ident_type, const char *ident, const char *token)
{
	memset(it, 0, sizeof(*it));
	snprintf(it->authz, sizeof(it->authz), "authz-test");
	it->type = (uint8_t)type;
	it->ident_type = (uint8_t)ident_type;
	snprintf(it->ident, sizeof(it->ident), "%s", ident);
	snprintf(it->dir, sizeof(it->dir), "default");
	snprintf(it->token, sizeof(it->token), "%s", token);
	snprintf(it->keyauth, sizeof(it->keyauth), "%s.%s", token, VT_THUMB);
}

/* A store-shaped token (43 base64url characters): prefix padded with 'A'. */
static inline void
vt_token(char out[STORE_TOKEN_LEN + 1], const char *prefix)
{
	size_t n = strlen(prefix);

	if (n > STORE_TOKEN_LEN)
		n = STORE_TOKEN_LEN;
	memcpy(out, prefix, n);
	memset(out + n, 'A', STORE_TOKEN_LEN - n);
	out[STORE_TOKEN_LEN] = '\0';
}

/* Short timeouts so that failing cases end quickly. */
static inline void
vt_opts(struct val_opts *o, int http_port, int tls_port, int allow_private)
{
	memset(o, 0, sizeof(*o));
	o->http_port = http_port;
	o->tls_port = tls_port;
	o->allow_private = allow_private;
	o->connect_ms = 2000;
	o->total_ms = 3000;
	o->dns_ms = 2000;
}

/* Run l until every r[i] is done or max_ms passed. Returns how many are done. */
static inline int
vt_run(struct val_loop *l, struct vt_result *r, int n, int max_ms)
{
	int64_t end = val_now_ms() + max_ms;
	int i, done;

	for (;;) {
		done = 0;
		for (i = 0; i < n; i++)
			done += r[i].done;
		if (done == n || val_now_ms() >= end)
			return done;
		val_loop_once(l, 50);
	}
}

/* One validation from start to end on engine e. */
static inline void
vt_validate(struct val_loop *l, struct val_engine *e, const struct acme_val_item *it,
    const struct val_opts *o, struct vt_result *r)
{
	memset(r, 0, sizeof(*r));
	r->started = val_now_ms();
	if (val_start(e, it, o, vt_done, r) != ACME_OK) {
		r->done = 1;
		r->type = PROB_SERVER_INTERNAL;
		snprintf(r->detail, sizeof(r->detail), "val_start failed");
		return;
	}
	vt_run(l, r, 1, 20000);
	if (getenv("VT_VERBOSE") != NULL)
		fprintf(stderr, "# %s %s: %s (%lld ms): %s\n", it->ident, it->token,
		    r->valid ? "valid" : acme_prob_name(r->type), (long long)r->ms, r->detail);
}

/* ------------------------------------------------------------------ */
/* Ports and processes                                                   */

/* A listening TCP socket on 127.0.0.1 (or ::1) at a kernel-chosen port. */
static inline int
vt_listen(int family, int *port, int backlog)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1;

	*port = 0;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof(*s6);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s4);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, backlog) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET6 ? s6->sin6_port : s4->sin_port);
	return fd;
}

/* A port that was free a moment ago (for programs that bind it themselves). */
static inline int
vt_free_port(int type)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, port = -1;

	if ((fd = socket(AF_INET, type, 0)) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static inline void
vt_kill_group(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* The HTTP responder                                                    */

/*
 * Behaviour by the token (the last path segment of
 * /.well-known/acme-challenge/<tok>), by prefix:
 *   good   200 tok.THUMB            ws     200 tok.THUMB "\r\n \t"
 *   lead   200 " " tok.THUMB        wrong  200 tok.wrongthumb
 *   nf     404 with a 10 KB page    huge   200 with 10 MB
 *   loop   302 /loop-b/tok -> 302 back
 *   hopsN  N redirects through /hop/k/tok, then 200 tok.THUMB
 *   port   302 to port 8080         ftp    302 to ftp://
 *   s303   303 (not followed)       abs    302 absolute to this server
 *   mcast  302 to http://224.0.0.1/ name   302 to http://x.test:PORT/hop/0/tok
 *   tohttpsN  302 to https://127.0.0.1:N/hop/0/tok
 *   hdr    200 only if User-Agent, Accept, Host and Connection are right
 *   close  closes without a response
 *   silent reads the request and never answers
 */
struct vt_http {
	pid_t pid;
	int port;
	int family;                    /* AF_INET: 127.0.0.1, AF_INET6: ::1 */
	volatile int *conns;           /* connections accepted (shared memory) */
};

static inline void
vt_http_send(int fd, int status, const char *extra, const char *body, size_t len)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, len, extra ? extra : "");
	(void)!write(fd, head, (size_t)n);
	if (len > 0)
		(void)!write(fd, body, len);
}

static inline void vt_http_redirect(int fd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void
vt_http_redirect(int fd, int status, const char *fmt, ...)
{
	char loc[600], extra[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(loc, sizeof(loc), fmt, ap);
	va_end(ap);
	snprintf(extra, sizeof(extra), "Location: %s\r\n", loc);
	vt_http_send(fd, status, extra, "", 0);
}

/* The value of header name in req (case-insensitive name), or "". */
static inline void
vt_http_header(const char *req, const char *name, char *out, size_t cap)
{
	const char *p = req;
	size_t nl = strlen(name), n;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			n = strcspn(p, "\r\n");
			if (n >= cap)
				n = cap - 1;
			memcpy(out, p, n);
			out[n] = '\0';
			return;
		}
	}
}

static inline void
vt_http_serve(int fd, int port, int family)
{
	char req[8192], path[2048], tok[256], body[512], hv[256], want[64];
	static char big[65536];
	size_t n = 0, i;
	ssize_t r;
	int k;

	alarm(30);
	while (n < sizeof(req) - 1) {
		if ((r = read(fd, req + n, sizeof(req) - 1 - n)) <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (sscanf(req, "GET %2047s HTTP/1.1", path) != 1)
		return;
	if (sscanf(path, "/hop/%d/%255s", &k, tok) == 2) {
		if (k > 0)
			vt_http_redirect(fd, 302, "/hop/%d/%s", k - 1, tok);
		else {
			snprintf(body, sizeof(body), "%s.%s", tok, VT_THUMB);
			vt_http_send(fd, 200, NULL, body, strlen(body));
		}
		return;
	}
	if (sscanf(path, "/loop-b/%255s", tok) == 1) {
		vt_http_redirect(fd, 302, "/.well-known/acme-challenge/%s", tok);
		return;
	}
	if (sscanf(path, "/.well-known/acme-challenge/%255s", tok) != 1) {
		vt_http_send(fd, 404, NULL, "no", 2);
		return;
	}
	snprintf(body, sizeof(body), "%s.%s", tok, VT_THUMB);
	if (strncmp(tok, "good", 4) == 0) {
		vt_http_send(fd, 200, NULL, body, strlen(body));
	} else if (strncmp(tok, "ws", 2) == 0) {
		strcat(body, "\r\n \t");
		vt_http_send(fd, 200, NULL, body, strlen(body));
	} else if (strncmp(tok, "lead", 4) == 0) {
		snprintf(body, sizeof(body), " %s.%s", tok, VT_THUMB);
		vt_http_send(fd, 200, NULL, body, strlen(body));
	} else if (strncmp(tok, "wrong", 5) == 0) {
		snprintf(body, sizeof(body), "%s.wrongthumbprint", tok);
		vt_http_send(fd, 200, NULL, body, strlen(body));
	} else if (strncmp(tok, "nf", 2) == 0) {
		memset(big, 'x', 10000);
		memcpy(big, "<html>\x01secret", 13);
		vt_http_send(fd, 404, NULL, big, 10000);
	} else if (strncmp(tok, "huge", 4) == 0) {
		memset(big, 'a', sizeof(big));
		dprintf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		    160 * sizeof(big));
		for (i = 0; i < 160; i++)
			if (write(fd, big, sizeof(big)) <= 0)
				break;
	} else if (strncmp(tok, "loop", 4) == 0) {
		vt_http_redirect(fd, 302, "/loop-b/%s", tok);
	} else if (sscanf(tok, "hops%d", &k) == 1) {
		vt_http_redirect(fd, 302, "/hop/%d/%s", k - 1, tok);
	} else if (strncmp(tok, "port", 4) == 0) {
		vt_http_redirect(fd, 302, "http://127.0.0.1:8080/hop/0/%s", tok);
	} else if (strncmp(tok, "ftp", 3) == 0) {
		vt_http_redirect(fd, 302, "ftp://127.0.0.1/hop/0/%s", tok);
	} else if (strncmp(tok, "s303", 4) == 0) {
		vt_http_redirect(fd, 303, "/hop/0/%s", tok);
	} else if (sscanf(tok, "tohttps%d", &k) == 1) {
		vt_http_redirect(fd, 302, "https://127.0.0.1:%d/hop/0/%s", k, tok);
	} else if (strncmp(tok, "abs", 3) == 0) {
		vt_http_redirect(fd, 302, "http://127.0.0.1:%d/hop/0/%s", port, tok);
	} else if (strncmp(tok, "mcast", 5) == 0) {
		vt_http_redirect(fd, 302, "http://224.0.0.1/hop/0/%s", tok);
	} else if (strncmp(tok, "name", 4) == 0) {
		vt_http_redirect(fd, 302, "http://x.test:%d/hop/0/%s", port, tok);
	} else if (strncmp(tok, "hdr", 3) == 0) {
		vt_http_header(req, "User-Agent", hv, sizeof(hv));
		if (strcmp(hv, VAL_USER_AGENT) != 0)
			goto bad;
		vt_http_header(req, "Accept", hv, sizeof(hv));
		if (strcmp(hv, "*/*") != 0)
			goto bad;
		vt_http_header(req, "Connection", hv, sizeof(hv));
		if (strcasecmp(hv, "close") != 0)
			goto bad;
		vt_http_header(req, "Host", hv, sizeof(hv));
		snprintf(want, sizeof(want), family == AF_INET6 ? "[::1]:%d" : "127.0.0.1:%d", port);
		if (strcmp(hv, want) != 0)
			goto bad;
		vt_http_send(fd, 200, NULL, body, strlen(body));
	} else if (strncmp(tok, "close", 5) == 0) {
		return;
	} else if (strncmp(tok, "silent", 6) == 0) {
		alarm(0);
		pause();
	} else {
		vt_http_send(fd, 404, NULL, "unknown", 7);
	}
	return;
bad:
	vt_http_send(fd, 400, NULL, "bad headers", 11);
}

/* Fork the responder on family's loopback. Returns 0, or -1. */
static inline int
vt_http_start(struct vt_http *s, int family)
{
	int lfd, cfd;
	pid_t pid;

	memset(s, 0, sizeof(*s));
	s->conns = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (s->conns == MAP_FAILED)
		return -1;
	*s->conns = 0;
	s->family = family;
	if ((lfd = vt_listen(family, &s->port, 4096)) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(lfd);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			if ((cfd = accept(lfd, NULL, NULL)) < 0)
				continue;
			__atomic_add_fetch(s->conns, 1, __ATOMIC_SEQ_CST);
			if (fork() == 0) {
				close(lfd);
				vt_http_serve(cfd, s->port, s->family);
				shutdown(cfd, SHUT_WR);
				close(cfd);
				_exit(0);
			}
			close(cfd);
		}
	}
	setpgid(pid, pid);
	close(lfd);
	s->pid = pid;
	return 0;
}

static inline void
vt_http_stop(struct vt_http *s)
{
	vt_kill_group(s->pid);
	s->pid = 0;
	if (s->conns != NULL && s->conns != MAP_FAILED)
		munmap((void *)s->conns, sizeof(int));
	s->conns = NULL;
}

/* ------------------------------------------------------------------ */
/* pebble-challtestsrv as the DNS server                                  */

struct vt_dns {
	pid_t pid;
	int port;                      /* DNS, UDP and TCP */
	int mport;                     /* management API */
	char resolver[32];             /* "127.0.0.1:PORT" */
};

/* POST body to the management API path; returns the HTTP status or -1. */
static inline long vt_dns_api(const struct vt_dns *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline long
vt_dns_api(const struct vt_dns *d, const char *path, const char *fmt, ...)
{
	char url[128], body[1024];
	CURL *c;
	long code = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d->mport, path);
	if ((c = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

/* Start pebble-challtestsrv with DNS only; waits until its API answers. */
static inline int
vt_dns_start(struct vt_dns *d)
{
	char dns[32], mgmt[32];
	pid_t pid;
	int i, fd;

	memset(d, 0, sizeof(*d));
	d->port = vt_free_port(SOCK_DGRAM);
	d->mport = vt_free_port(SOCK_STREAM);
	if (d->port < 0 || d->mport < 0)
		return -1;
	snprintf(dns, sizeof(dns), "127.0.0.1:%d", d->port);
	snprintf(mgmt, sizeof(mgmt), "127.0.0.1:%d", d->mport);
	snprintf(d->resolver, sizeof(d->resolver), "127.0.0.1:%d", d->port);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("pebble-challtestsrv", "pebble-challtestsrv", "-dns01", dns, "-management",
		    mgmt, "-http01", "", "-https01", "", "-tlsalpn01", "",
		    (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	d->pid = pid;
	for (i = 0; i < 100; i++) {
		if (vt_dns_api(d, "/clear-txt", "{\"host\":\"warmup.test.\"}") == 200)
			return 0;
		usleep(50000);
	}
	return -1;
}

static inline void
vt_dns_stop(struct vt_dns *d)
{
	vt_kill_group(d->pid);
	d->pid = 0;
}

#endif
