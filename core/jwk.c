/*
 * Public JWKs. Both directions (JSON -> key in jwk_parse, key -> JSON in
 * jwk_from_pkey) meet in struct jwk_parts, the key's raw components, from
 * which jwk_finish writes the canonical text and the thumbprint, so that a key
 * has one canonical form whichever way it came in.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "core/b64.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/keypol.h"
#include "core/log.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define RSA_MAX_E    8          /* octets: OpenSSL's limit for large moduli */
#define COORD_MAX    66

struct jwk_curve {
	const char *crv;       /* JWK "crv" */
	enum jwk_kty kty;
	int nid;
	unsigned type;         /* enum keypol_type */
	const char *ossl;      /* OpenSSL group or key type name */
	size_t len;            /* coordinate octets */
	int bits;
	const char *alg;       /* the JWS alg that goes with it */
};

static const struct jwk_curve jwk_curves[] = {
	{ "P-256", JWK_KTY_EC, NID_X9_62_prime256v1, KEYPOL_P256, "P-256", 32, 256, "ES256" },
	{ "P-384", JWK_KTY_EC, NID_secp384r1, KEYPOL_P384, "P-384", 48, 384, "ES384" },
	{ "P-521", JWK_KTY_EC, NID_secp521r1, KEYPOL_P521, "P-521", 66, 521, "ES512" },
	{ "Ed25519", JWK_KTY_OKP, NID_ED25519, KEYPOL_ED25519, "ED25519", 32, 255, "EdDSA" },
	{ "Ed448", JWK_KTY_OKP, NID_ED448, KEYPOL_ED448, "ED448", 57, 448, "EdDSA" },
};
#define NCURVES (sizeof(jwk_curves) / sizeof(jwk_curves[0]))

static const char *const rsa_algs[] = { "RS256", "RS384", "RS512", "PS256", "PS384", "PS512" };
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };

/* A public key as raw big-endian components: RSA n and e, EC x and y, OKP x. */
struct jwk_parts {
	enum jwk_kty kty;
	const struct jwk_curve *curve;   /* NULL for RSA */
	int bits;
	size_t alen, blen;
	unsigned char a[RSA_MAX_BITS / 8];
	unsigned char b[COORD_MAX];
};

static const struct jwk_curve *
curve_by_name(const char *crv, enum jwk_kty kty)
{
	size_t i;

	for (i = 0; i < NCURVES; i++)
		if (jwk_curves[i].kty == kty && strcmp(jwk_curves[i].crv, crv) == 0)
			return &jwk_curves[i];
	return NULL;
}

static const struct jwk_curve *
curve_by_type(unsigned type)
{
	size_t i;

	for (i = 0; i < NCURVES; i++)
		if (jwk_curves[i].type == type)
			return &jwk_curves[i];
	return NULL;
}

/* Write the canonical JSON (RFC 7638 section 3.2) and the thumbprint. */
static enum acme_err
jwk_finish(const struct jwk_parts *kp, struct acme_jwk *out)
{
	unsigned char md[32];
	char *s, *o;

	s = malloc(64 + B64U_ENCLEN(kp->alen) + B64U_ENCLEN(kp->blen));
	if ((o = s) == NULL) {
		log_err("jwk: out of memory");
		return ACME_ENOMEM;
	}
	if (kp->kty == JWK_KTY_RSA) {
		o = stpcpy(o, "{\"e\":\"");
		o += b64u_encode_buf(kp->b, kp->blen, o);
		o = stpcpy(o, "\",\"kty\":\"RSA\",\"n\":\"");
		o += b64u_encode_buf(kp->a, kp->alen, o);
	} else {
		o = stpcpy(o, "{\"crv\":\"");
		o = stpcpy(o, kp->curve->crv);
		o = stpcpy(o, kp->kty == JWK_KTY_EC ? "\",\"kty\":\"EC\",\"x\":\"" :
		    "\",\"kty\":\"OKP\",\"x\":\"");
		o += b64u_encode_buf(kp->a, kp->alen, o);
		if (kp->kty == JWK_KTY_EC) {
			o = stpcpy(o, "\",\"y\":\"");
			o += b64u_encode_buf(kp->b, kp->blen, o);
		}
	}
	o = stpcpy(o, "\"}");
	if (!EVP_Digest(s, (size_t)(o - s), md, NULL, EVP_sha256(), NULL)) {
		acme_log_ssl("jwk: SHA-256");
		free(s);
		return ACME_ECRYPTO;
	}
	b64u_encode_buf(md, sizeof(md), out->thumb);
	out->canon = s;
	out->kty = kp->kty;
	out->curve_nid = kp->curve != NULL ? kp->curve->nid : 0;
	out->bits = kp->bits;
	return ACME_OK;
}

