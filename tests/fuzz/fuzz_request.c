/*
 * The whole request path (core/acme.h, acme_handle): router, JWS
 * authentication, nonces, every handler with its payload, the store, the
 * CA. The core runs as a worker would (tests/fuzz/fuzzstate.c: a state
 * directory with a CA and one directory, "default"), created once.
 *
 * To get past authentication the harness signs for the fuzzer: with the
 * sign flag, the body of the input is the JWS payload and the harness wraps
 * it in a JWS with a fresh nonce, the request's URL, and the account's kid
 * (or a jwk). A fixture kept across runs gives the fuzzer things to name:
 * placeholders in the path, the extra header members and the payload are
 * replaced before signing:
 *   @K the account URL (kid)     @A its id         @N a fresh nonce
 *   @O a ready order's id         @Z a pending authorization's id
 *   @S a certificate's serial     @R its ARI CertID @D its DER (base64url)
 *   @V a CSR for the ready order (base64url)
 *   @J a keyChange inner JWS to a new key          @E an EAB binding
 * The fixture is built once, then the store is snapshot (fuzzstate.c) and
 * put back before every input that follows one that wrote to it: each
 * input meets the same store, whatever ran before, so a crash replays
 * from its file alone. The snapshot is rebuilt every FX_MAX_AGE seconds,
 * before the pending authorization in it expires.
 *
 * Input: flags byte 1 (bits 0-1 the method: GET, HEAD, POST, or the first
 * line; bit 2 sign; bit 3 sign with a jwk instead of the kid; bit 4 leave
 * out the nonce; bit 5 send an Origin; bit 6 the content type is a line of
 * the input; bit 7 the front says the body was too big), flags byte 2
 * (bits 0-1 the jwk key: the account's, Ed25519, RSA with RS256, RSA with
 * PS256; bit 2 leave out url; bit 3 leave out kid/jwk; bit 4 leave out alg;
 * bit 5 the jwk key is the certificate's, to revoke by certificate key),
 * then lines: [method,] path[?query], [content type,] [extra protected
 * header members when signing,] and the rest is the body or payload.
 *
 * Beyond not crashing or leaking: every response has a status in 100..599
 * that is never 500, headers that fit on one line, a body that is strict
 * JSON when it says so, problem documents with a type and the HTTP status,
 * and a Replay-Nonce on every POST.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "core/internal.h"
#include "core/json.h"
#include "core/validation.h"
#include "tests/fuzz/fuzzlib.h"
#include "tests/lib/testkeys.h"

#define IDENT "fuzz.example"
#define FX_MAX_AGE 900          /* seconds; pending authorizations live an hour */
#define URL(path) FZ_BASE_URL FZ_DIR_PREFIX path

static struct fz_state *st;

static struct {
	EVP_PKEY *key;                 /* the account's key (owned) */
	char *jwk;                     /* its canonical JWK */
	char thumb[44];
	EVP_PKEY *next;                /* the key of the @J key change (owned) */
	char next_thumb[44];
	store_id acct;
	char kid[256];
	store_id order;                /* ready */
	store_id authz;                /* pending */
	char serial[STORE_SERIAL_MAX + 1];
	char ari[STORE_ARI_MAX + 1];
	char *cert_b64;
	char *csr_b64;
	unsigned counter;
	time_t built;                  /* when the snapshot was taken */
	unsigned long runs, restores, rebuilds;
} fx;

/* ------------------------------------------------------------------ */
/* Requests and responses */

