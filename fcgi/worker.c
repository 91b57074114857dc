#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <fcgiapp.h>

#include "core/acme.h"
#include "core/log.h"
#include "fcgi/listen.h"
#include "fcgi/request.h"
#include "fcgi/worker.h"

/*
 * Connections. With FCGI_KEEP_CONN (nginx fastcgi_keep_conn on) a web
 * server keeps a connection open between requests, and may hold more open
 * connections than there are workers. libfcgi's own loop waits on one
 * connection at a time: a worker sitting on an idle kept connection would
 * leave new connections unserved in the backlog until the web server gives
 * the idle one up. So each worker accepts connections itself and polls all
 * of its connections and the listening socket together, serving one request
 * at a time from whichever is ready. libfcgi still does all the protocol
 * work: every connection has its own FCGX_Request whose ipcFd is the
 * connection and whose listen_sock is -1, so when the web server closes the
 * connection FCGX_Accept_r() returns an error instead of blocking in
 * accept().
 */
#define WORKER_MAX_CONN 64

/* After an accept error that will not go away at once (EMFILE...), stop
 * polling the listening socket for this long. */
#define ACCEPT_PAUSE_MS 1000

struct conn {
	FCGX_Request req;
	int used;
};

struct worker {
	const struct acme_config *cfg;
	struct acme_ctx *ctx;
	struct fcgi_board *board;
	unsigned slot;
	int lfd;
	int epfd;                       /* the listening socket and every connection */
	int lfd_armed;                  /* lfd is in epfd */
	unsigned char *body;            /* cfg->max_body + 1 bytes, reused */
	struct conn conn[WORKER_MAX_CONN];
	size_t nconn;
	int64_t accept_paused_until;
	unsigned long long served;
	int fatal;
};

static volatile sig_atomic_t worker_stop;

static void
worker_on_stop(int sig)
{
	(void)sig;
	worker_stop = 1;
}

/*
 * SIGTERM, SIGINT and SIGUSR1 (libfcgi's graceful-stop signal) set a flag.
 * They stay blocked except inside epoll_pwait(), so they can only interrupt the
 * wait for work, never a request: a signal that arrives during a request is
 * taken at the next epoll_pwait(), right after the reply. *wait_mask is the mask
 * for epoll_pwait(). Installed before FCGX_Init() so libfcgi keeps its hands off
 * SIGUSR1 and SIGPIPE.
 */
static enum fcgi_err
worker_signals(sigset_t *wait_mask)
{
	static const int stop[] = { SIGTERM, SIGINT, SIGUSR1 };
	static const int ign[] = { SIGHUP, SIGPIPE };
	static const int dfl[] = { SIGCHLD, SIGQUIT };
	struct sigaction sa;
	sigset_t block;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sa.sa_flags = 0;        /* no SA_RESTART: the handler must end epoll_pwait() */
	sa.sa_handler = worker_on_stop;
	for (i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
		sigaddset(&block, stop[i]);
		if (sigaction(stop[i], &sa, NULL) != 0)
			goto fail;
	}
	/* SIGHUP is the master's reload; a terminal's hangup is the master's too. */
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof(ign) / sizeof(ign[0]); i++)
		if (sigaction(ign[i], &sa, NULL) != 0)
			goto fail;
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		if (sigaction(dfl[i], &sa, NULL) != 0)
			goto fail;
	/* The master's mask (everything it waits for) is inherited: replace it. */
	if (sigprocmask(SIG_SETMASK, &block, NULL) != 0)
		goto fail;
	sigemptyset(wait_mask);
	return FCGI_OK;
fail:
	log_err("worker: signal setup: %s", strerror(errno));
	return FCGI_ESYS;
}

/* Forget connection i, closing it if still open. A plain close(): libfcgi's
 * own close waits (up to seconds) for the peer to close first, which is
 * only worth it right after a reply, where FCGX_Finish_r() does it. */
static void
conn_drop(struct worker *w, size_t i)
{
	struct conn *c = &w->conn[i];

	if (!c->used)
		return;
	if (c->req.ipcFd >= 0) {
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->req.ipcFd, NULL);
		close(c->req.ipcFd);
		c->req.ipcFd = -1;
	}
	FCGX_Free(&c->req, 0);
	c->used = 0;
	w->nconn--;
}

