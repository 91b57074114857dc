#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/validation.h"
#include "validators/sched.h"
#include "validators/upstream.h"

struct val_sched {
	struct val_engine *eng;
	struct store *store;
	const struct acme_config *cfg;
	int woken;
	int draining;
	int store_failed;
	int64_t next_due;              /* UTC seconds of the earliest queued item, 0 = none known */
	int64_t next_poll;             /* monotonic ms of the next look without a wake-up */
	struct val_sched_stats stats;
	struct val_upstream *ups;      /* RA jobs, or NULL */
};

void
val_sched_set_upstream(struct val_sched *s, struct val_upstream *u)
{
	s->ups = u;
	if (u != NULL)
		val_upstream_use(u, s->store, s->cfg);
}

enum acme_err
val_sched_new(struct val_engine *e, struct val_sched **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ACME_ENOMEM;
	(*out)->eng = e;
	(*out)->woken = 1;
	return ACME_OK;
}

void
val_sched_free(struct val_sched *s)
{
	free(s);
}

void
val_sched_use(struct val_sched *s, struct store *st, const struct acme_config *cfg)
{
	s->store = st;
	s->cfg = cfg;
	s->woken = 1;
	if (s->ups != NULL)
		val_upstream_use(s->ups, st, cfg);
}

void
val_sched_wake(struct val_sched *s)
{
	s->woken = 1;
}

void
val_sched_drain(struct val_sched *s)
{
	s->draining = 1;
	if (s->ups != NULL)
		val_upstream_drain(s->ups);
}

int
val_sched_store_failed(struct val_sched *s)
{
	int f = s->store_failed;

	s->store_failed = 0;
	return f;
}

const struct val_sched_stats *
val_sched_stats(const struct val_sched *s)
{
	return &s->stats;
}

static void
sched_done(void *arg, const struct acme_val_item *it, const struct acme_problem *prob,
    int caa_checked)
{
	struct val_sched *s = arg;
	int64_t next = 0;
	enum acme_err rc;

	if (prob == NULL)
		s->stats.valid++;
	else
		s->stats.failed++;
	if (s->store == NULL)
		return;
	rc = acme_val_finish(s->store, s->cfg, it, prob, caa_checked, (int64_t)time(NULL), &next);
	if (rc != ACME_OK) {
		/* The lease runs out and the attempt is made again. */
		log_err("authz %s: recording the %s result: %s", it->authz,
		    it->kind == ACME_VAL_CAA ? "CAA" : val_chall_name(it->type), acme_strerror(rc));
		s->stats.errors++;
		s->store_failed = 1;
		return;
	}
	/* acme_val_finish() logged the outcome. */
	if (next > 0 && (s->next_due == 0 || next < s->next_due))
		s->next_due = next;
}

static enum store_err
sched_next_due_txn(struct store_txn *t, void *arg)
{
	int64_t *when = arg;

	*when = 0;
	return store_authz_next_due(t, when);
}

/* Start one leased item; on failure record it as an attempt that failed. */
static void
sched_start(struct val_sched *s, const struct acme_val_item *it)
{
	struct val_opts o;
	struct acme_problem p;
	enum acme_err rc;

	val_opts_from_config(&o, s->cfg, it->dir);
	rc = val_start(s->eng, it, &o, sched_done, s);
	if (rc == ACME_OK) {
		s->stats.leased++;
		return;
	}
	memset(&p, 0, sizeof(p));
	acme_problem_set(&p, PROB_SERVER_INTERNAL, "The validation could not be started: %s",
	    acme_strerror(rc));
	log_err("authz %s %s %s: cannot start: %s", it->authz, val_chall_name(it->type), it->ident,
	    acme_strerror(rc));
	sched_done(s, it, &p, 0);
}

static void
sched_lease(struct val_sched *s)
{
	struct acme_val_item *items = NULL;
	size_t i, n, room, max;
	enum acme_err rc;
	enum store_err se;
	int64_t when = 0;
	int drained = 0;

	max = s->cfg->validator_inflight > 0 ? (size_t)s->cfg->validator_inflight : 100;
	for (;;) {
		if (val_engine_inflight(s->eng) >= max)
			break;
		room = max - val_engine_inflight(s->eng);
		n = 0;
		rc = acme_val_lease(s->store, s->cfg, (int64_t)time(NULL), room, &items, &n);
		if (rc != ACME_OK) {
			log_err("validator: leasing work: %s", acme_strerror(rc));
			s->stats.errors++;
			s->store_failed = 1;
			break;
		}
		for (i = 0; i < n; i++)
			sched_start(s, &items[i]);
		free(items);
		items = NULL;
		if (n < room) {
			drained = 1;
			break;
		}
	}
	se = store_txn_run(s->store, STORE_TXN_RO, sched_next_due_txn, &when);
	if (se != STORE_OK) {
		log_err("validator: next due time: %s", store_strerror(se));
		s->store_failed = 1;
		when = 0;
	}
	/* Still due although the queue gave all it would: something the lease
	 * skips; leave it to the poll instead of spinning. */
	if (drained && when > 0 && when <= (int64_t)time(NULL))
		when = 0;
	s->next_due = when;
}

int
val_sched_tick(struct val_sched *s)
{
	int64_t mono = val_now_ms(), now = (int64_t)time(NULL), wait;
	size_t max;
	int due, look, uw;

	if (s->store == NULL || s->cfg == NULL || s->draining)
		return VAL_SCHED_POLL_MS;
	look = s->woken || mono >= s->next_poll;
	max = s->cfg->validator_inflight > 0 ? (size_t)s->cfg->validator_inflight : 100;
	due = s->woken || mono >= s->next_poll || (s->next_due > 0 && now >= s->next_due);
	if (due && val_engine_inflight(s->eng) < max) {
		s->woken = 0;
		s->next_poll = mono + VAL_SCHED_POLL_MS;
		sched_lease(s);
	}
	wait = s->next_poll - mono;
	if (s->next_due > 0 && val_engine_inflight(s->eng) < max) {
		/* Due times are whole seconds: wake at the start of that second. */
		if (s->next_due <= now)
			wait = 0;
		else if ((s->next_due - now) * 1000 < wait)
			wait = (s->next_due - now) * 1000;
	}
	if (s->ups != NULL && (uw = val_upstream_tick(s->ups, look)) < wait)
		wait = uw;
	if (wait < 0)
		wait = 0;
	if (wait > VAL_SCHED_POLL_MS)
		wait = VAL_SCHED_POLL_MS;
	return (int)wait;
}