/* Decode member name of jwk into buf: exactly len octets if exact, else 1 to
 * cap octets with no leading zero octet. */
static enum acme_err
get_octets(struct json_object *jwk, const char *name, unsigned char *buf, size_t cap,
    size_t *len, int exact, const char **why)
{
	const char *s;
	enum acme_err rc;

	if ((s = acme_json_str(jwk, name)) == NULL) {
		*why = "JWK lacks a required member (or it is not a string)";
		return ACME_EINVAL;
	}
	rc = b64u_decode_buf(s, strlen(s), buf, cap, len);
	if (rc == ACME_ETOOBIG && !exact) {
		*why = name[0] == 'n' ? "RSA modulus larger than 8192 bits" :
		    "RSA public exponent too large";
		return ACME_EUNSUPPORTED;
	}
	if (rc != ACME_OK) {
		*why = exact ? "JWK coordinate of the wrong length or not base64url" :
		    "JWK integer is not base64url";
		return ACME_EINVAL;
	}
	if (exact ? *len != cap : *len == 0 || buf[0] == 0) {
		*why = exact ? "JWK coordinate of the wrong length" :
		    "JWK integer is empty or has leading zero octets";
		return ACME_EINVAL;
	}
	return ACME_OK;
}

static int
bit_length(const unsigned char *a, size_t len)
{
	int bits = (int)len * 8;
	unsigned char top = a[0];

	while (!(top & 0x80)) {
		top <<= 1;
		bits--;
	}
	return bits;
}

