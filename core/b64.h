/* Base64url without padding (RFC 7515 section 2), strict. */
#ifndef ACME_CORE_B64_H
#define ACME_CORE_B64_H

#include <stddef.h>

#include "core/err.h"

/* Characters needed to encode n bytes (without the NUL). */
#define B64U_ENCLEN(n) ((((n) / 3) * 4) + (((n) % 3) ? ((n) % 3) + 1 : 0))

/* Encode n bytes into out, which has room for B64U_ENCLEN(n) + 1 bytes; NUL
 * terminated. Returns the length written (without the NUL). */
size_t b64u_encode_buf(const unsigned char *in, size_t n, char *out);

/* Encode into a new string; caller frees. NULL on ENOMEM. */
char *b64u_encode(const unsigned char *in, size_t n);

/*
 * Strict decode of len characters: alphabet [A-Za-z0-9_-] only, no padding,
 * no whitespace, a length that is not 1 mod 4, and zero unused bits in the
 * last character (one canonical text per byte string). Writes at most cap
 * bytes to out. ACME_EINVAL on bad text, ACME_ETOOBIG if out is too small.
 */
enum acme_err b64u_decode_buf(const char *in, size_t len, unsigned char *out, size_t cap,
    size_t *outlen);

/* The same into a new buffer (caller frees; NUL-terminated for convenience). */
enum acme_err b64u_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif
