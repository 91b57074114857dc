/*
 * RA mode: the upstream account's private key at rest (the secret files
 * around it are read with core/secret.h).
 *
 * The key is sealed with AES-256-GCM under a key derived from the operator's
 * passphrase with scrypt (N = 2^15, r = 8, p = 1: 32 MiB and about 0.1 s per
 * derivation, memory-hard so that guessing on GPUs or ASICs costs memory as
 * well as time, and small enough for an appliance). A fresh random salt and
 * nonce are stored with it; the directory's name is authenticated as
 * associated data, so a sealed key cannot be moved to another directory.
 *
 * Layout: "AUK1" | log2(N) | r | p | salt[16] | nonce[12] | ciphertext | tag[16],
 * the header bytes also authenticated. The plaintext is the key's PKCS#8 DER.
 */
#ifndef ACME_CORE_UPSTREAM_KEY_H
#define ACME_CORE_UPSTREAM_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/secret.h"

/* scrypt cost of new seals (log2 of N); tests may lower it. */
extern unsigned acme_upstream_scrypt_log2n;

/*
 * Seal key (a private key) with passphrase (plen bytes) for directory dir.
 * *out is malloc'd (caller frees), *outlen its length.
 */
enum acme_err acme_upstream_seal(EVP_PKEY *key, const char *passphrase, size_t plen,
    const char *dir, unsigned char **out, size_t *outlen);

/*
 * Open a sealed key. ACME_EBADSIG when the passphrase or directory is wrong
 * or the data was changed (GCM refuses), ACME_EINVAL for a malformed blob.
 * *key is the caller's (EVP_PKEY_free).
 */
enum acme_err acme_upstream_open(const unsigned char *sealed, size_t len, const char *passphrase,
    size_t plen, const char *dir, EVP_PKEY **key);

/* A new key of type p256, p384, rsa2048, rsa3072 or rsa4096; caller frees. */
enum acme_err acme_upstream_keygen(const char *type, EVP_PKEY **key);

#endif
