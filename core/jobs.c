/*
 * The job state machine (see core/jobs.h). Leasing mirrors the validation
 * queue (core/validation.c); the lease counter makes a run that outlived its
 * lease harmless: everything it would write is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/audit.h"
#include "core/b64.h"
#include "core/jobs.h"
#include "core/json.h"
#include "core/log.h"
#include "core/validation.h"

/* ARI windows are fetched again at most this often, and at least this rarely. */
#define ARI_MIN_RECHECK 3600
#define ARI_MAX_RECHECK (7 * 86400)

static const char *const kind_names[] = {
	"?", "upstream_order", "upstream_revoke", "ari_fetch", "tls_renew",
};

const char *
acme_job_kind_name(int kind)
{
	return kind > 0 && kind < STORE_JOB__MAX ? kind_names[kind] : "?";
}

void
acme_job_id(enum store_job_kind kind, const char *ref, char out[STORE_JOB_ID_MAX + 1])
{
	static const char *const prefix[] = { "x", "order", "revoke", "ari", "tls" };

	snprintf(out, STORE_JOB_ID_MAX + 1, "%s-%s",
	    kind > 0 && kind < STORE_JOB__MAX ? prefix[kind] : "x", ref);
}

void
acme_job_item_free(struct acme_job_item *it)
{
	if (it == NULL)
		return;
	free(it->progress);
	store_order_free(&it->order);
	store_cert_free(&it->cert);
	memset(it, 0, sizeof(*it));
}

enum store_err
acme_job_enqueue(struct store_txn *t, enum store_job_kind kind, const char *dir, const char *ref,
    int64_t now, int requeue, int *queued)
{
	struct store_job j;
	char id[STORE_JOB_ID_MAX + 1];
	enum store_err e;

	if (queued != NULL)
		*queued = 0;
	memset(&j, 0, sizeof(j));
	acme_job_id(kind, ref, id);
	e = store_job_get(t, id, &j);   /* (not j.id: the get zeroes j first) */
	if (e == STORE_OK) {
		if (requeue && j.state != STORE_JOB_QUEUED) {
			/* A new piece of work under the old key: nothing of the last
			 * run's progress (its upstream order) carries over. */
			j.state = STORE_JOB_QUEUED;
			j.due = now;
			j.attempts = 0;
			j.created = now;
			j.updated = now;
			free(j.progress);
			j.progress = NULL;
			if ((e = store_job_put(t, &j, 0)) == STORE_OK && queued != NULL)
				*queued = 1;
		}
		goto out;
	}
	if (e != STORE_NOTFOUND)
		goto out;
	memset(&j, 0, sizeof(j));
	acme_job_id(kind, ref, j.id);
	j.kind = (uint8_t)kind;
	j.state = STORE_JOB_QUEUED;
	snprintf(j.dir, sizeof(j.dir), "%s", dir);
	snprintf(j.ref, sizeof(j.ref), "%s", ref);
	j.created = j.updated = now;
	j.due = now;
	if ((e = store_job_put(t, &j, STORE_PUT_CREATE)) == STORE_OK && queued != NULL)
		*queued = 1;
out:
	store_job_free(&j);
	return e;
}

const struct acme_dir_config *
acme_job_dir(const struct acme_config *cfg, int kind, const char *dir)
{
	const struct acme_dir_config *d;

	if (kind == STORE_JOB_TLS_RENEW)
		return cfg->tls.enabled && strcmp(dir, ACME_TLS_SELF) == 0 ? &cfg->tls.acct : NULL;
	d = acme_config_dir(cfg, dir);
	return d != NULL && d->ra ? d : NULL;
}

/* How long a run holds its job: one request's timeout and a DNS wait more
 * than a validation's lease. Every progress write extends it. */
static int64_t
job_lease_len(const struct acme_config *cfg, int kind, const char *dir)
{
	const struct acme_dir_config *d = acme_job_dir(cfg, kind, dir);
	int64_t l = cfg->lease;

	if (d != NULL)
		l += d->upstream_timeout + d->upstream_dns_wait;
	return l;
}

struct lease {
	const struct acme_config *cfg;
	int64_t now;
	size_t max;
	struct store_txn *t;
	struct acme_job_item *items;
	size_t n;
	enum store_err err;
};

/* Close a job whose subject no longer needs it. */
static enum store_err
close_job(struct store_txn *t, struct store_job *j, int64_t now)
{
	j->state = STORE_JOB_DONE;
	j->due = 0;
	j->updated = now;
	return store_job_put(t, j, 0);
}

