/*
 * acme-validator: the daemon that does all outbound network work.
 *
 *   acme-validator -c /path/acme.conf [-f] [-n] [-t SECONDS] [-u USER[:GROUP]]
 *
 * One thread, one poll() loop (validators/loop.c) over the wake-up socket,
 * a signal pipe, libunbound, libcurl's sockets and the tls-alpn-01
 * connections. SIGTERM/SIGINT: stop leasing, give validations in flight a
 * short grace, abandon the rest (their leases expire and another attempt is
 * made), exit 0. SIGHUP: reload the configuration.
 *
 * -u: started as root, run as USER (core/priv.h) from before the
 * configuration is read; a seccomp filter in every case. The work runs in a
 * child of a supervising process (validators/super.h) that restarts it when
 * it dies or when its main loop has not gone round for -t SECONDS (60): the
 * sign of a wait on a lock that a killed process held. -n: no supervising
 * process (debugging).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/config.h"
#include "core/log.h"
#include "core/priv.h"
#include "store/store.h"
#include "validators/loop.h"
#include "validators/sched.h"
#include "validators/super.h"
#include "validators/upstream.h"
#include "validators/val.h"

#define MAINTAIN_MS 5000
#define DRAIN_MS    3000

static int sig_fd = -1;          /* write end of the signal pipe */

struct daemon {
	struct acme_config *cfg;
	struct store *store;
	char *db_dir;
	char *wake_path;
	int wake_fd;
	int sig_rd;
	struct val_loop *loop;
	struct val_engine *eng;
	struct val_sched *sched;
	struct val_upstream *ups;     /* RA mode's upstream jobs */
	int stop;
	int reload;
	struct timespec conf_mtime;   /* of the configuration file when last loaded */
};

/* The daemon follows its configuration file: a directory added for the
 * FastCGI workers (which reload on SIGHUP) must be known here before its
 * first validation, so a changed file is reloaded without a signal too. */
static int
conf_changed(struct daemon *d)
{
	struct stat st;

	if (stat(d->cfg->path, &st) < 0)
		return 0;
	if (st.st_mtim.tv_sec == d->conf_mtime.tv_sec && st.st_mtim.tv_nsec == d->conf_mtime.tv_nsec)
		return 0;
	d->conf_mtime = st.st_mtim;
	return 1;
}

static void
store_logline(int prio, const char *line)
{
	acme_log(prio, "store: %s", line);
}

static void
on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	(void)!write(sig_fd, &b, 1);
	errno = saved;
}

static void
sig_io(void *arg, int fd, short revents)
{
	struct daemon *d = arg;
	unsigned char buf[32];
	ssize_t n, i;

	(void)revents;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++) {
			if (buf[i] == SIGHUP)
				d->reload = 1;
			else
				d->stop = 1;
		}
}

static void
wake_io(void *arg, int fd, short revents)
{
	struct daemon *d = arg;

	(void)revents;
	store_wake_drain(fd);
	val_sched_wake(d->sched);
}

static enum acme_err
setup_signals(struct daemon *d)
{
	struct sigaction sa;
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
		log_err("pipe: %s", strerror(errno));
		return ACME_EIO;
	}
	d->sig_rd = p[0];
	sig_fd = p[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return val_loop_watch(d->loop, d->sig_rd, POLLIN, sig_io, d);
}

static enum acme_err
open_store(struct daemon *d)
{
	enum store_err se;

	if ((se = store_open(d->db_dir, STORE_OPEN_DAEMON, &d->store)) != STORE_OK) {
		log_err("store %s: %s", d->db_dir, store_strerror(se));
		d->store = NULL;
		return ACME_ESTORE;
	}
	val_sched_use(d->sched, d->store, d->cfg);
	return ACME_OK;
}

