/*
 * RA mode: the daemon's ACME client of the upstream CAs (RFC 8555), one
 * run per leased job, all on the daemon's loop.
 *
 * A run works out its next request from what it knows, so every response
 * handler just records what it learnt and calls run_next(): the directory,
 * then the account key (from the store, sealed; created and stored before
 * newAccount, so a retried newAccount finds the same account), the account
 * URL (newAccount with External Account Binding), then the job's own steps.
 * For an order: newOrder, whose URL is written to the job before anything
 * else; then the order is read back, and only an order the upstream says is
 * "ready" is finalized, so a run that resumes after a crash never finalizes
 * twice, and never another order: one client order, one upstream
 * certificate. Authorizations already valid are skipped; the others are
 * answered with dns-01 through the DNS updater, one at a time.
 *
 * Failures: no answer, 5xx and rateLimited are retried by the job's backoff
 * (the upstream's Retry-After first); badNonce is retried at once with a
 * fresh nonce; any other problem ends the job, and an order's client sees
 * the upstream's problem as a subproblem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/audit.h"
#include "core/b64.h"
#include "core/jobs.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/log.h"
#include "core/upstream_key.h"
#include "core/validation.h"
#include "validators/upstream.h"

#define UPS_MAX_INFLIGHT 32
#define UPS_DIR_TTL_MS   (3600 * 1000)   /* the upstream's directory is fetched again after */
#define UPS_POLL_MS      1000            /* polling without a Retry-After */
#define UPS_POLL_MAX_MS  10000
#define UPS_NONCE_TRIES  3
#define UPS_LOOK_MS      1000            /* the queue is looked at this often */
#define ARI_DEFAULT_RECHECK (6 * 3600)
#define TLS_CHECK_MS     (3600 * 1000)   /* the server's own certificate is looked at this often */
#define TLS_MIN_GAP      1800            /* a renewal that ended is not asked for again sooner */
#define TLS_KEY_LABEL    "self-tls/server-key"   /* what the sealed key in progress is bound to */

/* What the daemon keeps of an RA directory across runs. */
struct ups_dir {
	char name[STORE_NAME_MAX + 1];
	char *url;                     /* the directory URL the rest was learnt from */
	char *new_nonce, *new_account, *new_order, *revoke, *renewal_info;
	int64_t fetched;               /* monotonic ms, 0 = not yet */
	struct ups_key key;            /* .pkey NULL until loaded */
	char *account_url;
	char nonce[128];               /* one spare nonce, "" = none */
	struct json_object *profiles;  /* the directory's meta.profiles, or NULL */
	struct ups_dir *next;
};

struct val_upstream {
	struct val_loop *loop;
	struct val_curlm *curlm;
	struct store *store;
	const struct acme_config *cfg;
	struct ups_dir *dirs;
	struct ups_run *runs;
	size_t nruns;
	int draining;
	int64_t next_due;              /* UTC s of the earliest queued job, 0 = none known */
	int64_t next_look;             /* monotonic ms */
	int tls_check_now;             /* look at the server's own certificate at the next tick */
	int64_t tls_next_check;        /* monotonic ms */
};

struct ups_run;
typedef void (*ups_on_fn)(struct ups_run *r, const struct ups_resp *resp);

/* One job in flight. */
struct ups_run {
	struct val_upstream *u;
	struct acme_job_item it;
	struct ups_dir *ud;
	/* settings, copied at the start (a reload may free the configuration) */
	char *dir_url, *ca_file, *contact, *eab_kid, *pass_file, *key_type;
	unsigned char eab_key[128];
	size_t eab_key_len;
	long timeout_ms;
	int64_t dns_wait_ms;
	struct ups_dns_conf dns;
	/* self-service TLS (STORE_JOB_TLS_RENEW): copies of the tls_* settings */
	char **tls_names;
	size_t ntls;
	char *tls_cert_file, *tls_key_file, *tls_key_type, *tls_reload;
	EVP_PKEY *tls_key;             /* the certificate's new key, made by this daemon */
	struct ups_exec *execop;       /* the reload command */
	/* progress, persisted with the job */
	char *order_url, *finalize_url, *cert_url;
	char *tls_sealed;              /* TLS: the new key, sealed (base64url) */
	/* what this run learnt */
	struct json_object *order;     /* the upstream order as last read */
	size_t authz_i;                /* the authorization being worked on */
	char *chall_url;
	char fqdn[300];
	char txt[48];
	int dns_present;               /* our TXT record is in: remove it before leaving */
	int chall_posted;
	int64_t poll_ms;
	/* the request in flight and how to redo it */
	struct ups_req *req;
	struct ups_dns *dnsop;
	struct val_timer timer;
	const char *q_method;
	char *q_url, *q_payload;       /* POST: payload signed at send time */
	int q_jwk;                     /* sign with the jwk (newAccount) */
	const char *q_accept;
	ups_on_fn q_on;
	ups_on_fn q_after;             /* the request's handler while a nonce is fetched */
	int q_nonce_tries;
	/* the end, kept while the DNS record is removed */
	struct acme_job_result res;
	char *res_problem;
	unsigned char *res_der;
	size_t res_der_len;
	char *res_chain;
	int ending;
	struct ups_run *prev, *next;
};

static void run_next(struct ups_run *r);
static void run_end(struct ups_run *r, enum acme_job_outcome o, const char *problem);

/* ------------------------------------------------------------------ */
/* Small helpers. */

static char *
dupstr(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = dupstr(s);
}

static struct json_object *
parse_body(const struct ups_resp *resp)
{
	struct json_object *o = NULL;
	const char *why;

	if (resp->body == NULL || resp->len == 0 ||
	    acme_json_parse(resp->body, resp->len, &o, &why) != ACME_OK)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The upstream problem's type name ("badNonce"), or "". */
static const char *
problem_name(const struct ups_resp *resp, char *buf, size_t cap)
{
	struct json_object *o = parse_body(resp);
	const char *t = o ? acme_json_str(o, "type") : NULL;
	const char *p = "urn:ietf:params:acme:error:";

	buf[0] = '\0';
	if (t != NULL && strncmp(t, p, strlen(p)) == 0)
		snprintf(buf, cap, "%s", t + strlen(p));
	json_object_put(o);
	return buf;
}

static int64_t
now_utc(void)
{
	return (int64_t)time(NULL);
}

/* ------------------------------------------------------------------ */
/* Requests. */

static void send_req(struct ups_run *r);

static void
on_response(void *arg, const struct ups_resp *resp)
{
	struct ups_run *r = arg;
	char name[64];

	r->req = NULL;
	if (resp->nonce[0] != '\0')
		snprintf(r->ud->nonce, sizeof(r->ud->nonce), "%s", resp->nonce);
	if (resp->status == 0) {
		char p[600];
		char *prob;
		snprintf(p, sizeof(p), "the upstream CA could not be reached (%.200s): %.300s",
		    r->q_url, resp->err);
		log_warn("job %s: %s", r->it.id, p);
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL, p, NULL);
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
		return;
	}
	if (resp->status == 400 && r->q_payload != NULL &&
	    strcmp(problem_name(resp, name, sizeof(name)), "badNonce") == 0 &&
	    ++r->q_nonce_tries < UPS_NONCE_TRIES) {
		send_req(r);
		return;
	}
	r->q_on(r, resp);
}

static void
on_nonce(struct ups_run *r, const struct ups_resp *resp)
{
	char *prob;

	r->q_on = r->q_after;
	if (resp->nonce[0] == '\0') {
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL,
		    "the upstream CA's newNonce gave no nonce", NULL);
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
		return;
	}
	send_req(r);
}