static int
lease_cb(const char *id, void *arg)
{
	struct lease *l = arg;
	struct acme_job_item *it = &l->items[l->n];
	struct store_job j;
	enum store_err e;
	int taken = 0;

	memset(&j, 0, sizeof(j));
	memset(it, 0, sizeof(*it));
	if ((l->err = store_job_get(l->t, id, &j)) != STORE_OK)
		goto out;
	if (j.state == STORE_JOB_QUEUED && j.kind == STORE_JOB_TLS_RENEW &&
	    acme_job_dir(l->cfg, j.kind, j.dir) == NULL) {
		/* Self-service TLS is off now; turned on again, it asks anew. */
		l->err = close_job(l->t, &j, l->now);
		goto out;
	}
	if (j.state != STORE_JOB_QUEUED || acme_job_dir(l->cfg, j.kind, j.dir) == NULL) {
		if (j.state == STORE_JOB_QUEUED)
			log_warn("job %s: directory %s is not an RA directory in this configuration; "
			    "left queued", j.id, j.dir);
		j.due = j.state == STORE_JOB_QUEUED ? l->now + 3600 : 0;
		l->err = store_job_put(l->t, &j, 0);
		goto out;
	}
	switch (j.kind) {
	case STORE_JOB_UPSTREAM_ORDER:
		e = store_order_get(l->t, j.ref, &it->order);
		if (e == STORE_NOTFOUND || (e == STORE_OK && (it->order.status !=
		    STORE_ST_PROCESSING || it->order.csr == NULL))) {
			l->err = close_job(l->t, &j, l->now);
			goto out;
		}
		break;
	case STORE_JOB_UPSTREAM_REVOKE:
	case STORE_JOB_ARI_FETCH:
		e = store_cert_get(l->t, j.ref, &it->cert);
		if (e == STORE_NOTFOUND) {
			l->err = close_job(l->t, &j, l->now);
			goto out;
		}
		break;
	case STORE_JOB_TLS_RENEW:
		e = STORE_OK;          /* its subject is the configuration's tls_* */
		break;
	default:
		l->err = close_job(l->t, &j, l->now);
		goto out;
	}
	if ((l->err = e) != STORE_OK)
		goto out;
	j.lease++;
	j.due = l->now + job_lease_len(l->cfg, j.kind, j.dir);
	j.updated = l->now;
	if ((l->err = store_job_put(l->t, &j, 0)) != STORE_OK)
		goto out;
	memcpy(it->id, j.id, sizeof(it->id));
	it->kind = j.kind;
	memcpy(it->dir, j.dir, sizeof(it->dir));
	memcpy(it->ref, j.ref, sizeof(it->ref));
	it->lease = j.lease;
	it->attempts = j.attempts;
	it->created = j.created;
	it->progress = j.progress;
	j.progress = NULL;
	l->n++;
	taken = 1;
out:
	if (!taken)
		acme_job_item_free(it);
	store_job_free(&j);
	return l->err != STORE_OK || l->n == l->max;
}

static enum store_err
lease_txn(struct store_txn *t, void *arg)
{
	struct lease *l = arg;
	enum store_err e;
	size_t i;

	for (i = 0; i < l->n; i++)
		acme_job_item_free(&l->items[i]);
	l->t = t;
	l->n = 0;
	l->err = STORE_OK;
	e = store_job_due(t, l->now, l->max, lease_cb, l);
	return e != STORE_OK ? e : l->err;
}

enum acme_err
acme_job_lease(struct store *s, const struct acme_config *cfg, int64_t now, size_t max,
    struct acme_job_item **items, size_t *n)
{
	struct lease l;
	enum store_err e;
	size_t i;

	*items = NULL;
	*n = 0;
	if (max == 0)
		return ACME_OK;
	memset(&l, 0, sizeof(l));
	l.cfg = cfg;
	l.now = now;
	l.max = max;
	if ((l.items = calloc(max + 1, sizeof(*l.items))) == NULL)
		return ACME_ENOMEM;
	e = store_txn_run(s, STORE_TXN_RW, lease_txn, &l);
	if (e != STORE_OK) {
		log_err("jobs: leasing due work: %s", store_strerror(e));
		for (i = 0; i < l.n; i++)
			acme_job_item_free(&l.items[i]);
		free(l.items);
		return ACME_ESTORE;
	}
	*items = l.items;
	*n = l.n;
	return ACME_OK;
}

