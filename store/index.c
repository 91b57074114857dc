/*
 * Secondary indexes. Each is a B-tree file associated with its primary
 * (DB->associate), so every put and delete on the primary keeps it in step
 * inside the same transaction. The callback derives the key by reading the
 * record's TLV fields in place; a key that is one field (the ARI) points into
 * the record, a composite key is built and handed over with DB_DBT_APPMALLOC.
 *
 * Keys (times are st_be64: big-endian with the sign bit flipped):
 *   idx-acct-thumb   thumb || 0x00 || dir                 -> account id
 *   idx-order-acct   acct || be64(created) || order id     -> order id
 *   idx-authz-ident  acct || type || value || 0x00 || ~be64(created)
 *                                                          -> authz ids (dupsort)
 *   idx-authz-due    be64(due) || authz id, due <= 0 left out -> authz id
 *   idx-cert-ari     ARI CertID, "" left out               -> serial
 *   idx-cert-revoked dir || 0x00 || serial, revoked only   -> serial
 *   idx-job-due      be64(due) || job id, due <= 0 left out -> job id
 *
 * A listing scans the index's file through a second, unassociated handle
 * (s->ridx), whose data is the primary key: no join with the primary.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "store/internal.h"

/* ------------------------------------------------------------------ */
/* Key builders, shared by the callbacks and the queries. */

static size_t
k_thumb(unsigned char *b, const void *thumb, const void *dir, size_t dlen)
{
	memcpy(b, thumb, STORE_THUMB_LEN);
	b[STORE_THUMB_LEN] = 0;
	memcpy(b + STORE_THUMB_LEN + 1, dir, dlen);
	return STORE_THUMB_LEN + 1 + dlen;
}

static size_t
k_order(unsigned char *b, const void *acct, int64_t created, const void *id)
{
	memcpy(b, acct, STORE_ID_LEN);
	st_be64(b + STORE_ID_LEN, created);
	if (id != NULL)
		memcpy(b + STORE_ID_LEN + 8, id, STORE_ID_LEN);
	return STORE_ID_LEN + 8 + (id != NULL ? STORE_ID_LEN : 0);
}

/* The prefix acct || type || value || 0x00; the full key adds the time. */
static size_t
k_ident(unsigned char *b, const void *acct, uint8_t type, const void *val, size_t vlen)
{
	memcpy(b, acct, STORE_ID_LEN);
	b[STORE_ID_LEN] = type;
	memcpy(b + STORE_ID_LEN + 1, val, vlen);
	b[STORE_ID_LEN + 1 + vlen] = 0;
	return STORE_ID_LEN + 2 + vlen;
}

/* Complement a big-endian time so a forward scan meets the newest first. */
static void
newest_first(unsigned char *p)
{
	size_t i;

	for (i = 0; i < 8; i++)
		p[i] ^= 0xff;
}

static size_t
k_due(unsigned char *b, int64_t due, const void *id, size_t idlen)
{
	st_be64(b, due);
	memcpy(b + 8, id, idlen);
	return 8 + idlen;
}

/* ------------------------------------------------------------------ */
/* Derivation from raw records. */

/* A field of length in [min, max]; STORE_NOTFOUND if absent. */
static enum store_err
fld(const unsigned char *rec, size_t len, uint8_t magic, uint8_t tag, size_t min, size_t max,
    const unsigned char **v, size_t *vlen)
{
	enum store_err rc = rec_find(rec, len, magic, tag, v, vlen);

	if (rc == STORE_OK && (*vlen < min || *vlen > max))
		rc = STORE_CORRUPT;
	return rc;
}

/* A required field: absent is corrupt. */
static enum store_err
req(const unsigned char *rec, size_t len, uint8_t magic, uint8_t tag, size_t min, size_t max,
    const unsigned char **v, size_t *vlen)
{
	enum store_err rc = fld(rec, len, magic, tag, min, max, v, vlen);

	return rc == STORE_NOTFOUND ? STORE_CORRUPT : rc;
}

static enum store_err
derive_acct_thumb(const unsigned char *rec, size_t len, struct st_key *k)
{
	const unsigned char *th, *dir;
	size_t thl, dirl;
	enum store_err rc;

	if ((rc = req(rec, len, REC_MAGIC_ACCOUNT, ACC_THUMB, STORE_THUMB_LEN, STORE_THUMB_LEN,
	    &th, &thl)) != STORE_OK ||
	    (rc = req(rec, len, REC_MAGIC_ACCOUNT, ACC_DIR, 1, STORE_NAME_MAX, &dir, &dirl)) != STORE_OK)
		return rc;
	k->len = k_thumb(k->buf, th, dir, dirl);
	k->ptr = k->buf;
	return STORE_OK;
}

