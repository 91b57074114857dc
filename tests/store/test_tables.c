/* Primary tables through the environment: get, put, delete, scan, counters,
 * the transaction helper, maintenance and recovery from a panic. */
#include <dirent.h>
#include <sys/stat.h>

#include "tests/store/store_test.h"

struct put {
	const void *rec;
	unsigned flags;
	int type;   /* enum store_table */
};

static enum store_err
put_fn(struct store_txn *t, void *arg)
{
	struct put *p = arg;

	switch (p->type) {
	case STORE_T_ACCOUNT:
		return store_account_put(t, p->rec, p->flags);
	case STORE_T_ORDER:
		return store_order_put(t, p->rec, p->flags);
	case STORE_T_AUTHZ:
		return store_authz_put(t, p->rec, p->flags);
	default:
		return store_cert_put(t, p->rec, p->flags);
	}
}

static enum store_err
put(struct store *s, int type, const void *rec, unsigned flags)
{
	struct put p = { rec, flags, type };

	return store_txn_run(s, STORE_TXN_RW, put_fn, &p);
}

struct get {
	const char *key;
	int type;
	union {
		struct store_account a;
		struct store_order o;
		struct store_authz z;
		struct store_cert c;
	} u;
};

static enum store_err
get_fn(struct store_txn *t, void *arg)
{
	struct get *g = arg;

	switch (g->type) {
	case STORE_T_ACCOUNT:
		store_account_free(&g->u.a);
		return store_account_get(t, g->key, &g->u.a);
	case STORE_T_ORDER:
		store_order_free(&g->u.o);
		return store_order_get(t, g->key, &g->u.o);
	case STORE_T_AUTHZ:
		store_authz_free(&g->u.z);
		return store_authz_get(t, g->key, &g->u.z);
	default:
		store_cert_free(&g->u.c);
		return store_cert_get(t, g->key, &g->u.c);
	}
}

static enum store_err
get(struct store *s, unsigned flags, struct get *g)
{
	return store_txn_run(s, flags, get_fn, g);
}

static void
get_free(struct get *g)
{
	store_account_free(g->type == STORE_T_ACCOUNT ? &g->u.a : NULL);
	store_order_free(g->type == STORE_T_ORDER ? &g->u.o : NULL);
	store_authz_free(g->type == STORE_T_AUTHZ ? &g->u.z : NULL);
	store_cert_free(g->type == STORE_T_CERT ? &g->u.c : NULL);
}

struct del {
	const char *key;
	int type;
};

static enum store_err
del_fn(struct store_txn *t, void *arg)
{
	struct del *d = arg;

	switch (d->type) {
	case STORE_T_ACCOUNT:
		return store_account_del(t, d->key);
	case STORE_T_ORDER:
		return store_order_del(t, d->key);
	default:
		return store_authz_del(t, d->key);
	}
}

static void
test_open_create(void **state)
{
	char *dir = tdir_make(), sub[300];
	struct store *s = NULL;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/env", dir);
	assert_int_equal(store_open(sub, 0, &s), STORE_NOTFOUND);
	assert_null(s);
	assert_int_equal(store_open(sub, STORE_OPEN_CREATE | STORE_OPEN_NOSYNC, &s), STORE_OK);
	store_close(s);
	assert_int_equal(store_open(sub, STORE_OPEN_NOSYNC, &s), STORE_OK);
	store_close(s);
	store_close(NULL);
	assert_int_equal(store_open(NULL, 0, &s), STORE_INVAL);
	tdir_remove(dir);
}

/* Put, get back equal, create-twice, overwrite, get of a missing or
 * malformed key, delete. For each record type. */
static void
test_crud(void **state)
{
	struct tenv e;
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	struct get g;
	struct del d;
	const void *rec[4] = { &a, &o, &z, &c };
	const char *key[4] = { a.id, o.id, z.id, c.serial };
	int type;

	(void)state;
	tenv_open(&e, 1);
	fx_account(&a, 1, 1);
	fx_order(&o, 1, 1, 1700000000, 1);
	fx_authz(&z, 1, 1, "example.org", 1700000000, 1700000010, 1);
	fx_cert(&c, 1, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", 1);
	for (type = STORE_T_ACCOUNT; type <= STORE_T_CERT; type++) {
		memset(&g, 0, sizeof(g));
		g.type = type;
		g.key = key[type - 1];
		assert_int_equal(get(e.s, STORE_TXN_RO, &g), STORE_NOTFOUND);
		assert_int_equal(put(e.s, type, rec[type - 1], STORE_PUT_CREATE), STORE_OK);
		assert_int_equal(put(e.s, type, rec[type - 1], STORE_PUT_CREATE), STORE_EXISTS);
		assert_int_equal(put(e.s, type, rec[type - 1], 0), STORE_OK);
		assert_int_equal(get(e.s, STORE_TXN_RO, &g), STORE_OK);
		assert_int_equal(get(e.s, STORE_TXN_RW, &g), STORE_OK);
		switch (type) {
		case STORE_T_ACCOUNT: eq_account(&a, &g.u.a); break;
		case STORE_T_ORDER: eq_order(&o, &g.u.o); break;
		case STORE_T_AUTHZ: eq_authz(&z, &g.u.z); break;
		default: eq_cert(&c, &g.u.c); break;
		}
		get_free(&g);
		g.key = "no/such id";
		assert_int_equal(get(e.s, STORE_TXN_RO, &g), STORE_NOTFOUND);
		g.key = "zzzzzzzzzzzzzzzzzzzzzz";
		assert_int_equal(get(e.s, STORE_TXN_RO, &g), STORE_NOTFOUND);
		get_free(&g);
	}
	for (type = STORE_T_ACCOUNT; type <= STORE_T_AUTHZ; type++) {
		d.type = type;
		d.key = key[type - 1];
		assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, del_fn, &d), STORE_OK);
		assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, del_fn, &d), STORE_NOTFOUND);
		memset(&g, 0, sizeof(g));
		g.type = type;
		g.key = key[type - 1];
		assert_int_equal(get(e.s, STORE_TXN_RO, &g), STORE_NOTFOUND);
	}
	tenv_close(&e);
}