static void
check_resp(const struct acme_req *q, const struct acme_resp *r)
{
	struct json_object *o = NULL;
	const char *why, *type;
	size_t i, k;
	int nonce = 0;

	/* FUZZ_SHOW=1: each request and its answer, to check what seeds reach. */
	if (getenv("FUZZ_SHOW") != NULL)
		fprintf(stderr, "%s %s -> %d %.*s\n", q->method, q->path, r->status,
		    r->content_type && strstr(r->content_type, "json") ? (int)(r->body_len > 300 ? 300 :
		    r->body_len) : 0, r->body ? r->body : "");
	FZ_CHECK(r->status >= 100 && r->status <= 599);
	FZ_CHECK(r->status != 500);
	FZ_CHECK(!r->fatal);
	FZ_CHECK(r->nhdr <= ACME_MAX_HDRS);
	for (i = 0; i < r->nhdr; i++) {
		FZ_CHECK(r->hdr[i].name != NULL && r->hdr[i].value != NULL);
		for (k = 0; r->hdr[i].value[k] != '\0'; k++)
			FZ_CHECK((unsigned char)r->hdr[i].value[k] >= 0x20 || r->hdr[i].value[k] == '\t');
		if (strcmp(r->hdr[i].name, "Replay-Nonce") == 0)
			nonce = 1;
	}
	/* Every POST to a directory gets a nonce, errors included (a path in
	 * no directory is answered before the router knows one). */
	if (strcmp(q->method, "POST") == 0 && strncmp(q->path, FZ_DIR_PREFIX, strlen(FZ_DIR_PREFIX)) == 0)
		FZ_CHECK(nonce);
	FZ_CHECK(r->body_len == 0 || r->body != NULL);
	if (r->content_type != NULL && strstr(r->content_type, "json") != NULL) {
		FZ_CHECK(acme_json_parse(r->body, r->body_len, &o, &why) == ACME_OK);
		FZ_CHECK(json_object_is_type(o, json_type_object));
		if (strcmp(r->content_type, "application/problem+json") == 0) {
			type = acme_json_str(o, "type");
			FZ_CHECK(type != NULL && strncmp(type, "urn:ietf:params:acme:error:", 27) == 0);
			FZ_CHECK(json_object_get_int(acme_json_get(o, "status")) == r->status);
		}
		json_object_put(o);
	}
}

static void
call(const char *method, const char *path, const char *query, const char *ctype,
    const char *origin, const void *body, size_t len, int too_big, struct acme_resp *r)
{
	struct acme_req q;

	memset(&q, 0, sizeof(q));
	q.method = method;
	q.path = path;
	q.query = query;
	q.content_type = ctype;
	q.origin = origin;
	q.remote_addr = "192.0.2.7";
	q.body = body;
	q.body_len = len;
	q.body_too_big = too_big;
	acme_handle(st->ctx, &q, r);
	check_resp(&q, r);
}

static char *
nonce(void)
{
	char n[24];

	FZ_CHECK(acme_nonce_new(st->ctx, n) == ACME_OK);
	return fz_strndup(n, strlen(n));
}

static const char *
alg_of(EVP_PKEY *k, int pss)
{
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519)
		return "EdDSA";
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		return pss ? "PS256" : "RS256";
	return "ES256";
}

static char *
canon_jwk(EVP_PKEY *k, char thumb[44])
{
	struct acme_jwk j;
	char *s;

	FZ_CHECK(jwk_from_pkey(k, &j) == ACME_OK);
	s = fz_strndup(j.canon, strlen(j.canon));
	if (thumb != NULL)
		memcpy(thumb, j.thumb, 44);
	jwk_clear(&j);
	return s;
}

/* A POST signed by the fixture: with the account's kid, or its jwk. */
static void
post(const char *path, const char *payload, int use_jwk, struct acme_resp *r)
{
	char *n = nonce(), *hdr, *body;

	if (use_jwk)
		hdr = tk_printf("{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s%s\"}",
		    fx.jwk, n, FZ_BASE_URL, path);
	else
		hdr = tk_printf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s%s\"}",
		    fx.kid, n, FZ_BASE_URL, path);
	body = tk_jws(fx.key, "ES256", hdr, payload, 0);
	call("POST", path, NULL, "application/jose+json", NULL, body, strlen(body), 0, r);
	free(n);
	free(hdr);
	free(body);
}

static const char *
resp_header(const struct acme_resp *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nhdr; i++)
		if (strcmp(r->hdr[i].name, name) == 0)
			return r->hdr[i].value;
	return NULL;
}

/* The id after FZ_BASE_URL FZ_DIR_PREFIX kind "/" in url. */
static void
id_of(const char *url, const char *kind, char *out, size_t cap)
{
	char prefix[128];
	size_t n;

	FZ_CHECK(url != NULL);
	n = (size_t)snprintf(prefix, sizeof(prefix), "%s%s%s/", FZ_BASE_URL, FZ_DIR_PREFIX, kind);
	FZ_CHECK(strncmp(url, prefix, n) == 0 && strlen(url + n) < cap);
	strcpy(out, url + n);
}

/* ------------------------------------------------------------------ */
/* The fixture */

struct peek {
	int acct_ok, key_next, order_ready, authz_pending, cert_ok;
};

