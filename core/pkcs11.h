/*
 * CA private keys in a PKCS#11 token (an HSM, a smart card, SoftHSM), named
 * by a "pkcs11:" URI (RFC 7512). The key never leaves the token: what comes
 * back is an EVP_PKEY whose signing operations the token performs.
 *
 * Through OSSL_STORE when a loaded provider handles the "pkcs11" scheme,
 * else through the libp11 engine ("pkcs11"), whose deprecated API is kept in
 * pkcs11.c alone. The engine is initialised by each process that loads a
 * key, on first use (FastCGI workers load their CA after fork).
 */
#ifndef ACME_CORE_PKCS11_H
#define ACME_CORE_PKCS11_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/err.h"

#define PKCS11_PIN_MAX 256      /* longest PIN accepted from a PIN file */

/* s names a PKCS#11 object ("pkcs11:..."). */
int pkcs11_is_uri(const char *s);

/* The module used when none is configured: SoftHSM2's when it is installed,
 * else p11-kit's proxy (every module p11-kit knows). Static string. */
const char *pkcs11_default_module(void);

/*
 * uri for a log line: the value of every pin-value attribute replaced by
 * "***". Writes at most size bytes into buf (always terminated, possibly
 * cut short) and returns buf.
 */
const char *pkcs11_uri_redact(const char *uri, char *buf, size_t size);

/*
 * Split uri into the URI without its pin-value attribute (*without) and the
 * PIN, percent-decoded (*pin; NULL when the URI carries none). Returns
 * ACME_EINVAL for a URI that is not "pkcs11:" or whose PIN does not decode.
 * Both malloc'd: the caller frees *without, and frees *pin with
 * pkcs11_pin_free() (which wipes it).
 */
enum acme_err pkcs11_uri_split_pin(const char *uri, char **without, char **pin);
void pkcs11_pin_free(char *pin);

/*
 * Load the private key uri names. module: the PKCS#11 module (a path, or a
 * library name for the dynamic linker; NULL = pkcs11_default_module()).
 * pin_file: a file holding the PIN on its first line, used when the URI has
 * no pin-value; it must be a regular file without group or other access
 * (NULL: none). The PIN is never logged, nor is uri without redaction.
 * Never prompts. One module per process with the engine: another module
 * than the first one gives ACME_ECONFIG. *out freed with EVP_PKEY_free().
 */
enum acme_err pkcs11_load_key(const char *uri, const char *module, const char *pin_file,
    EVP_PKEY **out);

#endif
