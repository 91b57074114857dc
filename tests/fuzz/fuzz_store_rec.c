/*
 * The store's record codec (store/rec.c) and the secondary-index callbacks
 * (store/index.c), which read the same bytes in place without decoding.
 * Every input goes through every decoder and every derive function. When a
 * record decodes:
 *   - encoding it gives a record that decodes, and encodes to the same
 *     bytes again (what a read-modify-write of a stored record does);
 *   - each index of its table derives the key that the decoded fields
 *     give, never STORE_CORRUPT (else a put or delete of it would fail).
 * On failure the output struct must be all zeros (nothing leaked).
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "tests/fuzz/fuzzlib.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* The key index ix derives from rec, checked for sanity; its code. */
static enum store_err
derive(enum st_idx ix, const unsigned char *rec, size_t len, struct st_key *k)
{
	enum store_err rc;

	memset(k, 0, sizeof(*k));
	rc = store_idxs[ix].derive(rec, len, k);
	FZ_CHECK(rc == STORE_OK || rc == STORE_NOTFOUND || rc == STORE_CORRUPT);
	if (rc == STORE_OK) {
		FZ_CHECK(k->len > 0);
		if (k->ptr == k->buf)
			FZ_CHECK(k->len <= sizeof(k->buf));
		else
			FZ_CHECK(k->ptr >= rec && k->ptr + k->len <= rec + len);
	}
	return rc;
}

static void
expect_key(enum st_idx ix, const unsigned char *rec, size_t len, const unsigned char *want,
    size_t wlen)
{
	struct st_key k;

	if (want == NULL) {
		FZ_CHECK(derive(ix, rec, len, &k) == STORE_NOTFOUND);
		return;
	}
	FZ_CHECK(derive(ix, rec, len, &k) == STORE_OK);
	FZ_CHECK(k.len == wlen && memcmp(k.ptr, want, wlen) == 0);
}

/* The index keys the decoded record r (of table tb) must have. */
static void
check_indexes(enum st_tbl tb, const void *r, const unsigned char *rec, size_t len)
{
	unsigned char want[ST_KEY_MAX];
	size_t n;

	switch (tb) {
	case TBL_ACCOUNT: {
		const struct store_account *a = r;

		memcpy(want, a->thumb, STORE_THUMB_LEN);
		want[STORE_THUMB_LEN] = 0;
		n = strlen(a->dir);
		memcpy(want + STORE_THUMB_LEN + 1, a->dir, n);
		expect_key(IDX_ACCT_THUMB, rec, len, want, STORE_THUMB_LEN + 1 + n);
		break;
	}
	case TBL_ORDER: {
		const struct store_order *o = r;

		memcpy(want, o->acct, STORE_ID_LEN);
		st_be64(want + STORE_ID_LEN, o->created);
		memcpy(want + STORE_ID_LEN + 8, o->id, STORE_ID_LEN);
		expect_key(IDX_ORDER_ACCT, rec, len, want, 2 * STORE_ID_LEN + 8);
		break;
	}
	case TBL_AUTHZ: {
		const struct store_authz *z = r;
		size_t i;

		memcpy(want, z->acct, STORE_ID_LEN);
		want[STORE_ID_LEN] = z->ident.type;
		n = strlen(z->ident.value);
		memcpy(want + STORE_ID_LEN + 1, z->ident.value, n);
		want[STORE_ID_LEN + 1 + n] = 0;
		st_be64(want + STORE_ID_LEN + 2 + n, z->created);
		for (i = 0; i < 8; i++)
			want[STORE_ID_LEN + 2 + n + i] ^= 0xff;
		expect_key(IDX_AUTHZ_IDENT, rec, len, want, STORE_ID_LEN + 2 + n + 8);
		st_be64(want, z->due);
		memcpy(want + 8, z->id, STORE_ID_LEN);
		expect_key(IDX_AUTHZ_DUE, rec, len, z->due > 0 ? want : NULL, 8 + STORE_ID_LEN);
		break;
	}
	case TBL_CERT: {
		const struct store_cert *c = r;

		expect_key(IDX_CERT_ARI, rec, len, c->ari[0] ? (const unsigned char *)c->ari : NULL,
		    strlen(c->ari));
		n = strlen(c->dir);
		memcpy(want, c->dir, n);
		want[n] = 0;
		memcpy(want + n + 1, c->serial, strlen(c->serial));
		expect_key(IDX_CERT_REVOKED, rec, len, c->revoked ? want : NULL,
		    n + 1 + strlen(c->serial));
		break;
	}
	default:
		break;
	}
}

/* Decode as type tb; on success re-encode and compare. */
static void
one_type(enum st_tbl tb, const uint8_t *data, size_t size)
{
	const struct rec_type *rt = store_tbls[tb].rt;
	unsigned char *enc = NULL, *enc2 = NULL;
	size_t elen = 0, elen2 = 0;
	void *r = calloc(1, rt->size), *r2 = calloc(1, rt->size);
	enum store_err rc;

	FZ_CHECK(r != NULL && r2 != NULL);
	memset(r, 0xa5, rt->size);   /* decode must zero it first */
	rc = rec_decode(rt, data, size, r);
	FZ_CHECK(rc == STORE_OK || rc == STORE_CORRUPT);
	if (rc != STORE_OK) {
		FZ_CHECK(all_zero(r, rt->size));
		goto out;
	}
	check_indexes(tb, r, data, size);
	FZ_CHECK(rec_encode(rt, r, &enc, &elen) == STORE_OK);
	FZ_CHECK(rec_decode(rt, enc, elen, r2) == STORE_OK);
	check_indexes(tb, r2, enc, elen);
	FZ_CHECK(rec_encode(rt, r2, &enc2, &elen2) == STORE_OK);
	FZ_CHECK(elen == elen2 && memcmp(enc, enc2, elen) == 0);
	FZ_CHECK(elen <= size);   /* the canonical form is never longer */
out:
	rec_free(rt, r);
	rec_free(rt, r2);
	free(r);
	free(r2);
	free(enc);
	free(enc2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan catches a read past the end. */
	unsigned char *rec = size > 0 ? malloc(size) : NULL;
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	struct store_eab e;
	struct store_chall ch;
	struct st_key k;
	const unsigned char *v;
	size_t vlen, i;
	int t;

	if (size > 0) {
		FZ_CHECK(rec != NULL);
		memcpy(rec, data, size);
	}
	/* The typed entry points. */
	if (store_rec_decode_account(rec, size, &a) == STORE_OK)
		store_account_free(&a);
	if (store_rec_decode_order(rec, size, &o) == STORE_OK)
		store_order_free(&o);
	if (store_rec_decode_authz(rec, size, &z) == STORE_OK)
		store_authz_free(&z);
	if (store_rec_decode_cert(rec, size, &c) == STORE_OK)
		store_cert_free(&c);
	if (store_rec_decode_eab(rec, size, &e) == STORE_OK)
		store_eab_free(&e);
	/* A challenge is nested, without a header. */
	if (rec_decode(&store_rt_chall, rec, size, &ch) == STORE_OK)
		rec_free(&store_rt_chall, &ch);

	for (t = 0; t < TBL__N; t++)
		if (store_tbls[t].rt != NULL)
			one_type((enum st_tbl)t, rec, size);
	for (i = 0; i < IDX__N; i++)
		(void)derive((enum st_idx)i, rec, size, &k);
	if (size > 0)
		(void)rec_find(rec, size, rec[0], size > 2 ? rec[2] : 1, &v, &vlen);
	free(rec);
	return 0;
}
