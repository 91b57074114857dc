/*
 * Crashes: a process SIGKILLed inside a transaction, or while committing in
 * a loop, or while a sibling keeps the environment open. After it, the
 * environment opens, committed work is there, uncommitted work is not, and
 * every index agrees with its primary.
 */
#include <signal.h>
#include <sys/mman.h>
#include <time.h>

#include "tests/store/store_test.h"

static char *dir;

static int
setup(void **state)
{
	struct store *s;

	(void)state;
	/* Every case is bounded: a hang kills the program, which the runner
	 * counts as a failure (a case takes seconds). */
	alarm(120);
	dir = tdir_make();
	assert_int_equal(store_open(dir, STORE_OPEN_CREATE, &s), STORE_OK);
	store_close(s);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tdir_remove(dir);
	dir = NULL;
	alarm(0);
	return 0;
}

/* ---- records of one "family" i: account, order, authz (due), cert (ari) ---- */

static char name_buf[64][32];

static enum store_err
put_family(struct store_txn *t, unsigned i)
{
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	char ari[32];
	enum store_err rc;

	snprintf(name_buf[i % 64], sizeof(name_buf[0]), "host%u.example", i);
	snprintf(ari, sizeof(ari), "ari.%u", i);
	fx_account(&a, i, 1);
	fx_order(&o, i, i, 1700000000 + i, 1);
	fx_authz(&z, i, i, name_buf[i % 64], 1700000000 + i, 1000 + i, 1);
	fx_cert(&c, i, ari, 1);
	if ((rc = store_account_put(t, &a, STORE_PUT_CREATE)) != STORE_OK ||
	    (rc = store_order_put(t, &o, STORE_PUT_CREATE)) != STORE_OK ||
	    (rc = store_authz_put(t, &z, STORE_PUT_CREATE)) != STORE_OK ||
	    (rc = store_cert_put(t, &c, STORE_PUT_CREATE)) != STORE_OK)
		return rc;
	return STORE_OK;
}

struct fam {
	unsigned from, to;
};

static enum store_err
put_families_fn(struct store_txn *t, void *arg)
{
	struct fam *f = arg;
	int64_t v;
	enum store_err rc = STORE_OK;
	unsigned i;

	for (i = f->from; i < f->to && rc == STORE_OK; i++)
		rc = put_family(t, i);
	if (rc == STORE_OK)
		rc = store_counter_add(t, "families", (int64_t)(f->to - f->from), &v);
	return rc;
}

/* Which of a family's records exist: 0 none, 4 all, else torn. */
struct probe {
	unsigned i;
	int found;
};

