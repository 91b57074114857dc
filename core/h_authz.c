/* Authorizations and challenges (RFC 8555 sections 7.5, 7.5.1, 7.5.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/internal.h"
#include "core/json.h"
#include "core/log.h"

enum authz_action { AZ_GET, AZ_DEACTIVATE, AZ_RESPOND };

struct authz_op {
	const struct acme_config *cfg;
	const char *id;
	const char *acct;
	const char *thumb;           /* the account key's thumbprint now (AZ-17) */
	enum authz_action action;
	int chall;                   /* for AZ_RESPOND */
	int64_t now;
	struct store_authz z;
	int refused;                 /* why the action was not taken (a problem to send) */
	char why[160];
	int started;                 /* a validation was queued */
};

/*
 * AZ-22 (RFC 8555 section 8.2): a client that responds again to a challenge
 * waiting for its next attempt gets that attempt now, at most once per
 * retry_base. The store keeps no time of the last attempt, but the wait
 * was set when it ended: due = end + backoff(attempts - 1), so at least
 * (the shortest jittered backoff) - (due - now) seconds have passed since.
 * A lease moves due too (to its start + lease); an attempt may be in flight
 * while due is less than 2 * validation_timeout (the challenge, then CAA)
 * short of that, and such a challenge is never touched, so that no two
 * daemons validate it at once.
 */
static int
early_retry_allowed(const struct acme_config *cfg, const struct store_authz *z,
    const struct store_chall *c, int64_t now)
{
	int64_t wait = z->due - now, b = cfg->retry_base;
	uint32_t n;

	if (c->status != STORE_ST_PROCESSING || c->attempts == 0 || c->error == NULL ||
	    z->due == 0 || wait <= 1)
		return 0;        /* not waiting, or the attempt comes anyway */
	for (n = c->attempts - 1; n > 0 && b < cfg->retry_cap; n--)
		b *= 2;
	if (b > cfg->retry_cap)
		b = cfg->retry_cap;
	if (b >= 10)
		b -= b / 10;     /* acme_val_backoff()'s jitter at its shortest */
	if (b - wait < cfg->retry_base)
		return 0;
	return wait < cfg->lease - 2 * cfg->validation_timeout - 2;
}

static enum store_err
authz_txn(struct store_txn *t, void *arg)
{
	struct authz_op *op = arg;
	struct store_chall *c;
	enum store_status st;
	enum store_err e;
	size_t i;

	store_authz_free(&op->z);
	op->refused = 0;
	op->started = 0;
	if ((e = store_authz_get(t, op->id, &op->z)) != STORE_OK)
		return e;
	if (strcmp(op->z.acct, op->acct) != 0) {
		op->refused = PROB_UNAUTHORIZED;
		snprintf(op->why, sizeof(op->why), "this authorization belongs to another account");
		return STORE_OK;
	}
	st = acme_authz_status(&op->z, op->now);
	switch (op->action) {
	case AZ_GET:
		return STORE_OK;
	case AZ_DEACTIVATE:
		if (st != STORE_ST_PENDING && st != STORE_ST_VALID) {
			op->refused = PROB_MALFORMED;
			snprintf(op->why, sizeof(op->why), "an authorization that is %s cannot be deactivated",
			    store_status_name(st));
			return STORE_OK;
		}
		op->z.status = STORE_ST_DEACTIVATED;
		op->z.due = 0;
		return store_authz_put(t, &op->z, 0);
	case AZ_RESPOND:
		if (op->chall < 0 || (size_t)op->chall >= op->z.nchall) {
			op->refused = PROB_MALFORMED;
			snprintf(op->why, sizeof(op->why), "no such challenge");
			return STORE_OK;
		}
		c = &op->z.chall[op->chall];
		/* Responding again to a challenge already under way or final is
		 * harmless: the current state is returned (AZ-16); one waiting
		 * for a retry may get it early (AZ-22). */
		if (c->status != STORE_ST_PENDING) {
			if (st != STORE_ST_PENDING || op->z.in_flight ||
			    !early_retry_allowed(op->cfg, &op->z, c, op->now))
				return STORE_OK;
			op->z.due = op->now;
			if ((e = store_authz_put(t, &op->z, 0)) != STORE_OK)
				return e;
			op->started = 1;
			return STORE_OK;
		}
		if (st != STORE_ST_PENDING) {
			op->refused = PROB_MALFORMED;
			snprintf(op->why, sizeof(op->why), "the authorization is %s", store_status_name(st));
			return STORE_OK;
		}
		for (i = 0; i < op->z.nchall; i++)
			if (op->z.chall[i].status == STORE_ST_PROCESSING) {
				op->refused = PROB_MALFORMED;
				snprintf(op->why, sizeof(op->why),
				    "another challenge of this authorization is being validated");
				return STORE_OK;
			}
		/* The key authorization is fixed now, with the account's current key. */
		free(c->keyauth);
		if (asprintf(&c->keyauth, "%s.%s", c->token, op->thumb) < 0) {
			c->keyauth = NULL;
			return STORE_NOMEM;
		}
		c->status = STORE_ST_PROCESSING;
		op->z.due = op->now;
		if ((e = store_authz_put(t, &op->z, 0)) != STORE_OK)
			return e;
		op->started = 1;
		return STORE_OK;
	}
	return STORE_INVAL;
}

