/*
 * Flattened JWS parsing and verification. Parsing allocates one block for the
 * signing input, the decoded payload and the decoded signature; the decoded
 * protected header only lives on the stack until it is parsed.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "core/b64.h"
#include "core/json.h"
#include "core/jws.h"
#include "core/keypol.h"
#include "core/log.h"

#define JWS_MAX_HEADER 8192     /* decoded protected header */
#define JWS_MAX_SIG    1024     /* decoded signature (RSA-8192 is 1024) */
#define ECDSA_DER_MAX  160      /* DER of a P-521 signature is at most 141 */

static const struct jws_alginfo {
	const char *name;
	const EVP_MD *(*md)(void);   /* NULL: pure EdDSA (or none) */
	unsigned keys;               /* enum keypol_type bits the key must be */
	int pss;
	size_t ec_len;               /* raw R||S octets for ECDSA */
} jws_algs[JWS_ALG__MAX] = {
	[JWS_ALG_NONE] = { "none", NULL, 0, 0, 0 },
	[JWS_RS256] = { "RS256", EVP_sha256, KEYPOL_RSA, 0, 0 },
	[JWS_RS384] = { "RS384", EVP_sha384, KEYPOL_RSA, 0, 0 },
	[JWS_RS512] = { "RS512", EVP_sha512, KEYPOL_RSA, 0, 0 },
	[JWS_PS256] = { "PS256", EVP_sha256, KEYPOL_RSA, 1, 0 },
	[JWS_PS384] = { "PS384", EVP_sha384, KEYPOL_RSA, 1, 0 },
	[JWS_PS512] = { "PS512", EVP_sha512, KEYPOL_RSA, 1, 0 },
	[JWS_ES256] = { "ES256", EVP_sha256, KEYPOL_P256, 0, 64 },
	[JWS_ES384] = { "ES384", EVP_sha384, KEYPOL_P384, 0, 96 },
	[JWS_ES512] = { "ES512", EVP_sha512, KEYPOL_P521, 0, 132 },
	[JWS_EDDSA] = { "EdDSA", NULL, KEYPOL_ED25519 | KEYPOL_ED448, 0, 0 },
	[JWS_HS256] = { "HS256", EVP_sha256, 0, 0, 0 },
	[JWS_HS384] = { "HS384", EVP_sha384, 0, 0, 0 },
	[JWS_HS512] = { "HS512", EVP_sha512, 0, 0, 0 },
};

#define IS_ACCOUNT_ALG(a) ((a) >= JWS_RS256 && (a) <= JWS_EDDSA)
#define IS_MAC_ALG(a)     ((a) >= JWS_HS256 && (a) <= JWS_HS512)

const char *
jws_alg_name(enum jws_alg a)
{
	if ((unsigned)a >= JWS_ALG__MAX)
		a = JWS_ALG_NONE;
	return jws_algs[a].name;
}

enum jws_alg
jws_alg_from_name(const char *name)
{
	int a;

	for (a = JWS_RS256; a < JWS_ALG__MAX; a++)
		if (strcmp(name, jws_algs[a].name) == 0)
			return (enum jws_alg)a;
	return JWS_ALG_NONE;
}

static struct json_object *
alg_array(int first, int last)
{
	struct json_object *arr;
	int a;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	for (a = first; a <= last; a++)
		json_object_array_add(arr, json_object_new_string(jws_algs[a].name));
	return arr;
}

struct json_object *
jws_algorithms_json(void)
{
	return alg_array(JWS_RS256, JWS_EDDSA);
}

/* The three members of the envelope, as strings. */
struct jws_text {
	const char *s[3];
	size_t len[3];
};
enum { T_PROTECTED, T_PAYLOAD, T_SIGNATURE };
static const char *const jws_members[3] = { "protected", "payload", "signature" };

