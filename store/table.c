/*
 * Primary tables: one B-tree file each, keyed by the record's id (serial for
 * certificates, kid for EAB keys), the value a TLV record. The typed
 * get/put/del of account.c, order.c, authz.c, cert.c and eab.c all come
 * through here.
 *
 * Page sizes follow the records: accounts (JWK, ~1 KiB) fit 4 KiB pages;
 * orders (a CSR while processing) and authorizations (up to four challenges
 * with their errors) 8 KiB; certificates (DER plus the PEM chain) 16 KiB, so
 * most stay off overflow pages.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "store/internal.h"

const struct st_tbl_desc store_tbls[TBL__N] = {
	[TBL_ACCOUNT] = { "accounts.db", "accounts", 4096, &store_rt_account,
	    offsetof(struct store_account, id), CS_ID },
	[TBL_ORDER] = { "orders.db", "orders", 8192, &store_rt_order,
	    offsetof(struct store_order, id), CS_ID },
	[TBL_AUTHZ] = { "authz.db", "authz", 8192, &store_rt_authz,
	    offsetof(struct store_authz, id), CS_ID },
	[TBL_CERT] = { "certs.db", "certs", 16384, &store_rt_cert,
	    offsetof(struct store_cert, serial), CS_SERIAL },
	[TBL_EAB] = { "eab.db", "eab", 4096, &store_rt_eab, offsetof(struct store_eab, kid), CS_KID },
	[TBL_COUNTER] = { "counters.db", "counters", 4096, NULL, 0, CS_NAME },
	[TBL_JOB] = { "jobs.db", "jobs", 4096, &store_rt_job, offsetof(struct store_job, id), CS_KID },
	[TBL_UPSTREAM] = { "upstream.db", "upstream", 4096, &store_rt_upstream,
	    offsetof(struct store_upstream, dir), CS_DIR },
	[TBL_BLOCKED_KEY] = { "blocked-keys.db", "blocked_keys", 4096, &store_rt_blocked_key,
	    offsetof(struct store_blocked_key, hash), CS_THUMB },
};

/*
 * Point k at key if it can name a record of tb. A malformed key names no
 * record (ids come from URLs), so it is STORE_NOTFOUND, not an error.
 */
static enum store_err
key_dbt(enum st_tbl tb, const char *key, DBT *k)
{
	size_t n;

	memset(k, 0, sizeof(*k));
	if (key == NULL)
		return STORE_INVAL;
	n = strnlen(key, ST_PKEY_MAX + 1);
	if (!st_cs_ok(store_tbls[tb].key_cs, key, n))
		return STORE_NOTFOUND;
	k->data = (void *)(uintptr_t)key;
	k->size = (u_int32_t)n;
	return STORE_OK;
}

enum store_err
st_tbl_get_raw(struct store_txn *t, enum st_tbl tb, const char *key, unsigned char **data,
    size_t *len)
{
	DBT k, d;
	int ret;
	enum store_err rc;

	*data = NULL;
	*len = 0;
	rc = STORE_INVAL;
	if (t == NULL || (rc = key_dbt(tb, key, &k)) != STORE_OK)
		goto out;
	memset(&d, 0, sizeof(d));
	d.flags = DB_DBT_MALLOC;
	ret = t->s->db[tb]->get(t->s->db[tb], t->txn, &k, &d, st_rmw(t));
	if ((rc = st_txn_note(t, store_dberr(t->s, ret, "%s get", store_tbls[tb].name))) != STORE_OK)
		goto out;
	*data = d.data;
	*len = d.size;
out:
	return rc;
}

enum store_err
st_tbl_get(struct store_txn *t, enum st_tbl tb, const char *key, void *out)
{
	const struct st_tbl_desc *d = &store_tbls[tb];
	unsigned char *data = NULL;
	size_t len;
	enum store_err rc;

	if (out == NULL)
		return STORE_INVAL;
	memset(out, 0, d->rt->size);
	if ((rc = st_tbl_get_raw(t, tb, key, &data, &len)) != STORE_OK)
		goto out;
	if ((rc = rec_decode(d->rt, data, len, out)) == STORE_CORRUPT)
		store_log(LOG_ERR, "%s: record %s does not decode", d->name, key);
out:
	free(data);
	return rc;
}

