/* Orders: newOrder, the order resource, an account's orders list
 * (RFC 8555 sections 7.1.2.1, 7.1.3, 7.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "core/b64.h"
#include "core/ipaddr.h"
#include "core/audit.h"
#include "core/internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/psl.h"
#include "core/ratelimit.h"

struct order_req {
	struct acme_rq *rq;
	const struct acme_profile *profile;
	size_t nident;
	struct acme_ident *ident;
	int64_t not_before, not_after;
	const char *replaces;         /* ARI id of the certificate this order replaces */
	struct store_order order;     /* built by the transaction */
	size_t nready;                /* authorizations already valid (reused) */
	enum acme_prob refused;       /* set by the transaction when it refuses */
	int refused_status;
	int64_t retry_after;          /* with rateLimited */
	int renewal_due;              /* replaces a certificate inside its ARI window */
	char why[400];
};

static enum acme_addr_class
ident_class(const struct acme_ident *id)
{
	struct acme_ip ip;

	memset(&ip, 0, sizeof(ip));
	ip.family = id->ip_len == 4 ? AF_INET : AF_INET6;
	memcpy(ip.b, id->ip, (size_t)id->ip_len);
	return acme_ip_class(&ip);
}

static int
ip_public(const struct acme_ident *id)
{
	return ident_class(id) == ACME_ADDR_PUBLIC;
}

static const char *
ip_class_name(const struct acme_ident *id)
{
	return acme_addr_class_name(ident_class(id));
}

/* Parse and normalise the identifiers; several bad ones give one problem
 * with a subproblem each (RFC 8555 section 6.7.1). */
static int
parse_identifiers(struct order_req *or, struct json_object *arr)
{
	struct acme_rq *rq = or->rq;
	const struct acme_dir_config *c = rq->dir->cfg;
	struct acme_ident id;
	enum acme_prob pt, first = PROB_NONE;
	char why[320];
	size_t n, i, j, bad = 0;

	if (arr == NULL || !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "identifiers must be a non-empty array");
	if (n > c->max_identifiers)
		return acme_problem_set(&rq->prob, PROB_REJECTED_IDENTIFIER,
		    "at most %zu identifiers per order", c->max_identifiers);
	if ((or->ident = calloc(n, sizeof(*or->ident))) == NULL)
		return acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		if (acme_ident_parse(o, &id, &pt, why, sizeof(why)) == 0) {
			if (id.type == STORE_IDENT_IP && !c->allow_ip) {
				pt = PROB_REJECTED_IDENTIFIER;
				snprintf(why, sizeof(why), "%s: this directory does not issue for IP addresses",
				    id.value);
			} else if (id.type == STORE_IDENT_IP && !c->allow_private && !ip_public(&id)) {
				pt = PROB_REJECTED_IDENTIFIER;
				snprintf(why, sizeof(why), "%s: a %s address; this directory issues only for "
				    "public addresses", id.value, ip_class_name(&id));
			} else if (acme_policy_check(c, &id, why, sizeof(why)) < 0) {
				pt = PROB_REJECTED_IDENTIFIER;
			} else if (id.wildcard && !c->allow_wildcard) {
				pt = PROB_REJECTED_IDENTIFIER;
				snprintf(why, sizeof(why), "%s: this directory does not issue wildcards",
				    id.value);
			} else {
				for (j = 0; j < or->nident; j++)
					if (or->ident[j].type == id.type && !strcmp(or->ident[j].value, id.value))
						break;
				if (j == or->nident)    /* duplicates are dropped (documented) */
					or->ident[or->nident++] = id;
				continue;
			}
		}
		if (first == PROB_NONE)
			first = pt;
		bad++;
		acme_problem_sub(&rq->prob, pt, acme_json_str(o, "type") ? acme_json_str(o, "type") : "dns",
		    acme_json_str(o, "value") ? acme_json_str(o, "value") : "", why);
		if (bad == 1)
			snprintf(rq->prob.detail, sizeof(rq->prob.detail), "%s", why);
	}
	if (bad == 0)
		return 0;
	rq->prob.type = first;
	if (bad > 1)
		snprintf(rq->prob.detail, sizeof(rq->prob.detail),
		    "%zu of the identifiers cannot be issued for; see subproblems", bad);
	return -1;
}

