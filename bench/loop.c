/*
 * The load: one epoll loop per client thread, each with its share of the
 * slots. A slot is one unit of work in flight at a time (an account
 * creation, a full issuance flow, or one raw request) on its own kept-alive
 * TLS connection; concurrency C is C slots. When a slot's unit ends it takes
 * the next one from a counter shared by the threads, until the phase's
 * count or time is used up.
 *
 * A flow: newOrder, the authorization, the http-01 challenge (answered by
 * the responder), polls of the authorization until valid, finalize with a
 * CSR for a fresh key, polls of the order while it is processing, the
 * certificate. Each flow asks for a name of its own so that no server can
 * reuse an earlier authorization. Polls wait Retry-After when the answer has
 * one (--poll honour, the default) or the client's own backoff.
 *
 * Nonces: every answer's Replay-Nonce goes into the thread's pool (a FIFO,
 * so that none grows old); a POST takes one, or first asks newNonce when the
 * pool is empty. badNonce is retried (counted as an error) with the nonce
 * of the error answer.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>

#include "bench/bench.h"

#define NONCE_POOL 256
#define NONCE_RETRIES 5

enum step {
	ST_NONE,
	ST_ACCOUNT,
	ST_NEWORDER,
	ST_AUTHZ,
	ST_CHALLENGE,
	ST_POLL_AUTHZ,
	ST_FINALIZE,
	ST_POLL_ORDER,
	ST_CERT,
	ST_RAW,
};

struct thread;

struct slot {
	struct bn_conn conn;
	struct thread *t;
	enum step step;
	uint64_t unit;                 /* index of the account, flow or request */
	const struct bn_account *acct;
	char name[200];
	char *order_url, *authz_url, *chall_url, *finalize_url, *cert_url;
	char token[128];
	int token_live;
	uint64_t flow_t0, req_t0;
	uint64_t flow_deadline, req_deadline;
	uint64_t wake_at;              /* poll timer, 0 = none */
	int backoff_ms;
	/* The POST being made: kept for a newNonce first, or a badNonce retry. */
	enum bn_req_type rq;           /* of the request on the wire */
	enum bn_req_type post_rq;
	const char *post_url;
	char *post_payload;            /* NULL: POST-as-GET */
	int use_jwk;
	int fetching_nonce;
	int nonce_retries;
	struct bn_buf body;
};

struct thread {
	pthread_t thr;
	int ep;
	struct slot *slots;
	int nslots;
	int active;
	char nonces[NONCE_POOL][160];
	int nhead, ntail, ncount;
	struct bn_stats st;
};

/* Set up once by bn_setup(). */
static struct bn_cfg cfg;
static SSL_CTX *ssl_ctx;
static struct sockaddr_storage srv_addr;
static socklen_t srv_addrlen;
static char srv_host[300], srv_hostport[300], srv_origin[320];
static char *url_nonce, *url_account, *url_order;

/* The phase being run. */
static enum bn_phase ph;
static atomic_uint_fast64_t ph_next;
static uint64_t ph_flow_base;          /* flows of earlier phases: names stay fresh */
static _Atomic uint64_t ph_progress;   /* when the last answer arrived (any thread) */
static atomic_int ph_stalled;
static uint64_t ph_total, ph_deadline;
static struct bn_account *ph_accounts;
static size_t ph_naccounts;
static struct bn_key *ph_certkeys;
static size_t ph_ncertkeys;

static void slot_next(struct slot *s);
static void slot_send_post(struct slot *s);

/* ------------------------------------------------------------------ */

static const char *
target_of(const char *url)
{
	size_t n = strlen(srv_origin);

	if (strncmp(url, srv_origin, n) != 0 || (url[n] != '/' && url[n] != '\0'))
		return NULL;
	return url[n] ? url + n : "/";
}

static void
nonce_put(struct thread *t, const char *n)
{
	if (n[0] == '\0')
		return;
	if (t->ncount == NONCE_POOL) {    /* drop the oldest */
		t->nhead = (t->nhead + 1) % NONCE_POOL;
		t->ncount--;
	}
	snprintf(t->nonces[t->ntail], sizeof(t->nonces[0]), "%s", n);
	t->ntail = (t->ntail + 1) % NONCE_POOL;
	t->ncount++;
}

