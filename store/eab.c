/* External Account Binding keys (RFC 8555 section 7.3.4), keyed by kid. No
 * secondary index: the server looks a key up by the kid the client sends,
 * and acme-admin lists the whole (small) table. */
#include <stddef.h>

#include "store/internal.h"

#define T struct store_eab
static const struct rec_field eab_fields[] = {
	REC_STR(EAB_KID, 1, T, kid, CS_KID),
	REC_STR(EAB_DIR, 1, T, dir, CS_DIR),
	REC_BYTES(EAB_KEY, 1, T, key, key_len),   /* the HMAC key: 1..64 bytes */
	REC_F(EAB_CREATED, RK_I64, 1, T, created),
	REC_F(EAB_EXPIRES, RK_I64, 0, T, expires),
	REC_U8(EAB_REUSABLE, 0, T, reusable, 0, 1),
	REC_U8(EAB_REVOKED, 0, T, revoked, 0, 1),
	REC_F(EAB_USES, RK_U32, 0, T, uses),
	REC_STR(EAB_ACCOUNT, 0, T, account, CS_ID),
	REC_F(EAB_NOTE, RK_PSTR, 0, T, note),
};
#undef T

const struct rec_type store_rt_eab = {
	REC_MAGIC_EAB, "eab", sizeof(struct store_eab), eab_fields,
	sizeof(eab_fields) / sizeof(eab_fields[0]),
};

enum store_err
store_rec_decode_eab(const unsigned char *p, size_t n, struct store_eab *out)
{
	return rec_decode(&store_rt_eab, p, n, out);
}

enum store_err
store_rec_encode_eab(const struct store_eab *e, unsigned char **out, size_t *n)
{
	return rec_encode(&store_rt_eab, e, out, n);
}

/* Also wipes the HMAC key (rec_free zeroes the whole struct). */
void
store_eab_free(struct store_eab *e)
{
	rec_free(&store_rt_eab, e);
}

enum store_err
store_eab_get(struct store_txn *t, const char *kid, struct store_eab *out)
{
	return st_tbl_get(t, TBL_EAB, kid, out);
}

enum store_err
store_eab_put(struct store_txn *t, const struct store_eab *e, unsigned flags)
{
	return st_tbl_put(t, TBL_EAB, e, flags);
}

enum store_err
store_eab_del(struct store_txn *t, const char *kid)
{
	return st_tbl_del(t, TBL_EAB, kid);
}
