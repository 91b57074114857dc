/*
 * acme-bench: a load generator for ACME servers (ours and Pebble).
 *
 * It is an ACME client of its own: HTTP/1.1 over non-blocking OpenSSL on an
 * epoll loop, its own JWS (ES256), its own http-01 responder. It shares no
 * code with the server (no core/, no store/), so that a bug on one side
 * cannot hide the same bug on the other.
 *
 * Files: util.c (buffers, base64url, clock, fatal errors), crypto.c (keys,
 * JWK, JWS, CSR), http.c (client connections), responder.c (http-01),
 * loop.c (the event loop, nonces, flows, raw modes), procs.c (server CPU
 * and memory from /proc), stats.c (latencies, report), main.c (options).
 */
#ifndef ACME_BENCH_H
#define ACME_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

/* ------------------------------------------------------------------ */
/* util.c                                                               */

/* Fatal error: the message on stderr, exit 2. Used for setup failures and
 * allocation failures; load errors are counted, never fatal. */
void bn_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Allocation that cannot fail (dies instead): the ck_* pattern. */
void *bn_malloc(size_t n);
void *bn_calloc(size_t n, size_t size);
void *bn_realloc(void *p, size_t n);
char *bn_strdup(const char *s);
char *bn_strndup(const char *s, size_t n);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t bn_now_us(void);

/*
 * A growable byte buffer. Invariant: p[len] == '\0' whenever p != NULL, so
 * the contents can be used as a C string when they hold no NUL.
 */
struct bn_buf {
	char *p;
	size_t len;
	size_t cap;
};

