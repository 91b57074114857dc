/*
 * Operations on accounts shared by the protocol handlers and acme-admin, so
 * that an operator's deactivation has exactly the client's effect.
 */
#ifndef ACME_CORE_ACCOUNT_OPS_H
#define ACME_CORE_ACCOUNT_OPS_H

#include <stdint.h>

#include "store/store.h"

/*
 * Call fn with each order id of account acct, oldest first, in t; fn
 * returns non-zero to stop. The index is read a page at a time, so an
 * account with very many orders costs bounded memory.
 */
enum store_err acme_account_orders(struct store_txn *t, const char *acct, store_id_fn fn,
    void *arg);

/*
 * Cancel the pending orders of account acct and their pending
 * authorizations (RFC 8555 section 7.3.6), inside the caller's read-write
 * transaction t: each unexpired pending order becomes invalid with an
 * unauthorized problem, each pending authorization deactivated and taken
 * off the validator's queue. Issued certificates stay as they are.
 */
enum store_err acme_account_cancel_pending(struct store_txn *t, const char *acct, int64_t now);

/*
 * Deactivate account id in one transaction: cancel its pending work as
 * above and set its status to deactivated. *before (may be NULL) gets the
 * status it had; an account that is not valid is left as it is (STORE_OK,
 * the caller looks at *before). STORE_NOTFOUND when there is no such
 * account.
 */
enum store_err acme_account_deactivate(struct store *s, const char *id, int64_t now,
    enum store_status *before);

#endif
