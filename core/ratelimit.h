/* Rate limits that hold across all workers: the state lives in the store. */
#ifndef ACME_CORE_RATELIMIT_H
#define ACME_CORE_RATELIMIT_H

#include <stdint.h>

#include "core/config.h"
#include "core/ratelimit_override.h"
#include "store/store.h"

/*
 * Take one unit of limit l of directory d for subject (an account id, an IP
 * address, a registered domain, "account/identifier") in transaction t, with
 * the generic cell rate algorithm: N per PERIOD, bursts of up to N. acct,
 * when given, is looked up for an override of this limit. With peek set
 * nothing is recorded (a check before the real take). *limited is set when
 * the request is over the limit, and *retry_after to the seconds after
 * which the same request will pass.
 */
enum store_err acme_rl_take(struct store_txn *t, const struct acme_dir_config *d,
    enum acme_rl_limit l, const char *acct, const char *subject, int64_t now_ms, int peek,
    int *limited, int64_t *retry_after);

/* Parse "N/PERIOD" (e.g. "300/3h") or "off" into spec. */
int acme_rl_parse(const char *text, struct acme_rl_spec *spec);

#endif