static int
parse_time_field(struct acme_rq *rq, const char *key, int64_t *out)
{
	struct json_object *v = acme_json_get(rq->jws.payload_json, key);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    acme_parse_rfc3339(json_object_get_string(v), out) < 0)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "%s is not an RFC 3339 timestamp", key);
	return 0;
}

/* The profile asked for, or the directory's default (draft-ietf-acme-profiles). */
static int
choose_profile(struct order_req *or)
{
	struct acme_rq *rq = or->rq;
	const struct acme_dir_config *c = rq->dir->cfg;
	struct json_object *v = acme_json_get(rq->jws.payload_json, "profile");
	size_t i;

	if (v == NULL) {
		or->profile = acme_config_profile(c, NULL);
	} else {
		if (!json_object_is_type(v, json_type_string))
			return acme_problem_set(&rq->prob, PROB_MALFORMED, "profile must be a string");
		if (c->nprofile == 0 ||
		    (or->profile = acme_config_profile(c, json_object_get_string(v))) == NULL)
			return acme_problem_set(&rq->prob, PROB_INVALID_PROFILE,
			    "this directory does not offer a profile named \"%.64s\"",
			    json_object_get_string(v));
	}
	for (i = 0; i < or->nident; i++)
		if (!(or->profile->identifiers & (1u << or->ident[i].type)))
			return acme_problem_set(&rq->prob, PROB_INVALID_PROFILE,
			    "profile %s does not allow %s identifiers", or->profile->name,
			    acme_ident_type_name(or->ident[i].type));
	return 0;
}

static int
check_validity(struct order_req *or)
{
	struct acme_rq *rq = or->rq;
	const struct acme_dir_config *c = rq->dir->cfg;
	int64_t nb, na;

	if (parse_time_field(rq, "notBefore", &or->not_before) < 0 ||
	    parse_time_field(rq, "notAfter", &or->not_after) < 0)
		return -1;
	/* An RA directory's certificates come from its upstream: a requested
	 * validity is forwarded only where the operator says the upstream
	 * honours it, else refused now rather than silently not kept. */
	if ((or->not_before || or->not_after) && c->ra && !c->upstream_forward_validity)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "this directory obtains its certificates from an upstream CA and does not "
		    "take notBefore or notAfter");
	nb = or->not_before ? or->not_before : rq->now;
	na = or->not_after ? or->not_after : nb + or->profile->lifetime;
	if (or->not_before && or->not_before < rq->now - 86400)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "notBefore is more than a day in the past");
	if (or->not_before && or->not_before > rq->now + c->order_lifetime + c->cert_lifetime_max)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "notBefore is too far in the future");
	if (na <= nb || na <= rq->now)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "notAfter must be after notBefore and in the future");
	if (na - nb > c->cert_lifetime_max)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "the requested validity is longer than this directory's maximum of %lld days",
		    (long long)(c->cert_lifetime_max / 86400));
	return 0;
}

/* A fresh challenge token: 32 random bytes, base64url. */
static enum store_err
new_token(char out[STORE_TOKEN_LEN + 1])
{
	unsigned char r[32];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return STORE_ERR;
	b64u_encode_buf(r, sizeof(r), out);
	return STORE_OK;
}

/* Challenges offered for an identifier (AZ-24, ORD-12, IP-07). */
static void
offer_challenges(const struct acme_dir_config *c, const struct acme_ident *id,
    struct store_authz *z)
{
	static const uint8_t order[] = { STORE_CH_HTTP01, STORE_CH_DNS01, STORE_CH_TLSALPN01 };
	size_t i;

	z->nchall = 0;
	for (i = 0; i < sizeof(order); i++) {
		uint8_t t = order[i];
		if (!(c->challenges & (1u << t)))
			continue;
		if (id->wildcard && t != STORE_CH_DNS01)
			continue;
		if (id->type == STORE_IDENT_IP && t == STORE_CH_DNS01)
			continue;
		z->chall[z->nchall].type = t;
		z->chall[z->nchall].status = STORE_ST_PENDING;
		z->nchall++;
	}
}

