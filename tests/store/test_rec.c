/* The TLV record codec: round trips, and hostile bytes never crash. */
#include "tests/store/store_test.h"

/* ---- round trips ---- */

static void
test_account_roundtrip(void **state)
{
	struct store_account a, b;
	unsigned char *p;
	size_t n;
	int full;

	(void)state;
	for (full = 0; full <= 1; full++) {
		fx_account(&a, 7, full);
		assert_int_equal(store_rec_encode_account(&a, &p, &n), STORE_OK);
		assert_int_equal(p[0], REC_MAGIC_ACCOUNT);
		assert_int_equal(p[1], REC_VERSION);
		assert_int_equal(store_rec_decode_account(p, n, &b), STORE_OK);
		eq_account(&a, &b);
		store_account_free(&b);
		assert_null(b.jwk);   /* free leaves it zeroed */
		free(p);
	}
}

static void
test_order_roundtrip(void **state)
{
	struct store_order a, b;
	unsigned char *p;
	size_t n;
	int full;

	(void)state;
	for (full = 0; full <= 1; full++) {
		fx_order(&a, 3, 1, 1700000000, full);
		assert_int_equal(store_rec_encode_order(&a, &p, &n), STORE_OK);
		assert_int_equal(store_rec_decode_order(p, n, &b), STORE_OK);
		eq_order(&a, &b);
		store_order_free(&b);
		free(p);
	}
}

static void
test_authz_roundtrip(void **state)
{
	struct store_authz a, b;
	unsigned char *p;
	size_t n;
	int full;

	(void)state;
	for (full = 0; full <= 1; full++) {
		fx_authz(&a, 4, 1, "example.org", 1700000000, full ? 1700000100 : 0, full);
		assert_int_equal(store_rec_encode_authz(&a, &p, &n), STORE_OK);
		assert_int_equal(store_rec_decode_authz(p, n, &b), STORE_OK);
		eq_authz(&a, &b);
		store_authz_free(&b);
		free(p);
	}
}

static void
test_cert_roundtrip(void **state)
{
	struct store_cert a, b;
	unsigned char *p;
	size_t n;
	int full;

	(void)state;
	for (full = 0; full <= 1; full++) {
		fx_cert(&a, 5, full ? "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" : NULL, full);
		assert_int_equal(store_rec_encode_cert(&a, &p, &n), STORE_OK);
		assert_int_equal(store_rec_decode_cert(p, n, &b), STORE_OK);
		eq_cert(&a, &b);
		assert_int_equal(b.reason, full ? 0 : -1);
		store_cert_free(&b);
		free(p);
	}
}

/* An empty string is kept apart from NULL. */
static void
test_empty_vs_null(void **state)
{
	struct store_account a, b;
	unsigned char *p;
	size_t n;

	(void)state;
	fx_account(&a, 1, 0);
	a.tos_url = (char *)"";
	assert_int_equal(store_rec_encode_account(&a, &p, &n), STORE_OK);
	assert_int_equal(store_rec_decode_account(p, n, &b), STORE_OK);
	assert_non_null(b.tos_url);
	assert_string_equal(b.tos_url, "");
	assert_null(b.eab_kid);
	store_account_free(&b);
	free(p);
}

/* ---- encoding refuses what it could not read back ---- */

