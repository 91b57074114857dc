#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "fcgi/board.h"
#include "fcgi/master.h"
#include "fcgi/worker.h"

/* Room for a full set of old workers and a full set of new ones: during a
 * reload the old ones finish their requests while the new ones serve. */
#define SLOTS              (2 * FCGI_MAX_WORKERS)
#define TICK_MS            100
#define QUICK_DEATH_MS     5000
#define BACKOFF_BASE_MS    100
#define BACKOFF_MAX_MS     10000
#define STARTUP_GIVE_UP    5
#define START_LIMIT_MIN_S  120
#define STOP_GRACE_S       10

enum wstate {
	WS_EMPTY,       /* no process */
	WS_RUN,         /* running (starting or ready) */
	WS_STOP,        /* told to stop, not yet reaped */
	WS_RESPAWN,     /* died; a new one is due at respawn_at */
};

struct wslot {
	pid_t pid;
	enum wstate st;
	unsigned gen;           /* the configuration generation it runs */
	int64_t started;
	int64_t respawn_at;
	unsigned fails;         /* deaths in a row, each soon after the start */
	int ready;
	int killed;             /* the watchdog sent SIGKILL */
};

struct gen {
	struct acme_config *cfg;    /* owned */
	int workers;
	unsigned id;
};

struct master {
	const struct fcgi_master_opts *o;
	struct fcgi_board *board;
	struct wslot w[SLOTS];
	struct gen cur;
	struct gen prev;        /* cfg != NULL while a reload is under way */
	unsigned next_gen;
	int reload_pending;
	int reload_ready;       /* new workers that became ready in this reload */
	int stopping;
	int killed_all;
	int64_t stop_deadline;
	int any_ready;
	unsigned startup_fails;
	int give_up;
	pid_t self;
};

static void
master_nop(int sig)
{
	(void)sig;
}

/* The master waits for its signals with sigtimedwait(): they stay blocked,
 * with a no-op handler so that none is discarded as ignored. */
static enum fcgi_err
master_signals(sigset_t *set)
{
	static const int wait_for[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD };
	static const int ign[] = { SIGPIPE, SIGUSR1 };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigemptyset(set);
	sa.sa_handler = master_nop;
	for (i = 0; i < sizeof(wait_for) / sizeof(wait_for[0]); i++) {
		sigaddset(set, wait_for[i]);
		if (sigaction(wait_for[i], &sa, NULL) != 0)
			goto fail;
	}
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof(ign) / sizeof(ign[0]); i++)
		if (sigaction(ign[i], &sa, NULL) != 0)
			goto fail;
	if (sigprocmask(SIG_BLOCK, set, NULL) != 0)
		goto fail;
	return FCGI_OK;
fail:
	log_err("master: signal setup: %s", strerror(errno));
	return FCGI_ESYS;
}

static void
master_log_setup(const struct acme_config *cfg)
{
	acme_log_open("acme-fcgi", cfg->log);
	acme_log_level(cfg->log_level);
}

static int
master_workers_for(const struct master *m, const struct acme_config *cfg)
{
	int n = m->o->workers > 0 ? m->o->workers : cfg->workers;

	if (n < 1 || n > FCGI_MAX_WORKERS) {
		log_warn("%d workers asked for; running %d", n, n < 1 ? 1 : FCGI_MAX_WORKERS);
		n = n < 1 ? 1 : FCGI_MAX_WORKERS;
	}
	return n;
}

static void
master_spawn(struct master *m, unsigned i, int64_t now)
{
	struct wslot *s = &m->w[i];
	pid_t pid;
	int status;

	fcgi_board_set(m->board, i, FCGI_PH_STARTING);
	pid = fork();
	if (pid < 0) {
		log_err("master: fork: %s; trying again in 1 s", strerror(errno));
		s->st = WS_RESPAWN;
		s->gen = m->cur.id;
		s->respawn_at = now + 1000;
		return;
	}
	if (pid == 0) {
		/* The worker keeps only what it runs on. */
		if (m->prev.cfg != NULL)
			acme_config_free(m->prev.cfg);
		status = fcgi_worker_run(m->cur.cfg, m->o->lfd, m->board, i, m->self);
		acme_config_free(m->cur.cfg);
		fcgi_board_free(m->board);
		exit(status);
	}
	s->pid = pid;
	s->st = WS_RUN;
	s->gen = m->cur.id;
	s->started = now;
	s->ready = 0;
	s->killed = 0;
	log_debug("worker %d started (slot %u)", (int)pid, i);
}

static void
master_kill_all(struct master *m, int sig)
{
	unsigned i;

	for (i = 0; i < SLOTS; i++) {
		if (m->w[i].pid > 0)
			kill(m->w[i].pid, sig);
		if (m->w[i].pid > 0 && sig == SIGTERM)
			m->w[i].st = WS_STOP;
		if (m->w[i].st == WS_RESPAWN)
			m->w[i].st = WS_EMPTY;
	}
}

static unsigned
master_alive(const struct master *m)
{
	unsigned i, n = 0;

	for (i = 0; i < SLOTS; i++)
		n += m->w[i].pid > 0;
	return n;
}

