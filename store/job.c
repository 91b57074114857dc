/*
 * Jobs: the validator daemon's work besides validations (RA mode: an order
 * to obtain upstream, a revocation to forward, an ARI window to fetch).
 * Keyed by "<kind>-<ref>", so one piece of work has exactly one job, and
 * indexed by due time like the authorization queue. Also the RA
 * directories' upstream accounts, keyed by directory name.
 */
#include <stddef.h>

#include "store/internal.h"

#define T struct store_job
static const struct rec_field job_fields[] = {
	REC_STR(JOB_ID, 1, T, id, CS_KID),
	REC_U8(JOB_KIND, 1, T, kind, 1, STORE_JOB__MAX - 1),
	REC_U8(JOB_STATE, 1, T, state, STORE_JOB_QUEUED, STORE_JOB_FAILED),
	REC_STR(JOB_DIR, 1, T, dir, CS_DIR),
	REC_STR(JOB_REF, 1, T, ref, CS_KID),
	REC_F(JOB_CREATED, RK_I64, 1, T, created),
	REC_F(JOB_UPDATED, RK_I64, 0, T, updated),
	REC_F(JOB_DUE, RK_I64, 0, T, due),
	REC_F(JOB_ATTEMPTS, RK_U32, 0, T, attempts),
	REC_F(JOB_LEASE, RK_U32, 0, T, lease),
	REC_F(JOB_PROGRESS, RK_PSTR, 0, T, progress),
	REC_F(JOB_ERROR, RK_PSTR, 0, T, error),
};
#undef T

const struct rec_type store_rt_job = {
	REC_MAGIC_JOB, "job", sizeof(struct store_job), job_fields,
	sizeof(job_fields) / sizeof(job_fields[0]),
};

#define T struct store_upstream
static const struct rec_field upstream_fields[] = {
	REC_STR(UPS_DIR, 1, T, dir, CS_DIR),
	REC_F(UPS_DIRECTORY_URL, RK_PSTR, 1, T, directory_url),
	REC_F(UPS_ACCOUNT_URL, RK_PSTR, 0, T, account_url),
	REC_F(UPS_KEY_TYPE, RK_PSTR, 1, T, key_type),
	REC_STR(UPS_THUMB, 1, T, thumb, CS_THUMB),
	REC_VEC(UPS_KEY, RK_BLOB, 1, T, key_sealed, key_sealed_len),
	REC_F(UPS_CREATED, RK_I64, 1, T, created),
};
#undef T

const struct rec_type store_rt_upstream = {
	REC_MAGIC_UPSTREAM, "upstream", sizeof(struct store_upstream), upstream_fields,
	sizeof(upstream_fields) / sizeof(upstream_fields[0]),
};

enum store_err
store_rec_decode_job(const unsigned char *p, size_t n, struct store_job *out)
{
	return rec_decode(&store_rt_job, p, n, out);
}

void
store_job_free(struct store_job *j)
{
	rec_free(&store_rt_job, j);
}

enum store_err
store_job_get(struct store_txn *t, const char *id, struct store_job *out)
{
	return st_tbl_get(t, TBL_JOB, id, out);
}

enum store_err
store_job_put(struct store_txn *t, const struct store_job *j, unsigned flags)
{
	return st_tbl_put(t, TBL_JOB, j, flags);
}

enum store_err
store_job_del(struct store_txn *t, const char *id)
{
	return st_tbl_del(t, TBL_JOB, id);
}

/* Also wipes the sealed key (rec_free zeroes the whole struct). */
void
store_upstream_free(struct store_upstream *u)
{
	rec_free(&store_rt_upstream, u);
}

enum store_err
store_upstream_get(struct store_txn *t, const char *dir, struct store_upstream *out)
{
	return st_tbl_get(t, TBL_UPSTREAM, dir, out);
}

enum store_err
store_upstream_put(struct store_txn *t, const struct store_upstream *u, unsigned flags)
{
	return st_tbl_put(t, TBL_UPSTREAM, u, flags);
}
