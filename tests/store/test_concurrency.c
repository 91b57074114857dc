/* Several processes updating the same records through store_txn_run: no
 * update is lost, deadlocks are retried. */
#include "tests/store/store_test.h"

#define NPROC 6
#define NITER 150

static char *dir;

static enum store_err
put_account_fn(struct store_txn *t, void *arg)
{
	return store_account_put(t, arg, STORE_PUT_CREATE);
}

static int
setup(void **state)
{
	struct store *s;
	struct store_account a;

	(void)state;
	dir = tdir_make();
	assert_int_equal(store_open(dir, STORE_OPEN_CREATE | STORE_OPEN_NOSYNC, &s), STORE_OK);
	fx_account(&a, 1, 0);
	assert_int_equal(store_txn_run(s, STORE_TXN_RW, put_account_fn, &a), STORE_OK);
	store_close(s);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tdir_remove(dir);
	dir = NULL;
	return 0;
}

/* One worker's transaction: bump counters in an order that depends on the
 * worker (so opposite orders deadlock), and the account's key_version by a
 * read-modify-write. */
struct work {
	int reverse;
};

static enum store_err
bump_fn(struct store_txn *t, void *arg)
{
	struct work *w = arg;
	struct store_account a;
	const char *first = w->reverse ? "y" : "x", *second = w->reverse ? "x" : "y";
	int64_t v;
	enum store_err rc;

	if ((rc = store_counter_add(t, first, 1, &v)) != STORE_OK ||
	    (rc = store_account_get(t, "acct1xxxxxxxxxxxxxxxxx", &a)) != STORE_OK)
		return rc;
	a.key_version++;
	rc = store_account_put(t, &a, 0);
	store_account_free(&a);
	if (rc == STORE_OK)
		rc = store_counter_add(t, second, 1, &v);
	return rc;
}

/* The child: open, NITER transactions, close. Exit 0 if every one
 * committed (a give-up after the helper's retries is retried here and
 * counted, never lost). */
static void
child(int idx)
{
	struct store *s = NULL;
	struct work w = { idx % 2 };
	enum store_err rc;
	int i, giveups = 0;

	if (store_open(dir, STORE_OPEN_NOSYNC, &s) != STORE_OK)
		_exit(10);
	for (i = 0; i < NITER; i++) {
		while ((rc = store_txn_run(s, STORE_TXN_RW, bump_fn, &w)) == STORE_CONFLICT)
			giveups++;
		if (rc != STORE_OK)
			_exit(11);
	}
	store_close(s);
	if (giveups > 0)
		fprintf(stderr, "# child %d: %d give-ups retried\n", idx, giveups);
	_exit(0);
}

struct final {
	int64_t x, y;
	uint32_t kv;
};

static enum store_err
read_fn(struct store_txn *t, void *arg)
{
	struct final *f = arg;
	struct store_account a;
	enum store_err rc;

	if ((rc = store_counter_add(t, "x", 0, &f->x)) != STORE_OK ||
	    (rc = store_counter_add(t, "y", 0, &f->y)) != STORE_OK ||
	    (rc = store_account_get(t, "acct1xxxxxxxxxxxxxxxxx", &a)) != STORE_OK)
		return rc;
	f->kv = a.key_version;
	store_account_free(&a);
	return STORE_OK;
}

static void
test_no_lost_updates(void **state)
{
	pid_t pids[NPROC];
	struct store *s;
	struct final f;
	size_t bad;
	int i;

	(void)state;
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child(i);
	}
	for (i = 0; i < NPROC; i++)
		assert_int_equal(child_status(pids[i]), 0);
	assert_int_equal(store_open(dir, STORE_OPEN_NOSYNC, &s), STORE_OK);
	assert_int_equal(store_txn_run(s, STORE_TXN_RW, read_fn, &f), STORE_OK);
	assert_int_equal(f.x, NPROC * NITER);
	assert_int_equal(f.y, NPROC * NITER);
	assert_int_equal(f.kv, NPROC * NITER);
	assert_int_equal(store_verify(s, &bad), STORE_OK);
	assert_int_equal(bad, 0);
	store_close(s);
}

