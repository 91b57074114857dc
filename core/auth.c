/*
 * Request authentication (RFC 8555 section 6.2): media type, flattened JWS,
 * the url and nonce header rules, the signing key (jwk, or kid naming an
 * existing valid account of this directory), the signature. The nonce is
 * consumed only after the signature verifies, so a request that cannot be
 * authenticated does not burn a client's nonce.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "core/internal.h"
#include "core/keypol.h"
#include "core/log.h"

/* The media type must be application/jose+json; parameters (such as a
 * charset) are ignored, and the comparison is case-insensitive (documented). */
static int
jose_content_type(const char *ct)
{
	static const char want[] = "application/jose+json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static size_t
keycache_slot(const char *id)
{
	/* FNV-1a: the ids are random already; this only spreads them. */
	uint32_t h = 2166136261u;

	while (*id)
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h % ACME_KEYCACHE_SIZE;
}

EVP_PKEY *
acme_account_key(struct acme_ctx *ctx, const struct store_account *a, struct acme_problem *p)
{
	struct acme_keycache_entry *e = &ctx->keycache[keycache_slot(a->id)];
	struct acme_jwk k;
	const char *why = NULL;

	if (e->pkey != NULL && strcmp(e->id, a->id) == 0 && e->key_version == a->key_version)
		return e->pkey;
	memset(&k, 0, sizeof(k));
	if (jwk_parse_text(a->jwk, &k, &why) != ACME_OK) {
		log_err("account %s: stored key does not parse: %s", a->id, why ? why : "?");
		acme_problem_set(p, PROB_SERVER_INTERNAL, "account key unusable");
		return NULL;
	}
	EVP_PKEY_free(e->pkey);
	e->pkey = k.pkey;
	k.pkey = NULL;
	memcpy(e->id, a->id, sizeof(e->id));
	e->key_version = a->key_version;
	jwk_clear(&k);
	return e->pkey;
}

struct load_acct {
	const char *id;
	struct store_account *out;
};

static enum store_err
load_acct_txn(struct store_txn *t, void *arg)
{
	struct load_acct *la = arg;

	store_account_free(la->out);
	return store_account_get(t, la->id, la->out);
}

/* Load the account named by kid into rq->acct. */
static int
load_kid_account(struct acme_rq *rq)
{
	char id[STORE_ID_LEN + 1];
	struct load_acct la;
	enum store_err e;

	if (acme_url_id(rq->dir, rq->jws.kid, "acct", id, sizeof(id)) < 0)
		return acme_problem_set(&rq->prob, PROB_ACCOUNT_DOES_NOT_EXIST,
		    "kid is not an account URL of this directory");
	la.id = id;
	la.out = &rq->acct;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RO, load_acct_txn, &la);
	if (e == STORE_NOTFOUND)
		return acme_problem_set(&rq->prob, PROB_ACCOUNT_DOES_NOT_EXIST,
		    "no account with this kid");
	if (e != STORE_OK)
		return rq_store_error(rq, e);
	rq->have_acct = 1;
	if (strcmp(rq->acct.dir, rq->dir->cfg->name) != 0)
		return acme_problem_set(&rq->prob, PROB_ACCOUNT_DOES_NOT_EXIST,
		    "kid is not an account of this directory");
	if (rq->acct.status != STORE_ST_VALID)
		/* RFC 8555 section 7.3.6: 401 for a deactivated account (documented). */
		return acme_problem_status(&rq->prob, PROB_UNAUTHORIZED, 401,
		    "account is %s", store_status_name(rq->acct.status));
	return 0;
}

/*
 * When the directory requires agreement and the terms changed since the
 * account agreed, every request but the account update that agrees again
 * gets userActionRequired with a link to the new terms (RFC 8555 7.3.3).
 */
int
acme_terms_outdated(struct acme_rq *rq)
{
	const struct acme_dir_config *c = rq->dir->cfg;

	if (!c->tos_required || c->terms_of_service == NULL)
		return 0;
	if (rq->acct.tos_url != NULL && strcmp(rq->acct.tos_url, c->terms_of_service) == 0)
		return 0;
	acme_resp_header(rq->resp, "Link", "<%s>;rel=\"terms-of-service\"", c->terms_of_service);
	acme_problem_set(&rq->prob, PROB_USER_ACTION_REQUIRED,
	    "the terms of service changed; agree to them by updating the account with "
	    "termsOfServiceAgreed: true");
	acme_problem_extra(&rq->prob, "instance", json_object_new_string(c->terms_of_service));
	return 1;
}

int
acme_auth(struct acme_rq *rq, enum auth_key how)
{
	const char *why = NULL;
	enum acme_err e;

	if (!jose_content_type(rq->req->content_type))
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 415,
		    "POST requests must use Content-Type application/jose+json");
	if (rq->req->body_too_big || rq->req->body_len > rq->ctx->cfg->max_body)
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 413,
		    "request body is larger than %zu bytes", rq->ctx->cfg->max_body);
	if (jws_parse(rq->req->body, rq->req->body_len, &rq->jws, 0, &rq->prob) < 0)
		return -1;
	rq->have_jws = 1;
	/* An exact comparison with the URL this server handed out (RFC 8555
	 * section 6.4); answered as unauthorized, the RFC's word (documented). */
	if (strcmp(rq->jws.url, rq->url) != 0)
		return acme_problem_set(&rq->prob, PROB_UNAUTHORIZED,
		    "JWS url header does not match the request URL");
	if (rq->jws.kid != NULL) {
		if (how == AUTH_JWK)
			return acme_problem_set(&rq->prob, PROB_MALFORMED,
			    "this request must be signed with a jwk, not a kid");
		if (load_kid_account(rq) < 0)
			return -1;
		if (how != AUTH_KID_ANY_TOS && acme_terms_outdated(rq))
			return -1;
		if ((rq->key = acme_account_key(rq->ctx, &rq->acct, &rq->prob)) == NULL)
			return -1;
	} else {
		if (how == AUTH_KID)
			return acme_problem_set(&rq->prob, PROB_MALFORMED,
			    "this request must be signed with the account's kid, not a jwk");
		e = jwk_parse(rq->jws.jwk, &rq->jwk, &why);
		if (e == ACME_EUNSUPPORTED)
			return acme_problem_set(&rq->prob, PROB_BAD_PUBLIC_KEY, "jwk refused: %s",
			    why ? why : "unsupported key");
		if (e != ACME_OK)
			return acme_problem_set(&rq->prob, PROB_MALFORMED, "jwk invalid: %s",
			    why ? why : "does not parse");
		if (keypol_check(&rq->dir->cfg->account_keys, rq->jwk.pkey, &why) != ACME_OK)
			return acme_problem_set(&rq->prob, PROB_BAD_PUBLIC_KEY,
			    "account key refused by this directory's policy: %s", why ? why : "");
		rq->key = rq->jwk.pkey;
	}
	if (jws_verify(&rq->jws, rq->key, &rq->prob) < 0)
		return -1;
	if (acme_nonce_check(rq->ctx, rq->jws.nonce, &rq->prob) < 0)
		return -1;
	return 0;
}
