/* Flattened JWS (RFC 7515) as ACME uses it (RFC 8555 section 6.2). */
#ifndef ACME_CORE_JWS_H
#define ACME_CORE_JWS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/problem.h"

struct json_object;

enum jws_alg {
	JWS_ALG_NONE = 0,
	JWS_RS256, JWS_RS384, JWS_RS512,
	JWS_PS256, JWS_PS384, JWS_PS512,
	JWS_ES256, JWS_ES384, JWS_ES512,
	JWS_EDDSA,
	JWS_HS256, JWS_HS384, JWS_HS512,   /* only for External Account Binding */
	JWS_ALG__MAX
};

/* "RS256" etc.; the alg for a name, or JWS_ALG_NONE. */
const char *jws_alg_name(enum jws_alg a);
enum jws_alg jws_alg_from_name(const char *name);

/* The accepted signature algorithms for account keys as a JSON array
 * (new reference; for badSignatureAlgorithm's "algorithms"). */
struct json_object *jws_algorithms_json(void);

struct jws {
	struct json_object *envelope;   /* the parsed body */
	struct json_object *header;     /* the decoded protected header */
	enum jws_alg alg;
	const char *nonce;              /* borrowed from header; NULL if absent */
	const char *url;                /* borrowed from header */
	const char *kid;                /* borrowed from header; NULL if absent */
	struct json_object *jwk;        /* borrowed from header; NULL if absent */
	unsigned char *payload;         /* decoded payload, NUL-terminated; */
	size_t payload_len;             /* 0 = POST-as-GET ("payload": "") */
	struct json_object *payload_json; /* parsed payload when non-empty (an object) */
	char *signing_input;            /* protected "." payload, as received */
	size_t signing_input_len;
	unsigned char *sig;
	size_t sig_len;
	/* signing_input, payload and sig share one allocation: only jws_clear()
	 * frees them. */
};

/*
 * Parse a request body as a flattened JWS, without verifying it: strict JSON;
 * exactly the members protected, payload, signature (no "header", no
 * "signatures"); strict base64url; the protected header a JSON object with
 * alg, nonce (string), url (string) and exactly one of jwk (object) and kid
 * (string); no b64:false; crit absent; alg one of the account algorithms
 * (else badSignatureAlgorithm with "algorithms"). A non-empty payload must be
 * a JSON object. On error returns -1 with p set (malformed, badNonce,
 * badSignatureAlgorithm); 0 on success (caller jws_clear()).
 * With allow_mac set (EAB inner JWS), alg must instead be HS256/384/512 and
 * the nonce is not required (the caller checks it is absent).
 */
int jws_parse(const unsigned char *body, size_t len, struct jws *out, int allow_mac,
    struct acme_problem *p);

/* Parse a JWS that is itself a JSON value (the keyChange inner JWS, the EAB).
 * The same rules, except that the nonce is never required (RFC 8555 7.3.5
 * lets the inner keyChange JWS omit it): nonce is NULL when absent and the
 * caller decides. obj gets a reference; it stays the caller's too. */
int jws_parse_json(struct json_object *obj, struct jws *out, int allow_mac,
    struct acme_problem *p);

/*
 * Verify the signature with key: alg must suit the key (ES256 with P-256,
 * RS* and PS* with RSA, EdDSA with Ed25519/Ed448); ECDSA signatures must be
 * raw R||S of exactly the curve's length. -1 with p set (malformed or
 * badPublicKey) when it does not verify.
 */
int jws_verify(const struct jws *j, EVP_PKEY *key, struct acme_problem *p);

/* Verify an HS256/384/512 JWS with a MAC key, in constant time. */
int jws_verify_mac(const struct jws *j, const unsigned char *key, size_t key_len,
    struct acme_problem *p);

void jws_clear(struct jws *j);

#endif