struct reuse_find {
	struct store_txn *t;
	int wildcard;
	int64_t min_expires;
	store_id found;
};

static int
reuse_cb(const char *id, void *arg)
{
	struct reuse_find *rf = arg;
	struct store_authz z;
	int stop = 0;

	memset(&z, 0, sizeof(z));
	if (store_authz_get(rf->t, id, &z) == STORE_OK && z.status == STORE_ST_VALID &&
	    z.wildcard == rf->wildcard && z.expires >= rf->min_expires && z.caa_error == NULL) {
		memcpy(rf->found, z.id, sizeof(rf->found));
		stop = 1;
	}
	store_authz_free(&z);
	return stop;
}

/*
 * The authorization for one identifier: a valid one of this account that
 * lasts at least until min_expires (ORD-24..26), else a new pending one.
 * *reused tells which.
 */
static enum store_err
authz_for(struct store_txn *t, struct acme_rq *rq, const struct acme_ident *id,
    int64_t min_expires, store_id out, int *reused)
{
	const struct acme_dir_config *c = rq->dir->cfg;
	struct store_authz z;
	struct reuse_find rf;
	struct store_ident sid;
	enum store_err e;
	size_t k;

	*reused = 0;
	sid.type = id->type;
	sid.value = (char *)(id->wildcard ? id->value + 2 : id->value);
	memset(&rf, 0, sizeof(rf));
	rf.t = t;
	rf.wildcard = id->wildcard;
	rf.min_expires = min_expires;
	if (c->authz_reuse > 0 &&
	    (e = store_authz_by_ident(t, rq->acct.id, &sid, 16, reuse_cb, &rf)) != STORE_OK)
		return e;
	if (rf.found[0] != '\0') {
		memcpy(out, rf.found, sizeof(store_id));
		*reused = 1;
		return STORE_OK;
	}
	memset(&z, 0, sizeof(z));
	if ((e = store_new_id(z.id)) != STORE_OK)
		return e;
	memcpy(z.acct, rq->acct.id, sizeof(z.acct));
	snprintf(z.dir, sizeof(z.dir), "%s", c->name);
	z.ident = sid;
	z.wildcard = (uint8_t)id->wildcard;
	z.status = STORE_ST_PENDING;
	z.created = rq->now;
	z.expires = rq->now + c->authz_lifetime;
	offer_challenges(c, id, &z);
	for (k = 0; k < z.nchall; k++)
		if ((e = new_token(z.chall[k].token)) != STORE_OK)
			return e;
	if ((e = store_authz_put(t, &z, STORE_PUT_CREATE)) != STORE_OK)
		return e;
	memcpy(out, z.id, sizeof(store_id));
	return STORE_OK;
}

/* RFC 9773 section 5: the replaced certificate is this account's, shares an
 * identifier, and is not already replaced by an order that is still alive. */
