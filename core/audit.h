/* The audit log: one JSON line per security-relevant event. */
#ifndef ACME_CORE_AUDIT_H
#define ACME_CORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "store/store.h"

struct json_object;

/* Open the configured target (audit_log: file:PATH, syslog or off) in this
 * process; until then acme_audit() does nothing. */
enum acme_err acme_audit_open(const struct acme_config *cfg);
void acme_audit_close(void);

/*
 * Record event (e.g. "cert.issue") of directory dir. fmt lists the members
 * that follow as (key, value) pairs: 's' a string (NULL: left out), 'i' an
 * int64_t, 'j' a json_object (ownership passes). Written durably (one
 * write, then fdatasync) before it returns.
 */
void acme_audit(const char *event, const char *dir, const char *fmt, ...);

/* The identifiers' values as a JSON array (new reference). */
struct json_object *acme_audit_idents(const struct store_ident *ident, size_t n);

#endif
