/* Accounts: newAccount, the account resource (RFC 8555 section 7.3). */

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/account_ops.h"
#include "core/audit.h"
#include "core/contact.h"
#include "core/eab.h"
#include "core/ratelimit.h"
#include "core/internal.h"
#include "core/json.h"
#include "core/keyblock.h"
#include "core/log.h"

struct new_account {
	struct acme_rq *rq;
	const struct store_account *proto;   /* the account to create */
	const struct acme_eab *eab;          /* its binding, or NULL */
	const char *eab_refused;             /* why the binding's key could not be used */
	int limited;                         /* rate_accounts_per_ip */
	int64_t retry_after;
	struct store_account existing;       /* filled when the key already has one */
	int found;
	const char *spki;                    /* the key's name in the blocked-key table */
	int blocked;                         /* the key was reported compromised */
};

/* Find the account of this key, or create proto. */
static enum store_err
new_account_txn(struct store_txn *t, void *arg)
{
	struct new_account *na = arg;
	store_id id;
	enum store_err e;

	store_account_free(&na->existing);
	na->found = 0;
	/* A compromised key neither registers nor finds its account. */
	if ((e = acme_key_blocked(t, na->spki, &na->blocked)) != STORE_OK || na->blocked)
		return e;
	e = store_account_by_thumb(t, na->proto->dir, na->proto->thumb, id);
	if (e == STORE_OK) {
		na->found = 1;
		return store_account_get(t, id, &na->existing);
	}
	if (e != STORE_NOTFOUND)
		return e;
	if (na->proto->id[0] == '\0')
		return STORE_NOTFOUND;          /* onlyReturnExisting */
	na->eab_refused = NULL;
	na->limited = 0;
	if ((e = acme_rl_take(t, na->rq->dir->cfg, ACME_RL_ACCOUNTS_PER_IP, NULL,
	    na->rq->req->remote_addr ? na->rq->req->remote_addr : "unknown", na->rq->now_ms, 0,
	    &na->limited, &na->retry_after)) != STORE_OK || na->limited)
		return e;
	if (na->eab != NULL) {
		e = acme_eab_consume(t, na->eab, na->proto->dir, na->proto->id, na->rq->now,
		    &na->eab_refused);
		if (e != STORE_OK || na->eab_refused != NULL)
			return e != STORE_OK ? e : ACME_TXN_REFUSED;
	}
	return store_account_put(t, na->proto, STORE_PUT_CREATE);
}

static int
reply_account(struct acme_rq *rq, int status, const struct store_account *a)
{
	rq_location(rq, "%sacct/%s", rq->dir->url_prefix, a->id);
	rq_json(rq, status, acme_view_account(rq->dir, a));
	return 0;
}

static int
payload_bool(struct acme_rq *rq, const char *key, int *val)
{
	struct json_object *v = acme_json_get(rq->jws.payload_json, key);

	*val = 0;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "%s must be a boolean", key);
	*val = json_object_get_boolean(v);
	return 0;
}

