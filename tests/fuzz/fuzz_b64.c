/*
 * Strict base64url (core/b64.c): every decoder on every input, and the
 * properties the JWS code relies on: one canonical text per byte string
 * (what decodes re-encodes to exactly the input), and encode/decode round
 * trips.
 */
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "tests/fuzz/fuzzlib.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *dec = NULL, *small = NULL;
	char *enc = NULL, *text = fz_strndup(data, size);
	size_t n = 0, m = 0, cap;
	enum acme_err rc, rc2;

	/* The input as base64url text (a copy exactly as long, so that ASan
	 * sees any read past the end). */
	rc = b64u_decode(text, size, &dec, &n);
	FZ_CHECK(rc == ACME_OK || rc == ACME_EINVAL);
	if (rc == ACME_OK) {
		FZ_CHECK(n <= size / 4 * 3 + 2);
		FZ_CHECK(dec[n] == '\0');
		enc = b64u_encode(dec, n);
		FZ_CHECK(enc != NULL && strlen(enc) == size && memcmp(enc, data, size) == 0);
		FZ_CHECK(B64U_ENCLEN(n) == size);
		free(enc);
		enc = NULL;
	}
	/* The buffer decoder with every capacity around the needed one. */
	for (cap = n > 2 ? n - 2 : 0; cap <= n + 2; cap++) {
		small = malloc(cap > 0 ? cap : 1);
		FZ_CHECK(small != NULL);
		rc2 = b64u_decode_buf(text, size, small, cap, &m);
		if (rc == ACME_OK && cap >= n)
			FZ_CHECK(rc2 == ACME_OK && m == n && memcmp(small, dec, n) == 0);
		else if (rc == ACME_OK)
			FZ_CHECK(rc2 == ACME_ETOOBIG);
		else
			FZ_CHECK(rc2 == ACME_EINVAL || rc2 == ACME_ETOOBIG);
		free(small);
	}
	free(dec);
	dec = NULL;

	/* The input as bytes: encode, then decode back. */
	enc = b64u_encode(data, size);
	FZ_CHECK(enc != NULL && strlen(enc) == B64U_ENCLEN(size));
	FZ_CHECK(b64u_decode(enc, strlen(enc), &dec, &n) == ACME_OK);
	FZ_CHECK(n == size && (size == 0 || memcmp(dec, data, size) == 0));
	free(dec);
	free(enc);
	free(text);
	return 0;
}
