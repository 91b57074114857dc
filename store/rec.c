/*
 * The record codec: a versioned tag-length-value encoding driven by a field
 * table per record type (account.c, order.c, authz.c, cert.c, eab.c).
 *
 *   record = magic (1) version (1) field*
 *   field  = tag (1) length (LEB128, 1..4 bytes, minimal) value (length bytes)
 *
 * Integers are big-endian two's complement of their exact width (u8 1, u32
 * and i32 4, i64 8). Strings carry no NUL. Fixed byte arrays (RK_BYTES) carry
 * 1..capacity bytes. Zero scalars, empty strings and
 * NULL pointers of optional fields are left out; lists repeat their tag.
 *
 * Decoding trusts nothing: every length is checked against what remains,
 * unknown tags are skipped (newer writers), a known tag that is not a list
 * must not repeat, required fields must be present, strings must fit their
 * arrays and obey their charset, enums their range; anything else is
 * STORE_CORRUPT with nothing leaked.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "store/internal.h"

#define MEMBER(base, f, type) ((type *)(void *)((unsigned char *)(base) + (f)->off))
#define COUNT(base, f) ((size_t *)(void *)((unsigned char *)(base) + (f)->off2))
#define CMEMBER(base, f, type) ((const type *)(const void *)((const unsigned char *)(base) + (f)->off))
#define CCOUNT(base, f) (*(const size_t *)(const void *)((const unsigned char *)(base) + (f)->off2))

/* ------------------------------------------------------------------ */
/* Reading */

struct rd {
	const unsigned char *p;
	size_t n;
};

static enum store_err
rd_field(struct rd *r, uint8_t *tag, const unsigned char **v, size_t *vlen)
{
	size_t len = 0;
	unsigned i;
	unsigned char b;

	if (r->n < 2)
		return STORE_CORRUPT;
	*tag = r->p[0];
	r->p++, r->n--;
	for (i = 0;; i++) {
		if (i == 4 || r->n == 0)
			return STORE_CORRUPT;
		b = *r->p++;
		r->n--;
		len |= (size_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			if (i > 0 && b == 0)
				return STORE_CORRUPT;   /* not minimal */
			break;
		}
	}
	if (len > r->n)
		return STORE_CORRUPT;
	*v = r->p;
	*vlen = len;
	r->p += len;
	r->n -= len;
	return STORE_OK;
}

static enum store_err
rd_header(struct rd *r, uint8_t magic)
{
	if (magic == 0)
		return STORE_OK;
	if (r->n < 2 || r->p[0] != magic || r->p[1] != REC_VERSION)
		return STORE_CORRUPT;
	r->p += 2;
	r->n -= 2;
	return STORE_OK;
}

enum store_err
rec_find(const unsigned char *p, size_t n, uint8_t magic, uint8_t tag,
    const unsigned char **v, size_t *vlen)
{
	struct rd r = { p, n };
	uint8_t t = 0;
	enum store_err rc = STORE_CORRUPT;

	if (p == NULL || rd_header(&r, magic) != STORE_OK)
		goto out;
	rc = STORE_NOTFOUND;
	while (r.n > 0 && rc == STORE_NOTFOUND) {
		if ((rc = rd_field(&r, &t, v, vlen)) == STORE_OK && t != tag)
			rc = STORE_NOTFOUND;
	}
out:
	return rc;
}

static uint64_t
get_uint(const unsigned char *v, size_t n)
{
	uint64_t u = 0;
	size_t i;

	for (i = 0; i < n; i++)
		u = u << 8 | v[i];
	return u;
}

int64_t
rec_i64(const unsigned char *v)
{
	return (int64_t)get_uint(v, 8);
}

static char *
dup_bytes(const unsigned char *v, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, v, n);
		s[n] = '\0';
	}
	return s;
}

static int
no_nul(const unsigned char *v, size_t n)
{
	return n <= REC_STR_MAX && memchr(v, '\0', n) == NULL;
}

