/* Flattened JWS parsing and verification (core/jws.c). Signatures are made
 * in the test with OpenSSL (tests/lib/testkeys.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "core/b64.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "tests/lib/testkeys.h"

#define URL "https://ca.example/acme/new-order"
#define KID "https://ca.example/acme/acct/abc"

/* A protected header with a jwk for key. */
static char *
hdr_jwk(const char *alg, EVP_PKEY *key)
{
	char *jwk = tk_jwk_json(key), *h;

	h = tk_printf("{\"alg\":\"%s\",\"jwk\":%s,\"nonce\":\"bm9uY2U\",\"url\":\"" URL "\"}", alg, jwk);
	free(jwk);
	return h;
}

static char *
hdr_kid(const char *alg)
{
	return tk_printf("{\"alg\":\"%s\",\"kid\":\"" KID "\",\"nonce\":\"bm9uY2U\",\"url\":\"" URL "\"}",
	    alg);
}

static int
parse(const char *body, struct jws *j, struct acme_problem *p)
{
	memset(p, 0, sizeof(*p));
	return jws_parse((const unsigned char *)body, strlen(body), j, 0, p);
}

static void
check_prob(struct acme_problem *p, enum acme_prob type, const char *detail)
{
	if (p->type != type)
		fail_msg("problem %s (%s), expected %s", acme_prob_name(p->type), p->detail,
		    acme_prob_name(type));
	if (detail != NULL && strstr(p->detail, detail) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", p->detail, detail);
	acme_problem_clear(p);
}

/* body must not parse; the problem must be type with detail in it. */
static void
parse_bad(const char *body, enum acme_prob type, const char *detail)
{
	struct acme_problem p;
	struct jws j;

	if (parse(body, &j, &p) == 0)
		fail_msg("accepted %s", body);
	assert_null(j.envelope);
	assert_null(j.header);
	assert_null(j.signing_input);
	check_prob(&p, type, detail);
}

/* Parse a body signed with key and verify it with the key from its jwk. */
static int
parse_verify(const char *body, struct acme_problem *p)
{
	struct acme_jwk k;
	struct jws j;
	const char *why;
	int rc;

	if (parse(body, &j, p) < 0)
		return -1;
	if (jwk_parse(j.jwk, &k, &why) != ACME_OK) {
		jws_clear(&j);
		return acme_problem_set(p, PROB_BAD_PUBLIC_KEY, "%s", why);
	}
	rc = jws_verify(&j, k.pkey, p);
	jwk_clear(&k);
	jws_clear(&j);
	return rc;
}

static void
test_good_signatures(void **state)
{
	static const struct {
		const char *alg, *key;
	} t[] = {
		{ "ES256", "p256" }, { "ES384", "p384" }, { "ES512", "p521" },
		{ "RS256", "rsa2048" }, { "RS384", "rsa2048" }, { "RS512", "rsa3072" },
		{ "PS256", "rsa2048" }, { "PS384", "rsa2048" }, { "PS512", "rsa3072" },
		{ "EdDSA", "ed25519" }, { "EdDSA", "ed448" },
	};
	struct acme_problem p;
	struct acme_jwk k;
	struct jws j;
	const char *why;
	char *h, *body;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		EVP_PKEY *key = tk_key(t[i].key);

		h = hdr_jwk(t[i].alg, key);
		body = tk_jws(key, t[i].alg, h,
		    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}]}", 0);
		if (parse(body, &j, &p) < 0)
			fail_msg("%s: %s", t[i].alg, p.detail);
		assert_string_equal(jws_alg_name(j.alg), t[i].alg);
		assert_string_equal(j.url, URL);
		assert_string_equal(j.nonce, "bm9uY2U");
		assert_null(j.kid);
		assert_non_null(j.jwk);
		assert_non_null(j.payload_json);
		assert_int_equal(j.payload_len, strlen((char *)j.payload));
		assert_non_null(acme_json_get(j.payload_json, "identifiers"));
		assert_int_equal(jwk_parse(j.jwk, &k, &why), ACME_OK);
		if (jws_verify(&j, k.pkey, &p) < 0)
			fail_msg("%s/%s: %s", t[i].alg, t[i].key, p.detail);
		/* The key the test signed with verifies it too. */
		assert_int_equal(jws_verify(&j, key, &p), 0);
		jwk_clear(&k);
		jws_clear(&j);
		jws_clear(&j);
		free(body);
		free(h);
	}
	jws_clear(NULL);
}