static enum store_err
check_replaces(struct store_txn *t, struct order_req *or)
{
	struct acme_rq *rq = or->rq;
	struct store_cert c;
	struct store_order prev, *o = &or->order;
	char serial[STORE_SERIAL_MAX + 1], *err = NULL;
	int64_t start, end;
	enum store_err e;
	size_t i, j;
	int shared = 0;

	memset(&c, 0, sizeof(c));
	memset(&prev, 0, sizeof(prev));
	e = store_cert_by_ari(t, or->replaces, serial);
	if (e == STORE_OK)
		e = store_cert_get(t, serial, &c);
	if (e == STORE_NOTFOUND || (e == STORE_OK && strcmp(c.dir, rq->dir->cfg->name) != 0)) {
		or->refused = PROB_MALFORMED;
		snprintf(or->why, sizeof(or->why), "replaces names no certificate of this directory");
		e = STORE_OK;
		goto out;
	}
	if (e != STORE_OK)
		goto out;
	if (strcmp(c.acct, rq->acct.id) != 0) {
		or->refused = PROB_UNAUTHORIZED;
		snprintf(or->why, sizeof(or->why), "the replaced certificate belongs to another account");
		goto out;
	}
	if ((e = store_order_get(t, c.order, &prev)) != STORE_OK)
		goto out;
	for (i = 0; i < o->nident && !shared; i++)
		for (j = 0; j < prev.nident; j++)
			if (o->ident[i].type == prev.ident[j].type &&
			    strcmp(o->ident[i].value, prev.ident[j].value) == 0)
				shared = 1;
	if (!shared) {
		or->refused = PROB_MALFORMED;
		snprintf(or->why, sizeof(or->why),
		    "the order shares no identifier with the certificate it replaces");
		goto out;
	}
	if (c.replaced_by[0] != '\0') {
		store_order_free(&prev);
		if ((e = store_order_get(t, c.replaced_by, &prev)) == STORE_OK &&
		    acme_order_status(t, &prev, rq->now, &err) != STORE_ST_INVALID) {
			or->refused = PROB_ALREADY_REPLACED;
			snprintf(or->why, sizeof(or->why), "order %s already replaces this certificate",
			    c.replaced_by);
			goto out;
		}
		if (e != STORE_OK && e != STORE_NOTFOUND)
			goto out;
	}
	acme_ari_window(&c, rq->now, &start, &end);
	or->renewal_due = start <= rq->now;
	memcpy(c.replaced_by, o->id, sizeof(c.replaced_by));
	e = store_cert_put(t, &c, 0);
out:
	free(err);
	store_cert_free(&c);
	store_order_free(&prev);
	return e;
}

/* Rate limits of a new order: orders per account (taken), failed validations
 * per name and certificates per registered domain (checked only; counted
 * when a validation fails and when a certificate is issued). */
static enum store_err
order_limits(struct store_txn *t, struct order_req *or)
{
	struct acme_rq *rq = or->rq;
	const struct acme_dir_config *c = rq->dir->cfg;
	char subject[STORE_ID_LEN + 2 + ACME_IDENT_MAX];
	const char *name;
	enum store_err e;
	int limited = 0;
	size_t i;

	/* RFC 9773 section 5 (RL-07): a renewal that arrives inside its ARI
	 * window is not held back by the order and certificate limits. */
	if (!or->renewal_due &&
	    ((e = acme_rl_take(t, c, ACME_RL_ORDERS_PER_ACCOUNT, rq->acct.id, rq->acct.id,
	    rq->now_ms, 0, &limited, &or->retry_after)) != STORE_OK || limited)) {
		if (limited)
			snprintf(or->why, sizeof(or->why), "too many new orders for this account "
			    "(rate_orders_per_account); retry after %lld s", (long long)or->retry_after);
		goto out;
	}
	for (i = 0; i < or->nident && !limited; i++) {
		name = or->ident[i].wildcard ? or->ident[i].value + 2 : or->ident[i].value;
		snprintf(subject, sizeof(subject), "%s/%s", rq->acct.id, name);
		if ((e = acme_rl_take(t, c, ACME_RL_FAILED_VALIDATIONS, rq->acct.id, subject,
		    rq->now_ms, 1, &limited, &or->retry_after)) != STORE_OK)
			goto out;
		if (limited) {
			snprintf(or->why, sizeof(or->why), "too many failed validations of %s for this "
			    "account (rate_failed_validations); retry after %lld s", name,
			    (long long)or->retry_after);
			break;
		}
		if (or->ident[i].type != STORE_IDENT_DNS || or->renewal_due)
			continue;
		if ((e = acme_rl_take(t, c, ACME_RL_CERTS_PER_DOMAIN, rq->acct.id,
		    acme_psl_registered(name), rq->now_ms, 1, &limited, &or->retry_after)) != STORE_OK)
			goto out;
		if (limited)
			snprintf(or->why, sizeof(or->why), "too many certificates for %s "
			    "(rate_certs_per_domain); retry after %lld s", acme_psl_registered(name),
			    (long long)or->retry_after);
	}
out:
	if (limited)
		or->refused = PROB_RATE_LIMITED;
	return e;
}

