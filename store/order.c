/* Order records: TLV layout and typed access. Indexed by (account, created). */
#include <stddef.h>

#include "store/internal.h"

#define T struct store_order
static const struct rec_field order_fields[] = {
	REC_STR(ORD_ID, 1, T, id, CS_ID),
	REC_STR(ORD_ACCT, 1, T, acct, CS_ID),
	REC_STR(ORD_DIR, 1, T, dir, CS_DIR),
	REC_U8(ORD_STATUS, 1, T, status, 1, STORE_ST__MAX - 1),
	REC_F(ORD_CREATED, RK_I64, 1, T, created),
	REC_F(ORD_EXPIRES, RK_I64, 1, T, expires),
	REC_F(ORD_NOT_BEFORE, RK_I64, 0, T, not_before),
	REC_F(ORD_NOT_AFTER, RK_I64, 0, T, not_after),
	REC_VEC(ORD_IDENT, RK_IDENTV, 0, T, ident, nident),
	REC_VEC(ORD_AUTHZ, RK_IDV, 0, T, authz, nauthz),
	REC_F(ORD_PROFILE, RK_PSTR, 0, T, profile),
	REC_F(ORD_ERROR, RK_PSTR, 0, T, error),
	REC_STR(ORD_CERT, 0, T, cert, CS_SERIAL),
	REC_F(ORD_REPLACES, RK_PSTR, 0, T, replaces),
	REC_VEC(ORD_CSR, RK_BLOB, 0, T, csr, csr_len),
	REC_F(ORD_RETRY_AFTER, RK_I64, 0, T, retry_after),
};
#undef T

const struct rec_type store_rt_order = {
	REC_MAGIC_ORDER, "order", sizeof(struct store_order), order_fields,
	sizeof(order_fields) / sizeof(order_fields[0]),
};

enum store_err
store_rec_decode_order(const unsigned char *p, size_t n, struct store_order *out)
{
	return rec_decode(&store_rt_order, p, n, out);
}

enum store_err
store_rec_encode_order(const struct store_order *o, unsigned char **out, size_t *n)
{
	return rec_encode(&store_rt_order, o, out, n);
}

void
store_order_free(struct store_order *o)
{
	rec_free(&store_rt_order, o);
}

enum store_err
store_order_get(struct store_txn *t, const char *id, struct store_order *out)
{
	return st_tbl_get(t, TBL_ORDER, id, out);
}

enum store_err
store_order_put(struct store_txn *t, const struct store_order *o, unsigned flags)
{
	return st_tbl_put(t, TBL_ORDER, o, flags);
}

enum store_err
store_order_del(struct store_txn *t, const char *id)
{
	return st_tbl_del(t, TBL_ORDER, id);
}