static void
test_post_as_get_and_kid(void **state)
{
	EVP_PKEY *key = tk_key("p256");
	struct acme_problem p;
	struct jws j;
	char *h = hdr_kid("ES256"), *body = tk_jws(key, "ES256", h, "", 0), *dot;

	(void)state;
	assert_int_equal(parse(body, &j, &p), 0);
	assert_int_equal(j.payload_len, 0);
	assert_null(j.payload_json);
	assert_non_null(j.payload);
	assert_string_equal((char *)j.payload, "");
	assert_string_equal(j.kid, KID);
	assert_null(j.jwk);
	/* The signing input is the protected header as received, ".", the payload. */
	dot = strchr(j.signing_input, '.');
	assert_non_null(dot);
	assert_string_equal(dot, ".");
	assert_int_equal(j.signing_input_len, strlen(j.signing_input));
	assert_int_equal(jws_verify(&j, key, &p), 0);
	/* Another account's key does not verify it. */
	assert_int_equal(jws_verify(&j, tk_key("p256b"), &p), -1);
	check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
	jws_clear(&j);
	free(body);
	free(h);
}

/* ECDSA R or S with leading zero octets must still verify (pitfall 13: a
 * padding bug fails about one signature in 128): sign until several start
 * with a zero octet. */
static void
test_ecdsa_leading_zeros(void **state)
{
	static const char *const algs[] = { "ES256", "ES384", "ES512" };
	static const char *const keys[] = { "p256", "p384", "p521" };
	struct acme_problem p;
	struct jws j;
	char *h, *body, payload[64];
	int i, a, zero;

	(void)state;
	for (a = 0; a < 3; a++) {
		EVP_PKEY *key = tk_key(keys[a]);

		h = hdr_kid(algs[a]);
		for (i = zero = 0; zero < 4 && i < 20000; i++) {
			snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
			body = tk_jws(key, algs[a], h, payload, 0);
			assert_int_equal(parse(body, &j, &p), 0);
			zero += j.sig[0] == 0 || j.sig[j.sig_len / 2] == 0;
			if (jws_verify(&j, key, &p) < 0)
				fail_msg("%s signature %d: %s", algs[a], i, p.detail);
			jws_clear(&j);
			free(body);
		}
		assert_int_equal(zero, 4);
		free(h);
	}
}

static void
test_header_rules(void **state)
{
	static const struct {
		const char *hdr;
		enum acme_prob type;
		const char *detail;
	} t[] = {
		{ "{\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\"}", PROB_MALFORMED, "alg" },
		{ "{\"alg\":5,\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\"}", PROB_MALFORMED, "alg" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"url\":\"u\"}", PROB_BAD_NONCE, "nonce" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"nonce\":5,\"url\":\"u\"}", PROB_MALFORMED, "nonce" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"nonce\":\"n\"}", PROB_MALFORMED, "url" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":5}", PROB_MALFORMED, "url" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"kid\":\"k\",\"nonce\":\"n\",\"url\":\"u\"}",
		    PROB_MALFORMED, "both" },
		{ "{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"u\"}", PROB_MALFORMED, "neither" },
		{ "{\"alg\":\"ES256\",\"jwk\":\"key\",\"nonce\":\"n\",\"url\":\"u\"}", PROB_MALFORMED,
		    "jwk" },
		{ "{\"alg\":\"ES256\",\"kid\":7,\"nonce\":\"n\",\"url\":\"u\"}", PROB_MALFORMED, "kid" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\",\"crit\":[\"exp\"],"
		    "\"exp\":1}", PROB_MALFORMED, "crit" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\",\"b64\":false,"
		    "\"crit\":[\"b64\"]}", PROB_MALFORMED, NULL },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\",\"b64\":false}",
		    PROB_MALFORMED, "b64" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\",\"url\":\"v\"}",
		    PROB_MALFORMED, "duplicate" },
		{ "{\"alg\":\"ES256\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\",\"\\u0075rl\":\"v\"}",
		    PROB_MALFORMED, "duplicate" },
		{ "{\"alg\":\"none\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\"}",
		    PROB_BAD_SIGNATURE_ALGORITHM, "none" },
		{ "{\"alg\":\"HS256\",\"kid\":\"k\",\"nonce\":\"n\",\"url\":\"u\"}",
		    PROB_BAD_SIGNATURE_ALGORITHM, "HS256" },
		{ "{\"alg\":\"ES256K\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\"}",
		    PROB_BAD_SIGNATURE_ALGORITHM, "ES256K" },
		{ "{\"alg\":\"es256\",\"jwk\":JWK,\"nonce\":\"n\",\"url\":\"u\"}",
		    PROB_BAD_SIGNATURE_ALGORITHM, NULL },
		{ "[\"alg\"]", PROB_MALFORMED, "not a JSON object" },
		{ "{\"alg\":\"ES256\",", PROB_MALFORMED, "not valid JSON" },
	};
	EVP_PKEY *key = tk_key("p256");
	char *jwk = tk_jwk_json(key), *hdr, *pos, *body;
	struct acme_problem p;
	struct jws j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* Put the real JWK where the template says JWK. */
		if ((pos = strstr(t[i].hdr, "JWK")) != NULL)
			hdr = tk_printf("%.*s%s%s", (int)(pos - t[i].hdr), t[i].hdr, jwk, pos + 3);
		else
			hdr = tk_printf("%s", t[i].hdr);
		body = tk_jws(key, "ES256", hdr, "{}", 0);
		if (parse(body, &j, &p) == 0)
			fail_msg("accepted header %s", t[i].hdr);
		if (t[i].type == PROB_BAD_SIGNATURE_ALGORITHM) {
			struct json_object *algs = acme_json_get(p.extra, "algorithms");

			assert_true(json_object_is_type(algs, json_type_array));
			assert_true(json_object_array_length(algs) >= 10);
			assert_string_equal(json_object_get_string(json_object_array_get_idx(algs, 0)),
			    "RS256");
		}
		check_prob(&p, t[i].type, t[i].detail);
		free(body);
		free(hdr);
	}
	free(jwk);
}