/* Send the current request; a POST takes the spare nonce, or fetches one. */
static void
send_req(struct ups_run *r)
{
	struct ups_http_opts o;
	struct ups_dir *ud = r->ud;
	char *jws = NULL, nonce[128];
	enum acme_err rc;

	o.ca_file = r->ca_file;
	o.timeout_ms = r->timeout_ms;
	if (r->q_payload != NULL) {
		if (ud->nonce[0] == '\0') {
			/* Fetch a nonce, then come back here with the request's handler. */
			rc = ups_http_start(r->u->curlm, &o, "HEAD", ud->new_nonce, NULL, NULL,
			    on_response, r, &r->req);
			if (rc == ACME_OK) {
				r->q_after = r->q_on;
				r->q_on = on_nonce;
				return;
			}
			goto failed;
		}
		snprintf(nonce, sizeof(nonce), "%s", ud->nonce);
		ud->nonce[0] = '\0';
		if ((jws = ups_jws(&ud->key, r->q_jwk ? NULL : ud->account_url, nonce, r->q_url,
		    r->q_payload)) == NULL) {
			rc = ACME_ECRYPTO;
			goto failed;
		}
	}
	rc = ups_http_start(r->u->curlm, &o, r->q_payload ? "POST" : r->q_method, r->q_url, jws,
	    r->q_accept, on_response, r, &r->req);
	free(jws);
	if (rc == ACME_OK)
		return;
failed:
	{
		char *prob = acme_upstream_problem(PROB_SERVER_INTERNAL,
		    "the request to the upstream CA could not be started", NULL);
		log_err("job %s: %s: %s", r->it.id, r->q_url, acme_strerror(rc));
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
	}
}

/* A request: method GET/HEAD (payload NULL) or POST (payload, "" = POST-as-GET). */
static void
request(struct ups_run *r, const char *method, const char *url, const char *payload, int jwk,
    const char *accept, ups_on_fn on)
{
	char *u = dupstr(url), *p = dupstr(payload);

	free(r->q_url);
	free(r->q_payload);
	r->q_url = u;
	r->q_payload = p;
	r->q_method = method;
	r->q_jwk = jwk;
	r->q_accept = accept;
	r->q_nonce_tries = 0;
	r->q_on = on;
	if (u == NULL || (payload != NULL && p == NULL)) {
		run_end(r, ACME_JOB_RETRY, NULL);
		return;
	}
	send_req(r);
}

/* ------------------------------------------------------------------ */
/* Problems. */

/*
 * The upstream refused: 5xx and rateLimited are retried (Retry-After first),
 * anything else ends the job. outer: the type our client sees (PROB_NONE:
 * the upstream's own type when it is an ACME one).
 */
static void
refused(struct ups_run *r, const struct ups_resp *resp, enum acme_prob outer, const char *what)
{
	struct json_object *o = parse_body(resp);
	const char *t = o ? acme_json_str(o, "type") : NULL;
	const char *d = o ? acme_json_str(o, "detail") : NULL;
	enum acme_prob pt = t ? acme_prob_from_urn(t) : PROB_NONE;
	char detail[700], *prob;
	int transient = resp->status >= 500 || resp->status == 429 || pt == PROB_RATE_LIMITED;

	if (outer == PROB_NONE)
		outer = pt != PROB_NONE ? pt : PROB_SERVER_INTERNAL;
	snprintf(detail, sizeof(detail), "the upstream CA (%.150s) refused %s: %.400s",
	    r->dir_url, what, d ? d : t ? t : "no problem document");
	log_info("job %s: %s (HTTP %ld)", r->it.id, detail, resp->status);
	prob = acme_upstream_problem(outer, detail, o ? resp->body : NULL);
	r->res.retry_after = resp->retry_after;
	run_end(r, transient ? ACME_JOB_RETRY : ACME_JOB_FAIL, prob);
	free(prob);
	json_object_put(o);
}

static int
ok_status(const struct ups_resp *resp)
{
	return resp->status >= 200 && resp->status < 300;
}

/* ------------------------------------------------------------------ */
/* Directory, key, account. */

static void
on_directory(struct ups_run *r, const struct ups_resp *resp)
{
	struct ups_dir *ud = r->ud;
	struct json_object *o, *m, *pr;
	char *prob;

	if (!ok_status(resp) || (o = parse_body(resp)) == NULL ||
	    acme_json_str(o, "newNonce") == NULL || acme_json_str(o, "newAccount") == NULL ||
	    acme_json_str(o, "newOrder") == NULL) {
		if (!ok_status(resp)) {
			refused(r, resp, PROB_SERVER_INTERNAL, "the directory request");
			return;
		}
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL,
		    "the upstream CA's directory is not an ACME directory", NULL);
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
		return;
	}
	set_str(&ud->new_nonce, acme_json_str(o, "newNonce"));
	set_str(&ud->new_account, acme_json_str(o, "newAccount"));
	set_str(&ud->new_order, acme_json_str(o, "newOrder"));
	set_str(&ud->revoke, acme_json_str(o, "revokeCert"));
	set_str(&ud->renewal_info, acme_json_str(o, "renewalInfo"));
	/* draft-ietf-acme-profiles: the profiles it offers, by name. */
	json_object_put(ud->profiles);
	ud->profiles = NULL;
	if ((m = acme_json_get(o, "meta")) != NULL && (pr = acme_json_get(m, "profiles")) != NULL &&
	    json_object_is_type(pr, json_type_object))
		ud->profiles = json_object_get(pr);
	json_object_put(o);
	ud->fetched = val_now_ms();
	run_next(r);
}

struct key_txn {
	const char *dir;
	struct store_upstream rec;
	int found;
	const struct store_upstream *put;   /* to write */
	unsigned put_flags;
	const char *account_url;            /* to set, if the thumbprint matches */
	const char *thumb;
};

static enum store_err
key_get_txn(struct store_txn *t, void *arg)
{
	struct key_txn *k = arg;
	enum store_err e;

	store_upstream_free(&k->rec);
	k->found = 0;
	e = store_upstream_get(t, k->dir, &k->rec);
	if (e == STORE_NOTFOUND)
		return STORE_OK;
	if (e == STORE_OK)
		k->found = 1;
	return e;
}

static enum store_err
key_put_txn(struct store_txn *t, void *arg)
{
	struct key_txn *k = arg;

	return store_upstream_put(t, k->put, k->put_flags);
}

static enum store_err
account_url_txn(struct store_txn *t, void *arg)
{
	struct key_txn *k = arg;
	enum store_err e;

	store_upstream_free(&k->rec);
	if ((e = store_upstream_get(t, k->dir, &k->rec)) != STORE_OK)
		return e;
	if (strcmp(k->rec.thumb, k->thumb) != 0)
		return STORE_OK;       /* replaced meanwhile */
	free(k->rec.account_url);
	if ((k->rec.account_url = strdup(k->account_url)) == NULL)
		return STORE_NOMEM;
	return store_upstream_put(t, &k->rec, 0);
}

/* The passphrase that seals this run's keys into pass (ACME_SECRET_MAX
 * bytes; the caller wipes it). 0, or -1 after ending the run. */
static int
read_pass(struct ups_run *r, char *pass, size_t *plen)
{
	char *prob;

	if (acme_secret_read(r->pass_file, "upstream passphrase", pass, ACME_SECRET_MAX, plen) ==
	    ACME_OK)
		return 0;
	prob = acme_upstream_problem(PROB_SERVER_INTERNAL, "this RA's upstream account "
	    "passphrase cannot be read (see the server's log)", NULL);
	run_end(r, ACME_JOB_FAIL, prob);
	free(prob);
	return -1;
}

/*
 * The account key: from the store (decrypted with the passphrase), or a new
 * one, stored sealed before it is ever used. 0, or -1 after ending the run.
 */
