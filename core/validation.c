/*
 * The validation state machine (RFC 8555 section 8.2): the daemon leases due
 * challenges, validates them outside any transaction, and records each
 * outcome here. A failed attempt keeps the challenge processing, with the
 * attempt's problem in its error, and queues a retry at base * 2^n (with
 * jitter, capped) while that fits before the authorization expires; then
 * the challenge and its authorization become invalid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/b64.h"
#include "core/audit.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "core/validation.h"

/* When a directory is missing from the configuration (it was removed, or
 * the daemon has not reloaded yet): the default of authz_reuse. */
#define ACME_DEFAULT_REUSE_DAYS 30

struct lease {
	const struct acme_config *cfg;
	int64_t now;
	size_t max;
	struct store_txn *t;
	struct acme_val_item *items;
	size_t n;
	enum store_err err;
};

static int
find_processing(const struct store_authz *z)
{
	size_t i;

	for (i = 0; i < z->nchall; i++)
		if (z->chall[i].status == STORE_ST_PROCESSING)
			return (int)i;
	return -1;
}

/* The challenge that made a valid authorization valid. */
static int
find_valid(const struct store_authz *z)
{
	size_t i;

	for (i = 0; i < z->nchall; i++)
		if (z->chall[i].status == STORE_ST_VALID)
			return (int)i;
	return -1;
}

int
acme_val_caa_enabled(const struct acme_dir_config *d)
{
	return d != NULL && d->caa_check && d->ncaa_identity > 0;
}

static int
lease_cb(const char *id, void *arg)
{
	struct lease *l = arg;
	struct store_authz z;
	struct acme_val_item *it;
	const struct acme_dir_config *dc;
	int idx, kind = ACME_VAL_CHALLENGE;

	memset(&z, 0, sizeof(z));
	if ((l->err = store_authz_get(l->t, id, &z)) != STORE_OK)
		goto out;
	idx = find_processing(&z);
	if (z.status == STORE_ST_VALID && z.caa_recheck && (idx = find_valid(&z)) >= 0)
		kind = ACME_VAL_CAA;
	else if (idx < 0 || z.status != STORE_ST_PENDING || z.chall[idx].keyauth == NULL)
		idx = -1;
	if (idx < 0) {
		/* Nothing to validate any more: drop it from the queue. */
		z.due = 0;
		l->err = store_authz_put(l->t, &z, 0);
		goto out;
	}
	it = &l->items[l->n];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	dc = acme_config_dir(l->cfg, z.dir);
	it->caa = acme_val_caa_enabled(dc) && z.ident.type == STORE_IDENT_DNS;
	it->method = z.chall[idx].type;
	snprintf(it->acct_url, sizeof(it->acct_url), "%s/acme/%s/acct/%s", l->cfg->base_url, z.dir,
	    z.acct);
	memcpy(it->authz, z.id, sizeof(it->authz));
	it->chall = idx;
	it->type = z.chall[idx].type;
	it->ident_type = z.ident.type;
	snprintf(it->ident, sizeof(it->ident), "%s", z.ident.value);
	it->wildcard = z.wildcard;
	snprintf(it->dir, sizeof(it->dir), "%s", z.dir);
	memcpy(it->acct, z.acct, sizeof(it->acct));
	snprintf(it->token, sizeof(it->token), "%s", z.chall[idx].token);
	snprintf(it->keyauth, sizeof(it->keyauth), "%s", z.chall[idx].keyauth ? z.chall[idx].keyauth : "");
	it->attempt = z.chall[idx].attempts;
	it->deadline = z.expires;
	z.due = l->now + l->cfg->lease;
	z.in_flight = 1;
	if ((l->err = store_authz_put(l->t, &z, 0)) == STORE_OK)
		l->n++;
out:
	store_authz_free(&z);
	return l->err != STORE_OK || l->n == l->max;
}

static enum store_err
lease_txn(struct store_txn *t, void *arg)
{
	struct lease *l = arg;
	enum store_err e;

	l->t = t;
	l->n = 0;
	l->err = STORE_OK;
	e = store_authz_due(t, l->now, l->max, lease_cb, l);
	return e != STORE_OK ? e : l->err;
}

enum acme_err
acme_val_lease(struct store *s, const struct acme_config *cfg, int64_t now, size_t max,
    struct acme_val_item **items, size_t *n)
{
	struct lease l;
	enum store_err e;

