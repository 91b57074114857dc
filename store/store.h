/*
 * The store: one Berkeley DB transactional environment shared by every process
 * (FastCGI workers, the validator daemon, acme-admin), plus two small shared
 * structures that do not need a database: the nonce table and the validator's
 * wake-up socket.
 *
 * Only store/ includes <db.h>. Records are typed C structs; on disk they are a
 * versioned tag-length-value encoding (store/rec.c), which the secondary-index
 * callbacks read without allocating.
 *
 * Ownership: every struct filled by a *_get() or listing function owns its
 * heap members; release them with the matching *_free() (which takes NULL and
 * leaves the struct zeroed). *_put() never takes ownership of its argument.
 */
#ifndef ACME_STORE_H
#define ACME_STORE_H

#include <stddef.h>
#include <stdint.h>

enum store_err {
	STORE_OK = 0,
	STORE_NOTFOUND,    /* no record with that key */
	STORE_EXISTS,      /* create of a key that already exists */
	STORE_CONFLICT,    /* deadlock or lock timeout: the transaction helper retries */
	STORE_NOSPACE,     /* disk full (ENOSPC/EDQUOT): answer 503, recover when space returns */
	STORE_RECOVER,     /* DB_RUNRECOVERY / panic: close everything and exit; next open recovers */
	STORE_CORRUPT,     /* a record does not decode */
	STORE_NOMEM,
	STORE_INVAL,       /* bad argument (a bug in the caller) */
	STORE_ERR,         /* anything else; detail logged where it arose */
	STORE_ERR__MAX
};

const char *store_strerror(enum store_err e);

/*
 * Where the store's log lines go. fn gets a syslog priority and one line
 * (no newline, no secrets); NULL, the default, writes "store: line" to
 * stderr. Set it once, before store_open, e.g. to the core's logger (under
 * spawn-fcgi stderr is /dev/null).
 */
typedef void (*store_log_fn)(int prio, const char *line);
void store_set_log(store_log_fn fn);

/* ------------------------------------------------------------------ */
/* Environment                                                          */

struct store;
struct store_txn;

enum store_open_flags {
	STORE_OPEN_CREATE = 1 << 0,  /* create the environment and databases if missing */
	STORE_OPEN_NOSYNC = 1 << 1,  /* commits do not flush the log (tests, benchmarks only) */
	STORE_OPEN_DAEMON = 1 << 2,  /* this process runs checkpoints, log archiving and failchk */
};

/*
 * Open the environment in dir (created with STORE_OPEN_CREATE). One call per
 * process, after fork. Runs failchk, or full recovery when needed. On success
 * *out is a handle the caller frees with store_close().
 */
enum store_err store_open(const char *dir, unsigned flags, struct store **out);
void store_close(struct store *s);

/*
 * Periodic maintenance: checkpoint (at most every interval), archive logs that
 * are no longer needed, and DB_ENV->failchk. The validator daemon calls it
 * every few seconds. Returns STORE_RECOVER when the environment must be
 * reopened.
 */
enum store_err store_maintain(struct store *s);

/*
 * Hot backup (acme-admin backup): copy the environment's databases, then its
 * log files, into dir (created, mode 0700; emptied first if it exists) while
 * other processes go on reading and writing. Log archiving (store_maintain)
 * is held off meanwhile. The copy is usable only through store_restore.
 */
enum store_err store_backup(struct store *s, const char *dir);

/*
 * Restore a backup made by store_backup: copy the files in from into to
 * (which must not exist, or be empty: STORE_EXISTS otherwise), then run
 * catastrophic recovery there. Afterwards store_open(to) opens a store that
 * holds every transaction committed before the backup finished. No store
 * handle is involved; from is left as it is.
 */
enum store_err store_restore(const char *from, const char *to);

/* ------------------------------------------------------------------ */
/* Transactions                                                          */

enum store_txn_flags {
	STORE_TXN_RW = 0,
	STORE_TXN_RO = 1 << 0,   /* read-only: DB_READ_COMMITTED, never logs */
	STORE_TXN_NOSYNC = 1 << 1, /* commit without flushing the log: for state that may be
	                              lost in a machine crash (a lease), never what a
	                              client was told */
};

