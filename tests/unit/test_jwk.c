/* Public JWKs and RFC 7638 thumbprints (core/jwk.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "core/b64.h"
#include "core/json.h"
#include "core/jwk.h"
#include "tests/lib/testkeys.h"

/* RFC 7638 section 3.1. */
#define RFC7638_N "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_THUMB "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

static enum acme_err
parse_text(const char *text, struct acme_jwk *k, const char **why)
{
	struct json_object *o;
	enum acme_err rc;

	if (acme_json_parse(text, strlen(text), &o, why) != ACME_OK)
		fail_msg("test JSON does not parse: %s", text);
	rc = jwk_parse(o, k, why);
	json_object_put(o);
	return rc;
}

static void
expect(const char *text, enum acme_err want, const char *why_part)
{
	struct acme_jwk k;
	const char *why = NULL;
	enum acme_err rc;

	rc = parse_text(text, &k, &why);
	if (rc != want)
		fail_msg("%s: got %s (%s), want %s", text, acme_strerror(rc), why ? why : "",
		    acme_strerror(want));
	if (rc != ACME_OK) {
		assert_non_null(why);
		assert_null(k.pkey);
		assert_null(k.canon);
		if (why_part != NULL && strstr(why, why_part) == NULL)
			fail_msg("reason \"%s\" lacks \"%s\"", why, why_part);
	}
	jwk_clear(&k);
}