static enum store_err
derive_order_acct(const unsigned char *rec, size_t len, struct st_key *k)
{
	const unsigned char *acct, *cr, *id;
	size_t n;
	enum store_err rc;

	if ((rc = req(rec, len, REC_MAGIC_ORDER, ORD_ACCT, STORE_ID_LEN, STORE_ID_LEN, &acct, &n)) ||
	    (rc = req(rec, len, REC_MAGIC_ORDER, ORD_CREATED, 8, 8, &cr, &n)) ||
	    (rc = req(rec, len, REC_MAGIC_ORDER, ORD_ID, STORE_ID_LEN, STORE_ID_LEN, &id, &n)))
		return rc;
	k->len = k_order(k->buf, acct, rec_i64(cr), id);
	k->ptr = k->buf;
	return STORE_OK;
}

static enum store_err
derive_authz_ident(const unsigned char *rec, size_t len, struct st_key *k)
{
	const unsigned char *acct, *id, *cr;
	size_t n, idl;
	enum store_err rc;

	if ((rc = req(rec, len, REC_MAGIC_AUTHZ, AZ_ACCT, STORE_ID_LEN, STORE_ID_LEN, &acct, &n)) ||
	    (rc = req(rec, len, REC_MAGIC_AUTHZ, AZ_IDENT, 2, REC_IDENT_MAX + 1, &id, &idl)) ||
	    (rc = req(rec, len, REC_MAGIC_AUTHZ, AZ_CREATED, 8, 8, &cr, &n)))
		return rc;
	if (memchr(id + 1, 0, idl - 1) != NULL)
		return STORE_CORRUPT;
	k->len = k_ident(k->buf, acct, id[0], id + 1, idl - 1);
	st_be64(k->buf + k->len, rec_i64(cr));
	newest_first(k->buf + k->len);
	k->len += 8;
	k->ptr = k->buf;
	return STORE_OK;
}

static enum store_err
derive_authz_due(const unsigned char *rec, size_t len, struct st_key *k)
{
	const unsigned char *due, *id;
	size_t n;
	enum store_err rc;

	if ((rc = fld(rec, len, REC_MAGIC_AUTHZ, AZ_DUE, 8, 8, &due, &n)) != STORE_OK)
		return rc;   /* absent: due == 0, not queued */
	if (rec_i64(due) <= 0)
		return STORE_NOTFOUND;
	if ((rc = req(rec, len, REC_MAGIC_AUTHZ, AZ_ID, STORE_ID_LEN, STORE_ID_LEN, &id, &n)))
		return rc;
	k->len = k_due(k->buf, rec_i64(due), id, STORE_ID_LEN);
	k->ptr = k->buf;
	return STORE_OK;
}

/* Finished jobs (due 0) drop out of the queue. */
static enum store_err
derive_job_due(const unsigned char *rec, size_t len, struct st_key *k)
{
	const unsigned char *due, *id;
	size_t n, idl;
	enum store_err rc;

	if ((rc = fld(rec, len, REC_MAGIC_JOB, JOB_DUE, 8, 8, &due, &n)) != STORE_OK)
		return rc;
	if (rec_i64(due) <= 0)
		return STORE_NOTFOUND;
	if ((rc = req(rec, len, REC_MAGIC_JOB, JOB_ID, 1, STORE_JOB_ID_MAX, &id, &idl)))
		return rc;
	k->len = k_due(k->buf, rec_i64(due), id, idl);
	k->ptr = k->buf;
	return STORE_OK;
}

static enum store_err
derive_cert_ari(const unsigned char *rec, size_t len, struct st_key *k)
{
	const unsigned char *ari;
	size_t n;
	enum store_err rc;

	if ((rc = fld(rec, len, REC_MAGIC_CERT, CRT_ARI, 1, STORE_ARI_MAX, &ari, &n)) != STORE_OK)
		return rc;
	k->ptr = ari;   /* the key is the field itself */
	k->len = n;
	return STORE_OK;
}