/*
 * The body of a transaction. It reads and writes through t, does no network
 * I/O, no sleep and no output, and returns STORE_OK to commit or any other
 * code to abort. It may run more than once: it must not keep side effects
 * outside t from an earlier attempt (reset its output at the top).
 */
typedef enum store_err (*store_txn_fn)(struct store_txn *t, void *arg);

/*
 * Run fn in a transaction; on STORE_CONFLICT abort, sleep a little (with
 * jitter) and retry, up to a bounded number of attempts. Returns fn's code,
 * or the commit's.
 */
enum store_err store_txn_run(struct store *s, unsigned flags, store_txn_fn fn, void *arg);

/* The wall-clock time (UTC seconds) fixed at the start of this attempt. */
int64_t store_txn_now(const struct store_txn *t);

/* ------------------------------------------------------------------ */
/* Records                                                               */

#define STORE_ID_LEN    22   /* base64url of 16 random bytes */
#define STORE_NAME_MAX  32   /* directory names: [a-z0-9-], 1..32 */
#define STORE_THUMB_LEN 43   /* base64url SHA-256 */
#define STORE_TOKEN_LEN 43   /* challenge token: base64url of 32 random bytes */
#define STORE_SERIAL_MAX 40  /* serial number as lowercase hex, at most 20 bytes */
#define STORE_ARI_MAX   128  /* ARI CertID text */
#define STORE_MAX_CHALL 4

typedef char store_id[STORE_ID_LEN + 1];

/* Fill id with 16 bytes from the CSPRNG in base64url. */
enum store_err store_new_id(store_id id);

enum store_status {
	STORE_ST_NONE = 0,
	STORE_ST_PENDING,
	STORE_ST_READY,        /* never stored for orders: derived from the authorizations */
	STORE_ST_PROCESSING,
	STORE_ST_VALID,
	STORE_ST_INVALID,
	STORE_ST_EXPIRED,
	STORE_ST_DEACTIVATED,
	STORE_ST_REVOKED,
	STORE_ST__MAX
};

/* "pending", "valid", ...; "" for NONE. */
const char *store_status_name(enum store_status st);

enum store_ident_type { STORE_IDENT_DNS = 1, STORE_IDENT_IP = 2 };

struct store_ident {
	uint8_t type;          /* enum store_ident_type */
	char *value;           /* normalised: lower-case A-labels, or canonical IP text */
};

struct store_account {
	store_id id;
	char dir[STORE_NAME_MAX + 1];
	uint8_t status;        /* VALID, DEACTIVATED, REVOKED */
	int64_t created;
	char *jwk;             /* canonical public JWK, JSON text */
	char thumb[STORE_THUMB_LEN + 1];
	size_t ncontact;
	char **contact;        /* URLs as given, validated */
	int64_t tos_agreed;    /* when terms were agreed (0 = never) */
	char *tos_url;         /* the terms URL agreed to, or NULL */
	char *eab_kid;         /* the EAB key it was bound through, or NULL */
	char *eab_jws;         /* externalAccountBinding as sent (JSON text), or NULL */
	uint32_t key_version;  /* incremented on key rollover (cache invalidation) */
};

struct store_order {
	store_id id;
	store_id acct;
	char dir[STORE_NAME_MAX + 1];
	uint8_t status;        /* PENDING, PROCESSING, VALID, INVALID (READY is derived) */
	int64_t created;
	int64_t expires;
	int64_t not_before;    /* requested, 0 = none */
	int64_t not_after;     /* requested, 0 = none */
	size_t nident;
	struct store_ident *ident;
	size_t nauthz;
	store_id *authz;       /* authorization ids, same order as ident */
	char *profile;         /* NULL = none */
	char *error;           /* problem document (JSON text) when INVALID */
	char cert[STORE_SERIAL_MAX + 1];  /* certificate serial when VALID, else "" */
	char *replaces;        /* ARI CertID of the replaced certificate, or NULL */
	unsigned char *csr;    /* DER CSR kept while PROCESSING (RA mode, retries) */
	size_t csr_len;
	int64_t retry_after;   /* while PROCESSING: when to poll again (0 = default) */
};