static int
jws_members_get(struct json_object *env, struct jws_text *t, struct acme_problem *p)
{
	int i;

	if (!json_object_is_type(env, json_type_object))
		return acme_problem_set(p, PROB_MALFORMED, "JWS is not a JSON object");
	memset(t, 0, sizeof(*t));
	json_object_object_foreach(env, key, val) {
		for (i = 0; i < 3 && strcmp(key, jws_members[i]) != 0; i++)
			;
		if (i == 3) {
			if (strcmp(key, "header") == 0)
				return acme_problem_set(p, PROB_MALFORMED,
				    "JWS unprotected header is not allowed");
			if (strcmp(key, "signatures") == 0)
				return acme_problem_set(p, PROB_MALFORMED,
				    "JWS with multiple signatures (general JSON serialization) "
				    "is not allowed");
			return acme_problem_set(p, PROB_MALFORMED,
			    "unexpected member \"%.32s\" in the JWS", key);
		}
		if (!json_object_is_type(val, json_type_string))
			return acme_problem_set(p, PROB_MALFORMED, "JWS %s is not a string",
			    jws_members[i]);
		t->s[i] = json_object_get_string(val);
		t->len[i] = (size_t)json_object_get_string_len(val);
	}
	if (t->s[T_PAYLOAD] == NULL)
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS has no payload (detached payloads are not supported)");
	for (i = 0; i < 3; i++)
		if (t->s[i] == NULL)
			return acme_problem_set(p, PROB_MALFORMED, "JWS has no %s", jws_members[i]);
	return 0;
}

static int
bad_alg(struct acme_problem *p, int allow_mac, const char *name)
{
	if (allow_mac) {
		acme_problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM,
		    "JWS algorithm \"%.32s\" is not allowed here (HS256, HS384, HS512)", name);
		acme_problem_extra(p, "algorithms", alg_array(JWS_HS256, JWS_HS512));
	} else {
		acme_problem_set(p, PROB_BAD_SIGNATURE_ALGORITHM,
		    "JWS algorithm \"%.32s\" is not supported", name);
		acme_problem_extra(p, "algorithms", jws_algorithms_json());
	}
	return -1;
}

/* Decode, parse and check the protected header. */
static int
jws_header(struct jws *j, const struct jws_text *t, int allow_mac, int need_nonce,
    struct acme_problem *p)
{
	unsigned char buf[JWS_MAX_HEADER];
	struct json_object *v, *jwk, *kid;
	const char *why, *alg;
	size_t len;

	if (t->len[T_PROTECTED] > B64U_ENCLEN(JWS_MAX_HEADER))
		return acme_problem_set(p, PROB_MALFORMED, "JWS protected header over 8 KiB");
	if (b64u_decode_buf(t->s[T_PROTECTED], t->len[T_PROTECTED], buf, sizeof(buf), &len) !=
	    ACME_OK)
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS protected header is not base64url (no padding, no '+' or '/')");
	if (acme_json_parse((const char *)buf, len, &j->header, &why) != ACME_OK)
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS protected header is not valid JSON: %s", why);
	if (!json_object_is_type(j->header, json_type_object))
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS protected header is not a JSON object");

	if ((alg = acme_json_str(j->header, "alg")) == NULL)
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS protected header has no \"alg\" string");
	if (json_object_object_get_ex(j->header, "crit", NULL))
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS \"crit\" header parameter: no extensions are supported");
	if (json_object_object_get_ex(j->header, "b64", &v) &&
	    !(json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v)))
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS unencoded payload (\"b64\": false) is not supported");
	j->alg = jws_alg_from_name(alg);
	if (allow_mac ? !IS_MAC_ALG(j->alg) : !IS_ACCOUNT_ALG(j->alg))
		return bad_alg(p, allow_mac, alg);

	if ((j->url = acme_json_str(j->header, "url")) == NULL)
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS protected header has no \"url\" string");
	jwk = acme_json_get(j->header, "jwk");
	kid = acme_json_get(j->header, "kid");
	if (jwk != NULL && kid != NULL)
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS protected header has both \"jwk\" and \"kid\"");
	if (jwk == NULL && kid == NULL)
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS protected header has neither \"jwk\" nor \"kid\"");
	if (jwk != NULL && !json_object_is_type(jwk, json_type_object))
		return acme_problem_set(p, PROB_MALFORMED, "JWS \"jwk\" is not an object");
	if (kid != NULL && !json_object_is_type(kid, json_type_string))
		return acme_problem_set(p, PROB_MALFORMED, "JWS \"kid\" is not a string");
	if (allow_mac && kid == NULL)
		return acme_problem_set(p, PROB_MALFORMED,
		    "MAC-protected JWS must name its key with \"kid\", not \"jwk\"");
	j->jwk = jwk;
	j->kid = kid != NULL ? json_object_get_string(kid) : NULL;

	if (json_object_object_get_ex(j->header, "nonce", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return acme_problem_set(p, PROB_MALFORMED, "JWS \"nonce\" is not a string");
		j->nonce = json_object_get_string(v);
	} else if (need_nonce)
		return acme_problem_set(p, PROB_BAD_NONCE, "JWS has no anti-replay nonce");
	return 0;
}