/* Only revoked certificates: a CRL reads what it lists and no more. */
static enum store_err
derive_cert_revoked(const unsigned char *rec, size_t len, struct st_key *k)
{
	const unsigned char *rev, *dir, *serial;
	size_t n, dl, sl;
	enum store_err rc;

	if ((rc = fld(rec, len, REC_MAGIC_CERT, CRT_REVOKED, 1, 1, &rev, &n)) != STORE_OK)
		return rc;   /* absent: not revoked */
	if (rev[0] == 0)
		return STORE_NOTFOUND;
	if ((rc = req(rec, len, REC_MAGIC_CERT, CRT_DIR, 1, STORE_NAME_MAX, &dir, &dl)) ||
	    (rc = req(rec, len, REC_MAGIC_CERT, CRT_SERIAL, 1, STORE_SERIAL_MAX, &serial, &sl)))
		return rc;
	if (memchr(serial, 0, sl) != NULL)
		return STORE_CORRUPT;
	memcpy(k->buf, dir, dl);
	k->buf[dl] = 0;
	memcpy(k->buf + dl + 1, serial, sl);
	k->len = dl + 1 + sl;
	k->ptr = k->buf;
	return STORE_OK;
}

const struct st_idx_desc store_idxs[IDX__N] = {
	[IDX_ACCT_THUMB] = { "idx-acct-thumb.db", "account-by-thumb", TBL_ACCOUNT, 0, 1,
	    derive_acct_thumb },
	[IDX_ORDER_ACCT] = { "idx-order-acct.db", "orders-by-account", TBL_ORDER, 0, 0,
	    derive_order_acct },
	[IDX_AUTHZ_IDENT] = { "idx-authz-ident.db", "authz-by-ident", TBL_AUTHZ, 1, 0,
	    derive_authz_ident },
	[IDX_AUTHZ_DUE] = { "idx-authz-due.db", "authz-due", TBL_AUTHZ, 0, 0, derive_authz_due },
	[IDX_CERT_ARI] = { "idx-cert-ari.db", "cert-by-ari", TBL_CERT, 0, 1, derive_cert_ari },
	[IDX_CERT_REVOKED] = { "idx-cert-revoked.db", "revoked-by-dir", TBL_CERT, 0, 0,
	    derive_cert_revoked },
	[IDX_JOB_DUE] = { "idx-job-due.db", "job-due", TBL_JOB, 0, 0, derive_job_due },
};

static int
idx_callback(DB *sdb, const DBT *pkey, const DBT *pdata, DBT *result)
{
	const struct st_idx_desc *d = sdb->app_private;
	struct st_key k;
	void *m;
	enum store_err rc;

	(void)pkey;
	rc = d->derive(pdata->data, pdata->size, &k);
	if (rc == STORE_NOTFOUND)
		return DB_DONOTINDEX;
	if (rc != STORE_OK) {
		store_log(LOG_ERR, "%s: a record does not decode", d->name);
		return ST_ECORRUPT;
	}
	memset(result, 0, sizeof(*result));
	result->size = (u_int32_t)k.len;
	if (k.ptr != k.buf) {
		result->data = (void *)(uintptr_t)k.ptr;   /* inside pdata, which outlives it */
		return 0;
	}
	if ((m = malloc(k.len)) == NULL)
		return ENOMEM;
	memcpy(m, k.buf, k.len);
	result->data = m;
	result->flags = DB_DBT_APPMALLOC;
	return 0;
}

/*
 * Associate without DB_CREATE: with it every process's open would walk the
 * whole primary whenever an index happens to be empty (the due queue often
 * is). A new index on existing data needs a one-off rebuild instead.
 */