static int
nonce_take(struct thread *t, char *out, size_t cap)
{
	if (t->ncount == 0)
		return -1;
	snprintf(out, cap, "%s", t->nonces[t->nhead]);
	t->nhead = (t->nhead + 1) % NONCE_POOL;
	t->ncount--;
	return 0;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v != NULL ? bn_strdup(v) : NULL;
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The error name for a failed answer: the problem type without the ACME
 * prefix, or http-NNN. */
static void
problem_name(const struct bn_resp *r, char *out, size_t cap)
{
	static const char pre[] = "urn:ietf:params:acme:error:";
	struct json_object *o = json_tokener_parse(r->body.p != NULL ? r->body.p : "");
	const char *type = jstr(o, "type");

	if (type != NULL && strncmp(type, pre, sizeof(pre) - 1) == 0)
		snprintf(out, cap, "%s", type + sizeof(pre) - 1);
	else if (type != NULL)
		snprintf(out, cap, "%s", type);
	else
		snprintf(out, cap, "http-%d", r->status);
	json_object_put(o);
}

/* ------------------------------------------------------------------ */

static void
slot_clear_flow(struct slot *s)
{
	if (s->token_live) {
		bn_resp_del(s->token);
		s->token_live = 0;
	}
	set_str(&s->order_url, NULL);
	set_str(&s->authz_url, NULL);
	set_str(&s->chall_url, NULL);
	set_str(&s->finalize_url, NULL);
	set_str(&s->cert_url, NULL);
	set_str(&s->post_payload, NULL);
	s->wake_at = 0;
	s->req_deadline = 0;
	s->step = ST_NONE;
}

/* The unit failed: count it under name and go on with the next. */
static void
slot_fail(struct slot *s, const char *name)
{
	bn_errs_add(&s->t->st.errs, name, 1);
	s->t->st.failed++;
	slot_clear_flow(s);
	slot_next(s);
}

static void
slot_fail_resp(struct slot *s, const struct bn_resp *r, const char *where)
{
	char prob[128], name[200];

	problem_name(r, prob, sizeof(prob));
	snprintf(name, sizeof(name), "%s (%s)", prob, where);
	slot_fail(s, name);
}

static void
send_req(struct slot *s, enum bn_req_type rq, const char *method, const char *url,
    const char *body, size_t len)
{
	const char *target = target_of(url);

	if (target == NULL) {
		char name[64];

		snprintf(name, sizeof(name), "foreign-url (%s)", bn_req_name[rq]);
		slot_fail(s, name);
		return;
	}
	s->rq = rq;
	s->req_t0 = bn_now_us();
	s->req_deadline = s->req_t0 + (uint64_t)cfg.timeout_s * 1000000u;
	bn_conn_send(&s->conn, method, srv_hostport, target, body, len);
}

/* Start a signed POST (payload NULL: POST-as-GET). */
static void
slot_post(struct slot *s, enum bn_req_type rq, const char *url, const char *payload, int use_jwk)
{
	s->post_rq = rq;
	s->post_url = url;
	set_str(&s->post_payload, payload);
	s->use_jwk = use_jwk;
	s->nonce_retries = 0;
	slot_send_post(s);
}

static void
slot_send_post(struct slot *s)
{
	char nonce[160];

	if (nonce_take(s->t, nonce, sizeof(nonce)) < 0) {
		s->fetching_nonce = 1;
		send_req(s, RQ_NEWNONCE, "HEAD", url_nonce, NULL, 0);
		return;
	}
	bn_buf_reset(&s->body);
	bn_jws(&s->body, &s->acct->key, s->use_jwk ? NULL : s->acct->kid, nonce, s->post_url,
	    s->post_payload);
	send_req(s, s->post_rq, "POST", s->post_url, s->body.p, s->body.len);
}

/* Wait before the next poll: Retry-After (honoured), else the backoff. */
static void
slot_schedule(struct slot *s, enum step next, int retry_after)
{
	uint64_t now = bn_now_us(), delay_us;

	if (now > s->flow_deadline) {
		slot_fail(s, next == ST_POLL_AUTHZ ? "timeout (authorization)" : "timeout (order)");
		return;
	}
	if (cfg.poll_honour && retry_after > 0) {
		delay_us = (uint64_t)retry_after * 1000000u;
		s->t->st.retry_after_ms += (uint64_t)retry_after * 1000u;
		s->t->st.retry_after_n++;
	} else {
		delay_us = (uint64_t)s->backoff_ms * 1000u;
		if (s->backoff_ms * 2 <= cfg.poll_max_ms)
			s->backoff_ms *= 2;
		else
			s->backoff_ms = cfg.poll_max_ms;
	}
	s->step = next;
	s->wake_at = now + (delay_us > 0 ? delay_us : 1);
}

static void
slot_timer(struct slot *s)
{
	switch (s->step) {
	case ST_POLL_AUTHZ:
		s->t->st.polls_authz++;
		slot_post(s, RQ_POLL_AUTHZ, s->authz_url, NULL, 0);
		break;
	case ST_POLL_ORDER:
		s->t->st.polls_order++;
		slot_post(s, RQ_POLL_ORDER, s->order_url, NULL, 0);
		break;
	default:
		break;
	}
}

static void
start_flow(struct slot *s, uint64_t i)
{
	char payload[256];

	s->acct = &ph_accounts[i % ph_naccounts];
	snprintf(s->name, sizeof(s->name), "%s%llu.%s", cfg.name_prefix,
	    (unsigned long long)(ph_flow_base + i), cfg.name_domain);
	s->flow_t0 = bn_now_us();
	s->flow_deadline = s->flow_t0 + (uint64_t)cfg.timeout_s * 1000000u;
	s->backoff_ms = cfg.poll_min_ms;
	s->step = ST_NEWORDER;
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}",
	    s->name);
	slot_post(s, RQ_NEWORDER, url_order, payload, 0);
}