static int
run_authz_op(struct acme_rq *rq, struct authz_op *op)
{
	enum store_err e;

	op->cfg = rq->ctx->cfg;
	op->acct = rq->acct.id;
	op->thumb = rq->acct.thumb;
	op->now = rq->now;
	e = store_txn_run(rq->ctx->store, op->action == AZ_GET ? STORE_TXN_RO : STORE_TXN_RW,
	    authz_txn, op);
	if (e == STORE_NOTFOUND)
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such authorization");
	if (e != STORE_OK)
		return rq_store_error(rq, e);
	if (strcmp(op->z.dir, rq->dir->cfg->name) != 0)
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such authorization");
	if (op->refused)
		return acme_problem_set(&rq->prob, (enum acme_prob)op->refused, "%s", op->why);
	if (op->started)
		acme_wake_validator(rq->ctx);
	return 0;
}

/* While a validation is queued, tell the client when the next attempt is. */
static void
retry_after_due(struct acme_rq *rq, const struct store_authz *z)
{
	int64_t started;

	if (z->due <= 0)
		return;
	if (z->in_flight) {
		/* An attempt is running (due is its lease's end): it usually ends
		 * within milliseconds, so poll again at once, then every second. */
		started = z->due - rq->ctx->cfg->lease;
		rq_retry_after(rq, rq->now - started < 2 ? 0 : 1);
		return;
	}
	rq_retry_after(rq, z->due > rq->now ? z->due - rq->now : 0);
}

int
acme_h_authz(struct acme_rq *rq, const char *id)
{
	struct authz_op op;
	struct json_object *v;
	int rc = -1;

	memset(&op, 0, sizeof(op));
	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	op.id = id;
	op.action = AZ_GET;
	if (rq->jws.payload_json != NULL) {
		v = acme_json_get(rq->jws.payload_json, "status");
		if (v == NULL || !json_object_is_type(v, json_type_string) ||
		    strcmp(json_object_get_string(v), "deactivated") != 0)
			return acme_problem_set(&rq->prob, PROB_MALFORMED,
			    "the only update to an authorization is {\"status\": \"deactivated\"}");
		op.action = AZ_DEACTIVATE;
	}
	if (run_authz_op(rq, &op) < 0)
		goto out;
	retry_after_due(rq, &op.z);
	rq_json(rq, 200, acme_view_authz(rq->dir, &op.z, rq->now));
	rc = 0;
out:
	store_authz_free(&op.z);
	return rc;
}

int
acme_h_chall(struct acme_rq *rq, const char *authz, const char *idx)
{
	struct authz_op op;
	char *up;
	int rc = -1;

	memset(&op, 0, sizeof(op));
	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	op.id = authz;
	op.chall = (idx[0] >= '0' && idx[0] <= '9' && idx[1] == '\0') ? idx[0] - '0' : -1;
	/* An empty payload only fetches; any object (even with fields we do not
	 * know, such as an old keyAuthorization) is the response (AZ-13, AZ-14). */
	op.action = rq->jws.payload_json != NULL ? AZ_RESPOND : AZ_GET;
	if (run_authz_op(rq, &op) < 0)
		goto out;
	if (op.chall < 0 || (size_t)op.chall >= op.z.nchall) {
		rc = acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such challenge");
		goto out;
	}
	if ((up = acme_url(rq->dir, "authz", op.z.id)) != NULL) {
		rq_link(rq, up, "up");
		free(up);
	}
	if (op.z.chall[op.chall].status == STORE_ST_PROCESSING)
		retry_after_due(rq, &op.z);
	rq_json(rq, 200, acme_view_chall(rq->dir, &op.z, op.chall));
	rc = 0;
out:
	store_authz_free(&op.z);
	return rc;
}
