/*
 * The validation engine: runs many challenge validations at once on one
 * event loop, each asynchronously (libcurl multi for http-01, libunbound for
 * DNS, non-blocking OpenSSL for tls-alpn-01), and reports each outcome
 * through a callback. It knows nothing of the store: the scheduler
 * (validators/sched.c) leases work and records the results.
 */
#ifndef VAL_VAL_H
#define VAL_VAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/problem.h"
#include "core/validation.h"
#include "validators/loop.h"

/* Where and how long to look: a copy per validation, so a config reload never
 * pulls the rug from under one in flight. */
struct val_opts {
	int http_port;          /* http-01 port (80; 5002 in Pebble's test mode) */
	int tls_port;           /* tls-alpn-01 port (443; 5001) */
	int https_port;         /* besides 443, a port https redirects may name (0: none) */
	int allow_private;      /* the directory lets us connect to non-public addresses */
	int connect_ms;         /* per TCP connection */
	int total_ms;           /* the whole validation, DNS and redirects included; the CAA
	                           check after it gets as much again */
	int dns_ms;             /* per DNS query */
	/* The directory's CAA identities (RFC 8659 issuer domain names). Borrowed:
	 * read only during val_start(), which copies them for the job. */
	const char *const *caa_identity;
	size_t ncaa_identity;
};

/* Defaults of validation_connect_timeout and validation_timeout (Boulder's
 * dial timeout, Pebble's overall deadline), and the per-query DNS limit. */
#define VAL_CONNECT_MS 10000
#define VAL_TOTAL_MS   15000
#define VAL_DNS_MS     10000

#define VAL_USER_AGENT "acme-server-validator/1 (+RFC 8555)"

/* Timeouts and the directory's policy from a configuration. o borrows the
 * CAA identities from cfg: use it before cfg is freed. */
void val_opts_from_config(struct val_opts *o, const struct acme_config *cfg, const char *dir);

/*
 * Called once per validation: prob NULL means valid (the challenge passed
 * and, if the item asked for it, so did CAA). caa_checked is 1 when a CAA
 * check ran in this validation and allowed issuance, for
 * acme_val_finish(). item is the caller's data, copied at start; both
 * pointers are valid only during the call.
 */
typedef void (*val_done_fn)(void *arg, const struct acme_val_item *item,
    const struct acme_problem *prob, int caa_checked);

struct val_engine;

/*
 * An engine on loop l (which the caller owns and runs), resolving through
 * resolver ("ip:port") or the system's servers when NULL. Ignores SIGPIPE
 * for the process (a peer may reset a TLS connection under us). Caller frees
 * with val_engine_free().
 */
enum acme_err val_engine_new(struct val_loop *l, const char *resolver, struct val_engine **out);

/*
 * DNSSEC: validate every lookup of e against the trust anchors in the file
 * at path (see val_dns_trust_anchor()). Before the first validation.
 */
enum acme_err val_engine_trust_anchor(struct val_engine *e, const char *path);

/* Abandon every validation in flight (no callbacks) and free the engine. */
void val_engine_free(struct val_engine *e);

/* Validations in flight. */
size_t val_engine_inflight(const struct val_engine *e);

/*
 * Start validating item with opts o. Returns at once; done(arg, ...) is
 * called later from the loop, never from inside this call. ACME_EINVAL for
 * an item that cannot be validated (unknown type, bad identifier): no
 * callback then.
 *
 * An ACME_VAL_CHALLENGE item validates its challenge; when that passes and
 * item->caa is set (a DNS identifier), the CAA check follows (RFC 8659,
 * for a wildcard on the base name with issuewild). An ACME_VAL_CAA item
 * only checks CAA: its challenge is never fetched again.
 */
enum acme_err val_start(struct val_engine *e, const struct acme_val_item *item,
    const struct val_opts *o, val_done_fn done, void *arg);

/* ------------------------------------------------------------------ */
/* For the challenge modules (http01.c, dns01.c, tlsalpn01.c).          */

struct val_dns;
struct val_curlm;
struct ssl_ctx_st;

struct val_job {
	struct val_engine *eng;
	struct acme_val_item item;
	struct val_opts opts;
	val_done_fn done;
	void *arg;
	int64_t deadline;              /* monotonic ms: the whole validation */
	struct val_timer guard;        /* fires a little after deadline */
	struct val_timer kick;         /* defers the start to the loop */
	int caa_phase;                 /* the challenge passed; CAA is being checked */
	char **caa_ids;                /* copies of opts.caa_identity (owned) */
	size_t ncaa_ids;
	void *state;                   /* the module's */
	void (*start)(struct val_job *j);
	/* Release the module's state and everything in flight; no callback. */
	void (*cancel)(struct val_job *j);
	/* Describe a validation that overran its deadline. */
	void (*overrun)(struct val_job *j, struct acme_problem *p);
	struct val_job *prev, *next;
};

struct val_loop *val_job_loop(const struct val_job *j);
struct val_dns *val_job_dns(const struct val_job *j);
struct val_curlm *val_job_curlm(const struct val_job *j);
struct ssl_ctx_st *val_job_tls(const struct val_job *j);

/* Milliseconds left before the job's deadline (at least 1). */
int val_job_left(const struct val_job *j);

/*
 * The module is done (prob NULL = passed): release its state through
 * j->cancel, then either go on to the CAA check (a challenge that passed,
 * for an item that asks for CAA) or report the outcome and free the job.
 * The caller touches nothing of the job or its state afterwards.
 */
void val_job_finish(struct val_job *j, const struct acme_problem *prob);

/* Each module's set-up: fills j->state, j->start, j->cancel, j->overrun. */
enum acme_err val_http01_init(struct val_job *j);
enum acme_err val_dns01_init(struct val_job *j);
enum acme_err val_tlsalpn01_init(struct val_job *j);
/* The CAA check of j->item's identifier (validators/caacheck.c). */
enum acme_err val_caa_init(struct val_job *j);

/* "http-01", "dns-01", "tls-alpn-01" for enum store_chall_type, else "?". */
const char *val_chall_name(unsigned type);

/*
 * dns-01: join the character-strings of one TXT rdata into out (cap bytes,
 * NUL-terminated). Returns the joined length, or -1 if the rdata is
 * malformed or does not fit.
 */
int val_dns01_txt_join(const unsigned char *rdata, size_t len, char *out, size_t cap);

/*
 * tls-alpn-01: check the leaf certificate a target presented for item
 * (RFC 8737 section 3, RFC 8738 section 6): exactly one subjectAltName equal
 * to the identifier, and one critical acmeIdentifier extension holding
 * SHA-256(keyAuthorization). Returns 0 if it passes, else -1 with p set (an
 * unauthorized problem naming where, e.g. "127.0.0.1:443").
 */
struct x509_st;
int val_tlsalpn01_check_cert(struct x509_st *leaf, const struct acme_val_item *item,
    const char *where, struct acme_problem *p);

/*
 * Copy at most max bytes of untrusted s (len bytes) into out (cap bytes,
 * NUL-terminated) with everything but printable ASCII, quote and backslash
 * written as \xNN, and "..." appended when cut. For error details that
 * quote a target's response (HT-16).
 */
void val_escape(char *out, size_t cap, const void *s, size_t len, size_t max);

/* The identifier of a job as text for details: "x.example" or "192.0.2.1". */
const char *val_job_ident(const struct val_job *j);

#endif
