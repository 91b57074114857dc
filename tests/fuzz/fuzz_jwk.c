/*
 * JWKs (core/jwk.c) as they arrive in a JWS header: JSON text in, a public
 * key out. What is accepted has one canonical form: its canonical text
 * parses to the same key and thumbprint, and the key converted back
 * (jwk_from_pkey, as for CSR and certificate keys) gives the same text.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/json.h"
#include "core/jwk.h"
#include "core/keypol.h"
#include "tests/fuzz/fuzzlib.h"

static struct acme_keypol pol_acct;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	keypol_default_account(&pol_acct);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL;
	struct acme_jwk k, k2, k3;
	const char *why = NULL;
	char *text = fz_strndup(data, size), thumb[44], desc[64];
	enum acme_err rc;
	int bits = 0;

	memset(&k, 0, sizeof(k));
	memset(&k2, 0, sizeof(k2));
	memset(&k3, 0, sizeof(k3));
	if (acme_json_parse(text, size, &o, &why) != ACME_OK)
		goto done;
	rc = jwk_parse(o, &k, &why);
	if (rc != ACME_OK) {
		FZ_CHECK(k.pkey == NULL && k.canon == NULL && why != NULL);
		FZ_CHECK(rc == ACME_EINVAL || rc == ACME_EUNSUPPORTED);
		goto done;
	}
	FZ_CHECK(k.pkey != NULL && k.canon != NULL && strlen(k.thumb) == 43);
	FZ_CHECK(keypol_type_of(k.pkey, &bits) != 0);
	(void)keypol_check(&pol_acct, k.pkey, &why);
	(void)keypol_describe(k.pkey, desc, sizeof(desc));

	FZ_CHECK(jwk_parse_text(k.canon, &k2, &why) == ACME_OK);
	FZ_CHECK(strcmp(k2.canon, k.canon) == 0 && strcmp(k2.thumb, k.thumb) == 0);
	FZ_CHECK(k2.kty == k.kty && k2.curve_nid == k.curve_nid && k2.bits == k.bits);
	FZ_CHECK(EVP_PKEY_eq(k.pkey, k2.pkey) == 1);

	FZ_CHECK(jwk_from_pkey(k.pkey, &k3) == ACME_OK);
	FZ_CHECK(strcmp(k3.canon, k.canon) == 0 && strcmp(k3.thumb, k.thumb) == 0);
	FZ_CHECK(jwk_thumbprint_pkey(k.pkey, thumb) == ACME_OK && strcmp(thumb, k.thumb) == 0);
done:
	jwk_clear(&k);
	jwk_clear(&k2);
	jwk_clear(&k3);
	json_object_put(o);
	free(text);
	return 0;
}