	*items = NULL;
	*n = 0;
	if (max == 0)
		return ACME_OK;
	memset(&l, 0, sizeof(l));
	l.cfg = cfg;
	l.now = now;
	l.max = max;
	if ((l.items = calloc(max, sizeof(*l.items))) == NULL)
		return ACME_ENOMEM;
	/* A lease lost in a machine crash only means the work is taken again:
	 * no log flush for it. */
	e = store_txn_run(s, STORE_TXN_RW | STORE_TXN_NOSYNC, lease_txn, &l);
	if (e != STORE_OK) {
		log_err("validation: leasing due work: %s", store_strerror(e));
		free(l.items);
		return ACME_ESTORE;
	}
	*items = l.items;
	*n = l.n;
	return ACME_OK;
}

int64_t
acme_backoff(int64_t base, int64_t cap, uint32_t attempt)
{
	int64_t d = base;
	uint32_t r = 0;

	while (attempt-- > 0 && d < cap)
		d *= 2;
	if (d > cap)
		d = cap;
	/* +-10% jitter, so retries of many challenges do not march in step. */
	if (d >= 10 && RAND_bytes((unsigned char *)&r, sizeof(r)) == 1)
		d += (int64_t)(r % (uint32_t)(d / 5 + 1)) - d / 10;
	return d < 1 ? 1 : d;
}

int64_t
acme_val_backoff(const struct acme_config *cfg, uint32_t attempt)
{
	return acme_backoff(cfg->retry_base, cfg->retry_cap, attempt);
}

struct finish {
	const struct acme_config *cfg;
	const struct acme_val_item *item;
	const struct acme_problem *prob;
	int caa_checked;
	char *prob_json;
	int64_t now;
	int64_t next_due;
	enum store_status result;
};

/* The outcome of a CAA re-check of a valid authorization. */
static enum store_err
finish_caa(struct finish *f, struct store_txn *t, struct store_authz *z)
{
	int64_t next;

	if (z->status != STORE_ST_VALID || !z->caa_recheck)
		return STORE_OK;                    /* stale */
	if (f->prob == NULL) {
		z->caa_checked = f->now;
		z->caa_recheck = 0;
		z->due = 0;
		f->result = STORE_ST_VALID;
	} else if (f->prob->type == PROB_DNS &&
	    (next = f->now + acme_val_backoff(f->cfg, 1)) < z->expires) {
		/* A failed lookup is not an answer: try again later. */
		z->due = next;
		f->next_due = next;
		f->result = STORE_ST_PROCESSING;
	} else {
		free(z->caa_error);
		if ((z->caa_error = strdup(f->prob_json)) == NULL)
			return STORE_NOMEM;
		z->caa_recheck = 0;
		z->due = 0;
		f->result = STORE_ST_INVALID;
	}
	return store_authz_put(t, z, 0);
}

/* A failed authorization counts against rate_failed_validations. */
static enum store_err
count_failure(struct store_txn *t, const struct finish *f, const struct store_authz *z)
{
	const struct acme_dir_config *dc = acme_config_dir(f->cfg, z->dir);
	char subject[STORE_ID_LEN + 2 + 256];
	int64_t retry;
	int limited;

	if (dc == NULL)
		return STORE_OK;
	snprintf(subject, sizeof(subject), "%s/%s", z->acct, z->ident.value);
	return acme_rl_take(t, dc, ACME_RL_FAILED_VALIDATIONS, z->acct, subject, f->now * 1000, 0,
	    &limited, &retry);
}

static enum store_err
finish_txn(struct store_txn *t, void *arg)
{
	struct finish *f = arg;
	const struct acme_dir_config *dc;
	struct store_authz z;
	struct store_chall *c;
	enum store_err e;
	int64_t next;

	f->next_due = 0;
	f->result = STORE_ST_NONE;
	memset(&z, 0, sizeof(z));
	if ((e = store_authz_get(t, f->item->authz, &z)) != STORE_OK)
		goto out;
	z.in_flight = 0;
	if (f->item->kind == ACME_VAL_CAA) {
		e = finish_caa(f, t, &z);
		goto out;
	}
	/* Stale: someone else finished this attempt, or the authorization moved on. */
	if (f->item->chall < 0 || (size_t)f->item->chall >= z.nchall)
		goto out;
	c = &z.chall[f->item->chall];
	if (z.status != STORE_ST_PENDING || c->status != STORE_ST_PROCESSING ||
	    c->attempts != f->item->attempt)
		goto out;
	c->attempts++;
	if (f->prob == NULL) {
		c->status = STORE_ST_VALID;
		c->validated = f->now;
		free(c->error);
		c->error = NULL;
		z.status = STORE_ST_VALID;
		if ((dc = acme_config_dir(f->cfg, z.dir)) == NULL)
			log_err("authorization %s: directory %s is not in this configuration; "
			    "using a reuse window of %d days", z.id, z.dir, ACME_DEFAULT_REUSE_DAYS);
		z.expires = f->now + (dc ? dc->authz_reuse : ACME_DEFAULT_REUSE_DAYS * 86400LL);
		if (f->caa_checked)
			z.caa_checked = f->now;
		z.due = 0;
		f->result = STORE_ST_VALID;
	} else {
		free(c->error);
		if ((c->error = strdup(f->prob_json)) == NULL) {
			e = STORE_NOMEM;
			goto out;
		}
		next = f->now + acme_val_backoff(f->cfg, c->attempts - 1);
		/* A CAA refusal is the domain owner's answer, not a failure to
		 * reach them: final at once, as at Let's Encrypt. */
		if (next < z.expires && f->prob->type != PROB_CAA) {
			z.due = next;
			f->next_due = next;
			f->result = STORE_ST_PROCESSING;
		} else {
			c->status = STORE_ST_INVALID;
			z.status = STORE_ST_INVALID;
			z.due = 0;
			f->result = STORE_ST_INVALID;
			if ((e = count_failure(t, f, &z)) != STORE_OK)
				goto out;
		}
	}
	e = store_authz_put(t, &z, 0);
out:
	store_authz_free(&z);
	return e;
}

