/*
 * JWS for the RA's upstream account (RFC 7515, RFC 8555 section 6.2): the
 * flattened JSON serialization, signed with the account key (ES256/384/512
 * with r||s of the curve's size, RS256), and the External Account Binding's
 * HS256 JWS. The public JWK comes from the core (core/jwk.c), so the
 * thumbprint here is the one the core computes for any key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>

#include "core/b64.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/log.h"
#include "validators/upstream.h"

enum acme_err
ups_key_init(struct ups_key *k, EVP_PKEY *pkey)
{
	struct acme_jwk j;
	char curve[32];
	enum acme_err rc;

	memset(k, 0, sizeof(*k));
	memset(&j, 0, sizeof(j));
	k->pkey = pkey;
	if ((rc = jwk_from_pkey(pkey, &j)) != ACME_OK)
		goto out;
	if ((k->jwk = strdup(j.canon)) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	memcpy(k->thumb, j.thumb, sizeof(k->thumb));
	rc = ACME_EUNSUPPORTED;
	if (j.kty == JWK_KTY_RSA) {
		k->alg = "RS256";
	} else if (j.kty == JWK_KTY_EC && EVP_PKEY_get_utf8_string_param(pkey,
	    OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), NULL) == 1) {
		if (strcmp(curve, "prime256v1") == 0 || strcmp(curve, "P-256") == 0)
			k->alg = "ES256";
		else if (strcmp(curve, "secp384r1") == 0 || strcmp(curve, "P-384") == 0)
			k->alg = "ES384";
		else if (strcmp(curve, "secp521r1") == 0 || strcmp(curve, "P-521") == 0)
			k->alg = "ES512";
	}
	if (k->alg != NULL)
		rc = ACME_OK;
out:
	jwk_clear(&j);
	if (rc != ACME_OK) {
		log_err("upstream: the account key is not usable for JWS (%s)", acme_strerror(rc));
		ups_key_clear(k);
	}
	return rc;
}

void
ups_key_clear(struct ups_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->jwk);
	memset(k, 0, sizeof(*k));
}

/* The JWS signature over input: ECDSA as r||s (RFC 7518 section 3.4). */
static char *
sign(const struct ups_key *k, const char *input)
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	const unsigned char *p;
	unsigned char *der = NULL, raw[132];
	const EVP_MD *h = EVP_sha256();
	size_t len = 0, n = 0;
	char *out = NULL;

	if (strcmp(k->alg, "ES384") == 0)
		h = EVP_sha384(), n = 48;
	else if (strcmp(k->alg, "ES512") == 0)
		h = EVP_sha512(), n = 66;
	else if (strcmp(k->alg, "ES256") == 0)
		n = 32;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, h, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &len, (const unsigned char *)input, strlen(input)) != 1 ||
	    (der = malloc(len)) == NULL ||
	    EVP_DigestSign(md, der, &len, (const unsigned char *)input, strlen(input)) != 1) {
		acme_log_ssl("upstream: signing");
		goto out;
	}
	if (n == 0) {
		out = b64u_encode(der, len);
		goto out;
	}
	p = der;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)n) != (int)n ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + n, (int)n) != (int)n) {
		acme_log_ssl("upstream: ECDSA signature");
		goto out;
	}
	out = b64u_encode(raw, 2 * n);
out:
	ECDSA_SIG_free(es);
	free(der);
	EVP_MD_CTX_free(md);
	return out;
}

/* {"protected":..., "payload":..., "signature":...} from the protected
 * header object and the payload text; sig signs "prot.payload". */
static char *
flatten(struct json_object *hdr, const char *payload,
    char *(*sig)(const void *ctx, const char *input), const void *ctx)
{
	struct json_object *o = NULL;
	char *h = NULL, *ph = NULL, *pp = NULL, *input = NULL, *s = NULL, *out = NULL;

	if ((h = acme_json_dump(hdr)) == NULL ||
	    (ph = b64u_encode((const unsigned char *)h, strlen(h))) == NULL ||
	    (pp = b64u_encode((const unsigned char *)payload, strlen(payload))) == NULL ||
	    asprintf(&input, "%s.%s", ph, pp) < 0) {
		input = NULL;
		goto out;
	}
	if ((s = sig(ctx, input)) == NULL || (o = json_object_new_object()) == NULL)
		goto out;
	acme_json_add_str(o, "protected", ph);
	acme_json_add_str(o, "payload", pp);
	acme_json_add_str(o, "signature", s);
	out = acme_json_dump(o);
out:
	json_object_put(o);
	free(h);
	free(ph);
	free(pp);
	free(input);
	free(s);
	return out;
}

static char *
key_sig(const void *ctx, const char *input)
{
	return sign(ctx, input);
}

char *
ups_jws(const struct ups_key *k, const char *kid, const char *nonce, const char *url,
    const char *payload)
{
	struct json_object *hdr = json_object_new_object(), *jwk = NULL;
	const char *why;
	char *out = NULL;

	if (hdr == NULL)
		return NULL;
	acme_json_add_str(hdr, "alg", k->alg);
	if (kid != NULL) {
		acme_json_add_str(hdr, "kid", kid);
	} else {
		if (acme_json_parse(k->jwk, strlen(k->jwk), &jwk, &why) != ACME_OK)
			goto out;
		json_object_object_add(hdr, "jwk", jwk);
	}
	acme_json_add_str(hdr, "nonce", nonce);
	acme_json_add_str(hdr, "url", url);
	out = flatten(hdr, payload, key_sig, k);
out:
	json_object_put(hdr);
	return out;
}

struct hmac_ctx {
	const unsigned char *key;
	size_t len;
};

static char *
hmac_sig(const void *ctx, const char *input)
{
	const struct hmac_ctx *h = ctx;
	unsigned char mac[32];
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), h->key, (int)h->len, (const unsigned char *)input, strlen(input), mac,
	    &n) == NULL) {
		acme_log_ssl("upstream: HMAC");
		return NULL;
	}
	return b64u_encode(mac, n);
}

char *
ups_eab(const struct ups_key *k, const char *eab_kid, const unsigned char *hmac, size_t hmac_len,
    const char *url)
{
	struct json_object *hdr = json_object_new_object();
	struct hmac_ctx h = { hmac, hmac_len };
	char *out;

	if (hdr == NULL)
		return NULL;
	acme_json_add_str(hdr, "alg", "HS256");
	acme_json_add_str(hdr, "kid", eab_kid);
	acme_json_add_str(hdr, "url", url);
	out = flatten(hdr, k->jwk, hmac_sig, &h);
	json_object_put(hdr);
	OPENSSL_cleanse(&h, sizeof(h));
	return out;
}
