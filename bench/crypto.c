/* P-256 keys, JWK and thumbprint, ES256 JWS, CSRs: the client side only. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bench/bench.h"

static EVP_MD *sha256;

static void
ossl_die(const char *what)
{
	char msg[256];

	ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
	bn_die("%s: %s", what, msg);
}

void
bn_crypto_init(void)
{
	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		ossl_die("EVP_MD_fetch(SHA256)");
}

void
bn_key_gen(struct bn_key *k)
{
	unsigned char *pub = NULL, dig[32];
	size_t publen;
	struct bn_buf x = { 0 }, y = { 0 }, canon = { 0 };
	unsigned int diglen = 0;

	memset(k, 0, sizeof(*k));
	if ((k->pkey = EVP_EC_gen("P-256")) == NULL)
		ossl_die("EVP_EC_gen(P-256)");
	publen = EVP_PKEY_get1_encoded_public_key(k->pkey, &pub);
	if (publen != 65 || pub[0] != 0x04)
		bn_die("unexpected P-256 public key encoding (%zu bytes)", publen);
	bn_b64u(&x, pub + 1, 32);
	bn_b64u(&y, pub + 33, 32);
	/* Members in lexical order: the JWK is also the thumbprint input. */
	bn_buf_printf(&canon, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x.p, y.p);
	if (canon.len >= sizeof(k->jwk))
		bn_die("JWK too long");
	memcpy(k->jwk, canon.p, canon.len + 1);
	if (!EVP_Digest(canon.p, canon.len, dig, &diglen, sha256, NULL))
		ossl_die("EVP_Digest");
	bn_buf_reset(&x);
	bn_b64u(&x, dig, diglen);
	memcpy(k->thumb, x.p, BN_THUMB_LEN);
	k->thumb[BN_THUMB_LEN] = '\0';
	OPENSSL_free(pub);
	pub = NULL;
	{
		int n = i2d_PUBKEY(k->pkey, NULL);
		unsigned char *pp = k->spki;

		if (n <= 0 || (size_t)n > sizeof(k->spki) || i2d_PUBKEY(k->pkey, &pp) != n)
			ossl_die("i2d_PUBKEY");
		k->spki_len = (size_t)n;
	}
	bn_buf_free(&x);
	bn_buf_free(&y);
	bn_buf_free(&canon);
}

void
bn_key_free(struct bn_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

/* ES256 over data: the raw 64-byte r||s that JWS wants (RFC 7518 3.4). */
static void
es256(EVP_PKEY *pkey, const char *data, size_t len, unsigned char out[64])
{
	unsigned char dig[32], der[80];
	const unsigned char *pp;
	size_t derlen = sizeof(der);
	unsigned int diglen = 0;
	EVP_PKEY_CTX *ctx;
	ECDSA_SIG *sig;
	const BIGNUM *r, *s;

	if (!EVP_Digest(data, len, dig, &diglen, sha256, NULL))
		ossl_die("EVP_Digest");
	/* A context per signature: account keys are shared by the loop threads. */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) <= 0 || EVP_PKEY_sign(ctx, der, &derlen, dig, diglen) <= 0)
		ossl_die("ECDSA sign");
	EVP_PKEY_CTX_free(ctx);
	pp = der;
	if ((sig = d2i_ECDSA_SIG(NULL, &pp, (long)derlen)) == NULL)
		ossl_die("d2i_ECDSA_SIG");
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32)
		bn_die("ECDSA signature out of range");
	ECDSA_SIG_free(sig);
}

void
bn_jws(struct bn_buf *out, const struct bn_key *k, const char *kid, const char *nonce,
    const char *url, const char *payload)
{
	struct bn_buf hdr = { 0 }, signing = { 0 };
	unsigned char sig[64];
	size_t mark;

	if (kid != NULL)
		bn_buf_printf(&hdr, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
		    kid, nonce, url);
	else
		bn_buf_printf(&hdr, "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
		    k->jwk, nonce, url);
	bn_b64u(&signing, (const unsigned char *)hdr.p, hdr.len);
	mark = signing.len;
	bn_buf_adds(&signing, ".");
	if (payload != NULL)
		bn_b64u(&signing, (const unsigned char *)payload, strlen(payload));
	es256(k->pkey, signing.p, signing.len, sig);

	bn_buf_adds(out, "{\"protected\":\"");
	bn_buf_add(out, signing.p, mark);
	bn_buf_adds(out, "\",\"payload\":\"");
	bn_buf_add(out, signing.p + mark + 1, signing.len - mark - 1);
	bn_buf_adds(out, "\",\"signature\":\"");
	bn_b64u(out, sig, sizeof(sig));
	bn_buf_adds(out, "\"}");
	bn_buf_free(&hdr);
	bn_buf_free(&signing);
}

