/* External Account Binding keys: the codec (round trip, strict decoding of
 * corrupt records) and the table (get, put, delete, scan, verify). */
#include "tests/store/store_test.h"

static void
fx_eab(struct store_eab *e, unsigned n, int full)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	snprintf(e->kid, sizeof(e->kid), "kid-%u_X", n);
	strcpy(e->dir, "default");
	e->key_len = 32;
	for (i = 0; i < e->key_len; i++)
		e->key[i] = (unsigned char)(i * 7 + n);
	e->created = 1700000000 + n;
	if (!full)
		return;
	e->expires = 1700003600 + n;
	e->reusable = 1;
	e->revoked = 1;
	e->uses = 3;
	fixed_id(e->account, STORE_ID_LEN, "acct", n);
	e->note = (char *)"for the web team";
}

static void
eq_eab(const struct store_eab *a, const struct store_eab *b)
{
	assert_string_equal(a->kid, b->kid);
	assert_string_equal(a->dir, b->dir);
	eq_blob(a->key, a->key_len, b->key, b->key_len);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->reusable, b->reusable);
	assert_int_equal(a->revoked, b->revoked);
	assert_int_equal(a->uses, b->uses);
	assert_string_equal(a->account, b->account);
	eq_str(a->note, b->note);
}

static void
roundtrip(const struct store_eab *e)
{
	struct store_eab d;
	unsigned char *p = NULL;
	size_t n = 0;

	assert_int_equal(store_rec_encode_eab(e, &p, &n), STORE_OK);
	assert_int_equal(p[0], REC_MAGIC_EAB);
	assert_int_equal(store_rec_decode_eab(p, n, &d), STORE_OK);
	eq_eab(e, &d);
	store_eab_free(&d);
	free(p);
}

static void
test_codec_roundtrip(void **state)
{
	struct store_eab e;

	(void)state;
	fx_eab(&e, 1, 0);
	roundtrip(&e);
	fx_eab(&e, 2, 1);
	roundtrip(&e);
	fx_eab(&e, 3, 1);
	e.key_len = STORE_EAB_KEY_MAX;
	memset(e.kid, 'k', STORE_EAB_KID_MAX);
	e.kid[STORE_EAB_KID_MAX] = '\0';
	roundtrip(&e);
}

static void
test_encode_refuses(void **state)
{
	struct store_eab e;
	unsigned char *p = NULL;
	size_t n = 0;

	(void)state;
	fx_eab(&e, 1, 0);
	e.key_len = 0;
	assert_int_equal(store_rec_encode_eab(&e, &p, &n), STORE_INVAL);
	fx_eab(&e, 1, 0);
	e.key_len = STORE_EAB_KEY_MAX + 1;
	assert_int_equal(store_rec_encode_eab(&e, &p, &n), STORE_INVAL);
	fx_eab(&e, 1, 0);
	strcpy(e.kid, "has space");
	assert_int_equal(store_rec_encode_eab(&e, &p, &n), STORE_INVAL);
	fx_eab(&e, 1, 0);
	e.kid[0] = '\0';
	assert_int_equal(store_rec_encode_eab(&e, &p, &n), STORE_INVAL);
	fx_eab(&e, 1, 0);
	e.revoked = 2;
	assert_int_equal(store_rec_encode_eab(&e, &p, &n), STORE_INVAL);
	fx_eab(&e, 1, 0);
	strcpy(e.account, "short");
	assert_int_equal(store_rec_encode_eab(&e, &p, &n), STORE_INVAL);
	assert_null(p);
}

/* ---- hand-built records ---- */

struct tb {
	unsigned char b[512];
	size_t n;
};

static void
tb_raw(struct tb *t, const void *p, size_t n)
{
	assert_true(t->n + n <= sizeof(t->b));
	memcpy(t->b + t->n, p, n);
	t->n += n;
}

static void
tb_field(struct tb *t, uint8_t tag, const void *v, size_t n)
{
	unsigned char h = tag;

	tb_raw(t, &h, 1);
	assert_true(n < 128);
	h = (unsigned char)n;
	tb_raw(t, &h, 1);
	tb_raw(t, v, n);
}

