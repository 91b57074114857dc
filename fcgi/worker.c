#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
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
 * They stay blocked except inside ppoll(), so they can only interrupt the
 * wait for work, never a request: a signal that arrives during a request is
 * taken at the next ppoll(), right after the reply. *wait_mask is the mask
 * for ppoll(). Installed before FCGX_Init() so libfcgi keeps its hands off
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
	sa.sa_flags = 0;        /* no SA_RESTART: the handler must end ppoll() */
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
	size_t i;

	for (i = 0; i < WORKER_MAX_CONN; i++)
		if (!w->conn[i].used)
			break;
	if (i == WORKER_MAX_CONN) {     /* not reached: the caller checks nconn */
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

static int
worker_loop(struct worker *w, const sigset_t *wait_mask)
{
	struct pollfd pfd[1 + WORKER_MAX_CONN];
	size_t map[1 + WORKER_MAX_CONN];
	struct timespec ts, *tmo;
	int64_t now;
	size_t n, k, i;
	int r, listening;

	while (!worker_stop && !w->fatal) {
		n = 0;
		tmo = NULL;
		now = fcgi_now_ms();
		listening = w->nconn < WORKER_MAX_CONN && now >= w->accept_paused_until;
		if (listening) {
			pfd[n].fd = w->lfd;
			pfd[n].events = POLLIN;
			map[n++] = SIZE_MAX;
		} else if (now < w->accept_paused_until) {
			ts.tv_sec = (time_t)((w->accept_paused_until - now) / 1000);
			ts.tv_nsec = (long)((w->accept_paused_until - now) % 1000) * 1000000L;
			tmo = &ts;
		}
		for (i = 0; i < WORKER_MAX_CONN; i++) {
			if (!w->conn[i].used)
				continue;
			pfd[n].fd = w->conn[i].req.ipcFd;
			pfd[n].events = POLLIN;
			map[n++] = i;
		}
		for (k = 0; k < n; k++)
			pfd[k].revents = 0;
		r = ppoll(pfd, n, tmo, wait_mask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_err("worker: ppoll: %s", strerror(errno));
			return FCGI_EXIT_ERROR;
		}
		for (k = 0; k < n && !w->fatal; k++) {
			if (map[k] == SIZE_MAX || pfd[k].revents == 0)
				continue;
			worker_serve(w, map[k]);
		}
		if (listening && !w->fatal && pfd[0].revents != 0) {
			if (pfd[0].revents & (POLLERR | POLLNVAL)) {
				log_err("worker: the listening socket failed");
				return FCGI_EXIT_ERROR;
			}
			worker_accept(w);
		}
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
	w->cfg = cfg;
	w->board = board;
	w->slot = slot;
	w->lfd = lfd;
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
		acme_ctx_free(w->ctx);
		free(w->body);
		free(w);
	}
	return status;
}
