/*
 * Shared between the protocol core's own files; not part of its interface.
 */
#ifndef ACME_CORE_INTERNAL_H
#define ACME_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/acme.h"
#include "core/ca.h"
#include "core/ident.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/orders.h"
#include "core/problem.h"
#include "store/store.h"

struct json_object;

/* One directory at run time. */
struct acme_dir {
	const struct acme_dir_config *cfg;
	struct acme_ca *ca;
	char *path_prefix;        /* "/acme/<name>/" */
	size_t path_prefix_len;
	char *url_prefix;         /* base_url + path_prefix */
	size_t url_prefix_len;
	char *directory_json;     /* the directory object, built once */
	char *index_link;         /* "<...directory>;rel=\"index\"" */
	size_t nalt;
	char **alt_pem;           /* alternate chains (PEM), served at cert/<serial>/<n> */
};

/* A verified account key kept per process, so that a request does not parse
 * the JWK and build an EVP_PKEY again. */
struct acme_keycache_entry {
	store_id id;
	uint32_t key_version;
	EVP_PKEY *pkey;
};

#define ACME_KEYCACHE_SIZE 1024

struct acme_ctx {
	const struct acme_config *cfg;
	struct store *store;
	struct store_nonces *nonces;
	EVP_CIPHER_CTX *nonce_enc;
	EVP_CIPHER_CTX *nonce_dec;
	uint64_t nonce_epoch;
	size_t ndir;
	struct acme_dir *dir;
	char *wake_path;
	struct acme_keycache_entry keycache[ACME_KEYCACHE_SIZE];
};

/* The state of one request as it moves through the router and a handler. */
struct acme_rq {
	struct acme_ctx *ctx;
	const struct acme_req *req;
	struct acme_resp *resp;
	struct acme_dir *dir;
	const char *rest;         /* path after the directory prefix */
	char *url;                /* base_url + path: what the JWS url must equal */
	int is_post;
	struct jws jws;
	int have_jws;
	struct store_account acct;    /* the requesting account (kid requests) */
	int have_acct;
	EVP_PKEY *key;            /* the key that signed (borrowed: cache or jwk) */
	struct acme_jwk jwk;      /* the jwk of jwk-signed requests */
	struct acme_problem prob;
	int64_t now;
	int64_t now_ms;           /* the same moment in milliseconds (rate limits) */
};

/* A transaction body that refuses the request returns this, so that
 * store_txn_run() aborts whatever it wrote before deciding; the handler
 * then sends the problem it recorded. */
#define ACME_TXN_REFUSED ((enum store_err)(STORE_ERR__MAX + 1))