enum acme_err
acme_val_finish(struct store *s, const struct acme_config *cfg, const struct acme_val_item *item,
    const struct acme_problem *prob, int caa_checked, int64_t now, int64_t *next_due)
{
	struct finish f;
	enum store_err e;

	memset(&f, 0, sizeof(f));
	f.cfg = cfg;
	f.item = item;
	f.prob = prob;
	f.caa_checked = caa_checked;
	f.now = now;
	if (prob != NULL && (f.prob_json = acme_problem_json(prob)) == NULL)
		return ACME_ENOMEM;
	e = store_txn_run(s, STORE_TXN_RW, finish_txn, &f);
	free(f.prob_json);
	if (e == STORE_NOTFOUND)
		return ACME_OK;     /* deleted meanwhile: nothing to record */
	if (e != STORE_OK) {
		log_err("validation: recording the result for %s: %s", item->authz, store_strerror(e));
		return ACME_ESTORE;
	}
	*next_due = f.next_due;
	if (item->kind == ACME_VAL_CAA) {
		if (f.result != STORE_ST_NONE)
			acme_audit("caa.recheck", item->dir, "ssss", "authorization", item->authz,
			    "identifier", item->ident, "result", f.result == STORE_ST_VALID ? "allowed" :
			    f.result == STORE_ST_INVALID ? "refused" : "retry", "detail",
			    prob ? prob->detail : NULL);
		if (f.result == STORE_ST_VALID)
			log_info("authorization %s for %s: CAA re-checked, issuance allowed", item->authz,
			    item->ident);
		else if (f.result != STORE_ST_NONE)
			log_info("authorization %s for %s: CAA re-check: %s", item->authz, item->ident,
			    prob->detail);
		return ACME_OK;
	}
	if (f.result != STORE_ST_NONE)
		acme_audit("validation", item->dir, "sssssssi", "authorization", item->authz, "account",
		    item->acct, "identifier", item->ident, "challenge",
		    item->type == STORE_CH_HTTP01 ? "http-01" : item->type == STORE_CH_DNS01 ? "dns-01" :
		    "tls-alpn-01", "result", f.result == STORE_ST_VALID ? "valid" :
		    f.result == STORE_ST_INVALID ? "invalid" : "retry", "problem",
		    prob ? acme_prob_name(prob->type) : NULL, "detail", prob ? prob->detail : NULL,
		    "attempt", (int64_t)item->attempt + 1);
	if (f.result == STORE_ST_VALID)
		log_info("authorization %s for %s is valid (%s)", item->authz, item->ident,
		    item->type == STORE_CH_HTTP01 ? "http-01" :
		    item->type == STORE_CH_DNS01 ? "dns-01" : "tls-alpn-01");
	else if (f.result == STORE_ST_INVALID)
		log_info("authorization %s for %s is invalid: %s", item->authz, item->ident,
		    prob->detail);
	else if (f.result == STORE_ST_PROCESSING)
		log_info("authorization %s for %s: attempt %u failed, retry in %llds: %s",
		    item->authz, item->ident, item->attempt + 1, (long long)(f.next_due - now),
		    prob->detail);
	return ACME_OK;
}

void
acme_val_dns01_digest(const char *keyauth, char out[44])
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(keyauth, strlen(keyauth), md, &len, EVP_sha256(), NULL);
	b64u_encode_buf(md, sizeof(md), out);
}