struct progress {
	const struct acme_config *cfg;
	const struct acme_job_item *it;
	const char *progress;
	int64_t now;
	int lost;
};

/* The job, if this run still holds it; *lost otherwise. */
static enum store_err
held_job(struct store_txn *t, const struct acme_job_item *it, struct store_job *j, int *lost)
{
	enum store_err e;

	*lost = 0;
	e = store_job_get(t, it->id, j);
	if (e == STORE_NOTFOUND || (e == STORE_OK && (j->lease != it->lease ||
	    j->state != STORE_JOB_QUEUED))) {
		*lost = 1;
		return STORE_OK;
	}
	return e;
}

static enum store_err
progress_txn(struct store_txn *t, void *arg)
{
	struct progress *p = arg;
	struct store_job j;
	enum store_err e;

	memset(&j, 0, sizeof(j));
	if ((e = held_job(t, p->it, &j, &p->lost)) != STORE_OK || p->lost)
		goto out;
	if (p->progress != NULL) {
		free(j.progress);
		if ((j.progress = strdup(p->progress)) == NULL) {
			e = STORE_NOMEM;
			goto out;
		}
	}
	j.due = p->now + job_lease_len(p->cfg, j.kind, j.dir);
	j.updated = p->now;
	e = store_job_put(t, &j, 0);
out:
	store_job_free(&j);
	return e;
}

enum acme_err
acme_job_progress(struct store *s, const struct acme_config *cfg, struct acme_job_item *it,
    const char *progress, int64_t now)
{
	struct progress p;
	enum store_err e;
	char *copy = NULL;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.it = it;
	p.progress = progress;
	p.now = now;
	if ((e = store_txn_run(s, STORE_TXN_RW, progress_txn, &p)) != STORE_OK) {
		log_err("job %s: recording progress: %s", it->id, store_strerror(e));
		return ACME_ESTORE;
	}
	if (p.lost) {
		log_warn("job %s: the lease was lost; leaving the job to its new holder", it->id);
		return ACME_EBUSY;
	}
	if (progress != NULL) {
		if ((copy = strdup(progress)) == NULL)
			return ACME_ENOMEM;
		free(it->progress);
		it->progress = copy;
	}
	return ACME_OK;
}

/* The job's retry delay: as validation retries, with the upstream's base and cap. */
static int64_t
backoff(const struct acme_dir_config *d, uint32_t attempt)
{
	return acme_backoff(d->upstream_retry_base, d->upstream_retry_cap, attempt);
}

struct finish {
	const struct acme_config *cfg;
	const struct acme_job_item *it;
	const struct acme_job_result *r;
	int64_t now;
	int lost;
	int64_t next_due;
	enum acme_job_outcome outcome;   /* what was recorded (RETRY may become FAIL) */
	char *gave_up;                   /* the problem when the deadline passed */
	struct store_cert cert;          /* DONE of an order: what was stored */
};

