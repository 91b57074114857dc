/*
 * The scheduler: takes due validations from the store's queue (leasing them
 * through core/validation.c), starts them on the engine, and records each
 * outcome with acme_val_finish(), which decides between valid, a retry with
 * backoff and invalid. No transaction is open while anything is validated.
 */
#ifndef VAL_SCHED_H
#define VAL_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "store/store.h"
#include "validators/val.h"

/* Without a wake-up, look at the queue this often. */
#define VAL_SCHED_POLL_MS 1000

struct val_sched;

struct val_sched_stats {
	uint64_t leased;               /* validations started */
	uint64_t valid;
	uint64_t failed;               /* attempts that failed (retried or final) */
	uint64_t errors;               /* store errors */
};

/* A scheduler on engine e (not owned). Caller frees with val_sched_free(). */
enum acme_err val_sched_new(struct val_engine *e, struct val_sched **out);
void val_sched_free(struct val_sched *s);

/* The store and configuration to use from now on; neither is owned, both
 * must outlive their use (swap them here after a reload or a reopen). */
void val_sched_use(struct val_sched *s, struct store *st, const struct acme_config *cfg);

/* A wake-up arrived: look at the queue on the next tick. */
void val_sched_wake(struct val_sched *s);

/* Stop leasing (shutdown). Validations in flight still report. */
void val_sched_drain(struct val_sched *s);

/*
 * Lease and start due work when a wake-up, the poll interval or a known due
 * time says so, and there is room (cfg->validator_inflight). Returns the
 * milliseconds until it next wants to run.
 */
int val_sched_tick(struct val_sched *s);

/* 1 if a store operation failed since the last call (time to run
 * store_maintain(), which tells whether the store must be reopened). */
int val_sched_store_failed(struct val_sched *s);

const struct val_sched_stats *val_sched_stats(const struct val_sched *s);

/* RA mode: also lease and run upstream jobs on u (not owned), with the same
 * wake-ups, store and configuration. */
struct val_upstream;
void val_sched_set_upstream(struct val_sched *s, struct val_upstream *u);

#endif
