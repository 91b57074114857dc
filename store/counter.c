/* Named 64-bit counters (CRL numbers, statistics) in counters.db: key the
 * name, value 8 bytes big-endian two's complement. */
#include <string.h>
#include <syslog.h>

#include "store/internal.h"

enum store_err
store_counter_add(struct store_txn *t, const char *name, int64_t delta, int64_t *value)
{
	unsigned char buf[8];
	DB *db;
	DBT k, d;
	int64_t cur = 0;
	size_t n;
	int ret, i;
	enum store_err rc;

	if ((rc = st_need_rw(t, "counter add")) != STORE_OK || value == NULL || name == NULL) {
		rc = STORE_INVAL;
		goto out;
	}
	n = strnlen(name, ST_PKEY_MAX + 1);
	if (!st_cs_ok(CS_NAME, name, n)) {
		store_log(LOG_ERR, "counter name is malformed");
		rc = STORE_INVAL;
		goto out;
	}
	db = t->s->db[TBL_COUNTER];
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)(uintptr_t)name;
	k.size = (u_int32_t)n;
	d.data = buf;
	d.ulen = sizeof(buf);
	d.flags = DB_DBT_USERMEM;
	ret = db->get(db, t->txn, &k, &d, DB_RMW);
	if (ret == 0 && d.size == sizeof(buf))
		cur = rec_i64(buf);
	else if (ret == 0 || ret == DB_BUFFER_SMALL) {
		store_log(LOG_ERR, "counter %s: value is not 8 bytes", name);
		rc = STORE_CORRUPT;
		goto out;
	} else if (ret != DB_NOTFOUND) {
		rc = st_txn_note(t, store_dberr(t->s, ret, "counter %s get", name));
		goto out;
	}
	if (__builtin_add_overflow(cur, delta, &cur)) {
		store_log(LOG_ERR, "counter %s would overflow", name);
		rc = STORE_INVAL;
		goto out;
	}
	for (i = 7; i >= 0; i--)
		buf[i] = (unsigned char)((uint64_t)cur >> (8 * (7 - i)));
	d.size = sizeof(buf);
	d.flags = 0;
	ret = db->put(db, t->txn, &k, &d, 0);
	if ((rc = st_txn_note(t, store_dberr(t->s, ret, "counter %s put", name))) != STORE_OK)
		goto out;
	*value = cur;
out:
	return rc;
}