static void
test_envelope_rules(void **state)
{
	EVP_PKEY *key = tk_key("p256");
	char *h = hdr_kid("ES256"), *ph = tk_b64u_str(h), *py = tk_b64u_str("{}"), *body;
	char big[12000];
	struct acme_problem p;
	struct jws j;

	(void)state;
	/* Compact serialization. */
	body = tk_printf("%s.%s.AAAA", ph, py);
	parse_bad(body, PROB_MALFORMED, "compact");
	free(body);
	parse_bad("", PROB_MALFORMED, "not valid JSON");
	parse_bad("[]", PROB_MALFORMED, "not a JSON object");
	parse_bad("{\"protected\":\"a\"", PROB_MALFORMED, "not valid JSON");
	/* Unprotected header, general serialization, stray members. */
	body = tk_printf("{\"protected\":\"%s\",\"header\":{},\"payload\":\"%s\",\"signature\":\"AA\"}",
	    ph, py);
	parse_bad(body, PROB_MALFORMED, "unprotected header");
	free(body);
	body = tk_printf("{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\",\"signature\":"
	    "\"AA\"}]}", py, ph);
	parse_bad(body, PROB_MALFORMED, "multiple signatures");
	free(body);
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"AA\",\"x\":1}",
	    ph, py);
	parse_bad(body, PROB_MALFORMED, "unexpected member");
	free(body);
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"AA\","
	    "\"signature\":\"AA\"}", ph, py);
	parse_bad(body, PROB_MALFORMED, "duplicate");
	free(body);
	/* Missing members (a missing payload is a detached payload). */
	body = tk_printf("{\"protected\":\"%s\",\"signature\":\"AA\"}", ph);
	parse_bad(body, PROB_MALFORMED, "detached");
	free(body);
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\"}", ph, py);
	parse_bad(body, PROB_MALFORMED, "signature");
	free(body);
	body = tk_printf("{\"payload\":\"%s\",\"signature\":\"AA\"}", py);
	parse_bad(body, PROB_MALFORMED, "protected");
	free(body);
	body = tk_printf("{\"protected\":{},\"payload\":\"%s\",\"signature\":\"AA\"}", py);
	parse_bad(body, PROB_MALFORMED, "not a string");
	free(body);
	/* base64url strictness in each member. */
	body = tk_printf("{\"protected\":\"%s=\",\"payload\":\"%s\",\"signature\":\"AA\"}", ph, py);
	if (strlen(ph) % 4 == 0)
		fail_msg("test header length is a multiple of 4");
	parse_bad(body, PROB_MALFORMED, "base64url");
	free(body);
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"e30=\",\"signature\":\"AA\"}", ph);
	parse_bad(body, PROB_MALFORMED, "base64url");
	free(body);
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"AA==\"}", ph, py);
	parse_bad(body, PROB_MALFORMED, "base64url");
	free(body);
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"A+/A\"}", ph, py);
	parse_bad(body, PROB_MALFORMED, "base64url");
	free(body);
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"\"}", ph, py);
	parse_bad(body, PROB_MALFORMED, "empty");
	free(body);
	/* Size limits. */
	memset(big, 'A', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"AA\"}", big, py);
	parse_bad(body, PROB_MALFORMED, "8 KiB");
	free(body);
	big[1372] = '\0';
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", ph, py, big);
	parse_bad(body, PROB_MALFORMED, "1 KiB");
	free(body);
	/* Payloads that are not JSON objects. */
	free(py);
	py = tk_b64u_str("not json");
	body = tk_printf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"AA\"}", ph, py);
	parse_bad(body, PROB_MALFORMED, "payload is not valid JSON");
	free(body);
	body = tk_jws(key, "ES256", h, "[1]", 0);
	parse_bad(body, PROB_MALFORMED, "payload is not a JSON object");
	free(body);
	body = tk_jws(key, "ES256", h, "{\"a\":1,\"a\":2}", 0);
	parse_bad(body, PROB_MALFORMED, "duplicate");
	free(body);
	/* Whitespace in the envelope is fine. */
	body = tk_jws(key, "ES256", h, "{}", 0);
	free(py);
	py = tk_printf(" \n{ %s \n", body + 1);
	assert_int_equal(parse(py, &j, &p), 0);
	assert_int_equal(jws_verify(&j, key, &p), 0);
	jws_clear(&j);
	free(body);
	free(py);
	free(ph);
	free(h);
}

