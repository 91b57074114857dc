/*
 * RA mode in the validator daemon: an ACME client of the directories'
 * upstream CAs. It leases jobs from the store (core/jobs.c holds the state
 * machine), runs each on the daemon's loop (libcurl multi, the DNS updater
 * as a child process or a UDP exchange), and records every step, so that a
 * restart resumes the same upstream order.
 */
#ifndef VAL_UPSTREAM_H
#define VAL_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "core/config.h"
#include "core/err.h"
#include "store/store.h"
#include "validators/curlm.h"
#include "validators/loop.h"

/* ------------------------------------------------------------------ */
/* The runner (validators/upstream.c), driven by the scheduler.         */

struct val_upstream;

/* A runner on loop l (not owned). Caller frees with val_upstream_free(),
 * which abandons jobs in flight (their leases run out). */
enum acme_err val_upstream_new(struct val_loop *l, struct val_upstream **out);
void val_upstream_free(struct val_upstream *u);

/* The store and configuration from now on (neither owned; NULL store:
 * pause). Jobs in flight keep copies of their settings. */
void val_upstream_use(struct val_upstream *u, struct store *s, const struct acme_config *cfg);

/* Lease and start due jobs when look is set or one is known to be due;
 * returns the milliseconds until it next wants to look. */
int val_upstream_tick(struct val_upstream *u, int look);

/* Stop leasing (shutdown). */
void val_upstream_drain(struct val_upstream *u);

size_t val_upstream_inflight(const struct val_upstream *u);

/*
 * The newOrder payload (JSON text, caller frees) for order o: its
 * identifiers, and its profile when profiles (the upstream directory's
 * meta.profiles, may be NULL) offers one of that name. NULL: out of memory.
 */
char *ups_new_order_payload(const struct store_order *o, struct json_object *profiles);

/* ------------------------------------------------------------------ */
/* JWS for the upstream account (validators/upstream_jws.c).            */

struct ups_key {
	EVP_PKEY *pkey;          /* owned: the account's private key */
	char *jwk;               /* canonical public JWK (JSON text), owned */
	char thumb[44];          /* RFC 7638 thumbprint */
	const char *alg;         /* ES256, ES384, ES512 or RS256 */
};

/* Take pkey (owned from then on, also on failure). */
enum acme_err ups_key_init(struct ups_key *k, EVP_PKEY *pkey);
void ups_key_clear(struct ups_key *k);

/*
 * A flattened JWS (JSON text, caller frees) over payload ("" = POST-as-GET),
 * protected by alg, nonce, url and kid (the account URL) or, with kid NULL,
 * the public jwk. NULL on failure (logged).
 */
char *ups_jws(const struct ups_key *k, const char *kid, const char *nonce, const char *url,
    const char *payload);

/*
 * The externalAccountBinding member (RFC 8555 section 7.3.4): a JWS over the
 * account's public JWK, HS256 with the HMAC key, kid eab_kid, for url. JSON
 * text, caller frees.
 */
char *ups_eab(const struct ups_key *k, const char *eab_kid, const unsigned char *hmac,
    size_t hmac_len, const char *url);

/* ------------------------------------------------------------------ */
/* HTTP requests to the upstream (validators/upstream_http.c).          */

#define UPS_BODY_MAX (1024 * 1024)

struct ups_resp {
	long status;             /* 0: no response (see err) */
	char *body;              /* NUL-terminated, at most UPS_BODY_MAX */
	size_t len;
	char nonce[128];         /* Replay-Nonce, "" if none */
	char *location;          /* Location, or NULL */
	int64_t retry_after;     /* seconds, 0 if none */
	char content_type[128];
	char err[CURL_ERROR_SIZE];   /* transport error when status is 0 */
};

struct ups_req;
typedef void (*ups_http_fn)(void *arg, const struct ups_resp *r);

struct ups_http_opts {
	const char *ca_file;     /* trust roots, NULL = the system's */
	long timeout_ms;
};

/*
 * Start method (GET, HEAD, POST) on url with body (POST: JWS, sent as
 * application/jose+json) and Accept accept (may be NULL). cb runs from the
 * loop, never from inside this call; the request is freed after it. *out
 * lets the caller cancel it (ups_http_cancel: no callback).
 */
enum acme_err ups_http_start(struct val_curlm *m, const struct ups_http_opts *o,
    const char *method, const char *url, const char *body, const char *accept, ups_http_fn cb,
    void *arg, struct ups_req **out);
void ups_http_cancel(struct ups_req *r);

/* ------------------------------------------------------------------ */
/* A program run without a shell (validators/upstream_exec.c).          */

struct ups_exec;
/* status: the exit status, or -1 when it did not exit (killed, timed out);
 * err: NULL after exit status 0, else one line naming what failed and how,
 * with the first bytes of the program's stderr. */
typedef void (*ups_exec_fn)(void *arg, int status, const char *err);

/*
 * Run argv (argv[0] an absolute path; no shell, no PATH search) on loop l,
 * killed after timeout_ms. what names it in err ("the DNS hook (...)").
 * cb runs from the loop, never from inside this call. *out lets the caller
 * cancel it (ups_exec_cancel: the program is killed, no callback).
 */
enum acme_err ups_exec_start(struct val_loop *l, char *const argv[], int timeout_ms,
    const char *what, ups_exec_fn cb, void *arg, struct ups_exec **out);
void ups_exec_cancel(struct ups_exec *x);