/* Append tag, DER length and content to out. */
static void
der_tlv(struct bn_buf *out, unsigned char tag, const void *content, size_t len)
{
	unsigned char h[6];
	size_t n = 0;

	h[n++] = tag;
	if (len < 0x80) {
		h[n++] = (unsigned char)len;
	} else if (len < 0x100) {
		h[n++] = 0x81;
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = 0x82;
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	}
	bn_buf_add(out, h, n);
	bn_buf_add(out, content, len);
}

/*
 * A PKCS#10 request (RFC 2986) written directly in DER: OpenSSL 3.0's
 * X509_REQ path goes through its encoders and costs ~235 us per CSR, ten
 * times the signature, which would make the client the bottleneck. The
 * structure is fixed: subject CN=name, the key's SubjectPublicKeyInfo
 * (encoded once per key), an extensionRequest with subjectAltName
 * dNSName=name, ecdsa-with-SHA256. The signature is OpenSSL's.
 */
void
bn_csr(struct bn_buf *out, const struct bn_key *k, const char *name)
{
	static const unsigned char oid_cn[] = { 0x06, 0x03, 0x55, 0x04, 0x03 };
	static const unsigned char oid_extreq[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
	    0x01, 0x09, 0x0e };
	static const unsigned char oid_san[] = { 0x06, 0x03, 0x55, 0x1d, 0x11 };
	static const unsigned char alg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	    0x04, 0x03, 0x02 };
	static const unsigned char version[] = { 0x02, 0x01, 0x00 };
	struct bn_buf a = { 0 }, b = { 0 }, cri = { 0 }, csr = { 0 };
	unsigned char dig[32], sig[80];
	size_t nlen = strlen(name), siglen = sizeof(sig);
	unsigned int diglen = 0;
	EVP_PKEY_CTX *ctx;

	/* subject: SEQUENCE { SET { SEQUENCE { CN, UTF8String } } } */
	bn_buf_add(&a, oid_cn, sizeof(oid_cn));
	der_tlv(&a, 0x0c, name, nlen);
	der_tlv(&b, 0x30, a.p, a.len);
	bn_buf_reset(&a);
	der_tlv(&a, 0x31, b.p, b.len);
	bn_buf_add(&cri, version, sizeof(version));
	der_tlv(&cri, 0x30, a.p, a.len);
	bn_buf_add(&cri, k->spki, k->spki_len);

	/* [0] { SEQUENCE { extensionRequest, SET { SEQUENCE { SEQUENCE { SAN,
	 * OCTET STRING { SEQUENCE { [2] name } } } } } } } */
	bn_buf_reset(&a);
	bn_buf_reset(&b);
	der_tlv(&a, 0x82, name, nlen);
	der_tlv(&b, 0x30, a.p, a.len);
	bn_buf_reset(&a);
	bn_buf_add(&a, oid_san, sizeof(oid_san));
	der_tlv(&a, 0x04, b.p, b.len);
	bn_buf_reset(&b);
	der_tlv(&b, 0x30, a.p, a.len);             /* Extension */
	bn_buf_reset(&a);
	der_tlv(&a, 0x30, b.p, b.len);             /* Extensions */
	bn_buf_reset(&b);
	der_tlv(&b, 0x31, a.p, a.len);             /* SET OF values */
	bn_buf_reset(&a);
	bn_buf_add(&a, oid_extreq, sizeof(oid_extreq));
	bn_buf_add(&a, b.p, b.len);
	bn_buf_reset(&b);
	der_tlv(&b, 0x30, a.p, a.len);             /* Attribute */
	der_tlv(&cri, 0xa0, b.p, b.len);           /* attributes [0] */

	bn_buf_reset(&a);
	der_tlv(&a, 0x30, cri.p, cri.len);         /* CertificationRequestInfo */
	if (!EVP_Digest(a.p, a.len, dig, &diglen, sha256, NULL))
		ossl_die("EVP_Digest");
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) <= 0 || EVP_PKEY_sign(ctx, sig + 1, &siglen, dig, diglen) <= 0)
		ossl_die("CSR sign");
	EVP_PKEY_CTX_free(ctx);
	sig[0] = 0;                                /* BIT STRING: no unused bits */
	bn_buf_add(&a, alg, sizeof(alg));
	der_tlv(&a, 0x03, sig, siglen + 1);
	der_tlv(&csr, 0x30, a.p, a.len);
	bn_b64u(out, (const unsigned char *)csr.p, csr.len);
	bn_buf_free(&a);
	bn_buf_free(&b);
	bn_buf_free(&cri);
	bn_buf_free(&csr);
}