/* A minimal valid record without the field skip_tag. */
static void
tb_eab(struct tb *t, int skip_tag)
{
	static const unsigned char hdr[2] = { REC_MAGIC_EAB, REC_VERSION };
	static const unsigned char created[8] = { 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00 };
	unsigned char key[32];

	memset(key, 0xa5, sizeof(key));
	t->n = 0;
	tb_raw(t, hdr, 2);
	if (skip_tag != EAB_KID)
		tb_field(t, EAB_KID, "kid1", 4);
	if (skip_tag != EAB_DIR)
		tb_field(t, EAB_DIR, "default", 7);
	if (skip_tag != EAB_KEY)
		tb_field(t, EAB_KEY, key, sizeof(key));
	if (skip_tag != EAB_CREATED)
		tb_field(t, EAB_CREATED, created, 8);
}

static enum store_err
dec(const struct tb *t)
{
	struct store_eab e;
	enum store_err rc = store_rec_decode_eab(t->b, t->n, &e);

	if (rc != STORE_OK) {
		/* nothing leaked, nothing left behind */
		assert_int_equal(e.key_len, 0);
		assert_null(e.note);
	}
	store_eab_free(&e);
	return rc;
}

static void
test_decode_corrupt(void **state)
{
	static const int req[] = { EAB_KID, EAB_DIR, EAB_KEY, EAB_CREATED };
	unsigned char big[STORE_EAB_KEY_MAX + 1], two = 2;
	char kid[STORE_EAB_KID_MAX + 2];
	struct tb t;
	size_t i;

	(void)state;
	tb_eab(&t, 0);
	assert_int_equal(dec(&t), STORE_OK);
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		tb_eab(&t, req[i]);
		assert_int_equal(dec(&t), STORE_CORRUPT);
	}
	/* an empty key, a key too long for its array */
	tb_eab(&t, EAB_KEY);
	tb_field(&t, EAB_KEY, "", 0);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	memset(big, 1, sizeof(big));
	tb_eab(&t, EAB_KEY);
	tb_field(&t, EAB_KEY, big, sizeof(big));
	assert_int_equal(dec(&t), STORE_CORRUPT);
	/* kid: wrong charset, too long */
	tb_eab(&t, EAB_KID);
	tb_field(&t, EAB_KID, "a/b", 3);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	memset(kid, 'k', sizeof(kid) - 1);
	tb_eab(&t, EAB_KID);
	tb_field(&t, EAB_KID, kid, STORE_EAB_KID_MAX + 1);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	/* flags out of range, the account id of the wrong length */
	tb_eab(&t, 0);
	tb_field(&t, EAB_REVOKED, &two, 1);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	tb_eab(&t, 0);
	tb_field(&t, EAB_REUSABLE, &two, 1);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	tb_eab(&t, 0);
	tb_field(&t, EAB_ACCOUNT, "acct1", 5);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	/* a repeated key, uses of the wrong width, a NUL in the note */
	tb_eab(&t, 0);
	tb_field(&t, EAB_KEY, "x", 1);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	tb_eab(&t, 0);
	tb_field(&t, EAB_USES, "12", 2);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	tb_eab(&t, 0);
	tb_field(&t, EAB_NOTE, "a\0b", 3);
	assert_int_equal(dec(&t), STORE_CORRUPT);
	/* another record's magic, a truncated field */
	tb_eab(&t, 0);
	t.b[0] = REC_MAGIC_ACCOUNT;
	assert_int_equal(dec(&t), STORE_CORRUPT);
	tb_eab(&t, 0);
	t.n--;
	assert_int_equal(dec(&t), STORE_CORRUPT);
	/* unknown tags are skipped */
	tb_eab(&t, 0);
	tb_field(&t, 60, "future", 6);
	assert_int_equal(dec(&t), STORE_OK);
}

/* ---- the table ---- */

struct op {
	int what;   /* 0 get, 1 put, 2 delete */
	const char *kid;
	const struct store_eab *in;
	unsigned flags;
	struct store_eab out;
};