static void
test_signature_rules(void **state)
{
	EVP_PKEY *p256 = tk_key("p256");
	struct acme_problem p;
	struct jws j;
	char *h, *body, *hk, *s;
	unsigned char sig[200];
	size_t len;

	(void)state;
	h = hdr_jwk("ES256", p256);
	/* DER-encoded ECDSA. */
	body = tk_jws(p256, "ES256", h, "{}", TK_DER_SIG);
	assert_int_equal(parse_verify(body, &p), -1);
	check_prob(&p, PROB_MALFORMED, "64 octets");
	free(body);
	/* One octet short. */
	body = tk_jws(p256, "ES256", h, "{}", 0);
	s = strstr(body, "\"signature\":\"") + 13;
	assert_int_equal(b64u_decode_buf(s, strlen(s) - 2, sig, sizeof(sig), &len), ACME_OK);
	assert_int_equal(len, 64);
	b64u_encode_buf(sig, 63, s);
	strcat(s, "\"}");
	assert_int_equal(parse_verify(body, &p), -1);
	check_prob(&p, PROB_MALFORMED, "64 octets");
	/* One bit flipped. */
	sig[17] ^= 0x08;
	b64u_encode_buf(sig, 64, s);
	strcat(s, "\"}");
	assert_int_equal(parse_verify(body, &p), -1);
	check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
	/* Zeroes. */
	memset(sig, 0, 64);
	b64u_encode_buf(sig, 64, s);
	strcat(s, "\"}");
	assert_int_equal(parse_verify(body, &p), -1);
	check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
	free(body);
	free(h);

	/* A changed payload or header. */
	hk = hdr_kid("ES256");
	body = tk_jws(p256, "ES256", hk, "{\"a\":1}", 0);
	s = tk_b64u_str("{\"a\":2}");
	memcpy(strstr(body, "\"payload\":\"") + 11, s, strlen(s));
	assert_int_equal(parse(body, &j, &p), 0);
	assert_int_equal(jws_verify(&j, p256, &p), -1);
	check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
	jws_clear(&j);
	free(s);
	free(body);
	free(hk);

	/* RSA: PKCS#1 v1.5 under a PS256 header; PSS with the wrong salt length. */
	hk = hdr_kid("PS256");
	body = tk_jws(tk_key("rsa2048"), "RS256", hk, "{}", 0);
	assert_int_equal(parse(body, &j, &p), 0);
	assert_int_equal(jws_verify(&j, tk_key("rsa2048"), &p), -1);
	check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
	jws_clear(&j);
	free(body);
	body = tk_jws(tk_key("rsa2048"), "PS256", hk, "{}", TK_PSS_SALT20);
	assert_int_equal(parse(body, &j, &p), 0);
	assert_int_equal(jws_verify(&j, tk_key("rsa2048"), &p), -1);
	check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
	jws_clear(&j);
	free(body);
	free(hk);
}