int
st_idx_open(struct store *s, uint32_t oflags)
{
	const struct st_idx_desc *d;
	DB *p;
	size_t i;
	int ret = 0;

	for (i = 0; i < IDX__N; i++) {
		d = &store_idxs[i];
		/* The jobs table came with the job index: a store made before
		 * both gets the (then empty) pair on first open, no rebuild. */
		if ((ret = st_db_open(s, &s->sidx[i], d->file, 4096, d->dupsort,
		    d->primary == TBL_JOB ? oflags | DB_CREATE : oflags)) != 0 ||
		    (ret = st_db_open(s, &s->ridx[i], d->file, 4096, d->dupsort, 0)) != 0)
			goto out;
		s->sidx[i]->app_private = (void *)(uintptr_t)d;
		p = s->db[d->primary];
		if ((ret = p->associate(p, NULL, s->sidx[i], idx_callback, 0)) != 0)
			goto out;
	}
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* Queries. */

enum store_err
st_idx_get_pk(struct store_txn *t, enum st_idx ix, const unsigned char *key, size_t klen, int cs,
    char *out, size_t outsz)
{
	unsigned char buf[ST_PKEY_MAX];
	DB *db = t->s->ridx[ix];
	DBT k, d;
	int ret;
	enum store_err rc;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	d.data = buf;
	d.ulen = sizeof(buf);
	d.flags = DB_DBT_USERMEM;
	ret = db->get(db, t->txn, &k, &d, st_rmw(t));
	if ((rc = st_txn_note(t, store_dberr(t->s, ret, "%s get", store_idxs[ix].name))) != STORE_OK)
		goto out;
	if (d.size >= outsz || !st_cs_ok(cs, (const char *)buf, d.size)) {
		store_log(LOG_ERR, "%s: an entry holds a malformed key", store_idxs[ix].name);
		rc = STORE_CORRUPT;
		goto out;
	}
	memcpy(out, buf, d.size);
	out[d.size] = '\0';
out:
	return rc;
}

/* Collect the primary keys of index ix in range r, then hand them to fn. */
static enum store_err
idx_list(struct store_txn *t, enum st_idx ix, const struct st_range *r, store_id_fn fn, void *arg)
{
	struct st_keys l = { NULL, 0, 0 };
	enum store_err rc;

	if ((rc = st_collect(t, t->s->ridx[ix], r, 0, &l)) == STORE_OK)
		(void)st_keys_deliver(&l, fn, arg);
	st_keys_free(&l);
	return rc;
}

enum store_err
store_account_by_thumb(struct store_txn *t, const char *dir, const char *thumb, store_id id_out)
{
	unsigned char key[ST_KEY_MAX];
	size_t dl;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || dir == NULL || thumb == NULL || id_out == NULL)
		goto out;
	id_out[0] = '\0';
	rc = STORE_NOTFOUND;
	dl = strnlen(dir, STORE_NAME_MAX + 1);
	if (!st_cs_ok(CS_DIR, dir, dl) ||
	    !st_cs_ok(CS_THUMB, thumb, strnlen(thumb, STORE_THUMB_LEN + 1)))
		goto out;
	rc = st_idx_get_pk(t, IDX_ACCT_THUMB, key, k_thumb(key, thumb, dir, dl), CS_ID, id_out,
	    sizeof(store_id));
out:
	return rc;
}

enum store_err
store_thumb_known(struct store_txn *t, const char *thumb, int *found)
{
	unsigned char key[STORE_THUMB_LEN + 1];
	struct st_keys l = { NULL, 0, 0 };
	struct st_range r;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || thumb == NULL || found == NULL)
		goto out;
	*found = 0;
	rc = STORE_OK;
	if (!st_cs_ok(CS_THUMB, thumb, strnlen(thumb, STORE_THUMB_LEN + 1)))
		goto out;
	memcpy(key, thumb, STORE_THUMB_LEN);
	key[STORE_THUMB_LEN] = 0;
	memset(&r, 0, sizeof(r));
	r.start = r.prefix = key;
	r.slen = r.plen = sizeof(key);
	r.max = 1;
	if ((rc = st_collect(t, t->s->ridx[IDX_ACCT_THUMB], &r, 0, &l)) == STORE_OK)
		*found = l.n > 0;
out:
	st_keys_free(&l);
	return rc;
}

/*
 * The `after` cursor is an order id: we read that order to find where it
 * sits (its created time), then continue after it. An unknown order, or one
 * of another account, is STORE_NOTFOUND.
 */
enum store_err
store_orders_by_account(struct store_txn *t, const char *acct, const char *after, size_t max,
    store_id_fn fn, void *arg)
{
	unsigned char start[ST_KEY_MAX], *rec = NULL;
	const unsigned char *v;
	size_t len, vlen;
	struct st_range r;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || acct == NULL || fn == NULL)
		goto out;
	rc = STORE_OK;
	if (!st_cs_ok(CS_ID, acct, strnlen(acct, STORE_ID_LEN + 1)))
		goto out;   /* no such account, so no orders */
	memset(&r, 0, sizeof(r));
	r.start = r.prefix = start;
	r.plen = r.slen = STORE_ID_LEN;
	r.max = max;
	memcpy(start, acct, STORE_ID_LEN);
	if (after != NULL && *after != '\0') {
		if ((rc = st_tbl_get_raw(t, TBL_ORDER, after, &rec, &len)) != STORE_OK)
			goto out;
		rc = STORE_NOTFOUND;
		if (rec_find(rec, len, REC_MAGIC_ORDER, ORD_ACCT, &v, &vlen) != STORE_OK ||
		    vlen != STORE_ID_LEN || memcmp(v, acct, STORE_ID_LEN) != 0 ||
		    rec_find(rec, len, REC_MAGIC_ORDER, ORD_CREATED, &v, &vlen) != STORE_OK ||
		    vlen != 8)
			goto out;
		r.slen = k_order(start, acct, rec_i64(v), after);
		r.skip_start = 1;
	}
	rc = idx_list(t, IDX_ORDER_ACCT, &r, fn, arg);
