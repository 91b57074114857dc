/*
 * The supervising process of acme-validator: what acme-fcgi's master is to
 * its workers. The daemon's work runs in a child; the parent holds no
 * store handle, restarts the child when it dies, and kills and restarts it
 * when its heartbeat stops: a process SIGKILLed while it held a Berkeley
 * DB mutex leaves every other process that waits for that mutex blocked
 * for good (libdb 5.3's mutexes are not robust, and failchk cannot run in
 * a process that is blocked), and the next child's store open runs the
 * recovery that clears it.
 */
#ifndef ACME_VALIDATORS_SUPER_H
#define ACME_VALIDATORS_SUPER_H

#include "core/err.h"

#define VAL_SUPER_WATCHDOG_DEFAULT 60   /* seconds without a heartbeat */
#define VAL_SUPER_WATCHDOG_MIN     10   /* the main loop beats every 5 s at least */
#define VAL_SUPER_WATCHDOG_MAX     3600

/*
 * Fork the first child and supervise it, like fork(): returns 0 in each
 * child (which goes on to do the daemon's work and exits with its status)
 * and 1 in the parent once supervision is over, with the exit status the
 * parent should end with in *status: the child's after a stop signal
 * (SIGTERM, SIGINT, SIGQUIT, forwarded to it), or the first child's when
 * it failed before it became ready. SIGHUP is forwarded. A child killed by
 * a signal or exiting unasked after it had been ready is started again
 * (backoff when it dies soon after its start); one whose heartbeat is
 * older than watchdog_s seconds (4 times that, at least 120 s, while
 * starting) is SIGKILLed and started again. -1 when the supervision
 * cannot be set up (logged). Call before any store handle, thread or
 * signal handler exists.
 */
int val_super_start(int watchdog_s, int *status);

/* In the child: the setup is done (store open, socket listening). */
void val_super_ready(void);

/* In the child: the main loop went round once. A no-op when unsupervised. */
void val_super_beat(void);

#endif