static enum store_err
peek_txn(struct store_txn *t, void *arg)
{
	struct peek *pk = arg;
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	int64_t now = store_txn_now(t);
	char *err = NULL;

	memset(pk, 0, sizeof(*pk));
	if (fx.acct[0] != '\0' && store_account_get(t, fx.acct, &a) == STORE_OK) {
		pk->acct_ok = a.status == STORE_ST_VALID && strcmp(a.thumb, fx.thumb) == 0;
		pk->key_next = a.status == STORE_ST_VALID && fx.next != NULL &&
		    strcmp(a.thumb, fx.next_thumb) == 0;
		store_account_free(&a);
	}
	if (fx.order[0] != '\0' && store_order_get(t, fx.order, &o) == STORE_OK) {
		pk->order_ready = strcmp(o.acct, fx.acct) == 0 &&
		    acme_order_status(t, &o, now, &err) == STORE_ST_READY;
		free(err);
		store_order_free(&o);
	}
	if (fx.authz[0] != '\0' && store_authz_get(t, fx.authz, &z) == STORE_OK) {
		pk->authz_pending = strcmp(z.acct, fx.acct) == 0 &&
		    acme_authz_status(&z, now) == STORE_ST_PENDING;
		store_authz_free(&z);
	}
	if (fx.serial[0] != '\0' && store_cert_get(t, fx.serial, &c) == STORE_OK) {
		pk->cert_ok = !c.revoked && strcmp(c.acct, fx.acct) == 0;
		store_cert_free(&c);
	}
	return STORE_OK;
}

static void
new_account(void)
{
	struct acme_resp r;

	EVP_PKEY_free(fx.key);
	free(fx.jwk);
	fx.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	FZ_CHECK(fx.key != NULL);
	fx.jwk = canon_jwk(fx.key, fx.thumb);
	post(FZ_DIR_PREFIX "new-account",
	    "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:fuzz@fuzz.example\"]}", 1, &r);
	FZ_CHECK(r.status == 201);
	snprintf(fx.kid, sizeof(fx.kid), "%s", resp_header(&r, "Location"));
	id_of(fx.kid, "acct", fx.acct, sizeof(fx.acct));
	acme_resp_clear(&r);
	/* Orders, authorizations and certificates belong to an account. */
	fx.order[0] = fx.authz[0] = fx.serial[0] = '\0';
}

/* Validate authorization id as the validator would: respond to its
 * http-01 challenge, lease it, record success. */
static void
validate(const char *id)
{
	struct acme_val_item *items = NULL;
	struct acme_resp r;
	size_t n, i;
	int64_t next, now = (int64_t)time(NULL);
	char path[128];
	int found = 0, rounds;

	snprintf(path, sizeof(path), FZ_DIR_PREFIX "chall/%s/0", id);
	post(path, "{}", 0, &r);
	FZ_CHECK(r.status == 200);
	acme_resp_clear(&r);
	/* Other authorizations (the fuzzer's) may be due too: lease until ours. */
	for (rounds = 0; !found && rounds < 1000; rounds++) {
		FZ_CHECK(acme_val_lease(st->ctx->store, st->cfg, now, 64, &items, &n) == ACME_OK);
		for (i = 0; i < n; i++) {
			if (strcmp(items[i].authz, id) != 0)
				continue;
			FZ_CHECK(acme_val_finish(st->ctx->store, st->cfg, &items[i], NULL, 0, now,
			    &next) == ACME_OK);
			found = 1;
		}
		free(items);
		items = NULL;
		if (n == 0)
			break;
	}
	FZ_CHECK(found);
}

struct order_authz {
	const char *order;
	store_id authz[4];
	size_t n;
	int ready;
};

static enum store_err
order_authz_txn(struct store_txn *t, void *arg)
{
	struct order_authz *oa = arg;
	struct store_order o;
	char *err = NULL;
	size_t i;
	enum store_err e;

	oa->n = 0;
	if ((e = store_order_get(t, oa->order, &o)) != STORE_OK)
		return e;
	for (i = 0; i < o.nauthz && i < 4; i++)
		memcpy(oa->authz[oa->n++], o.authz[i], sizeof(store_id));
	oa->ready = acme_order_status(t, &o, store_txn_now(t), &err) == STORE_ST_READY;
	free(err);
	store_order_free(&o);
	return STORE_OK;
}

/* A new order for name; its id into out. */
static void
new_order(const char *name, store_id out)
{
	struct acme_resp r;
	char *payload = tk_printf("{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", name);

	post(FZ_DIR_PREFIX "new-order", payload, 0, &r);
	FZ_CHECK(r.status == 201);
	id_of(resp_header(&r, "Location"), "order", out, sizeof(store_id));
	acme_resp_clear(&r);
	free(payload);
}