static enum store_err
op_fn(struct store_txn *t, void *arg)
{
	struct op *o = arg;

	store_eab_free(&o->out);
	switch (o->what) {
	case 0:
		return store_eab_get(t, o->kid, &o->out);
	case 1:
		return store_eab_put(t, o->in, o->flags);
	default:
		return store_eab_del(t, o->kid);
	}
}

static enum store_err
run(struct store *s, struct op *o, int what)
{
	o->what = what;
	return store_txn_run(s, what == 0 ? STORE_TXN_RO : STORE_TXN_RW, op_fn, o);
}

static enum store_err
scan_fn(struct store_txn *t, void *arg)
{
	struct idv *v = arg;

	v->n = 0;
	return store_scan(t, STORE_T_EAB, idv_add, v);
}

static void
test_table(void **state)
{
	struct store_eab a, b;
	struct op o;
	struct tenv e;
	struct idv v;
	size_t bad = 99;

	(void)state;
	tenv_open(&e, 0);
	memset(&o, 0, sizeof(o));
	memset(&v, 0, sizeof(v));
	fx_eab(&a, 1, 1);
	fx_eab(&b, 2, 0);
	o.kid = a.kid;
	assert_int_equal(run(e.s, &o, 0), STORE_NOTFOUND);
	assert_int_equal(run(e.s, &o, 2), STORE_NOTFOUND);
	o.in = &a;
	o.flags = STORE_PUT_CREATE;
	assert_int_equal(run(e.s, &o, 1), STORE_OK);
	assert_int_equal(run(e.s, &o, 1), STORE_EXISTS);
	o.in = &b;
	assert_int_equal(run(e.s, &o, 1), STORE_OK);
	assert_int_equal(run(e.s, &o, 0), STORE_OK);
	eq_eab(&a, &o.out);
	/* an update: revoke b */
	b.revoked = 1;
	o.flags = 0;
	assert_int_equal(run(e.s, &o, 1), STORE_OK);
	o.kid = b.kid;
	assert_int_equal(run(e.s, &o, 0), STORE_OK);
	eq_eab(&b, &o.out);
	/* malformed kids name nothing */
	o.kid = "no/such";
	assert_int_equal(run(e.s, &o, 0), STORE_NOTFOUND);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, scan_fn, &v), STORE_OK);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.ids[0], a.kid);
	assert_string_equal(v.ids[1], b.kid);
	assert_int_equal(store_verify(e.s, &bad), STORE_OK);
	assert_int_equal(bad, 0);
	o.kid = a.kid;
	assert_int_equal(run(e.s, &o, 2), STORE_OK);
	assert_int_equal(run(e.s, &o, 0), STORE_NOTFOUND);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, scan_fn, &v), STORE_OK);
	assert_int_equal(v.n, 1);
	/* writes need a read-write transaction */
	o.what = 1;
	o.in = &a;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, op_fn, &o), STORE_INVAL);
	store_eab_free(&o.out);
	tenv_close(&e);
}

/* A corrupt record in the table: get says so, verify counts it. */
struct raw {
	const char *kid;
	const void *val;
	size_t len;
};

static enum store_err
raw_put_fn(struct store_txn *t, void *arg)
{
	struct raw *r = arg;
	DB *db = t->s->db[TBL_EAB];
	DBT k, d;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)(uintptr_t)r->kid;
	k.size = (u_int32_t)strlen(r->kid);
	d.data = (void *)(uintptr_t)r->val;
	d.size = (u_int32_t)r->len;
	return store_dberr(t->s, db->put(db, t->txn, &k, &d, 0), "raw put");
}

static void
test_table_corrupt(void **state)
{
	struct raw r = { "broken", "E\001\001\001", 4 };
	struct op o;
	struct tenv e;
	size_t bad = 0;

	(void)state;
	tenv_open(&e, 0);
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, raw_put_fn, &r), STORE_OK);
	memset(&o, 0, sizeof(o));
	o.kid = "broken";
	assert_int_equal(run(e.s, &o, 0), STORE_CORRUPT);
	assert_int_equal(store_verify(e.s, &bad), STORE_OK);
	assert_int_equal(bad, 1);
	tenv_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_decode_corrupt),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_corrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
