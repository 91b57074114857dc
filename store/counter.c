/*
 * Named 64-bit values in counters.db: key the name (1..255 printable ASCII
 * characters, no blank), value 8 bytes big-endian two's complement. They
 * hold CRL numbers ("crl/<dir>"), rate-limit state ("rate/...") and
 * per-account limit overrides ("override/<account>/<limit>").
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "store/internal.h"

/* Point k at name if it is a well-formed counter name; logs otherwise. */
static enum store_err
name_dbt(const char *name, DBT *k)
{
	size_t n;

	memset(k, 0, sizeof(*k));
	if (name == NULL)
		return STORE_INVAL;
	n = strnlen(name, ST_COUNTER_NAME_MAX + 1);
	if (!st_cs_ok(CS_NAME, name, n)) {
		store_log(LOG_ERR, "counter name is malformed");
		return STORE_INVAL;
	}
	k->data = (void *)(uintptr_t)name;
	k->size = (u_int32_t)n;
	return STORE_OK;
}

static void
put_be64(unsigned char buf[8], int64_t v)
{
	int i;

	for (i = 7; i >= 0; i--)
		buf[i] = (unsigned char)((uint64_t)v >> (8 * (7 - i)));
}

/* The value under k, read with flags (DB_RMW or 0). */
static enum store_err
ctr_read(struct store_txn *t, DBT *k, const char *name, u_int32_t flags, int64_t *value)
{
	unsigned char buf[8];
	DB *db = t->s->db[TBL_COUNTER];
	DBT d;
	int ret;
	enum store_err rc;

	memset(&d, 0, sizeof(d));
	d.data = buf;
	d.ulen = sizeof(buf);
	d.flags = DB_DBT_USERMEM;
	ret = db->get(db, t->txn, k, &d, flags);
	if (ret == 0 && d.size == sizeof(buf)) {
		*value = rec_i64(buf);
		rc = STORE_OK;
	} else if (ret == 0 || ret == DB_BUFFER_SMALL) {
		store_log(LOG_ERR, "counter %s: value is not 8 bytes", name);
		rc = STORE_CORRUPT;
	} else {
		rc = st_txn_note(t, store_dberr(t->s, ret, "counter %s get", name));
	}
	return rc;
}

static enum store_err
ctr_write(struct store_txn *t, DBT *k, const char *name, int64_t value)
{
	unsigned char buf[8];
	DB *db = t->s->db[TBL_COUNTER];
	DBT d;
	int ret;

	put_be64(buf, value);
	memset(&d, 0, sizeof(d));
	d.data = buf;
	d.size = sizeof(buf);
	ret = db->put(db, t->txn, k, &d, 0);
	return st_txn_note(t, store_dberr(t->s, ret, "counter %s put", name));
}

enum store_err
store_counter_add(struct store_txn *t, const char *name, int64_t delta, int64_t *value)
{
	DBT k;
	int64_t cur = 0;
	enum store_err rc;

	if ((rc = st_need_rw(t, "counter add")) != STORE_OK || value == NULL) {
		rc = STORE_INVAL;
		goto out;
	}
	if ((rc = name_dbt(name, &k)) != STORE_OK)
		goto out;
	rc = ctr_read(t, &k, name, DB_RMW, &cur);
	if (rc == STORE_NOTFOUND)
		cur = 0;
	else if (rc != STORE_OK)
		goto out;
	if (__builtin_add_overflow(cur, delta, &cur)) {
		store_log(LOG_ERR, "counter %s would overflow", name);
		rc = STORE_INVAL;
		goto out;
	}
	if ((rc = ctr_write(t, &k, name, cur)) != STORE_OK)
		goto out;
	*value = cur;
out:
	return rc;
}

enum store_err
store_counter_get(struct store_txn *t, const char *name, int64_t *value)
{
	DBT k;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || value == NULL || (rc = name_dbt(name, &k)) != STORE_OK)
		goto out;
	rc = ctr_read(t, &k, name, st_rmw(t), value);
out:
	return rc;
}

enum store_err
store_counter_set(struct store_txn *t, const char *name, int64_t value)
{
	DBT k;
	enum store_err rc;

	if ((rc = st_need_rw(t, "counter set")) != STORE_OK || (rc = name_dbt(name, &k)) != STORE_OK)
		goto out;
	rc = ctr_write(t, &k, name, value);
out:
	return rc;
}

