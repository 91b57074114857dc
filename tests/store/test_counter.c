/* Named counters: get, set, delete, add, prefix scans in name order across
 * batches, name rules, and a value of the wrong size. */
#include "tests/store/store_test.h"

struct cop {
	int what;        /* 0 get, 1 set, 2 delete, 3 add */
	const char *name;
	int64_t value;
};

static enum store_err
cop_fn(struct store_txn *t, void *arg)
{
	struct cop *c = arg;

	switch (c->what) {
	case 0:
		return store_counter_get(t, c->name, &c->value);
	case 1:
		return store_counter_set(t, c->name, c->value);
	case 2:
		return store_counter_del(t, c->name);
	default:
		return store_counter_add(t, c->name, c->value, &c->value);
	}
}

static enum store_err
cop(struct store *s, int what, const char *name, int64_t *value)
{
	struct cop c = { what, name, value != NULL ? *value : 0 };
	enum store_err rc;

	rc = store_txn_run(s, what == 0 ? STORE_TXN_RO : STORE_TXN_RW, cop_fn, &c);
	if (value != NULL)
		*value = c.value;
	return rc;
}

static void
test_get_set_del(void **state)
{
	struct tenv e;
	int64_t v = 0;
	char name[ST_COUNTER_NAME_MAX + 2];

	(void)state;
	tenv_open(&e, 0);
	assert_int_equal(cop(e.s, 0, "rate/x", &v), STORE_NOTFOUND);
	assert_int_equal(cop(e.s, 2, "rate/x", NULL), STORE_NOTFOUND);
	v = INT64_MIN;
	assert_int_equal(cop(e.s, 1, "rate/x", &v), STORE_OK);
	v = 0;
	assert_int_equal(cop(e.s, 0, "rate/x", &v), STORE_OK);
	assert_true(v == INT64_MIN);
	v = (INT64_C(5) << 32) | 3600;
	assert_int_equal(cop(e.s, 1, "rate/x", &v), STORE_OK);
	v = 1;
	assert_int_equal(cop(e.s, 3, "rate/x", &v), STORE_OK);
	assert_true(v == ((INT64_C(5) << 32) | 3601));
	v = 0;
	assert_int_equal(cop(e.s, 0, "rate/x", &v), STORE_OK);
	assert_true(v == ((INT64_C(5) << 32) | 3601));
	assert_int_equal(cop(e.s, 2, "rate/x", NULL), STORE_OK);
	assert_int_equal(cop(e.s, 0, "rate/x", &v), STORE_NOTFOUND);
	/* add creates from zero */
	v = 7;
	assert_int_equal(cop(e.s, 3, "crl/default", &v), STORE_OK);
	assert_int_equal(v, 7);
	/* names: 1..255 printable characters without blanks */
	memset(name, 'n', sizeof(name));
	name[ST_COUNTER_NAME_MAX] = '\0';
	v = 42;
	assert_int_equal(cop(e.s, 1, name, &v), STORE_OK);
	v = 0;
	assert_int_equal(cop(e.s, 0, name, &v), STORE_OK);
	assert_int_equal(v, 42);
	name[ST_COUNTER_NAME_MAX] = 'n';
	name[ST_COUNTER_NAME_MAX + 1] = '\0';
	assert_int_equal(cop(e.s, 1, name, &v), STORE_INVAL);
	assert_int_equal(cop(e.s, 0, name, &v), STORE_INVAL);
	assert_int_equal(cop(e.s, 1, "", &v), STORE_INVAL);
	assert_int_equal(cop(e.s, 1, "with space", &v), STORE_INVAL);
	assert_int_equal(cop(e.s, 2, "tab\there", NULL), STORE_INVAL);
	assert_int_equal(cop(e.s, 1, NULL, &v), STORE_INVAL);
	tenv_close(&e);
}

static void
test_rw_rules(void **state)
{
	struct tenv e;
	struct cop c = { 1, "a", 1 };

	(void)state;
	tenv_open(&e, 0);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, cop_fn, &c), STORE_INVAL);
	c.what = 2;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, cop_fn, &c), STORE_INVAL);
	tenv_close(&e);
}

#define NRATE 600   /* more than a scan batch */

static enum store_err
fill_fn(struct store_txn *t, void *arg)
{
	char name[64];
	unsigned i;
	enum store_err rc = STORE_OK;

	(void)arg;
	for (i = 0; i < NRATE && rc == STORE_OK; i++) {
		snprintf(name, sizeof(name), "rate/orders_per_account/%05u", i);
		rc = store_counter_set(t, name, (int64_t)i * 1000);
	}
	if (rc == STORE_OK)
		rc = store_counter_set(t, "rat", 1);          /* a shorter name, not in rate/ */
	if (rc == STORE_OK)
		rc = store_counter_set(t, "ratelimit", 2);    /* shares "rate" but not "rate/" */
	if (rc == STORE_OK)
		rc = store_counter_set(t, "override/acct/x", 3);
	if (rc == STORE_OK)
		rc = store_counter_set(t, "crl/default", 4);
	return rc;
}

struct seen {
	const char *prefix;
	size_t n, stop_at;
	int ordered, values_ok;
	char last[ST_COUNTER_NAME_MAX + 1];
};

