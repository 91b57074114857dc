/* Finalize (RFC 8555 section 7.4). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/b64.h"
#include "core/csr.h"
#include "core/audit.h"
#include "core/internal.h"
#include "core/jobs.h"
#include "core/json.h"
#include "core/keyblock.h"
#include "core/log.h"
#include "core/psl.h"
#include "core/ratelimit.h"
#include "core/validation.h"

#define CSR_MAX (16 * 1024)
/* Certificates start a minute early, for clocks that run slow. */
#define BACKDATE 60

struct finalize {
	struct acme_rq *rq;
	const char *id;
	const struct acme_csr *csr;
	const unsigned char *csr_der;  /* kept on the order while it waits (processing) */
	size_t csr_len;
	int waiting;                   /* the order waits for the validator (CAA re-checks,
	                                  RA: its upstream job): wake it */
	int64_t retry_after;           /* with rateLimited */
	enum acme_prob refused;
	char why[400];
	struct store_cert cert;        /* what was issued */
	struct store_order order;
};

/* The CSR must ask for exactly the order's identifiers (FIN-04, IP-08). */
static int
names_match(const struct store_order *o, const struct acme_csr *csr, char *why, size_t len)
{
	size_t i, j, ndns = 0, nip = 0;
	struct acme_ident id;

	for (i = 0; i < o->nident; i++) {
		if (o->ident[i].type == STORE_IDENT_DNS) {
			ndns++;
			for (j = 0; j < csr->ndns; j++)
				if (strcmp(csr->dns[j], o->ident[i].value) == 0)
					break;
			if (j == csr->ndns)
				return snprintf(why, len, "the CSR does not include %s, which the order has",
				    o->ident[i].value), -1;
		} else {
			nip++;
			memset(&id, 0, sizeof(id));
			id.ip_len = strchr(o->ident[i].value, ':') ? 16 : 4;
			if (inet_pton(id.ip_len == 16 ? AF_INET6 : AF_INET, o->ident[i].value, id.ip) != 1)
				return snprintf(why, len, "bad stored identifier"), -1;
			for (j = 0; j < csr->nip; j++)
				if (csr->ip[j].len == id.ip_len && memcmp(csr->ip[j].addr, id.ip, (size_t)id.ip_len) == 0)
					break;
			if (j == csr->nip)
				return snprintf(why, len, "the CSR does not include %s, which the order has",
				    o->ident[i].value), -1;
		}
	}
	/* Both sides are de-duplicated, so equal counts mean equal sets. */
	if (csr->ndns != ndns || csr->nip != nip)
		return snprintf(why, len, "the CSR has names that are not in the order"), -1;
	return 0;
}