static enum store_err
new_order_txn(struct store_txn *t, void *arg)
{
	struct order_req *or = arg;
	struct store_order *o = &or->order;
	enum store_err e;
	size_t i;
	int reused;

	or->nready = 0;
	or->refused = PROB_NONE;
	o->nauthz = 0;
	or->renewal_due = 0;
	if (or->replaces != NULL) {
		if ((e = check_replaces(t, or)) != STORE_OK)
			return e;
		if (or->refused != PROB_NONE)
			return STORE_OK;
	}
	if ((e = order_limits(t, or)) != STORE_OK || or->refused != PROB_NONE)
		return e == STORE_OK ? ACME_TXN_REFUSED : e;
	for (i = 0; i < or->nident; i++) {
		if ((e = authz_for(t, or->rq, &or->ident[i], o->expires, o->authz[o->nauthz],
		    &reused)) != STORE_OK)
			return e;
		o->nauthz++;
		or->nready += (size_t)reused;
	}
	return store_order_put(t, o, STORE_PUT_CREATE);
}

int
acme_h_new_order(struct acme_rq *rq)
{
	const struct acme_dir_config *c = rq->dir->cfg;
	struct order_req or;
	struct store_order *o = &or.order;
	struct json_object *v;
	enum store_err e;
	size_t i;
	int rc = -1;

	memset(&or, 0, sizeof(or));
	or.rq = rq;
	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	if (rq->jws.payload_json == NULL)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "newOrder needs a JSON object payload");
	if (parse_identifiers(&or, acme_json_get(rq->jws.payload_json, "identifiers")) < 0 ||
	    choose_profile(&or) < 0 || check_validity(&or) < 0)
		goto out;
	if ((v = acme_json_get(rq->jws.payload_json, "replaces")) != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    !acme_ari_id_ok(json_object_get_string(v))) {
			rc = acme_problem_set(&rq->prob, PROB_MALFORMED, "replaces is not a renewalInfo id");
			goto out;
		}
		or.replaces = json_object_get_string(v);
	}

	if (store_new_id(o->id) != STORE_OK) {
		rc = acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "no randomness");
		goto out;
	}
	memcpy(o->acct, rq->acct.id, sizeof(o->acct));
	snprintf(o->dir, sizeof(o->dir), "%s", c->name);
	o->status = STORE_ST_PENDING;
	o->created = rq->now;
	o->expires = rq->now + c->order_lifetime;
	o->not_before = or.not_before;
	o->not_after = or.not_after;
	if (or.profile->name[0] != '\0' && (o->profile = strdup(or.profile->name)) == NULL) {
		rc = acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "out of memory");
		goto out;
	}
	o->nident = or.nident;
	if ((o->ident = calloc(or.nident, sizeof(*o->ident))) == NULL ||
	    (o->authz = calloc(or.nident, sizeof(*o->authz))) == NULL) {
		rc = acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < or.nident; i++) {
		o->ident[i].type = or.ident[i].type;
		o->ident[i].value = or.ident[i].value;     /* borrowed; unset before the free */
	}
	if (or.replaces != NULL && (o->replaces = strdup(or.replaces)) == NULL) {
		rc = acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "out of memory");
		goto out;
	}
	e = store_txn_run(rq->ctx->store, STORE_TXN_RW, new_order_txn, &or);
	if (e != STORE_OK && e != ACME_TXN_REFUSED) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	if (or.refused == PROB_RATE_LIMITED) {
		rc = acme_rate_limited(rq, or.retry_after, "%s", or.why);
		goto out;
	}
	if (or.refused != PROB_NONE) {
		rc = acme_problem_set(&rq->prob, or.refused, "%s", or.why);
		goto out;
	}
	log_info("order %s created by account %s (%zu identifiers)", o->id, o->acct, o->nident);
	acme_audit("order.create", c->name, "sssjs", "order", o->id, "account", o->acct, "profile",
	    o->profile, "identifiers", acme_audit_idents(o->ident, o->nident), "replaces", o->replaces);
	rq_location(rq, "%sorder/%s", rq->dir->url_prefix, o->id);
	rq_json(rq, 201, acme_view_order(rq->dir, o,
	    or.nready == o->nauthz ? STORE_ST_READY : STORE_ST_PENDING, NULL));
	rc = 0;