static void
test_rfc7638_vector(void **state)
{
	struct acme_jwk k;
	const char *why;
	char thumb[44];

	(void)state;
	assert_int_equal(parse_text("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	    "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}", &k, &why), ACME_OK);
	assert_string_equal(k.thumb, RFC7638_THUMB);
	assert_string_equal(k.canon, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}");
	assert_int_equal(k.kty, JWK_KTY_RSA);
	assert_int_equal(k.bits, 2048);
	assert_int_equal(k.curve_nid, 0);
	assert_int_equal(jwk_thumbprint_pkey(k.pkey, thumb), ACME_OK);
	assert_string_equal(thumb, RFC7638_THUMB);
	jwk_clear(&k);

	/* Stored canonical text parses back to the same key. */
	assert_int_equal(jwk_parse_text("{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}",
	    &k, &why), ACME_OK);
	assert_string_equal(k.thumb, RFC7638_THUMB);
	jwk_clear(&k);
	jwk_clear(&k);
	jwk_clear(NULL);
}

/* The JWK of x, y in one of several member orders, with extra members. */
static char *
p256_variant(int i, const char *x, const char *y)
{
	switch (i) {
	case 0:
		return tk_printf("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	case 1:
		return tk_printf("{\"y\":\"%s\",\"x\":\"%s\",\"crv\":\"P-256\",\"kty\":\"EC\"}", y, x);
	case 2:
		return tk_printf("{\"use\":\"sig\",\"key_ops\":[\"verify\"],\"kid\":\"k1\","
		    "\"alg\":\"ES256\",\"x\":\"%s\",\"ext\":true,\"crv\":\"P-256\",\"y\":\"%s\","
		    "\"kty\":\"EC\"}", x, y);
	default:
		return tk_printf(" { \"x\" : \"%s\" , \"y\" : \"%s\" , \"kty\" : \"EC\" , "
		    "\"crv\" : \"P-256\" } ", x, y);
	}
}

/* The member order and extra members of the input do not matter. */
static void
test_canonical_stable(void **state)
{
	EVP_PKEY *key = tk_key("p256");
	struct acme_jwk k, k0;
	struct json_object *o;
	const char *why, *x, *y;
	unsigned char md[32];
	char *jwk = tk_jwk_json(key), *text, *canon, thumb[44];
	int i;

	(void)state;
	assert_int_equal(acme_json_parse(jwk, strlen(jwk), &o, &why), ACME_OK);
	x = acme_json_str(o, "x");
	y = acme_json_str(o, "y");
	/* The canonical form and thumbprint computed here, independently. */
	canon = tk_printf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	assert_true(EVP_Digest(canon, strlen(canon), md, NULL, EVP_sha256(), NULL));
	b64u_encode_buf(md, 32, thumb);

	assert_int_equal(jwk_from_pkey(key, &k0), ACME_OK);
	assert_string_equal(k0.canon, canon);
	assert_string_equal(k0.thumb, thumb);
	assert_ptr_equal(k0.pkey, key);
	for (i = 0; i < 4; i++) {
		text = p256_variant(i, x, y);
		assert_int_equal(parse_text(text, &k, &why), ACME_OK);
		assert_string_equal(k.canon, canon);
		assert_string_equal(k.thumb, thumb);
		assert_int_equal(EVP_PKEY_eq(k.pkey, key), 1);
		jwk_clear(&k);
		free(text);
	}
	jwk_clear(&k0);
	json_object_put(o);
	free(canon);
	free(jwk);
}

static void
test_each_key_type(void **state)
{
	static const struct {
		const char *type;
		enum jwk_kty kty;
		int nid, bits;
	} t[] = {
		{ "p256", JWK_KTY_EC, NID_X9_62_prime256v1, 256 },
		{ "p384", JWK_KTY_EC, NID_secp384r1, 384 },
		{ "p521", JWK_KTY_EC, NID_secp521r1, 521 },
		{ "ed25519", JWK_KTY_OKP, NID_ED25519, 255 },
		{ "ed448", JWK_KTY_OKP, NID_ED448, 448 },
		{ "rsa2048", JWK_KTY_RSA, 0, 2048 },
		{ "rsa3072", JWK_KTY_RSA, 0, 3072 },
	};
	struct acme_jwk k, k2;
	const char *why;
	char *jwk, thumb[44];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		EVP_PKEY *key = tk_key(t[i].type);

		jwk = tk_jwk_json(key);
		if (parse_text(jwk, &k, &why) != ACME_OK)
			fail_msg("%s: %s", t[i].type, why);
		assert_int_equal(k.kty, t[i].kty);
		assert_int_equal(k.curve_nid, t[i].nid);
		assert_int_equal(k.bits, t[i].bits);
		assert_int_equal(EVP_PKEY_eq(k.pkey, key), 1);
		assert_int_equal(strlen(k.thumb), 43);
		/* The same key from the EVP_PKEY side: same canonical text. */
		assert_int_equal(jwk_from_pkey(key, &k2), ACME_OK);
		assert_string_equal(k2.canon, k.canon);
		assert_string_equal(k2.thumb, k.thumb);
		assert_int_equal(k2.kty, k.kty);
		assert_int_equal(k2.curve_nid, k.curve_nid);
		assert_int_equal(k2.bits, k.bits);
		assert_int_equal(jwk_thumbprint_pkey(key, thumb), ACME_OK);
		assert_string_equal(thumb, k.thumb);
		/* And the canonical text is itself a valid JWK of the same key. */
		jwk_clear(&k2);
		assert_int_equal(jwk_parse_text(k.canon, &k2, &why), ACME_OK);
		assert_string_equal(k2.canon, k.canon);
		jwk_clear(&k2);
		jwk_clear(&k);
		free(jwk);
	}
}

static void
test_private_members(void **state)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
		text = tk_printf("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
		    "\"%s\":\"AQAB\"}", priv[i]);
		expect(text, ACME_EINVAL, "private");
		free(text);
	}
	expect("{\"kty\":\"oct\",\"k\":\"AAAA\"}", ACME_EINVAL, "private");
}

/* The JWK of key with member name's decoded value transformed. */
static char *
jwk_edit(EVP_PKEY *key, const char *name, void (*edit)(unsigned char *, size_t *))
{
	struct json_object *o;
	const char *why, *v;
	unsigned char buf[1100];
	size_t len;
	char *jwk = tk_jwk_json(key), *enc, *out;

	assert_int_equal(acme_json_parse(jwk, strlen(jwk), &o, &why), ACME_OK);
	v = acme_json_str(o, name);
	assert_int_equal(b64u_decode_buf(v, strlen(v), buf, sizeof(buf) - 2, &len), ACME_OK);
	edit(buf, &len);
	enc = tk_b64u(buf, len);
	json_object_object_add(o, name, json_object_new_string(enc));
	out = acme_json_dump(o);
	json_object_put(o);
	free(enc);
	free(jwk);
	return out;
}