enum store_chall_type {
	STORE_CH_HTTP01 = 1,
	STORE_CH_DNS01 = 2,
	STORE_CH_TLSALPN01 = 3,
};

struct store_chall {
	uint8_t type;          /* enum store_chall_type */
	uint8_t status;        /* PENDING, PROCESSING, VALID, INVALID */
	char token[STORE_TOKEN_LEN + 1];
	int64_t validated;     /* when it became valid */
	char *keyauth;         /* key authorization fixed when the client responded */
	char *error;           /* last attempt's problem (JSON text) or NULL */
	uint32_t attempts;     /* validation attempts made */
};

struct store_authz {
	store_id id;
	store_id acct;
	char dir[STORE_NAME_MAX + 1];
	struct store_ident ident;   /* for a wildcard: the base name */
	uint8_t wildcard;
	uint8_t status;        /* PENDING, VALID, INVALID, DEACTIVATED, REVOKED
	                          (EXPIRED is derived from expires) */
	int64_t created;
	int64_t expires;       /* pending: validation deadline; valid: end of reuse */
	size_t nchall;
	struct store_chall chall[STORE_MAX_CHALL];
	int64_t due;           /* next validation attempt, 0 = not queued (due index) */
	int64_t caa_checked;   /* when CAA was last checked for this identifier (0 = never) */
	uint8_t caa_recheck;   /* a valid authorization whose CAA the validator must check
	                          again (queued with due) */
	char *caa_error;       /* the problem (JSON) of a failed CAA recheck, or NULL */
	uint8_t in_flight;     /* a validator holds it: due is the end of its lease */
};

struct store_cert {
	char serial[STORE_SERIAL_MAX + 1];   /* primary key: lowercase hex */
	store_id acct;
	store_id order;
	char dir[STORE_NAME_MAX + 1];
	int64_t issued;
	int64_t not_before;
	int64_t not_after;
	unsigned char *der;    /* the end-entity certificate */
	size_t der_len;
	char *chain;           /* PEM of the certificates after the leaf, as served */
	char ari[STORE_ARI_MAX + 1];         /* base64url(AKI keyid) "." base64url(serial) */
	uint8_t revoked;
	int32_t reason;        /* RFC 5280 reason code, -1 = none given */
	int64_t revoked_at;
	store_id replaced_by;  /* order that replaces it ("" = none) */
	char *profile;
	/* RA mode: the certificate came from an upstream CA. */
	uint8_t upstream;      /* 1 = issued by the directory's upstream CA */
	int64_t ari_start;     /* the upstream's renewalInfo window (0 = none known) */
	int64_t ari_end;
	int64_t ari_fetched;   /* when the upstream was last asked (0 = never) */
	/* The operator's renewal window (acme-admin certs renew-early), ahead of
	 * any other: after an incident, renew these now or within the window. */
	int64_t renew_start;   /* 0 = none */
	int64_t renew_end;
	char *renew_why;       /* ARI explanationURL, or NULL */
};

#define STORE_EAB_KID_MAX 64   /* External Account Binding key ids: [A-Za-z0-9_-] */
#define STORE_EAB_KEY_MAX 64   /* HMAC key bytes */

/* An External Account Binding key (RFC 8555 section 7.3.4). */
struct store_eab {
	char kid[STORE_EAB_KID_MAX + 1];     /* primary key */
	char dir[STORE_NAME_MAX + 1];        /* the directory it is for */
	unsigned char key[STORE_EAB_KEY_MAX];/* the HMAC key (a secret: never logged) */
	size_t key_len;
	int64_t created;
	int64_t expires;       /* unusable after this (0 = never) */
	uint8_t reusable;      /* may bind more than one account */
	uint8_t revoked;
	uint32_t uses;         /* accounts bound through it */
	store_id account;      /* the (first) account bound through it, "" = none */
	char *note;            /* operator's note, or NULL */
};