/* Take the next unit of the phase, or go idle. */
static void
slot_next(struct slot *s)
{
	uint64_t i;

	slot_clear_flow(s);
	if (ph_deadline != 0 && bn_now_us() >= ph_deadline)
		goto idle;
	i = atomic_fetch_add(&ph_next, 1);
	if (ph_total != 0 && i >= ph_total)
		goto idle;
	s->unit = i;
	switch (ph) {
	case PH_ACCOUNTS:
		s->acct = &ph_accounts[i];
		s->step = ST_ACCOUNT;
		slot_post(s, RQ_NEWACCOUNT, url_account, "{\"termsOfServiceAgreed\":true}", 1);
		return;
	case PH_FLOWS:
		start_flow(s, i);
		return;
	case PH_NONCE:
		s->step = ST_RAW;
		send_req(s, RQ_NEWNONCE, "HEAD", url_nonce, NULL, 0);
		return;
	case PH_NONCE_GET:
		s->step = ST_RAW;
		send_req(s, RQ_NEWNONCE, "GET", url_nonce, NULL, 0);
		return;
	case PH_DIRECTORY:
		s->step = ST_RAW;
		send_req(s, RQ_DIRECTORY, "GET", cfg.dir_url, NULL, 0);
		return;
	}
idle:
	s->step = ST_NONE;
	s->t->active--;
}

static void
flow_done(struct slot *s)
{
	bn_lat_add(&s->t->st.flow, bn_now_us() - s->flow_t0);
	s->t->st.ok++;
	slot_next(s);
}

/* After the authorization is valid: finalize with the CSR of a fresh key. */
static void
flow_finalize(struct slot *s)
{
	struct bn_buf p = { 0 };

	if (s->token_live) {
		bn_resp_del(s->token);
		s->token_live = 0;
	}
	bn_buf_adds(&p, "{\"csr\":\"");
	bn_csr(&p, &ph_certkeys[s->unit % ph_ncertkeys], s->name);
	bn_buf_adds(&p, "\"}");
	s->step = ST_FINALIZE;
	s->backoff_ms = cfg.poll_min_ms;
	slot_post(s, RQ_FINALIZE, s->finalize_url, p.p, 0);
	bn_buf_free(&p);
}