static int
load_key(struct ups_run *r)
{
	struct ups_dir *ud = r->ud;
	struct key_txn k;
	struct store_upstream rec;
	EVP_PKEY *pkey = NULL;
	char pass[ACME_SECRET_MAX], *prob = NULL;
	size_t plen = 0;
	enum acme_err rc;
	enum store_err e;
	int ret = -1;

	memset(&k, 0, sizeof(k));
	memset(&rec, 0, sizeof(rec));
	k.dir = ud->name;
	if (read_pass(r, pass, &plen) < 0)
		goto out;
	if ((e = store_txn_run(r->u->store, STORE_TXN_RO, key_get_txn, &k)) != STORE_OK) {
		run_end(r, ACME_JOB_RETRY, NULL);
		goto out;
	}
	if (k.found && strcmp(k.rec.directory_url, r->dir_url) == 0) {
		rc = acme_upstream_open(k.rec.key_sealed, k.rec.key_sealed_len, pass, plen, ud->name,
		    &pkey);
		if (rc != ACME_OK) {
			log_err("directory %s: the upstream account key cannot be decrypted (%s): "
			    "wrong upstream_passphrase_file?", ud->name, acme_strerror(rc));
			prob = acme_upstream_problem(PROB_SERVER_INTERNAL, "this RA cannot unlock its "
			    "upstream account key (see the server's log)", NULL);
			run_end(r, ACME_JOB_FAIL, prob);
			goto out;
		}
		if (ups_key_init(&ud->key, pkey) != ACME_OK) {
			run_end(r, ACME_JOB_FAIL, NULL);
			goto out;
		}
		set_str(&ud->account_url, k.rec.account_url);
		ret = 0;
		goto out;
	}
	/* A new account (or a new upstream URL): the key is stored first. */
	if (acme_upstream_keygen(r->key_type, &pkey) != ACME_OK)
		goto retry;
	snprintf(rec.dir, sizeof(rec.dir), "%s", ud->name);
	rec.directory_url = r->dir_url;
	rec.key_type = r->key_type;
	rec.created = now_utc();
	if (jwk_thumbprint_pkey(pkey, rec.thumb) != ACME_OK ||
	    acme_upstream_seal(pkey, pass, plen, ud->name, &rec.key_sealed, &rec.key_sealed_len) !=
	    ACME_OK)
		goto retry;
	k.put = &rec;
	k.put_flags = k.found ? 0 : STORE_PUT_CREATE;
	e = store_txn_run(r->u->store, STORE_TXN_RW, key_put_txn, &k);
	if (e != STORE_OK) {
		log_err("directory %s: storing the new upstream account key: %s", ud->name,
		    store_strerror(e));
		goto retry;
	}
	log_info("directory %s: new upstream account key (%s, thumbprint %s)", ud->name,
	    r->key_type, rec.thumb);
	if (ups_key_init(&ud->key, pkey) != ACME_OK) {
		pkey = NULL;
		run_end(r, ACME_JOB_FAIL, NULL);
		goto out;
	}
	pkey = NULL;
	free(ud->account_url);
	ud->account_url = NULL;
	ret = 0;
	goto out;
retry:
	run_end(r, ACME_JOB_RETRY, NULL);
out:
	EVP_PKEY_free(ret == 0 ? NULL : pkey);
	OPENSSL_cleanse(pass, sizeof(pass));
	free(rec.key_sealed);
	store_upstream_free(&k.rec);
	free(prob);
	return ret;
}

static void
on_account(struct ups_run *r, const struct ups_resp *resp)
{
	struct ups_dir *ud = r->ud;
	struct key_txn k;
	enum store_err e;

	if (!ok_status(resp) || resp->location == NULL) {
		refused(r, resp, PROB_SERVER_INTERNAL, "to create this RA's account (newAccount)");
		return;
	}
	memset(&k, 0, sizeof(k));
	k.dir = ud->name;
	k.thumb = ud->key.thumb;
	k.account_url = resp->location;
	e = store_txn_run(r->u->store, STORE_TXN_RW, account_url_txn, &k);
	store_upstream_free(&k.rec);
	if (e != STORE_OK) {
		run_end(r, ACME_JOB_RETRY, NULL);
		return;
	}
	set_str(&ud->account_url, resp->location);
	log_info("directory %s: upstream account %s", ud->name, resp->location);
	run_next(r);
}

static char *
account_payload(struct ups_run *r)
{
	struct json_object *o = json_object_new_object(), *arr, *eab;
	const char *why;
	char *eabtext = NULL, *out = NULL;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "termsOfServiceAgreed", json_object_new_boolean(1));
	if (r->contact != NULL) {
		arr = json_object_new_array();
		json_object_array_add(arr, json_object_new_string(r->contact));
		json_object_object_add(o, "contact", arr);
	}
	if (r->eab_kid != NULL) {
		if ((eabtext = ups_eab(&r->ud->key, r->eab_kid, r->eab_key, r->eab_key_len,
		    r->ud->new_account)) == NULL ||
		    acme_json_parse(eabtext, strlen(eabtext), &eab, &why) != ACME_OK)
			goto out;
		json_object_object_add(o, "externalAccountBinding", eab);
	}
	out = acme_json_dump(o);
out:
	free(eabtext);
	json_object_put(o);
	return out;
}

/* ------------------------------------------------------------------ */
/* Progress. */

/* Write the job's progress; 0, or -1 when the lease is lost (run dropped). */
static int
save_progress(struct ups_run *r, const char *step)
{
	struct json_object *o = json_object_new_object();
	char *text = NULL;
	enum acme_err rc;

	if (o == NULL)
		return -1;
	acme_json_add_str(o, "step", step);
	acme_json_add_str(o, "order", r->order_url);
	acme_json_add_str(o, "finalize", r->finalize_url);
	acme_json_add_str(o, "certificate", r->cert_url);
	acme_json_add_str(o, "key", r->tls_sealed);
	text = acme_json_dump(o);
	json_object_put(o);
	if (text == NULL)
		return -1;
	rc = acme_job_progress(r->u->store, r->u->cfg, &r->it, text, now_utc());
	free(text);
	if (rc == ACME_EBUSY) {
		r->res.outcome = 0;         /* nothing to record: the new holder goes on */
		run_end(r, 0, NULL);
		return -1;
	}
	return 0;                       /* a store error: the lease runs out, work goes on */
}

static void
load_progress(struct ups_run *r)
{
	struct json_object *o;
	const char *why;

	if (r->it.progress == NULL ||
	    acme_json_parse(r->it.progress, strlen(r->it.progress), &o, &why) != ACME_OK)
		return;
	set_str(&r->order_url, acme_json_str(o, "order"));
	set_str(&r->finalize_url, acme_json_str(o, "finalize"));
	set_str(&r->cert_url, acme_json_str(o, "certificate"));
	set_str(&r->tls_sealed, acme_json_str(o, "key"));
	json_object_put(o);
}

/* ------------------------------------------------------------------ */
/* The order. */

static void order_step(struct ups_run *r);

static void
poll_later(struct ups_run *r, const struct ups_resp *resp, void (*fn)(void *))
{
	int64_t ms = resp != NULL && resp->retry_after > 0 ? resp->retry_after * 1000 : r->poll_ms;

	if (ms > UPS_POLL_MAX_MS && (resp == NULL || resp->retry_after <= 0))
		ms = UPS_POLL_MAX_MS;
	r->poll_ms = r->poll_ms < UPS_POLL_MAX_MS ? r->poll_ms * 3 / 2 : UPS_POLL_MAX_MS;
	/* A long wait is the job's business: give the lease back and come back. */
	if (ms > 60000) {
		r->res.retry_after = (ms + 999) / 1000;
		run_end(r, ACME_JOB_RETRY, NULL);
		return;
	}
	if (acme_job_progress(r->u->store, r->u->cfg, &r->it, NULL, now_utc()) == ACME_EBUSY) {
		run_end(r, 0, NULL);
		return;
	}
	val_timer_arm(r->u->loop, &r->timer, ms, fn, r);
}

static void
refetch_order(void *arg)
{
	struct ups_run *r = arg;

	json_object_put(r->order);
	r->order = NULL;
	run_next(r);
}

static void
on_order(struct ups_run *r, const struct ups_resp *resp)
{
	struct json_object *o;

	if (!ok_status(resp) || (o = parse_body(resp)) == NULL) {
		refused(r, resp, PROB_NONE, "to show the order");
		return;
	}
	json_object_put(r->order);
	r->order = o;
	if (resp->retry_after > 0)
		r->poll_ms = resp->retry_after * 1000;
	order_step(r);
}