/* ------------------------------------------------------------------ */
/* The DNS updater for dns-01 upstream (validators/upstream_dns.c).     */

struct ups_dns_conf {
	char *hook;              /* exec: HOOK present|cleanup FQDN VALUE */
	char *server;            /* RFC 2136: ip:port */
	char *zone;
	char *tsig_name;
	unsigned char tsig_key[128];   /* a secret: wiped with the configuration copy */
	size_t tsig_key_len;
	int timeout_ms;
};

struct ups_dns;
/* err NULL: done; else a short reason (never a secret). */
typedef void (*ups_dns_fn)(void *arg, const char *err);

/* Put (present) or remove the TXT record fqdn = value. cb from the loop. */
enum acme_err ups_dns_start(struct val_loop *l, const struct ups_dns_conf *c, int present,
    const char *fqdn, const char *value, ups_dns_fn cb, void *arg, struct ups_dns **out);
void ups_dns_cancel(struct ups_dns *d);

/* ------------------------------------------------------------------ */
/* RFC 2136 UPDATE messages with TSIG (validators/dnsupdate.c).          */

#define VAL_DNSUPD_MAX 1024

struct val_dnsupd {
	uint16_t id;
	const char *zone;        /* e.g. "example.com" (with or without the final dot) */
	const char *name;        /* the owner, e.g. "_acme-challenge.www.example.com" */
	const char *txt;         /* the TXT value (at most 255 bytes) */
	int add;                 /* 1: add the record; 0: delete this TXT value */
	uint32_t ttl;
	const char *tsig_name;   /* NULL: no TSIG */
	const unsigned char *tsig_key;
	size_t tsig_key_len;
	uint64_t tsig_time;      /* seconds since the epoch */
	uint16_t tsig_fudge;
	unsigned char *mac_out;  /* NULL, or 32 bytes that get the request's MAC */
};

/* Build the message into out (cap bytes); returns its length, or -1 if a
 * name is malformed or it does not fit. */
int val_dnsupd_build(const struct val_dnsupd *u, unsigned char *out, size_t cap);

/* A DNS name in wire format into out; returns the length or -1. */
int val_dns_name_wire(const char *name, unsigned char *out, size_t cap);

/* What checking the answer to a signed update needs (holds a secret). */
struct val_dnsupd_tsig {
	char name[256];          /* the key's name */
	unsigned char key[128];
	size_t key_len;
	unsigned char req_mac[32];   /* the request's MAC (val_dnsupd.mac_out) */
};

enum val_tsig_check {
	VAL_TSIG_OK = 0,         /* signed with the key over this answer and our request */
	VAL_TSIG_UNSIGNED,       /* no TSIG record: anyone could have sent it */
	VAL_TSIG_BAD,            /* malformed, another key, or the MAC does not verify */
	VAL_TSIG_ERROR,          /* the TSIG says the server refused ours (*tsig_error:
	                            16 BADSIG, 17 BADKEY, 18 BADTIME), or its time is off */
};

/*
 * Check the TSIG of an answer (msg, len bytes) to a request signed with k
 * (RFC 8945 section 5.3): the last additional record is a TSIG with k's
 * name and HMAC-SHA256, whose MAC covers the request's MAC, the answer
 * without the TSIG and the TSIG variables, signed within its fudge of now.
 */
enum val_tsig_check val_dnsupd_check_answer(const unsigned char *msg, size_t len,
    const struct val_dnsupd_tsig *k, uint64_t now, unsigned *tsig_error);

/* ------------------------------------------------------------------ */
/* Self-service TLS: the files (validators/upstream_tls.c).             */

enum ups_tls_verdict {
	UPS_TLS_FRESH = 0,       /* nothing to do until *renew_at */
	UPS_TLS_MISSING,         /* no certificate (or none that parses) */
	UPS_TLS_NAMES,           /* its names are not exactly tls_names */
	UPS_TLS_KEY,             /* the key file does not hold its key */
	UPS_TLS_DUE,             /* tls_renew_fraction of its lifetime has passed */
};

/*
 * Whether the certificate in t->cert_file needs replacing at now: why gets
 * one line for the log (cap bytes), *renew_at when it falls due (0 when it
 * cannot be told).
 */
enum ups_tls_verdict ups_tls_check(const struct acme_tls_config *t, int64_t now, char *why,
    size_t cap, int64_t *renew_at);

/* A CSR (DER, caller frees *der) for key naming the n DNS names. */
enum acme_err ups_tls_csr(EVP_PKEY *key, char *const *names, size_t n, unsigned char **der,
    size_t *len);

/*
 * Check that the certificate der is for key and names exactly t->names,
 * then replace t->key_file (mode 0600) and t->cert_file (the leaf, then
 * chain_pem) atomically, each with the owner of the file it replaces. On
 * failure nothing was replaced, unless err says that a rename failed, and
 * err (cap bytes) says why.
 */
enum acme_err ups_tls_install(const struct acme_tls_config *t, EVP_PKEY *key,
    const unsigned char *der, size_t der_len, const char *chain_pem, char *err, size_t cap);

/* cmd split at blanks into a NULL-terminated vector (no shell, no quoting):
 * ACME_EINVAL unless its first word is an absolute path. Caller frees with
 * ups_tls_argv_free(). */
enum acme_err ups_tls_argv(const char *cmd, char ***out);
void ups_tls_argv_free(char **argv);

#endif
