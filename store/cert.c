/* Certificate records, keyed by serial. Indexed by ARI CertID. */
#include <stddef.h>

#include "store/internal.h"

#define T struct store_cert
static const struct rec_field cert_fields[] = {
	REC_STR(CRT_SERIAL, 1, T, serial, CS_SERIAL),
	REC_STR(CRT_ACCT, 1, T, acct, CS_ID),
	REC_STR(CRT_ORDER, 1, T, order, CS_ID),
	REC_STR(CRT_DIR, 1, T, dir, CS_DIR),
	REC_F(CRT_ISSUED, RK_I64, 1, T, issued),
	REC_F(CRT_NOT_BEFORE, RK_I64, 0, T, not_before),
	REC_F(CRT_NOT_AFTER, RK_I64, 0, T, not_after),
	REC_VEC(CRT_DER, RK_BLOB, 1, T, der, der_len),
	REC_F(CRT_CHAIN, RK_PSTR, 0, T, chain),
	REC_STR(CRT_ARI, 0, T, ari, CS_ARI),
	REC_U8(CRT_REVOKED, 0, T, revoked, 0, 1),
	REC_F(CRT_REASON, RK_I32, 1, T, reason),   /* required: 0 is a reason, -1 none */
	REC_F(CRT_REVOKED_AT, RK_I64, 0, T, revoked_at),
	REC_STR(CRT_REPLACED_BY, 0, T, replaced_by, CS_ID),
	REC_F(CRT_PROFILE, RK_PSTR, 0, T, profile),
	REC_U8(CRT_UPSTREAM, 0, T, upstream, 0, 1),
	REC_F(CRT_ARI_START, RK_I64, 0, T, ari_start),
	REC_F(CRT_ARI_END, RK_I64, 0, T, ari_end),
	REC_F(CRT_ARI_FETCHED, RK_I64, 0, T, ari_fetched),
	REC_F(CRT_RENEW_START, RK_I64, 0, T, renew_start),
	REC_F(CRT_RENEW_END, RK_I64, 0, T, renew_end),
	REC_F(CRT_RENEW_WHY, RK_PSTR, 0, T, renew_why),
};
#undef T

const struct rec_type store_rt_cert = {
	REC_MAGIC_CERT, "cert", sizeof(struct store_cert), cert_fields,
	sizeof(cert_fields) / sizeof(cert_fields[0]),
};

enum store_err
store_rec_decode_cert(const unsigned char *p, size_t n, struct store_cert *out)
{
	return rec_decode(&store_rt_cert, p, n, out);
}

enum store_err
store_rec_encode_cert(const struct store_cert *c, unsigned char **out, size_t *n)
{
	return rec_encode(&store_rt_cert, c, out, n);
}

void
store_cert_free(struct store_cert *c)
{
	rec_free(&store_rt_cert, c);
}

enum store_err
store_cert_get(struct store_txn *t, const char *serial, struct store_cert *out)
{
	return st_tbl_get(t, TBL_CERT, serial, out);
}

enum store_err
store_cert_put(struct store_txn *t, const struct store_cert *c, unsigned flags)
{
	return st_tbl_put(t, TBL_CERT, c, flags);
}