static void
ready_order(void)
{
	struct order_authz oa;
	size_t i;

	new_order(IDENT, fx.order);
	memset(&oa, 0, sizeof(oa));
	oa.order = fx.order;
	FZ_CHECK(store_txn_run(st->ctx->store, STORE_TXN_RO, order_authz_txn, &oa) == STORE_OK);
	if (!oa.ready) {
		for (i = 0; i < oa.n; i++)
			validate(oa.authz[i]);
		FZ_CHECK(store_txn_run(st->ctx->store, STORE_TXN_RO, order_authz_txn, &oa) ==
		    STORE_OK);
	}
	FZ_CHECK(oa.ready);
}

static void
pending_authz(void)
{
	struct order_authz oa;
	store_id order;
	char name[64];

	snprintf(name, sizeof(name), "p%u.%s", ++fx.counter, IDENT);
	new_order(name, order);
	memset(&oa, 0, sizeof(oa));
	oa.order = order;
	FZ_CHECK(store_txn_run(st->ctx->store, STORE_TXN_RO, order_authz_txn, &oa) == STORE_OK);
	FZ_CHECK(oa.n == 1);
	memcpy(fx.authz, oa.authz[0], sizeof(store_id));
}

struct cert_get {
	const char *order;
	char serial[STORE_SERIAL_MAX + 1];
	char ari[STORE_ARI_MAX + 1];
	char *b64;
};

static enum store_err
cert_txn(struct store_txn *t, void *arg)
{
	struct cert_get *cg = arg;
	struct store_order o;
	struct store_cert c;
	enum store_err e;

	free(cg->b64);
	cg->b64 = NULL;
	if ((e = store_order_get(t, cg->order, &o)) != STORE_OK)
		return e;
	snprintf(cg->serial, sizeof(cg->serial), "%s", o.cert);
	store_order_free(&o);
	if ((e = store_cert_get(t, cg->serial, &c)) != STORE_OK)
		return e;
	snprintf(cg->ari, sizeof(cg->ari), "%s", c.ari);
	cg->b64 = fz_b64u(c.der, c.der_len);
	store_cert_free(&c);
	return STORE_OK;
}

/* Finalize the ready order with the fixture's CSR: a certificate. */
static void
issue(void)
{
	struct cert_get cg;
	struct acme_resp r;
	char path[128], *payload;

	snprintf(path, sizeof(path), FZ_DIR_PREFIX "finalize/%s", fx.order);
	payload = tk_printf("{\"csr\":\"%s\"}", fx.csr_b64);
	post(path, payload, 0, &r);
	free(payload);
	FZ_CHECK(r.status == 200);
	acme_resp_clear(&r);
	memset(&cg, 0, sizeof(cg));
	cg.order = fx.order;
	FZ_CHECK(store_txn_run(st->ctx->store, STORE_TXN_RO, cert_txn, &cg) == STORE_OK);
	memcpy(fx.serial, cg.serial, sizeof(fx.serial));
	memcpy(fx.ari, cg.ari, sizeof(fx.ari));
	free(fx.cert_b64);
	fx.cert_b64 = cg.b64;
	fx.order[0] = '\0';             /* used up */
}

/* Bring the fixture back to: a valid account with our key, a ready order,
 * a pending authorization, an unrevoked certificate. */
static void
refresh(void)
{
	struct peek pk;

	FZ_CHECK(store_txn_run(st->ctx->store, STORE_TXN_RO, peek_txn, &pk) == STORE_OK);
	if (pk.key_next) {
		/* A @J key change went through: the account has the new key. */
		EVP_PKEY_free(fx.key);
		free(fx.jwk);
		fx.key = fx.next;
		fx.next = NULL;
		fx.jwk = canon_jwk(fx.key, fx.thumb);
		FZ_CHECK(store_txn_run(st->ctx->store, STORE_TXN_RO, peek_txn, &pk) == STORE_OK);
	}
	if (!pk.acct_ok) {
		new_account();
		pk.order_ready = pk.authz_pending = pk.cert_ok = 0;
	}
	if (!pk.cert_ok) {
		if (!pk.order_ready)
			ready_order();
		issue();
		pk.order_ready = 0;
	}
	if (!pk.order_ready)
		ready_order();
	if (!pk.authz_pending)
		pending_authz();
}

/* Build the fixture (or bring it back, with a new pending authorization
 * when fresh_authz) and take the snapshot every input starts from. */
