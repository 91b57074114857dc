/*
 * store_verify: every primary record decodes and is indexed under each key
 * its callbacks derive; every index entry points at a record that derives
 * it. The walk reads with DB_READ_COMMITTED so it blocks nobody for long;
 * whatever looks wrong is checked again in a short degree-3 transaction, so
 * a write racing the walk is not reported as a disagreement.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "store/internal.h"

union anyrec {
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	struct store_eab e;
	struct store_job j;
	struct store_upstream u;
	struct store_blocked_key b;
};

/* Something that looked wrong in the walk. */
struct cand {
	int is_entry;       /* 0: primary record pk of table which; 1: entry of index which */
	int which;
	char pk[ST_PKEY_MAX + 1];
	size_t sklen;
	unsigned char skey[ST_KEY_MAX];
};

struct vctx {
	struct store *s;
	int which;          /* the table or index this pass walks */
	int log;
	size_t bad;
	struct cand *c;     /* candidates (walk) or the one to recheck */
	size_t nc, cap;
};

/* Whether the pair (sk, pk) is in index ix. */
static enum store_err
has_entry(struct store_txn *t, enum st_idx ix, const unsigned char *sk, size_t skl,
    const char *pk, int *yes)
{
	char buf[ST_PKEY_MAX];
	DB *db = t->s->ridx[ix];
	DBT k, d;
	int ret;
	enum store_err rc;

	*yes = 0;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)(uintptr_t)sk;
	k.size = (u_int32_t)skl;
	d.size = (u_int32_t)strlen(pk);
	memcpy(buf, pk, d.size);
	d.data = buf;
	d.ulen = sizeof(buf);
	d.flags = DB_DBT_USERMEM;
	ret = db->get(db, t->txn, &k, &d, DB_GET_BOTH);
	rc = st_txn_note(t, store_dberr(t->s, ret, "verify %s", store_idxs[ix].name));
	if (rc == STORE_OK)
		*yes = 1;
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* Count the problems of primary record pk (rec, len) of table tb. */
static enum store_err
chk_primary(struct store_txn *t, struct vctx *v, enum st_tbl tb, const char *pk,
    const unsigned char *rec, size_t len)
{
	const struct st_tbl_desc *td = &store_tbls[tb];
	union anyrec any;
	struct st_key k;
	size_t i;
	int yes;
	enum store_err rc = STORE_OK, e;

	if (td->rt == NULL) {
		if (len != 8) {
			v->bad++;
			if (v->log)
				store_log(LOG_ERR, "verify: %s %s: value is not 8 bytes", td->name, pk);
		}
		goto out;
	}
	e = rec_decode(td->rt, rec, len, &any);
	rec_free(td->rt, &any);
	if (e == STORE_CORRUPT) {
		v->bad++;
		if (v->log)
			store_log(LOG_ERR, "verify: %s %s does not decode", td->name, pk);
		goto out;
	}
	if ((rc = e) != STORE_OK)
		goto out;
	for (i = 0; i < IDX__N; i++) {
		if (store_idxs[i].primary != tb)
			continue;
		if ((e = store_idxs[i].derive(rec, len, &k)) == STORE_NOTFOUND)
			continue;
		if (e == STORE_OK && (rc = has_entry(t, (enum st_idx)i, k.ptr, k.len, pk, &yes)) != STORE_OK)
			goto out;
		if (e != STORE_OK || !yes) {
			v->bad++;
			if (v->log)
				store_log(LOG_ERR, "verify: %s has no entry for %s %s", store_idxs[i].name,
				    td->name, pk);
		}
	}
out:
	return rc;
}

/* Count the problems of entry (sk, pk) of index ix. */
static enum store_err
chk_entry(struct store_txn *t, struct vctx *v, enum st_idx ix, const unsigned char *sk,
    size_t skl, const char *pk)
{
	const struct st_idx_desc *d = &store_idxs[ix];
	unsigned char *rec = NULL;
	struct st_key k;
	size_t len;
	int yes;
	enum store_err rc;

	if ((rc = has_entry(t, ix, sk, skl, pk, &yes)) != STORE_OK || !yes)
		goto out;   /* gone since the walk saw it */
	rc = st_tbl_get_raw(t, d->primary, pk, &rec, &len);
	if (rc == STORE_NOTFOUND) {
		v->bad++;
		if (v->log)
			store_log(LOG_ERR, "verify: %s points at missing %s %s", d->name,
			    store_tbls[d->primary].name, pk);
		rc = STORE_OK;
		goto out;
	}
	if (rc != STORE_OK)
		goto out;
	if (d->derive(rec, len, &k) != STORE_OK || k.len != skl || memcmp(k.ptr, sk, skl) != 0) {
		v->bad++;
		if (v->log)
			store_log(LOG_ERR, "verify: %s entry for %s %s does not match the record",
			    d->name, store_tbls[d->primary].name, pk);
	}
out:
	free(rec);
	return rc;
}