/* The same from threads of one process sharing one handle. */
#include <pthread.h>

struct tharg {
	struct store *s;
	int idx, ok;
};

static void *
thread_main(void *p)
{
	struct tharg *a = p;
	struct work w = { a->idx % 2 };
	enum store_err rc;
	int i;

	a->ok = 1;
	for (i = 0; i < NITER; i++) {
		while ((rc = store_txn_run(a->s, STORE_TXN_RW, bump_fn, &w)) == STORE_CONFLICT)
			;
		if (rc != STORE_OK)
			a->ok = 0;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[4];
	struct tharg a[4];
	struct store *s;
	struct final f0, f;
	int i;

	(void)state;
	assert_int_equal(store_open(dir, STORE_OPEN_NOSYNC, &s), STORE_OK);
	assert_int_equal(store_txn_run(s, STORE_TXN_RW, read_fn, &f0), STORE_OK);
	for (i = 0; i < 4; i++) {
		a[i] = (struct tharg){ s, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_true(a[i].ok);
	}
	assert_int_equal(store_txn_run(s, STORE_TXN_RW, read_fn, &f), STORE_OK);
	assert_int_equal(f.x - f0.x, 4 * NITER);
	assert_int_equal(f.kv - f0.kv, 4 * NITER);
	store_close(s);
}

/*
 * A forced deadlock: two processes each take one record (a counter and an
 * account, in different files so they are not on one page), wait until the
 * other has taken the other one, then ask for it. The detector aborts one;
 * store_txn_run retries it; both commit, and the loser ran its body twice.
 */
struct dl {
	int first;        /* 0: counter first, 1: account first */
	int tell, wait;   /* pipe ends: tell the peer, wait for the peer */
	int runs;
};

static enum store_err
take(struct store_txn *t, int which)
{
	struct store_account a;
	int64_t v;
	enum store_err rc;

	if (which == 0)
		return store_counter_add(t, "x", 1, &v);
	if ((rc = store_account_get(t, "acct1xxxxxxxxxxxxxxxxx", &a)) != STORE_OK)
		return rc;
	a.key_version++;
	rc = store_account_put(t, &a, 0);
	store_account_free(&a);
	return rc;
}

static enum store_err
deadlock_fn(struct store_txn *t, void *arg)
{
	struct dl *d = arg;
	char b = 1;
	enum store_err rc;

	if ((rc = take(t, d->first)) != STORE_OK)
		return rc;
	if (d->runs++ == 0) {
		if (write(d->tell, &b, 1) != 1 || read(d->wait, &b, 1) != 1)
			return STORE_ERR;
	}
	return take(t, !d->first);
}

static void
test_deadlock_retried(void **state)
{
	int ab[2], ba[2], i, twice = 0, st;
	pid_t pids[2];
	struct store *s;
	struct final f;

	(void)state;
	assert_int_equal(pipe(ab), 0);
	assert_int_equal(pipe(ba), 0);
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct dl d = { i, i ? ba[1] : ab[1], i ? ab[0] : ba[0], 0 };

			alarm(30);
			if (store_open(dir, STORE_OPEN_NOSYNC, &s) != STORE_OK)
				_exit(10);
			if (store_txn_run(s, STORE_TXN_RW, deadlock_fn, &d) != STORE_OK)
				_exit(11);
			store_close(s);
			_exit(d.runs >= 2 ? 2 : 0);
		}
	}
	for (i = 0; i < 2; i++) {
		st = child_status(pids[i]);
		assert_true(st == 0 || st == 2);
		twice += st == 2;
	}
	assert_int_equal(twice, 1);
	assert_int_equal(store_open(dir, STORE_OPEN_NOSYNC, &s), STORE_OK);
	assert_int_equal(store_txn_run(s, STORE_TXN_RW, read_fn, &f), STORE_OK);
	assert_int_equal(f.x, 2);
	assert_int_equal(f.kv, 2);
	store_close(s);
	for (i = 0; i < 2; i++) {
		close(ab[i]);
		close(ba[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_lost_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadlock_retried, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