static void
reload(struct daemon *d)
{
	struct acme_config *n = NULL;

	d->reload = 0;
	if (acme_config_load(d->cfg->path, &n) != ACME_OK) {
		log_err("reload: %s has errors; keeping the running configuration", d->cfg->path);
		return;
	}
	if ((n->resolver == NULL) != (d->cfg->resolver == NULL) ||
	    (n->resolver != NULL && strcmp(n->resolver, d->cfg->resolver) != 0))
		log_warn("reload: a new resolver takes effect at the next restart");
	if ((n->dnssec_trust_anchor == NULL) != (d->cfg->dnssec_trust_anchor == NULL) ||
	    (n->dnssec_trust_anchor != NULL &&
	     strcmp(n->dnssec_trust_anchor, d->cfg->dnssec_trust_anchor) != 0))
		log_warn("reload: a new dnssec_trust_anchor takes effect at the next restart");
	if (strcmp(n->state_dir, d->cfg->state_dir) != 0)
		log_warn("reload: a new state directory takes effect at the next restart");
	acme_log_open("acme-validator", n->log);
	acme_log_level(n->log_level);
	if (acme_audit_open(n) != ACME_OK)
		log_err("reload: cannot open the audit log %s", n->audit_log);
	/* Validations in flight hold copies of what they need from the old one. */
	val_sched_use(d->sched, d->store, n);
	acme_config_free(d->cfg);
	d->cfg = n;
	log_info("configuration reloaded");
}

