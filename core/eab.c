/*
 * External Account Binding (RFC 8555 section 7.3.4): the binding in a
 * newAccount is a JWS, MACed with a key the operator handed out (acme-admin
 * eab new), over the account's public key. Checked in two steps: the form,
 * the key and the MAC before any write; then, inside the transaction that
 * creates the account, that the key is still usable, and it is marked used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/eab.h"
#include "core/internal.h"
#include "core/json.h"

struct eab_get {
	const char *kid;
	struct store_eab e;
};

static enum store_err
eab_get_txn(struct store_txn *t, void *arg)
{
	struct eab_get *g = arg;

	store_eab_free(&g->e);
	return store_eab_get(t, g->kid, &g->e);
}

/* Why key e cannot bind an account of directory dir now, or NULL. */
static const char *
eab_unusable(const struct store_eab *e, const char *dir, int64_t now)
{
	if (strcmp(e->dir, dir) != 0)
		return "the external account key is not for this directory";
	if (e->revoked)
		return "the external account key was revoked";
	if (e->expires != 0 && e->expires <= now)
		return "the external account key has expired";
	if (!e->reusable && e->uses > 0)
		return "the external account key was already used";
	return NULL;
}

int
acme_eab_check(struct acme_rq *rq, struct json_object *binding, struct acme_eab *out)
{
	struct jws j;
	struct acme_jwk k;
	struct eab_get g;
	const char *why = NULL;
	enum store_err e;
	int rc = -1;

	memset(&j, 0, sizeof(j));
	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(binding, json_type_object))
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "externalAccountBinding must be a flattened JWS object");
	/* EAB-02/03: a well-formed JWS with a MAC algorithm and a kid. */
	if (jws_parse_json(binding, &j, 1, &rq->prob) < 0) {
		rq->prob.type = PROB_MALFORMED;
		snprintf(rq->prob.detail, sizeof(rq->prob.detail),
		    "externalAccountBinding is not a valid HS256/384/512 JWS");
		goto out;
	}
	/* EAB-05: no nonce, and the same url as the outer JWS. */
	if (j.nonce != NULL) {
		acme_problem_set(&rq->prob, PROB_MALFORMED, "externalAccountBinding must not carry a nonce");
		goto out;
	}
	if (strcmp(j.url, rq->jws.url) != 0) {
		acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "externalAccountBinding url differs from the request's");
		goto out;
	}
	if (j.kid == NULL || strlen(j.kid) > STORE_EAB_KID_MAX) {
		acme_problem_set(&rq->prob, PROB_MALFORMED, "externalAccountBinding needs a kid");
		goto out;
	}
	/* EAB-07: the payload is the account's public key (compared as a key). */
	if (j.payload_json == NULL || jwk_parse(j.payload_json, &k, &why) != ACME_OK ||
	    strcmp(k.thumb, rq->jwk.thumb) != 0) {
		acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "externalAccountBinding payload must be the account's public key (jwk)");
		goto out;
	}
	/* EAB-04: a key the CA issued, still usable. */
	g.kid = j.kid;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RO, eab_get_txn, &g);
	if (e == STORE_NOTFOUND) {
		acme_problem_set(&rq->prob, PROB_UNAUTHORIZED, "unknown external account key id");
		goto out;
	}
	if (e != STORE_OK) {
		rq_store_error(rq, e);
		goto out;
	}
	if ((why = eab_unusable(&g.e, rq->dir->cfg->name, rq->now)) != NULL) {
		acme_problem_set(&rq->prob, PROB_UNAUTHORIZED, "%s", why);
		goto out;
	}
	/* EAB-06: the MAC, compared in constant time. */
	if (jws_verify_mac(&j, g.e.key, g.e.key_len, &rq->prob) < 0) {
		acme_problem_set(&rq->prob, PROB_UNAUTHORIZED,
		    "externalAccountBinding MAC does not verify with that key");
		goto out;
	}
	snprintf(out->kid, sizeof(out->kid), "%s", j.kid);
	if ((out->json = acme_json_dump(binding)) == NULL) {
		acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	store_eab_free(&g.e);
	jwk_clear(&k);
	jws_clear(&j);
	return rc;
}

enum store_err
acme_eab_consume(struct store_txn *t, const struct acme_eab *b, const char *dir,
    const char *account, int64_t now, const char **why)
{
	struct store_eab e;
	enum store_err rc;

	*why = NULL;
	memset(&e, 0, sizeof(e));
	if ((rc = store_eab_get(t, b->kid, &e)) != STORE_OK)
		goto out;
	/* Checked again: another request may have used it since. */
	if ((*why = eab_unusable(&e, dir, now)) != NULL)
		goto out;
	e.uses++;
	if (e.account[0] == '\0')
		snprintf(e.account, sizeof(e.account), "%s", account);
	rc = store_eab_put(t, &e, 0);
out:
	store_eab_free(&e);
	return rc;
}

void
acme_eab_clear(struct acme_eab *b)
{
	free(b->json);
	memset(b, 0, sizeof(*b));
}