static void
on_new_order(struct ups_run *r, const struct ups_resp *resp)
{
	struct json_object *o;

	if (!ok_status(resp) || resp->location == NULL || (o = parse_body(resp)) == NULL) {
		refused(r, resp, PROB_NONE, "the order (newOrder)");
		return;
	}
	set_str(&r->order_url, resp->location);
	set_str(&r->finalize_url, acme_json_str(o, "finalize"));
	json_object_put(r->order);
	r->order = o;
	log_info("job %s: upstream order %s", r->it.id, r->order_url);
	/* Before anything else: a restart goes on with this order. */
	if (save_progress(r, "ordered") < 0)
		return;
	order_step(r);
}

char *
ups_new_order_payload(const struct store_order *o, struct json_object *profiles)
{
	struct json_object *p = json_object_new_object(), *arr, *id;
	char *out, ts[32];
	size_t i;

	if (p == NULL)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; i < o->nident; i++) {
		id = json_object_new_object();
		acme_json_add_str(id, "type", o->ident[i].type == STORE_IDENT_IP ? "ip" : "dns");
		acme_json_add_str(id, "value", o->ident[i].value);
		json_object_array_add(arr, id);
	}
	json_object_object_add(p, "identifiers", arr);
	/* A requested validity: the directory took it only with
	 * upstream_forward_validity, for an upstream that honours it. */
	if (o->not_before) {
		acme_rfc3339(o->not_before, ts);
		acme_json_add_str(p, "notBefore", ts);
	}
	if (o->not_after) {
		acme_rfc3339(o->not_after, ts);
		acme_json_add_str(p, "notAfter", ts);
	}
	/* The order's profile, where the upstream offers one of that name; an
	 * upstream without profiles refuses the member, and one with other
	 * profiles would refuse the name: then its default applies. */
	if (o->profile != NULL && profiles != NULL &&
	    json_object_is_type(profiles, json_type_object) &&
	    json_object_object_get_ex(profiles, o->profile, NULL))
		acme_json_add_str(p, "profile", o->profile);
	out = acme_json_dump(p);
	json_object_put(p);
	return out;
}

/* An authorization of the order: look at it, answer dns-01, wait. */
static void on_authz(struct ups_run *r, const struct ups_resp *resp);

static const char *
authz_url(struct ups_run *r, size_t i)
{
	struct json_object *a = acme_json_get(r->order, "authorizations");

	if (a == NULL || !json_object_is_type(a, json_type_array) ||
	    i >= json_object_array_length(a))
		return NULL;
	return json_object_get_string(json_object_array_get_idx(a, i));
}

static void
fetch_authz(void *arg)
{
	struct ups_run *r = arg;

	request(r, "POST", authz_url(r, r->authz_i), "", 0, NULL, on_authz);
}

static void
on_dns_cleaned(void *arg, const char *err)
{
	struct ups_run *r = arg;

	r->dnsop = NULL;
	if (err != NULL)
		log_warn("job %s: %s", r->it.id, err);
	r->dns_present = 0;
	r->chall_posted = 0;
	r->authz_i++;
	run_next(r);
}

static void
on_chall(struct ups_run *r, const struct ups_resp *resp)
{
	if (!ok_status(resp)) {
		refused(r, resp, PROB_NONE, "the dns-01 challenge response");
		return;
	}
	r->chall_posted = 1;
	r->poll_ms = UPS_POLL_MS;
	poll_later(r, resp, fetch_authz);
}

static void
post_chall(void *arg)
{
	struct ups_run *r = arg;

	request(r, "POST", r->chall_url, "{}", 0, NULL, on_chall);
}

static void
on_dns_present(void *arg, const char *err)
{
	struct ups_run *r = arg;
	char *prob;

	r->dnsop = NULL;
	if (err != NULL) {
		log_warn("job %s: %s", r->it.id, err);
		prob = acme_upstream_problem(PROB_DNS, err, NULL);
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
		return;
	}
	r->dns_present = 1;
	val_timer_arm(r->u->loop, &r->timer, r->dns_wait_ms, post_chall, r);
}

/* Answer the pending authorization o with dns-01. */
static void
answer_authz(struct ups_run *r, struct json_object *o)
{
	struct json_object *ch = acme_json_get(o, "challenges"), *c, *id;
	const char *token = NULL, *value;
	char keyauth[256], *prob;
	size_t i, n;

	n = ch != NULL && json_object_is_type(ch, json_type_array) ? json_object_array_length(ch) : 0;
	for (i = 0; i < n && token == NULL; i++) {
		c = json_object_array_get_idx(ch, i);
		if (acme_json_str(c, "type") != NULL && strcmp(acme_json_str(c, "type"), "dns-01") == 0 &&
		    acme_json_str(c, "token") != NULL && acme_json_str(c, "url") != NULL) {
			token = acme_json_str(c, "token");
			set_str(&r->chall_url, acme_json_str(c, "url"));
		}
	}
	id = acme_json_get(o, "identifier");
	value = id ? acme_json_str(id, "value") : NULL;
	if (token == NULL || value == NULL || strlen(token) > 128 || strlen(value) > 253) {
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL, "the upstream CA offers no "
		    "dns-01 challenge for an authorization of this order", NULL);
		run_end(r, ACME_JOB_FAIL, prob);
		free(prob);
		return;
	}
	if (r->dns.hook == NULL && r->dns.server == NULL) {
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL, "the upstream CA wants dns-01 "
		    "and this RA has no DNS updater (upstream_dns_hook or upstream_dns_update)", NULL);
		run_end(r, ACME_JOB_FAIL, prob);
		free(prob);
		return;
	}
	snprintf(keyauth, sizeof(keyauth), "%s.%s", token, r->ud->key.thumb);
	acme_val_dns01_digest(keyauth, r->txt);
	snprintf(r->fqdn, sizeof(r->fqdn), "_acme-challenge.%s", value);
	if (ups_dns_start(r->u->loop, &r->dns, 1, r->fqdn, r->txt, on_dns_present, r, &r->dnsop) !=
	    ACME_OK) {
		prob = acme_upstream_problem(PROB_DNS, "the DNS updater could not be started", NULL);
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
	}
}

static void
on_authz(struct ups_run *r, const struct ups_resp *resp)
{
	struct json_object *o;
	const char *st;
	char *prob;

	if (!ok_status(resp) || (o = parse_body(resp)) == NULL) {
		refused(r, resp, PROB_NONE, "to show an authorization");
		return;
	}
	st = acme_json_str(o, "status");
	st = st != NULL ? st : "";
	if (strcmp(st, "valid") == 0) {
		json_object_put(o);
		if (r->dns_present) {
			if (ups_dns_start(r->u->loop, &r->dns, 0, r->fqdn, r->txt, on_dns_cleaned, r,
			    &r->dnsop) != ACME_OK)
				on_dns_cleaned(r, "the DNS record could not be removed");
			return;
		}
		r->chall_posted = 0;
		r->authz_i++;
		run_next(r);
		return;
	}
	if (strcmp(st, "pending") == 0) {
		if (r->chall_posted)
			poll_later(r, resp, fetch_authz);
		else
			answer_authz(r, o);
		json_object_put(o);
		return;
	}
	{
		/* invalid (or deactivated, expired, revoked): the challenge's error says why. */
		struct json_object *ch = acme_json_get(o, "challenges"), *err = NULL;
		char *sub = NULL, d[300];
		size_t i, n = ch && json_object_is_type(ch, json_type_array) ?
		    json_object_array_length(ch) : 0;
		for (i = 0; i < n && err == NULL; i++)
			err = acme_json_get(json_object_array_get_idx(ch, i), "error");
		if (err != NULL)
			sub = acme_json_dump(err);
		snprintf(d, sizeof(d), "the upstream CA's authorization for this order is %s", st);
		prob = acme_upstream_problem(PROB_UNAUTHORIZED, d, sub);
		free(sub);
		json_object_put(o);
		run_end(r, ACME_JOB_FAIL, prob);
		free(prob);
	}
}