static void
rebuild(int fresh_authz)
{
	if (fresh_authz)
		pending_authz();
	refresh();
	fz_state_snapshot();
	fx.built = time(NULL);
	fx.rebuilds++;
}

static void
make_csr(void)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	unsigned char *der = NULL;
	int n;

	FZ_CHECK(req != NULL && nm != NULL && exts != NULL);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)IDENT, -1, -1, 0);
	X509_REQ_set_subject_name(req, nm);
	X509_REQ_set_pubkey(req, fz_key("p256b"));
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:" IDENT);
	FZ_CHECK(ext != NULL);
	sk_X509_EXTENSION_push(exts, ext);
	X509_REQ_add_extensions(req, exts);
	FZ_CHECK(X509_REQ_sign(req, fz_key("p256b"), EVP_sha256()) > 0);
	FZ_CHECK((n = i2d_X509_REQ(req, &der)) > 0);
	fx.csr_b64 = fz_b64u(der, (size_t)n);
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(nm);
	X509_REQ_free(req);
}

static void
fixture_free(void)
{
	/* How many inputs wrote to the store, for tuning. */
	fprintf(stderr, "fuzz_request: %lu runs, %lu restores of the store, %lu snapshots\n",
	    fx.runs, fx.restores, fx.rebuilds);
	EVP_PKEY_free(fx.key);
	EVP_PKEY_free(fx.next);
	free(fx.jwk);
	free(fx.cert_b64);
	free(fx.csr_b64);
	memset(&fx, 0, sizeof(fx));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	st = fz_state_open(NULL);
	make_csr();
	atexit(fixture_free);
	rebuild(0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Placeholders */

struct sb {
	char *p;
	size_t len, cap;
};

static void
sb_add(struct sb *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		FZ_CHECK(b->p != NULL);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* The keyChange inner JWS: to a new key, which is kept as fx.next. */
static char *
key_change_jws(void)
{
	char *jwk, *hdr, *payload, *out;

	if (fx.next == NULL) {
		fx.next = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		FZ_CHECK(fx.next != NULL);
	}
	jwk = canon_jwk(fx.next, fx.next_thumb);
	hdr = tk_printf("{\"alg\":\"ES256\",\"jwk\":%s,\"url\":\"%s\"}", jwk, URL("key-change"));
	payload = tk_printf("{\"account\":\"%s\",\"oldKey\":%s}", fx.kid, fx.jwk);
	out = tk_jws(fx.next, "ES256", hdr, payload, 0);
	free(jwk);
	free(hdr);
	free(payload);
	return out;
}

/* An External Account Binding of the fixed EAB key for the jwk outer_jwk. */
static char *
eab_jws(const char *outer_jwk)
{
	return tk_jws_mac(fz_mac_key, sizeof(fz_mac_key), "HS256",
	    "{\"alg\":\"HS256\",\"kid\":\"" FZ_MAC_KID "\",\"url\":\"" URL("new-account") "\"}",
	    outer_jwk);
}

/* s (len bytes) with the placeholders replaced; NUL-terminated, *outlen. */
static char *
expand(const char *s, size_t len, const char *outer_jwk, size_t *outlen)
{
	struct sb b = { NULL, 0, 0 };
	char *tmp;
	size_t i;

	sb_add(&b, "", 0);
	for (i = 0; i < len; i++) {
		if (s[i] != '@' || i + 1 == len) {
			sb_add(&b, s + i, 1);
			continue;
		}
		switch (s[++i]) {
		case 'K': sb_str(&b, fx.kid); break;
		case 'A': sb_str(&b, fx.acct); break;
		case 'O': sb_str(&b, fx.order); break;
		case 'Z': sb_str(&b, fx.authz); break;
		case 'S': sb_str(&b, fx.serial); break;
		case 'R': sb_str(&b, fx.ari); break;
		case 'D': sb_str(&b, fx.cert_b64); break;
		case 'V': sb_str(&b, fx.csr_b64); break;
		case 'N':
			tmp = nonce();
			sb_str(&b, tmp);
			free(tmp);
			break;
		case 'J':
			tmp = key_change_jws();
			sb_str(&b, tmp);
			free(tmp);
			break;
		case 'E':
			tmp = eab_jws(outer_jwk);
			sb_str(&b, tmp);
			free(tmp);
			break;
		default:
			sb_add(&b, s + i - 1, 2);
			break;
		}
	}
	*outlen = b.len;
	return b.p;
}

/* ------------------------------------------------------------------ */

/* The protected header: the input's extra members first, then what the
 * flags leave in (a duplicate member is refused by the JSON reader). */
static char *
header(uint8_t f1, uint8_t f2, EVP_PKEY *key, const char *jwk, const char *extra,
    const char *path, const char *query)
{
	struct sb h = { NULL, 0, 0 };
	char *n;

	sb_str(&h, "{");
	if (*extra != '\0') {
		sb_str(&h, extra);
		sb_str(&h, ",");
	}
	if (!(f2 & 16)) {
		sb_str(&h, "\"alg\":\"");
		sb_str(&h, alg_of(key, (f2 & 3) == 3));
		sb_str(&h, "\",");
	}
	if (!(f1 & 16)) {
		n = nonce();
		sb_str(&h, "\"nonce\":\"");
		sb_str(&h, n);
		sb_str(&h, "\",");
		free(n);
	}
	if (!(f2 & 8)) {
		if (f1 & 8) {
			sb_str(&h, "\"jwk\":");
			sb_str(&h, jwk);
		} else {
			sb_str(&h, "\"kid\":\"");
			sb_str(&h, fx.kid);
			sb_str(&h, "\"");
		}
		sb_str(&h, ",");
	}
	if (!(f2 & 4)) {
		sb_str(&h, "\"url\":\"" FZ_BASE_URL);
		sb_str(&h, path);
		if (query != NULL) {
			sb_str(&h, "?");
			sb_str(&h, query);
		}
		sb_str(&h, "\",");
	}
	if (h.p[h.len - 1] == ',')
		h.p[h.len - 1] = '}';
	else
		sb_str(&h, "}");
	return h.p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[3] = { "GET", "HEAD", "POST" };
	struct fz_in in = { data, size };
	struct acme_resp r;
	uint8_t f1 = fz_byte(&in), f2 = fz_byte(&in);
	char *method_in = NULL, *raw, *path, *query, *ctype = NULL, *extra = NULL, *payload = NULL;
	char *raw_body, *body = NULL, *hdr = NULL, *jwk = NULL;
	const char *method, *ct, *origin = (f1 & 32) ? "https://client.test" : NULL;
	EVP_PKEY *key;
	size_t len, blen;
	int sign = (f1 & 4) != 0;

	fx.runs++;
	if (fz_state_restore()) {
		fx.restores++;
		/* The account's key is the snapshot's again. */
		EVP_PKEY_free(fx.next);
		fx.next = NULL;
	}
	if (time(NULL) - fx.built > FX_MAX_AGE)
		rebuild(1);

	if ((f1 & 3) == 3)
		method = method_in = fz_field(&in, '\n', NULL);
	else
		method = methods[f1 & 3];
	/* The key a jwk-signed request uses; its JWK is what @E binds. */
	key = !(f1 & 8) ? fx.key : (f2 & 32) ? fz_key("p256b") : (f2 & 3) == 0 ? fx.key :
	    (f2 & 3) == 1 ? fz_key("ed25519") : fz_key("rsa2048");
	jwk = canon_jwk(key, NULL);

	raw = fz_field(&in, '\n', &len);
	path = expand(raw, len, jwk, &len);
	free(raw);
	if ((query = strchr(path, '?')) != NULL)
		*query++ = '\0';
	if (f1 & 64)
		ctype = fz_field(&in, '\n', NULL);
	ct = (f1 & 64) ? ctype : sign || strcmp(method, "POST") == 0 ? "application/jose+json" :
	    NULL;
	if (sign) {
		raw = fz_field(&in, '\n', &len);
		extra = expand(raw, len, jwk, &len);
		free(raw);
	}
	raw_body = fz_rest(&in, &blen);
	if (!sign) {
		call(method, path, query, ct, origin, raw_body, blen, (f1 & 128) != 0, &r);
		acme_resp_clear(&r);
		goto out;
	}
	payload = expand(raw_body, blen, jwk, &len);
	hdr = header(f1, f2, key, jwk, extra, path, query);
	body = tk_jws(key, alg_of(key, (f2 & 3) == 3), hdr, payload, 0);
	call(method, path, query, ct, origin, body, strlen(body), (f1 & 128) != 0, &r);
	acme_resp_clear(&r);
out:
	free(method_in);
	free(path);
	free(ctype);
	free(extra);
	free(payload);
	free(raw_body);
	free(body);
	free(hdr);
	free(jwk);
	return 0;
}