static void
test_encode_invalid(void **state)
{
	struct store_account a;
	struct store_authz z;
	struct store_order o;
	struct store_cert c;
	unsigned char *p = (unsigned char *)"x";
	size_t n;

	(void)state;
	fx_account(&a, 1, 0);
	a.id[3] = '/';
	assert_int_equal(store_rec_encode_account(&a, &p, &n), STORE_INVAL);
	assert_null(p);
	fx_account(&a, 1, 0);
	a.jwk = NULL;
	assert_int_equal(store_rec_encode_account(&a, &p, &n), STORE_INVAL);
	fx_account(&a, 1, 0);
	a.status = STORE_ST__MAX;
	assert_int_equal(store_rec_encode_account(&a, &p, &n), STORE_INVAL);
	fx_account(&a, 1, 0);
	strcpy(a.dir, "Upper");
	assert_int_equal(store_rec_encode_account(&a, &p, &n), STORE_INVAL);
	fx_account(&a, 1, 0);
	a.ncontact = 1;   /* with a NULL array */
	assert_int_equal(store_rec_encode_account(&a, &p, &n), STORE_INVAL);

	fx_authz(&z, 1, 1, "example.org", 1, 0, 0);
	z.nchall = STORE_MAX_CHALL + 1;
	assert_int_equal(store_rec_encode_authz(&z, &p, &n), STORE_INVAL);
	fx_authz(&z, 1, 1, "", 1, 0, 0);
	assert_int_equal(store_rec_encode_authz(&z, &p, &n), STORE_INVAL);
	fx_authz(&z, 1, 1, "example.org", 1, 0, 0);
	z.ident.type = 9;
	assert_int_equal(store_rec_encode_authz(&z, &p, &n), STORE_INVAL);

	fx_order(&o, 1, 1, 1, 1);
	strcpy(o.cert, "XYZ");
	assert_int_equal(store_rec_encode_order(&o, &p, &n), STORE_INVAL);

	fx_cert(&c, 1, "bad ari", 0);
	assert_int_equal(store_rec_encode_cert(&c, &p, &n), STORE_INVAL);
	fx_cert(&c, 1, NULL, 0);
	c.der_len = 0;
	assert_int_equal(store_rec_encode_cert(&c, &p, &n), STORE_INVAL);
}

/* ---- hand-built records ---- */

struct tb {
	unsigned char b[4096];
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

static void
tb_str(struct tb *t, uint8_t tag, const char *s)
{
	tb_field(t, tag, s, strlen(s));
}

static void
tb_i64(struct tb *t, uint8_t tag, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)v;
	tb_field(t, tag, b, 8);
}

