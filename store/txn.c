/*
 * The transaction helper: every read and write runs in fn under
 * store_txn_run, which retries on deadlock or lock timeout with randomized
 * exponential backoff, a bounded number of times.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "store/internal.h"

enum store_err
st_txn_note(struct store_txn *t, enum store_err e)
{
	if ((e == STORE_CONFLICT || e == STORE_RECOVER) && t->doom == STORE_OK)
		t->doom = e;
	return e;
}

uint32_t
st_rmw(const struct store_txn *t)
{
	return (t->flags & (STORE_TXN_RO | ST_TXN_RO_STABLE)) ? 0 : DB_RMW;
}

enum store_err
st_need_rw(const struct store_txn *t, const char *what)
{
	enum store_err rc = STORE_INVAL;

	if (t != NULL && (t->flags & (STORE_TXN_RO | ST_TXN_RO_STABLE)) != 0)
		store_log(LOG_ERR, "%s in a read-only transaction", what);
	else if (t != NULL)
		rc = STORE_OK;
	return rc;
}

int64_t
store_txn_now(const struct store_txn *t)
{
	return t != NULL ? t->now : 0;
}

/* xorshift64*, per thread, seeded from the pid, the clock and the stack. */
static uint64_t
jitter_rand(void)
{
	static _Thread_local uint64_t x;
	struct timespec ts;

	if (x == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^
		    (uint64_t)(uintptr_t)&ts;
		x |= 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x * UINT64_C(2685821657736338717);
}

/* Sleep a random time in [0.1, 0.1 + 2^attempt] ms, capped near 100 ms. */
static void
backoff(unsigned attempt)
{
	uint64_t span_us = UINT64_C(1000) << (attempt < 7 ? attempt : 7);
	uint64_t us;
	struct timespec ts;

	if (span_us > 100000)
		span_us = 100000;
	us = 100 + jitter_rand() % span_us;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(us * 1000);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* One attempt: begin, run fn, commit or abort. Never leaks the handle. */
static enum store_err
txn_once(struct store *s, unsigned flags, store_txn_fn fn, void *arg)
{
	struct store_txn t;
	enum store_err rc, e;
	int ret, ro = (flags & (STORE_TXN_RO | ST_TXN_RO_STABLE)) != 0;

	memset(&t, 0, sizeof(t));
	t.s = s;
	t.flags = flags;
	t.now = (int64_t)time(NULL);
	ret = s->env->txn_begin(s->env, NULL, &t.txn, (flags & STORE_TXN_RO) ? DB_READ_COMMITTED : 0);
	if (ret != 0) {
		t.txn = NULL;
		rc = store_dberr(s, ret, "txn_begin");
		goto out;
	}
	/* A reader holds few locks and is nobody's deadlock: only its lock
	 * waits are bounded, so a long scan is not cut short. */
	if (ro && (ret = t.txn->set_timeout(t.txn, 0, DB_SET_TXN_TIMEOUT)) != 0) {
		rc = store_dberr(s, ret, "txn set_timeout");
		goto out;
	}
	rc = fn(&t, arg);
	if (t.doom != STORE_OK)
		rc = t.doom;   /* the body went on after a conflict: its reads are void */
	if (rc == STORE_OK) {
		ret = t.txn->commit(t.txn, (flags & STORE_TXN_NOSYNC) ? DB_TXN_NOSYNC : 0);
		t.txn = NULL;
		rc = store_dberr(s, ret, "txn commit");
	}
out:
	if (t.txn != NULL) {
		ret = t.txn->abort(t.txn);
		if (ret != 0 && (e = store_dberr(s, ret, "txn abort")) == STORE_RECOVER)
			rc = e;
	}
	return rc;
}

enum store_err
store_txn_run(struct store *s, unsigned flags, store_txn_fn fn, void *arg)
{
	enum store_err rc = STORE_INVAL;
	unsigned attempt;

	if (s == NULL || fn == NULL)
		goto out;
	for (attempt = 0; attempt < ST_TXN_ATTEMPTS; attempt++) {
		if (atomic_load(&s->panicked)) {
			rc = STORE_RECOVER;
			goto out;
		}
		if (attempt > 0)
			backoff(attempt);
		if ((rc = txn_once(s, flags, fn, arg)) != STORE_CONFLICT)
			goto out;
	}
	store_log(LOG_WARNING, "transaction gave up after %u conflicts", ST_TXN_ATTEMPTS);
out:
	return rc;
}
