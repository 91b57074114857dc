#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "tests/lib/testkeys.h"

#define TK_MAX 16

static struct {
	char type[16];
	EVP_PKEY *key;
} tk_cache[TK_MAX];
static int tk_registered;

static void
tk_die(const char *what)
{
	fprintf(stderr, "testkeys: %s\n", what);
	abort();
}

static void
tk_cleanup(void)
{
	int i;

	for (i = 0; i < TK_MAX; i++) {
		EVP_PKEY_free(tk_cache[i].key);
		tk_cache[i].key = NULL;
	}
}

EVP_PKEY *
tk_key(const char *type)
{
	EVP_PKEY *k = NULL;
	int i;

	for (i = 0; i < TK_MAX && tk_cache[i].key != NULL; i++)
		if (strcmp(tk_cache[i].type, type) == 0)
			return tk_cache[i].key;
	if (i == TK_MAX)
		tk_die("cache full");
	if (strncmp(type, "p256", 4) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strncmp(type, "p384", 4) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strncmp(type, "p521", 4) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	else if (strncmp(type, "secp256k1", 9) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	else if (strncmp(type, "ed25519", 7) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strncmp(type, "ed448", 5) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	else if (strncmp(type, "rsa", 3) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(type + 3));
	if (k == NULL)
		tk_die(type);
	if (!tk_registered) {
		atexit(tk_cleanup);
		tk_registered = 1;
	}
	snprintf(tk_cache[i].type, sizeof(tk_cache[i].type), "%s", type);
	tk_cache[i].key = k;
	return k;
}

char *
tk_b64u(const void *data, size_t len)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *in = data;
	char *out, *o;
	size_t i;
	unsigned long v;

	if ((out = o = malloc(len / 3 * 4 + 5)) == NULL)
		tk_die("malloc");
	for (i = 0; i < len; i += 3) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = a[v >> 18 & 63];
		*o++ = a[v >> 12 & 63];
		if (i + 1 < len)
			*o++ = a[v >> 6 & 63];
		if (i + 2 < len)
			*o++ = a[v & 63];
	}
	*o = '\0';
	return out;
}

char *
tk_b64u_str(const char *s)
{
	return tk_b64u(s, strlen(s));
}

char *
tk_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		tk_die("vasprintf");
	va_end(ap);
	return s;
}

/* base64url of a BIGNUM parameter, minimal or padded to pad octets. */
static char *
bn_b64u(EVP_PKEY *key, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	char *s;

	if (!EVP_PKEY_get_bn_param(key, name, &bn))
		tk_die(name);
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	BN_free(bn);
	s = tk_b64u(buf, (size_t)n);
	return s;
}

char *
tk_jwk_json(EVP_PKEY *key)
{
	unsigned char raw[64];
	size_t rawlen = sizeof(raw);
	char *a, *b, *out;
	int id = EVP_PKEY_get_base_id(key), bits;
	const char *crv;

	if (id == EVP_PKEY_RSA) {
		a = bn_b64u(key, OSSL_PKEY_PARAM_RSA_N, 0);
		b = bn_b64u(key, OSSL_PKEY_PARAM_RSA_E, 0);
		out = tk_printf("{\"n\":\"%s\",\"use\":\"sig\",\"kty\":\"RSA\",\"e\":\"%s\"}", a, b);
	} else if (id == EVP_PKEY_EC) {
		bits = EVP_PKEY_get_bits(key);
		crv = bits == 256 ? "P-256" : bits == 384 ? "P-384" : "P-521";
		a = bn_b64u(key, OSSL_PKEY_PARAM_EC_PUB_X, (bits + 7) / 8);
		b = bn_b64u(key, OSSL_PKEY_PARAM_EC_PUB_Y, (bits + 7) / 8);
		out = tk_printf("{\"y\":\"%s\",\"x\":\"%s\",\"use\":\"sig\",\"kty\":\"EC\","
		    "\"crv\":\"%s\"}", b, a, crv);
	} else {
		if (!EVP_PKEY_get_raw_public_key(key, raw, &rawlen))
			tk_die("raw public key");
		a = tk_b64u(raw, rawlen);
		b = NULL;
		out = tk_printf("{\"x\":\"%s\",\"kty\":\"OKP\",\"crv\":\"%s\"}", a,
		    id == EVP_PKEY_ED25519 ? "Ed25519" : "Ed448");
	}
	free(a);
	free(b);
	return out;
}

char *
tk_jws_body(const char *p, const char *y, const char *s)
{
	return tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p, y, s);
}

static const EVP_MD *
tk_md(const char *alg)
{
	if (strcmp(alg, "EdDSA") == 0)
		return NULL;
	if (strcmp(alg + 2, "384") == 0)
		return EVP_sha384();
	if (strcmp(alg + 2, "512") == 0)
		return EVP_sha512();
	return EVP_sha256();
}

/* Assemble the body from the encoded header, payload and the raw signature. */
static char *
tk_finish(char *ph, char *py, const unsigned char *sig, size_t siglen)
{
	char *s = tk_b64u(sig, siglen), *body = tk_jws_body(ph, py, s);

	free(ph);
	free(py);
	free(s);
	return body;
}

char *
tk_jws(EVP_PKEY *key, const char *alg, const char *header, const char *payload, unsigned flags)
{
	char *ph = tk_b64u_str(header), *py = tk_b64u_str(payload), *in;
	unsigned char sig[2048], raw[132];
	const unsigned char *q = sig;
	size_t siglen = sizeof(sig), half;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG *es;

	in = tk_printf("%s.%s", ph, py);
	if (EVP_DigestSignInit(ctx, &pctx, tk_md(alg), NULL, key) <= 0)
		tk_die("sign init");
	if (alg[0] == 'P' && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	    (flags & TK_PSS_SALT20) ? 20 : RSA_PSS_SALTLEN_DIGEST) <= 0))
		tk_die("pss");
	if (EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)in, strlen(in)) <= 0)
		tk_die("sign");
	EVP_MD_CTX_free(ctx);
	free(in);
	if (alg[0] == 'E' && alg[1] == 'S' && !(flags & TK_DER_SIG)) {
		half = strcmp(alg, "ES256") == 0 ? 32 : strcmp(alg, "ES384") == 0 ? 48 : 66;
		if ((es = d2i_ECDSA_SIG(NULL, &q, (long)siglen)) == NULL)
			tk_die("ECDSA DER");
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half);
		ECDSA_SIG_free(es);
		return tk_finish(ph, py, raw, 2 * half);
	}
	return tk_finish(ph, py, sig, siglen);
}

char *
tk_jws_mac(const unsigned char *mac_key, size_t len, const char *alg, const char *header,
    const char *payload)
{
	char *ph = tk_b64u_str(header), *py = tk_b64u_str(payload), *in;
	unsigned char mac[64];
	unsigned int maclen = 0;

	in = tk_printf("%s.%s", ph, py);
	if (HMAC(tk_md(alg), mac_key, (int)len, (unsigned char *)in, strlen(in), mac, &maclen) ==
	    NULL)
		tk_die("HMAC");
	free(in);
	return tk_finish(ph, py, mac, maclen);
}