/* A minimal valid account, with extra fields appended by the caller. */
static void
tb_account(struct tb *t, int skip_tag)
{
	unsigned char hdr[2] = { REC_MAGIC_ACCOUNT, REC_VERSION }, st = STORE_ST_VALID;

	t->n = 0;
	tb_raw(t, hdr, 2);
	if (skip_tag != ACC_ID)
		tb_str(t, ACC_ID, "acct1xxxxxxxxxxxxxxxxx");
	if (skip_tag != ACC_DIR)
		tb_str(t, ACC_DIR, "default");
	if (skip_tag != ACC_STATUS)
		tb_field(t, ACC_STATUS, &st, 1);
	if (skip_tag != ACC_CREATED)
		tb_i64(t, ACC_CREATED, 1700000000);
	if (skip_tag != ACC_JWK)
		tb_str(t, ACC_JWK, "{}");
	if (skip_tag != ACC_THUMB)
		tb_str(t, ACC_THUMB, "thumb1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static enum store_err
dec_acct(const struct tb *t)
{
	struct store_account a;
	enum store_err rc = store_rec_decode_account(t->b, t->n, &a);

	store_account_free(&a);
	return rc;
}

static void
test_decode_minimal_and_required(void **state)
{
	static const int req[] = { ACC_ID, ACC_DIR, ACC_STATUS, ACC_CREATED, ACC_JWK, ACC_THUMB };
	struct tb t;
	size_t i;

	(void)state;
	tb_account(&t, 0);
	assert_int_equal(dec_acct(&t), STORE_OK);
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		tb_account(&t, req[i]);
		assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	}
}

static void
test_decode_unknown_tags_skipped(void **state)
{
	struct store_account a;
	struct tb t;

	(void)state;
	tb_account(&t, 0);
	tb_str(&t, 60, "from the future");
	tb_str(&t, 200, "tags past the mask too");
	tb_field(&t, 0, "", 0);
	assert_int_equal(store_rec_decode_account(t.b, t.n, &a), STORE_OK);
	assert_string_equal(a.dir, "default");
	store_account_free(&a);
}

static void
test_decode_rejects(void **state)
{
	unsigned char st = 42, zero = 0;
	struct tb t;

	(void)state;
	/* duplicate scalar */
	tb_account(&t, 0);
	tb_str(&t, ACC_DIR, "other");
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	/* status out of range */
	tb_account(&t, ACC_STATUS);
	tb_field(&t, ACC_STATUS, &st, 1);
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	/* integer of the wrong width */
	tb_account(&t, ACC_CREATED);
	tb_field(&t, ACC_CREATED, "1234", 4);
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	/* NUL inside a string */
	tb_account(&t, 0);
	tb_field(&t, ACC_TOS_URL, "ab\0cd", 5);
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	/* dir too long for its array, and of the wrong charset */
	tb_account(&t, ACC_DIR);
	tb_str(&t, ACC_DIR, "abcdefghijklmnopqrstuvwxyz0123456");
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	tb_account(&t, ACC_DIR);
	tb_str(&t, ACC_DIR, "De fault");
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	/* id of the wrong length */
	tb_account(&t, ACC_ID);
	tb_str(&t, ACC_ID, "short");
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	/* wrong magic, wrong version, empty, one byte */
	tb_account(&t, 0);
	t.b[0] = REC_MAGIC_ORDER;
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	t.b[0] = REC_MAGIC_ACCOUNT;
	t.b[1] = REC_VERSION + 1;
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	t.n = 0;
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	t.n = 1;
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	/* a lone tag at the end */
	tb_account(&t, 0);
	tb_raw(&t, &zero, 1);
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
}

/* A blob is never written empty: an empty one, required or not, is not a
 * record the encoder could have written (fuzz_store_rec found a certificate
 * with an empty DER that decoded, then would not encode). */
static void
test_decode_empty_blob(void **state)
{
	unsigned char hdr[2] = { REC_MAGIC_CERT, REC_VERSION }, reason[4] = { 0xff, 0xff, 0xff, 0xff };
	struct store_cert c;
	struct store_order o, o2;
	unsigned char *p;
	struct tb t;
	size_t n;
	int empty;

	(void)state;
	for (empty = 0; empty <= 1; empty++) {
		t.n = 0;
		tb_raw(&t, hdr, 2);
		tb_str(&t, CRT_SERIAL, "0a1b2c3d4e5f");
		tb_str(&t, CRT_ACCT, "AAAAAAAAAAAAAAAAAAAAAA");
		tb_str(&t, CRT_ORDER, "BBBBBBBBBBBBBBBBBBBBBB");
		tb_str(&t, CRT_DIR, "default");
		tb_i64(&t, CRT_ISSUED, 1700000000);
		tb_field(&t, CRT_DER, "\x30", empty ? 0 : 1);
		tb_field(&t, CRT_REASON, reason, 4);
		assert_int_equal(store_rec_decode_cert(t.b, t.n, &c), empty ? STORE_CORRUPT : STORE_OK);
		if (!empty) {
			assert_non_null(c.der);
			assert_int_equal(c.der_len, 1);
		}
		store_cert_free(&c);
	}
	/* An optional blob (the order's CSR) too. */
	fx_order(&o, 1, 1, 1700000000, 0);
	assert_int_equal(store_rec_encode_order(&o, &p, &n), STORE_OK);
	for (empty = 0; empty <= 1; empty++) {
		t.n = 0;
		tb_raw(&t, p, n);
		tb_field(&t, ORD_CSR, "\x30", empty ? 0 : 1);
		assert_int_equal(store_rec_decode_order(t.b, t.n, &o2), empty ? STORE_CORRUPT : STORE_OK);
		if (!empty)
			assert_int_equal(o2.csr_len, 1);
		store_order_free(&o2);
	}
	free(p);
}

static void
test_decode_lengths(void **state)
{
	static const unsigned char huge[] = { ACC_TOS_URL, 0xff, 0xff, 0xff, 0x7f };
	static const unsigned char five[] = { ACC_TOS_URL, 0x81, 0x80, 0x80, 0x80, 0x00 };
	static const unsigned char nonmin[] = { ACC_TOS_URL, 0x81, 0x00, 'a' };
	static const unsigned char unterminated[] = { ACC_TOS_URL, 0x81 };
	static const unsigned char past[] = { ACC_TOS_URL, 0x05, 'a', 'b' };
	struct tb t;

	(void)state;
	tb_account(&t, 0);
	tb_raw(&t, huge, sizeof(huge));
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	tb_account(&t, 0);
	tb_raw(&t, five, sizeof(five));
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	tb_account(&t, 0);
	tb_raw(&t, nonmin, sizeof(nonmin));
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	tb_account(&t, 0);
	tb_raw(&t, unterminated, sizeof(unterminated));
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
	tb_account(&t, 0);
	tb_raw(&t, past, sizeof(past));
	assert_int_equal(dec_acct(&t), STORE_CORRUPT);
}

static void
test_decode_list_caps(void **state)
{
	struct store_authz z;
	struct store_account a;
	unsigned char *p, *q;
	size_t n, i, extra_len;
	unsigned char chall[128];
	struct tb t;

	(void)state;
	/* a fifth challenge */
	fx_authz(&z, 1, 1, "example.org", 1, 0, 1);
	assert_int_equal(store_rec_encode_authz(&z, &p, &n), STORE_OK);
	assert_true(rec_find(p, n, REC_MAGIC_AUTHZ, AZ_CHALL, (const unsigned char **)&q, &extra_len) == STORE_OK);
	assert_true(extra_len < 128);   /* one length byte */
	memcpy(chall, q - 2, extra_len + 2);   /* tag, one length byte, value */
	q = malloc(n + extra_len + 2);
	memcpy(q, p, n);
	memcpy(q + n, chall, extra_len + 2);
	assert_int_equal(store_rec_decode_authz(q, n + extra_len + 2, &z), STORE_CORRUPT);
	assert_int_equal(z.nchall, 0);
	free(q);
	free(p);

	/* more contacts than a record may hold */
	tb_account(&t, 0);
	for (i = 0; i <= REC_VEC_MAX && t.n + 2 <= sizeof(t.b); i++)
		tb_field(&t, ACC_CONTACT, "", 0);
	if (i > REC_VEC_MAX) {
		assert_int_equal(store_rec_decode_account(t.b, t.n, &a), STORE_CORRUPT);
	} else {
		/* the buffer is too small to hold REC_VEC_MAX + 1: grow it */
		unsigned char *big = malloc(t.n + 2 * (REC_VEC_MAX + 1));
		size_t m = t.n;

		memcpy(big, t.b, t.n);
		for (; i <= REC_VEC_MAX; i++) {
			big[m++] = ACC_CONTACT;
			big[m++] = 0;
		}
		assert_int_equal(store_rec_decode_account(big, m, &a), STORE_CORRUPT);
		free(big);
	}
}

/* xorshift for reproducible mutations */
static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Decode bytes as every type and derive every index key: no crash, no leak. */
static void
decode_all(const unsigned char *p, size_t n)
{
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	struct st_key k;
	enum store_err rc;
	size_t i;

	rc = store_rec_decode_account(p, n, &a);
	assert_true(rc == STORE_OK || rc == STORE_CORRUPT);
	store_account_free(&a);
	rc = store_rec_decode_order(p, n, &o);
	assert_true(rc == STORE_OK || rc == STORE_CORRUPT);
	store_order_free(&o);
	rc = store_rec_decode_authz(p, n, &z);
	assert_true(rc == STORE_OK || rc == STORE_CORRUPT);
	store_authz_free(&z);
	rc = store_rec_decode_cert(p, n, &c);
	assert_true(rc == STORE_OK || rc == STORE_CORRUPT);
	store_cert_free(&c);
	for (i = 0; i < IDX__N; i++) {
		rc = store_idxs[i].derive(p, n, &k);
		assert_true(rc == STORE_OK || rc == STORE_NOTFOUND || rc == STORE_CORRUPT);
		if (rc == STORE_OK)
			assert_true(k.len > 0 && k.len <= ST_KEY_MAX);
	}
}

static void
encode_samples(unsigned char *p[4], size_t n[4])
{
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;

	fx_account(&a, 1, 1);
	fx_order(&o, 1, 1, 1700000000, 1);
	fx_authz(&z, 1, 1, "example.org", 1700000000, 1700000100, 1);
	fx_cert(&c, 1, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", 1);
	assert_int_equal(store_rec_encode_account(&a, &p[0], &n[0]), STORE_OK);
	assert_int_equal(store_rec_encode_order(&o, &p[1], &n[1]), STORE_OK);
	assert_int_equal(store_rec_encode_authz(&z, &p[2], &n[2]), STORE_OK);
	assert_int_equal(store_rec_encode_cert(&c, &p[3], &n[3]), STORE_OK);
}

/* Every prefix of every record, exactly sized so ASan sees overreads. */
static void
test_truncations(void **state)
{
	unsigned char *p[4], *cut;
	size_t n[4], i, len;

	(void)state;
	encode_samples(p, n);
	for (i = 0; i < 4; i++) {
		for (len = 0; len < n[i]; len++) {
			cut = malloc(len ? len : 1);
			memcpy(cut, p[i], len);
			decode_all(cut, len);
			free(cut);
		}
		free(p[i]);
	}
}

static void
test_mutations(void **state)
{
	unsigned char *p[4], *m;
	size_t n[4], i, j, k, len;

	(void)state;
	encode_samples(p, n);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 3000; j++) {
			len = n[i];
			m = malloc(len);
			memcpy(m, p[i], len);
			for (k = 0; k < 1 + rnd() % 4 && len > 2; k++) {
				switch (rnd() % 3) {
				case 0:
					m[2 + rnd() % (len - 2)] ^= (unsigned char)(1u << (rnd() % 8));
					break;
				case 1:
					m[2 + rnd() % (len - 2)] = (unsigned char)rnd();
					break;
				default:
					len -= rnd() % (len - 2);
					break;
				}
			}
			decode_all(m, len);
			free(m);
		}
		free(p[i]);
	}
}

