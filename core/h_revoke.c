/* Certificate revocation (RFC 8555 section 7.6), the CRL and issuer resources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/x509.h>

#include "core/b64.h"
#include "core/crl.h"
#include "core/audit.h"
#include "core/internal.h"
#include "core/json.h"
#include "core/keyblock.h"
#include "core/log.h"
#include "core/revoke_ops.h"

#define CERT_MAX (32 * 1024)

static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation", "certificateHold", "(unused)", "removeFromCRL",
	"privilegeWithdrawn", "aACompromise",
};

/* Does account acct hold a valid authorization for every identifier of o? */
struct covers {
	struct store_txn *t;
	int64_t now;
	int wildcard;
	int found;
};

static int
covers_cb(const char *id, void *arg)
{
	struct covers *cv = arg;
	struct store_authz z;

	memset(&z, 0, sizeof(z));
	if (store_authz_get(cv->t, id, &z) == STORE_OK &&
	    acme_authz_status(&z, cv->now) == STORE_ST_VALID && z.wildcard == cv->wildcard)
		cv->found = 1;
	store_authz_free(&z);
	return cv->found;
}

static enum store_err
account_covers(struct store_txn *t, const char *acct, const struct store_order *o, int64_t now,
    int *all)
{
	struct covers cv;
	struct store_ident sid;
	enum store_err e;
	size_t i;

	*all = 0;
	for (i = 0; i < o->nident; i++) {
		memset(&cv, 0, sizeof(cv));
		cv.t = t;
		cv.now = now;
		sid.type = o->ident[i].type;
		sid.value = o->ident[i].value;
		if (strncmp(sid.value, "*.", 2) == 0) {
			sid.value += 2;
			cv.wildcard = 1;
		}
		if ((e = store_authz_by_ident(t, acct, &sid, 64, covers_cb, &cv)) != STORE_OK)
			return e;
		if (!cv.found)
			return STORE_OK;
	}
	*all = 1;
	return STORE_OK;
}

struct revoke {
	struct acme_rq *rq;
	const char *serial;
	const unsigned char *der;
	size_t der_len;
	const char *jwk_thumb;       /* set for jwk-signed requests */
	const char *cert_thumb;      /* the certificate key's thumbprint */
	int reason;                  /* as the request gave it (-1: none) */
	int recorded;                /* as recorded: see revoke_policy */
	int queued;                  /* RA: an upstream revocation was queued */
	enum acme_prob refused;
	int status;
	char why[200];
};

/*
 * The reason recorded (Boulder's policy, conformance REV-10): a request
 * signed with the certificate's own key proves the key is out of its
 * owner's hands, so it is keyCompromise (and the key is blocked), whatever
 * was given; an account that did not order the certificate (it holds valid
 * authorizations for all its names) cannot know why it ends, so its
 * revocation is cessationOfOperation; the subscriber's reason stands.
 */
static int
revoke_policy(const struct revoke *r, int by_cert_key, int subscriber)
{
	if (by_cert_key)
		return ACME_REASON_KEY_COMPROMISE;
	if (!subscriber)
		return ACME_REASON_CESSATION;
	return r->reason;
}

