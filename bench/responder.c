/*
 * The http-01 responder: a thread with its own epoll loop serving
 * GET /.well-known/acme-challenge/<token> from an in-memory table, on
 * 127.0.0.1:PORT (and [::1]:PORT when IPv6 loopback is up), HTTP/1.1 with
 * keep-alive. The table is a chained hash under one mutex: the flows put
 * and delete tokens, this thread reads them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"

#define NBUCKET 65536
#define REQ_MAX 8192

struct tok {
	struct tok *next;
	char *token;
	char *keyauth;
};

struct rconn {
	int fd;
	size_t len;
	char buf[REQ_MAX];
};

static pthread_mutex_t tab_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tok *tab[NBUCKET];
static atomic_uint_fast64_t hits, misses;
static pthread_t thr;
static int lfd[2] = { -1, -1 }, epfd = -1, stopfd[2] = { -1, -1 };

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % NBUCKET;
}

void
bn_resp_put(const char *token, const char *keyauth)
{
	struct tok *t = bn_malloc(sizeof(*t));
	unsigned h = hash(token);

	t->token = bn_strdup(token);
	t->keyauth = bn_strdup(keyauth);
	pthread_mutex_lock(&tab_mu);
	t->next = tab[h];
	tab[h] = t;
	pthread_mutex_unlock(&tab_mu);
}

void
bn_resp_del(const char *token)
{
	struct tok **pp, *t = NULL;
	unsigned h = hash(token);

	pthread_mutex_lock(&tab_mu);
	for (pp = &tab[h]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->token, token) == 0) {
			t = *pp;
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&tab_mu);
	if (t != NULL) {
		free(t->token);
		free(t->keyauth);
		free(t);
	}
}

/* The answer for target into out (at most cap bytes). Returns its length. */
static size_t
answer(const char *target, size_t tlen, char *out, size_t cap)
{
	static const char prefix[] = "/.well-known/acme-challenge/";
	char token[256];
	struct tok *t;
	int n = -1;

	if (tlen > sizeof(prefix) - 1 && tlen - (sizeof(prefix) - 1) < sizeof(token) &&
	    memcmp(target, prefix, sizeof(prefix) - 1) == 0) {
		memcpy(token, target + sizeof(prefix) - 1, tlen - (sizeof(prefix) - 1));
		token[tlen - (sizeof(prefix) - 1)] = '\0';
		pthread_mutex_lock(&tab_mu);
		for (t = tab[hash(token)]; t != NULL; t = t->next)
			if (strcmp(t->token, token) == 0) {
				n = snprintf(out, cap, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				    "Content-Length: %zu\r\n\r\n%s", strlen(t->keyauth), t->keyauth);
				break;
			}
		pthread_mutex_unlock(&tab_mu);
	}
	if (n < 0) {
		atomic_fetch_add(&misses, 1);
		n = snprintf(out, cap, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	} else {
		atomic_fetch_add(&hits, 1);
	}
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

static void
rconn_close(struct rconn *rc)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, rc->fd, NULL);
	close(rc->fd);
	free(rc);
}

/* Serve every complete request in rc's buffer. Returns -1 to close. */
static int
rconn_serve(struct rconn *rc)
{
	char out[1024];

	for (;;) {
		char *end = memmem(rc->buf, rc->len, "\r\n\r\n", 4), *sp1, *sp2;
		size_t used, n, off = 0;

		if (end == NULL)
			return rc->len >= sizeof(rc->buf) ? -1 : 0;
		used = (size_t)(end + 4 - rc->buf);
		/* GET target HTTP/1.x; requests carry no body. */
		if ((sp1 = memchr(rc->buf, ' ', used)) == NULL ||
		    (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL)
			return -1;
		n = answer(sp1 + 1, (size_t)(sp2 - sp1 - 1), out, sizeof(out));
		while (off < n) {
			ssize_t w = write(rc->fd, out + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;   /* the peer does not read: give up on it */
			off += (size_t)w;
		}
		memmove(rc->buf, rc->buf + used, rc->len - used);
		rc->len -= used;
	}
}

static void *
resp_main(void *arg)
{
	struct epoll_event evs[64];
	int i, n;

	(void)arg;
	for (;;) {
		n = epoll_wait(epfd, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bn_die("responder: epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &stopfd[0])
				return NULL;
			if (p == &lfd[0] || p == &lfd[1]) {
				int fd = *(int *)p, cfd;

				while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct rconn *rc = bn_calloc(1, sizeof(*rc));
					struct epoll_event e = { .events = EPOLLIN, .data.ptr = rc };

					rc->fd = cfd;
					if (epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &e) < 0)
						bn_die("responder: epoll_ctl: %s", strerror(errno));
				}
				continue;
			}
			{
				struct rconn *rc = p;
				ssize_t r = read(rc->fd, rc->buf + rc->len, sizeof(rc->buf) - rc->len);

				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (r <= 0) {
					rconn_close(rc);
					continue;
				}
				rc->len += (size_t)r;
				if (rconn_serve(rc) < 0)
					rconn_close(rc);
			}
		}
	}
}

static int
listen_on(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void
bn_resp_start(int port)
{
	struct epoll_event e;
	int i;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || pipe(stopfd) < 0)
		bn_die("responder: %s", strerror(errno));
	if ((lfd[0] = listen_on(AF_INET, port)) < 0)
		bn_die("responder: cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
	lfd[1] = listen_on(AF_INET6, port);   /* optional: no IPv6 loopback is fine */
	for (i = 0; i < 2; i++) {
		if (lfd[i] < 0)
			continue;
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN;
		e.data.ptr = &lfd[i];
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd[i], &e) < 0)
			bn_die("responder: epoll_ctl: %s", strerror(errno));
	}
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = &stopfd[0];
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, stopfd[0], &e) < 0)
		bn_die("responder: epoll_ctl: %s", strerror(errno));
	if (pthread_create(&thr, NULL, resp_main, NULL) != 0)
		bn_die("responder: pthread_create failed");
}

void
bn_resp_stop(void)
{
	int i;

	if (epfd < 0)
		return;
	if (write(stopfd[1], "x", 1) != 1)
		bn_die("responder: cannot stop");
	pthread_join(thr, NULL);
	for (i = 0; i < 2; i++)
		if (lfd[i] >= 0)
			close(lfd[i]);
	close(stopfd[0]);
	close(stopfd[1]);
	close(epfd);
	epfd = -1;
}

void
bn_resp_counts(uint64_t *h, uint64_t *m)
{
	*h = atomic_load(&hits);
	*m = atomic_load(&misses);
}