/* Work for the validator daemon besides validations (RA mode). */
enum store_job_kind {
	STORE_JOB_UPSTREAM_ORDER = 1,   /* ref: our order id; obtain its certificate upstream */
	STORE_JOB_UPSTREAM_REVOKE,      /* ref: certificate serial; revoke it upstream */
	STORE_JOB_ARI_FETCH,            /* ref: certificate serial; fetch the upstream's window */
	STORE_JOB_TLS_RENEW,            /* ref: directory name; the server's own certificate */
	STORE_JOB__MAX
};

enum store_job_state {
	STORE_JOB_QUEUED = 1,  /* waiting for due (or leased until due) */
	STORE_JOB_DONE,        /* finished (kept for the record; due = 0) */
	STORE_JOB_FAILED,      /* failed for good (due = 0, error says why) */
};

#define STORE_JOB_ID_MAX 64    /* "<kind>-<ref>": [A-Za-z0-9_-] */

struct store_job {
	char id[STORE_JOB_ID_MAX + 1];   /* primary key: one job per (kind, ref) */
	uint8_t kind;          /* enum store_job_kind */
	uint8_t state;         /* enum store_job_state */
	char dir[STORE_NAME_MAX + 1];
	char ref[STORE_SERIAL_MAX + 1];  /* order id, serial or directory name */
	int64_t created;
	int64_t updated;
	int64_t due;           /* next run, or lease end while running; 0 = not queued */
	uint32_t attempts;     /* runs that ended in a retry */
	uint32_t lease;        /* incremented by each lease: a stale holder's writes are refused */
	char *progress;        /* JSON text: upstream URLs and the step reached, or NULL */
	char *error;           /* last problem (JSON text), or NULL */
};

/* An RA directory's account at its upstream CA. Keyed by directory name. */
struct store_upstream {
	char dir[STORE_NAME_MAX + 1];
	char *directory_url;   /* the upstream directory it was created at */
	char *account_url;     /* the account's URL there; NULL until newAccount answered */
	char *key_type;        /* p256, p384, rsa2048, ... */
	char thumb[STORE_THUMB_LEN + 1];   /* RFC 7638 thumbprint of the public key */
	unsigned char *key_sealed;   /* the private key, encrypted (core/upstream_key.c) */
	size_t key_sealed_len;
	int64_t created;
};

void store_account_free(struct store_account *a);
void store_job_free(struct store_job *j);
void store_upstream_free(struct store_upstream *u);
void store_eab_free(struct store_eab *e);
void store_order_free(struct store_order *o);
void store_authz_free(struct store_authz *z);
void store_cert_free(struct store_cert *c);

/* Flags for *_put. */
enum store_put_flags {
	STORE_PUT_CREATE = 1 << 0,   /* fail with STORE_EXISTS if the key exists */
};

/*
 * Get and put. A get inside a read-write transaction takes a write lock
 * (DB_RMW), so a read-modify-write in one transaction cannot lose an update.
 * Returns STORE_NOTFOUND when there is no such record.
 */
enum store_err store_account_get(struct store_txn *t, const char *id, struct store_account *out);
enum store_err store_account_put(struct store_txn *t, const struct store_account *a, unsigned flags);
enum store_err store_order_get(struct store_txn *t, const char *id, struct store_order *out);
enum store_err store_order_put(struct store_txn *t, const struct store_order *o, unsigned flags);
enum store_err store_authz_get(struct store_txn *t, const char *id, struct store_authz *out);
enum store_err store_authz_put(struct store_txn *t, const struct store_authz *z, unsigned flags);
enum store_err store_cert_get(struct store_txn *t, const char *serial, struct store_cert *out);
enum store_err store_cert_put(struct store_txn *t, const struct store_cert *c, unsigned flags);

enum store_err store_job_get(struct store_txn *t, const char *id, struct store_job *out);
enum store_err store_job_put(struct store_txn *t, const struct store_job *j, unsigned flags);
enum store_err store_job_del(struct store_txn *t, const char *id);
enum store_err store_upstream_get(struct store_txn *t, const char *dir, struct store_upstream *out);
enum store_err store_upstream_put(struct store_txn *t, const struct store_upstream *u,
    unsigned flags);

