/*
 * Orders, authorizations and challenges as clients see them, for the
 * core's handlers and for acme-admin (which must show what a client would).
 */
#ifndef ACME_CORE_ORDERS_H
#define ACME_CORE_ORDERS_H

#include <stdint.h>

#include "store/store.h"

/*
 * The order's status as clients see it, computed from its authorizations
 * (read in t): pending/ready/processing/valid/invalid. When it is invalid
 * because of an authorization, *err gets that authorization's problem (a
 * new JSON text the caller frees), if any.
 */
enum store_status acme_order_status(struct store_txn *t, const struct store_order *o,
    int64_t now, char **err);

/* The effective status of an authorization (expiry applied). */
enum store_status acme_authz_status(const struct store_authz *z, int64_t now);

/* "http-01", "dns-01", "tls-alpn-01" for enum store_chall_type, else "unknown". */
const char *acme_chall_type_name(uint8_t type);

#endif
