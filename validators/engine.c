#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "core/log.h"
#include "store/store.h"
#include "validators/curlm.h"
#include "validators/dns.h"
#include "validators/val.h"

/* How long after its deadline a job is cut off by force; the modules' own
 * timeouts normally end it first. */
#define VAL_GUARD_SLACK_MS 1000

struct val_engine {
	struct val_loop *loop;
	struct val_dns *dns;
	struct val_curlm *curlm;
	SSL_CTX *tls;                  /* tls-alpn-01 client context */
	struct val_job *jobs;
	size_t njobs;
};

void
val_opts_from_config(struct val_opts *o, const struct acme_config *cfg, const char *dir)
{
	const struct acme_dir_config *d = NULL;

	memset(o, 0, sizeof(*o));
	o->http_port = 80;
	o->tls_port = 443;
	o->connect_ms = VAL_CONNECT_MS;
	o->total_ms = VAL_TOTAL_MS;
	o->dns_ms = VAL_DNS_MS;
	if (cfg == NULL)
		return;
	if (cfg->validation_connect_timeout > 0 && cfg->validation_connect_timeout <= 3600)
		o->connect_ms = (int)cfg->validation_connect_timeout * 1000;
	if (cfg->validation_timeout > 0 && cfg->validation_timeout <= 3600)
		o->total_ms = (int)cfg->validation_timeout * 1000;
	/* One query never outlasts the whole validation. */
	if (o->dns_ms > o->total_ms)
		o->dns_ms = o->total_ms;
	if (cfg->http01_port > 0 && cfg->http01_port < 65536)
		o->http_port = cfg->http01_port;
	if (cfg->tlsalpn01_port > 0 && cfg->tlsalpn01_port < 65536)
		o->tls_port = cfg->tlsalpn01_port;
	if (dir != NULL)
		d = acme_config_dir(cfg, dir);
	if (d == NULL)
		d = cfg->default_dir;
	if (d != NULL) {
		o->allow_private = d->allow_private;
		o->caa_identity = (const char *const *)d->caa_identity;
		o->ncaa_identity = d->ncaa_identity;
	}
}

