/*
 * Blocked keys: public keys reported compromised, keyed by the base64url
 * SHA-256 of their DER SubjectPublicKeyInfo. Server-wide (a compromised key
 * is compromised for every directory); no secondary index: the server asks
 * for one hash at a time, and acme-admin lists the whole (small) table.
 */
#include <stddef.h>

#include "store/internal.h"

#define T struct store_blocked_key
static const struct rec_field blocked_key_fields[] = {
	REC_STR(BK_HASH, 1, T, hash, CS_THUMB),
	REC_F(BK_CREATED, RK_I64, 1, T, created),
	REC_STR(BK_SERIAL, 1, T, serial, CS_SERIAL),
	REC_STR(BK_DIR, 1, T, dir, CS_DIR),
};
#undef T

const struct rec_type store_rt_blocked_key = {
	REC_MAGIC_BLOCKED_KEY, "blocked_key", sizeof(struct store_blocked_key), blocked_key_fields,
	sizeof(blocked_key_fields) / sizeof(blocked_key_fields[0]),
};

enum store_err
store_rec_decode_blocked_key(const unsigned char *p, size_t n, struct store_blocked_key *out)
{
	return rec_decode(&store_rt_blocked_key, p, n, out);
}

enum store_err
store_rec_encode_blocked_key(const struct store_blocked_key *b, unsigned char **out, size_t *n)
{
	return rec_encode(&store_rt_blocked_key, b, out, n);
}

void
store_blocked_key_free(struct store_blocked_key *b)
{
	rec_free(&store_rt_blocked_key, b);
}

enum store_err
store_blocked_key_get(struct store_txn *t, const char *hash, struct store_blocked_key *out)
{
	return st_tbl_get(t, TBL_BLOCKED_KEY, hash, out);
}

enum store_err
store_blocked_key_put(struct store_txn *t, const struct store_blocked_key *b, unsigned flags)
{
	return st_tbl_put(t, TBL_BLOCKED_KEY, b, flags);
}

enum store_err
store_blocked_key_del(struct store_txn *t, const char *hash)
{
	return st_tbl_del(t, TBL_BLOCKED_KEY, hash);
}
