/* Finalize CSR checks (core/csr.c). CSRs are built in the test with OpenSSL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "core/csr.h"
#include "tests/lib/testkeys.h"

struct ext {
	int nid;
	const char *value;    /* openssl.cnf syntax */
};

/* A CSR for key: subject CN (NULL: none; "O=x" style not needed), the given
 * extensions, signed with md (NULL for EdDSA). DER, malloc'd. */
static unsigned char *
make_csr(EVP_PKEY *key, const char *cn, const struct ext *ext, size_t next, const EVP_MD *md,
    size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *e;
	unsigned char *der = NULL, *w;
	size_t i;
	int n;

	assert_non_null(req);
	assert_true(X509_REQ_set_version(req, X509_REQ_VERSION_1));
	assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Test Org", -1, -1, 0));
	if (cn != NULL)
		assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_REQ_set_subject_name(req, name));
	assert_true(X509_REQ_set_pubkey(req, key));
	for (i = 0; i < next; i++) {
		e = X509V3_EXT_conf_nid(NULL, NULL, ext[i].nid, ext[i].value);
		if (e == NULL)
			fail_msg("extension %s", ext[i].value);
		sk_X509_EXTENSION_push(exts, e);
	}
	if (next > 0)
		assert_true(X509_REQ_add_extensions(req, exts));
	assert_true(X509_REQ_sign(req, key, md) > 0);
	n = i2d_X509_REQ(req, NULL);
	assert_true(n > 0);
	der = w = malloc((size_t)n + 32);
	assert_int_equal(i2d_X509_REQ(req, &w), n);
	*len = (size_t)n;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return der;
}

static int
parse(const unsigned char *der, size_t len, const struct acme_keypol *pol, struct acme_csr *c,
    struct acme_problem *p)
{
	memset(p, 0, sizeof(*p));
	return csr_parse(der, len, pol, c, p);
}

static void
expect_bad(unsigned char *der, size_t len, const struct acme_keypol *pol, const char *detail)
{
	struct acme_problem p;
	struct acme_csr c;

	if (parse(der, len, pol, &c, &p) == 0)
		fail_msg("CSR accepted, expected \"%s\"", detail);
	assert_null(c.req);
	assert_null(c.dns);
	if (p.type != PROB_BAD_CSR)
		fail_msg("problem %s: %s", acme_prob_name(p.type), p.detail);
	if (strstr(p.detail, detail) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", p.detail, detail);
	acme_problem_clear(&p);
	free(der);
}

/* Build with the given pieces and expect a badCSR naming detail. */
static void
bad_csr(EVP_PKEY *key, const char *cn, const struct ext *ext, size_t next, const EVP_MD *md,
    const char *detail)
{
	struct acme_keypol pol;
	unsigned char *der;
	size_t len;

	keypol_default_cert(&pol);
	der = make_csr(key, cn, ext, next, md, &len);
	expect_bad(der, len, &pol, detail);
}

static void
test_good_ec(void **state)
{
	static const struct ext e[] = {
		{ NID_subject_alt_name, "DNS:A.Example,DNS:b.example,DNS:a.example,DNS:*.C.example" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth,clientAuth" },
		{ NID_basic_constraints, "CA:FALSE" },
	};
	EVP_PKEY *key = tk_key("p256");
	struct acme_keypol pol;
	struct acme_problem p;
	struct acme_csr c;
	unsigned char *der;
	size_t len;

	(void)state;
	keypol_default_cert(&pol);
	der = make_csr(key, "B.EXAMPLE", e, 4, EVP_sha256(), &len);
	if (parse(der, len, &pol, &c, &p) < 0)
		fail_msg("%s", p.detail);
	assert_int_equal(c.ndns, 3);
	assert_string_equal(c.dns[0], "b.example");
	assert_string_equal(c.dns[1], "a.example");
	assert_string_equal(c.dns[2], "*.c.example");
	assert_int_equal(c.nip, 0);
	assert_int_equal(EVP_PKEY_eq(c.pkey, key), 1);
	csr_clear(&c);
	csr_clear(&c);
	csr_clear(NULL);
	free(der);
}

static void
test_good_rsa_and_others(void **state)
{
	static const struct ext e[] = { { NID_subject_alt_name, "DNS:rsa.example" } };
	static const struct {
		const char *key;
		int sha;
		int account_pol;
	} t[] = {
		{ "rsa2048", 256, 0 }, { "rsa3072", 384, 0 }, { "rsa2048", 512, 0 },
		{ "p384", 384, 0 }, { "p256", 512, 0 }, { "p521", 512, 1 },
		{ "ed25519", 0, 1 }, { "ed448", 0, 1 },
	};
	struct acme_keypol pol;
	struct acme_problem p;
	struct acme_csr c;
	unsigned char *der;
	const EVP_MD *md;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].account_pol)
			keypol_default_account(&pol);
		else
			keypol_default_cert(&pol);
		md = t[i].sha == 256 ? EVP_sha256() : t[i].sha == 384 ? EVP_sha384() :
		    t[i].sha == 512 ? EVP_sha512() : NULL;
		der = make_csr(tk_key(t[i].key), NULL, e, 1, md, &len);
		if (parse(der, len, &pol, &c, &p) < 0)
			fail_msg("%s: %s", t[i].key, p.detail);
		assert_int_equal(c.ndns, 1);
		assert_string_equal(c.dns[0], "rsa.example");
		csr_clear(&c);
		free(der);
	}
}