/* Grow a list member by one element of size sz; the new slot is zeroed. */
static enum store_err
vec_grow(void **arr, size_t count, size_t sz)
{
	void *p;

	if (count >= REC_VEC_MAX)
		return STORE_CORRUPT;
	if ((p = realloc(*arr, (count + 1) * sz)) == NULL)
		return STORE_NOMEM;
	memset((unsigned char *)p + count * sz, 0, sz);
	*arr = p;
	return STORE_OK;
}

static enum store_err
ident_dec(const unsigned char *v, size_t n, struct store_ident *id)
{
	if (n < 2 || n - 1 > REC_IDENT_MAX || (v[0] != STORE_IDENT_DNS && v[0] != STORE_IDENT_IP) ||
	    !no_nul(v + 1, n - 1))
		return STORE_CORRUPT;
	if ((id->value = dup_bytes(v + 1, n - 1)) == NULL)
		return STORE_NOMEM;
	id->type = v[0];
	return STORE_OK;
}

static enum store_err rec_decode_fields(const struct rec_type *rt, const unsigned char *p,
    size_t n, void *out);

static enum store_err
dec_field(const struct rec_field *f, const unsigned char *v, size_t n, void *base)
{
	size_t *cnt = COUNT(base, f);
	enum store_err rc;

	switch (f->kind) {
	case RK_U8:
		if (n != 1 || v[0] < f->lo || v[0] > f->hi)
			return STORE_CORRUPT;
		*MEMBER(base, f, uint8_t) = v[0];
		return STORE_OK;
	case RK_U32:
	case RK_I32:
		if (n != 4)
			return STORE_CORRUPT;
		*MEMBER(base, f, uint32_t) = (uint32_t)get_uint(v, 4);
		return STORE_OK;
	case RK_I64:
		if (n != 8)
			return STORE_CORRUPT;
		*MEMBER(base, f, int64_t) = (int64_t)get_uint(v, 8);
		return STORE_OK;
	case RK_STR:
		if (n >= f->size || !st_cs_ok(f->cs, (const char *)v, n))
			return STORE_CORRUPT;
		memcpy(MEMBER(base, f, char), v, n);
		MEMBER(base, f, char)[n] = '\0';
		return STORE_OK;
	case RK_PSTR:
		if (!no_nul(v, n))
			return STORE_CORRUPT;
		if ((*MEMBER(base, f, char *) = dup_bytes(v, n)) == NULL)
			return STORE_NOMEM;
		return STORE_OK;
	case RK_BLOB:
		/* Never written empty (an empty blob is left out), and a required
		 * one must not decode to NULL: rec_encode would refuse the record
		 * (tests/fuzz/regress/store_rec). */
		if (n == 0 || n > REC_STR_MAX)
			return STORE_CORRUPT;
		if ((*MEMBER(base, f, unsigned char *) = malloc(n)) == NULL)
			return STORE_NOMEM;
		memcpy(*MEMBER(base, f, unsigned char *), v, n);
		*cnt = n;
		return STORE_OK;
	case RK_BYTES:
		if (n == 0 || n > f->size)
			return STORE_CORRUPT;
		memcpy(MEMBER(base, f, unsigned char), v, n);
		*cnt = n;
		return STORE_OK;
	case RK_PSTRV: {
		char ***arr = MEMBER(base, f, char **);

		if (!no_nul(v, n))
			return STORE_CORRUPT;
		if ((rc = vec_grow((void **)arr, *cnt, sizeof(char *))) != STORE_OK)
			return rc;
		if (((*arr)[*cnt] = dup_bytes(v, n)) == NULL)
			return STORE_NOMEM;
		(*cnt)++;
		return STORE_OK;
	}
	case RK_IDV: {
		store_id **arr = MEMBER(base, f, store_id *);

		if (!st_cs_ok(CS_ID, (const char *)v, n))
			return STORE_CORRUPT;
		if ((rc = vec_grow((void **)arr, *cnt, sizeof(store_id))) != STORE_OK)
			return rc;
		memcpy((*arr)[*cnt], v, n);
		(*arr)[*cnt][n] = '\0';
		(*cnt)++;
		return STORE_OK;
	}
	case RK_IDENT:
		return ident_dec(v, n, MEMBER(base, f, struct store_ident));
	case RK_IDENTV: {
		struct store_ident **arr = MEMBER(base, f, struct store_ident *);

		if ((rc = vec_grow((void **)arr, *cnt, sizeof(**arr))) != STORE_OK)
			return rc;
		if ((rc = ident_dec(v, n, &(*arr)[*cnt])) != STORE_OK)
			return rc;
		(*cnt)++;
		return STORE_OK;
	}
	case RK_CHALLV:
		if (*cnt >= f->size)
			return STORE_CORRUPT;
		rc = rec_decode_fields(&store_rt_chall, v, n, &MEMBER(base, f, struct store_chall)[*cnt]);
		if (rc == STORE_OK)
			(*cnt)++;
		return rc;
	}
	return STORE_CORRUPT;
}