static void
master_stop_begin(struct master *m, int64_t now)
{
	if (m->stopping) {
		log_warn("second stop signal: killing the workers");
		master_kill_all(m, SIGKILL);
		m->killed_all = 1;
		return;
	}
	m->stopping = 1;
	m->stop_deadline = now + (int64_t)(m->o->watchdog + STOP_GRACE_S) * 1000;
	if (master_alive(m) > 0)
		log_info("stopping: %u workers finish their requests", master_alive(m));
	master_kill_all(m, SIGTERM);
}

/* Tell one worker of an older generation to stop: a new one is ready. */
static void
master_stop_one_old(struct master *m)
{
	unsigned i;

	for (i = 0; i < SLOTS; i++) {
		if (m->w[i].st == WS_RUN && m->w[i].gen != m->cur.id) {
			kill(m->w[i].pid, SIGTERM);
			m->w[i].st = WS_STOP;
			return;
		}
	}
}

static void
master_reload_begin(struct master *m)
{
	struct acme_config *nc = NULL;

	log_info("reload: reading %s", m->o->config_path);
	if (acme_config_load(m->o->config_path, &nc) != ACME_OK) {
		log_err("reload: %s refused; still running the previous configuration",
		    m->o->config_path);
		return;
	}
	master_log_setup(nc);
	m->prev = m->cur;
	m->cur.cfg = nc;
	m->cur.workers = master_workers_for(m, nc);
	m->cur.id = m->next_gen++;
	m->reload_ready = 0;
	log_info("reload: configuration accepted; replacing the workers one at a time");
}

/* The first worker on the new configuration died before it was ready: the
 * configuration passed the checks but the core cannot run on it. */
static void
master_reload_abort(struct master *m)
{
	unsigned i;

	log_err("reload: workers on the new configuration do not start; keeping the "
	    "previous configuration");
	for (i = 0; i < SLOTS; i++) {
		if (m->w[i].gen != m->cur.id)
			continue;
		if (m->w[i].st == WS_RUN) {
			kill(m->w[i].pid, SIGTERM);
			m->w[i].st = WS_STOP;
		} else if (m->w[i].st == WS_RESPAWN) {
			m->w[i].st = WS_EMPTY;
		}
	}
	acme_config_free(m->cur.cfg);
	m->cur = m->prev;
	memset(&m->prev, 0, sizeof(m->prev));
	master_log_setup(m->cur.cfg);
}

static void
master_exited(struct master *m, unsigned i, int st, int64_t now)
{
	struct wslot *s = &m->w[i];
	char how[96];
	int64_t since, delay;
	pid_t pid = s->pid;
	int ready, quick;
	unsigned shift;

	ready = s->ready || fcgi_board_get(m->board, i, &since) != FCGI_PH_STARTING;
	acme_log_wait_status(st, how, sizeof(how));
	s->pid = 0;
	if (s->st == WS_STOP || m->stopping) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			log_debug("worker %d stopped", (int)pid);
		else if (!s->killed && !m->killed_all)
			log_warn("worker %d %s while stopping", (int)pid, how);
		s->st = WS_EMPTY;
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == FCGI_EXIT_FATAL)
		log_warn("worker %d exited for a store restart; starting a new one", (int)pid);
	else if (!s->killed)
		log_err("worker %d %s%s", (int)pid, how, ready ? "" : " before it was ready");
	if (s->gen != m->cur.id) {
		s->st = WS_EMPTY;       /* an old worker during a reload: replaced anyway */
		return;
	}
	if (m->prev.cfg != NULL && !ready && m->reload_ready == 0) {
		s->st = WS_EMPTY;
		master_reload_abort(m);
		return;
	}
	quick = !ready || now - s->started < QUICK_DEATH_MS;
	s->fails = quick ? s->fails + 1 : 0;
	if (!m->any_ready && !ready && ++m->startup_fails >= STARTUP_GIVE_UP && !m->give_up) {
		log_err("no worker could start (%u attempts); giving up: see the errors above",
		    m->startup_fails);
		m->give_up = 1;
	}
	delay = 0;
	if (s->fails > 0) {
		shift = s->fails - 1 < 7 ? s->fails - 1 : 7;
		delay = (int64_t)BACKOFF_BASE_MS << shift;
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
	}
	s->st = WS_RESPAWN;
	s->respawn_at = now + delay;
}

static void
master_reap(struct master *m, int64_t now)
{
	pid_t pid;
	unsigned i;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < SLOTS; i++)
			if (m->w[i].pid == pid)
				break;
		if (i < SLOTS)
			master_exited(m, i, st, now);
	}
}