static void
test_cn_only(void **state)
{
	struct acme_keypol pol;
	struct acme_problem p;
	struct acme_csr c;
	unsigned char *der;
	size_t len;

	(void)state;
	keypol_default_cert(&pol);
	der = make_csr(tk_key("p256"), "Www.Example.ORG", NULL, 0, EVP_sha256(), &len);
	assert_int_equal(parse(der, len, &pol, &c, &p), 0);
	assert_int_equal(c.ndns, 1);
	assert_string_equal(c.dns[0], "www.example.org");
	csr_clear(&c);
	free(der);
}

static void
test_ip_san(void **state)
{
	static const struct ext e[] = {
		{ NID_subject_alt_name, "IP:192.0.2.1,IP:2001:db8::1,IP:192.0.2.1,DNS:x.example" },
	};
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct acme_keypol pol;
	struct acme_problem p;
	struct acme_csr c;
	unsigned char *der;
	size_t len;

	(void)state;
	keypol_default_cert(&pol);
	der = make_csr(tk_key("p256"), NULL, e, 1, EVP_sha256(), &len);
	assert_int_equal(parse(der, len, &pol, &c, &p), 0);
	assert_int_equal(c.nip, 2);
	assert_int_equal(c.ip[0].len, 4);
	assert_memory_equal(c.ip[0].addr, "\xc0\x00\x02\x01", 4);
	assert_int_equal(c.ip[1].len, 16);
	assert_memory_equal(c.ip[1].addr, v6, 16);
	assert_int_equal(c.ndns, 1);
	csr_clear(&c);
	free(der);
}

static void
test_encoding(void **state)
{
	static const struct ext e[] = { { NID_subject_alt_name, "DNS:a.example" } };
	struct acme_keypol pol;
	unsigned char *der, *ber;
	size_t len;

	(void)state;
	keypol_default_cert(&pol);
	/* Trailing garbage. */
	der = make_csr(tk_key("p256"), NULL, e, 1, EVP_sha256(), &len);
	memcpy(der + len, "0123456789", 10);
	expect_bad(der, len + 10, &pol, "trailing");
	/* A non-minimal length in the outer SEQUENCE (BER, not DER). */
	der = make_csr(tk_key("p256"), NULL, e, 1, EVP_sha256(), &len);
	assert_int_equal(der[0], 0x30);
	assert_true(der[1] == 0x81 || der[1] == 0x82);
	ber = malloc(len + 1);
	ber[0] = 0x30;
	ber[1] = (unsigned char)(der[1] + 1);
	ber[2] = 0;
	memcpy(ber + 3, der + 2, len - 2);
	free(der);
	expect_bad(ber, len + 1, &pol, "DER");
	/* Truncated, empty, garbage, too big. */
	der = make_csr(tk_key("p256"), NULL, e, 1, EVP_sha256(), &len);
	expect_bad(der, len - 1, &pol, "not a DER-encoded");
	expect_bad(malloc(1), 0, &pol, "empty");
	der = malloc(64);
	memset(der, 0x41, 64);
	expect_bad(der, 64, &pol, "not a DER-encoded");
	der = calloc(1, 16385);
	expect_bad(der, 16385, &pol, "16 KiB");
}

