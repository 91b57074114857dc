/* Certificate revocation lists. */
#ifndef ACME_CORE_CRL_H
#define ACME_CORE_CRL_H

#include <stddef.h>
#include <stdint.h>

#include "core/ca.h"
#include "core/config.h"
#include "store/store.h"

/* Sign the directory's CRL now: every revoked, unexpired certificate of the
 * directory, the next CRL number, nextUpdate = now + crl_lifetime. *der is
 * malloc'd (caller frees). */
enum acme_err acme_crl_sign(struct store *s, const struct acme_dir_config *dc,
    const struct acme_ca *ca, int64_t now, unsigned char **der, size_t *der_len);

/* Sign and write STATE/crl/<dir>.crl atomically. */
enum acme_err acme_crl_publish(struct store *s, const struct acme_config *cfg,
    const struct acme_dir_config *dc, const struct acme_ca *ca, int64_t now);

/* The published CRL, signed afresh first when older than crl_refresh.
 * *der is malloc'd (caller frees). */
enum acme_err acme_crl_read(struct store *s, const struct acme_config *cfg,
    const struct acme_dir_config *dc, const struct acme_ca *ca, int64_t now,
    unsigned char **der, size_t *len);

#endif