static void
test_alg_key_mismatch(void **state)
{
	static const struct {
		const char *alg, *key;
	} t[] = {
		{ "ES256", "p384" }, { "ES384", "p256" }, { "ES512", "p384" }, { "ES256", "rsa2048" },
		{ "RS256", "p256" }, { "PS256", "ed25519" }, { "EdDSA", "p256" }, { "ES256", "ed25519" },
	};
	struct acme_problem p;
	struct jws j;
	char *h, *body;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		EVP_PKEY *key = tk_key(t[i].key);

		h = hdr_kid(t[i].alg);
		/* The signature does not matter: the mismatch is found first. */
		body = tk_jws(key, t[i].key[0] == 'e' ? "EdDSA" : t[i].key[0] == 'r' ? "RS256" : "ES384",
		    h, "{}", TK_DER_SIG);
		assert_int_equal(parse(body, &j, &p), 0);
		assert_int_equal(jws_verify(&j, key, &p), -1);
		check_prob(&p, PROB_MALFORMED, "does not match the key");
		jws_clear(&j);
		free(body);
		free(h);
	}
	/* A key type no JWS algorithm here fits. */
	h = hdr_kid("ES256");
	body = tk_jws(tk_key("p256"), "ES256", h, "{}", 0);
	assert_int_equal(parse(body, &j, &p), 0);
	assert_int_equal(jws_verify(&j, tk_key("secp256k1"), &p), -1);
	check_prob(&p, PROB_BAD_PUBLIC_KEY, NULL);
	/* A public-key JWS is not a MAC. */
	assert_int_equal(jws_verify_mac(&j, (const unsigned char *)"k", 1, &p), -1);
	check_prob(&p, PROB_MALFORMED, "not a MAC");
	jws_clear(&j);
	free(body);
	free(h);
}

static void
test_mac(void **state)
{
	static const unsigned char key[] = "0123456789abcdef";   /* shorter than SHA-256 */
	static const char *const algs[] = { "HS256", "HS384", "HS512" };
	char *acct = tk_jwk_json(tk_key("p256")), *h, *body;
	struct json_object *env;
	struct acme_problem p;
	struct jws j;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		h = tk_printf("{\"alg\":\"%s\",\"kid\":\"eab-key-1\",\"url\":\"" URL "\"}", algs[i]);
		body = tk_jws_mac(key, 16, algs[i], h, acct);
		assert_int_equal(acme_json_parse(body, strlen(body), &env, &why), ACME_OK);
		memset(&p, 0, sizeof(p));
		if (jws_parse_json(env, &j, 1, &p) < 0)
			fail_msg("%s: %s", algs[i], p.detail);
		json_object_put(env);       /* j keeps its own reference */
		assert_null(j.nonce);
		assert_string_equal(j.kid, "eab-key-1");
		assert_non_null(acme_json_get(j.payload_json, "kty"));
		assert_int_equal(jws_verify_mac(&j, key, 16, &p), 0);
		assert_int_equal(jws_verify_mac(&j, key, 15, &p), -1);
		check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
		assert_int_equal(jws_verify_mac(&j, (const unsigned char *)"0123456789abcdeF", 16, &p),
		    -1);
		check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
		/* A MAC JWS cannot be verified with a public key. */
		assert_int_equal(jws_verify(&j, tk_key("p256"), &p), -1);
		check_prob(&p, PROB_MALFORMED, NULL);
		jws_clear(&j);
		free(body);
		free(h);
	}
	/* A truncated MAC. */
	h = tk_printf("{\"alg\":\"HS256\",\"kid\":\"eab-key-1\",\"url\":\"" URL "\"}");
	body = tk_jws_mac(key, 16, "HS256", h, acct);
	strcpy(strstr(body, "\"signature\":\"") + 13 + 40, "\"}");
	assert_int_equal(jws_parse((unsigned char *)body, strlen(body), &j, 1, &p), 0);
	assert_int_equal(j.sig_len, 30);
	assert_int_equal(jws_verify_mac(&j, key, 16, &p), -1);
	check_prob(&p, PROB_MALFORMED, "JWS signature invalid");
	jws_clear(&j);
	free(body);
	free(h);
	/* A MAC JWS names its key with kid. */
	h = tk_printf("{\"alg\":\"HS256\",\"jwk\":%s,\"url\":\"" URL "\"}", acct);
	body = tk_jws_mac(key, 16, "HS256", h, acct);
	assert_int_equal(jws_parse((unsigned char *)body, strlen(body), &j, 1, &p), -1);
	check_prob(&p, PROB_MALFORMED, "kid");
	free(body);
	free(h);
	/* With allow_mac only HS* is accepted. */
	h = tk_printf("{\"alg\":\"ES256\",\"kid\":\"eab-key-1\",\"url\":\"" URL "\"}");
	body = tk_jws(tk_key("p256"), "ES256", h, acct, 0);
	assert_int_equal(jws_parse((unsigned char *)body, strlen(body), &j, 1, &p), -1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(
	    acme_json_get(p.extra, "algorithms"), 0)), "HS256");
	check_prob(&p, PROB_BAD_SIGNATURE_ALGORITHM, "ES256");
	free(body);
	free(h);
	free(acct);
}