/* Length of the DER TLV at p; *hdr gets the header size. */
static size_t
tlv_len(const unsigned char *p, size_t *hdr)
{
	size_t n, len = 0, i;

	if (p[1] < 0x80) {
		*hdr = 2;
		return p[1];
	}
	n = p[1] & 0x7f;
	for (i = 0; i < n; i++)
		len = len << 8 | p[2 + i];
	*hdr = 2 + n;
	return len;
}

static unsigned char *
put_len(unsigned char *o, size_t len)
{
	if (len < 0x80)
		*o++ = (unsigned char)len;
	else if (len < 0x100) {
		*o++ = 0x81;
		*o++ = (unsigned char)len;
	} else {
		*o++ = 0x82;
		*o++ = (unsigned char)(len >> 8);
		*o++ = (unsigned char)len;
	}
	return o;
}

/* A validly signed CSR whose signed part (the CertificationRequestInfo) has a
 * non-minimal length: BER that OpenSSL would otherwise keep as received. */
static void
test_ber_inside_signature(void **state)
{
	static const struct ext e[] = { { NID_subject_alt_name, "DNS:a.example" } };
	EVP_PKEY *key = tk_key("p256");
	struct acme_keypol pol;
	unsigned char *der, *tbs, *out, *o, sig[128];
	const unsigned char *body, *algid;
	size_t len, hdr, thdr, tlen, alen, ahdr, siglen = sizeof(sig), n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	(void)state;
	keypol_default_cert(&pol);
	der = make_csr(key, NULL, e, 1, EVP_sha256(), &len);
	tlv_len(der, &hdr);
	body = der + hdr;
	tlen = tlv_len(body, &thdr);
	algid = body + thdr + tlen;
	alen = tlv_len(algid, &ahdr) + ahdr;
	/* The same info with one more (zero) length octet. */
	tbs = malloc(thdr + 1 + tlen);
	tbs[0] = 0x30;
	tbs[1] = (unsigned char)(0x80 | (thdr - 2 + 1));
	tbs[2] = 0;
	memcpy(tbs + 3, body + 2, thdr - 2 + tlen);
	n = thdr + 1 + tlen;
	assert_true(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) > 0);
	assert_true(EVP_DigestSign(ctx, sig, &siglen, tbs, n) > 0);
	EVP_MD_CTX_free(ctx);
	out = o = malloc(n + alen + siglen + 16);
	*o++ = 0x30;
	o = put_len(o, n + alen + 3 + siglen);
	memcpy(o, tbs, n);
	o += n;
	memcpy(o, algid, alen);
	o += alen;
	*o++ = 0x03;
	*o++ = (unsigned char)(siglen + 1);
	*o++ = 0;
	memcpy(o, sig, siglen);
	o += siglen;
	free(tbs);
	free(der);
	expect_bad(out, (size_t)(o - out), &pol, "not in DER");
}

static void
test_signature(void **state)
{
	static const struct ext e[] = { { NID_subject_alt_name, "DNS:a.example" } };
	struct acme_keypol pol;
	unsigned char *der;
	size_t len;

	(void)state;
	keypol_default_cert(&pol);
	bad_csr(tk_key("rsa2048"), NULL, e, 1, EVP_sha1(), "signature algorithm");
	bad_csr(tk_key("p256"), NULL, e, 1, EVP_sha1(), "signature algorithm");
	bad_csr(tk_key("p256"), NULL, e, 1, EVP_sha224(), "signature algorithm");
	/* The last octet is in the signature. */
	der = make_csr(tk_key("p256"), NULL, e, 1, EVP_sha256(), &len);
	der[len - 1] ^= 1;
	expect_bad(der, len, &pol, "signature does not verify");
	der = make_csr(tk_key("rsa2048"), NULL, e, 1, EVP_sha256(), &len);
	der[len - 1] ^= 1;
	expect_bad(der, len, &pol, "signature does not verify");
}