/* The certificate record of an upstream certificate. */
static enum store_err
cert_from_der(struct finish *f, const struct store_order *o, struct store_cert *c)
{
	const unsigned char *p = f->r->cert_der;
	const ASN1_INTEGER *sn;
	const ASN1_OCTET_STRING *aki;
	const ASN1_TIME *tm;
	unsigned char *snder = NULL, *q;
	struct tm t;
	X509 *x = NULL;
	char a[96], b[64];
	int len, i;
	enum store_err e = STORE_INVAL;

	if (p == NULL || (x = d2i_X509(NULL, &p, (long)f->r->cert_der_len)) == NULL ||
	    p != f->r->cert_der + f->r->cert_der_len) {
		log_err("order %s: the upstream certificate does not parse", o->id);
		goto out;
	}
	sn = X509_get0_serialNumber(x);
	if (ASN1_STRING_length(sn) < 1 || ASN1_STRING_length(sn) > STORE_SERIAL_MAX / 2) {
		log_err("order %s: the upstream certificate's serial is out of range", o->id);
		goto out;
	}
	for (i = 0; i < ASN1_STRING_length(sn); i++)
		snprintf(c->serial + 2 * i, 3, "%02x", ASN1_STRING_get0_data(sn)[i]);
	memcpy(c->acct, o->acct, sizeof(c->acct));
	memcpy(c->order, o->id, sizeof(c->order));
	snprintf(c->dir, sizeof(c->dir), "%s", o->dir);
	c->issued = f->now;
	if ((tm = X509_get0_notBefore(x)) != NULL && ASN1_TIME_to_tm(tm, &t) == 1)
		c->not_before = (int64_t)timegm(&t);
	if ((tm = X509_get0_notAfter(x)) != NULL && ASN1_TIME_to_tm(tm, &t) == 1)
		c->not_after = (int64_t)timegm(&t);
	c->reason = -1;
	c->upstream = 1;
	/* RFC 9773 CertID: the AKI keyIdentifier and the serial's DER value bytes. */
	aki = X509_get0_authority_key_id(x);
	if (aki != NULL && ASN1_STRING_length(aki) > 0 && ASN1_STRING_length(aki) <= 64 &&
	    (len = i2d_ASN1_INTEGER(sn, NULL)) > 2 && len - 2 <= 40) {
		q = snder = malloc((size_t)len);
		if (snder != NULL && i2d_ASN1_INTEGER(sn, &q) == len) {
			b64u_encode_buf(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki), a);
			b64u_encode_buf(snder + 2, (size_t)len - 2, b);
			if (strlen(a) + 1 + strlen(b) <= STORE_ARI_MAX) {
				memcpy(c->ari, a, strlen(a));
				c->ari[strlen(a)] = '.';
				memcpy(c->ari + strlen(a) + 1, b, strlen(b) + 1);
			}
		}
	}
	if ((c->der = malloc(f->r->cert_der_len)) == NULL ||
	    (f->r->chain_pem != NULL && (c->chain = strdup(f->r->chain_pem)) == NULL) ||
	    (o->profile != NULL && (c->profile = strdup(o->profile)) == NULL)) {
		e = STORE_NOMEM;
		goto out;
	}
	memcpy(c->der, f->r->cert_der, f->r->cert_der_len);
	c->der_len = f->r->cert_der_len;
	e = STORE_OK;
out:
	free(snder);
	X509_free(x);
	return e;
}

/* An order's job is done: its certificate in, the order valid. */
static enum store_err
finish_order_done(struct store_txn *t, struct finish *f, struct store_job *j)
{
	struct store_order o;
	enum store_err e;

	memset(&o, 0, sizeof(o));
	store_cert_free(&f->cert);
	if ((e = store_order_get(t, j->ref, &o)) != STORE_OK)
		goto out;
	if (o.status != STORE_ST_PROCESSING)
		goto out;              /* someone ended it meanwhile */
	if ((e = cert_from_der(f, &o, &f->cert)) != STORE_OK)
		goto out;
	if ((e = store_cert_put(t, &f->cert, STORE_PUT_CREATE)) != STORE_OK)
		goto out;
	o.status = STORE_ST_VALID;
	snprintf(o.cert, sizeof(o.cert), "%s", f->cert.serial);
	free(o.csr);
	o.csr = NULL;
	o.csr_len = 0;
	o.retry_after = 0;
	if ((e = store_order_put(t, &o, 0)) != STORE_OK)
		goto out;
	e = acme_job_enqueue(t, STORE_JOB_ARI_FETCH, o.dir, f->cert.serial, f->now, 0, NULL);
out:
	store_order_free(&o);
	return e;
}

/* An order's job failed: the order invalid with the problem. */
static enum store_err
finish_order_fail(struct store_txn *t, struct finish *f, const char *problem, const char *ref)
{
	struct store_order o;
	enum store_err e;

	memset(&o, 0, sizeof(o));
	if ((e = store_order_get(t, ref, &o)) != STORE_OK || o.status != STORE_ST_PROCESSING)
		goto out;
	free(o.error);
	if ((o.error = strdup(problem)) == NULL) {
		e = STORE_NOMEM;
		goto out;
	}
	o.status = STORE_ST_INVALID;
	free(o.csr);
	o.csr = NULL;
	o.csr_len = 0;
	e = store_order_put(t, &o, 0);
out:
	store_order_free(&o);
	(void)f;
	return e;
}

static enum store_err
finish_ari(struct store_txn *t, struct finish *f, struct store_job *j)
{
	struct store_cert c;
	enum store_err e;
	int64_t next = f->r->ari_next;

	memset(&c, 0, sizeof(c));
	if ((e = store_cert_get(t, j->ref, &c)) != STORE_OK)
		goto out;
	c.ari_start = f->r->ari_start;
	c.ari_end = f->r->ari_end;
	c.ari_fetched = f->now;
	if ((e = store_cert_put(t, &c, 0)) != STORE_OK)
		goto out;
	/* Asked again while the certificate lives, if the upstream has a window. */
	if (f->r->ari_start > 0 && c.not_after > f->now && !c.revoked) {
		if (next < f->now + ARI_MIN_RECHECK)
			next = f->now + ARI_MIN_RECHECK;
		if (next > f->now + ARI_MAX_RECHECK)
			next = f->now + ARI_MAX_RECHECK;
		if (next > c.not_after)
			next = c.not_after;
		f->next_due = next;
	}
out:
	store_cert_free(&c);
	return e;
}

