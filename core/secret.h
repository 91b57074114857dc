/*
 * Small secret files: a passphrase, an HMAC or TSIG key, a token PIN. One
 * reader for all of them (RA mode's upstream settings, self-service TLS,
 * PKCS#11 PIN files), so that every secret file is held to the same rules.
 */
#ifndef ACME_CORE_SECRET_H
#define ACME_CORE_SECRET_H

#include <stddef.h>

#include "core/err.h"

#define ACME_SECRET_MAX 4096   /* a secret file's content */

/*
 * Read the first line of path, which must be a regular file (no symbolic
 * link followed) that only its owner may read or write (no group or other
 * bits: chmod 600). what names it in log lines ("upstream passphrase");
 * the content is never logged. buf has size bytes; the line is
 * NUL-terminated and *len gets its length. An empty first line, a NUL byte
 * in it, or a file of size - 1 bytes or more without a line end is refused.
 * ACME_ECONFIG (logged) on any problem, with buf wiped; ACME_EINVAL if size
 * is below 2.
 */
enum acme_err acme_secret_read(const char *path, const char *what, char *buf, size_t size,
    size_t *len);

#endif