/*
 * A unique index taken by another record is STORE_EXISTS. (Left to the
 * index, such a put fails with EINVAL.) The lookup takes a write lock, so a
 * concurrent put of the same key waits for us and then sees ours.
 */
static enum store_err
check_unique(struct store_txn *t, enum st_tbl tb, const char *pk, const unsigned char *data,
    size_t len)
{
	char owner[ST_PKEY_MAX + 1];
	struct st_key k;
	size_t i;
	enum store_err rc = STORE_OK;

	for (i = 0; i < IDX__N && rc == STORE_OK; i++) {
		if (store_idxs[i].primary != tb || !store_idxs[i].unique ||
		    store_idxs[i].derive(data, len, &k) != STORE_OK)
			continue;
		rc = st_idx_get_pk(t, (enum st_idx)i, k.ptr, k.len, store_tbls[tb].key_cs, owner,
		    sizeof(owner));
		if (rc == STORE_NOTFOUND)
			rc = STORE_OK;
		else if (rc == STORE_OK && strcmp(owner, pk) != 0)
			rc = STORE_EXISTS;
	}
	return rc;
}

enum store_err
st_tbl_put(struct store_txn *t, enum st_tbl tb, const void *rec, unsigned flags)
{
	const struct st_tbl_desc *d = &store_tbls[tb];
	unsigned char *data = NULL;
	size_t len;
	DBT k, v;
	int ret;
	enum store_err rc;

	if ((rc = st_need_rw(t, "put")) != STORE_OK)
		goto out;
	if ((rc = rec_encode(d->rt, rec, &data, &len)) != STORE_OK)
		goto out;
	/* The encoder checked the key field's charset. */
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (unsigned char *)(uintptr_t)rec + d->key_off;
	k.size = (u_int32_t)strlen(k.data);
	if ((rc = check_unique(t, tb, k.data, data, len)) != STORE_OK)
		goto out;
	v.data = data;
	v.size = (u_int32_t)len;
	ret = t->s->db[tb]->put(t->s->db[tb], t->txn, &k, &v,
	    (flags & STORE_PUT_CREATE) ? DB_NOOVERWRITE : 0);
	rc = st_txn_note(t, store_dberr(t->s, ret, "%s put", d->name));
out:
	free(data);
	return rc;
}

enum store_err
st_tbl_del(struct store_txn *t, enum st_tbl tb, const char *key)
{
	DBT k;
	int ret;
	enum store_err rc;

	if ((rc = st_need_rw(t, "delete")) != STORE_OK || (rc = key_dbt(tb, key, &k)) != STORE_OK)
		goto out;
	ret = t->s->db[tb]->del(t->s->db[tb], t->txn, &k, 0);
	rc = st_txn_note(t, store_dberr(t->s, ret, "%s delete", store_tbls[tb].name));
out:
	return rc;
}

/* In batches: the callback runs with no cursor open, so it may write. */
enum store_err
store_scan(struct store_txn *t, enum store_table table, store_id_fn fn, void *arg)
{
	static const enum st_tbl map[STORE_T__MAX] = {
		[STORE_T_ACCOUNT] = TBL_ACCOUNT, [STORE_T_ORDER] = TBL_ORDER,
		[STORE_T_AUTHZ] = TBL_AUTHZ, [STORE_T_CERT] = TBL_CERT, [STORE_T_EAB] = TBL_EAB,
		[STORE_T_JOB] = TBL_JOB, [STORE_T_UPSTREAM] = TBL_UPSTREAM,
		[STORE_T_BLOCKED_KEY] = TBL_BLOCKED_KEY,
	};
	enum store_err rc = STORE_INVAL;

	if (t != NULL && table >= STORE_T_ACCOUNT && table < STORE_T__MAX)
		rc = st_scan_keys(t, t->s->db[map[table]], NULL, 0, fn, arg);
	return rc;
}