void bn_buf_reserve(struct bn_buf *b, size_t more);
void bn_buf_add(struct bn_buf *b, const void *p, size_t n);
void bn_buf_adds(struct bn_buf *b, const char *s);
void bn_buf_printf(struct bn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bn_buf_reset(struct bn_buf *b);
void bn_buf_free(struct bn_buf *b);

/* base64url without padding of p[0..n) appended to b. */
void bn_b64u(struct bn_buf *b, const unsigned char *p, size_t n);

/* ------------------------------------------------------------------ */
/* crypto.c                                                             */

#define BN_JWK_MAX 160
#define BN_THUMB_LEN 43

/* A P-256 key with its JWK and thumbprint, ready to sign. */
struct bn_key {
	EVP_PKEY *pkey;
	char jwk[BN_JWK_MAX];          /* {"crv":"P-256","kty":"EC","x":"...","y":"..."} */
	char thumb[BN_THUMB_LEN + 1];  /* RFC 7638 thumbprint, base64url */
	unsigned char spki[128];       /* DER SubjectPublicKeyInfo (for CSRs) */
	size_t spki_len;
};

void bn_crypto_init(void);
/* Generate a P-256 key into k (fields overwritten). Dies on failure. */
void bn_key_gen(struct bn_key *k);
void bn_key_free(struct bn_key *k);

/*
 * A flattened JWS (RFC 7515) signed with ES256 (raw r||s), appended to out.
 * With kid NULL the header carries the key's jwk. payload NULL is
 * POST-as-GET (empty payload), otherwise JSON text.
 */
void bn_jws(struct bn_buf *out, const struct bn_key *k, const char *kid, const char *nonce,
    const char *url, const char *payload);

/* The base64url DER of a CSR for one DNS name (CN and SAN) and key k,
 * signed with it, appended to out. */
void bn_csr(struct bn_buf *out, const struct bn_key *k, const char *name);

/* ------------------------------------------------------------------ */
/* http.c: one HTTP/1.1 client connection over TLS, kept alive           */

enum bn_req_type {
	RQ_DIRECTORY,
	RQ_NEWNONCE,
	RQ_NEWACCOUNT,
	RQ_NEWORDER,
	RQ_AUTHZ,          /* the first fetch of the authorization */
	RQ_CHALLENGE,      /* the response to the challenge */
	RQ_POLL_AUTHZ,
	RQ_FINALIZE,
	RQ_POLL_ORDER,
	RQ_CERT,
	RQ__N
};

extern const char *const bn_req_name[RQ__N];

struct bn_resp {
	int status;
	int close;               /* Connection: close */
	int retry_after;         /* seconds, -1 = none */
	char nonce[160];         /* Replay-Nonce, "" = none */
	char location[512];      /* Location, "" = none */
	struct bn_buf body;
};

enum bn_conn_state {
	CS_CLOSED,
	CS_CONNECTING,
	CS_HANDSHAKE,
	CS_SENDING,
	CS_RECEIVING,
	CS_IDLE,
};

struct bn_conn;
/* Called once per request: err NULL and resp filled, or err names the
 * transport failure ("connect", "tls", "reset", "parse", ...). */
typedef void (*bn_conn_cb)(struct bn_conn *c, const char *err, struct bn_resp *resp);

struct bn_conn {
	int fd;
	int epfd;
	uint32_t events;         /* registered with epoll */
	enum bn_conn_state state;
	SSL_CTX *ctx;
	SSL *ssl;
	const struct sockaddr *addr;
	unsigned addrlen;
	const char *sni;
	int head;                /* the request is HEAD: no body follows */
	int reused;              /* the request went out on a kept connection */
	int retried;
	int got_bytes;           /* response bytes seen for this request */
	int connect_err;         /* errno of a connect() that failed at once */
	struct bn_buf out;       /* the request */
	size_t out_off;
	struct bn_buf in;        /* raw response bytes */
	size_t hdr_len;          /* 0 until the header is parsed */
	long body_len;           /* -1: until close; -2: chunked */
	size_t chunk_off;        /* chunked: parse position in in */
	struct bn_resp resp;
	bn_conn_cb cb;
	void *arg;
	uint64_t connects;       /* counters */
};

void bn_conn_init(struct bn_conn *c, int epfd, SSL_CTX *ctx, const struct sockaddr *addr,
    unsigned addrlen, const char *sni, bn_conn_cb cb, void *arg);
/*
 * Send a request: method and target, optional body (with Content-Type
 * application/jose+json). The callback runs later from bn_conn_io(). Host
 * is the connection's host header value.
 */
void bn_conn_send(struct bn_conn *c, const char *method, const char *host, const char *target,
    const char *body, size_t body_len);
/* Progress on epoll events ev (0: try what can be done now). */
void bn_conn_io(struct bn_conn *c, uint32_t ev);
void bn_conn_close(struct bn_conn *c);
void bn_conn_free(struct bn_conn *c);

/* ------------------------------------------------------------------ */
/* responder.c: the http-01 responder                                   */

/* Start the responder thread on 127.0.0.1:port (and [::1]:port when
 * available). Dies when it cannot bind. */
void bn_resp_start(int port);
void bn_resp_stop(void);
/* Publish and withdraw a token's key authorization. */
void bn_resp_put(const char *token, const char *keyauth);
void bn_resp_del(const char *token);
/* Requests served: answered with a key authorization, and 404s. */
void bn_resp_counts(uint64_t *hits, uint64_t *misses);

/* ------------------------------------------------------------------ */
/* stats.c                                                              */

/* Latency samples in microseconds. */
struct bn_lat {
	uint32_t *v;
	size_t n;
	size_t cap;
};

void bn_lat_add(struct bn_lat *l, uint64_t us);
void bn_lat_merge(struct bn_lat *into, const struct bn_lat *from);
void bn_lat_free(struct bn_lat *l);
/* Sorts l; q in [0,1]. 0 when empty. */
double bn_lat_q(struct bn_lat *l, double q);
double bn_lat_mean(const struct bn_lat *l);

/* Error counts by name (problem type, "http-NNN", "transport:x"). */
struct bn_errs {
	size_t n;
	struct {
		char *name;
		uint64_t count;
	} *e;
};

void bn_errs_add(struct bn_errs *e, const char *name, uint64_t count);
void bn_errs_free(struct bn_errs *e);

struct bn_stats {
	struct bn_lat req[RQ__N];
	struct bn_lat flow;
	uint64_t ok;             /* flows (or raw requests) completed */
	uint64_t failed;
	uint64_t polls_authz;    /* counts */
	uint64_t polls_order;
	uint64_t retry_after_ms; /* sum of the delays taken from Retry-After */
	uint64_t retry_after_n;
	uint64_t connections;     /* TLS connections opened */
	int stalled;             /* the phase was ended by the stall detector */
	double active_s;         /* from the start to the last answer before the stall */
	struct bn_errs errs;
};

void bn_stats_merge(struct bn_stats *into, const struct bn_stats *from);
void bn_stats_free(struct bn_stats *s);

/* ------------------------------------------------------------------ */
/* loop.c: the load                                                     */

struct bn_cfg {
	const char *dir_url;
	const char *cafile;
	int threads;             /* client event loops */
	int poll_honour;         /* wait Retry-After when given */
	int poll_min_ms;         /* the client's own backoff: first delay */
	int poll_max_ms;         /* and its cap */
	int timeout_s;           /* per request, and per flow */
	int stall_s;             /* end a phase when requests are out and nothing came back
	                            for this long (a deadlocked server); 0 = never */
	char name_prefix[48];    /* flow i asks for PREFIX<i>.DOMAIN */
	char name_domain[128];
};

struct bn_account {
	struct bn_key key;
	char *kid;               /* the account URL, once created */
};

enum bn_phase {
	PH_ACCOUNTS,             /* one newAccount per account */
	PH_FLOWS,                /* full issuances */
	PH_NONCE,                /* raw HEAD newNonce */
	PH_NONCE_GET,            /* raw GET newNonce (a diagnostic: HEAD is what clients send) */
	PH_DIRECTORY,            /* raw GET directory */
};

/* TLS context, server address, and the directory (read once). Dies on
 * failure. */
void bn_setup(const struct bn_cfg *c);
/* The accounts the flows use (flow i: account i mod n) and the pool of
 * certificate keys (flow i: key i mod n). Not copied. */
void bn_set_keys(struct bn_account *accts, size_t naccts, struct bn_key *certkeys, size_t ncert);
/*
 * Run a phase at concurrency conc: total units (0 = no limit) or until
 * seconds have passed (0 = no limit) for starting new units; units in
 * flight finish. Statistics are added to out; *wall_s (if given) is the
 * phase's duration, up to the last answer when the phase stalled.
 */
void bn_run_phase(enum bn_phase p, uint64_t total, double seconds, int conc, struct bn_stats *out,
    double *wall_s);

/* ------------------------------------------------------------------ */
/* procs.c: CPU and memory of the server's processes                    */

#define BN_MAX_GROUPS 8

/* One named process tree: a root pid and its descendants. */
struct bn_group {
	char name[32];
	int pid;
	int aux;                 /* reported apart (e.g. the DNS server) */
};

struct bn_proc_snap {
	double cpu_ms[BN_MAX_GROUPS];      /* utime+stime (+ reaped children) */
	uint64_t rss_kb[BN_MAX_GROUPS];    /* VmRSS summed over the tree */
	uint64_t hwm_kb[BN_MAX_GROUPS];    /* VmHWM summed */
	uint64_t pss_kb[BN_MAX_GROUPS];    /* Pss from smaps_rollup summed */
	int nprocs[BN_MAX_GROUPS];
};

/* Take a snapshot of every group (with Pss when pss is set). */
void bn_procs_snap(const struct bn_group *g, int ng, int pss, struct bn_proc_snap *out);
/* Start/stop sampling the summed RSS of the non-aux groups every
 * interval_ms; bn_procs_sample_stop returns the peak seen (kB) and the
 * sampler thread's own CPU time (ms), which is not the client's load. */
void bn_procs_sample_start(const struct bn_group *g, int ng, int interval_ms);
uint64_t bn_procs_sample_stop(double *cpu_ms);
/* The process's own CPU (all threads) in ms. */
double bn_self_cpu_ms(void);
/* CPU time the whole machine spent busy (all CPUs, /proc/stat) in ms: what
 * neither the servers nor the client used was someone else's load. */
double bn_machine_busy_ms(void);

#endif