static int
is_list(const struct rec_field *f)
{
	return f->kind == RK_PSTRV || f->kind == RK_IDV || f->kind == RK_IDENTV ||
	    f->kind == RK_CHALLV;
}

static const struct rec_field *
find_field(const struct rec_type *rt, uint8_t tag)
{
	size_t i;

	if (tag >= 64)
		return NULL;   /* the seen-mask holds tags 0..63 */
	for (i = 0; i < rt->nf; i++)
		if (rt->f[i].tag == tag)
			return &rt->f[i];
	return NULL;
}

/* Decode fields into out, which the caller zeroed; on error out may hold
 * partial heap members (the caller frees). Tags of a table are < 64. */
static enum store_err
rec_decode_fields(const struct rec_type *rt, const unsigned char *p, size_t n, void *out)
{
	struct rd r = { p, n };
	const struct rec_field *f;
	const unsigned char *v;
	uint64_t seen = 0;
	uint8_t tag;
	size_t vlen, i;
	enum store_err rc;

	if ((rc = rd_header(&r, rt->magic)) != STORE_OK)
		return rc;
	while (r.n > 0) {
		if ((rc = rd_field(&r, &tag, &v, &vlen)) != STORE_OK)
			return rc;
		if ((f = find_field(rt, tag)) == NULL)
			continue;
		if ((seen & (UINT64_C(1) << tag)) != 0 && !is_list(f))
			return STORE_CORRUPT;
		seen |= UINT64_C(1) << tag;
		if ((rc = dec_field(f, v, vlen, out)) != STORE_OK)
			return rc;
	}
	for (i = 0; i < rt->nf; i++)
		if (rt->f[i].req && (seen & (UINT64_C(1) << rt->f[i].tag)) == 0)
			return STORE_CORRUPT;
	return STORE_OK;
}

enum store_err
rec_decode(const struct rec_type *rt, const unsigned char *p, size_t n, void *out)
{
	enum store_err rc = STORE_CORRUPT;

	memset(out, 0, rt->size);
	if (p != NULL && (rc = rec_decode_fields(rt, p, n, out)) != STORE_OK)
		rec_free(rt, out);
	return rc;
}

void
rec_free(const struct rec_type *rt, void *rec)
{
	const struct rec_field *f;
	size_t i, j, n;

	for (i = 0; rec != NULL && i < rt->nf; i++) {
		f = &rt->f[i];
		switch (f->kind) {
		case RK_PSTR:
			free(*MEMBER(rec, f, char *));
			break;
		case RK_BLOB:
		case RK_IDV:
			free(*MEMBER(rec, f, void *));
			break;
		case RK_PSTRV:
			n = *COUNT(rec, f);
			for (j = 0; *MEMBER(rec, f, char **) != NULL && j < n; j++)
				free((*MEMBER(rec, f, char **))[j]);
			free(*MEMBER(rec, f, char **));
			break;
		case RK_IDENT:
			free(MEMBER(rec, f, struct store_ident)->value);
			break;
		case RK_IDENTV:
			n = *COUNT(rec, f);
			for (j = 0; *MEMBER(rec, f, struct store_ident *) != NULL && j < n; j++)
				free((*MEMBER(rec, f, struct store_ident *))[j].value);
			free(*MEMBER(rec, f, struct store_ident *));
			break;
		case RK_CHALLV:
			for (j = 0; j < f->size; j++)
				rec_free(&store_rt_chall, &MEMBER(rec, f, struct store_chall)[j]);
			break;
		default:
			break;
		}
	}
	if (rec != NULL)
		memset(rec, 0, rt->size);
}

