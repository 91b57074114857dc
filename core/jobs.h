/*
 * The validator daemon's jobs besides validations (RA mode): the state
 * machine lives here, the network in validators/. A worker enqueues a job
 * in the transaction that needs it (finalize, revocation); the daemon leases
 * due jobs (due = now + lease, the lease counter incremented), runs them
 * outside any transaction, writes its progress after every step with
 * acme_job_progress(), and ends each run with acme_job_finish(): done (the
 * order becomes valid with its certificate), retry with backoff, or failed
 * (the order becomes invalid with the upstream's problem).
 *
 * Job states: queued (due > 0; leased while due is a lease end), done,
 * failed (due = 0, out of the queue). A holder whose lease was taken over
 * (the lease counter moved on) is refused every write: ACME_EBUSY.
 */
#ifndef ACME_CORE_JOBS_H
#define ACME_CORE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/problem.h"
#include "store/store.h"

/* One leased job: copies of what the daemon needs, no store handle. */
struct acme_job_item {
	char id[STORE_JOB_ID_MAX + 1];
	int kind;                      /* enum store_job_kind */
	char dir[STORE_NAME_MAX + 1];
	char ref[STORE_SERIAL_MAX + 1];
	uint32_t lease;                /* the lease this copy holds */
	uint32_t attempts;             /* runs before this one that ended in a retry */
	int64_t created;
	char *progress;                /* JSON text or NULL (owned) */
	struct store_order order;      /* UPSTREAM_ORDER: the order, with its CSR (owned) */
	struct store_cert cert;        /* UPSTREAM_REVOKE, ARI_FETCH: the certificate (owned) */
	                               /* TLS_RENEW: neither; the configuration's tls_* say what */
};

void acme_job_item_free(struct acme_job_item *it);

/* The job id of (kind, ref) into out. */
void acme_job_id(enum store_job_kind kind, const char *ref, char out[STORE_JOB_ID_MAX + 1]);

/*
 * Inside transaction t: queue a job of kind for ref (due now). A job that
 * already exists is left alone (one job per piece of work), unless requeue
 * is set and it has ended, when it is queued again. *queued (may be NULL)
 * tells whether anything was queued (time to wake the daemon).
 */
enum store_err acme_job_enqueue(struct store_txn *t, enum store_job_kind kind, const char *dir,
    const char *ref, int64_t now, int requeue, int *queued);

/*
 * Lease up to max due jobs at time now. *items is malloc'd (free each with
 * acme_job_item_free, then the array); *n may be 0. Jobs whose subject is
 * gone or finished are closed on the way.
 */
enum acme_err acme_job_lease(struct store *s, const struct acme_config *cfg, int64_t now,
    size_t max, struct acme_job_item **items, size_t *n);

/*
 * Record progress (JSON text; NULL keeps what is there) and extend the
 * lease. Called after every upstream step, before the next one, so that a
 * restart resumes where this left off. ACME_EBUSY: the lease was lost (stop
 * working on the job).
 */
enum acme_err acme_job_progress(struct store *s, const struct acme_config *cfg,
    struct acme_job_item *it, const char *progress, int64_t now);

enum acme_job_outcome {
	ACME_JOB_DONE = 1,
	ACME_JOB_RETRY,     /* a transient failure: again after a backoff */
	ACME_JOB_FAIL,      /* for good */
};

struct acme_job_result {
	enum acme_job_outcome outcome;
	int64_t retry_after;           /* RETRY: the upstream's Retry-After (s), 0 = backoff */
	const char *problem;           /* RETRY, FAIL: the problem (JSON); for an order it is
	                                  what its client sees when the job fails */
	/* DONE of UPSTREAM_ORDER: the certificate and the chain after it */
	const unsigned char *cert_der;
	size_t cert_der_len;
	const char *chain_pem;
	/* DONE of ARI_FETCH: the window (0 = the upstream has none) and when to ask again */
	int64_t ari_start, ari_end, ari_next;
};

/*
 * The end of a run. DONE of an order stores the certificate and makes the
 * order valid in one transaction (and queues its ARI job); FAIL makes it
 * invalid; RETRY queues the job again at now + Retry-After or backoff,
 * failing it instead once the directory's upstream_deadline has passed.
 * *next_due gets the job's new due time (0 = ended). ACME_EBUSY: the lease
 * was lost, nothing recorded.
 */
enum acme_err acme_job_finish(struct store *s, const struct acme_config *cfg,
    const struct acme_job_item *it, const struct acme_job_result *r, int64_t now,
    int64_t *next_due);

/*
 * A problem document (JSON, caller frees) of type outer with detail, whose
 * one subproblem is the upstream's problem upstream_json (its type, detail,
 * status and identifier; NULL or unparsable: none).
 */
char *acme_upstream_problem(enum acme_prob outer, const char *detail, const char *upstream_json);

/*
 * The settings a job of kind for directory dir runs with: the RA
 * directory's, or for the server's own certificate (STORE_JOB_TLS_RENEW,
 * dir ACME_TLS_SELF) the pseudo-directory cfg->tls.acct. NULL when the
 * configuration has no such RA directory, or self-service TLS is off.
 */
const struct acme_dir_config *acme_job_dir(const struct acme_config *cfg, int kind,
    const char *dir);

/* The reference of the one self-service TLS job ("tls-server"). */
#define ACME_TLS_JOB_REF "server"

/*
 * Self-service TLS: queue the renewal job (due now) unless it is queued
 * already or ended less than min_gap seconds ago (a renewal that failed is
 * asked for again after that long, not at every check). A job queued again
 * starts afresh: no upstream order of an earlier run carries over. *queued
 * tells whether anything was queued (time to wake the daemon's runner).
 */
enum acme_err acme_job_tls_request(struct store *s, int64_t now, int64_t min_gap, int *queued);

/* "upstream_order", ... for logs. */
const char *acme_job_kind_name(int kind);

#endif
