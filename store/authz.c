/* Authorization records with their challenges (a nested TLV per challenge).
 * Indexed by (account, identifier, created) and by due time. */
#include <stddef.h>

#include "store/internal.h"

#define T struct store_chall
static const struct rec_field chall_fields[] = {
	REC_U8(CH_TYPE, 1, T, type, STORE_CH_HTTP01, STORE_CH_TLSALPN01),
	REC_U8(CH_STATUS, 1, T, status, 1, STORE_ST__MAX - 1),
	REC_STR(CH_TOKEN, 1, T, token, CS_TOKEN),
	REC_F(CH_VALIDATED, RK_I64, 0, T, validated),
	REC_F(CH_KEYAUTH, RK_PSTR, 0, T, keyauth),
	REC_F(CH_ERROR, RK_PSTR, 0, T, error),
	REC_F(CH_ATTEMPTS, RK_U32, 0, T, attempts),
};
#undef T

const struct rec_type store_rt_chall = {
	0, "challenge", sizeof(struct store_chall), chall_fields,
	sizeof(chall_fields) / sizeof(chall_fields[0]),
};

#define T struct store_authz
static const struct rec_field authz_fields[] = {
	REC_STR(AZ_ID, 1, T, id, CS_ID),
	REC_STR(AZ_ACCT, 1, T, acct, CS_ID),
	REC_STR(AZ_DIR, 1, T, dir, CS_DIR),
	REC_F(AZ_IDENT, RK_IDENT, 1, T, ident),
	REC_U8(AZ_WILDCARD, 0, T, wildcard, 0, 1),
	REC_U8(AZ_STATUS, 1, T, status, 1, STORE_ST__MAX - 1),
	REC_F(AZ_CREATED, RK_I64, 1, T, created),
	REC_F(AZ_EXPIRES, RK_I64, 1, T, expires),
	REC_ARR(AZ_CHALL, RK_CHALLV, 0, T, chall, nchall),
	REC_F(AZ_DUE, RK_I64, 0, T, due),
	REC_F(AZ_CAA_CHECKED, RK_I64, 0, T, caa_checked),
	REC_U8(AZ_CAA_RECHECK, 0, T, caa_recheck, 0, 1),
	REC_F(AZ_CAA_ERROR, RK_PSTR, 0, T, caa_error),
	REC_U8(AZ_IN_FLIGHT, 0, T, in_flight, 0, 1),
};
#undef T

const struct rec_type store_rt_authz = {
	REC_MAGIC_AUTHZ, "authz", sizeof(struct store_authz), authz_fields,
	sizeof(authz_fields) / sizeof(authz_fields[0]),
};

enum store_err
store_rec_decode_authz(const unsigned char *p, size_t n, struct store_authz *out)
{
	return rec_decode(&store_rt_authz, p, n, out);
}

enum store_err
store_rec_encode_authz(const struct store_authz *z, unsigned char **out, size_t *n)
{
	return rec_encode(&store_rt_authz, z, out, n);
}

void
store_authz_free(struct store_authz *z)
{
	rec_free(&store_rt_authz, z);
}

enum store_err
store_authz_get(struct store_txn *t, const char *id, struct store_authz *out)
{
	return st_tbl_get(t, TBL_AUTHZ, id, out);
}

enum store_err
store_authz_put(struct store_txn *t, const struct store_authz *z, unsigned flags)
{
	return st_tbl_put(t, TBL_AUTHZ, z, flags);
}

enum store_err
store_authz_del(struct store_txn *t, const char *id)
{
	return st_tbl_del(t, TBL_AUTHZ, id);
}