static void
on_finalized(struct ups_run *r, const struct ups_resp *resp)
{
	struct json_object *o;
	char name[64];

	if (!ok_status(resp)) {
		/* Someone (an earlier run) moved it on: read it again. */
		if (strcmp(problem_name(resp, name, sizeof(name)), "orderNotReady") == 0) {
			poll_later(r, resp, refetch_order);
			return;
		}
		refused(r, resp, PROB_NONE, "to issue the certificate (finalize)");
		return;
	}
	if ((o = parse_body(resp)) == NULL) {
		poll_later(r, resp, refetch_order);
		return;
	}
	json_object_put(r->order);
	r->order = o;
	r->poll_ms = resp->retry_after > 0 ? resp->retry_after * 1000 : UPS_POLL_MS;
	order_step(r);
}

static void tls_put_in_place(struct ups_run *r);

static void
on_cert(struct ups_run *r, const struct ups_resp *resp)
{
	BIO *b = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL;
	const char *end, *mark = "-----END CERTIFICATE-----";
	char *prob;
	int len;

	if (!ok_status(resp)) {
		refused(r, resp, PROB_NONE, "to hand out the certificate");
		return;
	}
	if ((b = BIO_new_mem_buf(resp->body, (int)resp->len)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL ||
	    (len = i2d_X509(x, &der)) <= 0 || (end = strstr(resp->body, mark)) == NULL) {
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL,
		    "the upstream CA's certificate download is not a PEM chain", NULL);
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
		goto out;
	}
	end += strlen(mark);
	while (*end == '\r' || *end == '\n')
		end++;
	if ((r->res_der = malloc((size_t)len)) == NULL || (r->res_chain = strdup(end)) == NULL) {
		run_end(r, ACME_JOB_RETRY, NULL);
		goto out;
	}
	memcpy(r->res_der, der, (size_t)len);
	r->res_der_len = (size_t)len;
	r->res.cert_der = r->res_der;
	r->res.cert_der_len = r->res_der_len;
	r->res.chain_pem = r->res_chain;
	if (r->it.kind == STORE_JOB_TLS_RENEW)
		tls_put_in_place(r);
	else
		run_end(r, ACME_JOB_DONE, NULL);
out:
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(b);
}

static void
order_step(struct ups_run *r)
{
	const char *st = acme_json_str(r->order, "status");
	struct json_object *err;
	char *csr = NULL, *payload = NULL, *sub = NULL, *prob;

	st = st != NULL ? st : "";
	if (acme_json_str(r->order, "finalize") != NULL && r->finalize_url == NULL)
		set_str(&r->finalize_url, acme_json_str(r->order, "finalize"));
	if (strcmp(st, "pending") == 0) {
		if (authz_url(r, r->authz_i) != NULL) {
			fetch_authz(r);
			return;
		}
		/* Every authorization is valid: the order follows shortly. */
		r->authz_i = 0;
		poll_later(r, NULL, refetch_order);
	} else if (strcmp(st, "ready") == 0) {
		/* Only an order the upstream just said is ready is finalized. */
		if (save_progress(r, "finalizing") < 0)
			return;
		if ((csr = b64u_encode(r->it.order.csr, r->it.order.csr_len)) == NULL ||
		    asprintf(&payload, "{\"csr\":\"%s\"}", csr) < 0) {
			payload = NULL;
			run_end(r, ACME_JOB_RETRY, NULL);
		} else {
			request(r, "POST", r->finalize_url, payload, 0, NULL, on_finalized);
		}
	} else if (strcmp(st, "processing") == 0) {
		poll_later(r, NULL, refetch_order);
	} else if (strcmp(st, "valid") == 0 && acme_json_str(r->order, "certificate") != NULL) {
		set_str(&r->cert_url, acme_json_str(r->order, "certificate"));
		if (save_progress(r, "valid") < 0)
			return;
		request(r, "POST", r->cert_url, "", 0, "application/pem-certificate-chain", on_cert);
	} else {
		if ((err = acme_json_get(r->order, "error")) != NULL)
			sub = acme_json_dump(err);
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL, "the upstream CA's order for this "
		    "order became invalid", sub);
		run_end(r, ACME_JOB_FAIL, prob);
		free(prob);
	}
	free(sub);
	free(csr);
	free(payload);
}

/* ------------------------------------------------------------------ */
/* Revocation and ARI. */

static void
on_revoked(struct ups_run *r, const struct ups_resp *resp)
{
	char name[64];

	if (ok_status(resp) ||
	    strcmp(problem_name(resp, name, sizeof(name)), "alreadyRevoked") == 0) {
		log_info("job %s: certificate %s revoked at the upstream CA", r->it.id, r->it.ref);
		run_end(r, ACME_JOB_DONE, NULL);
		return;
	}
	refused(r, resp, PROB_NONE, "the revocation");
}

static char *
revoke_payload(struct ups_run *r)
{
	struct json_object *o = json_object_new_object();
	char *c = b64u_encode(r->it.cert.der, r->it.cert.der_len), *out = NULL;

	if (o != NULL && c != NULL) {
		acme_json_add_str(o, "certificate", c);
		if (r->it.cert.reason >= 0)
			acme_json_add_int(o, "reason", r->it.cert.reason);
		out = acme_json_dump(o);
	}
	free(c);
	json_object_put(o);
	return out;
}

/* RFC 3339 UTC, seconds (fractions ignored). */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *e;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*e == '.')
		while (*++e >= '0' && *e <= '9')
			;
	if (*e != 'Z' && *e != 'z')
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void
on_ari(struct ups_run *r, const struct ups_resp *resp)
{
	struct json_object *o = NULL, *w;
	int64_t start, end;

	if (resp->status == 404) {     /* the upstream does not know it: our own window */
		run_end(r, ACME_JOB_DONE, NULL);
		return;
	}
	if (!ok_status(resp) || (o = parse_body(resp)) == NULL ||
	    (w = acme_json_get(o, "suggestedWindow")) == NULL ||
	    parse_time(acme_json_str(w, "start"), &start) < 0 ||
	    parse_time(acme_json_str(w, "end"), &end) < 0 || end < start) {
		json_object_put(o);
		if (!ok_status(resp))
			refused(r, resp, PROB_SERVER_INTERNAL, "renewalInfo");
		else
			run_end(r, ACME_JOB_RETRY, NULL);
		return;
	}
	json_object_put(o);
	r->res.ari_start = start;
	r->res.ari_end = end;
	r->res.ari_next = now_utc() + (resp->retry_after > 0 ? resp->retry_after :
	    ARI_DEFAULT_RECHECK);
	run_end(r, ACME_JOB_DONE, NULL);
}

/* ------------------------------------------------------------------ */
/* Self-service TLS. */

/*
 * The new key and what the order needs of it: the key is made and stored
 * sealed in the job's progress before the order exists, so that a run
 * resumed after a restart finalizes (or downloads) the same order with the
 * same key. 0, or -1 after ending the run.
 */