/* An order answer (finalize or poll): download, wait, or fail. */
static void
flow_order(struct slot *s, const struct bn_resp *r, struct json_object *o)
{
	const char *st = jstr(o, "status"), *cert = jstr(o, "certificate");

	if (st != NULL && strcmp(st, "valid") == 0 && cert != NULL) {
		set_str(&s->cert_url, cert);
		s->step = ST_CERT;
		slot_post(s, RQ_CERT, s->cert_url, NULL, 0);
	} else if (st != NULL && (strcmp(st, "processing") == 0 || strcmp(st, "ready") == 0 ||
	    strcmp(st, "pending") == 0)) {
		slot_schedule(s, ST_POLL_ORDER, r->retry_after);
	} else {
		char name[128];

		snprintf(name, sizeof(name), "order-%s", st != NULL ? st : "unknown");
		slot_fail(s, name);
	}
}

/* The http-01 challenge of an authorization: publish and answer it. */
static void
flow_challenge(struct slot *s, struct json_object *o)
{
	struct json_object *chs, *ch;
	const char *st = jstr(o, "status");
	char ka[256];
	size_t i, n;

	if (st != NULL && strcmp(st, "valid") == 0) {
		flow_finalize(s);
		return;
	}
	if (!json_object_object_get_ex(o, "challenges", &chs) ||
	    !json_object_is_type(chs, json_type_array)) {
		slot_fail(s, "authz-without-challenges");
		return;
	}
	n = json_object_array_length(chs);
	for (i = 0; i < n; i++) {
		const char *type, *url, *tok;

		ch = json_object_array_get_idx(chs, i);
		type = jstr(ch, "type");
		url = jstr(ch, "url");
		tok = jstr(ch, "token");
		if (type == NULL || strcmp(type, "http-01") != 0 || url == NULL || tok == NULL ||
		    strlen(tok) >= sizeof(s->token))
			continue;
		set_str(&s->chall_url, url);
		snprintf(s->token, sizeof(s->token), "%s", tok);
		snprintf(ka, sizeof(ka), "%s.%s", tok, s->acct->key.thumb);
		bn_resp_put(s->token, ka);
		s->token_live = 1;
		s->step = ST_CHALLENGE;
		slot_post(s, RQ_CHALLENGE, s->chall_url, "{}", 0);
		return;
	}
	slot_fail(s, "no-http-01-challenge");
}

/* The challenge's error type, for an authorization that went invalid. */
static void
authz_invalid(struct slot *s, struct json_object *o)
{
	struct json_object *chs, *err;
	char name[200];
	const char *type = NULL;
	size_t i;

	if (json_object_object_get_ex(o, "challenges", &chs) &&
	    json_object_is_type(chs, json_type_array))
		for (i = 0; i < json_object_array_length(chs) && type == NULL; i++)
			if (json_object_object_get_ex(json_object_array_get_idx(chs, i), "error", &err))
				type = jstr(err, "type");
	snprintf(name, sizeof(name), "authz-invalid (%s)",
	    type != NULL ? (strrchr(type, ':') ? strrchr(type, ':') + 1 : type) : "no error");
	slot_fail(s, name);
}

/* The directory's URLs, from its first answer (in bn_setup). */
static void
take_directory(const struct bn_resp *r)
{
	struct json_object *o = json_tokener_parse(r->body.p != NULL ? r->body.p : "");
	const char *v;

	if ((v = jstr(o, "newNonce")) != NULL)
		url_nonce = bn_strdup(v);
	if ((v = jstr(o, "newAccount")) != NULL)
		url_account = bn_strdup(v);
	if ((v = jstr(o, "newOrder")) != NULL)
		url_order = bn_strdup(v);
	json_object_put(o);
}