static enum store_err
probe_fn(struct store_txn *t, void *arg)
{
	struct probe *p = arg;
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	char id[STORE_ID_LEN + 1], serial[STORE_SERIAL_MAX + 1];
	enum store_err rc;

	p->found = 0;
	fixed_id(id, STORE_ID_LEN, "acct", p->i);
	if ((rc = store_account_get(t, id, &a)) == STORE_OK)
		p->found++;
	store_account_free(&a);
	fixed_id(id, STORE_ID_LEN, "order", p->i);
	if (rc == STORE_OK || rc == STORE_NOTFOUND) {
		if ((rc = store_order_get(t, id, &o)) == STORE_OK)
			p->found++;
	}
	store_order_free(&o);
	fixed_id(id, STORE_ID_LEN, "authz", p->i);
	if (rc == STORE_OK || rc == STORE_NOTFOUND) {
		if ((rc = store_authz_get(t, id, &z)) == STORE_OK)
			p->found++;
	}
	store_authz_free(&z);
	snprintf(serial, sizeof(serial), "%08x", 0xab000000u + p->i);
	if (rc == STORE_OK || rc == STORE_NOTFOUND) {
		if ((rc = store_cert_get(t, serial, &c)) == STORE_OK)
			p->found++;
	}
	store_cert_free(&c);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

static int
family(struct store *s, unsigned i)
{
	struct probe p = { i, -1 };

	assert_int_equal(store_txn_run(s, STORE_TXN_RO, probe_fn, &p), STORE_OK);
	return p.found;
}

static void
assert_consistent(struct store *s)
{
	size_t bad = 99;

	assert_int_equal(store_verify(s, &bad), STORE_OK);
	assert_int_equal(bad, 0);
}

/* ---- 1: killed inside a transaction, after some puts, before commit ---- */

struct midctx {
	int ready;   /* pipe to the parent */
};

/* Updates that move index entries of committed records, new families, then
 * stop and wait to be killed. */
static enum store_err
mid_fn(struct store_txn *t, void *arg)
{
	struct midctx *m = arg;
	struct store_account a;
	struct store_authz z;
	enum store_err rc;
	char b = 1, id[STORE_ID_LEN + 1];
	unsigned i;

	if ((rc = store_account_get(t, "acct1xxxxxxxxxxxxxxxxx", &a)) != STORE_OK)
		return rc;
	fixed_id(a.thumb, STORE_THUMB_LEN, "moved", 1);
	rc = store_account_put(t, &a, 0);
	store_account_free(&a);
	fixed_id(id, STORE_ID_LEN, "authz", 2);
	if (rc != STORE_OK || (rc = store_authz_get(t, id, &z)) != STORE_OK)
		return rc;
	z.due = 5;
	rc = store_authz_put(t, &z, 0);
	store_authz_free(&z);
	for (i = 100; i < 110 && rc == STORE_OK; i++)
		rc = put_family(t, i);
	if (rc == STORE_OK && write(m->ready, &b, 1) == 1)
		pause();
	return STORE_ERR;
}

struct thumbq {
	const char *thumb;
	store_id id;
	int64_t when;
};

static enum store_err
thumb_fn(struct store_txn *t, void *arg)
{
	struct thumbq *q = arg;
	enum store_err rc;

	if ((rc = store_authz_next_due(t, &q->when)) != STORE_OK)
		return rc;
	return store_account_by_thumb(t, "default", q->thumb, q->id);
}

static void
test_kill_inside_txn(void **state)
{
	struct fam f = { 1, 10 };
	struct midctx m;
	struct thumbq q;
	struct store *s;
	char th[STORE_THUMB_LEN + 1];
	int p[2];
	pid_t pid;
	char b;
	unsigned i;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30);
		close(p[0]);
		m.ready = p[1];
		if (store_open(dir, 0, &s) != STORE_OK ||
		    store_txn_run(s, STORE_TXN_RW, put_families_fn, &f) != STORE_OK)
			_exit(10);
		(void)store_txn_run(s, STORE_TXN_RW, mid_fn, &m);
		_exit(11);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &b, 1), 1);
	close(p[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(child_status(pid), 128 + SIGKILL);

	assert_int_equal(store_open(dir, 0, &s), STORE_OK);
	for (i = 1; i < 10; i++)
		assert_int_equal(family(s, i), 4);
	for (i = 100; i < 110; i++)
		assert_int_equal(family(s, i), 0);
	/* the moves were undone: old thumbprint, old due queue */
	fixed_id(th, STORE_THUMB_LEN, "thumb", 1);
	q.thumb = th;
	assert_int_equal(store_txn_run(s, STORE_TXN_RO, thumb_fn, &q), STORE_OK);
	assert_string_equal(q.id, "acct1xxxxxxxxxxxxxxxxx");
	assert_int_equal(q.when, 1001);
	fixed_id(th, STORE_THUMB_LEN, "moved", 1);
	assert_int_equal(store_txn_run(s, STORE_TXN_RO, thumb_fn, &q), STORE_NOTFOUND);
	assert_consistent(s);
	/* the dead transaction's locks are gone: the same records take writes */
	f = (struct fam){ 100, 110 };
	assert_int_equal(store_txn_run(s, STORE_TXN_RW, put_families_fn, &f), STORE_OK);
	assert_consistent(s);
	store_close(s);
}

/* ---- 2: killed while committing in a loop ---- */

static enum store_err
count_fn(struct store_txn *t, void *arg)
{
	return store_counter_add(t, "families", 0, arg);
}

static void
kill_loop_once(unsigned delay_us)
{
	volatile unsigned *done;
	struct store *s;
	struct fam f;
	struct timespec ts;
	int64_t n;
	unsigned i, c;
	pid_t pid;

	done = mmap(NULL, sizeof(*done), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(done != MAP_FAILED);
	*done = 0;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30);
		if (store_open(dir, STORE_OPEN_NOSYNC, &s) != STORE_OK)
			_exit(10);
		for (i = 1000;; i++) {
			f = (struct fam){ i, i + 1 };
			if (store_txn_run(s, STORE_TXN_RW, put_families_fn, &f) != STORE_OK)
				_exit(11);
			*done = i + 1 - 1000;   /* families 1000 .. 1000 + done - 1 are committed */
		}
	}
	while (*done < 50) {
		ts = (struct timespec){ 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	ts = (struct timespec){ 0, (long)delay_us * 1000 };
	nanosleep(&ts, NULL);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(child_status(pid), 128 + SIGKILL);
	c = *done;

	assert_int_equal(store_open(dir, STORE_OPEN_NOSYNC, &s), STORE_OK);
	for (i = 0; i < c; i++)
		assert_int_equal(family(s, 1000 + i), 4);
	i = (unsigned)family(s, 1000 + c);   /* committed just before the kill, or not */
	assert_true(i == 0 || i == 4);
	assert_int_equal(family(s, 1000 + c + 1), 0);
	assert_int_equal(store_txn_run(s, STORE_TXN_RW, count_fn, &n), STORE_OK);
	assert_int_equal(n, (int64_t)c + (i == 4));
	assert_consistent(s);
	store_close(s);
	munmap((void *)(uintptr_t)done, sizeof(*done));
}

static void
test_kill_commit_loop(void **state)
{
	static const unsigned delays[] = { 0, 1300, 7700 };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(delays) / sizeof(delays[0]); k++) {
		teardown(NULL);
		setup(NULL);
		kill_loop_once(delays[k]);
	}
}

/* ---- 3: a sibling dies while another process keeps the environment ---- */

struct victim {
	int ready;
};

static enum store_err
victim_fn(struct store_txn *t, void *arg)
{
	struct victim *v = arg;
	struct store_account a;
	enum store_err rc;
	char b = 1;

	if ((rc = store_account_get(t, "acct1xxxxxxxxxxxxxxxxx", &a)) != STORE_OK)
		return rc;
	a.key_version = 999;
	rc = store_account_put(t, &a, 0);
	store_account_free(&a);
	if (rc == STORE_OK && write(v->ready, &b, 1) == 1)
		pause();
	return STORE_ERR;
}

static enum store_err
bump_fn(struct store_txn *t, void *arg)
{
	struct store_account a;
	enum store_err rc;

	(void)arg;
	if ((rc = store_account_get(t, "acct1xxxxxxxxxxxxxxxxx", &a)) != STORE_OK)
		return rc;
	a.key_version++;
	rc = store_account_put(t, &a, 0);
	store_account_free(&a);
	return rc;
}

static enum store_err
other_fn(struct store_txn *t, void *arg)
{
	int64_t v;

	(void)arg;
	return store_counter_add(t, "other", 1, &v);
}

/*
 * The survivor: works before and during the victim's hang (on records the
 * victim does not hold), then, told to, updates the record the victim held.
 * With self_clean it runs store_maintain (failchk) first; otherwise a fresh
 * opener has cleaned up. On STORE_RECOVER it reopens. Exit 0 if it kept its
 * handle, 3 if it had to reopen, other codes on failure.
 */
static void
survivor(int go, int up, int self_clean)
{
	struct store *s;
	enum store_err rc;
	int reopened = 0, tries;
	char b = 1;

	alarm(30);
	if (store_open(dir, 0, &s) != STORE_OK ||
	    store_txn_run(s, STORE_TXN_RW, other_fn, NULL) != STORE_OK)
		_exit(10);
	if (write(up, &b, 1) != 1 || read(go, &b, 1) != 1)
		_exit(11);
	if (store_txn_run(s, STORE_TXN_RW, other_fn, NULL) != STORE_OK)
		_exit(12);
	if (write(up, &b, 1) != 1 || read(go, &b, 1) != 1)
		_exit(13);
	for (tries = 0; tries < 5; tries++) {
		rc = self_clean ? store_maintain(s) : STORE_OK;
		if (rc == STORE_OK)
			rc = store_txn_run(s, STORE_TXN_RW, bump_fn, NULL);
		if (rc == STORE_OK)
			break;
		if (rc != STORE_RECOVER)
			_exit(14);
		store_close(s);
		reopened = 1;
		if (store_open(dir, 0, &s) != STORE_OK)
			_exit(15);
	}
	store_close(s);
	_exit(rc != STORE_OK ? 16 : reopened ? 3 : 0);
}

static enum store_err
kv_fn(struct store_txn *t, void *arg)
{
	struct store_account a;
	enum store_err rc;

	if ((rc = store_account_get(t, "acct1xxxxxxxxxxxxxxxxx", &a)) == STORE_OK)
		*(uint32_t *)arg = a.key_version;
	store_account_free(&a);
	return rc;
}

static void
sibling_dies(int self_clean)
{
	struct fam f = { 1, 3 };
	struct victim v;
	struct store *s;
	int go[2], up[2], vr[2], st;
	pid_t sp, vp;
	uint32_t kv;
	char b = 1;

	assert_int_equal(store_open(dir, 0, &s), STORE_OK);
	assert_int_equal(store_txn_run(s, STORE_TXN_RW, put_families_fn, &f), STORE_OK);
	store_close(s);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(vr), 0);
	sp = fork();
	assert_true(sp >= 0);
	if (sp == 0)
		survivor(go[0], up[1], self_clean);
	assert_int_equal(read(up[0], &b, 1), 1);   /* survivor is up */
	vp = fork();
	assert_true(vp >= 0);
	if (vp == 0) {
		alarm(30);
		v.ready = vr[1];
		if (store_open(dir, 0, &s) != STORE_OK)
			_exit(10);
		(void)store_txn_run(s, STORE_TXN_RW, victim_fn, &v);
		_exit(11);
	}
	assert_int_equal(read(vr[0], &b, 1), 1);   /* victim holds acct1 */
	assert_int_equal(write(go[1], &b, 1), 1);
	assert_int_equal(read(up[0], &b, 1), 1);   /* survivor works meanwhile */
	assert_int_equal(kill(vp, SIGKILL), 0);
	assert_int_equal(child_status(vp), 128 + SIGKILL);   /* reaped: not alive */
	if (!self_clean) {
		/* a fresh opener finds the dead registration and cleans up */
		assert_int_equal(store_open(dir, 0, &s), STORE_OK);
	}
	assert_int_equal(write(go[1], &b, 1), 1);
	st = child_status(sp);
	assert_true(st == 0 || st == 3);
	if (self_clean)
		assert_int_equal(store_open(dir, 0, &s), STORE_OK);
	else if (st == 3) {
		/* recovery ran under us: our handle is stale too */
		store_close(s);
		assert_int_equal(store_open(dir, 0, &s), STORE_OK);
	}
	assert_int_equal(store_txn_run(s, STORE_TXN_RO, kv_fn, &kv), STORE_OK);
	assert_int_equal(kv, 4);   /* fixture 3, +1 by the survivor, none by the victim */
	assert_consistent(s);
	store_close(s);
	close(go[0]), close(go[1]), close(up[0]), close(up[1]), close(vr[0]), close(vr[1]);
}

static void
test_sibling_dies_survivor_cleans(void **state)
{
	(void)state;
	sibling_dies(1);
}

static void
test_sibling_dies_new_opener_cleans(void **state)
{
	(void)state;
	sibling_dies(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_inside_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_commit_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_dies_survivor_cleans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_dies_new_opener_cleans, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