static void
maintain(struct daemon *d)
{
	enum store_err se;

	if (d->store == NULL) {
		open_store(d);
		return;
	}
	se = store_maintain(d->store);
	if (se == STORE_RECOVER) {
		log_err("store needs recovery: reopening");
		val_sched_use(d->sched, NULL, d->cfg);
		store_close(d->store);
		d->store = NULL;
		open_store(d);
	} else if (se != STORE_OK) {
		log_warn("store maintenance: %s", store_strerror(se));
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: acme-validator -c config [-f] [-n] [-t SECONDS] [-u USER[:GROUP]]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	const char *conf = NULL;
	int64_t next_maint, drain_end;
	int ch, fg = 0, wait, rc = 1, sst = 1, supervised = 1, watchdog = VAL_SUPER_WATCHDOG_DEFAULT;
	char *run_dir = NULL, *conf_abs = NULL, *end;
	const char *user = NULL;
	long v;

	memset(&d, 0, sizeof(d));
	d.wake_fd = d.sig_rd = -1;
	while ((ch = getopt(argc, argv, "c:fhnt:u:")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'f': fg = 1; break;
		case 'n': supervised = 0; break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < VAL_SUPER_WATCHDOG_MIN || v > VAL_SUPER_WATCHDOG_MAX) {
				fprintf(stderr, "acme-validator: -t takes seconds, %d to %d\n",
				    VAL_SUPER_WATCHDOG_MIN, VAL_SUPER_WATCHDOG_MAX);
				exit(2);
			}
			watchdog = (int)v;
			break;
		case 'u': user = optarg; break;
		default: usage();
		}
	}
	if (conf == NULL || optind != argc)
		usage();
	/* Absolute, so that a reload still finds it after daemon() chdir'd to /. */
	if ((conf_abs = realpath(conf, NULL)) == NULL) {
		fprintf(stderr, "acme-validator: %s: %s\n", conf, strerror(errno));
		goto out;
	}
	/* Root goes before anything is read; the filter before any library
	 * starts. */
	acme_log_open("acme-validator", "stderr");
	if (acme_priv_drop(user) != ACME_OK || acme_priv_nodump() != ACME_OK ||
	    acme_priv_seccomp() != ACME_OK)
		goto out;
	if (acme_config_load(conf_abs, &d.cfg) != ACME_OK)
		goto out;
	acme_log_open("acme-validator", d.cfg->log);
	acme_log_level(d.cfg->log_level);
	store_set_log(store_logline);
	if (!fg) {
		/* Detach before any handle, thread or lock exists. */
		if (daemon(0, 0) != 0) {
			log_err("daemon: %s", strerror(errno));
			goto out;
		}
		if (d.cfg->log == NULL || strcmp(d.cfg->log, "stderr") == 0)
			acme_log_open("acme-validator", "syslog");
	}
	/* The parent supervises and returns here when it is over; the work
	 * goes on in its children. */
	if (supervised && val_super_start(watchdog, &sst) != 0) {
		rc = sst;
		goto out;
	}
	if (acme_audit_open(d.cfg) != ACME_OK)
		goto out;
	if ((d.db_dir = acme_state_file(d.cfg, "db")) == NULL ||
	    (d.wake_path = acme_state_file(d.cfg, "run/validator.sock")) == NULL ||
	    (run_dir = acme_state_file(d.cfg, "run")) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if (mkdir(run_dir, 0755) != 0 && errno != EEXIST) {
		log_err("mkdir %s: %s", run_dir, strerror(errno));
		goto out;
	}
	if (val_loop_new(&d.loop) != ACME_OK || setup_signals(&d) != ACME_OK)
		goto out;
	if (val_engine_new(d.loop, d.cfg->resolver, &d.eng) != ACME_OK ||
	    (d.cfg->dnssec_trust_anchor != NULL &&
	     val_engine_trust_anchor(d.eng, d.cfg->dnssec_trust_anchor) != ACME_OK) ||
	    val_sched_new(d.eng, &d.sched) != ACME_OK ||
	    val_upstream_new(d.loop, &d.ups) != ACME_OK)
		goto out;
	val_sched_set_upstream(d.sched, d.ups);
	if (open_store(&d) != ACME_OK)
		goto out;
	if (store_wake_listen(d.wake_path, &d.wake_fd) != STORE_OK) {
		log_err("wake-up socket %s: cannot listen", d.wake_path);
		goto out;
	}
	if (val_loop_watch(d.loop, d.wake_fd, POLLIN, wake_io, &d) != ACME_OK)
		goto out;
	(void)conf_changed(&d);
	val_super_ready();
	log_info("started: resolver %s, DNSSEC %s, http-01 port %d, tls-alpn-01 port %d, "
	    "%d in flight", d.cfg->resolver ? d.cfg->resolver : "system",
	    d.cfg->dnssec_trust_anchor ? d.cfg->dnssec_trust_anchor : "off", d.cfg->http01_port,
	    d.cfg->tlsalpn01_port, d.cfg->validator_inflight);

	next_maint = val_now_ms() + MAINTAIN_MS;
	while (!d.stop) {
		val_super_beat();
		wait = val_sched_tick(d.sched);
		if (next_maint - val_now_ms() < wait)
			wait = (int)(next_maint - val_now_ms());
		if (val_loop_once(d.loop, wait < 0 ? 0 : wait) != ACME_OK)
			goto out;
		if (d.reload || conf_changed(&d))
			reload(&d);
		if (val_now_ms() >= next_maint || val_sched_store_failed(d.sched)) {
			maintain(&d);
			next_maint = val_now_ms() + MAINTAIN_MS;
		}
	}

	log_info("stopping: %zu validations in flight", val_engine_inflight(d.eng));
	val_sched_drain(d.sched);
	drain_end = val_now_ms() + DRAIN_MS;
	while (val_engine_inflight(d.eng) > 0 && val_now_ms() < drain_end) {
		val_super_beat();
		if (val_loop_once(d.loop, (int)(drain_end - val_now_ms())) != ACME_OK)
			break;
	}
	if (val_engine_inflight(d.eng) > 0)
		log_info("abandoning %zu validations (their leases expire)",
		    val_engine_inflight(d.eng));
	rc = 0;
out:
	/* The engine and the upstream jobs first: they record into the store. */
	val_engine_free(d.eng);
	val_upstream_free(d.ups);
	val_sched_free(d.sched);
	if (d.wake_fd >= 0) {
		close(d.wake_fd);
		unlink(d.wake_path);
	}
	store_close(d.store);
	val_loop_free(d.loop);
	if (d.sig_rd >= 0)
		close(d.sig_rd);
	if (sig_fd >= 0)
		close(sig_fd);
	free(run_dir);
	free(conf_abs);
	free(d.wake_path);
	free(d.db_dir);
	acme_config_free(d.cfg);
	return rc;
}