static void
on_answer(struct slot *s, const struct bn_resp *r)
{
	struct json_object *o = NULL;
	const char *v;

	switch (s->step) {
	case ST_RAW:
		if (r->status != 200 && r->status != 204) {
			slot_fail_resp(s, r, bn_req_name[s->rq]);
			return;
		}
		if (s->rq == RQ_DIRECTORY && url_nonce == NULL)
			take_directory(r);
		s->t->st.ok++;
		slot_next(s);
		return;
	case ST_ACCOUNT:
		if ((r->status != 201 && r->status != 200) || r->location[0] == '\0') {
			slot_fail_resp(s, r, "newAccount");
			return;
		}
		set_str(&ph_accounts[s->unit].kid, r->location);
		s->t->st.ok++;
		slot_next(s);
		return;
	case ST_CERT:
		if (r->status != 200 || r->body.p == NULL ||
		    strstr(r->body.p, "-----BEGIN CERTIFICATE-----") == NULL) {
			slot_fail_resp(s, r, "certificate");
			return;
		}
		flow_done(s);
		return;
	default:
		break;
	}

	if (r->status >= 300) {
		slot_fail_resp(s, r, bn_req_name[s->rq]);
		return;
	}
	o = json_tokener_parse(r->body.p != NULL ? r->body.p : "");
	if (o == NULL) {
		slot_fail(s, "bad-json");
		return;
	}
	switch (s->step) {
	case ST_NEWORDER: {
		struct json_object *az;

		if (r->status != 201 || r->location[0] == '\0' || (v = jstr(o, "finalize")) == NULL ||
		    !json_object_object_get_ex(o, "authorizations", &az) ||
		    !json_object_is_type(az, json_type_array) || json_object_array_length(az) < 1 ||
		    jstr(o, "status") == NULL) {
			slot_fail(s, "bad-order");
			break;
		}
		set_str(&s->order_url, r->location);
		set_str(&s->finalize_url, v);
		set_str(&s->authz_url, json_object_get_string(json_object_array_get_idx(az, 0)));
		s->step = ST_AUTHZ;
		slot_post(s, RQ_AUTHZ, s->authz_url, NULL, 0);
		break;
	}
	case ST_AUTHZ:
		flow_challenge(s, o);
		break;
	case ST_CHALLENGE:
		v = jstr(o, "status");
		if (v != NULL && strcmp(v, "invalid") == 0) {
			slot_fail(s, "challenge-invalid");
			break;
		}
		s->backoff_ms = cfg.poll_min_ms;
		slot_schedule(s, ST_POLL_AUTHZ, r->retry_after);
		break;
	case ST_POLL_AUTHZ:
		v = jstr(o, "status");
		if (v != NULL && strcmp(v, "valid") == 0)
			flow_finalize(s);
		else if (v != NULL && strcmp(v, "pending") == 0)
			slot_schedule(s, ST_POLL_AUTHZ, r->retry_after);
		else
			authz_invalid(s, o);
		break;
	case ST_FINALIZE:
	case ST_POLL_ORDER:
		flow_order(s, r, o);
		break;
	default:
		slot_fail(s, "internal-state");
		break;
	}
	json_object_put(o);
}

static void
on_conn(struct bn_conn *c, const char *err, struct bn_resp *r)
{
	struct slot *s = (struct slot *)c;
	struct thread *t = s->t;
	uint64_t now = bn_now_us();

	s->req_deadline = 0;
	if (err == NULL)
		atomic_store(&ph_progress, now);
	if (err != NULL) {
		char name[64];

		snprintf(name, sizeof(name), "transport:%s (%s)", err, bn_req_name[s->rq]);
		s->fetching_nonce = 0;
		slot_fail(s, name);
		return;
	}
	bn_lat_add(&t->st.req[s->rq], now - s->req_t0);
	if (ph != PH_NONCE && ph != PH_NONCE_GET)
		nonce_put(t, r->nonce);
	if (s->fetching_nonce) {
		s->fetching_nonce = 0;
		if (r->status != 200 && r->status != 204) {
			slot_fail_resp(s, r, "newNonce");
			return;
		}
		slot_send_post(s);
		return;
	}
	if (r->status == 400 && s->step != ST_RAW && s->nonce_retries < NONCE_RETRIES) {
		char prob[128];

		problem_name(r, prob, sizeof(prob));
		if (strcmp(prob, "badNonce") == 0) {
			bn_errs_add(&t->st.errs, "badNonce (retried)", 1);
			s->nonce_retries++;
			slot_send_post(s);
			return;
		}
	}
	on_answer(s, r);
}