static int
jws_body(struct jws *j, const struct jws_text *t, struct acme_problem *p)
{
	const char *why;
	size_t plen = t->len[T_PROTECTED], ylen = t->len[T_PAYLOAD], slen = t->len[T_SIGNATURE];
	size_t si_len, cap;
	char *block;

	if (slen == 0)
		return acme_problem_set(p, PROB_MALFORMED, "JWS signature is empty");
	if (slen > B64U_ENCLEN(JWS_MAX_SIG))
		return acme_problem_set(p, PROB_MALFORMED, "JWS signature over 1 KiB");
	/* signing input, NUL, payload, NUL, signature */
	si_len = plen + 1 + ylen;
	cap = si_len + 1 + ylen / 4 * 3 + 3 + slen / 4 * 3 + 3;
	if ((block = malloc(cap)) == NULL) {
		log_err("jws: out of memory");
		return acme_problem_set(p, PROB_SERVER_INTERNAL, "out of memory");
	}
	j->signing_input = block;
	j->signing_input_len = si_len;
	memcpy(block, t->s[T_PROTECTED], plen);
	block[plen] = '.';
	memcpy(block + plen + 1, t->s[T_PAYLOAD], ylen);
	block[si_len] = '\0';

	j->payload = (unsigned char *)block + si_len + 1;
	if (b64u_decode_buf(t->s[T_PAYLOAD], ylen, j->payload, ylen / 4 * 3 + 2,
	    &j->payload_len) != ACME_OK)
		return acme_problem_set(p, PROB_MALFORMED, "JWS payload is not base64url");
	j->payload[j->payload_len] = '\0';
	if (j->payload_len > 0) {
		if (acme_json_parse((const char *)j->payload, j->payload_len, &j->payload_json,
		    &why) != ACME_OK)
			return acme_problem_set(p, PROB_MALFORMED,
			    "JWS payload is not valid JSON: %s", why);
		if (!json_object_is_type(j->payload_json, json_type_object))
			return acme_problem_set(p, PROB_MALFORMED,
			    "JWS payload is not a JSON object");
	}

	j->sig = j->payload + j->payload_len + 1;
	if (b64u_decode_buf(t->s[T_SIGNATURE], slen, j->sig, slen / 4 * 3 + 3, &j->sig_len) !=
	    ACME_OK)
		return acme_problem_set(p, PROB_MALFORMED, "JWS signature is not base64url");
	return 0;
}

static int
jws_parse_env(struct jws *out, int allow_mac, int need_nonce, struct acme_problem *p)
{
	struct jws_text t;

	if (jws_members_get(out->envelope, &t, p) < 0 ||
	    jws_header(out, &t, allow_mac, need_nonce, p) < 0 ||
	    jws_body(out, &t, p) < 0) {
		jws_clear(out);
		return -1;
	}
	return 0;
}

int
jws_parse(const unsigned char *body, size_t len, struct jws *out, int allow_mac,
    struct acme_problem *p)
{
	const char *why;

	memset(out, 0, sizeof(*out));
	if (acme_json_parse((const char *)body, len, &out->envelope, &why) != ACME_OK) {
		if (len > 0 && body[0] != '{' && memchr(body, '.', len) != NULL)
			return acme_problem_set(p, PROB_MALFORMED,
			    "JWS compact serialization is not supported; use the flattened "
			    "JSON serialization");
		return acme_problem_set(p, PROB_MALFORMED, "request body is not valid JSON: %s",
		    why);
	}
	return jws_parse_env(out, allow_mac, !allow_mac, p);
}