int
acme_h_new_account(struct acme_rq *rq)
{
	const struct acme_dir_config *c = rq->dir->cfg;
	struct store_account a;
	struct new_account na;
	struct acme_eab eab;
	struct json_object *v;
	char spki[STORE_THUMB_LEN + 1];
	enum store_err e;
	int only_existing, tos, rc = -1;

	memset(&a, 0, sizeof(a));
	memset(&na, 0, sizeof(na));
	memset(&eab, 0, sizeof(eab));
	if (acme_auth(rq, AUTH_JWK) < 0)
		return -1;
	if (rq->jws.payload_json == NULL)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "newAccount needs a JSON object payload");
	if (payload_bool(rq, "onlyReturnExisting", &only_existing) < 0 ||
	    payload_bool(rq, "termsOfServiceAgreed", &tos) < 0)
		return -1;

	snprintf(a.dir, sizeof(a.dir), "%s", c->name);
	memcpy(a.thumb, rq->jwk.thumb, sizeof(a.thumb));
	if (acme_spki_hash(rq->jwk.pkey, spki) != ACME_OK)
		return acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "cannot read the account key");
	na.rq = rq;
	na.proto = &a;
	na.spki = spki;
	if (only_existing) {
		e = store_txn_run(rq->ctx->store, STORE_TXN_RO, new_account_txn, &na);
		if (e == STORE_OK && na.blocked)
			goto blocked;
		if (e == STORE_NOTFOUND) {
			rc = acme_problem_set(&rq->prob, PROB_ACCOUNT_DOES_NOT_EXIST,
			    "no account exists with this key");
			goto out;
		}
		if (e != STORE_OK) {
			rc = rq_store_error(rq, e);
			goto out;
		}
		goto existing;
	}

	if ((v = acme_json_get(rq->jws.payload_json, "contact")) != NULL &&
	    acme_contacts_parse(v, c->contact_scheme, c->ncontact_scheme, &a.contact,
	    &a.ncontact, &rq->prob) < 0)
		goto out;
	if (c->tos_required && !tos) {
		acme_resp_header(rq->resp, "Link", "<%s>;rel=\"terms-of-service\"", c->terms_of_service);
		rc = acme_problem_set(&rq->prob, PROB_USER_ACTION_REQUIRED,
		    "you must agree to the terms of service (termsOfServiceAgreed: true)");
		goto out;
	}
	if ((v = acme_json_get(rq->jws.payload_json, "externalAccountBinding")) != NULL) {
		if (acme_eab_check(rq, v, &eab) < 0)
			goto out;
		na.eab = &eab;
		a.eab_kid = eab.kid;
		a.eab_jws = eab.json;
	} else if (c->eab_required) {
		rc = acme_problem_set(&rq->prob, PROB_EXTERNAL_ACCOUNT_REQUIRED,
		    "this directory requires an external account binding (externalAccountBinding)");
		goto out;
	}
	if (store_new_id(a.id) != STORE_OK) {
		rc = acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "no randomness");
		goto out;
	}
	a.status = STORE_ST_VALID;
	a.created = rq->now;
	a.jwk = rq->jwk.canon;
	if (tos) {
		a.tos_agreed = rq->now;
		a.tos_url = c->terms_of_service;
	}
	a.key_version = 1;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RW, new_account_txn, &na);
	a.jwk = NULL;           /* borrowed from rq->jwk */
	a.tos_url = NULL;       /* borrowed from the configuration */
	if (e == ACME_TXN_REFUSED) {
		rc = acme_problem_set(&rq->prob, PROB_UNAUTHORIZED, "%s", na.eab_refused);
		goto out;
	}
	if (e == STORE_OK && na.blocked)
		goto blocked;
	if (e == STORE_OK && na.limited) {
		rc = acme_rate_limited(rq, na.retry_after, "too many new accounts from %s "
		    "(rate_accounts_per_ip); retry after %lld s", rq->req->remote_addr ?
		    rq->req->remote_addr : "this address", (long long)na.retry_after);
		goto out;
	}
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	if (!na.found) {
		log_info("account %s created in %s (key %s%s%s)", a.id, c->name, a.thumb,
		    na.eab ? ", external account key " : "", na.eab ? eab.kid : "");
		acme_audit("account.create", c->name, "ssssi", "account", a.id, "thumbprint", a.thumb,
		    "eab_kid", na.eab ? eab.kid : NULL, "remote", rq->req->remote_addr, "contacts",
		    (int64_t)a.ncontact);
		rc = reply_account(rq, 201, &a);
		goto out;
	}
existing:
	/* RFC 8555 section 7.3.1: the key already has an account. */
	if (na.existing.status != STORE_ST_VALID) {
		rc = acme_problem_status(&rq->prob, PROB_UNAUTHORIZED, 401,
		    "the account of this key is %s", store_status_name(na.existing.status));
		goto out;
	}
	rc = reply_account(rq, 200, &na.existing);
	goto out;
blocked:
	rc = acme_problem_set(&rq->prob, PROB_BAD_PUBLIC_KEY,
	    "this key was reported compromised; use a new key");
out:
	store_account_free(&na.existing);
	a.jwk = NULL;
	a.tos_url = NULL;
	a.eab_kid = NULL;       /* borrowed from eab */
	a.eab_jws = NULL;
	acme_eab_clear(&eab);
	store_account_free(&a);
	return rc;
}

struct update_account {
	const char *id;
	const char *tos_url;     /* terms agreed to now, or NULL */
	int64_t now;
	char **contact;          /* new contacts, or NULL to keep */
	size_t ncontact;
	int set_contact;
	int deactivate;
	struct store_account out;
};