static void
conn_add(struct worker *w, int fd)
{
	struct epoll_event ev;
	size_t i;

	for (i = 0; i < WORKER_MAX_CONN; i++)
		if (!w->conn[i].used)
			break;
	if (i == WORKER_MAX_CONN) {     /* not reached: the caller checks nconn */
		close(fd);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = i;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_err("worker: epoll_ctl: %s", strerror(errno));
		close(fd);
		return;
	}
	FCGX_InitRequest(&w->conn[i].req, -1, 0);
	w->conn[i].req.ipcFd = fd;
	/* FCGX_Accept_r() starts by finishing the previous request, which closes
	 * ipcFd unless keepConnection is set. The BEGIN_REQUEST record then sets
	 * it to what the web server asked for. */
	w->conn[i].req.keepConnection = 1;
	w->conn[i].used = 1;
	w->nconn++;
}

static void
worker_accept(struct worker *w)
{
	enum fcgi_err rc;
	int fd;

	/* One connection per wakeup: the other idle workers, woken too, take the
	 * rest, which spreads the connections over the workers. */
	rc = fcgi_listen_accept(w->lfd, &fd);
	if (rc != FCGI_OK) {
		w->accept_paused_until = fcgi_now_ms() + ACCEPT_PAUSE_MS;
		return;
	}
	if (fd >= 0)
		conn_add(w, fd);
}

/* Serve the next request on connection i, which poll() found readable
 * (a request, or the web server closing the connection). */
static void
worker_serve(struct worker *w, size_t i)
{
	struct conn *c = &w->conn[i];
	struct fcgi_outcome res;
	enum fcgi_err rc;

	fcgi_board_set(w->board, w->slot, FCGI_PH_BUSY);
	if (FCGX_Accept_r(&c->req) < 0) {
		/* The web server closed the connection (or broke the protocol);
		 * libfcgi has closed it already. */
		conn_drop(w, i);
		fcgi_board_set(w->board, w->slot, FCGI_PH_IDLE);
		return;
	}
	rc = fcgi_request_serve(w->ctx, &c->req, w->body, w->cfg->max_body, &res);
	/* Input left unread: the connection cannot carry another request. Let
	 * FCGX_Finish_r() close it after the reply, the way that keeps the reply
	 * from being lost to a reset. */
	if (rc != FCGI_OK || res.close)
		c->req.keepConnection = 0;
	FCGX_Finish_r(&c->req);
	w->served++;
	if (c->req.ipcFd < 0)
		conn_drop(w, i);
	if (res.fatal) {
		log_err("worker: the store needs recovery; exiting so that the master restarts us");
		w->fatal = 1;
	}
	fcgi_board_set(w->board, w->slot, FCGI_PH_IDLE);
}

/* The web server closed connection i and sent nothing more: forget it
 * without libfcgi, whose close of a connection it finds at its end shuts
 * it down, waits for the peer in poll() and tries an accept() on no
 * socket (four system calls for nothing; nginx closes its FastCGI
 * connection after every HEAD request). 1 if it was dropped. */
static int
conn_closed(struct worker *w, size_t i)
{
	char b;
	ssize_t n;

	do
		n = recv(w->conn[i].req.ipcFd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n != 0)
		return 0;       /* data to read first, or an error libfcgi will see */
	conn_drop(w, i);
	return 1;
}

/* Answer what is already waiting on the open connections, without
 * waiting for more: the web server may have sent a request on a kept
 * connection just before we decided to stop. */
static void
worker_flush(struct worker *w)
{
	struct pollfd pfd;
	size_t i;

	for (i = 0; i < WORKER_MAX_CONN && !w->fatal; i++) {
		if (!w->conn[i].used)
			continue;
		pfd.fd = w->conn[i].req.ipcFd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) == 1 && pfd.revents != 0)
			worker_serve(w, i);
	}
}

/* Put the listening socket in the epoll set or take it out; 0, or -1 on
 * an error that leaves the worker unable to accept. */