static enum store_err
issue(struct finalize *f, struct store_txn *t, const struct acme_profile *prof)
{
	struct acme_rq *rq = f->rq;
	const struct acme_dir_config *c = rq->dir->cfg;
	struct store_order *o = &f->order;
	struct store_cert *cert = &f->cert;
	struct ca_name *names = NULL;
	struct ca_issue_params ip;
	unsigned char serial[16], *der = NULL;
	const unsigned char *kid;
	char ari_a[64], ari_b[32];
	size_t der_len = 0, kid_len = 0, i;
	enum store_err e = STORE_ERR;

	memset(&ip, 0, sizeof(ip));
	if ((names = calloc(o->nident, sizeof(*names))) == NULL)
		return STORE_NOMEM;
	for (i = 0; i < o->nident; i++) {
		if (o->ident[i].type == STORE_IDENT_DNS) {
			names[i].dns = o->ident[i].value;
		} else {
			names[i].is_ip = 1;
			names[i].ip_len = strchr(o->ident[i].value, ':') ? 16 : 4;
			inet_pton(names[i].ip_len == 16 ? AF_INET6 : AF_INET, o->ident[i].value, names[i].ip);
		}
	}
	if (ca_new_serial(serial) != ACME_OK)
		goto out;
	ip.pubkey = f->csr->pkey;
	ip.spki = X509_REQ_get_X509_PUBKEY(f->csr->req);
	ip.nname = o->nident;
	ip.name = names;
	ip.not_before = o->not_before ? o->not_before : rq->now - BACKDATE;
	ip.not_after = o->not_after ? o->not_after : rq->now + prof->lifetime;
	ip.key_usage = ((prof->key_usage & PROFILE_KU_DIGITAL_SIGNATURE) ? CA_KU_DIGITAL_SIGNATURE : 0) |
	    ((prof->key_usage & PROFILE_KU_KEY_ENCIPHERMENT) ? CA_KU_KEY_ENCIPHERMENT : 0);
	ip.ext_key_usage = ((prof->ext_key_usage & PROFILE_EKU_SERVER_AUTH) ? CA_EKU_SERVER_AUTH : 0) |
	    ((prof->ext_key_usage & PROFILE_EKU_CLIENT_AUTH) ? CA_EKU_CLIENT_AUTH : 0);
	ip.crl_url = c->crl_url;
	ip.aia_issuer_url = c->aia_url;
	ip.serial = serial;
	ip.serial_len = sizeof(serial);
	if (ca_issue(rq->dir->ca, &ip, &der, &der_len) != ACME_OK)
		goto out;

	store_cert_free(cert);
	for (i = 0; i < sizeof(serial); i++)
		snprintf(cert->serial + 2 * i, 3, "%02x", serial[i]);
	memcpy(cert->acct, o->acct, sizeof(cert->acct));
	memcpy(cert->order, o->id, sizeof(cert->order));
	snprintf(cert->dir, sizeof(cert->dir), "%s", c->name);
	cert->issued = rq->now;
	cert->not_before = ip.not_before;
	cert->not_after = ip.not_after;
	cert->der = der;
	cert->der_len = der_len;
	der = NULL;
	if ((cert->chain = strdup(ca_chain_pem(rq->dir->ca))) == NULL) {
		e = STORE_NOMEM;
		goto out;
	}
	kid = ca_key_id(rq->dir->ca, &kid_len);
	if (kid_len > 40)
		goto out;
	b64u_encode_buf(kid, kid_len, ari_a);
	b64u_encode_buf(serial, sizeof(serial), ari_b);
	snprintf(cert->ari, sizeof(cert->ari), "%s.%s", ari_a, ari_b);
	cert->reason = -1;
	if (o->profile != NULL && (cert->profile = strdup(o->profile)) == NULL) {
		e = STORE_NOMEM;
		goto out;
	}
	if ((e = store_cert_put(t, cert, STORE_PUT_CREATE)) != STORE_OK)
		goto out;
	o->status = STORE_ST_VALID;
	snprintf(o->cert, sizeof(o->cert), "%s", cert->serial);
	e = store_order_put(t, o, 0);
out:
	free(der);
	free(names);
	return e;
}

/* Log and audit one issuance (after the commit). */
static void
audit_issue(struct acme_rq *rq, const struct finalize *f)
{
	log_info("certificate %s issued for order %s of account %s", f->cert.serial, f->order.id,
	    f->order.acct);
	acme_audit("cert.issue", f->cert.dir, "sssjsiii", "serial", f->cert.serial, "order",
	    f->order.id, "account", f->order.acct, "identifiers",
	    acme_audit_idents(f->order.ident, f->order.nident), "profile", f->cert.profile,
	    "not_before", f->cert.not_before, "not_after", f->cert.not_after, "lifetime",
	    f->cert.not_after - f->cert.not_before);
	(void)rq;
}

enum caa_state { CAA_FRESH, CAA_STALE, CAA_FAILED };

/*
 * Before signing, every DNS identifier's CAA check must be younger than
 * caa_max_age (RFC 8657 section 5.5, BR 3.2.2.8). Stale ones are queued for
 * the validator (which does all DNS); the order then waits in processing.
 * A failed re-check is returned in *err (the problem, JSON).
 */
static enum store_err
caa_gate(struct store_txn *t, const struct acme_dir_config *dc, const struct store_order *o,
    int64_t now, int queue, enum caa_state *state, char **err)
{
	struct store_authz z;
	enum store_err e = STORE_OK;
	size_t i;

	*state = CAA_FRESH;
	*err = NULL;
	if (!acme_val_caa_enabled(dc))
		return STORE_OK;
	for (i = 0; i < o->nauthz && e == STORE_OK; i++) {
		memset(&z, 0, sizeof(z));
		if ((e = store_authz_get(t, o->authz[i], &z)) != STORE_OK)
			break;
		if (z.ident.type != STORE_IDENT_DNS) {
			store_authz_free(&z);
			continue;
		}
		if (z.caa_error != NULL) {
			*state = CAA_FAILED;
			*err = z.caa_error;
			z.caa_error = NULL;
			store_authz_free(&z);
			break;
		}
		if (z.caa_recheck || z.caa_checked < now - dc->caa_max_age) {
			*state = CAA_STALE;
			if (queue && !z.caa_recheck) {
				z.caa_recheck = 1;
				z.due = now;
				e = store_authz_put(t, &z, 0);
			}
		}
		store_authz_free(&z);
	}
	return e;
}

