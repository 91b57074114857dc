/*
 * acme-fcgi, the FastCGI front: definitions shared by the files of fcgi/.
 *
 *   main.c     command line, configuration, listening socket
 *   master.c   forks the workers, respawns, reloads, stops, watchdog
 *   board.c    the scoreboard the workers publish their state in
 *   worker.c   one worker: the core context, the connections, the loop
 *   request.c  FastCGI parameters -> struct acme_req, struct acme_resp -> output
 *   listen.c   the listening socket and accepting connections
 */
#ifndef ACME_FCGI_FCGI_H
#define ACME_FCGI_FCGI_H

#include <stdint.h>

enum fcgi_err {
	FCGI_OK = 0,
	FCGI_ENOMEM,      /* allocation failed */
	FCGI_ESYS,        /* a system call failed (errno logged) */
	FCGI_EINVAL,      /* an argument or a parameter does not parse */
	FCGI_ECONFIG,     /* the configuration is refused (detail logged) */
	FCGI_EPEER,       /* the web server closed the connection or broke the protocol */
	FCGI_ECORE,       /* the core could not start (detail logged) */
	FCGI_ERR__MAX
};

/* A static text for e. Never NULL. */
const char *fcgi_strerror(enum fcgi_err e);

/* Exit statuses of a worker, as the master reads them (sysexits.h values). */
#define FCGI_EXIT_OK      0
#define FCGI_EXIT_ERROR   70   /* EX_SOFTWARE: an internal error */
#define FCGI_EXIT_FATAL   75   /* EX_TEMPFAIL: the store asked for a restart */
#define FCGI_EXIT_INIT    78   /* EX_CONFIG: could not open the core */

#define FCGI_MAX_WORKERS  64
#define FCGI_WATCHDOG_DEFAULT 30   /* seconds one request may take */

/* CLOCK_MONOTONIC in milliseconds (intervals only, never stored). */
int64_t fcgi_now_ms(void);

#endif
