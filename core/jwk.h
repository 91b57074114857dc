/* JSON Web Keys (RFC 7517, 7518, 8037) for ACME account keys, and RFC 7638
 * thumbprints. Public keys only. */
#ifndef ACME_CORE_JWK_H
#define ACME_CORE_JWK_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/err.h"

struct json_object;

enum jwk_kty { JWK_KTY_NONE = 0, JWK_KTY_RSA, JWK_KTY_EC, JWK_KTY_OKP };

struct acme_jwk {
	EVP_PKEY *pkey;
	enum jwk_kty kty;
	int curve_nid;       /* EC: NID_X9_62_prime256v1 / NID_secp384r1 / NID_secp521r1;
	                        OKP: NID_ED25519 / NID_ED448; RSA: 0 */
	int bits;            /* RSA modulus bits; EC/OKP field bits */
	char thumb[44];      /* RFC 7638 SHA-256 thumbprint, base64url (43 chars + NUL) */
	char *canon;         /* canonical JSON: required members only, sorted, no
	                        whitespace, minimal integers (what is hashed and stored) */
};

/*
 * Build a key from a JWK object. Refuses: private members (d, p, q, dp, dq,
 * qi, oth, k) -> EINVAL; unknown kty/crv -> EUNSUPPORTED; EC point not on the
 * curve or coordinates of the wrong length -> EINVAL; RSA n below 2048 or
 * above 8192 bits, e even or below 3 -> EUNSUPPORTED; integers with leading
 * zero octets -> EINVAL; an "alg" member inconsistent with the key -> EINVAL.
 * *why gets a static reason for the problem detail. On success fills out
 * (caller jwk_clear()).
 */
enum acme_err jwk_parse(struct json_object *jwk, struct acme_jwk *out, const char **why);

/* Parse canonical JWK text as stored (trusted, but still checked). */
enum acme_err jwk_parse_text(const char *text, struct acme_jwk *out, const char **why);

/* The same structure for a public key that came from elsewhere (a CSR, a
 * certificate). Unsupported key types -> EUNSUPPORTED. */
enum acme_err jwk_from_pkey(EVP_PKEY *pkey, struct acme_jwk *out);

/* Thumbprint of any supported public key. thumb gets 43 chars + NUL. */
enum acme_err jwk_thumbprint_pkey(EVP_PKEY *pkey, char thumb[44]);

void jwk_clear(struct acme_jwk *k);

#endif