/* ------------------------------------------------------------------ */

/*
 * The server stopped answering (requests are out and nothing came back for
 * stall_s): end the phase here, every unit in flight failed.
 */
static void
thread_abort(struct thread *t)
{
	char name[64];
	int i;

	for (i = 0; i < t->nslots; i++) {
		struct slot *s = &t->slots[i];

		if (s->step == ST_NONE)
			continue;
		snprintf(name, sizeof(name), "stalled (%s)", bn_req_name[s->rq]);
		bn_errs_add(&t->st.errs, name, 1);
		t->st.failed++;
		bn_conn_close(&s->conn);
		s->fetching_nonce = 0;
		slot_clear_flow(s);
	}
	t->st.stalled = 1;
	t->active = 0;
}

static int
thread_stalled(struct thread *t, uint64_t now)
{
	int i, out = 0;

	if (atomic_load(&ph_stalled))
		return 1;
	if (cfg.stall_s <= 0 || now < atomic_load(&ph_progress) + (uint64_t)cfg.stall_s * 1000000u)
		return 0;
	for (i = 0; i < t->nslots; i++)
		out |= t->slots[i].req_deadline != 0;
	if (out)
		atomic_store(&ph_stalled, 1);
	return out;
}

static void *
thread_main(void *arg)
{
	struct thread *t = arg;
	struct epoll_event evs[128];
	int i, n;

	for (i = 0; i < t->nslots; i++) {
		t->active++;
		slot_next(&t->slots[i]);
	}
	while (t->active > 0) {
		uint64_t now = bn_now_us(), next = 0;
		int timeout = -1;

		for (i = 0; i < t->nslots; i++) {
			struct slot *s = &t->slots[i];

			if (s->wake_at != 0 && (next == 0 || s->wake_at < next))
				next = s->wake_at;
			if (s->req_deadline != 0 && (next == 0 || s->req_deadline < next))
				next = s->req_deadline;
		}
		if (next != 0)
			timeout = next <= now ? 0 : (int)((next - now + 999) / 1000);
		if (cfg.stall_s > 0 && (timeout < 0 || timeout > 200))
			timeout = 200;
		n = epoll_wait(t->ep, evs, 128, timeout);
		if (n < 0 && errno != EINTR)
			bn_die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++)
			bn_conn_io(evs[i].data.ptr, evs[i].events);
		now = bn_now_us();
		for (i = 0; i < t->nslots; i++) {
			struct slot *s = &t->slots[i];

			if (s->wake_at != 0 && s->wake_at <= now) {
				s->wake_at = 0;
				slot_timer(s);
			} else if (s->req_deadline != 0 && s->req_deadline <= now) {
				bn_conn_close(&s->conn);
				on_conn(&s->conn, "timeout", NULL);
			}
		}
		if (thread_stalled(t, now))
			thread_abort(t);
	}
	return NULL;
}