static enum acme_err
rsa_build(struct jwk_parts *kp, EVP_PKEY **pkey, const char **why)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	enum acme_err rc = ACME_ECRYPTO;

	kp->bits = bit_length(kp->a, kp->alen);
	if (kp->bits < RSA_MIN_BITS || kp->bits > RSA_MAX_BITS) {
		*why = "RSA modulus must have 2048 to 8192 bits";
		return ACME_EUNSUPPORTED;
	}
	if (!(kp->a[kp->alen - 1] & 1)) {
		*why = "RSA modulus is even";
		return ACME_EINVAL;
	}
	if (!(kp->b[kp->blen - 1] & 1) || (kp->blen == 1 && kp->b[0] < 3)) {
		*why = "RSA public exponent must be odd and at least 3";
		return ACME_EUNSUPPORTED;
	}
	if ((n = BN_bin2bn(kp->a, (int)kp->alen, NULL)) == NULL ||
	    (e = BN_bin2bn(kp->b, (int)kp->blen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		acme_log_ssl("jwk: building an RSA key");
		*why = "cannot build the RSA key";
		goto out;
	}
	rc = ACME_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

static enum acme_err
ec_build(const struct jwk_parts *kp, EVP_PKEY **pkey, const char **why)
{
	unsigned char pub[1 + 2 * COORD_MAX];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	enum acme_err rc = ACME_EINVAL;

	pub[0] = 0x04;
	memcpy(pub + 1, kp->a, kp->alen);
	memcpy(pub + 1 + kp->alen, kp->b, kp->blen);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)kp->curve->ossl, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub,
	    1 + kp->alen + kp->blen);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0) {
		acme_log_ssl("jwk: EC key context");
		rc = ACME_ECRYPTO;
		goto out;
	}
	/* Import already refuses most bad points; the check makes sure. On
	 * these prime-order curves the quick check (on the curve, not at
	 * infinity, coordinates in range) is the full check. */
	if (EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    (chk = EVP_PKEY_CTX_new_from_pkey(NULL, *pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(chk) <= 0) {
		ERR_clear_error();
		*why = "EC point is not on the curve";
		rc = ACME_EUNSUPPORTED;     /* a refused key: badPublicKey (JWS-15) */
		goto out;
	}
	rc = ACME_OK;
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static enum acme_err
okp_build(const struct jwk_parts *kp, EVP_PKEY **pkey, const char **why)
{
	if ((*pkey = EVP_PKEY_new_raw_public_key_ex(NULL, kp->curve->ossl, NULL, kp->a,
	    kp->alen)) == NULL) {
		ERR_clear_error();
		*why = "bad OKP public key";
		return ACME_EINVAL;
	}
	return ACME_OK;
}

/* An "alg" member, if present, must be one that the key can sign with. */
static int
alg_fits(struct json_object *jwk, const struct jwk_parts *kp)
{
	struct json_object *v;
	const char *alg;
	size_t i;

	if (!json_object_object_get_ex(jwk, "alg", &v))
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return 0;
	alg = json_object_get_string(v);
	if (kp->kty != JWK_KTY_RSA)
		return strcmp(alg, kp->curve->alg) == 0;
	for (i = 0; i < sizeof(rsa_algs) / sizeof(rsa_algs[0]); i++)
		if (strcmp(alg, rsa_algs[i]) == 0)
			return 1;
	return 0;
}

enum acme_err
jwk_parse(struct json_object *jwk, struct acme_jwk *out, const char **why)
{
	struct jwk_parts kp;
	EVP_PKEY *pkey = NULL;
	const char *kty, *crv;
	enum acme_err rc = ACME_EINVAL;
	size_t i;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (!json_object_is_type(jwk, json_type_object)) {
		*why = "JWK is not a JSON object";
		return ACME_EINVAL;
	}
	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
		if (json_object_object_get_ex(jwk, private_members[i], NULL)) {
			*why = "JWK contains private key material";
			return ACME_EINVAL;
		}
	}
	memset(&kp, 0, offsetof(struct jwk_parts, a));
	if ((kty = acme_json_str(jwk, "kty")) == NULL) {
		*why = "JWK has no kty string";
		goto out;
	}
	if (strcmp(kty, "RSA") == 0) {
		kp.kty = JWK_KTY_RSA;
		if ((rc = get_octets(jwk, "n", kp.a, sizeof(kp.a), &kp.alen, 0, why)) != ACME_OK ||
		    (rc = get_octets(jwk, "e", kp.b, RSA_MAX_E, &kp.blen, 0, why)) != ACME_OK)
			goto out;
	} else if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		kp.kty = kty[0] == 'E' ? JWK_KTY_EC : JWK_KTY_OKP;
		if ((crv = acme_json_str(jwk, "crv")) == NULL) {
			*why = "JWK has no crv string";
			rc = ACME_EINVAL;
			goto out;
		}
		if ((kp.curve = curve_by_name(crv, kp.kty)) == NULL) {
			*why = kp.kty == JWK_KTY_EC ? "unsupported curve (P-256, P-384, P-521)" :
			    "unsupported OKP curve (Ed25519, Ed448)";
			rc = ACME_EUNSUPPORTED;
			goto out;
		}
		kp.bits = kp.curve->bits;
		if ((rc = get_octets(jwk, "x", kp.a, kp.curve->len, &kp.alen, 1, why)) != ACME_OK ||
		    (kp.kty == JWK_KTY_EC &&
		    (rc = get_octets(jwk, "y", kp.b, kp.curve->len, &kp.blen, 1, why)) != ACME_OK))
			goto out;
	} else {
		*why = "unsupported kty (RSA, EC, OKP)";
		rc = ACME_EUNSUPPORTED;
		goto out;
	}
	if (!alg_fits(jwk, &kp)) {
		*why = "JWK alg does not match the key";
		rc = ACME_EINVAL;
		goto out;
	}
	rc = kp.kty == JWK_KTY_RSA ? rsa_build(&kp, &pkey, why) :
	    kp.kty == JWK_KTY_EC ? ec_build(&kp, &pkey, why) : okp_build(&kp, &pkey, why);
	if (rc != ACME_OK)
		goto out;
	if ((rc = jwk_finish(&kp, out)) != ACME_OK) {
		*why = "internal error";
		goto out;
	}
	out->pkey = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	return rc;
}

