/* The names of blocked keys (core/keyblock.c): the SHA-256 of the DER
 * SubjectPublicKeyInfo, the same for every encoding of one EC key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "core/keyblock.h"
#include "tests/lib/testkeys.h"

/* base64url(SHA-256(i2d_PUBKEY(k))), computed here with OpenSSL alone. */
static void
plain_hash(EVP_PKEY *k, char out[STORE_THUMB_LEN + 1])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	char *b;
	int len = i2d_PUBKEY(k, &der);

	assert_true(len > 0);
	assert_true(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL));
	b = tk_b64u(md, mdlen);
	assert_int_equal(strlen(b), STORE_THUMB_LEN);
	memcpy(out, b, STORE_THUMB_LEN + 1);
	free(b);
	OPENSSL_free(der);
}

/* k re-read from its DER after set (param = value) on a copy: the key as
 * another encoder would have sent it. */
static EVP_PKEY *
reencoded(EVP_PKEY *k, const char *param, const char *value)
{
	EVP_PKEY *c = EVP_PKEY_dup(k), *r;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len;

	assert_non_null(c);
	assert_true(EVP_PKEY_set_utf8_string_param(c, param, value));
	assert_true((len = i2d_PUBKEY(c, &der)) > 0);
	p = der;
	assert_non_null(r = d2i_PUBKEY(NULL, &p, len));
	OPENSSL_free(der);
	EVP_PKEY_free(c);
	return r;
}

static void
test_hash_is_spki_sha256(void **state)
{
	static const char *const types[] = { "p256", "p384", "rsa2048", "ed25519" };
	char want[STORE_THUMB_LEN + 1], got[STORE_THUMB_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		plain_hash(tk_key(types[i]), want);
		assert_int_equal(acme_spki_hash(tk_key(types[i]), got), ACME_OK);
		assert_string_equal(got, want);
	}
	/* another key, another name */
	assert_int_equal(acme_spki_hash(tk_key("p256b"), got), ACME_OK);
	plain_hash(tk_key("p256"), want);
	assert_string_not_equal(got, want);
	assert_int_equal(acme_spki_hash(NULL, got), ACME_ECRYPTO);
}

static void
test_ec_encodings_one_name(void **state)
{
	EVP_PKEY *k = tk_key("p256"), *compressed, *explicit;
	char want[STORE_THUMB_LEN + 1], got[STORE_THUMB_LEN + 1];

	(void)state;
	plain_hash(k, want);
	compressed = reencoded(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED);
	explicit = reencoded(k, OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT);
	/* they are other DER texts... */
	plain_hash(compressed, got);
	assert_string_not_equal(got, want);
	plain_hash(explicit, got);
	assert_string_not_equal(got, want);
	/* ...of the same key, with the same name */
	assert_int_equal(acme_spki_hash(compressed, got), ACME_OK);
	assert_string_equal(got, want);
	assert_int_equal(acme_spki_hash(explicit, got), ACME_OK);
	assert_string_equal(got, want);
	EVP_PKEY_free(compressed);
	EVP_PKEY_free(explicit);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_is_spki_sha256),
		cmocka_unit_test(test_ec_encodings_one_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