static enum store_err
update_account_txn(struct store_txn *t, void *arg)
{
	struct update_account *u = arg;
	char **old;
	size_t nold;
	enum store_err e;

	store_account_free(&u->out);
	if ((e = store_account_get(t, u->id, &u->out)) != STORE_OK)
		return e;
	if (u->out.status != STORE_ST_VALID)
		return STORE_OK;        /* the caller refuses; nothing written */
	/* Deactivation cancels the account's pending orders and authorizations
	 * (RFC 8555 section 7.3.6); issued certificates stay as they are. */
	if (u->deactivate && (e = acme_account_cancel_pending(t, u->id, u->now)) != STORE_OK)
		return e;
	if (u->set_contact || u->deactivate || u->tos_url != NULL) {
		old = u->out.contact;
		nold = u->out.ncontact;
		if (u->set_contact) {
			u->out.contact = u->contact;
			u->out.ncontact = u->ncontact;
		}
		if (u->deactivate)
			u->out.status = STORE_ST_DEACTIVATED;
		if (u->tos_url != NULL) {
			free(u->out.tos_url);
			if ((u->out.tos_url = strdup(u->tos_url)) == NULL)
				return STORE_NOMEM;
			u->out.tos_agreed = u->now;
		}
		e = store_account_put(t, &u->out, 0);
		u->out.contact = old;   /* keep ownership straight for the free */
		u->out.ncontact = nold;
		if (e != STORE_OK)
			return e;
	}
	return STORE_OK;
}

int
acme_h_account(struct acme_rq *rq, const char *id)
{
	struct update_account u;
	struct json_object *v;
	const char *status;
	enum store_err e;
	int rc = -1, tos = 0;
	size_t i;

	memset(&u, 0, sizeof(u));
	if (acme_auth(rq, AUTH_KID_ANY_TOS) < 0)
		return -1;
	if (strcmp(rq->acct.id, id) != 0)
		return acme_problem_set(&rq->prob, PROB_UNAUTHORIZED,
		    "the request is not signed by this account's key");
	u.id = id;
	u.now = rq->now;
	if (payload_bool(rq, "termsOfServiceAgreed", &tos) < 0)
		return -1;
	if (tos && rq->dir->cfg->terms_of_service != NULL)
		u.tos_url = rq->dir->cfg->terms_of_service;
	/* Until it agrees to changed terms, an account may only agree or leave. */
	if (u.tos_url == NULL && !(rq->jws.payload_json != NULL &&
	    acme_json_get(rq->jws.payload_json, "status") != NULL) && acme_terms_outdated(rq))
		return -1;
	if (rq->jws.payload_json == NULL)
		return reply_account(rq, 200, &rq->acct);

	if ((v = acme_json_get(rq->jws.payload_json, "status")) != NULL) {
		status = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) || strcmp(status, "deactivated") != 0)
			return acme_problem_set(&rq->prob, PROB_MALFORMED,
			    "the only status a client may set is \"deactivated\"");
		u.deactivate = 1;
	}
	if ((v = acme_json_get(rq->jws.payload_json, "contact")) != NULL) {
		if (acme_contacts_parse(v, rq->dir->cfg->contact_scheme,
		    rq->dir->cfg->ncontact_scheme, &u.contact, &u.ncontact, &rq->prob) < 0)
			goto out;
		u.set_contact = 1;
	}
	e = store_txn_run(rq->ctx->store, STORE_TXN_RW, update_account_txn, &u);
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	if (u.out.status != STORE_ST_VALID && !u.deactivate) {
		rc = acme_problem_status(&rq->prob, PROB_UNAUTHORIZED, 401, "account is %s",
		    store_status_name(u.out.status));
		goto out;
	}
	if (u.deactivate) {
		log_info("account %s deactivated", id);
		acme_audit("account.deactivate", rq->dir->cfg->name, "ss", "account", id, "by",
		    "the account");
	}
	if (u.set_contact) {
		/* Show what was stored. */
		for (i = 0; i < u.out.ncontact; i++)
			free(u.out.contact[i]);
		free(u.out.contact);
		u.out.contact = u.contact;
		u.out.ncontact = u.ncontact;
		u.contact = NULL;
		u.ncontact = 0;
	}
	rc = reply_account(rq, 200, &u.out);
out:
	for (i = 0; i < u.ncontact; i++)
		free(u.contact[i]);
	free(u.contact);
	store_account_free(&u.out);
	return rc;
}