/* Certificates per registered domain: all checked first, then all taken, so
 * a refusal records nothing. */
static enum store_err
cert_limits(struct store_txn *t, struct finalize *f)
{
	const struct acme_dir_config *c = f->rq->dir->cfg;
	const struct store_order *o = &f->order;
	const char *reg[ACME_CSR_MAX_NAMES];
	size_t n = 0, i, j;
	enum store_err e;
	int limited = 0, peek;

	for (i = 0; i < o->nident && n < ACME_CSR_MAX_NAMES; i++) {
		if (o->ident[i].type != STORE_IDENT_DNS)
			continue;
		reg[n] = acme_psl_registered(o->ident[i].value + (strncmp(o->ident[i].value, "*.", 2) ?
		    0 : 2));
		for (j = 0; j < n && strcmp(reg[j], reg[n]) != 0; j++)
			;
		if (j == n)
			n++;
	}
	for (peek = 1; peek >= 0; peek--)
		for (i = 0; i < n; i++) {
			e = acme_rl_take(t, c, ACME_RL_CERTS_PER_DOMAIN, o->acct, reg[i], f->rq->now_ms,
			    peek, &limited, &f->retry_after);
			if (e != STORE_OK)
				return e;
			if (limited) {
				f->refused = PROB_RATE_LIMITED;
				snprintf(f->why, sizeof(f->why), "too many certificates for %s "
				    "(rate_certs_per_domain); retry after %lld s", reg[i],
				    (long long)f->retry_after);
				return STORE_OK;
			}
		}
	return STORE_OK;
}

static enum store_err
fail_order(struct store_txn *t, struct store_order *o, char *err)
{
	free(o->error);
	o->error = err;
	o->status = STORE_ST_INVALID;
	free(o->csr);
	o->csr = NULL;
	o->csr_len = 0;
	return store_order_put(t, o, 0);
}

/*
 * RA mode: the order waits in processing with its CSR while the validator
 * obtains the certificate upstream; the job is queued in this transaction,
 * so an order in processing always has its job (and only one: the job's key
 * is the order's id).
 */
static enum store_err
ra_enqueue(struct finalize *f, struct store_txn *t)
{
	struct store_order *o = &f->order;
	enum store_err e;

	if (o->csr == NULL) {
		if ((o->csr = malloc(f->csr_len)) == NULL)
			return STORE_NOMEM;
		memcpy(o->csr, f->csr_der, f->csr_len);
		o->csr_len = f->csr_len;
	}
	if (o->status != STORE_ST_PROCESSING) {
		o->status = STORE_ST_PROCESSING;
		o->retry_after = f->rq->now + 2;
		if ((e = store_order_put(t, o, 0)) != STORE_OK)
			return e;
	}
	return acme_job_enqueue(t, STORE_JOB_UPSTREAM_ORDER, o->dir, o->id, f->rq->now, 0,
	    &f->waiting);
}