static int
seen_cb(const char *name, int64_t value, void *arg)
{
	struct seen *s = arg;
	unsigned idx;

	if (s->n > 0 && strcmp(s->last, name) >= 0)
		s->ordered = 0;
	if (strncmp(name, s->prefix, strlen(s->prefix)) != 0)
		s->values_ok = 0;
	if (sscanf(name, "rate/orders_per_account/%u", &idx) == 1 && value != (int64_t)idx * 1000)
		s->values_ok = 0;
	snprintf(s->last, sizeof(s->last), "%s", name);
	s->n++;
	return s->stop_at != 0 && s->n >= s->stop_at;
}

static enum store_err
scan_fn(struct store_txn *t, void *arg)
{
	struct seen *s = arg;

	s->n = 0;
	s->ordered = s->values_ok = 1;
	return store_counter_scan(t, s->prefix, seen_cb, s);
}

static size_t
scan(struct store *st, const char *prefix, size_t stop_at)
{
	struct seen s;

	memset(&s, 0, sizeof(s));
	s.prefix = prefix;
	s.stop_at = stop_at;
	assert_int_equal(store_txn_run(st, STORE_TXN_RO, scan_fn, &s), STORE_OK);
	assert_true(s.ordered);
	assert_true(s.values_ok);
	return s.n;
}

static void
test_scan(void **state)
{
	struct tenv e;

	(void)state;
	tenv_open(&e, 0);
	assert_int_equal(scan(e.s, "", 0), 0);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, fill_fn, NULL), STORE_OK);
	assert_int_equal(scan(e.s, "rate/", 0), NRATE);
	assert_int_equal(scan(e.s, "rate", 0), NRATE + 1);
	assert_int_equal(scan(e.s, "", 0), NRATE + 4);
	assert_int_equal(scan(e.s, "override/", 0), 1);
	assert_int_equal(scan(e.s, "override/acct/x", 0), 1);
	assert_int_equal(scan(e.s, "override/acct/xy", 0), 0);
	assert_int_equal(scan(e.s, "zzz", 0), 0);
	assert_int_equal(scan(e.s, "rate/", 300), 300);
	assert_int_equal(scan(e.s, "rate/", 257), 257);
	tenv_close(&e);
}

static enum store_err
null_fn(struct store_txn *t, void *arg)
{
	(void)arg;
	return store_counter_scan(t, "", NULL, NULL);
}

/* The scan hands names over with no cursor open: collecting and then
 * deleting in the same transaction works (what acme-admin cleanup does). */
struct coll {
	char names[NRATE][64];
	size_t n;
};

static int
coll_cb(const char *name, int64_t value, void *arg)
{
	struct coll *c = arg;

	if (value < 300 * 1000 && c->n < NRATE)
		snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", name);
	return 0;
}

static enum store_err
expire_fn(struct store_txn *t, void *arg)
{
	struct coll *c = arg;
	size_t i;
	enum store_err rc;

	c->n = 0;
	if ((rc = store_counter_scan(t, "rate/", coll_cb, c)) != STORE_OK)
		return rc;
	for (i = 0; i < c->n && rc == STORE_OK; i++)
		rc = store_counter_del(t, c->names[i]);
	return rc;
}

static void
test_scan_then_delete(void **state)
{
	struct tenv e;
	struct coll *c = calloc(1, sizeof(*c));

	(void)state;
	assert_non_null(c);
	tenv_open(&e, 0);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, fill_fn, NULL), STORE_OK);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, expire_fn, c), STORE_OK);
	assert_int_equal(c->n, 300);
	assert_int_equal(scan(e.s, "rate/", 0), NRATE - 300);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, null_fn, NULL), STORE_INVAL);
	tenv_close(&e);
	free(c);
}

static enum store_err
bad_value_fn(struct store_txn *t, void *arg)
{
	DB *db = t->s->db[TBL_COUNTER];
	DBT k, d;

	(void)arg;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)(uintptr_t)"rate/short";
	k.size = 10;
	d.data = (void *)(uintptr_t)"1234";
	d.size = 4;
	return store_dberr(t->s, db->put(db, t->txn, &k, &d, 0), "raw put");
}

static void
test_corrupt_value(void **state)
{
	struct tenv e;
	struct seen s;
	int64_t v = 1;
	size_t bad = 0;

	(void)state;
	tenv_open(&e, 0);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, bad_value_fn, NULL), STORE_OK);
	assert_int_equal(cop(e.s, 0, "rate/short", &v), STORE_CORRUPT);
	assert_int_equal(cop(e.s, 3, "rate/short", &v), STORE_CORRUPT);
	memset(&s, 0, sizeof(s));
	s.prefix = "rate/";
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, scan_fn, &s), STORE_CORRUPT);
	assert_int_equal(store_verify(e.s, &bad), STORE_OK);
	assert_int_equal(bad, 1);
	/* set repairs it */
	assert_int_equal(cop(e.s, 1, "rate/short", &v), STORE_OK);
	assert_int_equal(cop(e.s, 0, "rate/short", &v), STORE_OK);
	assert_int_equal(v, 1);
	tenv_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_set_del),
		cmocka_unit_test(test_rw_rules),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_scan_then_delete),
		cmocka_unit_test(test_corrupt_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
