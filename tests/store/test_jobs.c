/*
 * Jobs (RA mode's work queue) and upstream account records: the codec, one
 * job per key, the due index (earliest first, finished jobs out of it,
 * upto now only), and the upstream record's sealed key kept as bytes.
 */
#include "tests/store/store_test.h"

struct env {
	char *dir;
	struct store *s;
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->dir = tdir_make();
	assert_int_equal(store_open(e->dir, STORE_OPEN_CREATE | STORE_OPEN_NOSYNC, &e->s), STORE_OK);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	store_close(e->s);
	tdir_remove(e->dir);
	free(e);
	return 0;
}

static void
fx_job(struct store_job *j, const char *id, int64_t due)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->kind = STORE_JOB_UPSTREAM_ORDER;
	j->state = STORE_JOB_QUEUED;
	snprintf(j->dir, sizeof(j->dir), "ra");
	snprintf(j->ref, sizeof(j->ref), "%s", id + 6);
	j->created = 1700000000;
	j->due = due;
}

struct put_arg {
	const struct store_job *j;
	unsigned flags;
};

static enum store_err
put_txn(struct store_txn *t, void *arg)
{
	struct put_arg *p = arg;

	return store_job_put(t, p->j, p->flags);
}

static enum store_err
put(struct env *e, const struct store_job *j, unsigned flags)
{
	struct put_arg p = { j, flags };

	return store_txn_run(e->s, STORE_TXN_RW, put_txn, &p);
}

struct list {
	int64_t now;
	char ids[8][STORE_JOB_ID_MAX + 1];
	size_t n;
	int64_t next;
};

static int
list_cb(const char *id, void *arg)
{
	struct list *l = arg;

	snprintf(l->ids[l->n++], sizeof(l->ids[0]), "%s", id);
	return l->n == 8;
}

static enum store_err
due_txn(struct store_txn *t, void *arg)
{
	struct list *l = arg;
	enum store_err e;

	l->n = 0;
	if ((e = store_job_due(t, l->now, 8, list_cb, l)) != STORE_OK)
		return e;
	return store_job_next_due(t, &l->next);
}

static void
test_codec(void **state)
{
	struct store_job j, back;
	unsigned char *p = NULL;
	size_t n = 0;

	(void)state;
	fx_job(&j, "order-AAAAAAAAAAAAAAAAAAAAAA", 5);
	j.progress = strdup("{\"order\":\"https://up/order/1\",\"step\":\"ordered\"}");
	j.error = strdup("{\"type\":\"x\"}");
	j.attempts = 3;
	j.lease = 7;
	assert_int_equal(rec_encode(&store_rt_job, &j, &p, &n), STORE_OK);
	assert_int_equal(store_rec_decode_job(p, n, &back), STORE_OK);
	assert_string_equal(back.id, j.id);
	assert_string_equal(back.progress, j.progress);
	assert_string_equal(back.error, j.error);
	assert_int_equal(back.attempts, 3);
	assert_int_equal(back.lease, 7);
	assert_int_equal(back.due, 5);
	store_job_free(&back);
	store_job_free(&j);
	free(p);
	fx_job(&j, "order-AAAAAAAAAAAAAAAAAAAAAA", 5);
	j.kind = STORE_JOB__MAX;
	assert_int_equal(rec_encode(&store_rt_job, &j, &p, &n), STORE_INVAL);
	free(p);
}

static void
test_one_per_key_and_due(void **state)
{
	struct env *e = *state;
	struct store_job a, b, c;
	struct list l;

	fx_job(&a, "order-AAAAAAAAAAAAAAAAAAAAAA", 100);
	fx_job(&b, "order-BBBBBBBBBBBBBBBBBBBBBB", 50);
	fx_job(&c, "order-CCCCCCCCCCCCCCCCCCCCCC", 0);      /* not queued */
	assert_int_equal(put(e, &a, STORE_PUT_CREATE), STORE_OK);
	assert_int_equal(put(e, &b, STORE_PUT_CREATE), STORE_OK);
	assert_int_equal(put(e, &c, STORE_PUT_CREATE), STORE_OK);
	assert_int_equal(put(e, &a, STORE_PUT_CREATE), STORE_EXISTS);

	memset(&l, 0, sizeof(l));
	l.now = 99;
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, due_txn, &l), STORE_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ids[0], b.id);
	assert_int_equal(l.next, 50);
	l.now = 1000;
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, due_txn, &l), STORE_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[0], b.id);      /* earliest first */
	assert_string_equal(l.ids[1], a.id);

	/* Finished: out of the queue. */
	b.due = 0;
	b.state = STORE_JOB_DONE;
	assert_int_equal(put(e, &b, 0), STORE_OK);
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, due_txn, &l), STORE_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ids[0], a.id);
	assert_int_equal(l.next, 100);
	/* Moved later (a lease): re-indexed under the new time. */
	a.due = 2000;
	assert_int_equal(put(e, &a, 0), STORE_OK);
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, due_txn, &l), STORE_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.next, 2000);
	{
		size_t bad = 99;
		assert_int_equal(store_verify(e->s, &bad), STORE_OK);
		assert_int_equal(bad, 0);
	}
}

struct ups_arg {
	struct store_upstream *u;
	unsigned flags;
	int get;
};

static enum store_err
ups_txn(struct store_txn *t, void *arg)
{
	struct ups_arg *a = arg;

	if (a->get) {
		store_upstream_free(a->u);
		return store_upstream_get(t, "ra", a->u);
	}
	return store_upstream_put(t, a->u, a->flags);
}

static void
test_upstream_record(void **state)
{
	struct env *e = *state;
	struct store_upstream u, back;
	struct ups_arg a;
	unsigned char sealed[100];

	memset(&u, 0, sizeof(u));
	memset(&back, 0, sizeof(back));
	memset(sealed, 0x5a, sizeof(sealed));
	sealed[10] = 0;     /* binary: NUL bytes are kept */
	snprintf(u.dir, sizeof(u.dir), "ra");
	u.directory_url = (char *)"https://up.example/dir";
	u.key_type = (char *)"p256";
	memset(u.thumb, 'T', STORE_THUMB_LEN);
	u.key_sealed = sealed;
	u.key_sealed_len = sizeof(sealed);
	u.created = 1700000000;
	a.u = &u;
	a.flags = STORE_PUT_CREATE;
	a.get = 0;
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RW, ups_txn, &a), STORE_OK);
	a.u = &back;
	a.get = 1;
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, ups_txn, &a), STORE_OK);
	assert_null(back.account_url);
	assert_int_equal(back.key_sealed_len, sizeof(sealed));
	assert_memory_equal(back.key_sealed, sealed, sizeof(sealed));
	back.account_url = strdup("https://up.example/acct/1");
	a.get = 0;
	a.flags = 0;
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RW, ups_txn, &a), STORE_OK);
	store_upstream_free(&back);
	a.get = 1;
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, ups_txn, &a), STORE_OK);
	assert_string_equal(back.account_url, "https://up.example/acct/1");
	store_upstream_free(&back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test_setup_teardown(test_one_per_key_and_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_record, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