static enum store_err
finalize_txn(struct store_txn *t, void *arg)
{
	struct finalize *f = arg;
	struct acme_rq *rq = f->rq;
	const struct acme_profile *prof;
	enum store_status st;
	enum caa_state caa;
	enum store_err e;
	char *err = NULL;

	f->refused = PROB_NONE;
	f->waiting = 0;
	store_order_free(&f->order);
	if ((e = store_order_get(t, f->id, &f->order)) != STORE_OK)
		return e;
	if (strcmp(f->order.acct, rq->acct.id) != 0 || strcmp(f->order.dir, rq->dir->cfg->name) != 0) {
		f->refused = PROB_UNAUTHORIZED;
		snprintf(f->why, sizeof(f->why), "this order belongs to another account");
		return STORE_OK;
	}
	st = acme_order_status(t, &f->order, rq->now, &err);
	free(err);
	if (st != STORE_ST_READY) {
		f->refused = PROB_ORDER_NOT_READY;
		snprintf(f->why, sizeof(f->why), "the order is %s, not ready", store_status_name(st));
		return STORE_OK;
	}
	if (names_match(&f->order, f->csr, f->why, sizeof(f->why)) < 0) {
		f->refused = PROB_BAD_CSR;
		return STORE_OK;
	}
	/* PRF-06: the profile may have been withdrawn since the order was made. */
	if ((prof = acme_config_profile(rq->dir->cfg, f->order.profile)) == NULL) {
		f->refused = PROB_INVALID_PROFILE;
		snprintf(f->why, sizeof(f->why), "this directory no longer issues under profile %s",
		    f->order.profile);
		return STORE_OK;
	}
	if ((e = cert_limits(t, f)) != STORE_OK || f->refused != PROB_NONE)
		return e;
	if ((e = caa_gate(t, rq->dir->cfg, &f->order, rq->now, 1, &caa, &err)) != STORE_OK)
		return e;
	if (caa == CAA_FAILED)
		return fail_order(t, &f->order, err);
	if (caa == CAA_STALE) {
		/* Wait for the validator; acme_order_advance() finishes the job. */
		if ((f->order.csr = malloc(f->csr_len)) == NULL)
			return STORE_NOMEM;
		memcpy(f->order.csr, f->csr_der, f->csr_len);
		f->order.csr_len = f->csr_len;
		f->order.status = STORE_ST_PROCESSING;
		f->order.retry_after = rq->now + 1;
		f->waiting = 1;
		return store_order_put(t, &f->order, 0);
	}
	if (rq->dir->cfg->ra)
		return ra_enqueue(f, t);
	return issue(f, t, prof);
}

/*
 * An order waiting in processing (CA mode: for CAA re-checks) is moved on
 * when it is read: issued once every check is fresh, invalid when one
 * failed, left alone otherwise.
 */
static enum store_err
advance_txn(struct store_txn *t, void *arg)
{
	struct finalize *f = arg;
	struct acme_rq *rq = f->rq;
	const struct acme_profile *prof;
	enum caa_state caa;
	enum store_err e;
	char *err = NULL;

	f->refused = PROB_NONE;
	f->waiting = 0;
	store_order_free(&f->order);
	if ((e = store_order_get(t, f->id, &f->order)) != STORE_OK)
		return e;
	if (f->order.status != STORE_ST_PROCESSING || f->order.csr == NULL)
		return STORE_OK;
	if ((e = caa_gate(t, rq->dir->cfg, &f->order, rq->now, 0, &caa, &err)) != STORE_OK)
		return e;
	if (caa == CAA_FAILED)
		return fail_order(t, &f->order, err);
	if (caa == CAA_STALE)
		return STORE_OK;
	if ((prof = acme_config_profile(rq->dir->cfg, f->order.profile)) == NULL) {
		struct acme_problem p;
		memset(&p, 0, sizeof(p));
		acme_problem_set(&p, PROB_INVALID_PROFILE, "this directory no longer issues under "
		    "profile %s", f->order.profile);
		err = acme_problem_json(&p);
		acme_problem_clear(&p);
		return fail_order(t, &f->order, err);
	}
	if (rq->dir->cfg->ra)
		return ra_enqueue(f, t);   /* queued at finalize, unless CAA held it back */
	free(f->order.csr);
	f->order.csr = NULL;
	f->order.csr_len = 0;
	return issue(f, t, prof);
}

int
acme_order_advance(struct acme_rq *rq, const char *id, const unsigned char *csr_der,
    size_t csr_len)
{
	struct finalize f;
	struct acme_csr csr;
	struct acme_problem p;
	enum store_err e;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	memset(&csr, 0, sizeof(csr));
	memset(&p, 0, sizeof(p));
	/* The CSR passed every check at finalize; it is parsed again for its key. */
	if (csr_parse(csr_der, csr_len, &rq->dir->cfg->cert_keys, &csr, &p) < 0) {
		log_err("order %s: its stored CSR no longer parses: %s", id, p.detail);
		goto out;
	}
	f.rq = rq;
	f.id = id;
	f.csr = &csr;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RW, advance_txn, &f);
	if (e != STORE_OK) {
		rq_store_error(rq, e);
		goto out;
	}
	if (f.cert.serial[0] != '\0')
		audit_issue(rq, &f);
	if (f.waiting)
		acme_wake_validator(rq->ctx);
	rc = 0;
