/* Account records: TLV layout and typed access. Indexed by (thumb, dir). */
#include <stddef.h>

#include "store/internal.h"

#define T struct store_account
static const struct rec_field account_fields[] = {
	REC_STR(ACC_ID, 1, T, id, CS_ID),
	REC_STR(ACC_DIR, 1, T, dir, CS_DIR),
	REC_U8(ACC_STATUS, 1, T, status, 1, STORE_ST__MAX - 1),
	REC_F(ACC_CREATED, RK_I64, 1, T, created),
	REC_F(ACC_JWK, RK_PSTR, 1, T, jwk),
	REC_STR(ACC_THUMB, 1, T, thumb, CS_THUMB),
	REC_VEC(ACC_CONTACT, RK_PSTRV, 0, T, contact, ncontact),
	REC_F(ACC_TOS_AGREED, RK_I64, 0, T, tos_agreed),
	REC_F(ACC_TOS_URL, RK_PSTR, 0, T, tos_url),
	REC_F(ACC_EAB_KID, RK_PSTR, 0, T, eab_kid),
	REC_F(ACC_EAB_JWS, RK_PSTR, 0, T, eab_jws),
	REC_F(ACC_KEY_VERSION, RK_U32, 0, T, key_version),
};
#undef T

const struct rec_type store_rt_account = {
	REC_MAGIC_ACCOUNT, "account", sizeof(struct store_account), account_fields,
	sizeof(account_fields) / sizeof(account_fields[0]),
};

enum store_err
store_rec_decode_account(const unsigned char *p, size_t n, struct store_account *out)
{
	return rec_decode(&store_rt_account, p, n, out);
}

enum store_err
store_rec_encode_account(const struct store_account *a, unsigned char **out, size_t *n)
{
	return rec_encode(&store_rt_account, a, out, n);
}

void
store_account_free(struct store_account *a)
{
	rec_free(&store_rt_account, a);
}

enum store_err
store_account_get(struct store_txn *t, const char *id, struct store_account *out)
{
	return st_tbl_get(t, TBL_ACCOUNT, id, out);
}

enum store_err
store_account_put(struct store_txn *t, const struct store_account *a, unsigned flags)
{
	return st_tbl_put(t, TBL_ACCOUNT, a, flags);
}

enum store_err
store_account_del(struct store_txn *t, const char *id)
{
	return st_tbl_del(t, TBL_ACCOUNT, id);
}