int
jws_parse_json(struct json_object *obj, struct jws *out, int allow_mac, struct acme_problem *p)
{
	memset(out, 0, sizeof(*out));
	out->envelope = json_object_get(obj);
	return jws_parse_env(out, allow_mac, 0, p);
}

/* JWS R||S (RFC 7518 section 3.4) to the DER that OpenSSL verifies. */
static int
ecdsa_der(const unsigned char *sig, size_t half, unsigned char *der, size_t *der_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *o = der;
	int n, rc = -1;

	if ((r = BN_bin2bn(sig, (int)half, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + half, (int)half, NULL)) == NULL ||
	    (es = ECDSA_SIG_new()) == NULL || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0 || n > ECDSA_DER_MAX || i2d_ECDSA_SIG(es, &o) != n)
		goto out;
	*der_len = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

int
jws_verify(const struct jws *j, EVP_PKEY *key, struct acme_problem *p)
{
	const struct jws_alginfo *ai;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char der[ECDSA_DER_MAX];
	const unsigned char *sig = j->sig;
	size_t sig_len = j->sig_len;
	unsigned type;
	int bits, rc = -1;
	char desc[64];

	if (!IS_ACCOUNT_ALG(j->alg))
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS algorithm %s cannot be verified with a public key", jws_alg_name(j->alg));
	ai = &jws_algs[j->alg];
	if ((type = keypol_type_of(key, &bits)) == 0)
		return acme_problem_set(p, PROB_BAD_PUBLIC_KEY, "key type not supported (%s)",
		    keypol_describe(key, desc, sizeof(desc)));
	if ((type & ai->keys) == 0)
		return acme_problem_set(p, PROB_MALFORMED,
		    "JWS algorithm %s does not match the key (%s)", ai->name,
		    keypol_describe(key, desc, sizeof(desc)));
	if (ai->ec_len != 0) {
		if (sig_len != ai->ec_len)
			return acme_problem_set(p, PROB_MALFORMED,
			    "%s signature must be %zu octets (R||S, not DER)", ai->name, ai->ec_len);
		if (ecdsa_der(j->sig, sig_len / 2, der, &sig_len) < 0) {
			acme_log_ssl("jws: ECDSA signature");
			return acme_problem_set(p, PROB_SERVER_INTERNAL, "ECDSA signature conversion");
		}
		sig = der;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, &pctx, ai->md != NULL ? ai->md() : NULL, NULL, key) <= 0 ||
	    (ai->pss &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, ai->md()) <= 0))) {
		acme_log_ssl("jws: verification setup");
		acme_problem_set(p, PROB_SERVER_INTERNAL, "signature verification failed");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)j->signing_input,
	    j->signing_input_len) != 1) {
		/* The client's fault, not ours: nothing to log. */
		ERR_clear_error();
		acme_problem_set(p, PROB_MALFORMED, "JWS signature invalid");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
jws_verify_mac(const struct jws *j, const unsigned char *key, size_t key_len,
    struct acme_problem *p)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	static const unsigned char empty[1];

	if (!IS_MAC_ALG(j->alg))
		return acme_problem_set(p, PROB_MALFORMED, "JWS algorithm %s is not a MAC",
		    jws_alg_name(j->alg));
	if (EVP_Q_mac(NULL, "HMAC", NULL, EVP_MD_get0_name(jws_algs[j->alg].md()), NULL,
	    key_len ? key : empty, key_len, (const unsigned char *)j->signing_input,
	    j->signing_input_len, mac, sizeof(mac), &mac_len) == NULL) {
		acme_log_ssl("jws: HMAC");
		return acme_problem_set(p, PROB_SERVER_INTERNAL, "MAC computation failed");
	}
	if (j->sig_len != mac_len || CRYPTO_memcmp(j->sig, mac, mac_len) != 0) {
		OPENSSL_cleanse(mac, sizeof(mac));
		return acme_problem_set(p, PROB_MALFORMED, "JWS signature invalid");
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

void
jws_clear(struct jws *j)
{
	if (j == NULL)
		return;
	json_object_put(j->envelope);
	json_object_put(j->header);
	json_object_put(j->payload_json);
	free(j->signing_input);
	memset(j, 0, sizeof(*j));
}
