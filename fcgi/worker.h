/* One worker process: the core's context, the web server's connections, the loop. */
#ifndef ACME_FCGI_WORKER_H
#define ACME_FCGI_WORKER_H

#include <sys/types.h>

#include "core/config.h"
#include "fcgi/board.h"

/*
 * Run a worker in this process: open the core (acme_ctx_new, after fork),
 * then serve requests arriving on the listening socket lfd (non-blocking)
 * until SIGTERM, SIGINT or SIGUSR1 (finish the request in hand, answer the
 * requests already waiting on open connections, close, return), or until
 * the core asks for a restart. cfg and board are borrowed; the worker
 * publishes its phase in board slot `slot` (board NULL: single-process
 * mode). master is the master's pid (0 without one): the worker stops when
 * the master dies. Returns the process exit status (FCGI_EXIT_*).
 */
int fcgi_worker_run(const struct acme_config *cfg, int lfd, struct fcgi_board *board,
    unsigned slot, pid_t master);

#endif