/* RSASSA-PSS with SHA-256 is accepted; with SHA-1 it is not. */
static void
test_pss(void **state)
{
	X509_REQ *req;
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx;
	struct acme_keypol pol;
	struct acme_problem p;
	struct acme_csr c;
	unsigned char *der;
	int len, sha1;

	(void)state;
	keypol_default_cert(&pol);
	for (sha1 = 0; sha1 < 2; sha1++) {
		unsigned char *w;
		size_t dlen;

		der = make_csr(tk_key("rsa2048"), "pss.example", NULL, 0, EVP_sha256(), &dlen);
		w = der;
		req = d2i_X509_REQ(NULL, (const unsigned char **)&w, (long)dlen);
		free(der);
		ctx = EVP_MD_CTX_new();
		assert_true(EVP_DigestSignInit(ctx, &pctx, sha1 ? EVP_sha1() : EVP_sha256(), NULL,
		    tk_key("rsa2048")) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
		assert_true(X509_REQ_sign_ctx(req, ctx) > 0);
		len = i2d_X509_REQ(req, NULL);
		der = w = malloc((size_t)len);
		i2d_X509_REQ(req, &w);
		if (sha1) {
			expect_bad(der, (size_t)len, &pol, "RSASSA-PSS");
		} else {
			if (parse(der, (size_t)len, &pol, &c, &p) < 0)
				fail_msg("PSS: %s", p.detail);
			csr_clear(&c);
			free(der);
		}
		EVP_MD_CTX_free(ctx);
		X509_REQ_free(req);
	}
}

static void
test_key_policy(void **state)
{
	static const struct ext e[] = { { NID_subject_alt_name, "DNS:a.example" } };
	struct acme_keypol pol;
	unsigned char *der;
	size_t len;

	(void)state;
	bad_csr(tk_key("rsa1024"), NULL, e, 1, EVP_sha256(), "RSA key smaller");
	bad_csr(tk_key("p521"), NULL, e, 1, EVP_sha512(), "P-521 keys are not accepted");
	bad_csr(tk_key("ed25519"), NULL, e, 1, NULL, "Ed25519 keys are not accepted");
	bad_csr(tk_key("secp256k1"), NULL, e, 1, EVP_sha256(), "curve");
	/* A directory that takes only P-384. */
	assert_int_equal(keypol_parse("p384", &pol, &(const char *){ NULL }), ACME_OK);
	der = make_csr(tk_key("p256"), NULL, e, 1, EVP_sha256(), &len);
	expect_bad(der, len, &pol, "key refused (P-256)");
}

static void
test_extensions(void **state)
{
	static const struct ext ca[] = {
		{ NID_subject_alt_name, "DNS:a.example" }, { NID_basic_constraints, "critical,CA:TRUE" },
	};
	static const struct ext email[] = { { NID_subject_alt_name, "DNS:a.example,email:a@a.example" } };
	static const struct ext uri[] = { { NID_subject_alt_name, "URI:https://a.example/" } };
	static const struct ext dirn[] = { { NID_subject_alt_name, "RID:1.2.3.4" } };
	static const struct ext crl[] = {
		{ NID_subject_alt_name, "DNS:a.example" },
		{ NID_crl_distribution_points, "critical,URI:http://crl.example/x.crl" },
	};
	static const struct ext ski[] = {
		{ NID_subject_alt_name, "DNS:a.example" }, { NID_netscape_comment, "hello" },
	};
	static const struct ext twice[] = {
		{ NID_subject_alt_name, "DNS:a.example" }, { NID_subject_alt_name, "DNS:b.example" },
	};
	static const struct ext ip_as_dns[] = { { NID_subject_alt_name, "DNS:10.0.0.1" } };
	static const struct ext ok[] = { { NID_subject_alt_name, "DNS:a.example" } };

	(void)state;
	bad_csr(tk_key("p256"), NULL, ca, 2, EVP_sha256(), "CA:TRUE");
	bad_csr(tk_key("p256"), NULL, email, 1, EVP_sha256(), "rfc822Name");
	bad_csr(tk_key("p256"), NULL, uri, 1, EVP_sha256(), "uniformResourceIdentifier");
	bad_csr(tk_key("p256"), NULL, dirn, 1, EVP_sha256(), "registeredID");
	bad_csr(tk_key("p256"), NULL, crl, 2, EVP_sha256(), "2.5.29.31 (crlDistributionPoints)");
	{
		/* A non-critical extension we do not use is ignored: the profile
		 * decides what the certificate holds. */
		struct acme_csr c;
		struct acme_problem p;
		struct acme_keypol pol;
		size_t len;
		unsigned char *der = make_csr(tk_key("p256"), NULL, ski, 2, EVP_sha256(), &len);

		memset(&p, 0, sizeof(p));
		keypol_default_cert(&pol);
		assert_int_equal(csr_parse(der, len, &pol, &c, &p), 0);
		csr_clear(&c);
		free(der);
	}
	bad_csr(tk_key("p256"), NULL, twice, 2, EVP_sha256(), "twice");
	bad_csr(tk_key("p256"), NULL, ip_as_dns, 1, EVP_sha256(), "IP address");
	/* Names in the subject. */
	bad_csr(tk_key("p256"), "192.0.2.7", NULL, 0, EVP_sha256(), "CN holds an IP address");
	bad_csr(tk_key("p256"), "2001:db8::7", ok, 1, EVP_sha256(), "CN holds an IP address");
	bad_csr(tk_key("p256"), "My Server", ok, 1, EVP_sha256(), "CN My Server is not a DNS name");
	bad_csr(tk_key("p256"), "caf\xc3\xa9.example", ok, 1, EVP_sha256(), "not a DNS name");
	bad_csr(tk_key("p256"), NULL, NULL, 0, EVP_sha256(), "no DNS name");
}

static void
test_two_cns(void **state)
{
	struct acme_keypol pol;
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der, *w;
	int n;

	(void)state;
	keypol_default_cert(&pol);
	X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
	    (unsigned char *)"a.example", -1, -1, 0);
	X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
	    (unsigned char *)"b.example", -1, -1, 0);
	X509_REQ_set_subject_name(req, name);
	X509_REQ_set_pubkey(req, tk_key("p256"));
	X509_REQ_sign(req, tk_key("p256"), EVP_sha256());
	n = i2d_X509_REQ(req, NULL);
	der = w = malloc((size_t)n);
	i2d_X509_REQ(req, &w);
	expect_bad(der, (size_t)n, &pol, "more than one CN");
	X509_NAME_free(name);
	X509_REQ_free(req);
}