static void flip_low_bit(unsigned char *b, size_t *len) { b[*len - 1] ^= 1; }
static void drop_first(unsigned char *b, size_t *len) { memmove(b, b + 1, --*len); }
static void add_zero(unsigned char *b, size_t *len) { memmove(b + 1, b, (*len)++); b[0] = 0; }
static void add_byte(unsigned char *b, size_t *len) { b[(*len)++] = 1; }
static void set_two(unsigned char *b, size_t *len) { b[0] = 2; *len = 1; }
static void set_one(unsigned char *b, size_t *len) { b[0] = 1; *len = 1; }
static void set_big_e(unsigned char *b, size_t *len) { memset(b, 1, 9); *len = 9; }
static void set_zero_coord(unsigned char *b, size_t *len) { memset(b, 0, *len); }

static void
test_ec_point_checks(void **state)
{
	char *s;

	(void)state;
	s = jwk_edit(tk_key("p256"), "y", flip_low_bit);
	expect(s, ACME_EUNSUPPORTED, "not on the curve");
	free(s);
	s = jwk_edit(tk_key("p384"), "x", flip_low_bit);
	expect(s, ACME_EUNSUPPORTED, "not on the curve");
	free(s);
	s = jwk_edit(tk_key("p521"), "y", flip_low_bit);
	expect(s, ACME_EUNSUPPORTED, "not on the curve");
	free(s);
	s = jwk_edit(tk_key("p256"), "x", set_zero_coord);
	expect(s, ACME_EUNSUPPORTED, NULL);
	free(s);
	s = jwk_edit(tk_key("p256"), "x", drop_first);   /* short coordinate */
	expect(s, ACME_EINVAL, "length");
	free(s);
	s = jwk_edit(tk_key("p256"), "y", add_byte);     /* long coordinate */
	expect(s, ACME_EINVAL, "length");
	free(s);
	s = jwk_edit(tk_key("p521"), "x", drop_first);
	expect(s, ACME_EINVAL, "length");
	free(s);
	s = jwk_edit(tk_key("ed25519"), "x", add_byte);
	expect(s, ACME_EINVAL, "length");
	free(s);
}

static void
test_rsa_checks(void **state)
{
	char *s;
	unsigned char big[1025];
	char *n;

	(void)state;
	s = jwk_edit(tk_key("rsa2048"), "n", add_zero);
	expect(s, ACME_EINVAL, "leading zero");
	free(s);
	s = jwk_edit(tk_key("rsa2048"), "e", add_zero);
	expect(s, ACME_EINVAL, "leading zero");
	free(s);
	s = jwk_edit(tk_key("rsa2048"), "e", set_two);
	expect(s, ACME_EUNSUPPORTED, "exponent");
	free(s);
	s = jwk_edit(tk_key("rsa2048"), "e", set_one);
	expect(s, ACME_EUNSUPPORTED, "exponent");
	free(s);
	s = jwk_edit(tk_key("rsa2048"), "e", set_big_e);
	expect(s, ACME_EUNSUPPORTED, "exponent");
	free(s);
	s = jwk_edit(tk_key("rsa2048"), "n", flip_low_bit);    /* even modulus */
	expect(s, ACME_EINVAL, "even");
	free(s);
	s = tk_jwk_json(tk_key("rsa1024"));
	expect(s, ACME_EUNSUPPORTED, "2048");
	free(s);
	s = tk_jwk_json(tk_key("rsa2047"));
	expect(s, ACME_EUNSUPPORTED, "2048");
	free(s);
	memset(big, 0xc5, sizeof(big));
	n = tk_b64u(big, sizeof(big));
	s = tk_printf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n);
	expect(s, ACME_EUNSUPPORTED, "8192");
	free(s);
	free(n);
	expect("{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}", ACME_EINVAL, NULL);
	expect("{\"kty\":\"RSA\",\"e\":\"AQAB\"}", ACME_EINVAL, NULL);
	expect("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":3}", ACME_EINVAL, NULL);
	expect("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB=\"}", ACME_EINVAL, NULL);
	expect("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "==\",\"e\":\"AQAB\"}", ACME_EINVAL, NULL);
}

