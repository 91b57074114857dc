/*
 * The validation state machine shared by the validator daemon: leasing due
 * challenges from the store and recording each attempt's outcome with
 * exponential backoff (RFC 8555 section 8.2).
 */
#ifndef ACME_CORE_VALIDATION_H
#define ACME_CORE_VALIDATION_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/problem.h"
#include "store/store.h"

enum acme_val_kind {
	ACME_VAL_CHALLENGE = 0,    /* validate chall; then CAA too if item.caa is set */
	ACME_VAL_CAA = 1,          /* only re-check CAA for a valid authorization (finalize
	                              found its last check older than caa_max_age) */
};

/* One leased validation: a copy of what the daemon needs, no store handle. */
struct acme_val_item {
	int kind;                      /* enum acme_val_kind */
	int caa;                       /* the directory checks CAA (RFC 8659) for this item */
	uint8_t method;                /* ACME_VAL_CAA: the challenge type that validated
	                                  the authorization (RFC 8657 validationmethods) */
	char acct_url[512];            /* the account's URL (RFC 8657 accounturi) */
	store_id authz;
	int chall;                     /* index in the authorization's challenges */
	uint8_t type;                  /* enum store_chall_type */
	uint8_t ident_type;            /* enum store_ident_type */
	char ident[256];               /* the name (base name for a wildcard) or IP text */
	int wildcard;
	char dir[STORE_NAME_MAX + 1];
	store_id acct;
	char token[STORE_TOKEN_LEN + 1];
	char keyauth[STORE_TOKEN_LEN + 1 + STORE_THUMB_LEN + 1];
	uint32_t attempt;              /* attempts made before this one */
	int64_t deadline;              /* the authorization's expiry */
};

/*
 * Lease up to max due validations at time now: each is moved to due =
 * now + cfg->lease in one transaction, so that another daemon does not take
 * it. *items is malloc'd (caller frees); *n may be 0.
 */
enum acme_err acme_val_lease(struct store *s, const struct acme_config *cfg, int64_t now,
    size_t max, struct acme_val_item **items, size_t *n);

/*
 * Record the outcome of an attempt on item. caa_checked says that CAA was
 * checked in this attempt (and passed, when prob is NULL).
 *
 * ACME_VAL_CHALLENGE: prob NULL means valid. Otherwise the problem becomes
 * the challenge's error and, if a retry fits before the deadline, the
 * challenge stays processing with due = now + backoff; else it and its
 * authorization become invalid.
 * ACME_VAL_CAA: prob NULL records a fresh CAA check; a problem of type dns
 * (the lookup failed) is retried with backoff up to the authorization's
 * expiry; any other problem is recorded as the authorization's caa_error,
 * which makes the orders waiting on it invalid.
 *
 * *next_due gets the new due time (0 = finished). A stale item (the
 * authorization changed meanwhile) is ignored.
 */
enum acme_err acme_val_finish(struct store *s, const struct acme_config *cfg,
    const struct acme_val_item *item, const struct acme_problem *prob, int caa_checked,
    int64_t now, int64_t *next_due);

/* Whether directory d checks CAA at all (caa_check and CAA identities set). */
int acme_val_caa_enabled(const struct acme_dir_config *d);

/* base * 2^attempt, capped, with +-10% jitter. */
int64_t acme_val_backoff(const struct acme_config *cfg, uint32_t attempt);

/* base * 2^attempt seconds, capped at cap, with +-10% jitter (so that many
 * retries do not march in step); at least 1. Challenge retries and the
 * validator's jobs both back off this way. */
int64_t acme_backoff(int64_t base, int64_t cap, uint32_t attempt);

/* The dns-01 TXT value: base64url(SHA-256(keyauth)). out has room for 44. */
void acme_val_dns01_digest(const char *keyauth, char out[44]);

#endif