static enum store_err
add_cand(struct vctx *v, int is_entry, const char *pk, const unsigned char *sk, size_t skl)
{
	struct cand *nc;
	size_t cap;

	if (v->nc == v->cap) {
		cap = v->cap ? v->cap * 2 : 8;
		if ((nc = realloc(v->c, cap * sizeof(*nc))) == NULL)
			return STORE_NOMEM;
		v->c = nc;
		v->cap = cap;
	}
	nc = &v->c[v->nc++];
	memset(nc, 0, sizeof(*nc));
	nc->is_entry = is_entry;
	nc->which = v->which;
	memcpy(nc->pk, pk, strlen(pk) + 1);
	memcpy(nc->skey, sk, skl);
	nc->sklen = skl;
	return STORE_OK;
}

/* Walk one table (which < TBL__N) or one index (TBL__N + ix), noting
 * candidates. Runs under store_txn_run: starts over on a conflict. */
static enum store_err
walk(struct store_txn *t, void *arg)
{
	struct vctx *v = arg;
	int is_entry = v->which >= TBL__N;
	unsigned char kbuf[ST_KEY_MAX];
	char pk[ST_PKEY_MAX + 1];
	size_t bad0;
	DB *db = is_entry ? t->s->ridx[v->which - TBL__N] : t->s->db[v->which];
	DBC *c = NULL;
	DBT k, d;
	int ret;
	enum store_err rc;

	v->nc = 0;   /* a retried walk starts over */
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = kbuf;
	k.ulen = sizeof(kbuf);
	k.flags = DB_DBT_USERMEM;
	d.flags = DB_DBT_REALLOC;
	if ((ret = db->cursor(db, t->txn, &c, 0)) != 0) {
		c = NULL;
		rc = st_txn_note(t, store_dberr(t->s, ret, "verify cursor"));
		goto out;
	}
	while ((ret = c->get(c, &k, &d, DB_NEXT)) == 0) {
		bad0 = v->bad;
		if (is_entry) {
			if (d.size > ST_PKEY_MAX)
				d.size = ST_PKEY_MAX;   /* cannot be a key: chk_entry will not find it */
			memcpy(pk, d.data, d.size);
			pk[d.size] = '\0';
			rc = chk_entry(t, v, (enum st_idx)(v->which - TBL__N), kbuf, k.size, pk);
		} else {
			memcpy(pk, kbuf, k.size < ST_PKEY_MAX ? k.size : ST_PKEY_MAX);
			pk[k.size < ST_PKEY_MAX ? k.size : ST_PKEY_MAX] = '\0';
			rc = chk_primary(t, v, (enum st_tbl)v->which, pk, d.data, d.size);
		}
		if (rc == STORE_OK && v->bad != bad0)
			rc = add_cand(v, is_entry, pk, kbuf, k.size);
		v->bad = bad0;
		if (rc != STORE_OK)
			goto out;
	}
	rc = ret == DB_NOTFOUND ? STORE_OK : st_txn_note(t, store_dberr(t->s, ret, "verify walk"));
out:
	if (c != NULL)
		(void)c->close(c);
	free(d.data);
	return rc;
}

/* Check one candidate again, logging what is still wrong. */
static enum store_err
recheck(struct store_txn *t, void *arg)
{
	struct vctx *v = arg;
	const struct cand *c = v->c;
	unsigned char *rec = NULL;
	size_t len;
	enum store_err rc;

	v->bad = 0;
	if (c->is_entry) {
		rc = chk_entry(t, v, (enum st_idx)(c->which - TBL__N), c->skey, c->sklen, c->pk);
		goto out;
	}
	rc = st_tbl_get_raw(t, (enum st_tbl)c->which, c->pk, &rec, &len);
	if (rc == STORE_OK)
		rc = chk_primary(t, v, (enum st_tbl)c->which, c->pk, rec, len);
	else if (rc == STORE_NOTFOUND)
		rc = STORE_OK;   /* deleted since */
out:
	free(rec);
	return rc;
}

enum store_err
store_verify(struct store *s, size_t *bad)
{
	struct vctx v, one;
	size_t i;
	int w;
	enum store_err rc = STORE_INVAL;

	memset(&v, 0, sizeof(v));
	if (s == NULL || bad == NULL)
		goto out;
	*bad = 0;
	v.s = s;
	for (w = 0; w < TBL__N + IDX__N; w++) {
		v.which = w;
		if ((rc = store_txn_run(s, STORE_TXN_RO, walk, &v)) != STORE_OK)
			goto out;
		for (i = 0; i < v.nc; i++) {
			memset(&one, 0, sizeof(one));
			one.s = s;
			one.log = 1;
			one.c = &v.c[i];
			if ((rc = store_txn_run(s, ST_TXN_RO_STABLE, recheck, &one)) != STORE_OK)
				goto out;
			*bad += one.bad;
		}
	}
	rc = STORE_OK;
out:
	free(v.c);
	return rc;
}
