/* External Account Binding for newAccount (RFC 8555 section 7.3.4). */
#ifndef ACME_CORE_EAB_H
#define ACME_CORE_EAB_H

#include <stdint.h>

#include "store/store.h"

struct acme_rq;
struct json_object;

struct acme_eab {
	char kid[STORE_EAB_KID_MAX + 1];
	char *json;           /* the binding as sent (JSON text), stored on the account */
};

/*
 * Check a newAccount's externalAccountBinding: a flattened JWS with an HS*
 * alg, a kid the CA issued for this directory and still usable, no nonce,
 * the request's url, the account's public key as payload, and a MAC that
 * verifies. 0 with *out filled (release with acme_eab_clear()), or -1 with
 * rq->prob set (malformed, or unauthorized for the key and the MAC).
 */
int acme_eab_check(struct acme_rq *rq, struct json_object *binding, struct acme_eab *out);

/*
 * In the transaction creating the account: check the key again and mark it
 * used by account. *why is set (static text) when it is no longer usable;
 * the caller then aborts.
 */
enum store_err acme_eab_consume(struct store_txn *t, const struct acme_eab *b, const char *dir,
    const char *account, int64_t now, const char **why);

void acme_eab_clear(struct acme_eab *b);

#endif
