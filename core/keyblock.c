/* Blocked keys: naming a key, checking and blocking it (see core/keyblock.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "core/b64.h"
#include "core/keyblock.h"
#include "core/log.h"

enum acme_err
acme_spki_hash(EVP_PKEY *pkey, char hash[STORE_THUMB_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	EVP_PKEY *canon = NULL, *k = pkey;
	enum acme_err rc = ACME_ECRYPTO;
	int len;

	hash[0] = '\0';
	if (pkey == NULL)
		goto out;
	/* An EC point may be encoded compressed, and the curve given by its
	 * parameters: the same key must not escape its block that way. */
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		if ((canon = EVP_PKEY_dup(pkey)) == NULL ||
		    !EVP_PKEY_set_utf8_string_param(canon, OSSL_PKEY_PARAM_EC_ENCODING,
		    OSSL_PKEY_EC_ENCODING_GROUP) ||
		    !EVP_PKEY_set_utf8_string_param(canon, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED)) {
			acme_log_ssl("keyblock: normalising an EC key");
			goto out;
		}
		k = canon;
	}
	if ((len = i2d_PUBKEY(k, &der)) <= 0 ||
	    !EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		acme_log_ssl("keyblock: hashing a public key");
		goto out;
	}
	b64u_encode_buf(md, mdlen, hash);
	rc = ACME_OK;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(canon);
	return rc;
}

enum store_err
acme_key_blocked(struct store_txn *t, const char *hash, int *blocked)
{
	struct store_blocked_key b;
	enum store_err e;

	*blocked = 0;
	e = store_blocked_key_get(t, hash, &b);
	store_blocked_key_free(&b);
	if (e == STORE_OK)
		*blocked = 1;
	return e == STORE_NOTFOUND ? STORE_OK : e;
}

enum store_err
acme_key_block(struct store_txn *t, const struct store_cert *c, int64_t now)
{
	struct store_blocked_key b;
	const unsigned char *p = c->der;
	X509 *x = NULL;
	enum store_err e = STORE_ERR;
	int blocked = 0;

	memset(&b, 0, sizeof(b));
	if (p == NULL || (x = d2i_X509(NULL, &p, (long)c->der_len)) == NULL ||
	    acme_spki_hash(X509_get0_pubkey(x), b.hash) != ACME_OK) {
		log_err("certificate %s: cannot read its public key to block it", c->serial);
		goto out;
	}
	/* Blocked before: the first record stays. */
	if ((e = acme_key_blocked(t, b.hash, &blocked)) != STORE_OK || blocked)
		goto out;
	b.created = now;
	snprintf(b.serial, sizeof(b.serial), "%s", c->serial);
	snprintf(b.dir, sizeof(b.dir), "%s", c->dir);
	e = store_blocked_key_put(t, &b, STORE_PUT_CREATE);
out:
	store_blocked_key_free(&b);
	X509_free(x);
	return e;
}