static void
test_garbage(void **state)
{
	unsigned char buf[300];
	size_t i, j, len;

	(void)state;
	for (i = 0; i < 5000; i++) {
		len = rnd() % sizeof(buf);
		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)rnd();
		if (len >= 2) {
			buf[0] = "AOZC"[i % 4];
			buf[1] = REC_VERSION;
		}
		decode_all(buf, len);
	}
}

static void
test_ids_and_b64(void **state)
{
	store_id a, b;
	char out[8];

	(void)state;
	assert_int_equal(store_new_id(a), STORE_OK);
	assert_int_equal(store_new_id(b), STORE_OK);
	assert_int_equal(strlen(a), STORE_ID_LEN);
	assert_true(st_cs_ok(CS_ID, a, strlen(a)));
	assert_string_not_equal(a, b);
	st_b64url((const unsigned char *)"\xfb\xff", 2, out);
	assert_string_equal(out, "-_8");
	st_b64url((const unsigned char *)"abc", 3, out);
	assert_string_equal(out, "YWJj");
	assert_string_equal(store_strerror(STORE_CONFLICT), "transaction conflict");
	assert_string_equal(store_strerror((enum store_err)99), "unknown store error");
	assert_string_equal(store_status_name(STORE_ST_PENDING), "pending");
	assert_string_equal(store_status_name(STORE_ST_NONE), "");
}

static void
test_be64_order(void **state)
{
	static const int64_t v[] = { INT64_MIN, -2, -1, 0, 1, 1700000000, INT64_MAX };
	unsigned char a[8], b[8];
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof(v) / sizeof(v[0]); i++) {
		st_be64(a, v[i]);
		st_be64(b, v[i + 1]);
		assert_true(memcmp(a, b, 8) < 0);
		assert_int_equal(st_get_be64(a), v[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_roundtrip),
		cmocka_unit_test(test_order_roundtrip),
		cmocka_unit_test(test_authz_roundtrip),
		cmocka_unit_test(test_cert_roundtrip),
		cmocka_unit_test(test_empty_vs_null),
		cmocka_unit_test(test_encode_invalid),
		cmocka_unit_test(test_decode_minimal_and_required),
		cmocka_unit_test(test_decode_unknown_tags_skipped),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_empty_blob),
		cmocka_unit_test(test_decode_lengths),
		cmocka_unit_test(test_decode_list_caps),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_ids_and_b64),
		cmocka_unit_test(test_be64_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