static int
tls_prepare(struct ups_run *r)
{
	struct store_order *o = &r->it.order;
	unsigned char *sealed = NULL;
	size_t slen = 0, plen = 0, i;
	char pass[ACME_SECRET_MAX];
	EVP_PKEY *k = NULL;
	int ret = -1;

	if (read_pass(r, pass, &plen) < 0)
		return -1;
	if (r->tls_sealed != NULL && r->order_url != NULL) {
		if (b64u_decode(r->tls_sealed, strlen(r->tls_sealed), &sealed, &slen) != ACME_OK ||
		    acme_upstream_open(sealed, slen, pass, plen, TLS_KEY_LABEL, &k) != ACME_OK) {
			log_err("self-service TLS: the key of the order under way (%s) cannot be "
			    "unlocked (another tls_passphrase_file?): starting a new order",
			    r->order_url);
			k = NULL;
		}
		free(sealed);
		sealed = NULL;
	}
	if (k == NULL) {
		/* A new order, for a new key. */
		free(r->order_url);
		free(r->finalize_url);
		free(r->cert_url);
		free(r->tls_sealed);
		r->order_url = r->finalize_url = r->cert_url = r->tls_sealed = NULL;
		if (acme_upstream_keygen(r->tls_key_type, &k) != ACME_OK ||
		    acme_upstream_seal(k, pass, plen, TLS_KEY_LABEL, &sealed, &slen) != ACME_OK ||
		    (r->tls_sealed = b64u_encode(sealed, slen)) == NULL) {
			run_end(r, ACME_JOB_RETRY, NULL);
			goto out;
		}
		if (save_progress(r, "key") < 0)
			goto out;
	}
	store_order_free(o);
	memset(o, 0, sizeof(*o));
	if (ups_tls_csr(k, r->tls_names, r->ntls, &o->csr, &o->csr_len) != ACME_OK ||
	    (o->ident = calloc(r->ntls, sizeof(*o->ident))) == NULL) {
		run_end(r, ACME_JOB_RETRY, NULL);
		goto out;
	}
	for (i = 0; i < r->ntls; i++) {
		o->ident[i].type = STORE_IDENT_DNS;
		if ((o->ident[i].value = strdup(r->tls_names[i])) == NULL) {
			run_end(r, ACME_JOB_RETRY, NULL);
			goto out;
		}
		o->nident++;
	}
	r->tls_key = k;
	k = NULL;
	ret = 0;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	free(sealed);
	EVP_PKEY_free(k);
	return ret;
}

static void
on_reloaded(void *arg, int status, const char *err)
{
	struct ups_run *r = arg;
	char *prob;

	(void)status;
	r->execop = NULL;
	if (err != NULL) {
		log_err("self-service TLS: the new certificate is in place, but %s", err);
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL, err, NULL);
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
		return;
	}
	log_info("self-service TLS: the reload command (%s) ran", r->tls_reload);
	run_end(r, ACME_JOB_DONE, NULL);
}

/* The certificate is in: put it and its key in place, then the reload. */
static void
tls_put_in_place(struct ups_run *r)
{
	struct acme_tls_config t;
	const unsigned char *p = r->res_der;
	const ASN1_INTEGER *sn;
	X509 *x = NULL;
	char err[600], serial[STORE_SERIAL_MAX + 1] = "?", *prob;
	char **argv = NULL;
	int64_t nb = 0, na = 0;
	struct tm tm;
	enum acme_err rc;

	memset(&t, 0, sizeof(t));
	t.names = r->tls_names;
	t.nnames = r->ntls;
	t.cert_file = r->tls_cert_file;
	t.key_file = r->tls_key_file;
	if ((rc = ups_tls_install(&t, r->tls_key, r->res_der, r->res_der_len, r->res_chain, err,
	    sizeof(err))) != ACME_OK) {
		log_err("self-service TLS: the new certificate was not put in place: %s", err);
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL, err, NULL);
		/* Not what was asked for (the names changed meanwhile?): a new
		 * order (tls_outcome); the files could not be written: again. */
		run_end(r, rc == ACME_EINVAL ? ACME_JOB_FAIL : ACME_JOB_RETRY, prob);
		free(prob);
		return;
	}
	if ((x = d2i_X509(NULL, &p, (long)r->res_der_len)) != NULL) {
		sn = X509_get0_serialNumber(x);
		for (int i = 0; i < ASN1_STRING_length(sn) && i < STORE_SERIAL_MAX / 2; i++)
			snprintf(serial + 2 * i, 3, "%02x", ASN1_STRING_get0_data(sn)[i]);
		if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
			nb = (int64_t)timegm(&tm);
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
			na = (int64_t)timegm(&tm);
	}
	log_info("self-service TLS: certificate %s for %s%s from %s is in %s (key %s)",
	    serial, r->tls_names[0], r->ntls > 1 ? " and more" : "", r->dir_url,
	    r->tls_cert_file, r->tls_key_file);
	acme_audit("tls.renew", ACME_TLS_SELF, "sjssii", "serial", serial,
	    "identifiers", acme_audit_idents(r->it.order.ident, r->it.order.nident),
	    "issuer", r->dir_url, "cert_file", r->tls_cert_file, "not_before", nb, "not_after", na);
	X509_free(x);
	if (r->tls_reload == NULL) {
		run_end(r, ACME_JOB_DONE, NULL);
		return;
	}
	if (ups_tls_argv(r->tls_reload, &argv) != ACME_OK ||
	    ups_exec_start(r->u->loop, argv, (int)r->timeout_ms, "the reload command "
	    "(tls_reload_command)", on_reloaded, r, &r->execop) != ACME_OK) {
		log_err("self-service TLS: the new certificate is in place, but the reload command "
		    "(%s) could not be started", r->tls_reload);
		prob = acme_upstream_problem(PROB_SERVER_INTERNAL, "the reload command could not be "
		    "started", NULL);
		run_end(r, ACME_JOB_RETRY, prob);
		free(prob);
	}
	ups_tls_argv_free(argv);
}

/* ------------------------------------------------------------------ */
/* The run. */

/* An order's next request (client orders and the server's own). */
static void
order_next(struct ups_run *r)
{
	char *p = NULL;

	if (r->order_url == NULL) {
		if ((p = ups_new_order_payload(&r->it.order, r->ud->profiles)) == NULL)
			run_end(r, ACME_JOB_RETRY, NULL);
		else
			request(r, "POST", r->ud->new_order, p, 0, NULL, on_new_order);
	} else if (r->order == NULL) {
		request(r, "POST", r->order_url, "", 0, NULL, on_order);
	} else {
		order_step(r);
	}
	free(p);
}

static void
run_next(struct ups_run *r)
{
	struct ups_dir *ud = r->ud;
	char *p = NULL, *url = NULL;

	if (ud->fetched == 0 || val_now_ms() - ud->fetched > UPS_DIR_TTL_MS) {
		request(r, "GET", r->dir_url, NULL, 0, NULL, on_directory);
		return;
	}
	if (ud->key.pkey == NULL && load_key(r) < 0)
		return;
	if (ud->account_url == NULL) {
		if ((p = account_payload(r)) == NULL)
			run_end(r, ACME_JOB_RETRY, NULL);
		else
			request(r, "POST", ud->new_account, p, 1, NULL, on_account);
		goto out;
	}
	switch (r->it.kind) {
	case STORE_JOB_TLS_RENEW:
		/* The server's own certificate is an order like a client's, for
		 * tls_names, with the CSR of a key made here. */
		if (r->tls_key == NULL && tls_prepare(r) < 0)
			break;
		order_next(r);
		break;
	case STORE_JOB_UPSTREAM_ORDER:
		order_next(r);
		break;
	case STORE_JOB_UPSTREAM_REVOKE:
		if (ud->revoke == NULL || (p = revoke_payload(r)) == NULL) {
			char *prob = acme_upstream_problem(PROB_SERVER_INTERNAL,
			    "the upstream CA has no revokeCert resource", NULL);
			run_end(r, ACME_JOB_FAIL, prob);
			free(prob);
		} else {
			request(r, "POST", ud->revoke, p, 0, NULL, on_revoked);
		}
		break;
	case STORE_JOB_ARI_FETCH:
		if (ud->renewal_info == NULL || r->it.cert.ari[0] == '\0' || r->it.cert.revoked) {
			run_end(r, ACME_JOB_DONE, NULL);      /* no window: ours applies */
		} else if (asprintf(&url, "%s%s%s", ud->renewal_info,
		    ud->renewal_info[strlen(ud->renewal_info) - 1] == '/' ? "" : "/",
		    r->it.cert.ari) < 0) {
			url = NULL;
			run_end(r, ACME_JOB_RETRY, NULL);
		} else {
			request(r, "GET", url, NULL, 0, NULL, on_ari);
		}
		break;
	default:
		run_end(r, ACME_JOB_FAIL, NULL);
	}
out:
	free(p);
	free(url);
}

