/* How acme-admin classifies records whose state depends on the time. */
#ifndef ACME_ADMIN_STATE_H
#define ACME_ADMIN_STATE_H

#include <stdint.h>

#include "store/store.h"

/* An EAB key: "revoked", "expired", "used" (single-use and bound) or "usable". */
const char *state_eab(const struct store_eab *e, int64_t now);

/* A certificate: "revoked", "expired" or "valid". */
const char *state_cert(const struct store_cert *c, int64_t now);

#endif
