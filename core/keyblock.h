/*
 * Blocked keys (RFC 8555 section 7.6 with Boulder's policy, conformance
 * REV-10): the key of a certificate revoked for keyCompromise is blocked
 * server-wide, and no CSR, newAccount or keyChange may use it again.
 * Always on: there is no switch. A key is named by the base64url SHA-256
 * of its DER SubjectPublicKeyInfo; a check is one store get.
 */
#ifndef ACME_CORE_KEYBLOCK_H
#define ACME_CORE_KEYBLOCK_H

#include <stdint.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "store/store.h"

/* RFC 5280 reason codes the revocation policy records. */
#define ACME_REASON_KEY_COMPROMISE 1
#define ACME_REASON_CESSATION      5

/*
 * The name of pkey in the blocked-key table: base64url (43 characters and
 * a NUL) of the SHA-256 of its DER SubjectPublicKeyInfo, with EC keys in
 * one form (named curve, uncompressed point), so that another encoding of
 * the same key has the same name. ACME_OK, or ACME_ECRYPTO (logged).
 */
enum acme_err acme_spki_hash(EVP_PKEY *pkey, char hash[STORE_THUMB_LEN + 1]);

/* Inside t: *blocked is 1 when the key named hash is blocked, else 0. */
enum store_err acme_key_blocked(struct store_txn *t, const char *hash, int *blocked);

/*
 * Inside the read-write transaction t: block the key of certificate c (its
 * DER), recording now, its serial and its directory. A key blocked before
 * keeps its first record. STORE_ERR (logged) when the certificate's key
 * cannot be read: the revocation must not commit without the block.
 */
enum store_err acme_key_block(struct store_txn *t, const struct store_cert *c, int64_t now);

#endif
