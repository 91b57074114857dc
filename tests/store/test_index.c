/* Secondary indexes: lookups, orderings, pagination, entries that move when
 * a record changes, and store_verify catching disagreements. */
#include "tests/store/store_test.h"

static struct tenv env;

static int
setup(void **state)
{
	(void)state;
	tenv_open(&env, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tenv_close(&env);
	return 0;
}

/* ---- a body that runs a list of steps ---- */

typedef enum store_err (*step_fn)(struct store_txn *t, void *arg);

static enum store_err
rw(step_fn fn, void *arg)
{
	return store_txn_run(env.s, STORE_TXN_RW, fn, arg);
}

static enum store_err
ro(step_fn fn, void *arg)
{
	return store_txn_run(env.s, STORE_TXN_RO, fn, arg);
}

static enum store_err
put_account_fn(struct store_txn *t, void *arg)
{
	return store_account_put(t, arg, 0);
}

static enum store_err
put_order_fn(struct store_txn *t, void *arg)
{
	return store_order_put(t, arg, 0);
}

static enum store_err
put_authz_fn(struct store_txn *t, void *arg)
{
	return store_authz_put(t, arg, 0);
}

static enum store_err
put_cert_fn(struct store_txn *t, void *arg)
{
	return store_cert_put(t, arg, 0);
}

static void
verify_clean(void)
{
	size_t bad = 99;

	assert_int_equal(store_verify(env.s, &bad), STORE_OK);
	assert_int_equal(bad, 0);
}

/* ---- accounts by thumbprint ---- */

struct thumbq {
	const char *dir, *thumb;
	store_id id;
	int known;
};

static enum store_err
by_thumb_fn(struct store_txn *t, void *arg)
{
	struct thumbq *q = arg;

	return store_account_by_thumb(t, q->dir, q->thumb, q->id);
}

static enum store_err
known_fn(struct store_txn *t, void *arg)
{
	struct thumbq *q = arg;

	return store_thumb_known(t, q->thumb, &q->known);
}

static enum store_err
del_account_fn(struct store_txn *t, void *arg)
{
	return store_account_del(t, arg);
}

static void
test_account_by_thumb(void **state)
{
	struct store_account a1, a2, a3;
	struct thumbq q;
	char thumb1[STORE_THUMB_LEN + 1];

	(void)state;
	fx_account(&a1, 1, 0);
	fx_account(&a2, 2, 0);
	fx_account(&a3, 3, 0);
	strcpy(thumb1, a1.thumb);
	strcpy(a3.thumb, a1.thumb);   /* the same key in another directory */
	strcpy(a3.dir, "other");
	assert_int_equal(rw(put_account_fn, &a1), STORE_OK);
	assert_int_equal(rw(put_account_fn, &a2), STORE_OK);
	assert_int_equal(rw(put_account_fn, &a3), STORE_OK);
	/* and again in the same directory: the index is unique */
	strcpy(a2.thumb, a1.thumb);
	assert_int_equal(rw(put_account_fn, &a2), STORE_EXISTS);
	fx_account(&a2, 2, 0);

	q = (struct thumbq){ "default", thumb1, "", 0 };
	assert_int_equal(ro(by_thumb_fn, &q), STORE_OK);
	assert_string_equal(q.id, a1.id);
	q.dir = "other";
	assert_int_equal(ro(by_thumb_fn, &q), STORE_OK);
	assert_string_equal(q.id, a3.id);
	q.dir = "third";
	assert_int_equal(ro(by_thumb_fn, &q), STORE_NOTFOUND);
	assert_string_equal(q.id, "");
	q.dir = "Bad Dir";
	assert_int_equal(ro(by_thumb_fn, &q), STORE_NOTFOUND);
	q.dir = "default";
	q.thumb = "short";
	assert_int_equal(ro(by_thumb_fn, &q), STORE_NOTFOUND);
	q.thumb = a2.thumb;
	assert_int_equal(rw(by_thumb_fn, &q), STORE_OK);   /* DB_RMW path */
	assert_string_equal(q.id, a2.id);

	/* known across directories, and forgotten once no account has it */
	q.thumb = thumb1;
	assert_int_equal(ro(known_fn, &q), STORE_OK);
	assert_int_equal(q.known, 1);
	assert_int_equal(rw(del_account_fn, a1.id), STORE_OK);
	assert_int_equal(ro(known_fn, &q), STORE_OK);
	assert_int_equal(q.known, 1);   /* a3 in "other" */
	assert_int_equal(rw(del_account_fn, a3.id), STORE_OK);
	assert_int_equal(ro(known_fn, &q), STORE_OK);
	assert_int_equal(q.known, 0);
	q.thumb = "not a thumbprint";
	assert_int_equal(ro(known_fn, &q), STORE_OK);
	assert_int_equal(q.known, 0);

	/* key rollover moves the entry */
	strcpy(thumb1, a2.thumb);
	q.thumb = thumb1;
	fixed_id(a2.thumb, STORE_THUMB_LEN, "rolled", 2);
	assert_int_equal(rw(put_account_fn, &a2), STORE_OK);
	assert_int_equal(ro(by_thumb_fn, &q), STORE_NOTFOUND);
	assert_int_equal(ro(known_fn, &q), STORE_OK);
	assert_int_equal(q.known, 0);
	q.thumb = a2.thumb;
	assert_int_equal(ro(by_thumb_fn, &q), STORE_OK);
	assert_string_equal(q.id, a2.id);
	verify_clean();
}

/* ---- orders by account ---- */

struct listq {
	const char *acct, *after;
	size_t max;
	struct idv v;
	struct store_ident ident;
	int64_t now;
};

static enum store_err
orders_fn(struct store_txn *t, void *arg)
{
	struct listq *q = arg;

	q->v.n = 0;
	return store_orders_by_account(t, q->acct, q->after, q->max, idv_add, &q->v);
}

static void
order_id(char *out, unsigned n)
{
	fixed_id(out, STORE_ID_LEN, "order", n);
}

static void
test_orders_by_account(void **state)
{
	/* n -> created: listing order is (created, id) */
	static const struct { unsigned n, acct; int64_t created; } os[] = {
		{ 1, 1, 300 }, { 2, 1, 100 }, { 3, 1, 200 }, { 4, 1, 200 }, { 5, 2, 150 },
		{ 6, 1, -50 },
	};
	static const unsigned want[] = { 6, 2, 3, 4, 1 };
	struct store_order o;
	struct listq q;
	char acct1[STORE_ID_LEN + 1], acct2[STORE_ID_LEN + 1], id[STORE_ID_LEN + 1];
	char after[STORE_ID_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(os) / sizeof(os[0]); i++) {
		fx_order(&o, os[i].n, os[i].acct, os[i].created, i % 2);
		assert_int_equal(rw(put_order_fn, &o), STORE_OK);
	}
	fixed_id(acct1, STORE_ID_LEN, "acct", 1);
	fixed_id(acct2, STORE_ID_LEN, "acct", 2);
	memset(&q, 0, sizeof(q));
	q.acct = acct1;
	q.max = 100;
	assert_int_equal(ro(orders_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 5);
	for (i = 0; i < 5; i++) {
		order_id(id, want[i]);
		assert_string_equal(q.v.ids[i], id);
	}

	/* pages of two, each continuing after the last id of the one before */
	q.max = 2;
	q.after = "";
	for (i = 0; i < 5; i += 2) {
		assert_int_equal(ro(orders_fn, &q), STORE_OK);
		assert_int_equal(q.v.n, i + 2 <= 5 ? 2 : 1);
		order_id(id, want[i]);
		assert_string_equal(q.v.ids[0], id);
		strcpy(after, q.v.ids[q.v.n - 1]);
		q.after = after;
	}
	assert_int_equal(ro(orders_fn, &q), STORE_OK);   /* after the last one */
	assert_int_equal(q.v.n, 0);

	/* after an order that does not exist, or of another account */
	q.after = "orderzzzzzzzzzzzzzzzzz";
	assert_int_equal(ro(orders_fn, &q), STORE_NOTFOUND);
	order_id(id, 5);
	q.after = id;
	assert_int_equal(ro(orders_fn, &q), STORE_NOTFOUND);

	/* the callback can stop early; max 0 lists nothing */
	q.after = NULL;
	q.max = 100;
	q.v.stop_after = 2;
	assert_int_equal(ro(orders_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 2);
	q.v.stop_after = 0;
	q.max = 0;
	assert_int_equal(ro(orders_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 0);

	q.acct = acct2;
	q.max = 100;
	assert_int_equal(ro(orders_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 1);
	q.acct = "not an id";
	assert_int_equal(ro(orders_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 0);

	/* a changed creation time moves the order in the listing */
	fx_order(&o, 2, 1, 400, 0);
	assert_int_equal(rw(put_order_fn, &o), STORE_OK);
	q.acct = acct1;
	assert_int_equal(ro(orders_fn, &q), STORE_OK);
	order_id(id, 2);
	assert_string_equal(q.v.ids[4], id);
	verify_clean();
}

/* ---- authorizations by identifier ---- */

static enum store_err
by_ident_fn(struct store_txn *t, void *arg)
{
	struct listq *q = arg;

	q->v.n = 0;
	return store_authz_by_ident(t, q->acct, &q->ident, q->max, idv_add, &q->v);
}

static void
authz_id(char *out, unsigned n)
{
	fixed_id(out, STORE_ID_LEN, "authz", n);
}

static void
test_authz_by_ident(void **state)
{
	static const struct { unsigned n, acct; const char *name; uint8_t type; int64_t created; } zs[] = {
		{ 11, 1, "example.org", STORE_IDENT_DNS, 10 },
		{ 12, 1, "example.org", STORE_IDENT_DNS, 30 },
		{ 13, 1, "example.org", STORE_IDENT_DNS, 20 },
		{ 14, 1, "example.org.uk", STORE_IDENT_DNS, 40 },
		{ 15, 2, "example.org", STORE_IDENT_DNS, 50 },
		{ 16, 1, "example.org", STORE_IDENT_IP, 60 },
		{ 17, 1, "example.or", STORE_IDENT_DNS, 70 },
	};
	struct store_authz z;
	struct listq q;
	char acct1[STORE_ID_LEN + 1], id[STORE_ID_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(zs) / sizeof(zs[0]); i++) {
		fx_authz(&z, zs[i].n, zs[i].acct, zs[i].name, zs[i].created, 0, i % 2);
		z.ident.type = zs[i].type;
		assert_int_equal(rw(put_authz_fn, &z), STORE_OK);
	}
	fixed_id(acct1, STORE_ID_LEN, "acct", 1);
	memset(&q, 0, sizeof(q));
	q.acct = acct1;
	q.ident.type = STORE_IDENT_DNS;
	q.ident.value = (char *)"example.org";
	q.max = 10;
	assert_int_equal(ro(by_ident_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 3);
	authz_id(id, 12);
	assert_string_equal(q.v.ids[0], id);   /* newest first */
	authz_id(id, 13);
	assert_string_equal(q.v.ids[1], id);
	authz_id(id, 11);
	assert_string_equal(q.v.ids[2], id);
	q.max = 1;
	assert_int_equal(rw(by_ident_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 1);

	q.max = 10;
	q.ident.type = STORE_IDENT_IP;
	assert_int_equal(ro(by_ident_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 1);
	q.ident.type = STORE_IDENT_DNS;
	q.ident.value = (char *)"nowhere.example";
	assert_int_equal(ro(by_ident_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 0);

	/* renewing one: its new creation time puts it first */
	fx_authz(&z, 11, 1, "example.org", 99, 0, 0);
	assert_int_equal(rw(put_authz_fn, &z), STORE_OK);
	q.ident.value = (char *)"example.org";
	assert_int_equal(ro(by_ident_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 3);
	authz_id(id, 11);
	assert_string_equal(q.v.ids[0], id);
	verify_clean();
}

/* ---- the due queue ---- */

static enum store_err
due_fn(struct store_txn *t, void *arg)
{
	struct listq *q = arg;

	q->v.n = 0;
	return store_authz_due(t, q->now, q->max, idv_add, &q->v);
}

static enum store_err
next_due_fn(struct store_txn *t, void *arg)
{
	return store_authz_next_due(t, arg);
}

/* Lease each due authorization from inside the listing callback. */
struct lease {
	struct store_txn *t;
	int64_t until;
	unsigned n;
	enum store_err rc;
};

static int
lease_cb(const char *id, void *arg)
{
	struct lease *l = arg;
	struct store_authz z;

	if ((l->rc = store_authz_get(l->t, id, &z)) == STORE_OK) {
		z.due = l->until;
		l->rc = store_authz_put(l->t, &z, 0);
		store_authz_free(&z);
	}
	l->n++;
	return l->rc != STORE_OK;
}

static enum store_err
lease_fn(struct store_txn *t, void *arg)
{
	struct lease *l = arg;
	enum store_err rc;

	l->t = t;
	l->n = 0;
	l->rc = STORE_OK;
	rc = store_authz_due(t, 1000, 10, lease_cb, l);
	return rc != STORE_OK ? rc : l->rc;
}

static void
test_due_queue(void **state)
{
	static const struct { unsigned n; int64_t due; } zs[] = {
		{ 21, 0 }, { 22, 100 }, { 23, 50 }, { 24, 200 }, { 25, -7 }, { 26, 100 },
	};
	struct store_authz z;
	struct listq q;
	struct lease l;
	char id[STORE_ID_LEN + 1];
	int64_t when = -1;
	size_t i;

	(void)state;
	assert_int_equal(ro(next_due_fn, &when), STORE_OK);
	assert_int_equal(when, 0);
	for (i = 0; i < sizeof(zs) / sizeof(zs[0]); i++) {
		fx_authz(&z, zs[i].n, 1, "due.example", 1, zs[i].due, 0);
		assert_int_equal(rw(put_authz_fn, &z), STORE_OK);
	}
	memset(&q, 0, sizeof(q));
	q.now = INT64_MAX;
	q.max = 10;
	assert_int_equal(ro(due_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 4);   /* due 0 and due < 0 are not indexed */
	q.now = 150;
	assert_int_equal(ro(due_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 3);
	authz_id(id, 23);
	assert_string_equal(q.v.ids[0], id);
	authz_id(id, 22);
	assert_string_equal(q.v.ids[1], id);
	authz_id(id, 26);
	assert_string_equal(q.v.ids[2], id);
	q.now = 100;   /* inclusive */
	assert_int_equal(ro(due_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 3);
	q.now = 49;
	assert_int_equal(ro(due_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 0);
	q.now = 150;
	q.max = 2;
	assert_int_equal(ro(due_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 2);
	assert_int_equal(ro(next_due_fn, &when), STORE_OK);
	assert_int_equal(when, 50);

	/* done: due 0 takes it out; postponed: it moves */
	fx_authz(&z, 23, 1, "due.example", 1, 0, 0);
	assert_int_equal(rw(put_authz_fn, &z), STORE_OK);
	assert_int_equal(ro(next_due_fn, &when), STORE_OK);
	assert_int_equal(when, 100);
	fx_authz(&z, 22, 1, "due.example", 1, 300, 0);
	assert_int_equal(rw(put_authz_fn, &z), STORE_OK);
	q.max = 10;
	assert_int_equal(ro(due_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 1);
	authz_id(id, 26);
	assert_string_equal(q.v.ids[0], id);

	/* leasing inside the listing: everything due moves past now */
	l.until = 2000;
	assert_int_equal(rw(lease_fn, &l), STORE_OK);
	assert_int_equal(l.n, 3);
	q.now = 1000;
	assert_int_equal(ro(due_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 0);
	assert_int_equal(ro(next_due_fn, &when), STORE_OK);
	assert_int_equal(when, 2000);
	verify_clean();
}

/* ---- certificates by ARI ---- */

struct ariq {
	const char *ari;
	char serial[STORE_SERIAL_MAX + 1];
};

static enum store_err
by_ari_fn(struct store_txn *t, void *arg)
{
	struct ariq *q = arg;

	return store_cert_by_ari(t, q->ari, q->serial);
}

static void
test_cert_by_ari(void **state)
{
	struct store_cert c1, c2, c3;
	struct ariq q;

	(void)state;
	fx_cert(&c1, 1, "aaaa.0001", 1);
	fx_cert(&c2, 2, "aaaa.0002", 0);
	fx_cert(&c3, 3, NULL, 0);
	assert_int_equal(rw(put_cert_fn, &c1), STORE_OK);
	assert_int_equal(rw(put_cert_fn, &c2), STORE_OK);
	assert_int_equal(rw(put_cert_fn, &c3), STORE_OK);
	q.ari = "aaaa.0002";
	assert_int_equal(ro(by_ari_fn, &q), STORE_OK);
	assert_string_equal(q.serial, c2.serial);
	q.ari = "aaaa.0003";
	assert_int_equal(ro(by_ari_fn, &q), STORE_NOTFOUND);
	assert_string_equal(q.serial, "");
	q.ari = "";
	assert_int_equal(ro(by_ari_fn, &q), STORE_NOTFOUND);
	q.ari = "bad ari";
	assert_int_equal(ro(by_ari_fn, &q), STORE_NOTFOUND);
	/* one ARI, one certificate */
	snprintf(c3.ari, sizeof(c3.ari), "aaaa.0001");
	assert_int_equal(rw(put_cert_fn, &c3), STORE_EXISTS);
	/* a changed ARI moves */
	snprintf(c3.ari, sizeof(c3.ari), "bbbb.0003");
	assert_int_equal(rw(put_cert_fn, &c3), STORE_OK);
	q.ari = "bbbb.0003";
	assert_int_equal(rw(by_ari_fn, &q), STORE_OK);
	assert_string_equal(q.serial, c3.serial);
	verify_clean();
}

/* ---- revoked certificates by directory ---- */

struct revq {
	const char *dir;
	struct idv v;
};

static enum store_err
revoked_fn(struct store_txn *t, void *arg)
{
	struct revq *q = arg;

	q->v.n = 0;
	return store_revoked_by_dir(t, q->dir, idv_add, &q->v);
}

static void
test_revoked_by_dir(void **state)
{
	struct store_cert c;
	struct revq q;
	unsigned i;

	(void)state;
	/* 300 revoked in "default" (more than one scan batch), some not
	 * revoked, a few revoked in "default2" (whose name extends "default") */
	for (i = 0; i < 320; i++) {
		fx_cert(&c, i, NULL, 0);
		c.revoked = i < 300;
		assert_int_equal(rw(put_cert_fn, &c), STORE_OK);
	}
	for (i = 400; i < 403; i++) {
		fx_cert(&c, i, NULL, 1);
		strcpy(c.dir, "default2");
		assert_int_equal(rw(put_cert_fn, &c), STORE_OK);
	}
	memset(&q, 0, sizeof(q));
	q.dir = "default";
	assert_int_equal(ro(revoked_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 300);
	assert_string_equal(q.v.ids[0], "ab000000");   /* in serial order */
	assert_string_equal(q.v.ids[1], "ab000001");
	q.dir = "default2";
	assert_int_equal(ro(revoked_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 3);
	assert_string_equal(q.v.ids[0], "ab000190");
	q.dir = "other";
	assert_int_equal(ro(revoked_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 0);
	q.dir = "Bad Dir";
	assert_int_equal(ro(revoked_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 0);

	/* revoking one more moves it in; the callback can stop early */
	fx_cert(&c, 310, NULL, 0);
	c.revoked = 1;
	c.reason = 1;
	assert_int_equal(rw(put_cert_fn, &c), STORE_OK);
	q.dir = "default";
	assert_int_equal(ro(revoked_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 301);
	q.v.stop_after = 5;
	assert_int_equal(ro(revoked_fn, &q), STORE_OK);
	assert_int_equal(q.v.n, 5);
	verify_clean();
}

/* ---- store_verify finds what disagrees ---- */

struct raw {
	enum st_idx ix;
	const void *k, *d;
	size_t kl, dl;
	int del;
};

/* Write or delete an index entry behind the primary's back. */
static enum store_err
raw_fn(struct store_txn *t, void *arg)
{
	struct raw *r = arg;
	DB *db = t->s->ridx[r->ix];
	DBT k, d;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)(uintptr_t)r->k;
	k.size = (u_int32_t)r->kl;
	d.data = (void *)(uintptr_t)r->d;
	d.size = (u_int32_t)r->dl;
	return store_dberr(t->s, r->del ? db->del(db, t->txn, &k, 0) : db->put(db, t->txn, &k, &d, 0),
	    "raw");
}

static void
test_verify_finds_disagreement(void **state)
{
	struct store_cert c;
	struct raw r;
	size_t bad;

	(void)state;
	verify_clean();
	fx_cert(&c, 9, "cccc.0009", 0);
	assert_int_equal(rw(put_cert_fn, &c), STORE_OK);
	verify_clean();

	/* the entry goes missing */
	r = (struct raw){ IDX_CERT_ARI, "cccc.0009", NULL, 9, 0, 1 };
	assert_int_equal(rw(raw_fn, &r), STORE_OK);
	assert_int_equal(store_verify(env.s, &bad), STORE_OK);
	assert_int_equal(bad, 1);
	/* an entry under the wrong key, pointing at the record */
	r = (struct raw){ IDX_CERT_ARI, "dddd.0009", c.serial, 9, strlen(c.serial), 0 };
	assert_int_equal(rw(raw_fn, &r), STORE_OK);
	assert_int_equal(store_verify(env.s, &bad), STORE_OK);
	assert_int_equal(bad, 2);
	/* an entry pointing at no record */
	r = (struct raw){ IDX_CERT_ARI, "eeee.0009", "ffff", 9, 4, 0 };
	assert_int_equal(rw(raw_fn, &r), STORE_OK);
	assert_int_equal(store_verify(env.s, &bad), STORE_OK);
	assert_int_equal(bad, 3);
	assert_int_equal(store_verify(NULL, &bad), STORE_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_account_by_thumb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orders_by_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authz_by_ident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_due_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_by_ari, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_by_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_finds_disagreement, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
