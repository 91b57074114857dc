/*
 * The flattened JWS (core/jws.c): the envelope, the protected header, the
 * payload, then verification with a fixed key of the kind the alg names
 * (the seeds are signed with those keys, so valid signatures are among the
 * inputs), with the header's own jwk when there is one, and the MAC of the
 * External Account Binding. The same bytes also go through jws_parse_json,
 * as a keyChange or EAB inner JWS would.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/json.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "tests/fuzz/fuzzlib.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	(void)fz_key("p256");
	(void)fz_key("ed25519");
	(void)fz_key("rsa2048");
	return 0;
}

/* The fixed key for alg: ES384/ES512 get the P-256 key, a mismatch. */
static EVP_PKEY *
key_for(enum jws_alg a)
{
	switch (a) {
	case JWS_RS256: case JWS_RS384: case JWS_RS512:
	case JWS_PS256: case JWS_PS384: case JWS_PS512:
		return fz_key("rsa2048");
	case JWS_EDDSA:
		return fz_key("ed25519");
	default:
		return fz_key("p256");
	}
}

static void
check_parsed(const struct jws *j, int allow_mac)
{
	FZ_CHECK(j->envelope != NULL && j->header != NULL && j->url != NULL);
	FZ_CHECK((j->jwk != NULL) != (j->kid != NULL));
	FZ_CHECK(j->alg > JWS_ALG_NONE && j->alg < JWS_ALG__MAX);
	FZ_CHECK(allow_mac ? (j->alg >= JWS_HS256) : (j->alg < JWS_HS256));
	FZ_CHECK(j->payload != NULL && j->payload[j->payload_len] == '\0');
	FZ_CHECK((j->payload_len == 0) == (j->payload_json == NULL));
	FZ_CHECK(j->signing_input != NULL && strlen(j->signing_input) == j->signing_input_len);
	FZ_CHECK(j->sig_len > 0 && j->sig_len <= 1024);
}

static void
verify(const struct jws *j)
{
	struct acme_problem p;
	struct acme_jwk k;
	const char *why = NULL;

	memset(&p, 0, sizeof(p));
	if (j->alg >= JWS_HS256) {
		(void)jws_verify_mac(j, fz_mac_key, sizeof(fz_mac_key), &p);
		acme_problem_clear(&p);
		/* An empty key is refused by nothing but the comparison. */
		(void)jws_verify_mac(j, NULL, 0, &p);
		acme_problem_clear(&p);
		return;
	}
	(void)jws_verify(j, key_for(j->alg), &p);
	acme_problem_clear(&p);
	if (j->jwk != NULL && jwk_parse(j->jwk, &k, &why) == ACME_OK) {
		(void)jws_verify(j, k.pkey, &p);
		acme_problem_clear(&p);
		jwk_clear(&k);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_problem p;
	struct json_object *o = NULL;
	struct jws j;
	const char *why;
	char *doc;
	int mac;

	for (mac = 0; mac <= 1; mac++) {
		memset(&p, 0, sizeof(p));
		if (jws_parse(data, size, &j, mac, &p) == 0) {
			FZ_CHECK(p.type == PROB_NONE);
			check_parsed(&j, mac);
			FZ_CHECK(mac || j.nonce != NULL);
			verify(&j);
			jws_clear(&j);
		} else {
			/* What the client is told: a well-formed problem document. */
			FZ_CHECK(p.type != PROB_NONE && j.envelope == NULL && j.signing_input == NULL);
			doc = acme_problem_json(&p);
			FZ_CHECK(doc != NULL);
			free(doc);
		}
		acme_problem_clear(&p);
	}

	/* As an inner JWS: a JSON value already parsed out of a payload. */
	if (acme_json_parse((const char *)data, size, &o, &why) == ACME_OK && o != NULL) {
		for (mac = 0; mac <= 1; mac++) {
			memset(&p, 0, sizeof(p));
			if (jws_parse_json(o, &j, mac, &p) == 0) {
				check_parsed(&j, mac);
				verify(&j);
				jws_clear(&j);
			}
			acme_problem_clear(&p);
		}
		/* The caller's reference is still good. */
		FZ_CHECK(json_object_get_type(o) == json_object_get_type(o));
		json_object_put(o);
	}
	return 0;
}
