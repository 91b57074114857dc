/*
 * Private to store/: the environment handle, the TLV record codec, the table
 * and index descriptors, and the error mapping. Fuzz harnesses and store tests
 * may include it (it pulls in <db.h>); nothing above the store does.
 */
#ifndef ACME_STORE_INTERNAL_H
#define ACME_STORE_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <db.h>

#include "store/store.h"

/* ------------------------------------------------------------------ */
/* Tuning. Everything is set in code: a DB_CONFIG file would override it. */

#define ST_CACHE_BYTES     (8u << 20)   /* mpool cache, one region */
#define ST_LOG_BUF_BYTES   (256u << 10) /* in-memory log buffer */
#define ST_LOG_FILE_BYTES  (8u << 20)   /* size of each log file */
#define ST_THREADS         128          /* thread slots (processes x threads) for failchk */
#define ST_LOCKS           20000        /* lock table: locks, objects */
#define ST_LOCKERS         4000
#define ST_TXNS            512          /* concurrent transactions */
#define ST_LOCK_TIMEOUT_US 2000000      /* a lock wait longer than this is a conflict */
#define ST_TXN_TIMEOUT_US  5000000      /* a transaction older than this loses its waits */
#define ST_REG_TIMEOUT_US  500000       /* recovery waits this long for others to see the panic */
#define ST_TXN_ATTEMPTS    8            /* store_txn_run tries */
#define ST_CKP_KBYTES      1024         /* checkpoint after this much log... */
#define ST_CKP_MINUTES     1            /* ...or this much time */
/* The environment is shared by the processes of one group, which may run as
 * different users (acme-fcgi's workers, acme-validator, acme-admin as root:
 * docs/security.md); the directory's mode keeps everyone else out. */
#define ST_FILE_MODE       0660

/* ------------------------------------------------------------------ */
/* Logging: one line per event, "store: ..." on stderr unless redirected
 * with store_set_log(). */

void store_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Map a Berkeley DB or errno return to a store code. ret == 0 is STORE_OK;
 * not-found, key-exists and lock conflicts are expected and not logged; the
 * rest are logged once here: the formatted what, then db_strerror(ret).
 * DB_RUNRECOVERY marks s (may be NULL) so every later call returns
 * STORE_RECOVER.
 */