static void
master_watchdog(struct master *m, int64_t now)
{
	int64_t busy_ms = (int64_t)m->o->watchdog * 1000;
	int64_t start_ms = 4 * busy_ms;
	enum fcgi_phase ph;
	int64_t since;
	unsigned i;

	if (start_ms < START_LIMIT_MIN_S * 1000)
		start_ms = START_LIMIT_MIN_S * 1000;
	for (i = 0; i < SLOTS; i++) {
		struct wslot *s = &m->w[i];

		if (s->pid <= 0 || s->killed)
			continue;
		ph = fcgi_board_get(m->board, i, &since);
		if (ph == FCGI_PH_BUSY && now - since > busy_ms)
			log_err("worker %d has been on one request for %llds: killing it",
			    (int)s->pid, (long long)((now - since) / 1000));
		else if (ph == FCGI_PH_STARTING && now - since > start_ms)
			log_err("worker %d has been starting for %llds: killing it",
			    (int)s->pid, (long long)((now - since) / 1000));
		else
			continue;
		kill(s->pid, SIGKILL);
		s->killed = 1;
	}
}

static void
master_maintain(struct master *m, int64_t now)
{
	struct wslot *s;
	int64_t since;
	int count = 0, starting = 0, pending = 0, old = 0;
	unsigned i;

	for (i = 0; i < SLOTS; i++) {
		s = &m->w[i];
		if (s->st != WS_RUN || s->ready ||
		    fcgi_board_get(m->board, i, &since) == FCGI_PH_STARTING)
			continue;
		s->ready = 1;
		m->any_ready = 1;
		m->startup_fails = 0;
		log_debug("worker %d ready", (int)s->pid);
		if (m->prev.cfg != NULL && s->gen == m->cur.id) {
			m->reload_ready++;
			master_stop_one_old(m);
		}
	}
	for (i = 0; i < SLOTS; i++) {
		s = &m->w[i];
		if (s->st != WS_RESPAWN)
			continue;
		if (s->gen != m->cur.id)
			s->st = WS_EMPTY;
		else if (s->respawn_at <= now)
			master_spawn(m, i, now);
	}
	for (i = 0; i < SLOTS; i++) {
		s = &m->w[i];
		if (s->gen == m->cur.id && (s->st == WS_RUN || s->st == WS_RESPAWN)) {
			count++;
			starting += s->st == WS_RUN && !s->ready;
			pending += s->st == WS_RESPAWN;
		} else if (s->gen != m->cur.id && s->st == WS_RUN) {
			old++;
		}
	}
	for (i = 0; i < SLOTS && count < m->cur.workers; i++) {
		/* During a reload, one new worker at a time. */
		if (m->prev.cfg != NULL && starting > 0)
			break;
		if (m->w[i].st != WS_EMPTY)
			continue;
		master_spawn(m, i, now);
		m->w[i].fails = 0;
		count++;
		starting++;
	}
	if (m->prev.cfg == NULL)
		return;
	if (count < m->cur.workers || starting > 0 || pending > 0)
		return;
	/* All new workers are up: the old ones left over (the new configuration
	 * has fewer workers) stop now, and the reload is over. */
	while (old-- > 0)
		master_stop_one_old(m);
	acme_config_free(m->prev.cfg);
	memset(&m->prev, 0, sizeof(m->prev));
	log_info("reload complete: %d workers on the new configuration", m->cur.workers);
}

int
fcgi_master_run(struct acme_config *cfg, const struct fcgi_master_opts *o)
{
	struct master *m = NULL;
	struct timespec tick = { 0, TICK_MS * 1000000L };
	siginfo_t si;
	sigset_t set;
	int64_t now;
	int status = 1, sig;

	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		log_err("master: out of memory");
		goto out;
	}
	m->o = o;
	m->self = getpid();
	m->cur.cfg = cfg;
	cfg = NULL;
	m->cur.workers = master_workers_for(m, m->cur.cfg);
	m->cur.id = 1;
	m->next_gen = 2;
	if (master_signals(&set) != FCGI_OK || fcgi_board_new(SLOTS, &m->board) != FCGI_OK)
		goto out;
	log_info("acme-fcgi starting %d workers (watchdog %ds)", m->cur.workers, o->watchdog);
	for (;;) {
		now = fcgi_now_ms();
		master_reap(m, now);
		if (m->give_up && !m->stopping)
			master_stop_begin(m, now);
		if (m->stopping) {
			if (master_alive(m) == 0)
				break;
			if (!m->killed_all && now >= m->stop_deadline) {
				log_err("workers still running after %ds: killing them",
				    o->watchdog + STOP_GRACE_S);
				master_kill_all(m, SIGKILL);
				m->killed_all = 1;
			}
		} else {
			if (m->reload_pending && m->prev.cfg == NULL) {
				m->reload_pending = 0;
				master_reload_begin(m);
			}
			master_maintain(m, now);
		}
		master_watchdog(m, now);
		sig = sigtimedwait(&set, &si, &tick);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
			master_stop_begin(m, fcgi_now_ms());
		else if (sig == SIGHUP && !m->stopping)
			m->reload_pending = 1;
	}
	status = m->give_up ? 1 : 0;
	log_info("acme-fcgi stopped");
out:
	if (m != NULL) {
		acme_config_free(m->prev.cfg);
		acme_config_free(m->cur.cfg);
		fcgi_board_free(m->board);
		free(m);
	}
	acme_config_free(cfg);
	return status;
}