/* ------------------------------------------------------------------ */
/* Writing */

struct wb {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void
wb_put(struct wb *b, const void *v, size_t n)
{
	unsigned char *np;
	size_t cap;

	if (b->oom)
		return;
	if (n > b->cap - b->len) {
		cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, v, n);
	b->len += n;
}

/* Tag and length; the value follows with wb_put. */
static void
wb_hdr(struct wb *b, uint8_t tag, size_t n)
{
	unsigned char hdr[6];
	size_t h = 0;

	hdr[h++] = tag;
	do {
		hdr[h] = n & 0x7f;
		n >>= 7;
		if (n != 0)
			hdr[h] |= 0x80;
		h++;
	} while (n != 0);
	wb_put(b, hdr, h);
}

static void
wb_tlv(struct wb *b, uint8_t tag, const void *v, size_t n)
{
	wb_hdr(b, tag, n);
	wb_put(b, v, n);
}

static void
wb_uint(struct wb *b, uint8_t tag, uint64_t u, size_t width)
{
	unsigned char v[8];
	size_t i;

	for (i = width; i > 0; i--) {
		v[i - 1] = (unsigned char)u;
		u >>= 8;
	}
	wb_tlv(b, tag, v, width);
}

static int
ident_ok(const struct store_ident *id)
{
	size_t n;

	if ((id->type != STORE_IDENT_DNS && id->type != STORE_IDENT_IP) || id->value == NULL)
		return 0;
	n = strlen(id->value);
	return n >= 1 && n <= REC_IDENT_MAX;
}

static void
wb_ident(struct wb *b, uint8_t tag, const struct store_ident *id)
{
	size_t n = strlen(id->value);

	wb_hdr(b, tag, n + 1);
	wb_put(b, &id->type, 1);
	wb_put(b, id->value, n);
}

static enum store_err rec_encode_fields(const struct rec_type *rt, const void *in, struct wb *b);

/* Append field f of in; STORE_INVAL if it breaks its rule. */
static enum store_err
enc_field(const struct rec_field *f, const void *in, struct wb *b)
{
	size_t n, i, cnt = 0;
	enum store_err rc;

	if (f->kind == RK_BLOB || f->kind == RK_BYTES || is_list(f))
		cnt = CCOUNT(in, f);
	switch (f->kind) {
	case RK_U8: {
		uint8_t u = *CMEMBER(in, f, uint8_t);

		if (u < f->lo || u > f->hi)
			return STORE_INVAL;
		if (u != 0 || f->req)
			wb_uint(b, f->tag, u, 1);
		return STORE_OK;
	}
	case RK_U32:
	case RK_I32:
		if (*CMEMBER(in, f, uint32_t) != 0 || f->req)
			wb_uint(b, f->tag, *CMEMBER(in, f, uint32_t), 4);
		return STORE_OK;
	case RK_I64:
		if (*CMEMBER(in, f, int64_t) != 0 || f->req)
			wb_uint(b, f->tag, (uint64_t)*CMEMBER(in, f, int64_t), 8);
		return STORE_OK;
	case RK_STR:
		n = strnlen(CMEMBER(in, f, char), f->size);
		if (n == f->size || (n == 0 && f->req))
			return STORE_INVAL;
		if (n == 0)
			return STORE_OK;
		if (!st_cs_ok(f->cs, CMEMBER(in, f, char), n))
			return STORE_INVAL;
		wb_tlv(b, f->tag, CMEMBER(in, f, char), n);
		return STORE_OK;
	case RK_PSTR: {
		const char *s = *CMEMBER(in, f, char *);

		if (s == NULL)
			return f->req ? STORE_INVAL : STORE_OK;
		if ((n = strlen(s)) > REC_STR_MAX)
			return STORE_INVAL;
		wb_tlv(b, f->tag, s, n);
		return STORE_OK;
	}
	case RK_BLOB: {
		const unsigned char *p = *CMEMBER(in, f, unsigned char *);

		if (p == NULL || cnt == 0)
			return f->req ? STORE_INVAL : STORE_OK;
		if (cnt > REC_STR_MAX)
			return STORE_INVAL;
		wb_tlv(b, f->tag, p, cnt);
		return STORE_OK;
	}
	case RK_BYTES:
		if (cnt == 0)
			return f->req ? STORE_INVAL : STORE_OK;
		if (cnt > f->size)
			return STORE_INVAL;
		wb_tlv(b, f->tag, CMEMBER(in, f, unsigned char), cnt);
		return STORE_OK;
	default:
		break;
	}

	/* Lists and identifiers. */
	if (f->kind == RK_IDENT) {
		if (!ident_ok(CMEMBER(in, f, struct store_ident)))
			return STORE_INVAL;
		wb_ident(b, f->tag, CMEMBER(in, f, struct store_ident));
		return STORE_OK;
	}
	if (cnt > REC_VEC_MAX || (f->kind == RK_CHALLV && cnt > f->size) ||
	    (cnt > 0 && f->kind != RK_CHALLV && *CMEMBER(in, f, void *) == NULL))
		return STORE_INVAL;
	for (i = 0; i < cnt; i++) {
		switch (f->kind) {
		case RK_PSTRV: {
			const char *s = (*CMEMBER(in, f, char **))[i];

			if (s == NULL || (n = strlen(s)) > REC_STR_MAX)
				return STORE_INVAL;
			wb_tlv(b, f->tag, s, n);
			break;
		}
		case RK_IDV: {
			const char *id = (*CMEMBER(in, f, store_id *))[i];

			n = strnlen(id, sizeof(store_id));
			if (!st_cs_ok(CS_ID, id, n))
				return STORE_INVAL;
			wb_tlv(b, f->tag, id, n);
			break;
		}
		case RK_IDENTV: {
			const struct store_ident *id = &(*CMEMBER(in, f, struct store_ident *))[i];

			if (!ident_ok(id))
				return STORE_INVAL;
			wb_ident(b, f->tag, id);
			break;
		}
		case RK_CHALLV: {
			struct wb sub = { NULL, 0, 0, 0 };

			rc = rec_encode_fields(&store_rt_chall, &CMEMBER(in, f, struct store_chall)[i], &sub);
			if (rc == STORE_OK && sub.oom)
				rc = STORE_NOMEM;
			if (rc == STORE_OK)
				wb_tlv(b, f->tag, sub.p, sub.len);
			free(sub.p);
			if (rc != STORE_OK)
				return rc;
			break;
		}
		default:
			return STORE_INVAL;
		}
	}
	return STORE_OK;
}

static enum store_err
rec_encode_fields(const struct rec_type *rt, const void *in, struct wb *b)
{
	size_t i;
	enum store_err rc;

	for (i = 0; i < rt->nf; i++) {
		if ((rc = enc_field(&rt->f[i], in, b)) != STORE_OK) {
			if (rc == STORE_INVAL)
				store_log(LOG_ERR, "%s: field %u is missing or invalid", rt->name,
				    rt->f[i].tag);
			return rc;
		}
	}
	return STORE_OK;
}

enum store_err
rec_encode(const struct rec_type *rt, const void *in, unsigned char **out, size_t *outlen)
{
	struct wb b = { NULL, 0, 0, 0 };
	unsigned char hdr[2] = { rt->magic, REC_VERSION };
	enum store_err rc = STORE_INVAL;

	*out = NULL;
	*outlen = 0;
	if (in == NULL)
		goto out;
	wb_put(&b, hdr, sizeof(hdr));
	if ((rc = rec_encode_fields(rt, in, &b)) != STORE_OK)
		goto out;
	if (b.oom) {
		rc = STORE_NOMEM;
		goto out;
	}
	*out = b.p;
	*outlen = b.len;
	b.p = NULL;
out:
	free(b.p);
	return rc;
}
