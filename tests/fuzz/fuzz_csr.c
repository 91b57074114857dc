/*
 * Finalize CSRs (core/csr.c). Each input is checked twice: as it is, and,
 * when OpenSSL can read it at all, re-signed with a fixed key, so that the
 * fuzzer gets past the self-signature and the DER re-encoding check into
 * the name and extension rules. What is accepted is what issuance relies
 * on: 1 to 100 distinct names, DNS names lower-case LDH (with '*' and '.'),
 * IP addresses of 4 or 16 octets.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "core/csr.h"
#include "tests/fuzz/fuzzlib.h"

static struct acme_keypol pol_cert;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	keypol_default_cert(&pol_cert);
	(void)fz_key("p256b");
	return 0;
}

static void
check(const unsigned char *der, size_t len)
{
	struct acme_problem p;
	struct acme_csr c;
	char *doc;
	size_t i, k;

	memset(&p, 0, sizeof(p));
	if (csr_parse(der, len, &pol_cert, &c, &p) < 0) {
		FZ_CHECK(p.type == PROB_BAD_CSR || p.type == PROB_SERVER_INTERNAL);
		FZ_CHECK(c.req == NULL && c.dns == NULL && c.ip == NULL);
		doc = acme_problem_json(&p);
		FZ_CHECK(doc != NULL);
		free(doc);
		acme_problem_clear(&p);
		ERR_clear_error();
		return;
	}
	FZ_CHECK(c.req != NULL && c.pkey != NULL);
	FZ_CHECK(c.ndns + c.nip >= 1 && c.ndns + c.nip <= ACME_CSR_MAX_NAMES);
	for (i = 0; i < c.ndns; i++) {
		FZ_CHECK(strlen(c.dns[i]) >= 1 && strlen(c.dns[i]) <= 253);
		for (k = 0; c.dns[i][k] != '\0'; k++)
			FZ_CHECK(islower((unsigned char)c.dns[i][k]) ||
			    isdigit((unsigned char)c.dns[i][k]) || strchr("-.*", c.dns[i][k]) != NULL);
		for (k = 0; k < i; k++)
			FZ_CHECK(strcmp(c.dns[i], c.dns[k]) != 0);
	}
	for (i = 0; i < c.nip; i++) {
		FZ_CHECK(c.ip[i].len == 4 || c.ip[i].len == 16);
		for (k = 0; k < i; k++)
			FZ_CHECK(c.ip[i].len != c.ip[k].len ||
			    memcmp(c.ip[i].addr, c.ip[k].addr, (size_t)c.ip[i].len) != 0);
	}
	csr_clear(&c);
	acme_problem_clear(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *q = data;
	unsigned char *der = NULL;
	X509_REQ *req;
	int n;

	check(data, size);
	if (size > 16384 || (req = d2i_X509_REQ(NULL, &q, (long)size)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	if (X509_REQ_set_pubkey(req, fz_key("p256b")) == 1 &&
	    X509_REQ_sign(req, fz_key("p256b"), EVP_sha256()) > 0 &&
	    (n = i2d_X509_REQ(req, &der)) > 0)
		check(der, (size_t)n);
	ERR_clear_error();
	OPENSSL_free(der);
	X509_REQ_free(req);
	return 0;
}
