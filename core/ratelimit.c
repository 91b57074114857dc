/*
 * Rate limits with the generic cell rate algorithm: each (limit, subject)
 * keeps one number in the store, its theoretical arrival time (TAT, in
 * milliseconds). With N requests allowed per PERIOD, each request moves the
 * TAT on by PERIOD/N; a request is over the limit when that would put the
 * TAT more than PERIOD ahead of now. So N requests may come at once, then
 * one every PERIOD/N, and the time to wait is exact. The state is a store
 * counter, updated in the transaction that does the limited thing, so a
 * limit holds across every worker and a refused request leaves no trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/ratelimit.h"

int
acme_rl_parse(const char *text, struct acme_rl_spec *spec)
{
	char *end;
	unsigned long n;
	int64_t period;

	if (strcmp(text, "off") == 0 || strcmp(text, "0") == 0) {
		spec->n = 0;
		spec->period = 0;
		return 0;
	}
	n = strtoul(text, &end, 10);
	if (end == text || *end != '/' || n == 0 || n > ACME_RL_N_MAX)
		return -1;
	if ((period = acme_parse_duration(end + 1)) <= 0)
		return -1;
	spec->n = (uint32_t)n;
	spec->period = period;
	return 0;
}

/* The limit that applies: the account's override, else the directory's. */
static enum store_err
effective(struct store_txn *t, const struct acme_dir_config *d, enum acme_rl_limit l,
    const char *acct, struct acme_rl_spec *spec)
{
	char name[160];
	int64_t v;
	uint32_t n, period;
	enum store_err e;

	*spec = d->rate[l];
	if (acct == NULL || acme_rl_override_name(name, sizeof(name), acct, l) != ACME_OK)
		return STORE_OK;
	e = store_counter_get(t, name, &v);
	if (e == STORE_NOTFOUND)
		return STORE_OK;
	if (e != STORE_OK)
		return e;
	if (acme_rl_override_decode(v, &n, &period) != ACME_OK) {
		log_err("ratelimit: override %s has an invalid value; ignored", name);
		return STORE_OK;
	}
	spec->n = n;
	spec->period = period;
	return STORE_OK;
}

enum store_err
acme_rl_take(struct store_txn *t, const struct acme_dir_config *d, enum acme_rl_limit l,
    const char *acct, const char *subject, int64_t now_ms, int peek, int *limited,
    int64_t *retry_after)
{
	struct acme_rl_spec spec;
	char key[512];
	int64_t tat, step, window, next;
	enum store_err e;

	*limited = 0;
	*retry_after = 0;
	if ((e = effective(t, d, l, acct, &spec)) != STORE_OK)
		return e;
	if (spec.period == 0)
		return STORE_OK;
	window = spec.period * 1000;
	if (spec.n == 0) {
		*limited = 1;           /* an override of 0: refused outright */
		*retry_after = spec.period;
		return STORE_OK;
	}
	if (snprintf(key, sizeof(key), "rate/%s/%s/%s", d->name, acme_rl_limit_name(l), subject) >=
	    (int)sizeof(key))
		return STORE_INVAL;
	e = store_counter_get(t, key, &tat);
	if (e == STORE_NOTFOUND)
		tat = now_ms;
	else if (e != STORE_OK)
		return e;
	if (tat < now_ms)
		tat = now_ms;
	step = window / spec.n;
	if (step < 1)
		step = 1;
	next = tat + step;
	if (next - now_ms > window) {
		*limited = 1;
		*retry_after = (next - window - now_ms + 999) / 1000;
		if (*retry_after < 1)
			*retry_after = 1;
		return STORE_OK;
	}
	return peek ? STORE_OK : store_counter_set(t, key, next);
}