static enum store_err
finish_txn(struct store_txn *t, void *arg)
{
	struct finish *f = arg;
	const struct acme_dir_config *d = acme_job_dir(f->cfg, f->it->kind, f->it->dir);
	const char *problem = f->r->problem;
	struct store_job j;
	enum store_err e;
	int64_t delay;

	memset(&j, 0, sizeof(j));
	f->next_due = 0;
	f->outcome = f->r->outcome;
	free(f->gave_up);
	f->gave_up = NULL;
	if ((e = held_job(t, f->it, &j, &f->lost)) != STORE_OK || f->lost)
		goto out;
	j.updated = f->now;
	if (f->outcome == ACME_JOB_RETRY) {
		delay = f->r->retry_after > 0 ? f->r->retry_after : backoff(d, j.attempts);
		if (d != NULL && delay > d->upstream_retry_cap)
			delay = d->upstream_retry_cap;
		if (delay < 1)
			delay = 1;
		if (d != NULL && f->now + delay > j.created + d->upstream_deadline) {
			f->outcome = ACME_JOB_FAIL;
			if ((f->gave_up = acme_upstream_problem(PROB_SERVER_INTERNAL, "the upstream CA "
			    "did not complete the request before the deadline; the last failure is "
			    "the subproblem", problem)) == NULL) {
				e = STORE_NOMEM;
				goto out;
			}
			problem = f->gave_up;
		} else {
			j.attempts++;
			j.due = f->next_due = f->now + delay;
			free(j.error);
			j.error = problem ? strdup(problem) : NULL;
			if (j.kind == STORE_JOB_UPSTREAM_ORDER) {
				struct store_order o;
				memset(&o, 0, sizeof(o));
				if ((e = store_order_get(t, j.ref, &o)) == STORE_OK &&
				    o.status == STORE_ST_PROCESSING) {
					o.retry_after = j.due;
					e = store_order_put(t, &o, 0);
				}
				store_order_free(&o);
				if (e != STORE_OK && e != STORE_NOTFOUND)
					goto out;
			}
			e = store_job_put(t, &j, 0);
			goto out;
		}
	}
	j.due = 0;
	if (f->outcome == ACME_JOB_FAIL) {
		j.state = STORE_JOB_FAILED;
		free(j.error);
		j.error = problem ? strdup(problem) : NULL;
		if (j.kind == STORE_JOB_UPSTREAM_ORDER &&
		    (e = finish_order_fail(t, f, problem ? problem : "{}", j.ref)) != STORE_OK)
			goto out;
	} else {
		j.state = STORE_JOB_DONE;
		free(j.error);
		j.error = NULL;
		if (j.kind == STORE_JOB_UPSTREAM_ORDER && (e = finish_order_done(t, f, &j)) != STORE_OK)
			goto out;
		if (j.kind == STORE_JOB_ARI_FETCH && (e = finish_ari(t, f, &j)) != STORE_OK)
			goto out;
		if (f->next_due > 0) {
			j.state = STORE_JOB_QUEUED;
			j.due = f->next_due;
		}
	}
	e = store_job_put(t, &j, 0);
out:
	store_job_free(&j);
	return e;
}

