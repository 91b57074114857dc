/* Test helpers: cached keys, JWKs and signed JWS bodies made with OpenSSL
 * directly, independently of core/jwk.c and core/jws.c. */
#ifndef ACME_TESTS_TESTKEYS_H
#define ACME_TESTS_TESTKEYS_H

#include <stddef.h>

#include <openssl/evp.h>

/* A key of type "p256", "p384", "p521", "secp256k1", "ed25519", "ed448",
 * "rsaN" (N bits), generated once per process and name: "p256b" is a second
 * P-256 key. Borrowed: freed at exit. Aborts on failure. */
EVP_PKEY *tk_key(const char *type);

/* Base64url of len bytes / of a C string; malloc'd. */
char *tk_b64u(const void *data, size_t len);
char *tk_b64u_str(const char *s);

/* The public JWK of key as JSON text with the members in a non-canonical
 * order and an extra "use" member; malloc'd. */
char *tk_jwk_json(EVP_PKEY *key);

enum {
	TK_DER_SIG = 1 << 0,     /* leave an ECDSA signature DER-encoded */
	TK_PSS_SALT20 = 1 << 1,  /* PS*: a 20-octet salt instead of the hash length */
};

/* {"protected":..,"payload":..,"signature":..} with header and payload given
 * as JSON text (payload "" for POST-as-GET), signed with key under alg
 * ("ES256", "RS256", "PS256", "EdDSA", ...). malloc'd. */
char *tk_jws(EVP_PKEY *key, const char *alg, const char *header, const char *payload,
    unsigned flags);

/* The same with an HMAC key for alg "HS256"/"HS384"/"HS512". */
char *tk_jws_mac(const unsigned char *mac_key, size_t len, const char *alg, const char *header,
    const char *payload);

/* {"protected":"p","payload":"y","signature":"s"} from ready base64url texts. */
char *tk_jws_body(const char *p, const char *y, const char *s);

/* A printf into a new string. */
char *tk_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