enum store_err
store_counter_del(struct store_txn *t, const char *name)
{
	DB *db;
	DBT k;
	int ret;
	enum store_err rc;

	if ((rc = st_need_rw(t, "counter delete")) != STORE_OK || (rc = name_dbt(name, &k)) != STORE_OK)
		goto out;
	db = t->s->db[TBL_COUNTER];
	ret = db->del(db, t->txn, &k, 0);
	rc = st_txn_note(t, store_dberr(t->s, ret, "counter %s delete", name));
out:
	return rc;
}

/* ------------------------------------------------------------------ */
/* Prefix scans, in batches: a batch is collected with the cursor open,
 * then handed to the callback with it closed. */

#define CTR_BATCH 256

struct ctr_item {
	char name[ST_COUNTER_NAME_MAX + 1];
	int64_t value;
};

/*
 * Collect into items (at most CTR_BATCH) the counters whose names start
 * with prefix (plen bytes) from start (slen bytes; skipped itself when
 * skip), in name order. *n gets the count.
 */
static enum store_err
ctr_collect(struct store_txn *t, const char *prefix, size_t plen, const char *start, size_t slen,
    int skip, struct ctr_item *items, size_t *n)
{
	unsigned char kbuf[ST_COUNTER_NAME_MAX + 1], dbuf[8];
	DB *db = t->s->db[TBL_COUNTER];
	DBC *c = NULL;
	DBT k, d;
	u_int32_t op = DB_SET_RANGE;
	int ret;
	enum store_err rc = STORE_OK;

	*n = 0;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = kbuf;
	k.ulen = sizeof(kbuf);
	k.flags = DB_DBT_USERMEM;
	d.data = dbuf;
	d.ulen = sizeof(dbuf);
	d.flags = DB_DBT_USERMEM;
	memcpy(kbuf, start, slen);
	k.size = (u_int32_t)slen;
	if (slen == 0)
		op = DB_FIRST;
	if ((ret = db->cursor(db, t->txn, &c, 0)) != 0) {
		c = NULL;
		rc = st_txn_note(t, store_dberr(t->s, ret, "counter cursor"));
		goto out;
	}
	for (; *n < CTR_BATCH; op = DB_NEXT) {
		ret = c->get(c, &k, &d, op | st_rmw(t));
		if (ret == DB_NOTFOUND)
			break;
		if (ret == DB_BUFFER_SMALL) {
			store_log(LOG_ERR, "counters: a name or value has the wrong size");
			rc = STORE_CORRUPT;
			goto out;
		}
		if (ret != 0) {
			rc = st_txn_note(t, store_dberr(t->s, ret, "counter cursor get"));
			goto out;
		}
		if (k.size < plen || memcmp(kbuf, prefix, plen) != 0)
			break;
		if (skip && k.size == slen && memcmp(kbuf, start, slen) == 0)
			continue;
		if (d.size != 8 || !st_cs_ok(CS_NAME, (const char *)kbuf, k.size)) {
			store_log(LOG_ERR, "counters: a record is malformed");
			rc = STORE_CORRUPT;
			goto out;
		}
		memcpy(items[*n].name, kbuf, k.size);
		items[*n].name[k.size] = '\0';
		items[*n].value = rec_i64(dbuf);
		(*n)++;
	}
out:
	if (c != NULL && (ret = c->close(c)) != 0 && rc == STORE_OK)
		rc = st_txn_note(t, store_dberr(t->s, ret, "counter cursor close"));
	return rc;
}

enum store_err
store_counter_scan(struct store_txn *t, const char *prefix, store_counter_fn fn, void *arg)
{
	struct ctr_item *items = NULL;
	char last[ST_COUNTER_NAME_MAX + 1];
	size_t plen, n = 0, i, slen;
	int stop = 0, skip = 0;
	enum store_err rc = STORE_INVAL;

	if (t == NULL || fn == NULL)
		goto out;
	if (prefix == NULL)
		prefix = "";
	plen = strnlen(prefix, ST_COUNTER_NAME_MAX + 1);
	if (plen > ST_COUNTER_NAME_MAX)
		goto out;
	rc = STORE_NOMEM;
	if ((items = malloc(CTR_BATCH * sizeof(*items))) == NULL)
		goto out;
	memcpy(last, prefix, plen);
	slen = plen;
	for (;;) {
		if ((rc = ctr_collect(t, prefix, plen, last, slen, skip, items, &n)) != STORE_OK)
			goto out;
		for (i = 0; i < n && !stop; i++)
			stop = fn(items[i].name, items[i].value, arg) != 0;
		if (stop || n < CTR_BATCH)
			goto out;
		slen = strlen(items[n - 1].name);
		memcpy(last, items[n - 1].name, slen);
		skip = 1;
	}
out:
	free(items);
	return rc;
}
