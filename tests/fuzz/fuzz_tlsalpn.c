/*
 * The tls-alpn-01 certificate check (validators/tlsalpn01.c,
 * val_tlsalpn01_check_cert): a DER certificate as a target presents it,
 * checked for a dns identifier, an IPv4 and an IPv6 identifier: exactly one
 * subjectAltName equal to the identifier, every extension at most once, one
 * critical acmeIdentifier extension holding a DER OCTET STRING of
 * SHA-256(keyAuthorization). The seeds (make_seeds) hold certificates that
 * pass for each identifier and ones that break one rule each.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "store/store.h"
#include "validators/val.h"
#include "tests/fuzz/fuzzlib.h"

#define KEYAUTH "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"

static struct acme_val_item items[3];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct { uint8_t type; const char *ident; } ids[3] = {
		{ STORE_IDENT_DNS, "fuzz.example" },
		{ STORE_IDENT_IP, "192.0.2.10" },
		{ STORE_IDENT_IP, "2001:db8::1" },
	};
	size_t i;

	(void)argc;
	(void)argv;
	fz_quiet();
	for (i = 0; i < 3; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		items[i].type = STORE_CH_TLSALPN01;
		items[i].ident_type = ids[i].type;
		strcpy(items[i].ident, ids[i].ident);
		strcpy(items[i].keyauth, KEYAUTH);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *q = data;
	struct acme_problem p;
	X509 *x;
	size_t i;
	int rc, passed = 0;

	if ((x = d2i_X509(NULL, &q, (long)size)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	for (i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		rc = val_tlsalpn01_check_cert(x, &items[i], "192.0.2.10:443", &p);
		FZ_CHECK(rc == 0 || rc == -1);
		if (rc == 0) {
			FZ_CHECK(p.type == PROB_NONE);
			passed++;
		} else {
			FZ_CHECK(p.type == PROB_UNAUTHORIZED || p.type == PROB_SERVER_INTERNAL);
			FZ_CHECK(strlen(p.detail) > 0);
		}
		acme_problem_clear(&p);
	}
	/* One subjectAltName can match one identifier only. */
	FZ_CHECK(passed <= 1);
	ERR_clear_error();
	X509_free(x);
	return 0;
}