enum store_err store_eab_get(struct store_txn *t, const char *kid, struct store_eab *out);
enum store_err store_eab_put(struct store_txn *t, const struct store_eab *e, unsigned flags);
enum store_err store_eab_del(struct store_txn *t, const char *kid);

/* Deletes (acme-admin cleanup and delete): the record and its index entries. */
enum store_err store_account_del(struct store_txn *t, const char *id);
enum store_err store_order_del(struct store_txn *t, const char *id);
enum store_err store_authz_del(struct store_txn *t, const char *id);

/*
 * Blocked keys: public keys reported compromised (a revocation with reason
 * keyCompromise, or one signed with the certificate's own key). No CSR,
 * account key or key change may use one again, in any directory. Keyed by
 * the base64url SHA-256 of the key's DER SubjectPublicKeyInfo, so a check
 * is one get. No secondary index; acme-admin lists the whole table.
 */
struct store_blocked_key {
	char hash[STORE_THUMB_LEN + 1];      /* primary key */
	int64_t created;                     /* when it was blocked */
	char serial[STORE_SERIAL_MAX + 1];   /* the certificate whose revocation blocked it */
	char dir[STORE_NAME_MAX + 1];        /* that certificate's directory */
};

void store_blocked_key_free(struct store_blocked_key *b);
enum store_err store_blocked_key_get(struct store_txn *t, const char *hash,
    struct store_blocked_key *out);
enum store_err store_blocked_key_put(struct store_txn *t, const struct store_blocked_key *b,
    unsigned flags);
enum store_err store_blocked_key_del(struct store_txn *t, const char *hash);

/* ------------------------------------------------------------------ */
/* Secondary indexes                                                     */

/* The account of directory dir whose key has this thumbprint. id_out gets its id. */
enum store_err store_account_by_thumb(struct store_txn *t, const char *dir, const char *thumb,
    store_id id_out);

/* Whether any account, of any directory and in any state, has this key thumbprint
 * (finalize refuses such keys in a CSR). *found is 0 or 1. */
enum store_err store_thumb_known(struct store_txn *t, const char *thumb, int *found);

/*
 * Orders of an account, oldest first. Calls fn for each order id after the
 * one named by after ("" or NULL = from the start); fn returns 0 to go on, 1
 * to stop. Stops after max ids.
 */
typedef int (*store_id_fn)(const char *id, void *arg);
enum store_err store_orders_by_account(struct store_txn *t, const char *acct, const char *after,
    size_t max, store_id_fn fn, void *arg);

/*
 * Authorizations of an account for one identifier (the base name for
 * wildcards), newest first, for reuse.
 */
enum store_err store_authz_by_ident(struct store_txn *t, const char *acct,
    const struct store_ident *ident, size_t max, store_id_fn fn, void *arg);

/*
 * The validator's queue: ids of authorizations whose due time is in
 * [1, now], earliest first, at most max. The caller leases each one by
 * putting it back with a later due time in the same transaction.
 */
enum store_err store_authz_due(struct store_txn *t, int64_t now, size_t max, store_id_fn fn,
    void *arg);

/* The earliest due time in the queue, or 0 if the queue is empty. */
enum store_err store_authz_next_due(struct store_txn *t, int64_t *when);

/* The daemon's job queue, like the authorization queue: ids of jobs whose
 * due time is in [1, now], earliest first, at most max. */
enum store_err store_job_due(struct store_txn *t, int64_t now, size_t max, store_id_fn fn,
    void *arg);
/* The earliest due time of a job, or 0 if none is queued. */
enum store_err store_job_next_due(struct store_txn *t, int64_t *when);

/* Serials of the revoked certificates of directory dir (an index that holds
 * only revoked certificates, so a CRL costs what it lists). */
enum store_err store_revoked_by_dir(struct store_txn *t, const char *dir, store_id_fn fn,
    void *arg);

/* Certificate by ARI CertID text. serial_out gets its serial. */
enum store_err store_cert_by_ari(struct store_txn *t, const char *ari,
    char serial_out[STORE_SERIAL_MAX + 1]);