out:
	acme_problem_clear(&p);
	csr_clear(&csr);
	store_cert_free(&f.cert);
	store_order_free(&f.order);
	return rc;
}

struct thumb_known {
	const char *thumb;
	const char *spki;            /* the key's name in the blocked-key table */
	int found;
	int blocked;
};

static enum store_err
thumb_known_txn(struct store_txn *t, void *arg)
{
	struct thumb_known *tk = arg;
	enum store_err e;

	tk->found = 0;
	if ((e = acme_key_blocked(t, tk->spki, &tk->blocked)) != STORE_OK || tk->blocked)
		return e;
	return store_thumb_known(t, tk->thumb, &tk->found);
}

/* Decode and check the CSR, and refuse a key that belongs to an account or
 * was reported compromised. */
static int
read_csr(struct acme_rq *rq, struct acme_csr *csr, unsigned char **der_out, size_t *len_out)
{
	const char *text = acme_json_str(rq->jws.payload_json, "csr");
	unsigned char *der = NULL;
	size_t len = 0;
	char thumb[44], spki[STORE_THUMB_LEN + 1];
	struct thumb_known tk;
	int rc = -1;
	enum store_err e;

	if (text == NULL)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "finalize needs a csr string");
	if (strlen(text) > B64U_ENCLEN(CSR_MAX))
		return acme_problem_set(&rq->prob, PROB_BAD_CSR, "the CSR is larger than %d bytes", CSR_MAX);
	if (b64u_decode(text, strlen(text), &der, &len) != ACME_OK)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "csr is not unpadded base64url of a DER CSR");
	if (csr_parse(der, len, &rq->dir->cfg->cert_keys, csr, &rq->prob) < 0)
		goto out;
	if (jwk_thumbprint_pkey(csr->pkey, thumb) != ACME_OK) {
		acme_problem_set(&rq->prob, PROB_BAD_CSR, "the CSR's key type is not supported");
		goto out;
	}
	if (acme_spki_hash(csr->pkey, spki) != ACME_OK) {
		acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "cannot read the CSR's public key");
		goto out;
	}
	tk.thumb = thumb;
	tk.spki = spki;
	tk.found = 0;
	tk.blocked = 0;
	if ((e = store_txn_run(rq->ctx->store, STORE_TXN_RO, thumb_known_txn, &tk)) != STORE_OK) {
		rq_store_error(rq, e);
		goto out;
	}
	if (tk.blocked) {
		acme_problem_set(&rq->prob, PROB_BAD_CSR,
		    "the CSR's public key was reported compromised; use a new key");
		goto out;
	}
	if (tk.found) {
		acme_problem_set(&rq->prob, PROB_BAD_CSR,
		    "the CSR's public key is an ACME account key; use a separate key for the certificate");
		goto out;
	}
	*der_out = der;
	*len_out = len;
	der = NULL;
	rc = 0;
out:
	free(der);
	return rc;
}

int
acme_h_finalize(struct acme_rq *rq, const char *id)
{
	struct finalize f;
	struct acme_csr csr;
	unsigned char *der = NULL;
	size_t der_len = 0;
	enum store_err e;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	memset(&csr, 0, sizeof(csr));
	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	if (rq->jws.payload_json == NULL)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "finalize needs a JSON object payload");
	if (read_csr(rq, &csr, &der, &der_len) < 0)
		goto out;
	f.rq = rq;
	f.id = id;
	f.csr = &csr;
	f.csr_der = der;
	f.csr_len = der_len;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RW, finalize_txn, &f);
	if (e == STORE_NOTFOUND) {
		rc = acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such order");
		goto out;
	}
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	if (f.refused == PROB_RATE_LIMITED) {
		rc = acme_rate_limited(rq, f.retry_after, "%s", f.why);
		goto out;
	}
	if (f.refused != PROB_NONE) {
		rc = acme_problem_set(&rq->prob, f.refused, "%s", f.why);
		goto out;
	}
	if (f.waiting)
		acme_wake_validator(rq->ctx);
	else if (f.cert.serial[0] != '\0')
		audit_issue(rq, &f);
	rc = acme_reply_order(rq, id);
out:
	free(der);
	csr_clear(&csr);
	store_cert_free(&f.cert);
	store_order_free(&f.order);
	return rc;
}
