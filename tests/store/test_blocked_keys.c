/* Blocked keys: the codec (round trip, what encode and decode refuse) and
 * the table (get, put, delete, scan, verify, admin's generic reader). */
#include "tests/store/store_test.h"

static void
fx_blocked(struct store_blocked_key *b, unsigned n)
{
	memset(b, 0, sizeof(*b));
	fixed_id(b->hash, STORE_THUMB_LEN, "spki-", n);
	b->created = 1700000000 + n;
	snprintf(b->serial, sizeof(b->serial), "%08x", 0xab000000u + n);
	strcpy(b->dir, "default");
}

static void
eq_blocked(const struct store_blocked_key *a, const struct store_blocked_key *b)
{
	assert_string_equal(a->hash, b->hash);
	assert_int_equal(a->created, b->created);
	assert_string_equal(a->serial, b->serial);
	assert_string_equal(a->dir, b->dir);
}

static enum store_err
encode(const struct store_blocked_key *b, unsigned char **p, size_t *n)
{
	*p = NULL;
	*n = 0;
	return store_rec_encode_blocked_key(b, p, n);
}

static void
test_codec(void **state)
{
	struct store_blocked_key b, d;
	unsigned char *p = NULL;
	size_t n = 0;
	size_t cut;

	(void)state;
	fx_blocked(&b, 7);
	b.hash[0] = '-';   /* base64url may begin with '-' */
	assert_int_equal(encode(&b, &p, &n), STORE_OK);
	assert_int_equal(p[0], REC_MAGIC_BLOCKED_KEY);
	assert_int_equal(store_rec_decode_blocked_key(p, n, &d), STORE_OK);
	eq_blocked(&b, &d);
	store_blocked_key_free(&d);
	/* every proper prefix is corrupt, and leaves nothing behind */
	for (cut = 0; cut < n; cut++) {
		memset(&d, 0xa5, sizeof(d));
		assert_int_equal(store_rec_decode_blocked_key(p, cut, &d), STORE_CORRUPT);
		assert_string_equal(d.hash, "");
		assert_int_equal(d.created, 0);
	}
	/* another record type's magic */
	p[0] = REC_MAGIC_EAB;
	assert_int_equal(store_rec_decode_blocked_key(p, n, &d), STORE_CORRUPT);
	free(p);
}

static void
test_encode_refuses(void **state)
{
	struct store_blocked_key b;
	unsigned char *p = NULL;
	size_t n = 0;
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		fx_blocked(&b, 1);
		switch (i) {
		case 0: b.hash[STORE_THUMB_LEN - 1] = '\0'; break;   /* 42 characters */
		case 1: b.hash[5] = '+'; break;                      /* not base64url */
		case 2: b.hash[0] = '\0'; break;
		case 3: strcpy(b.serial, "xyz"); break;               /* not hex */
		case 4: b.serial[0] = '\0'; break;
		default: strcpy(b.dir, "Not/A/Dir"); break;
		}
		assert_int_equal(encode(&b, &p, &n), STORE_INVAL);
		assert_null(p);
	}
}

/* ---- the table ---- */

/* Hashes a scan delivers (longer than struct idv holds). */
struct hashes {
	size_t n;
	char v[4][STORE_THUMB_LEN + 1];
};

static int
hash_add(const char *hash, void *arg)
{
	struct hashes *h = arg;

	if (h->n < 4)
		snprintf(h->v[h->n], sizeof(h->v[0]), "%s", hash);
	h->n++;
	return 0;
}

struct bk_op {
	char what;   /* 'g' get, 'p' put, 'd' delete, 's' scan */
	const char *hash;
	const struct store_blocked_key *in;
	unsigned flags;
	struct store_blocked_key out;
	struct hashes seen;
};

static enum store_err
bk_body(struct store_txn *t, void *arg)
{
	struct bk_op *o = arg;

	store_blocked_key_free(&o->out);
	o->seen.n = 0;
	if (o->what == 'g')
		return store_blocked_key_get(t, o->hash, &o->out);
	if (o->what == 'p')
		return store_blocked_key_put(t, o->in, o->flags);
	if (o->what == 'd')
		return store_blocked_key_del(t, o->hash);
	return store_scan(t, STORE_T_BLOCKED_KEY, hash_add, &o->seen);
}

static enum store_err
bk(struct store *s, struct bk_op *o, char what)
{
	o->what = what;
	return store_txn_run(s, what == 'g' || what == 's' ? STORE_TXN_RO : STORE_TXN_RW, bk_body, o);
}

static void
test_table(void **state)
{
	struct store_blocked_key one, two;
	struct bk_op o;
	struct tenv e;
	size_t bad = 99;

	(void)state;
	tenv_open(&e, 0);
	memset(&o, 0, sizeof(o));
	fx_blocked(&one, 1);
	fx_blocked(&two, 2);
	o.hash = one.hash;
	assert_int_equal(bk(e.s, &o, 'g'), STORE_NOTFOUND);
	assert_int_equal(bk(e.s, &o, 'd'), STORE_NOTFOUND);
	o.in = &one;
	o.flags = STORE_PUT_CREATE;
	assert_int_equal(bk(e.s, &o, 'p'), STORE_OK);
	assert_int_equal(bk(e.s, &o, 'p'), STORE_EXISTS);
	o.in = &two;
	assert_int_equal(bk(e.s, &o, 'p'), STORE_OK);
	assert_int_equal(bk(e.s, &o, 'g'), STORE_OK);
	eq_blocked(&one, &o.out);
	/* a hash that cannot be one names nothing */
	o.hash = "short";
	assert_int_equal(bk(e.s, &o, 'g'), STORE_NOTFOUND);
	assert_int_equal(bk(e.s, &o, 's'), STORE_OK);
	assert_int_equal(o.seen.n, 2);
	assert_string_equal(o.seen.v[0], one.hash);
	assert_string_equal(o.seen.v[1], two.hash);
	assert_int_equal(store_verify(e.s, &bad), STORE_OK);
	assert_int_equal(bad, 0);
	o.hash = two.hash;
	assert_int_equal(bk(e.s, &o, 'd'), STORE_OK);
	assert_int_equal(bk(e.s, &o, 'g'), STORE_NOTFOUND);
	assert_int_equal(bk(e.s, &o, 's'), STORE_OK);
	assert_int_equal(o.seen.n, 1);
	/* a put needs a read-write transaction */
	o.what = 'p';
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RO, bk_body, &o), STORE_INVAL);
	store_blocked_key_free(&o.out);
	tenv_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