/* --- responses (core/resp.c) --- */
void rq_json(struct acme_rq *rq, int status, struct json_object *body);
void rq_problem(struct acme_rq *rq);
void rq_location(struct acme_rq *rq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rq_link(struct acme_rq *rq, const char *url, const char *rel);
void rq_retry_after(struct acme_rq *rq, int64_t seconds);
/* 429 rateLimited with Retry-After and, when configured, Link rel="help";
 * returns -1. */
int acme_rate_limited(struct acme_rq *rq, int64_t retry_after, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map a store error to a problem (500, or 503 with Retry-After for a full
 * disk or a store that needs recovery); returns -1. */
int rq_store_error(struct acme_rq *rq, enum store_err e);

/* --- URLs (core/urls.c) --- */
/* dir->url_prefix + kind + "/" + id (+ "/" + sub). Caller frees. */
char *acme_url(const struct acme_dir *d, const char *kind, const char *id);
char *acme_url_sub(const struct acme_dir *d, const char *kind, const char *id, const char *sub);
/* If url is dir->url_prefix + kind + "/" + id, copy id (checked charset). */
int acme_url_id(const struct acme_dir *d, const char *url, const char *kind, char *id, size_t idlen);
/* Check an id taken from a path: [A-Za-z0-9_-], 1..max characters. */
int acme_id_ok(const char *s, size_t max);

/* --- nonces (core/nonce.c) --- */
enum acme_err acme_nonce_init(struct acme_ctx *ctx);
void acme_nonce_fini(struct acme_ctx *ctx);
/* A fresh nonce (23 bytes incl. NUL). */
enum acme_err acme_nonce_new(struct acme_ctx *ctx, char out[24]);
/* Consume a nonce from a request: 0, or -1 with badNonce set in p. */
int acme_nonce_check(struct acme_ctx *ctx, const char *nonce, struct acme_problem *p);

/* --- request authentication (core/auth.c) --- */
enum auth_key {
	AUTH_KID,
	AUTH_JWK,
	AUTH_EITHER,
	AUTH_KID_ANY_TOS,   /* kid, even if the account has not agreed to the current terms */
};
/* Check Content-Type, parse and verify the JWS, consume the nonce, and for
 * kid requests load the account (valid) into rq->acct. 0 or -1 (problem set). */
int acme_auth(struct acme_rq *rq, enum auth_key how);
/* Whether the account of rq must agree to changed terms first; if so, sets
 * userActionRequired (with the terms link) and returns 1. */
int acme_terms_outdated(struct acme_rq *rq);
/* The account's key, from the per-process cache. Borrowed. */
EVP_PKEY *acme_account_key(struct acme_ctx *ctx, const struct store_account *a,
    struct acme_problem *p);

/* --- objects as JSON (core/views.c) --- */
struct json_object *acme_view_account(const struct acme_dir *d, const struct store_account *a);
struct json_object *acme_view_authz(const struct acme_dir *d, const struct store_authz *z,
    int64_t now);
struct json_object *acme_view_chall(const struct acme_dir *d, const struct store_authz *z,
    int idx);
struct json_object *acme_view_ident(uint8_t type, const char *value);

/* --- order state (core/orderstate.c; acme_order_status and
 * acme_authz_status are in core/orders.h, which acme-admin uses too) --- */
struct json_object *acme_view_order(const struct acme_dir *d, const struct store_order *o,
    enum store_status st, const char *err);

/* --- handlers --- */
int acme_h_directory(struct acme_rq *rq);
int acme_h_new_nonce(struct acme_rq *rq);
int acme_h_new_account(struct acme_rq *rq);
int acme_h_account(struct acme_rq *rq, const char *id);
int acme_h_orders(struct acme_rq *rq, const char *id);
int acme_h_new_order(struct acme_rq *rq);
int acme_h_order(struct acme_rq *rq, const char *id);
/* Move on an order waiting in processing (issue it when its CAA checks are
 * fresh, fail it when one failed). 0, or -1 with rq->prob set. */
int acme_order_advance(struct acme_rq *rq, const char *id, const unsigned char *csr_der,
    size_t csr_len);
/* Reply 200 with the order id (status computed, Location, Retry-After). */
int acme_reply_order(struct acme_rq *rq, const char *id);
int acme_h_finalize(struct acme_rq *rq, const char *id);
int acme_h_authz(struct acme_rq *rq, const char *id);
int acme_h_chall(struct acme_rq *rq, const char *authz, const char *idx);
int acme_h_cert(struct acme_rq *rq, const char *serial);
int acme_h_cert_alt(struct acme_rq *rq, const char *serial, const char *n);
int acme_h_key_change(struct acme_rq *rq);
int acme_h_new_authz(struct acme_rq *rq);
int acme_h_revoke(struct acme_rq *rq);
int acme_h_crl(struct acme_rq *rq);
int acme_h_issuer(struct acme_rq *rq);
int acme_h_renewal_info(struct acme_rq *rq, const char *id);

/* --- ARI (core/h_ari.c) --- */
/* Whether id has the form of a renewalInfo CertID. */
int acme_ari_id_ok(const char *id);
/* The suggested renewal window of c. */
void acme_ari_window(const struct store_cert *c, int64_t now, int64_t *start, int64_t *end);

/* Ring the validator's doorbell. */
void acme_wake_validator(struct acme_ctx *ctx);

#endif