enum acme_err
jwk_parse_text(const char *text, struct acme_jwk *out, const char **why)
{
	struct json_object *o = NULL;
	enum acme_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = acme_json_parse(text, strlen(text), &o, why)) != ACME_OK)
		return rc;
	rc = jwk_parse(o, out, why);
	json_object_put(o);
	return rc;
}

/* Big-endian bytes of a BIGNUM parameter of pkey: minimal, or padded to pad. */
static enum acme_err
bn_param(EVP_PKEY *pkey, const char *name, unsigned char *buf, size_t cap, size_t pad,
    size_t *len)
{
	BIGNUM *bn = NULL;
	enum acme_err rc = ACME_ECRYPTO;
	int n;

	if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) {
		acme_log_ssl("jwk: reading a public key");
		goto out;
	}
	if ((size_t)BN_num_bytes(bn) > (pad ? pad : cap)) {
		rc = ACME_EUNSUPPORTED;
		goto out;
	}
	n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
	if (n <= 0) {
		rc = ACME_EUNSUPPORTED;
		goto out;
	}
	*len = (size_t)n;
	rc = ACME_OK;
out:
	BN_free(bn);
	return rc;
}

enum acme_err
jwk_from_pkey(EVP_PKEY *pkey, struct acme_jwk *out)
{
	struct jwk_parts kp;
	unsigned type;
	enum acme_err rc;
	int bits;

	memset(out, 0, sizeof(*out));
	memset(&kp, 0, offsetof(struct jwk_parts, a));
	if ((type = keypol_type_of(pkey, &bits)) == 0)
		return ACME_EUNSUPPORTED;
	kp.bits = bits;
	if (type == KEYPOL_RSA) {
		kp.kty = JWK_KTY_RSA;
		if ((rc = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, kp.a, sizeof(kp.a), 0,
		    &kp.alen)) != ACME_OK ||
		    (rc = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, kp.b, RSA_MAX_E, 0,
		    &kp.blen)) != ACME_OK)
			return rc;
	} else {
		kp.curve = curve_by_type(type);
		kp.kty = kp.curve->kty;
		kp.alen = kp.curve->len;
		if (kp.kty == JWK_KTY_OKP) {
			if (!EVP_PKEY_get_raw_public_key(pkey, kp.a, &kp.alen) ||
			    kp.alen != kp.curve->len) {
				acme_log_ssl("jwk: reading an OKP key");
				return ACME_ECRYPTO;
			}
		} else if ((rc = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, kp.a, COORD_MAX,
		    kp.curve->len, &kp.alen)) != ACME_OK ||
		    (rc = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kp.b, COORD_MAX,
		    kp.curve->len, &kp.blen)) != ACME_OK)
			return rc;
	}
	if ((rc = jwk_finish(&kp, out)) != ACME_OK)
		return rc;
	if (!EVP_PKEY_up_ref(pkey)) {
		jwk_clear(out);
		return ACME_ECRYPTO;
	}
	out->pkey = pkey;
	return ACME_OK;
}

enum acme_err
jwk_thumbprint_pkey(EVP_PKEY *pkey, char thumb[44])
{
	struct acme_jwk k;
	enum acme_err rc;

	if ((rc = jwk_from_pkey(pkey, &k)) != ACME_OK)
		return rc;
	memcpy(thumb, k.thumb, sizeof(k.thumb));
	jwk_clear(&k);
	return ACME_OK;
}

void
jwk_clear(struct acme_jwk *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->canon);
	memset(k, 0, sizeof(*k));
}