/* keyChange: the inner JWS is a JSON value and carries no nonce. */
static void
test_nested_no_nonce(void **state)
{
	EVP_PKEY *key = tk_key("p384");
	char *jwk = tk_jwk_json(key), *h, *body;
	struct json_object *env;
	struct acme_problem p;
	struct jws j;
	const char *why;

	(void)state;
	h = tk_printf("{\"alg\":\"ES384\",\"jwk\":%s,\"url\":\"" URL "\"}", jwk);
	body = tk_jws(key, "ES384", h, "{\"account\":\"" KID "\",\"oldKey\":{}}", 0);
	assert_int_equal(acme_json_parse(body, strlen(body), &env, &why), ACME_OK);
	memset(&p, 0, sizeof(p));
	assert_int_equal(jws_parse_json(env, &j, 0, &p), 0);
	assert_null(j.nonce);
	assert_int_equal(jws_verify(&j, key, &p), 0);
	jws_clear(&j);
	json_object_put(env);
	/* The same as a request body needs a nonce. */
	parse_bad(body, PROB_BAD_NONCE, NULL);
	free(body);
	free(h);
	free(jwk);
}

static void
test_alg_names(void **state)
{
	struct json_object *a = jws_algorithms_json();
	int i;

	(void)state;
	for (i = JWS_RS256; i < JWS_ALG__MAX; i++)
		assert_int_equal(jws_alg_from_name(jws_alg_name((enum jws_alg)i)), i);
	assert_int_equal(jws_alg_from_name("none"), JWS_ALG_NONE);
	assert_int_equal(jws_alg_from_name("RS1"), JWS_ALG_NONE);
	assert_int_equal(jws_alg_from_name(""), JWS_ALG_NONE);
	assert_int_equal(json_object_array_length(a), 10);
	for (i = 0; i < 10; i++)
		assert_int_not_equal(strncmp(json_object_get_string(json_object_array_get_idx(a, (size_t)i)),
		    "HS", 2), 0);
	json_object_put(a);
}

/* Mutated bodies: never a crash or a leak, and nothing mutated verifies. */
static void
test_mutations(void **state)
{
	EVP_PKEY *key = tk_key("p256");
	char *h = hdr_jwk("ES256", key), *orig = tk_jws(key, "ES256", h, "{\"a\":[1,2]}", 0);
	size_t len = strlen(orig), i, k;
	struct acme_problem p;
	char *b = malloc(len + 1);
	unsigned seed = 99;

	(void)state;
	for (i = 0; i < 3000; i++) {
		memcpy(b, orig, len + 1);
		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % len;
		b[k] = (char)(b[k] ^ (1 << ((seed >> 4) % 7)));
		if (b[k] == '\0')
			continue;
		if (parse_verify(b, &p) == 0 && strcmp(b, orig) != 0)
			fail_msg("mutated body verifies: %s", b);
		acme_problem_clear(&p);
	}
	free(b);
	free(orig);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_signatures),
		cmocka_unit_test(test_post_as_get_and_kid),
		cmocka_unit_test(test_ecdsa_leading_zeros),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_envelope_rules),
		cmocka_unit_test(test_signature_rules),
		cmocka_unit_test(test_alg_key_mismatch),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_nested_no_nonce),
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