static void
test_kty_crv_alg(void **state)
{
	char *p256 = tk_jwk_json(tk_key("p256")), *s;
	struct json_object *o;
	const char *why;

	(void)state;
	expect("[]", ACME_EINVAL, NULL);
	expect("\"x\"", ACME_EINVAL, NULL);
	expect("{}", ACME_EINVAL, "kty");
	expect("{\"kty\":1}", ACME_EINVAL, "kty");
	expect("{\"kty\":\"ec\"}", ACME_EUNSUPPORTED, "kty");
	expect("{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"}", ACME_EUNSUPPORTED, "curve");
	expect("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\",\"y\":\"AA\"}", ACME_EUNSUPPORTED,
	    "curve");
	expect("{\"kty\":\"EC\",\"crv\":\"Ed25519\",\"x\":\"AA\"}", ACME_EUNSUPPORTED, "curve");
	expect("{\"kty\":\"OKP\",\"crv\":\"X25519\","
	    "\"x\":\"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo\"}", ACME_EUNSUPPORTED, "OKP");
	expect("{\"kty\":\"OKP\",\"crv\":\"P-256\",\"x\":\"AA\"}", ACME_EUNSUPPORTED, NULL);
	expect("{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}", ACME_EINVAL, "crv");

	assert_int_equal(acme_json_parse(p256, strlen(p256), &o, &why), ACME_OK);
	json_object_object_add(o, "alg", json_object_new_string("ES256"));
	s = acme_json_dump(o);
	expect(s, ACME_OK, NULL);
	free(s);
	json_object_object_add(o, "alg", json_object_new_string("RS256"));
	s = acme_json_dump(o);
	expect(s, ACME_EINVAL, "alg");
	free(s);
	json_object_object_add(o, "alg", json_object_new_string("ES384"));
	s = acme_json_dump(o);
	expect(s, ACME_EINVAL, "alg");
	free(s);
	json_object_object_add(o, "alg", json_object_new_int(1));
	s = acme_json_dump(o);
	expect(s, ACME_EINVAL, "alg");
	free(s);
	json_object_object_del(o, "alg");
	json_object_object_add(o, "x", json_object_new_int(1));
	s = acme_json_dump(o);
	expect(s, ACME_EINVAL, NULL);
	free(s);
	json_object_put(o);
	free(p256);

	expect("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"PS512\"}",
	    ACME_OK, NULL);
	expect("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"EdDSA\"}",
	    ACME_EINVAL, "alg");
	expect("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"HS256\"}",
	    ACME_EINVAL, "alg");
}

static void
test_from_pkey_unsupported(void **state)
{
	struct acme_jwk k;
	char thumb[44];

	(void)state;
	assert_int_equal(jwk_from_pkey(tk_key("secp256k1"), &k), ACME_EUNSUPPORTED);
	assert_null(k.pkey);
	assert_int_equal(jwk_thumbprint_pkey(tk_key("secp256k1"), thumb), ACME_EUNSUPPORTED);
	/* Policy is not jwk_from_pkey's business: small RSA keys still get a
	 * thumbprint, so that a CSR can be compared with account keys. */
	assert_int_equal(jwk_from_pkey(tk_key("rsa1024"), &k), ACME_OK);
	assert_int_equal(k.bits, 1024);
	jwk_clear(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7638_vector),
		cmocka_unit_test(test_canonical_stable),
		cmocka_unit_test(test_each_key_type),
		cmocka_unit_test(test_private_members),
		cmocka_unit_test(test_ec_point_checks),
		cmocka_unit_test(test_rsa_checks),
		cmocka_unit_test(test_kty_crv_alg),
		cmocka_unit_test(test_from_pkey_unsupported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