static void
test_name_limit(void **state)
{
	struct acme_keypol pol;
	struct acme_problem p;
	struct acme_csr c;
	struct ext e = { NID_subject_alt_name, NULL };
	char *san = malloc(101 * 24), *o;
	unsigned char *der;
	size_t len;
	int i;

	(void)state;
	keypol_default_cert(&pol);
	for (o = san, i = 0; i < 100; i++)
		o += sprintf(o, "%sDNS:n%d.example", i ? "," : "", i);
	e.value = san;
	/* 100 names plus a duplicate CN: fine. */
	der = make_csr(tk_key("p256"), "n7.example", &e, 1, EVP_sha256(), &len);
	assert_int_equal(parse(der, len, &pol, &c, &p), 0);
	assert_int_equal(c.ndns, 100);
	csr_clear(&c);
	free(der);
	/* 101 names. */
	der = make_csr(tk_key("p256"), "n100.example", &e, 1, EVP_sha256(), &len);
	expect_bad(der, len, &pol, "more than 100 names");
	strcat(san, ",IP:10.0.0.1");
	bad_csr(tk_key("p256"), NULL, &e, 1, EVP_sha256(), "more than 100 names");
	free(san);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_ec),
		cmocka_unit_test(test_good_rsa_and_others),
		cmocka_unit_test(test_cn_only),
		cmocka_unit_test(test_ip_san),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_ber_inside_signature),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_pss),
		cmocka_unit_test(test_key_policy),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_two_cns),
		cmocka_unit_test(test_name_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
