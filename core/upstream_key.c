/* RA mode: the upstream account key sealed at rest (see core/upstream_key.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "core/log.h"
#include "core/upstream_key.h"

#define SEAL_MAGIC "AUK1"
#define SEAL_HDR   (4 + 3 + 16 + 12)
#define SEAL_TAG   16
#define SEAL_R     8
#define SEAL_P     1
#define SEAL_MAX_LOG2N 20        /* refuse blobs that would ask for more than 1 GiB */
#define SEAL_PLAIN_MAX (16 * 1024)

unsigned acme_upstream_scrypt_log2n = 15;

/* The AES-256 key from passphrase and the header's salt and cost. */
static enum acme_err
derive(const char *pass, size_t plen, const unsigned char *hdr, unsigned char key[32])
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[6], *p = params;
	uint64_t n = (uint64_t)1 << hdr[4];
	uint32_t r = hdr[5], par = hdr[6];
	enum acme_err rc = ACME_ECRYPTO;

	if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		acme_log_ssl("upstream: scrypt");
		goto out;
	}
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(uintptr_t)pass,
	    plen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)(hdr + 7),
	    16);
	*p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*p++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	*p++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, key, 32, params) != 1) {
		acme_log_ssl("upstream: scrypt derivation");
		goto out;
	}
	rc = ACME_OK;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* AES-256-GCM over in; aad = "acme-upstream-key" 0 dir 0 header. */
static enum acme_err
gcm(int enc, const unsigned char key[32], const unsigned char *hdr, const char *dir,
    const unsigned char *in, size_t inlen, unsigned char *out, unsigned char tag[SEAL_TAG])
{
	static const char label[] = "acme-upstream-key";
	EVP_CIPHER_CTX *c = NULL;
	int n = 0;
	enum acme_err rc = ACME_ECRYPTO;

	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, hdr + 23, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)label, sizeof(label)) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)dir, (int)strlen(dir) + 1) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, hdr, SEAL_HDR) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)inlen) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1) {
		rc = enc ? ACME_ECRYPTO : ACME_EBADSIG;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) != 1)
		goto out;
	rc = ACME_OK;
out:
	if (rc == ACME_ECRYPTO)
		acme_log_ssl("upstream: AES-256-GCM");
	EVP_CIPHER_CTX_free(c);
	return rc;
}

enum acme_err
acme_upstream_seal(EVP_PKEY *key, const char *passphrase, size_t plen, const char *dir,
    unsigned char **out, size_t *outlen)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL, *blob = NULL, *p, k[32];
	size_t len;
	int dlen = 0;
	enum acme_err rc = ACME_ECRYPTO;

	*out = NULL;
	*outlen = 0;
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL || (dlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0 ||
	    dlen > SEAL_PLAIN_MAX) {
		acme_log_ssl("upstream: encoding the account key");
		goto out;
	}
	len = SEAL_HDR + (size_t)dlen + SEAL_TAG;
	if ((blob = malloc(len)) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	memcpy(blob, SEAL_MAGIC, 4);
	blob[4] = (unsigned char)acme_upstream_scrypt_log2n;
	blob[5] = SEAL_R;
	blob[6] = SEAL_P;
	if (RAND_bytes(blob + 7, 16 + 12) != 1) {
		acme_log_ssl("upstream: RAND_bytes");
		goto out;
	}
	if ((rc = derive(passphrase, plen, blob, k)) != ACME_OK)
		goto out;
	p = blob + SEAL_HDR;
	if ((rc = gcm(1, k, blob, dir, der, (size_t)dlen, p, p + dlen)) != ACME_OK)
		goto out;
	*out = blob;
	*outlen = len;
	blob = NULL;
out:
	OPENSSL_cleanse(k, sizeof(k));
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (der != NULL) {
		OPENSSL_cleanse(der, (size_t)dlen);
		OPENSSL_free(der);
	}
	free(blob);
	return rc;
}

enum acme_err
acme_upstream_open(const unsigned char *sealed, size_t len, const char *passphrase,
    size_t plen, const char *dir, EVP_PKEY **key)
{
	unsigned char *plain = NULL, k[32], tag[SEAL_TAG];
	const unsigned char *p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	size_t clen = 0;
	enum acme_err rc = ACME_EINVAL;

	*key = NULL;
	if (sealed == NULL || len < SEAL_HDR + SEAL_TAG + 1 || len > SEAL_PLAIN_MAX + 64 ||
	    memcmp(sealed, SEAL_MAGIC, 4) != 0 || sealed[4] < 10 || sealed[4] > SEAL_MAX_LOG2N ||
	    sealed[5] == 0 || sealed[5] > 32 || sealed[6] == 0 || sealed[6] > 16)
		goto out;
	clen = len - SEAL_HDR - SEAL_TAG;
	if ((plain = malloc(clen + 16)) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	if ((rc = derive(passphrase, plen, sealed, k)) != ACME_OK)
		goto out;
	memcpy(tag, sealed + len - SEAL_TAG, SEAL_TAG);
	if ((rc = gcm(0, k, sealed, dir, sealed + SEAL_HDR, clen, plain, tag)) != ACME_OK)
		goto out;
	p = plain;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)clen)) == NULL ||
	    (*key = EVP_PKCS82PKEY(p8)) == NULL) {
		acme_log_ssl("upstream: decoding the account key");
		rc = ACME_EINVAL;
		goto out;
	}
	rc = ACME_OK;
out:
	OPENSSL_cleanse(k, sizeof(k));
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (plain != NULL) {
		OPENSSL_cleanse(plain, clen);
		free(plain);
	}
	return rc;
}

enum acme_err
acme_upstream_keygen(const char *type, EVP_PKEY **key)
{
	*key = NULL;
	if (strcmp(type, "p256") == 0)
		*key = EVP_EC_gen("P-256");
	else if (strcmp(type, "p384") == 0)
		*key = EVP_EC_gen("P-384");
	else if (strcmp(type, "rsa2048") == 0)
		*key = EVP_RSA_gen(2048);
	else if (strcmp(type, "rsa3072") == 0)
		*key = EVP_RSA_gen(3072);
	else if (strcmp(type, "rsa4096") == 0)
		*key = EVP_RSA_gen(4096);
	else
		return ACME_EUNSUPPORTED;
	if (*key == NULL) {
		acme_log_ssl("upstream: generating the account key");
		return ACME_ECRYPTO;
	}
	return ACME_OK;
}