out:
	if (o->ident != NULL)
		for (i = 0; i < o->nident; i++)
			o->ident[i].value = NULL;
	store_order_free(o);
	free(or.ident);
	return rc;
}

struct get_order {
	const char *id;
	int64_t now;
	struct store_order o;
	enum store_status st;
	char *err;
};

static enum store_err
get_order_txn(struct store_txn *t, void *arg)
{
	struct get_order *g = arg;
	enum store_err e;

	store_order_free(&g->o);
	free(g->err);
	g->err = NULL;
	if ((e = store_order_get(t, g->id, &g->o)) != STORE_OK)
		return e;
	g->st = acme_order_status(t, &g->o, g->now, &g->err);
	return STORE_OK;
}

/* Reply with an order (status computed) as POST-as-GET and finalize do. */
int
acme_reply_order(struct acme_rq *rq, const char *id)
{
	struct get_order g;
	enum store_err e;
	int rc = -1;

	memset(&g, 0, sizeof(g));
	g.id = id;
	g.now = rq->now;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RO, get_order_txn, &g);
	if (e == STORE_NOTFOUND) {
		rc = acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such order");
		goto out;
	}
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	if (strcmp(g.o.acct, rq->acct.id) != 0 || strcmp(g.o.dir, rq->dir->cfg->name) != 0) {
		rc = acme_problem_set(&rq->prob, PROB_UNAUTHORIZED, "this order belongs to another account");
		goto out;
	}
	if (g.st == STORE_ST_PROCESSING && g.o.csr != NULL) {
		if (acme_order_advance(rq, id, g.o.csr, g.o.csr_len) < 0)
			goto out;
		e = store_txn_run(rq->ctx->store, STORE_TXN_RO, get_order_txn, &g);
		if (e != STORE_OK) {
			rc = rq_store_error(rq, e);
			goto out;
		}
	}
	rq_location(rq, "%sorder/%s", rq->dir->url_prefix, g.o.id);
	if (g.st == STORE_ST_PROCESSING)
		rq_retry_after(rq, g.o.retry_after > rq->now ? g.o.retry_after - rq->now : 1);
	rq_json(rq, 200, acme_view_order(rq->dir, &g.o, g.st, g.err ? g.err : g.o.error));
	rc = 0;
out:
	store_order_free(&g.o);
	free(g.err);
	return rc;
}

int
acme_h_order(struct acme_rq *rq, const char *id)
{
	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	if (rq->jws.payload_len != 0)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "an order is fetched with POST-as-GET (empty payload)");
	return acme_reply_order(rq, id);
}

struct list_orders {
	size_t page;
	const char *acct;
	const char *after;
	int64_t now;
	struct json_object *arr;
	struct acme_dir *dir;
	struct store_txn *t;
	size_t count;
	store_id last;
	int more;
};

static int
list_cb(const char *id, void *arg)
{
	struct list_orders *lo = arg;
	struct store_order o;
	enum store_status st;
	char *err = NULL, *u;

	if (lo->count == lo->page) {
		lo->more = 1;
		return 1;
	}
	memset(&o, 0, sizeof(o));
	if (store_order_get(lo->t, id, &o) == STORE_OK) {
		st = acme_order_status(lo->t, &o, lo->now, &err);
		/* Invalid orders are left out (RFC 8555 section 7.1.2.1). */
		if (st != STORE_ST_INVALID && (u = acme_url(lo->dir, "order", id)) != NULL) {
			json_object_array_add(lo->arr, json_object_new_string(u));
			free(u);
		}
	}
	free(err);
	store_order_free(&o);
	snprintf(lo->last, sizeof(lo->last), "%s", id);
	lo->count++;
	return 0;
}

static enum store_err
list_orders_txn(struct store_txn *t, void *arg)
{
	struct list_orders *lo = arg;

	json_object_put(lo->arr);
	lo->arr = json_object_new_array();
	lo->t = t;
	lo->count = 0;
	lo->more = 0;
	lo->last[0] = '\0';
	return store_orders_by_account(t, lo->acct, lo->after, lo->page + 1, list_cb, lo);
}

