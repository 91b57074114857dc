/* Revocation shared by revokeCert and acme-admin (see core/revoke_ops.h). */
#include "core/jobs.h"
#include "core/keyblock.h"
#include "core/revoke_ops.h"

enum store_err
acme_revoke_record(struct store_txn *t, struct store_cert *c, int reason, int64_t now,
    int *queued)
{
	enum store_err e;

	if (queued != NULL)
		*queued = 0;
	c->revoked = 1;
	c->reason = reason;
	c->revoked_at = now;
	if ((e = store_cert_put(t, c, 0)) != STORE_OK)
		return e;
	/* keyCompromise blocks the key for every directory, in the same
	 * transaction: no certificate is revoked for it without the block. */
	if (reason == ACME_REASON_KEY_COMPROMISE && (e = acme_key_block(t, c, now)) != STORE_OK)
		return e;
	/* RA: recorded here first, so our own answers (ARI, a second revocation,
	 * acme-admin) are immediate; the upstream CA hears of it through the
	 * validator, which retries until it has. */
	if (c->upstream)
		e = acme_job_enqueue(t, STORE_JOB_UPSTREAM_REVOKE, c->dir, c->serial, now, 0, queued);
	return e;
}