static enum store_err
revoke_txn(struct store_txn *t, void *arg)
{
	struct revoke *r = arg;
	struct acme_rq *rq = r->rq;
	struct store_cert c;
	struct store_order o;
	enum store_err e;
	int all = 0, by_cert_key;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	r->refused = PROB_NONE;
	r->status = 0;
	r->queued = 0;
	r->recorded = r->reason;
	e = store_cert_get(t, r->serial, &c);
	if (e == STORE_NOTFOUND || (e == STORE_OK && (c.der_len != r->der_len ||
	    memcmp(c.der, r->der, r->der_len) != 0 || strcmp(c.dir, rq->dir->cfg->name) != 0))) {
		r->refused = PROB_MALFORMED;
		r->status = 404;
		snprintf(r->why, sizeof(r->why), "this directory did not issue that certificate");
		e = STORE_OK;
		goto out;
	}
	if (e != STORE_OK)
		goto out;
	if (c.revoked) {
		r->refused = PROB_ALREADY_REVOKED;
		snprintf(r->why, sizeof(r->why), "the certificate was already revoked");
		goto out;
	}
	if (c.not_after < rq->now) {
		r->refused = PROB_UNAUTHORIZED;
		snprintf(r->why, sizeof(r->why), "the certificate has expired");
		goto out;
	}
	if (r->jwk_thumb != NULL) {
		if (strcmp(r->jwk_thumb, r->cert_thumb) != 0) {
			r->refused = PROB_UNAUTHORIZED;
			snprintf(r->why, sizeof(r->why), "the request is not signed by the certificate's key");
			goto out;
		}
	} else if (strcmp(c.acct, rq->acct.id) != 0) {
		if ((e = store_order_get(t, c.order, &o)) != STORE_OK ||
		    (e = account_covers(t, rq->acct.id, &o, rq->now, &all)) != STORE_OK)
			goto out;
		if (!all) {
			r->refused = PROB_UNAUTHORIZED;
			snprintf(r->why, sizeof(r->why), "the account neither ordered this certificate nor "
			    "holds valid authorizations for all its identifiers");
			goto out;
		}
	}
	/* With a kid too: an account key that is the certificate's key. */
	by_cert_key = r->cert_thumb[0] != '\0' && strcmp(r->jwk_thumb != NULL ? r->jwk_thumb :
	    rq->acct.thumb, r->cert_thumb) == 0;
	r->recorded = revoke_policy(r, by_cert_key, r->jwk_thumb != NULL ||
	    strcmp(c.acct, rq->acct.id) == 0);
	e = acme_revoke_record(t, &c, r->recorded, rq->now, &r->queued);
out:
	store_cert_free(&c);
	store_order_free(&o);
	return e;
}

static int
parse_reason(struct acme_rq *rq, int *reason)
{
	struct json_object *v = acme_json_get(rq->jws.payload_json, "reason");
	unsigned allowed = rq->dir->cfg->revocation_reasons;
	char list[128] = "";
	int64_t r;
	int i;

	*reason = -1;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "reason must be an integer");
	r = json_object_get_int64(v);
	if (r >= 0 && r <= 10 && r != 7 && (allowed & (1u << r))) {
		*reason = (int)r;
		return 0;
	}
	for (i = 0; i <= 10; i++)
		if (allowed & (1u << i))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d (%s)",
			    list[0] ? ", " : "", i, reason_names[i]);
	return acme_problem_set(&rq->prob, PROB_BAD_REVOCATION_REASON,
	    "reason %lld is not accepted; accepted: %s", (long long)r, list);
}

