/*
 * Range scans. A scan collects keys (or, on an index, primary keys) into a
 * list and closes its cursor before the caller's callback runs, so the
 * callback may read and write anything in the same transaction, including
 * the index being scanned (the validator leases due work that way).
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

void
st_keys_free(struct st_keys *l)
{
	if (l == NULL)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static enum store_err
keys_add(struct st_keys *l, const void *p, size_t n)
{
	void *nv;
	size_t cap;

	if (n > ST_ITEM_MAX)
		return STORE_CORRUPT;
	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		if ((nv = realloc(l->v, cap * sizeof(*l->v))) == NULL)
			return STORE_NOMEM;
		l->v = nv;
		l->cap = cap;
	}
	memcpy(l->v[l->n], p, n);
	l->v[l->n][n] = '\0';
	l->n++;
	return STORE_OK;
}

/* Whether the key k (n bytes) is past the end of range r. */
static int
past_end(const struct st_range *r, const unsigned char *k, size_t n)
{
	if (r->prefix != NULL && (n < r->plen || memcmp(k, r->prefix, r->plen) != 0))
		return 1;
	if (r->upto != NULL && (n < r->ulen || memcmp(k, r->upto, r->ulen) > 0))
		return 1;
	return 0;
}

enum store_err
st_collect(struct store_txn *t, DB *db, const struct st_range *r, int take_key,
    struct st_keys *out)
{
	unsigned char kbuf[ST_KEY_MAX], dbuf[ST_PKEY_MAX];
	DBC *c = NULL;
	DBT k, d;
	u_int32_t op;
	int ret;
	enum store_err rc = STORE_OK;

	if (r->max == 0 || r->slen > sizeof(kbuf))
		goto out;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = kbuf;
	k.ulen = sizeof(kbuf);
	k.flags = DB_DBT_USERMEM;
	d.data = dbuf;
	d.ulen = sizeof(dbuf);
	d.flags = DB_DBT_USERMEM;
	if (take_key)
		d.flags |= DB_DBT_PARTIAL;   /* dlen 0: keys only, no data copied */
	if ((ret = db->cursor(db, t->txn, &c, 0)) != 0) {
		c = NULL;
		rc = st_txn_note(t, store_dberr(t->s, ret, "cursor"));
		goto out;
	}
	op = DB_FIRST;
	if (r->start != NULL) {
		memcpy(kbuf, r->start, r->slen);
		k.size = (u_int32_t)r->slen;
		op = DB_SET_RANGE;
	}
	for (; out->n < r->max; op = DB_NEXT) {
		ret = c->get(c, &k, &d, op | st_rmw(t));
		if (ret == DB_NOTFOUND)
			break;
		if (ret != 0) {
			rc = st_txn_note(t, store_dberr(t->s, ret, "cursor get"));
			goto out;
		}
		if (r->skip_start && k.size == r->slen && memcmp(kbuf, r->start, r->slen) == 0)
			continue;
		if (past_end(r, kbuf, k.size))
			break;
		if ((rc = take_key ? keys_add(out, kbuf, k.size) : keys_add(out, dbuf, d.size)) != STORE_OK)
			goto out;
	}
out:
	if (c != NULL && (ret = c->close(c)) != 0 && rc == STORE_OK)
		rc = st_txn_note(t, store_dberr(t->s, ret, "cursor close"));
	return rc;
}

int
st_keys_deliver(const struct st_keys *l, store_id_fn fn, void *arg)
{
	size_t i;
	int stop = 0;

	for (i = 0; i < l->n && !stop; i++)
		stop = fn(l->v[i], arg) != 0;
	return stop;
}

#define SCAN_BATCH 256

enum store_err
st_scan_keys(struct store_txn *t, DB *db, const unsigned char *prefix, size_t plen,
    store_id_fn fn, void *arg)
{
	unsigned char last[ST_ITEM_MAX + 1];
	struct st_keys l = { NULL, 0, 0 };
	struct st_range r;
	size_t i;
	int stop = 0;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || fn == NULL || plen > ST_ITEM_MAX)
		goto out;
	memset(&r, 0, sizeof(r));
	r.start = r.prefix = prefix;
	r.slen = r.plen = prefix != NULL ? plen : 0;
	r.max = SCAN_BATCH;
	for (;;) {
		l.n = 0;
		if ((rc = st_collect(t, db, &r, 1, &l)) != STORE_OK)
			goto out;
		for (i = 0; i < l.n && !stop; i++)
			stop = fn(l.v[i] + r.plen, arg) != 0;
		if (stop || l.n < SCAN_BATCH)
			goto out;
		/* Go on after the last key: prefix || rest, the rest NUL-free. */
		r.slen = r.plen + strlen(l.v[l.n - 1] + r.plen);
		memcpy(last, l.v[l.n - 1], r.slen);
		r.start = last;
		r.skip_start = 1;
	}
out:
	st_keys_free(&l);
	return rc;
}
