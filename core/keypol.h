/* Which public keys a directory accepts, for accounts and for certificates. */
#ifndef ACME_CORE_KEYPOL_H
#define ACME_CORE_KEYPOL_H

#include <openssl/evp.h>

#include "core/err.h"

enum keypol_type {
	KEYPOL_RSA     = 1u << 0,   /* with rsa_min_bits..rsa_max_bits */
	KEYPOL_P256    = 1u << 1,
	KEYPOL_P384    = 1u << 2,
	KEYPOL_P521    = 1u << 3,
	KEYPOL_ED25519 = 1u << 4,
	KEYPOL_ED448   = 1u << 5,
};

struct acme_keypol {
	unsigned types;      /* enum keypol_type bits */
	int rsa_min_bits;    /* at least 2048 */
	int rsa_max_bits;    /* at most 8192 */
};

/* Defaults: RSA 2048..8192, P-256, P-384, P-521, Ed25519, Ed448 for account
 * keys; RSA 2048..8192, P-256, P-384 for certificate keys. */
void keypol_default_account(struct acme_keypol *kp);
void keypol_default_cert(struct acme_keypol *kp);

/* Parse a list such as "rsa2048-4096 p256 p384 ed25519" into kp. Tokens (any
 * case, separated by blanks or commas): rsa (2048..8192 bits), rsaN (N bits
 * and up), rsaN-M, p256, p384, p521, ed25519, ed448. */
enum acme_err keypol_parse(const char *text, struct acme_keypol *kp, const char **why);

/* ACME_OK if kp accepts key; ACME_EUNSUPPORTED with *why naming the rule
 * (static text) otherwise. */
enum acme_err keypol_check(const struct acme_keypol *kp, EVP_PKEY *key, const char **why);

/* The enum keypol_type bit that key falls under, or 0 (another curve or key
 * type); *bits gets the RSA modulus size or the curve's size in bits. Cheap
 * enough for every request (jws_verify uses it to match alg and key). */
unsigned keypol_type_of(EVP_PKEY *key, int *bits);

/* A short description of key ("P-256", "RSA-2048", "Ed25519") into buf. */
const char *keypol_describe(EVP_PKEY *key, char *buf, size_t len);

#endif