int
acme_h_revoke(struct acme_rq *rq)
{
	struct revoke r;
	const char *text;
	unsigned char *der = NULL;
	const unsigned char *p;
	const ASN1_INTEGER *sn;
	X509 *x = NULL;
	char serial[STORE_SERIAL_MAX + 1], cthumb[44];
	size_t len = 0, i;
	enum store_err e;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (acme_auth(rq, AUTH_EITHER) < 0)
		return -1;
	if (rq->jws.payload_json == NULL ||
	    (text = acme_json_str(rq->jws.payload_json, "certificate")) == NULL)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "revokeCert needs a certificate");
	if (strlen(text) > B64U_ENCLEN(CERT_MAX) ||
	    b64u_decode(text, strlen(text), &der, &len) != ACME_OK) {
		rc = acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "certificate must be unpadded base64url of DER");
		goto out;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len) {
		rc = acme_problem_set(&rq->prob, PROB_MALFORMED, "certificate is not a DER X.509 certificate");
		goto out;
	}
	if (parse_reason(rq, &r.reason) < 0)
		goto out;
	sn = X509_get0_serialNumber(x);
	if (ASN1_STRING_length(sn) < 1 || ASN1_STRING_length(sn) > STORE_SERIAL_MAX / 2) {
		rc = acme_problem_status(&rq->prob, PROB_MALFORMED, 404,
		    "this directory did not issue that certificate");
		goto out;
	}
	for (i = 0; i < (size_t)ASN1_STRING_length(sn); i++)
		snprintf(serial + 2 * i, 3, "%02x", ASN1_STRING_get0_data(sn)[i]);
	if (jwk_thumbprint_pkey(X509_get0_pubkey(x), cthumb) != ACME_OK)
		cthumb[0] = '\0';
	r.rq = rq;
	r.serial = serial;
	r.der = der;
	r.der_len = len;
	r.cert_thumb = cthumb;
	r.jwk_thumb = rq->jws.jwk != NULL ? rq->jwk.thumb : NULL;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RW, revoke_txn, &r);
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	if (r.refused != PROB_NONE) {
		rc = acme_problem_status(&rq->prob, r.refused, r.status, "%s", r.why);
		goto out;
	}
	log_info("certificate %s revoked (reason %d, %d given) by %s%s", serial, r.recorded, r.reason,
	    r.jwk_thumb ? "its own key" : rq->acct.id,
	    r.recorded == ACME_REASON_KEY_COMPROMISE ? "; its key is blocked" : "");
	acme_audit("cert.revoke", rq->dir->cfg->name, "siis", "serial", serial, "reason",
	    (int64_t)r.recorded, "reason_given", (int64_t)r.reason, "by",
	    r.jwk_thumb ? "certificate key" : rq->acct.id);
	if (r.queued)
		acme_wake_validator(rq->ctx);
	if (rq->dir->ca != NULL &&
	    acme_crl_publish(rq->ctx->store, rq->ctx->cfg, rq->dir->cfg, rq->dir->ca, rq->now) != ACME_OK)
		log_err("certificate %s revoked, but the CRL could not be signed; it will be on the next", serial);
	rq->resp->status = 200;
	rc = 0;
out:
	X509_free(x);
	free(der);
	return rc;
}

int
acme_h_crl(struct acme_rq *rq)
{
	unsigned char *der = NULL;
	size_t len = 0;

	if (rq->dir->ca == NULL)      /* RA: the upstream CA publishes revocation */
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 404,
		    "this directory has no CA of its own (RA mode); see its upstream CA");
	if (acme_crl_read(rq->ctx->store, rq->ctx->cfg, rq->dir->cfg, rq->dir->ca, rq->now, &der,
	    &len) != ACME_OK)
		return acme_problem_status(&rq->prob, PROB_SERVER_INTERNAL, 503, "the CRL is not available");
	rq->resp->status = 200;
	rq->resp->content_type = "application/pkix-crl";
	rq->resp->body = (char *)der;
	rq->resp->body_len = len;
	acme_resp_header(rq->resp, "Cache-Control", "public, max-age=%lld",
	    (long long)rq->dir->cfg->crl_refresh);
	return 0;
}

int
acme_h_issuer(struct acme_rq *rq)
{
	unsigned char *der = NULL, *p;
	int len;

	if (rq->dir->ca == NULL)
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 404,
		    "this directory has no CA of its own (RA mode); see its upstream CA");
	len = i2d_X509(ca_cert(rq->dir->ca), NULL);
	if (len <= 0 || (der = malloc((size_t)len)) == NULL)
		return acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "cannot encode the issuer");
	p = der;
	i2d_X509(ca_cert(rq->dir->ca), &p);
	rq->resp->status = 200;
	rq->resp->content_type = "application/pkix-cert";
	rq->resp->body = (char *)der;
	rq->resp->body_len = (size_t)len;
	acme_resp_header(rq->resp, "Cache-Control", "public, max-age=86400");
	return 0;
}