const char *
val_chall_name(unsigned type)
{
	static const char *const names[] = { "?", "http-01", "dns-01", "tls-alpn-01" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

/* The tls-alpn-01 client: TLS 1.2 or later, offering exactly acme-tls/1,
 * no certificate verification (the challenge certificate is self-signed),
 * no session resumption. */
static SSL_CTX *
engine_tls_ctx(void)
{
	static const unsigned char alpn[] = "\x0a" "acme-tls/1";
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		acme_log_ssl("tls: SSL_CTX_new");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
		acme_log_ssl("tls: context set-up");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	return ctx;
}

enum acme_err
val_engine_new(struct val_loop *l, const char *resolver, struct val_engine **out)
{
	static int curl_ready;
	enum acme_err rc = ACME_ENOMEM;
	struct val_engine *e;
	CURLcode cc;

	*out = NULL;
	signal(SIGPIPE, SIG_IGN);
	if (!curl_ready) {
		if ((cc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
			log_err("curl: global init: %s", curl_easy_strerror(cc));
			return ACME_EIO;
		}
		curl_ready = 1;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto out;
	e->loop = l;
	if ((rc = val_dns_new(l, resolver, &e->dns)) != ACME_OK)
		goto out;
	if ((rc = val_curlm_new(l, &e->curlm)) != ACME_OK)
		goto out;
	if ((e->tls = engine_tls_ctx()) == NULL) {
		rc = ACME_ECRYPTO;
		goto out;
	}
	*out = e;
	e = NULL;
	rc = ACME_OK;
out:
	val_engine_free(e);
	return rc;
}

enum acme_err
val_engine_trust_anchor(struct val_engine *e, const char *path)
{
	return val_dns_trust_anchor(e->dns, path);
}

static void
job_free(struct val_job *j)
{
	struct val_engine *e = j->eng;

	val_timer_disarm(e->loop, &j->guard);
	val_timer_disarm(e->loop, &j->kick);
	if (j->cancel != NULL)
		j->cancel(j);
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		e->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	e->njobs--;
	free(j->caa_ids);
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* Copy the CAA identities into one block the job owns (the pointer array,
 * then the strings), so that a configuration reload cannot free them. */
static enum acme_err
job_copy_ids(struct val_job *j, const char *const *ids, size_t n)
{
	size_t i, len = 0, o;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(ids[i]) + 1;
	if ((j->caa_ids = malloc(n * sizeof(char *) + len + 1)) == NULL)
		return ACME_ENOMEM;
	s = (char *)(j->caa_ids + n);
	for (i = 0, o = 0; i < n; i++) {
		len = strlen(ids[i]) + 1;
		memcpy(s + o, ids[i], len);
		j->caa_ids[i] = s + o;
		o += len;
	}
	j->ncaa_ids = n;
	return ACME_OK;
}

void
val_engine_free(struct val_engine *e)
{
	if (e == NULL)
		return;
	while (e->jobs != NULL)
		job_free(e->jobs);
	val_curlm_free(e->curlm);
	val_dns_free(e->dns);
	SSL_CTX_free(e->tls);
	free(e);
}

size_t
val_engine_inflight(const struct val_engine *e)
{
	return e->njobs;
}

struct val_loop *
val_job_loop(const struct val_job *j)
{
	return j->eng->loop;
}

struct val_dns *
val_job_dns(const struct val_job *j)
{
	return j->eng->dns;
}

struct val_curlm *
val_job_curlm(const struct val_job *j)
{
	return j->eng->curlm;
}

struct ssl_ctx_st *
val_job_tls(const struct val_job *j)
{
	return j->eng->tls;
}

int
val_job_left(const struct val_job *j)
{
	int64_t left = j->deadline - val_now_ms();

	if (left < 1)
		return 1;
	if (left > 3600000)
		return 3600000;
	return (int)left;
}

const char *
val_job_ident(const struct val_job *j)
{
	return j->item.ident;
}

static void job_guard(void *arg);
static void job_kick(void *arg);

/* The challenge passed: release its module and start the CAA check, with a
 * time budget of its own. */
static enum acme_err
job_caa_phase(struct val_job *j)
{
	struct val_engine *e = j->eng;
	enum acme_err rc;

	if (j->cancel != NULL)
		j->cancel(j);
	j->state = NULL;
	j->start = NULL;
	j->cancel = NULL;
	j->overrun = NULL;
	j->caa_phase = 1;
	if ((rc = val_caa_init(j)) != ACME_OK)
		return rc;
	j->deadline = val_now_ms() + j->opts.total_ms;
	val_timer_arm(e->loop, &j->kick, 0, job_kick, j);
	val_timer_arm(e->loop, &j->guard, j->opts.total_ms + VAL_GUARD_SLACK_MS, job_guard, j);
	return ACME_OK;
}

void
val_job_finish(struct val_job *j, const struct acme_problem *prob)
{
	struct acme_val_item item = j->item;
	val_done_fn done = j->done;
	void *arg = j->arg;
	struct acme_problem p;
	enum acme_err rc;
	int caa_checked;

	memset(&p, 0, sizeof(p));
	if (prob == NULL && !j->caa_phase && j->item.kind == ACME_VAL_CHALLENGE && j->item.caa &&
	    j->item.ident_type == STORE_IDENT_DNS) {
		if ((rc = job_caa_phase(j)) == ACME_OK)
			return;
		log_err("authz %s %s: cannot start the CAA check: %s", j->item.authz, j->item.ident,
		    acme_strerror(rc));
		acme_problem_set(&p, PROB_SERVER_INTERNAL, "The CAA check could not be started: %s",
		    acme_strerror(rc));
		prob = &p;
	}
	/* Free first, then report: the callback may start new work, and must
	 * find this job's slot free and its sockets closed. */
	caa_checked = j->caa_phase && prob == NULL;
	job_free(j);
	done(arg, &item, prob, caa_checked);
	explicit_bzero(&item, sizeof(item));
}

static void
job_guard(void *arg)
{
	struct val_job *j = arg;
	struct acme_problem p;

	memset(&p, 0, sizeof(p));
	if (j->overrun != NULL)
		j->overrun(j, &p);
	else
		acme_problem_set(&p, PROB_CONNECTION, "%s: validation timed out after %d ms",
		    j->item.ident, j->opts.total_ms);
	val_job_finish(j, &p);
}

static void
job_kick(void *arg)
{
	struct val_job *j = arg;

	j->start(j);
}

/* The module that runs first: the challenge's, or CAA's for a re-check. */
static enum acme_err
job_module_init(struct val_job *j)
{
	if (j->item.kind == ACME_VAL_CAA) {
		j->caa_phase = 1;
		return val_caa_init(j);
	}
	switch (j->item.type) {
	case STORE_CH_HTTP01:
		return val_http01_init(j);
	case STORE_CH_DNS01:
		return val_dns01_init(j);
	case STORE_CH_TLSALPN01:
		return val_tlsalpn01_init(j);
	default:
		return ACME_EINVAL;
	}
}

enum acme_err
val_start(struct val_engine *e, const struct acme_val_item *item, const struct val_opts *o,
    val_done_fn done, void *arg)
{
	enum acme_err rc = ACME_EINVAL;
	struct val_job *j = NULL;

	if (item->ident[0] == '\0' || memchr(item->ident, '\0', sizeof(item->ident)) == NULL ||
	    memchr(item->keyauth, '\0', sizeof(item->keyauth)) == NULL ||
	    memchr(item->acct_url, '\0', sizeof(item->acct_url)) == NULL)
		goto out;
	/* A challenge needs its key authorization; a CAA re-check does not. */
	if (item->kind != ACME_VAL_CAA && item->keyauth[0] == '\0')
		goto out;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	j->eng = e;
	j->item = *item;
	j->opts = *o;
	if (j->opts.total_ms <= 0)
		j->opts.total_ms = VAL_TOTAL_MS;
	if (j->opts.connect_ms <= 0)
		j->opts.connect_ms = VAL_CONNECT_MS;
	if (j->opts.dns_ms <= 0)
		j->opts.dns_ms = VAL_DNS_MS;
	j->done = done;
	j->arg = arg;
	j->deadline = val_now_ms() + j->opts.total_ms;
	/* The identities outlive o (a reload may free them meanwhile). */
	j->opts.caa_identity = NULL;
	j->opts.ncaa_identity = 0;
	if (item->caa || item->kind == ACME_VAL_CAA) {
		if ((rc = job_copy_ids(j, o->caa_identity, o->caa_identity ? o->ncaa_identity : 0)) !=
		    ACME_OK)
			goto out;
	}
	if ((rc = job_module_init(j)) != ACME_OK)
		goto out;
	j->next = e->jobs;
	if (e->jobs != NULL)
		e->jobs->prev = j;
	e->jobs = j;
	e->njobs++;
	/* Start from the loop, so that done is never called from in here. */
	val_timer_arm(e->loop, &j->kick, 0, job_kick, j);
	val_timer_arm(e->loop, &j->guard, j->opts.total_ms + VAL_GUARD_SLACK_MS, job_guard, j);
	j = NULL;
	rc = ACME_OK;
out:
	if (j != NULL) {
		if (j->cancel != NULL)
			j->cancel(j);
		free(j->caa_ids);
		free(j);
	}
	return rc;
}

void
val_escape(char *out, size_t cap, const void *s, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = s;
	size_t i, o = 0;
	int cut = len > max;

	if (cap == 0)
		return;
	if (cut)
		len = max;
	for (i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)p[i];
		} else {
			if (o + 4 >= cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 0xf];
		}
	}
	if (i < len)
		cut = 1;
	if (cut && o + 3 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}