static void
run_free(struct ups_run *r)
{
	struct val_upstream *u = r->u;
	size_t i;

	val_timer_disarm(u->loop, &r->timer);
	ups_http_cancel(r->req);
	ups_dns_cancel(r->dnsop);
	ups_exec_cancel(r->execop);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		u->runs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	u->nruns--;
	acme_job_item_free(&r->it);
	json_object_put(r->order);
	free(r->dir_url);
	free(r->ca_file);
	free(r->contact);
	free(r->eab_kid);
	free(r->pass_file);
	free(r->key_type);
	free(r->dns.hook);
	free(r->dns.server);
	free(r->dns.zone);
	free(r->dns.tsig_name);
	free(r->order_url);
	free(r->finalize_url);
	free(r->cert_url);
	free(r->chall_url);
	free(r->q_url);
	free(r->q_payload);
	free(r->res_problem);
	free(r->res_der);
	free(r->res_chain);
	for (i = 0; i < r->ntls; i++)
		free(r->tls_names[i]);
	free(r->tls_names);
	free(r->tls_cert_file);
	free(r->tls_key_file);
	free(r->tls_key_type);
	free(r->tls_reload);
	free(r->tls_sealed);
	EVP_PKEY_free(r->tls_key);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

/* The detail of a problem document (and of its first subproblem) into buf. */
static const char *
problem_detail(const char *json, char *buf, size_t cap)
{
	struct json_object *o = NULL, *sub;
	const char *why, *d, *sd = NULL;

	snprintf(buf, cap, "no reason given");
	if (json == NULL || acme_json_parse(json, strlen(json), &o, &why) != ACME_OK)
		return buf;
	d = acme_json_str(o, "detail");
	if ((sub = acme_json_get(o, "subproblems")) != NULL &&
	    json_object_is_type(sub, json_type_array) && json_object_array_length(sub) > 0)
		sd = acme_json_str(json_object_array_get_idx(sub, 0), "detail");
	if (d != NULL)
		snprintf(buf, cap, "%s%s%s", d, sd ? ": " : "", sd ? sd : "");
	json_object_put(o);
	return buf;
}

/*
 * Self-service TLS has no client to tell: what would fail an order is
 * retried by the backoff with a new upstream order (until the deadline),
 * and every failure is logged as an error the operator sees.
 */
static void
tls_outcome(struct ups_run *r)
{
	char detail[800];

	if (r->res.outcome == ACME_JOB_FAIL) {
		free(r->order_url);
		free(r->finalize_url);
		free(r->cert_url);
		free(r->tls_sealed);
		r->order_url = r->finalize_url = r->cert_url = r->tls_sealed = NULL;
		if (save_progress(r, "restart") < 0)
			return;
		r->res.outcome = ACME_JOB_RETRY;
	}
	if (r->res.outcome == ACME_JOB_RETRY)
		log_err("self-service TLS: renewing the certificate for %s (%s) failed: %s; tried "
		    "again after a backoff", r->ntls > 0 ? r->tls_names[0] : "?",
		    r->tls_cert_file ? r->tls_cert_file : "?",
		    problem_detail(r->res_problem, detail, sizeof(detail)));
}

/* Record the outcome (outcome 0: nothing to record) and free the run. */
static void
run_record(struct ups_run *r)
{
	struct val_upstream *u = r->u;
	int64_t next = 0;
	enum acme_err rc;

	if (r->it.kind == STORE_JOB_TLS_RENEW && r->res.outcome != 0 && u->store != NULL)
		tls_outcome(r);
	if (r->res.outcome != 0 && u->store != NULL) {
		r->res.problem = r->res_problem;
		rc = acme_job_finish(u->store, u->cfg, &r->it, &r->res, now_utc(), &next);
		if (rc == ACME_OK && next > 0 && (u->next_due == 0 || next < u->next_due))
			u->next_due = next;
	}
	run_free(r);
}

static void
on_final_cleanup(void *arg, const char *err)
{
	struct ups_run *r = arg;

	r->dnsop = NULL;
	if (err != NULL)
		log_warn("job %s: %s", r->it.id, err);
	run_record(r);
}

static void
run_end(struct ups_run *r, enum acme_job_outcome o, const char *problem)
{
	if (r->ending)
		return;
	r->ending = 1;
	val_timer_disarm(r->u->loop, &r->timer);
	r->res.outcome = o;
	if (problem != NULL)
		r->res_problem = strdup(problem);
	else if (o == ACME_JOB_RETRY || o == ACME_JOB_FAIL)
		r->res_problem = acme_upstream_problem(PROB_SERVER_INTERNAL,
		    "the RA could not complete the request at its upstream CA", NULL);
	/* Our TXT record is removed before the outcome is recorded. */
	if (r->dns_present && ups_dns_start(r->u->loop, &r->dns, 0, r->fqdn, r->txt,
	    on_final_cleanup, r, &r->dnsop) == ACME_OK)
		return;
	run_record(r);
}

/* The per-directory state for d, (re)set when its upstream changed. */
static struct ups_dir *
dir_state(struct val_upstream *u, const struct acme_dir_config *d)
{
	struct ups_dir *ud;

	for (ud = u->dirs; ud != NULL; ud = ud->next)
		if (strcmp(ud->name, d->name) == 0)
			break;
	if (ud == NULL) {
		if ((ud = calloc(1, sizeof(*ud))) == NULL)
			return NULL;
		snprintf(ud->name, sizeof(ud->name), "%s", d->name);
		ud->next = u->dirs;
		u->dirs = ud;
	}
	if (ud->url == NULL || strcmp(ud->url, d->upstream_url) != 0) {
		set_str(&ud->url, d->upstream_url);
		ud->fetched = 0;
		ups_key_clear(&ud->key);
		free(ud->account_url);
		ud->account_url = NULL;
		ud->nonce[0] = '\0';
	}
	return ud;
}

static void
dir_free(struct ups_dir *ud)
{
	free(ud->url);
	free(ud->new_nonce);
	free(ud->new_account);
	free(ud->new_order);
	free(ud->revoke);
	free(ud->renewal_info);
	free(ud->account_url);
	json_object_put(ud->profiles);
	ups_key_clear(&ud->key);
	free(ud);
}

/* A secret file's base64 (or base64url) text into bytes. */
static int
read_key_file(const char *path, const char *what, unsigned char *out, size_t cap, size_t *len)
{
	char text[ACME_SECRET_MAX];
	size_t tl = 0, i;
	int n, rc = -1;

	*len = 0;
	if (acme_secret_read(path, what, text, sizeof(text), &tl) != ACME_OK)
		return -1;
	while (tl > 0 && text[tl - 1] == '=')
		text[--tl] = '\0';
	for (i = 0; i < tl; i++) {
		if (text[i] == '-')
			text[i] = '+';
		else if (text[i] == '_')
			text[i] = '/';
	}
	while (tl % 4 != 0)
		text[tl++] = '=';
	text[tl] = '\0';
	if (tl / 4 * 3 > cap || (n = EVP_DecodeBlock(out, (unsigned char *)text, (int)tl)) < 0) {
		log_err("upstream: the %s in %s is not base64 of at most %zu bytes", what, path, cap);
		goto out;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (i = tl; i > 0 && text[i - 1] == '='; i--)
		n--;
	*len = (size_t)n;
	rc = 0;
out:
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

/* A run for leased job it (taken over). 0, or -1 (it was recorded as failed). */
static int
run_start(struct val_upstream *u, struct acme_job_item *it)
{
	const struct acme_dir_config *d = acme_job_dir(u->cfg, it->kind, it->dir);
	const struct acme_tls_config *tc = &u->cfg->tls;
	struct ups_run *r;
	size_t i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->u = u;
	r->it = *it;
	memset(it, 0, sizeof(*it));
	r->next = u->runs;
	if (u->runs != NULL)
		u->runs->prev = r;
	u->runs = r;
	u->nruns++;
	if (d == NULL || !d->ra || (r->ud = dir_state(u, d)) == NULL) {
		run_end(r, ACME_JOB_RETRY, NULL);
		return -1;
	}
	r->dir_url = dupstr(d->upstream_url);
	r->ca_file = dupstr(d->upstream_ca_file);
	r->contact = dupstr(d->upstream_contact);
	r->eab_kid = dupstr(d->upstream_eab_kid);
	r->pass_file = dupstr(d->upstream_passphrase_file);
	r->key_type = dupstr(d->upstream_key_type);
	r->timeout_ms = (long)d->upstream_timeout * 1000;
	r->dns_wait_ms = d->upstream_dns_wait * 1000;
	r->poll_ms = UPS_POLL_MS;
	r->dns.hook = dupstr(d->upstream_dns_hook);
	r->dns.server = dupstr(d->upstream_dns_update);
	r->dns.zone = dupstr(d->upstream_dns_zone);
	r->dns.tsig_name = dupstr(d->upstream_tsig_name);
	r->dns.timeout_ms = (int)d->upstream_timeout * 1000;
	if (r->it.kind == STORE_JOB_TLS_RENEW) {
		r->tls_cert_file = dupstr(tc->cert_file);
		r->tls_key_file = dupstr(tc->key_file);
		r->tls_key_type = dupstr(tc->key_type);
		r->tls_reload = dupstr(tc->reload_command);
		if ((r->tls_names = calloc(tc->nnames + 1, sizeof(*r->tls_names))) != NULL)
			for (i = 0; i < tc->nnames; i++)
				if ((r->tls_names[r->ntls] = strdup(tc->names[i])) != NULL)
					r->ntls++;
		if (r->ntls == 0 || r->ntls != tc->nnames || r->tls_cert_file == NULL ||
		    r->tls_key_file == NULL || r->tls_key_type == NULL ||
		    (tc->reload_command != NULL && r->tls_reload == NULL)) {
			run_end(r, ACME_JOB_RETRY, NULL);
			return -1;
		}
	}
	if (r->dir_url == NULL || r->pass_file == NULL || r->key_type == NULL) {
		run_end(r, ACME_JOB_RETRY, NULL);
		return -1;
	}
	if ((d->upstream_eab_hmac_file != NULL && read_key_file(d->upstream_eab_hmac_file,
	    "upstream EAB HMAC key", r->eab_key, sizeof(r->eab_key), &r->eab_key_len) < 0) ||
	    (d->upstream_tsig_key_file != NULL && read_key_file(d->upstream_tsig_key_file,
	    "TSIG key", r->dns.tsig_key, sizeof(r->dns.tsig_key), &r->dns.tsig_key_len) < 0)) {
		char *prob = acme_upstream_problem(PROB_SERVER_INTERNAL, "a key file of this RA's "
		    "upstream settings cannot be read (see the server's log)", NULL);
		run_end(r, ACME_JOB_FAIL, prob);
		free(prob);
		return -1;
	}
	load_progress(r);
	log_info("job %s (%s) started, attempt %u%s%s", r->it.id, acme_job_kind_name(r->it.kind),
	    r->it.attempts + 1, r->order_url ? ", resuming upstream order " : "",
	    r->order_url ? r->order_url : "");
	run_next(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The runner. */

enum acme_err
val_upstream_new(struct val_loop *l, struct val_upstream **out)
{
	struct val_upstream *u;
	enum acme_err rc;

	*out = NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return ACME_ENOMEM;
	u->loop = l;
	if ((rc = val_curlm_new(l, &u->curlm)) != ACME_OK) {
		free(u);
		return rc;
	}
	*out = u;
	return ACME_OK;
}

void
val_upstream_free(struct val_upstream *u)
{
	struct ups_dir *ud;

	if (u == NULL)
		return;
	while (u->runs != NULL)
		run_free(u->runs);
	while ((ud = u->dirs) != NULL) {
		u->dirs = ud->next;
		dir_free(ud);
	}
	val_curlm_free(u->curlm);
	free(u);
}

void
val_upstream_use(struct val_upstream *u, struct store *s, const struct acme_config *cfg)
{
	u->store = s;
	u->cfg = cfg;
	u->next_look = 0;
	u->tls_check_now = 1;          /* at start and after every reload */
}

void
val_upstream_drain(struct val_upstream *u)
{
	u->draining = 1;
}

size_t
val_upstream_inflight(const struct val_upstream *u)
{
	return u->nruns;
}

static enum store_err
next_due_txn(struct store_txn *t, void *arg)
{
	return store_job_next_due(t, arg);
}

static int
any_ra(const struct acme_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ndir; i++)
		if (cfg->dir[i].ra)
			return 1;
	return 0;
}

/*
 * Self-service TLS: look at the server's certificate and queue its renewal
 * when it needs one. A check the configuration asked for (start, reload)
 * may queue a renewal again at once; the periodic one waits TLS_MIN_GAP
 * after the last renewal ended. 1 when a job was queued.
 */
static int
tls_check(struct val_upstream *u, int64_t mono, int64_t now)
{
	const struct acme_tls_config *tc = &u->cfg->tls;
	char why[700], when[32];
	int64_t renew_at = 0;
	int queued = 0, asked = u->tls_check_now;

	u->tls_check_now = 0;
	u->tls_next_check = mono + TLS_CHECK_MS;
	if (ups_tls_check(tc, now, why, sizeof(why), &renew_at) == UPS_TLS_FRESH) {
		acme_rfc3339(renew_at, when);
		log_info("self-service TLS: %s; renewal at %s", why, when);
		if ((renew_at - now) * 1000 < TLS_CHECK_MS)
			u->tls_next_check = mono + (renew_at - now) * 1000;
		return 0;
	}
	if (acme_job_tls_request(u->store, now, asked ? 0 : TLS_MIN_GAP, &queued) != ACME_OK)
		return 0;
	if (queued)
		log_info("self-service TLS: %s: renewal queued (%s)", why, tc->acct.upstream_url);
	else if (asked)
		log_info("self-service TLS: %s: a renewal is under way", why);
	else
		log_info("self-service TLS: %s: a renewal is under way, or ended less than %ds ago",
		    why, TLS_MIN_GAP);
	return queued;
}

int
val_upstream_tick(struct val_upstream *u, int look)
{
	struct acme_job_item *items = NULL;
	int64_t mono = val_now_ms(), now = now_utc(), when = 0, wait;
	size_t i, n = 0;

	if (u->store == NULL || u->cfg == NULL || u->draining ||
	    (!any_ra(u->cfg) && !u->cfg->tls.enabled))
		return UPS_LOOK_MS;
	if (u->cfg->tls.enabled && (u->tls_check_now || mono >= u->tls_next_check) &&
	    tls_check(u, mono, now))
		look = 1;
	if ((look || mono >= u->next_look || (u->next_due > 0 && now >= u->next_due)) &&
	    u->nruns < UPS_MAX_INFLIGHT) {
		u->next_look = mono + UPS_LOOK_MS;
		if (acme_job_lease(u->store, u->cfg, now, UPS_MAX_INFLIGHT - u->nruns, &items, &n) ==
		    ACME_OK) {
			for (i = 0; i < n; i++)
				(void)run_start(u, &items[i]);
			for (i = 0; i < n; i++)
				acme_job_item_free(&items[i]);
			free(items);
		}
		if (store_txn_run(u->store, STORE_TXN_RO, next_due_txn, &when) != STORE_OK)
			when = 0;
		u->next_due = when > now ? when : 0;
	}
	wait = u->next_look - mono;
	if (u->next_due > 0 && (u->next_due - now) * 1000 < wait)
		wait = (u->next_due - now) * 1000;
	return wait < 0 ? 0 : wait > UPS_LOOK_MS ? UPS_LOOK_MS : (int)wait;
}