void
bn_setup(const struct bn_cfg *c)
{
	struct addrinfo hints, *ai = NULL;
	const char *p, *slash;
	char port[16];
	struct bn_stats st;
	int e;

	cfg = *c;
	bn_crypto_init();
	if (strncmp(cfg.dir_url, "https://", 8) != 0)
		bn_die("the directory URL must be https://: %s", cfg.dir_url);
	p = cfg.dir_url + 8;
	slash = strchr(p, '/');
	if (slash == NULL || (size_t)(slash - p) >= sizeof(srv_hostport))
		bn_die("bad directory URL %s", cfg.dir_url);
	snprintf(srv_hostport, sizeof(srv_hostport), "%.*s", (int)(slash - p), p);
	snprintf(srv_origin, sizeof(srv_origin), "https://%s", srv_hostport);
	snprintf(srv_host, sizeof(srv_host), "%s", srv_hostport);
	snprintf(port, sizeof(port), "443");
	{
		char *colon = strrchr(srv_host, ':');

		if (colon != NULL && strchr(colon, ']') == NULL) {
			snprintf(port, sizeof(port), "%s", colon + 1);
			*colon = '\0';
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_INET;     /* both servers listen on 127.0.0.1 */
	if ((e = getaddrinfo(srv_host, port, &hints, &ai)) != 0)
		bn_die("%s: %s", srv_host, gai_strerror(e));
	memcpy(&srv_addr, ai->ai_addr, ai->ai_addrlen);
	srv_addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);

	if ((ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		bn_die("SSL_CTX_new failed");
	SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
	if (!SSL_CTX_load_verify_locations(ssl_ctx, cfg.cafile, NULL))
		bn_die("cannot load CA file %s", cfg.cafile);
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);

	/* The directory, with the request machinery itself. */
	memset(&st, 0, sizeof(st));
	bn_run_phase(PH_DIRECTORY, 1, 0, 1, &st, NULL);
	if (st.ok != 1)
		bn_die("cannot read the directory %s (%s)", cfg.dir_url,
		    st.errs.n ? st.errs.e[0].name : "?");
	bn_stats_free(&st);
	if (url_nonce == NULL || url_account == NULL || url_order == NULL)
		bn_die("the directory lacks newNonce, newAccount or newOrder");
	if (target_of(url_nonce) == NULL || target_of(url_account) == NULL ||
	    target_of(url_order) == NULL)
		bn_die("the directory's URLs are not on %s", srv_origin);
}

void
bn_set_keys(struct bn_account *accts, size_t naccts, struct bn_key *certkeys, size_t ncert)
{
	ph_accounts = accts;
	ph_naccounts = naccts;
	ph_certkeys = certkeys;
	ph_ncertkeys = ncert;
}

void
bn_run_phase(enum bn_phase p, uint64_t total, double seconds, int conc, struct bn_stats *out,
    double *wall_s)
{
	struct thread *ts;
	int nt = cfg.threads > 0 ? cfg.threads : 1, i, j, k = 0;
	uint64_t t0;

	if (nt > conc)
		nt = conc;
	ph = p;
	ph_total = total;
	atomic_store(&ph_next, 0);
	ts = bn_calloc((size_t)nt, sizeof(*ts));
	t0 = bn_now_us();
	atomic_store(&ph_progress, t0);
	atomic_store(&ph_stalled, 0);
	ph_deadline = seconds > 0 ? t0 + (uint64_t)(seconds * 1e6) : 0;
	for (i = 0; i < nt; i++) {
		struct thread *t = &ts[i];

		t->nslots = conc / nt + (i < conc % nt);
		t->slots = bn_calloc((size_t)t->nslots, sizeof(*t->slots));
		if ((t->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
			bn_die("epoll_create1: %s", strerror(errno));
		for (j = 0; j < t->nslots; j++, k++) {
			struct slot *s = &t->slots[j];

			bn_conn_init(&s->conn, t->ep, ssl_ctx, (struct sockaddr *)&srv_addr,
			    srv_addrlen, srv_host, on_conn, s);
			s->t = t;
		}
	}
	if (nt == 1) {
		thread_main(&ts[0]);
	} else {
		for (i = 0; i < nt; i++)
			if (pthread_create(&ts[i].thr, NULL, thread_main, &ts[i]) != 0)
				bn_die("pthread_create failed");
		for (i = 0; i < nt; i++)
			pthread_join(ts[i].thr, NULL);
	}
	if (wall_s != NULL)
		*wall_s = (double)((atomic_load(&ph_stalled) ? atomic_load(&ph_progress) : bn_now_us()) -
		    t0) / 1e6;
	if (p == PH_FLOWS)
		ph_flow_base += atomic_load(&ph_next);
	for (i = 0; i < nt; i++) {
		struct thread *t = &ts[i];

		for (j = 0; j < t->nslots; j++) {
			out->connections += t->slots[j].conn.connects;
			bn_conn_free(&t->slots[j].conn);
			bn_buf_free(&t->slots[j].body);
			slot_clear_flow(&t->slots[j]);
		}
		bn_stats_merge(out, &t->st);
		bn_stats_free(&t->st);
		free(t->slots);
		close(t->ep);
	}
	free(ts);
}
