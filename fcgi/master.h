/*
 * The master: holds no database handle (Berkeley DB's DB_REGISTER wants one
 * environment handle per process, opened after fork), forks the workers
 * and keeps them running.
 *
 *   a worker dies          respawned; at once the first time, then with a
 *                          backoff (100 ms doubling to 10 s) while it keeps
 *                          dying young; if no worker ever started, the
 *                          master gives up after 5 failures
 *   SIGTERM, SIGINT        graceful stop: workers finish the request in hand,
 *                          the master waits for them (a second signal, or the
 *                          watchdog limit + 10 s, kills them)
 *   SIGHUP                 reload: the configuration is read and checked (a
 *                          broken one is refused and the old one kept), the
 *                          log reopened, then workers are replaced one at a
 *                          time, each new one ready before an old one is
 *                          told to stop; if the first new worker cannot start
 *                          the reload is rolled back
 *   watchdog               a worker busy on one request longer than the limit
 *                          (or starting for longer than 4 times the limit,
 *                          at least 120 s) is killed with SIGKILL and respawned
 */
#ifndef ACME_FCGI_MASTER_H
#define ACME_FCGI_MASTER_H

#include "core/config.h"
#include "fcgi/fcgi.h"

struct fcgi_master_opts {
	const char *config_path;    /* re-read on SIGHUP */
	int workers;                /* -w; 0: the configuration's `workers` */
	int watchdog;               /* seconds one request may take */
	int lfd;                    /* the non-blocking listening socket */
};

/*
 * Run the master until it is stopped. Takes ownership of cfg (the loaded
 * configuration; freed before return). o is borrowed. Returns the process
 * exit status: 0 after a graceful stop, 1 when the workers cannot start.
 */
int fcgi_master_run(struct acme_config *cfg, const struct fcgi_master_opts *o);

#endif
