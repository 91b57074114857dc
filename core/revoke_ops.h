/*
 * Revocation shared by the protocol handler (revokeCert) and acme-admin, so
 * that an operator's revocation has exactly the client's effect: the
 * certificate is recorded revoked here, and a certificate an upstream CA
 * issued (RA mode) gets its upstream revocation queued for the validator in
 * the same transaction.
 */
#ifndef ACME_CORE_REVOKE_OPS_H
#define ACME_CORE_REVOKE_OPS_H

#include <stdint.h>

#include "store/store.h"

/*
 * Inside the caller's read-write transaction t: record the revocation of c
 * (a certificate the caller read in t and checked is not revoked yet) with
 * RFC 5280 reason (-1: none given) at now, and write it back. With reason
 * keyCompromise (1) the certificate's key is blocked too (core/keyblock.h).
 * For an upstream certificate the upstream_revoke job is queued too;
 * *queued (may be NULL) tells whether the validator has new work (wake it
 * after the commit). c is updated in place; the caller still owns it.
 */
enum store_err acme_revoke_record(struct store_txn *t, struct store_cert *c, int reason,
    int64_t now, int *queued);

#endif