static void
test_put_invalid(void **state)
{
	struct tenv e;
	struct store_account a;

	(void)state;
	tenv_open(&e, 0);
	fx_account(&a, 1, 0);
	a.thumb[0] = '\0';
	assert_int_equal(put(e.s, STORE_T_ACCOUNT, &a, 0), STORE_INVAL);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, NULL, NULL), STORE_INVAL);
	assert_int_equal(store_txn_run(NULL, STORE_TXN_RW, put_fn, NULL), STORE_INVAL);
	tenv_close(&e);
}

static enum store_err
put_in_ro_fn(struct store_txn *t, void *arg)
{
	struct store_account a;
	int64_t v;

	(void)arg;
	fx_account(&a, 1, 0);
	assert_int_equal(store_counter_add(t, "x", 1, &v), STORE_INVAL);
	assert_int_equal(store_account_del(t, a.id), STORE_INVAL);
	return store_account_put(t, &a, 0);
}

/* A body that fails after writing leaves nothing behind. */
static enum store_err
write_then_fail_fn(struct store_txn *t, void *arg)
{
	struct store_account a;
	enum store_err rc;

	(void)arg;
	fx_account(&a, 9, 0);
	if ((rc = store_account_put(t, &a, 0)) != STORE_OK)
		return rc;
	return STORE_NOTFOUND;
}

struct nowctx {
	int runs;
	int64_t now;
};

static enum store_err
now_fn(struct store_txn *t, void *arg)
{
	struct nowctx *c = arg;

	c->runs++;
	c->now = store_txn_now(t);
	return STORE_OK;
}

static void
test_txn_rules(void **state)
{
	struct tenv e;
	struct get g;
	struct nowctx c = { 0, 0 };
	int64_t before = (int64_t)time(NULL);

	(void)state;
	tenv_open(&e, 0);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, put_in_ro_fn, NULL), STORE_INVAL);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, write_then_fail_fn, NULL), STORE_NOTFOUND);
	memset(&g, 0, sizeof(g));
	g.type = STORE_T_ACCOUNT;
	g.key = "acct9xxxxxxxxxxxxxxxxx";
	assert_int_equal(get(e.s, STORE_TXN_RO, &g), STORE_NOTFOUND);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, now_fn, &c), STORE_OK);
	assert_int_equal(c.runs, 1);
	assert_true(c.now >= before && c.now <= (int64_t)time(NULL));
	assert_int_equal(store_txn_now(NULL), 0);
	tenv_close(&e);
}

struct ctr {
	const char *name;
	int64_t delta, value;
};

static enum store_err
ctr_fn(struct store_txn *t, void *arg)
{
	struct ctr *c = arg;

	return store_counter_add(t, c->name, c->delta, &c->value);
}

static void
test_counters(void **state)
{
	struct tenv e;
	struct ctr c = { "crl-number", 1, 0 };

	(void)state;
	tenv_open(&e, 0);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_OK);
	assert_int_equal(c.value, 1);
	c.delta = 41;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_OK);
	assert_int_equal(c.value, 42);
	c.delta = -50;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_OK);
	assert_int_equal(c.value, -8);
	c.name = "other";
	c.delta = 0;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_OK);
	assert_int_equal(c.value, 0);
	c.delta = INT64_MAX;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_OK);
	c.delta = 1;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_INVAL);
	c.name = "bad name";
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_INVAL);
	c.name = "";
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_INVAL);
	c.name = "crl-number";
	c.delta = 0;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, ctr_fn, &c), STORE_OK);
	assert_int_equal(c.value, -8);
	tenv_close(&e);
}

#define NSCAN 600

struct many {
	unsigned from, to;
};