out:
	free(rec);
	return rc;
}

enum store_err
store_authz_by_ident(struct store_txn *t, const char *acct, const struct store_ident *ident,
    size_t max, store_id_fn fn, void *arg)
{
	unsigned char key[ST_KEY_MAX];
	struct st_range r;
	size_t vl;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || acct == NULL || ident == NULL || ident->value == NULL || fn == NULL)
		goto out;
	rc = STORE_OK;
	vl = strnlen(ident->value, REC_IDENT_MAX + 1);
	if (!st_cs_ok(CS_ID, acct, strnlen(acct, STORE_ID_LEN + 1)) || vl == 0 ||
	    vl > REC_IDENT_MAX)
		goto out;
	memset(&r, 0, sizeof(r));
	r.start = r.prefix = key;
	r.slen = r.plen = k_ident(key, acct, ident->type, ident->value, vl);
	r.max = max;
	rc = idx_list(t, IDX_AUTHZ_IDENT, &r, fn, arg);
out:
	return rc;
}

/* The queue scans of authorizations and jobs: ids due in [1, now]. */
static enum store_err
due_list(struct store_txn *t, enum st_idx ix, int64_t now, size_t max, store_id_fn fn, void *arg)
{
	unsigned char upto[8];
	struct st_range r;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || fn == NULL)
		goto out;
	rc = STORE_OK;
	if (now < 1)
		goto out;
	st_be64(upto, now);
	memset(&r, 0, sizeof(r));
	r.upto = upto;
	r.ulen = sizeof(upto);
	r.max = max;
	rc = idx_list(t, ix, &r, fn, arg);
out:
	return rc;
}

static enum store_err
next_due(struct store_txn *t, enum st_idx ix, int64_t *when)
{
	struct st_keys l = { NULL, 0, 0 };
	struct st_range r;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || when == NULL)
		goto out;
	*when = 0;
	memset(&r, 0, sizeof(r));
	r.max = 1;
	if ((rc = st_collect(t, t->s->ridx[ix], &r, 1, &l)) != STORE_OK || l.n == 0)
		goto out;
	*when = st_get_be64((const unsigned char *)l.v[0]);
out:
	st_keys_free(&l);
	return rc;
}

enum store_err
store_authz_due(struct store_txn *t, int64_t now, size_t max, store_id_fn fn, void *arg)
{
	return due_list(t, IDX_AUTHZ_DUE, now, max, fn, arg);
}

enum store_err
store_authz_next_due(struct store_txn *t, int64_t *when)
{
	return next_due(t, IDX_AUTHZ_DUE, when);
}

enum store_err
store_job_due(struct store_txn *t, int64_t now, size_t max, store_id_fn fn, void *arg)
{
	return due_list(t, IDX_JOB_DUE, now, max, fn, arg);
}

enum store_err
store_job_next_due(struct store_txn *t, int64_t *when)
{
	return next_due(t, IDX_JOB_DUE, when);
}

enum store_err
store_revoked_by_dir(struct store_txn *t, const char *dir, store_id_fn fn, void *arg)
{
	unsigned char prefix[STORE_NAME_MAX + 1];
	size_t dl;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || dir == NULL || fn == NULL)
		goto out;
	rc = STORE_OK;
	dl = strnlen(dir, STORE_NAME_MAX + 1);
	if (!st_cs_ok(CS_DIR, dir, dl))
		goto out;   /* no such directory, nothing revoked */
	memcpy(prefix, dir, dl);
	prefix[dl] = 0;
	rc = st_scan_keys(t, t->s->ridx[IDX_CERT_REVOKED], prefix, dl + 1, fn, arg);
out:
	return rc;
}

enum store_err
store_cert_by_ari(struct store_txn *t, const char *ari, char serial_out[STORE_SERIAL_MAX + 1])
{
	size_t n;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || ari == NULL || serial_out == NULL)
		goto out;
	serial_out[0] = '\0';
	rc = STORE_NOTFOUND;
	n = strnlen(ari, STORE_ARI_MAX + 1);
	if (!st_cs_ok(CS_ARI, ari, n))
		goto out;
	rc = st_idx_get_pk(t, IDX_CERT_ARI, (const unsigned char *)ari, n, CS_SERIAL, serial_out,
	    STORE_SERIAL_MAX + 1);
out:
	return rc;
}