/* ------------------------------------------------------------------ */
/* Iteration over a whole table (acme-admin: list, verify, cleanup, stats). */

enum store_table {
	STORE_T_ACCOUNT = 1,
	STORE_T_ORDER,
	STORE_T_AUTHZ,
	STORE_T_CERT,
	STORE_T_EAB,
	STORE_T_JOB,
	STORE_T_UPSTREAM,
	STORE_T_BLOCKED_KEY,
	STORE_T__MAX
};

/* Calls fn with each primary key of table in key order; fn returns 0 to go on. */
enum store_err store_scan(struct store_txn *t, enum store_table table, store_id_fn fn, void *arg);

/*
 * Check that every secondary index agrees with its primary: each primary
 * record is indexed under the key its callback derives, and each index entry
 * points at an existing record that derives it. *bad counts disagreements
 * (each is logged).
 */
enum store_err store_verify(struct store *s, size_t *bad);

/* ------------------------------------------------------------------ */
/* Counters kept in the store (CRL numbers, statistics).                  */

/* Named 64-bit values (at most 255 bytes of name): CRL numbers, rate-limit
 * state ("rate/..."), per-account limit overrides ("override/..."). */

/* Atomically add delta to the named counter and return its new value. */
enum store_err store_counter_add(struct store_txn *t, const char *name, int64_t delta,
    int64_t *value);
/* The value of name; STORE_NOTFOUND when it was never set. */
enum store_err store_counter_get(struct store_txn *t, const char *name, int64_t *value);
enum store_err store_counter_set(struct store_txn *t, const char *name, int64_t value);
enum store_err store_counter_del(struct store_txn *t, const char *name);
/* Calls fn for each counter whose name starts with prefix, in name order;
 * fn returns 0 to go on. fn may not write (collect names, then act). */
typedef int (*store_counter_fn)(const char *name, int64_t value, void *arg);
enum store_err store_counter_scan(struct store_txn *t, const char *prefix, store_counter_fn fn,
    void *arg);

/* ------------------------------------------------------------------ */
/* Nonces: a shared, memory-mapped table in the state directory.          */

/*
 * The nonce table is a file mapped MAP_SHARED by every process: a 64-bit
 * counter of nonces issued, a bitmap of used nonces over a sliding window,
 * and a random 16-byte key created with the file. Issuing and consuming are
 * lock-free atomic operations; nothing is flushed to disk per nonce.
 */
struct store_nonces;

#define STORE_NONCE_WINDOW (1u << 24)   /* nonces older than this many are stale */

enum store_nonce_result {
	STORE_NONCE_FRESH = 0,   /* accepted, now marked used */
	STORE_NONCE_USED,        /* seen before */
	STORE_NONCE_STALE,       /* outside the window (too old, or never issued) */
};

/* Open (creating when missing, mode 0600) the nonce table file at path. */
enum store_err store_nonces_open(const char *path, struct store_nonces **out);
void store_nonces_close(struct store_nonces *n);
/* The table's secret key (16 bytes). */
const unsigned char *store_nonces_key(const struct store_nonces *n);
/* The file's random epoch, changed whenever the file is recreated. */
uint64_t store_nonces_epoch(const struct store_nonces *n);
/* Take the next counter value. */
uint64_t store_nonces_next(struct store_nonces *n);
/* Mark counter ctr used if it is inside the window and unused. */
enum store_nonce_result store_nonces_consume(struct store_nonces *n, uint64_t ctr);

/* ------------------------------------------------------------------ */
/* Wake-up: a unix datagram socket the validator listens on.             */

/* The validator binds the socket at path; returns a non-blocking fd. */
enum store_err store_wake_listen(const char *path, int *fd_out);
/* Drain pending wake-ups from fd; returns how many were read. */
int store_wake_drain(int fd);
/* Send one wake-up datagram to path; never blocks; errors are ignored
 * (the daemon also polls, so a lost wake-up costs only latency). */
void store_wake_ring(const char *path);

#endif
