/* Account key rollover (RFC 8555 section 7.3.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/audit.h"
#include "core/internal.h"
#include "core/json.h"
#include "core/keyblock.h"
#include "core/keypol.h"
#include "core/log.h"

struct keychange {
	const char *id;
	const struct acme_jwk *newkey;
	const char *old_thumb;        /* the key the request was verified with */
	const char *spki;             /* the new key's name in the blocked-key table */
	store_id other;               /* an account that already has the new key */
	int conflict;
	int stale;                    /* the key changed meanwhile */
	int blocked;                  /* the new key was reported compromised */
};

static enum store_err
keychange_txn(struct store_txn *t, void *arg)
{
	struct keychange *kc = arg;
	struct store_account a;
	enum store_err e;

	memset(&a, 0, sizeof(a));
	kc->conflict = 0;
	kc->stale = 0;
	if ((e = acme_key_blocked(t, kc->spki, &kc->blocked)) != STORE_OK || kc->blocked)
		goto out;
	if ((e = store_account_get(t, kc->id, &a)) != STORE_OK)
		goto out;
	e = store_account_by_thumb(t, a.dir, kc->newkey->thumb, kc->other);
	if (e == STORE_OK) {
		kc->conflict = 1;
		goto out;
	}
	if (e != STORE_NOTFOUND)
		goto out;
	if (strcmp(a.thumb, kc->old_thumb) != 0 || a.status != STORE_ST_VALID) {
		kc->stale = 1;
		e = STORE_OK;
		goto out;
	}
	free(a.jwk);
	if ((a.jwk = strdup(kc->newkey->canon)) == NULL) {
		e = STORE_NOMEM;
		goto out;
	}
	memcpy(a.thumb, kc->newkey->thumb, sizeof(a.thumb));
	a.key_version++;
	e = store_account_put(t, &a, 0);
out:
	store_account_free(&a);
	return e;
}

int
acme_h_key_change(struct acme_rq *rq)
{
	struct jws inner;
	struct acme_jwk newkey, oldkey;
	struct keychange kc;
	struct json_object *old;
	const char *account, *why = NULL;
	char *acct_url = NULL, spki[STORE_THUMB_LEN + 1];
	enum acme_err ae;
	enum store_err e;
	int rc = -1;

	memset(&inner, 0, sizeof(inner));
	memset(&newkey, 0, sizeof(newkey));
	memset(&oldkey, 0, sizeof(oldkey));
	memset(&kc, 0, sizeof(kc));
	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	if (rq->jws.payload_json == NULL)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "keyChange needs an inner JWS as payload");
	/* The inner JWS: signed by the new key (jwk), same url, no kid. */
	if (jws_parse_json(rq->jws.payload_json, &inner, 0, &rq->prob) < 0) {
		if (rq->prob.type != PROB_BAD_SIGNATURE_ALGORITHM)
			rq->prob.type = PROB_MALFORMED;
		snprintf(rq->prob.detail + strlen(rq->prob.detail),
		    sizeof(rq->prob.detail) - strlen(rq->prob.detail), " (inner JWS)");
		goto out;
	}
	if (inner.jwk == NULL || inner.kid != NULL) {
		acme_problem_set(&rq->prob, PROB_MALFORMED, "the inner JWS must carry a jwk, not a kid");
		goto out;
	}
	if (strcmp(inner.url, rq->jws.url) != 0) {
		acme_problem_set(&rq->prob, PROB_MALFORMED, "the inner and outer JWS url differ");
		goto out;
	}
	ae = jwk_parse(inner.jwk, &newkey, &why);
	if (ae != ACME_OK) {
		acme_problem_set(&rq->prob, ae == ACME_EUNSUPPORTED ? PROB_BAD_PUBLIC_KEY : PROB_MALFORMED,
		    "new key: %s", why ? why : "invalid");
		goto out;
	}
	if (keypol_check(&rq->dir->cfg->account_keys, newkey.pkey, &why) != ACME_OK) {
		acme_problem_set(&rq->prob, PROB_BAD_PUBLIC_KEY, "new key refused: %s", why ? why : "");
		goto out;
	}
	if (jws_verify(&inner, newkey.pkey, &rq->prob) < 0) {
		rq->prob.type = PROB_MALFORMED;
		goto out;
	}
	if (inner.payload_json == NULL ||
	    (account = acme_json_str(inner.payload_json, "account")) == NULL ||
	    (old = acme_json_get(inner.payload_json, "oldKey")) == NULL ||
	    !json_object_is_type(old, json_type_object)) {
		acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "the inner payload must be {\"account\": URL, \"oldKey\": JWK}");
		goto out;
	}
	if (strcmp(account, rq->jws.kid) != 0) {
		acme_problem_set(&rq->prob, PROB_MALFORMED, "inner account does not match the outer kid");
		goto out;
	}
	if (jwk_parse(old, &oldkey, &why) != ACME_OK || strcmp(oldkey.thumb, rq->acct.thumb) != 0) {
		acme_problem_set(&rq->prob, PROB_MALFORMED, "oldKey is not the account's current key");
		goto out;
	}
	if (strcmp(newkey.thumb, rq->acct.thumb) == 0) {
		acme_problem_set(&rq->prob, PROB_MALFORMED, "the new key is the account's current key");
		goto out;
	}
	if (acme_spki_hash(newkey.pkey, spki) != ACME_OK) {
		acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "cannot read the new key");
		goto out;
	}
	kc.id = rq->acct.id;
	kc.newkey = &newkey;
	kc.old_thumb = rq->acct.thumb;
	kc.spki = spki;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RW, keychange_txn, &kc);
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	if (kc.blocked) {
		acme_problem_set(&rq->prob, PROB_BAD_PUBLIC_KEY,
		    "the new key was reported compromised; use another key");
		goto out;
	}
	if (kc.conflict) {
		if ((acct_url = acme_url(rq->dir, "acct", kc.other)) != NULL)
			acme_resp_header(rq->resp, "Location", "%s", acct_url);
		acme_problem_status(&rq->prob, PROB_MALFORMED, 409,
		    "the new key already belongs to another account");
		goto out;
	}
	if (kc.stale) {
		acme_problem_set(&rq->prob, PROB_UNAUTHORIZED, "the account key changed meanwhile");
		goto out;
	}
	log_info("account %s rolled over to key %s", rq->acct.id, newkey.thumb);
	acme_audit("account.key_change", rq->dir->cfg->name, "sss", "account", rq->acct.id,
	    "old_thumbprint", rq->acct.thumb, "new_thumbprint", newkey.thumb);
	memcpy(rq->acct.thumb, newkey.thumb, sizeof(rq->acct.thumb));
	free(rq->acct.jwk);
	rq->acct.jwk = strdup(newkey.canon);
	rq->acct.key_version++;
	rq_location(rq, "%sacct/%s", rq->dir->url_prefix, rq->acct.id);
	rq_json(rq, 200, acme_view_account(rq->dir, &rq->acct));
	rc = 0;
out:
	free(acct_url);
	jws_clear(&inner);
	jwk_clear(&newkey);
	jwk_clear(&oldkey);
	return rc;
}