enum acme_err
acme_job_finish(struct store *s, const struct acme_config *cfg, const struct acme_job_item *it,
    const struct acme_job_result *r, int64_t now, int64_t *next_due)
{
	struct finish f;
	enum store_err e;
	enum acme_err rc = ACME_ESTORE;

	*next_due = 0;
	memset(&f, 0, sizeof(f));
	f.cfg = cfg;
	f.it = it;
	f.r = r;
	f.now = now;
	if (acme_job_dir(cfg, it->kind, it->dir) == NULL) {
		log_err("job %s: directory %s is not configured for it", it->id, it->dir);
		return ACME_ECONFIG;
	}
	e = store_txn_run(s, STORE_TXN_RW, finish_txn, &f);
	if (e != STORE_OK) {
		log_err("job %s: recording the outcome: %s", it->id, store_strerror(e));
		goto out;
	}
	if (f.lost) {
		log_warn("job %s: the lease was lost; its outcome is not recorded", it->id);
		rc = ACME_EBUSY;
		goto out;
	}
	*next_due = f.next_due;
	if (it->kind == STORE_JOB_UPSTREAM_ORDER && f.outcome == ACME_JOB_DONE &&
	    f.cert.serial[0] != '\0') {
		log_info("order %s: certificate %s issued by the upstream CA", it->ref, f.cert.serial);
		acme_audit("cert.issue", it->dir, "ssssii", "serial", f.cert.serial, "order", it->ref,
		    "account", f.cert.acct, "issuer", "upstream", "not_before", f.cert.not_before,
		    "not_after", f.cert.not_after);
	} else if (f.outcome == ACME_JOB_FAIL) {
		log_info("job %s (%s) failed for good", it->id, acme_job_kind_name(it->kind));
		if (it->kind == STORE_JOB_UPSTREAM_ORDER)
			acme_audit("order.invalid", it->dir, "ss", "order", it->ref, "reason",
			    "the upstream CA refused or did not complete the order");
	} else if (f.outcome == ACME_JOB_RETRY) {
		log_info("job %s (%s): attempt %u failed, again in %llds", it->id,
		    acme_job_kind_name(it->kind), it->attempts + 1, (long long)(f.next_due - now));
	}
	rc = ACME_OK;
out:
	free(f.gave_up);
	store_cert_free(&f.cert);
	return rc;
}

struct tls_request {
	int64_t now, min_gap;
	int queued;
};

static enum store_err
tls_request_txn(struct store_txn *t, void *arg)
{
	struct tls_request *q = arg;
	struct store_job j;
	char id[STORE_JOB_ID_MAX + 1];
	enum store_err e;

	q->queued = 0;
	memset(&j, 0, sizeof(j));
	acme_job_id(STORE_JOB_TLS_RENEW, ACME_TLS_JOB_REF, id);
	e = store_job_get(t, id, &j);
	if (e == STORE_OK && (j.state == STORE_JOB_QUEUED || j.updated + q->min_gap > q->now))
		goto out;              /* under way, or ended too recently */
	if (e != STORE_OK && e != STORE_NOTFOUND)
		goto out;
	e = acme_job_enqueue(t, STORE_JOB_TLS_RENEW, ACME_TLS_SELF, ACME_TLS_JOB_REF, q->now, 1,
	    &q->queued);
out:
	store_job_free(&j);
	return e;
}

enum acme_err
acme_job_tls_request(struct store *s, int64_t now, int64_t min_gap, int *queued)
{
	struct tls_request q;
	enum store_err e;

	memset(&q, 0, sizeof(q));
	q.now = now;
	q.min_gap = min_gap;
	*queued = 0;
	if ((e = store_txn_run(s, STORE_TXN_RW, tls_request_txn, &q)) != STORE_OK) {
		log_err("self-service TLS: queueing the renewal: %s", store_strerror(e));
		return ACME_ESTORE;
	}
	*queued = q.queued;
	return ACME_OK;
}

/* The members of an upstream problem worth passing on. */
static struct json_object *
sub_problem(const char *upstream_json)
{
	static const char *const keep[] = { "type", "detail", "status", "identifier" };
	struct json_object *in = NULL, *out = NULL, *v;
	const char *why;
	size_t i;

	if (upstream_json == NULL ||
	    acme_json_parse(upstream_json, strlen(upstream_json), &in, &why) != ACME_OK)
		return NULL;
	if (json_object_is_type(in, json_type_object) && (out = json_object_new_object()) != NULL)
		for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if ((v = acme_json_get(in, keep[i])) != NULL)
				json_object_object_add(out, keep[i], json_object_get(v));
	json_object_put(in);
	return out;
}

char *
acme_upstream_problem(enum acme_prob outer, const char *detail, const char *upstream_json)
{
	struct json_object *o, *sub, *arr;
	char *s;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	acme_json_add_str(o, "type", acme_prob_urn(outer));
	acme_json_add_str(o, "detail", detail);
	acme_json_add_int(o, "status", acme_prob_status(outer));
	if ((sub = sub_problem(upstream_json)) != NULL) {
		arr = json_object_new_array();
		json_object_array_add(arr, sub);
		json_object_object_add(o, "subproblems", arr);
	}
	s = acme_json_dump(o);
	json_object_put(o);
	return s;
}