static int
worker_listen(struct worker *w, int on)
{
	struct epoll_event ev;

	if (on == w->lfd_armed)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.u64 = UINT64_MAX;
	if (epoll_ctl(w->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, w->lfd, on ? &ev : NULL) != 0) {
		log_err("worker: epoll_ctl (listening socket): %s", strerror(errno));
		return -1;
	}
	w->lfd_armed = on;
	return 0;
}

#define WORKER_EVENTS 16

static int
worker_loop(struct worker *w, const sigset_t *wait_mask)
{
	struct epoll_event ev[WORKER_EVENTS];
	int64_t now;
	int k, r, tmo, accept_ready;
	uint64_t i;

	while (!worker_stop && !w->fatal) {
		tmo = -1;
		now = fcgi_now_ms();
		if (worker_listen(w, w->nconn < WORKER_MAX_CONN && now >= w->accept_paused_until) < 0)
			return FCGI_EXIT_ERROR;
		if (now < w->accept_paused_until)
			tmo = (int)(w->accept_paused_until - now);
		r = epoll_pwait(w->epfd, ev, WORKER_EVENTS, tmo, wait_mask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_err("worker: epoll_pwait: %s", strerror(errno));
			return FCGI_EXIT_ERROR;
		}
		/* The connections first, then at most one new one. */
		accept_ready = 0;
		for (k = 0; k < r && !w->fatal; k++) {
			i = ev[k].data.u64;
			if (i == UINT64_MAX) {
				if (ev[k].events & EPOLLERR) {
					log_err("worker: the listening socket failed");
					return FCGI_EXIT_ERROR;
				}
				accept_ready = 1;
			} else if (i < WORKER_MAX_CONN && w->conn[i].used) {
				if ((ev[k].events & (EPOLLRDHUP | EPOLLHUP)) && conn_closed(w, (size_t)i))
					continue;
				worker_serve(w, (size_t)i);
			}
		}
		if (accept_ready && !w->fatal && w->lfd_armed)
			worker_accept(w);
	}
	if (!w->fatal)
		worker_flush(w);
	return w->fatal ? FCGI_EXIT_FATAL : FCGI_EXIT_OK;
}

int
fcgi_worker_run(const struct acme_config *cfg, int lfd, struct fcgi_board *board,
    unsigned slot, pid_t master)
{
	struct worker *w = NULL;
	sigset_t wait_mask;
	enum acme_err e;
	int status = FCGI_EXIT_INIT;
	size_t i;

	(void)master;
	if (worker_signals(&wait_mask) != FCGI_OK)
		goto out;
#ifdef __linux__
	/* A master killed with SIGKILL cannot stop us: let the kernel do it. */
	if (master != 0 && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master))
		goto out;
#endif
	fcgi_board_set(board, slot, FCGI_PH_STARTING);
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->body = malloc(cfg->max_body + 1)) == NULL) {
		log_err("worker: out of memory");
		goto out;
	}
	w->epfd = -1;
	w->cfg = cfg;
	w->board = board;
	w->slot = slot;
	w->lfd = lfd;
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_err("worker: epoll_create1: %s", strerror(errno));
		goto out;
	}
	e = acme_ctx_new(cfg, &w->ctx);
	if (e != ACME_OK) {
		log_err("worker: cannot open the core: %s", acme_strerror(e));
		goto out;
	}
	if (FCGX_Init() != 0) {
		log_err("worker: FCGX_Init failed");
		goto out;
	}
	fcgi_board_set(board, slot, FCGI_PH_IDLE);
	log_debug("worker ready");
	status = worker_loop(w, &wait_mask);
	log_info("worker exiting after %llu requests%s", w->served,
	    status == FCGI_EXIT_FATAL ? " (store failure)" : "");
out:
	if (w != NULL) {
		for (i = 0; i < WORKER_MAX_CONN; i++)
			conn_drop(w, i);
		if (w->epfd >= 0)
			close(w->epfd);
		acme_ctx_free(w->ctx);
		free(w->body);
		free(w);
	}
	return status;
}