struct store;
enum store_err store_dberr(struct store *s, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A secondary-index callback returns this for a record that does not
 * decode, so the put or delete fails with STORE_CORRUPT. */
#define ST_ECORRUPT EBADMSG

/* ------------------------------------------------------------------ */
/* Tables and indexes. One B-tree file per table and per index (accounts.db,
 * idx-acct-thumb.db, ...): simple to inspect with db_dump/db_verify, each
 * with its own page size, and no subdatabase metadata page to contend on. */

enum st_tbl { TBL_ACCOUNT, TBL_ORDER, TBL_AUTHZ, TBL_CERT, TBL_EAB, TBL_COUNTER, TBL_JOB,
       TBL_UPSTREAM, TBL_BLOCKED_KEY, TBL__N };

enum st_idx {
	IDX_ACCT_THUMB,   /* thumb || 0x00 || dir                       unique */
	IDX_ORDER_ACCT,   /* acct || be64(created) || order id          unique */
	IDX_AUTHZ_IDENT,  /* acct || type || value || 0x00 || ~be64(created)  dupsort */
	IDX_AUTHZ_DUE,    /* be64(due) || authz id, due <= 0 not indexed unique */
	IDX_CERT_ARI,     /* ARI CertID text, "" not indexed             unique */
	IDX_CERT_REVOKED, /* dir || 0x00 || serial, revoked ones only    unique */
	IDX_JOB_DUE,      /* be64(due) || job id, due <= 0 not indexed  unique */
	IDX__N
};

#define ST_KEY_MAX 320   /* longest secondary key (authz ident) with room */
#define ST_COUNTER_NAME_MAX 255   /* counter names ("rate/<limit>/<domain>" needs room) */
#define ST_PKEY_MAX 256  /* longest primary key (serial 40, id 22, EAB kid 64, counter name 255) */
#define ST_ITEM_MAX 96   /* longest key a scan collects: a primary key, dir || 0 || serial */

/* A derived secondary key: ptr points into buf or into the record itself. */
struct st_key {
	const unsigned char *ptr;
	size_t len;
	unsigned char buf[ST_KEY_MAX];
};

/* Derive the secondary key of a raw primary record. STORE_OK, STORE_NOTFOUND
 * (the record is not in this index) or STORE_CORRUPT. Never allocates. */
typedef enum store_err (*st_derive_fn)(const unsigned char *rec, size_t len, struct st_key *k);

struct rec_type;

struct st_tbl_desc {
	const char *file;
	const char *name;            /* for log lines */
	uint32_t pagesize;
	const struct rec_type *rt;   /* NULL for counters */
	size_t key_off;              /* offset of the primary key member in the struct */
	int key_cs;                  /* enum rec_cs of the primary key */
};

struct st_idx_desc {
	const char *file;
	const char *name;
	enum st_tbl primary;
	int dupsort;
	int unique;       /* two records may derive the same key, and must not:
	                     put checks first and answers STORE_EXISTS */
	st_derive_fn derive;
};

extern const struct st_tbl_desc store_tbls[TBL__N];
extern const struct st_idx_desc store_idxs[IDX__N];

/* Index key builders shared by derive callbacks and queries. */
void st_be64(unsigned char *p, int64_t v);     /* order-preserving for signed v */
int64_t st_get_be64(const unsigned char *p);

/* ------------------------------------------------------------------ */
/* Environment and transactions. */

struct store {
	DB_ENV *env;
	DB *db[TBL__N];       /* primaries */
	DB *sidx[IDX__N];     /* secondaries, associated: written through the primary */
	DB *ridx[IDX__N];     /* the same files, not associated: read directly so an
	                         index scan returns primary keys without a join */
	unsigned flags;       /* enum store_open_flags */
	pid_t pid;            /* the process that opened it */
	atomic_int panicked;  /* DB_EVENT_PANIC seen or DB_RUNRECOVERY returned */
	struct store *abandoned_next; /* closed while panicked: see store_close */
};

/* Internal transaction flag: read-only with degree-3 isolation (read locks
 * kept to the end), used by store_verify to confirm a disagreement. */
#define ST_TXN_RO_STABLE (1u << 8)

struct store_txn {
	struct store *s;
	DB_TXN *txn;
	unsigned flags;
	int64_t now;
	enum store_err doom;  /* first CONFLICT/RECOVER seen: the attempt cannot commit */
};

/* Mark the attempt doomed after an error from BDB; returns e. */
enum store_err st_txn_note(struct store_txn *t, enum store_err e);
/* DB_RMW in read-write transactions, 0 otherwise. */
uint32_t st_rmw(const struct store_txn *t);
/* STORE_INVAL (logged) unless t is a read-write transaction. */
enum store_err st_need_rw(const struct store_txn *t, const char *what);

/* ------------------------------------------------------------------ */
/* Record codec (rec.c). A record is: magic, version, then fields of
 * tag (1 byte), length (LEB128, at most 4 bytes, minimal), value. */

#define REC_VERSION 1
#define REC_MAGIC_ACCOUNT 'A'
#define REC_MAGIC_ORDER   'O'
#define REC_MAGIC_AUTHZ   'Z'
#define REC_MAGIC_CERT    'C'
#define REC_MAGIC_EAB     'E'
#define REC_MAGIC_JOB     'J'
#define REC_MAGIC_UPSTREAM 'U'
#define REC_MAGIC_BLOCKED_KEY 'B'
#define REC_VEC_MAX 1024            /* repeated fields per record */
#define REC_STR_MAX (1u << 20)      /* any one string or blob */
#define REC_IDENT_MAX 255           /* identifier value */

/* Tags. Never renumber: add new ones at the end (decoders skip unknown tags). */
enum { ACC_ID = 1, ACC_DIR, ACC_STATUS, ACC_CREATED, ACC_JWK, ACC_THUMB, ACC_CONTACT,
       ACC_TOS_AGREED, ACC_TOS_URL, ACC_EAB_KID, ACC_EAB_JWS, ACC_KEY_VERSION };
enum { ORD_ID = 1, ORD_ACCT, ORD_DIR, ORD_STATUS, ORD_CREATED, ORD_EXPIRES, ORD_NOT_BEFORE,
       ORD_NOT_AFTER, ORD_IDENT, ORD_AUTHZ, ORD_PROFILE, ORD_ERROR, ORD_CERT, ORD_REPLACES,
       ORD_CSR, ORD_RETRY_AFTER };
enum { AZ_ID = 1, AZ_ACCT, AZ_DIR, AZ_IDENT, AZ_WILDCARD, AZ_STATUS, AZ_CREATED, AZ_EXPIRES,
       AZ_CHALL, AZ_DUE, AZ_CAA_CHECKED, AZ_CAA_RECHECK, AZ_CAA_ERROR, AZ_IN_FLIGHT };
enum { CH_TYPE = 1, CH_STATUS, CH_TOKEN, CH_VALIDATED, CH_KEYAUTH, CH_ERROR, CH_ATTEMPTS };
enum { CRT_SERIAL = 1, CRT_ACCT, CRT_ORDER, CRT_DIR, CRT_ISSUED, CRT_NOT_BEFORE,
       CRT_NOT_AFTER, CRT_DER, CRT_CHAIN, CRT_ARI, CRT_REVOKED, CRT_REASON, CRT_REVOKED_AT,
       CRT_REPLACED_BY, CRT_PROFILE, CRT_UPSTREAM, CRT_ARI_START, CRT_ARI_END, CRT_ARI_FETCHED,
       CRT_RENEW_START, CRT_RENEW_END, CRT_RENEW_WHY };
enum { EAB_KID = 1, EAB_DIR, EAB_KEY, EAB_CREATED, EAB_EXPIRES, EAB_REUSABLE, EAB_REVOKED,
       EAB_USES, EAB_ACCOUNT, EAB_NOTE };
enum { JOB_ID = 1, JOB_KIND, JOB_STATE, JOB_DIR, JOB_REF, JOB_CREATED, JOB_UPDATED, JOB_DUE,
       JOB_ATTEMPTS, JOB_LEASE, JOB_PROGRESS, JOB_ERROR };
enum { UPS_DIR = 1, UPS_DIRECTORY_URL, UPS_ACCOUNT_URL, UPS_KEY_TYPE, UPS_THUMB, UPS_KEY,
       UPS_CREATED };
enum { BK_HASH = 1, BK_CREATED, BK_SERIAL, BK_DIR };

enum rec_kind {
	RK_U8, RK_U32, RK_I32, RK_I64,
	RK_STR,     /* char[size], charset rule cs */
	RK_PSTR,    /* char *, any bytes but NUL */
	RK_BLOB,    /* unsigned char * + size_t at off2 */
	RK_PSTRV,   /* char ** + size_t count at off2; repeated tag */
	RK_IDV,     /* store_id * + size_t count at off2; repeated tag */
	RK_IDENT,   /* struct store_ident: type byte, then value */
	RK_IDENTV,  /* struct store_ident * + count at off2; repeated tag */
	RK_CHALLV,  /* struct store_chall[size] + count at off2; nested TLV; repeated */
	RK_BYTES,   /* unsigned char[size] + size_t length at off2: 1..size bytes */
};

/* Charset rules for fixed strings and keys. */
enum rec_cs { CS_ANY, CS_ID, CS_THUMB, CS_TOKEN, CS_DIR, CS_SERIAL, CS_ARI, CS_NAME, CS_KID };

struct rec_field {
	uint8_t tag;
	uint8_t kind;     /* enum rec_kind */
	uint8_t req;      /* required: decode fails without it, encode fails if empty */
	uint8_t cs;       /* RK_STR: enum rec_cs */
	uint8_t lo, hi;   /* RK_U8: allowed range */
	size_t off;       /* offsetof the member */
	size_t off2;      /* offsetof the length or count member */
	size_t size;      /* RK_STR: sizeof the array; RK_CHALLV: capacity */
};

struct rec_type {
	uint8_t magic;    /* 0: nested, no header */
	const char *name;
	size_t size;      /* sizeof the struct */
	const struct rec_field *f;
	size_t nf;
};

#define REC_F(tag, kind, req, type, m) \
	{ (tag), (kind), (req), CS_ANY, 0, 0, offsetof(type, m), 0, 0 }
#define REC_U8(tag, req, type, m, lo, hi) \
	{ (tag), RK_U8, (req), CS_ANY, (lo), (hi), offsetof(type, m), 0, 0 }
#define REC_STR(tag, req, type, m, cs) \
	{ (tag), RK_STR, (req), (cs), 0, 0, offsetof(type, m), 0, sizeof(((type *)0)->m) }
#define REC_VEC(tag, kind, req, type, m, cnt) \
	{ (tag), (kind), (req), CS_ANY, 0, 0, offsetof(type, m), offsetof(type, cnt), 0 }
#define REC_BYTES(tag, req, type, m, len) \
	{ (tag), RK_BYTES, (req), CS_ANY, 0, 0, offsetof(type, m), offsetof(type, len), \
	  sizeof(((type *)0)->m) }
#define REC_ARR(tag, kind, req, type, m, cnt) \
	{ (tag), (kind), (req), CS_ANY, 0, 0, offsetof(type, m), offsetof(type, cnt), \
	  sizeof(((type *)0)->m) / sizeof(((type *)0)->m[0]) }

extern const struct rec_type store_rt_account, store_rt_order, store_rt_authz,
    store_rt_chall, store_rt_cert, store_rt_eab, store_rt_job, store_rt_upstream,
    store_rt_blocked_key;

/* Whether s (len bytes, not necessarily NUL-terminated) obeys rule cs. */
int st_cs_ok(int cs, const char *s, size_t len);

/* Generic codec over a rec_type. decode zeroes out first and frees what it
 * filled on failure (STORE_CORRUPT, STORE_NOMEM). encode: *out is malloc'd,
 * caller frees; STORE_INVAL (logged) if a field breaks its rule. */
enum store_err rec_decode(const struct rec_type *rt, const unsigned char *p, size_t n, void *out);
enum store_err rec_encode(const struct rec_type *rt, const void *in, unsigned char **out,
    size_t *outlen);
void rec_free(const struct rec_type *rt, void *rec);

/* The int64 of an 8-byte record field. */
int64_t rec_i64(const unsigned char *v);

/* Find the first field tag of a record with header magic without decoding.
 * STORE_OK (*v, *vlen point into p), STORE_NOTFOUND, or STORE_CORRUPT (bad
 * header or framing before the field). */
enum store_err rec_find(const unsigned char *p, size_t n, uint8_t magic, uint8_t tag,
    const unsigned char **v, size_t *vlen);

/* The pure decoders, for fuzzing: the struct is zeroed first and owns its
 * heap members on STORE_OK (free with store_*_free); on error it is zeroed. */
enum store_err store_rec_decode_account(const unsigned char *p, size_t n, struct store_account *out);
enum store_err store_rec_decode_order(const unsigned char *p, size_t n, struct store_order *out);
enum store_err store_rec_decode_authz(const unsigned char *p, size_t n, struct store_authz *out);
enum store_err store_rec_decode_cert(const unsigned char *p, size_t n, struct store_cert *out);
enum store_err store_rec_decode_eab(const unsigned char *p, size_t n, struct store_eab *out);
enum store_err store_rec_decode_job(const unsigned char *p, size_t n, struct store_job *out);
enum store_err store_rec_decode_blocked_key(const unsigned char *p, size_t n,
    struct store_blocked_key *out);

/* The encoders: *out is malloc'd, caller frees. */
enum store_err store_rec_encode_account(const struct store_account *a, unsigned char **out, size_t *n);
enum store_err store_rec_encode_order(const struct store_order *o, unsigned char **out, size_t *n);
enum store_err store_rec_encode_authz(const struct store_authz *z, unsigned char **out, size_t *n);
enum store_err store_rec_encode_cert(const struct store_cert *c, unsigned char **out, size_t *n);
enum store_err store_rec_encode_eab(const struct store_eab *e, unsigned char **out, size_t *n);
enum store_err store_rec_encode_blocked_key(const struct store_blocked_key *b, unsigned char **out,
    size_t *n);

/* ------------------------------------------------------------------ */
/* Generic primary-table access (table.c). */

enum store_err st_tbl_get(struct store_txn *t, enum st_tbl tb, const char *key, void *out);
enum store_err st_tbl_put(struct store_txn *t, enum st_tbl tb, const void *rec, unsigned flags);
enum store_err st_tbl_del(struct store_txn *t, enum st_tbl tb, const char *key);
/* Raw record bytes; *data is malloc'd, caller frees. */
enum store_err st_tbl_get_raw(struct store_txn *t, enum st_tbl tb, const char *key,
    unsigned char **data, size_t *len);

/* ------------------------------------------------------------------ */
/* Range scans (cursor.c). */

struct st_range {
	const unsigned char *start;  /* first key >= start (NULL: from the first key) */
	size_t slen;
	int skip_start;              /* leave out entries whose key equals start */
	const unsigned char *prefix; /* stop at the first key without this prefix */
	size_t plen;
	const unsigned char *upto;   /* stop at the first key whose first ulen bytes sort after */
	size_t ulen;
	size_t max;                  /* collect at most this many */
};

/* Collected keys, each NUL-terminated. Free with st_keys_free. */
struct st_keys {
	char (*v)[ST_ITEM_MAX + 1];
	size_t n, cap;
};

/* Append to out the keys (take_key) or the data (an index's primary keys)
 * of db in range r. The cursor is closed before return. */
enum store_err st_collect(struct store_txn *t, DB *db, const struct st_range *r, int take_key,
    struct st_keys *out);
void st_keys_free(struct st_keys *l);
/* Call fn on each key until it returns non-zero; returns 1 if it stopped. */
int st_keys_deliver(const struct st_keys *l, store_id_fn fn, void *arg);
/* Call fn with the rest of each key of db that starts with prefix (plen
 * bytes; NULL for all keys), in key order, until it returns non-zero. The
 * rest must hold no NUL. Batched: fn runs with no cursor open. */
enum store_err st_scan_keys(struct store_txn *t, DB *db, const unsigned char *prefix,
    size_t plen, store_id_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* Environment internals (env.c, index.c). */

/* The primary key stored under key k in unique index ix, into out (outsz,
 * checked against charset cs). STORE_NOTFOUND if there is none. */
enum store_err st_idx_get_pk(struct store_txn *t, enum st_idx ix, const unsigned char *key,
    size_t klen, int cs, char *out, size_t outsz);

/* Open the secondaries (both handles) and associate them; 0 or a BDB error. */
int st_idx_open(struct store *s, uint32_t oflags);
/* Open database file on a fresh handle of s's environment. */
int st_db_open(struct store *s, DB **out, const char *file, uint32_t pagesize, int dupsort,
    uint32_t oflags);

/* Whether acme-admin backup is copying the environment (backup.c): log
 * files must then stay, so store_maintain does not archive them. */
int st_backup_running(struct store *s);

/* Test hook: panic the environment as a failed write would. */
void st_test_panic(struct store *s);

/* base64url without padding of n bytes into out (room for 4*ceil(n/3)+1). */
void st_b64url(const unsigned char *in, size_t n, char *out);

#endif