static enum store_err
put_many_fn(struct store_txn *t, void *arg)
{
	struct many *m = arg;
	struct store_account a;
	enum store_err rc = STORE_OK;
	unsigned i;

	for (i = m->from; i < m->to && rc == STORE_OK; i++) {
		fx_account(&a, i, 0);
		rc = store_account_put(t, &a, STORE_PUT_CREATE);
	}
	return rc;
}

struct scanctx {
	unsigned n, stop_at;
	char last[STORE_ID_LEN + 1];
	int ordered;
};

static int
scan_cb(const char *id, void *arg)
{
	struct scanctx *c = arg;

	if (c->n > 0 && strcmp(c->last, id) >= 0)
		c->ordered = 0;
	snprintf(c->last, sizeof(c->last), "%s", id);
	c->n++;
	return c->stop_at != 0 && c->n >= c->stop_at;
}

static enum store_err
scan_fn(struct store_txn *t, void *arg)
{
	struct scanctx *c = arg;

	c->n = 0;
	c->ordered = 1;
	return store_scan(t, STORE_T_ACCOUNT, scan_cb, c);
}

static void
test_scan(void **state)
{
	struct tenv e;
	struct many m = { 0, NSCAN };
	struct scanctx c;

	(void)state;
	tenv_open(&e, 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, scan_fn, &c), STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, put_many_fn, &m), STORE_OK);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, scan_fn, &c), STORE_OK);
	assert_int_equal(c.n, NSCAN);
	assert_true(c.ordered);
	c.stop_at = 300;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, scan_fn, &c), STORE_OK);
	assert_int_equal(c.n, 300);
	tenv_close(&e);
}

static int
count_logs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "log.", 4) == 0;
	closedir(d);
	return n;
}

static enum store_err
big_fn(struct store_txn *t, void *arg)
{
	static char chain[8192];
	unsigned *i = arg;
	struct store_cert c;
	enum store_err rc = STORE_OK;
	unsigned k;

	memset(chain, 'A', sizeof(chain) - 1);
	for (k = 0; k < 100 && rc == STORE_OK; k++) {
		fx_cert(&c, (*i)++, NULL, 0);
		c.chain = chain;
		rc = store_cert_put(t, &c, 0);
	}
	return rc;
}

/* Enough log for several files; maintenance checkpoints and removes the
 * ones no longer needed. */
static void
test_maintain(void **state)
{
	struct tenv e;
	unsigned i = 0, k;
	int before;

	(void)state;
	tenv_open(&e, 0);
	assert_int_equal(store_maintain(e.s), STORE_OK);
	for (k = 0; k < 30; k++)
		assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, big_fn, &i), STORE_OK);
	before = count_logs(e.dir);
	assert_true(before >= 2);
	assert_int_equal(store_maintain(e.s), STORE_OK);
	assert_int_equal(store_maintain(e.s), STORE_OK);
	assert_true(count_logs(e.dir) < before);
	assert_int_equal(store_maintain(NULL), STORE_INVAL);
	tenv_close(&e);
}

/*
 * A panicked environment answers STORE_RECOVER; the process closes and
 * exits (in a child: the environment cannot be used again); the next open
 * recovers it, with committed data intact. The child ends with exit(), not
 * _exit(), so that under LeakSanitizer (make check SAN=1) the memory libdb
 * keeps for a panicked environment must be reachable (store_close).
 */
static void
test_panic_recover(void **state)
{
	struct tenv e;
	struct store_account a;
	struct get g;
	pid_t pid;

	(void)state;
	tenv_open(&e, 1);
	fx_account(&a, 1, 0);
	assert_int_equal(put(e.s, STORE_T_ACCOUNT, &a, 0), STORE_OK);
	store_close(e.s);
	memset(&g, 0, sizeof(g));
	g.type = STORE_T_ACCOUNT;
	g.key = a.id;
	fflush(NULL);   /* the child exits with exit(): nothing buffered twice */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (store_open(e.dir, 0, &e.s) != STORE_OK)
			_exit(10);
		st_test_panic(e.s);
		if (put(e.s, STORE_T_ACCOUNT, &a, 0) != STORE_RECOVER ||
		    store_maintain(e.s) != STORE_RECOVER ||
		    get(e.s, STORE_TXN_RO, &g) != STORE_RECOVER)
			_exit(11);
		store_close(e.s);
		exit(0);
	}
	assert_int_equal(child_status(pid), 0);
	assert_int_equal(store_open(e.dir, 0, &e.s), STORE_OK);
	assert_int_equal(get(e.s, STORE_TXN_RO, &g), STORE_OK);
	eq_account(&a, &g.u.a);
	get_free(&g);
	tenv_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_create),
		cmocka_unit_test(test_crud),
		cmocka_unit_test(test_put_invalid),
		cmocka_unit_test(test_txn_rules),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_maintain),
		cmocka_unit_test(test_panic_recover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
