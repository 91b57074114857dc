/*
 * Per-account rate-limit overrides: set by acme-admin ratelimit, read by the
 * core's rate limiter. This header is the one place their names and their
 * encoding are defined.
 *
 * An override is a store counter named
 *
 *     override/<account id>/<limit name>
 *
 * whose value packs "N requests per PERIOD seconds":
 *
 *     value = N * 2^32 + PERIOD,  N in 0..2^31-1, PERIOD in 1..2^32-1
 *
 * so the value is never negative and never zero. N = 0 refuses every request
 * the limit counts. A value that breaks these rules is not an override (the
 * limiter ignores it and logs it; acme-admin shows it as invalid).
 */
#ifndef ACME_CORE_RATELIMIT_OVERRIDE_H
#define ACME_CORE_RATELIMIT_OVERRIDE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

enum acme_rl_limit {
	ACME_RL_ORDERS_PER_ACCOUNT = 0,
	ACME_RL_ACCOUNTS_PER_IP,
	ACME_RL_CERTS_PER_DOMAIN,
	ACME_RL_FAILED_VALIDATIONS,
	ACME_RL__N
};

#define ACME_RL_OVERRIDE_PREFIX "override/"
#define ACME_RL_N_MAX      INT32_MAX
#define ACME_RL_PERIOD_MAX UINT32_MAX

/* The limit's name ("orders_per_account", ...), or NULL. */
static inline const char *
acme_rl_limit_name(enum acme_rl_limit l)
{
	switch (l) {
	case ACME_RL_ORDERS_PER_ACCOUNT: return "orders_per_account";
	case ACME_RL_ACCOUNTS_PER_IP: return "accounts_per_ip";
	case ACME_RL_CERTS_PER_DOMAIN: return "certs_per_domain";
	case ACME_RL_FAILED_VALIDATIONS: return "failed_validations";
	default: return NULL;
	}
}

/* The limit called name: ACME_OK, or ACME_EINVAL for no such limit. */
static inline enum acme_err
acme_rl_limit_parse(const char *name, enum acme_rl_limit *out)
{
	int l;

	for (l = 0; name != NULL && l < ACME_RL__N; l++) {
		if (strcmp(name, acme_rl_limit_name((enum acme_rl_limit)l)) == 0) {
			*out = (enum acme_rl_limit)l;
			return ACME_OK;
		}
	}
	return ACME_EINVAL;
}

/* The counter name of account acct's override of limit l into buf (n
 * bytes); with l == ACME_RL__N, the prefix of all of that account's
 * overrides ("override/<acct>/"). ACME_ETOOBIG if it does not fit. */
static inline enum acme_err
acme_rl_override_name(char *buf, size_t n, const char *acct, enum acme_rl_limit l)
{
	const char *name = l == ACME_RL__N ? "" : acme_rl_limit_name(l);
	int k;

	if (name == NULL || acct == NULL)
		return ACME_EINVAL;
	k = snprintf(buf, n, ACME_RL_OVERRIDE_PREFIX "%s/%s", acct, name);
	return k < 0 || (size_t)k >= n ? ACME_ETOOBIG : ACME_OK;
}

/* The value of "n per period seconds"; ACME_EINVAL if out of range. */
static inline enum acme_err
acme_rl_override_encode(uint64_t n, uint64_t period, int64_t *value)
{
	if (n > ACME_RL_N_MAX || period < 1 || period > ACME_RL_PERIOD_MAX)
		return ACME_EINVAL;
	*value = (int64_t)(n << 32 | period);
	return ACME_OK;
}

/* The limit a value packs; ACME_EINVAL if it is not a valid override. */
static inline enum acme_err
acme_rl_override_decode(int64_t value, uint32_t *n, uint32_t *period)
{
	uint64_t u = (uint64_t)value;

	if (value <= 0 || (u & 0xffffffffu) == 0)
		return ACME_EINVAL;
	*n = (uint32_t)(u >> 32);
	*period = (uint32_t)(u & 0xffffffffu);
	return ACME_OK;
}

#endif