int
acme_h_orders(struct acme_rq *rq, const char *id)
{
	struct list_orders lo;
	struct json_object *body;
	const char *q = rq->req->query;
	char after[STORE_ID_LEN + 1] = "";
	enum store_err e;

	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	if (strcmp(rq->acct.id, id) != 0)
		return acme_problem_set(&rq->prob, PROB_UNAUTHORIZED, "these are another account's orders");
	if (rq->jws.payload_len != 0)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "the orders list is fetched with POST-as-GET (empty payload)");
	if (q != NULL && *q != '\0') {
		if (strncmp(q, "cursor=", 7) != 0 || !acme_id_ok(q + 7, STORE_ID_LEN))
			return acme_problem_set(&rq->prob, PROB_MALFORMED, "bad cursor");
		snprintf(after, sizeof(after), "%s", q + 7);
	}
	memset(&lo, 0, sizeof(lo));
	lo.page = (size_t)rq->ctx->cfg->orders_per_page;
	lo.acct = id;
	lo.after = after;
	lo.now = rq->now;
	lo.dir = rq->dir;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RO, list_orders_txn, &lo);
	if (e != STORE_OK) {
		json_object_put(lo.arr);
		/* The cursor names no order of this account (the store's answer
		 * for an unknown "after"): the client's error, not ours. */
		if (e == STORE_NOTFOUND)
			return acme_problem_set(&rq->prob, PROB_MALFORMED, "bad cursor");
		return rq_store_error(rq, e);
	}
	if (lo.more)
		acme_resp_header(rq->resp, "Link", "<%sorders/%s?cursor=%s>;rel=\"next\"",
		    rq->dir->url_prefix, id, lo.last);
	body = json_object_new_object();
	json_object_object_add(body, "orders", lo.arr);
	rq_json(rq, 200, body);
	return 0;
}

struct new_authz {
	struct acme_rq *rq;
	const struct acme_ident *id;
	store_id authz;
	int reused;
	struct store_authz z;
};

static enum store_err
new_authz_txn(struct store_txn *t, void *arg)
{
	struct new_authz *na = arg;
	enum store_err e;

	store_authz_free(&na->z);
	if ((e = authz_for(t, na->rq, na->id, na->rq->now, na->authz, &na->reused)) != STORE_OK)
		return e;
	return store_authz_get(t, na->authz, &na->z);
}

/* Pre-authorization (RFC 8555 section 7.4.1). */
int
acme_h_new_authz(struct acme_rq *rq)
{
	const struct acme_dir_config *c = rq->dir->cfg;
	struct acme_ident id;
	struct new_authz na;
	enum acme_prob pt;
	enum store_err e;
	char why[320];
	int rc = -1;

	memset(&na, 0, sizeof(na));
	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	if (rq->jws.payload_json == NULL)
		return acme_problem_set(&rq->prob, PROB_MALFORMED, "newAuthz needs a JSON object payload");
	if (acme_ident_parse(acme_json_get(rq->jws.payload_json, "identifier"), &id, &pt, why,
	    sizeof(why)) < 0)
		return acme_problem_set(&rq->prob, pt == PROB_REJECTED_IDENTIFIER ? PROB_MALFORMED : pt,
		    "%s", why);
	if (id.wildcard)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "wildcard identifiers cannot be pre-authorized; use newOrder");
	if (id.type == STORE_IDENT_IP && (!c->allow_ip || (!c->allow_private && !ip_public(&id))))
		return acme_problem_status(&rq->prob, PROB_REJECTED_IDENTIFIER, 403,
		    "this directory does not issue for %s", id.value);
	if (acme_policy_check(c, &id, why, sizeof(why)) < 0)
		return acme_problem_status(&rq->prob, PROB_REJECTED_IDENTIFIER, 403, "%s", why);
	na.rq = rq;
	na.id = &id;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RW, new_authz_txn, &na);
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	rq_location(rq, "%sauthz/%s", rq->dir->url_prefix, na.z.id);
	rq_json(rq, na.reused ? 200 : 201, acme_view_authz(rq->dir, &na.z, rq->now));
	rc = 0;
out:
	store_authz_free(&na.z);
	return rc;
}
