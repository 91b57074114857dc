/* The issuing CA and CA creation (core/ca.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/ca.h"
#include "tests/lib/testkeys.h"

static char dir[64];

struct pki {
	EVP_PKEY *root_key, *sub_key;
	X509 *root, *sub;
};

static char *
path(const char *name)
{
	return tk_printf("%s/%s", dir, name);
}

static void
pki_make(struct pki *k, const char *type)
{
	assert_int_equal(ca_gen_key(type, &k->root_key), ACME_OK);
	assert_int_equal(ca_gen_key(type, &k->sub_key), ACME_OK);
	assert_int_equal(ca_make_root(k->root_key, "Test Root", 30, &k->root), ACME_OK);
	assert_int_equal(ca_make_sub(k->sub_key, "Test Issuing CA", 20, k->root, k->root_key,
	    &k->sub), ACME_OK);
}

static void
pki_free(struct pki *k)
{
	EVP_PKEY_free(k->root_key);
	EVP_PKEY_free(k->sub_key);
	X509_free(k->root);
	X509_free(k->sub);
}

/* Write the issuing CA's files and load it. */
static struct acme_ca *
pki_load(struct pki *k)
{
	X509 *chain[2] = { k->sub, k->root };
	char *c = path("sub.pem"), *key = path("sub.key"), *ch = path("chain.pem");
	struct acme_ca *ca;

	assert_int_equal(ca_write_certs(c, &k->sub, 1), ACME_OK);
	assert_int_equal(ca_write_key(key, k->sub_key), ACME_OK);
	assert_int_equal(ca_write_certs(ch, chain, 2), ACME_OK);
	assert_int_equal(ca_load(c, key, ch, &ca), ACME_OK);
	free(c);
	free(key);
	free(ch);
	return ca;
}

/* X509_verify_cert of leaf with root trusted and sub as intermediate. */
static int
verify_chain(X509 *leaf, X509 *sub, X509 *root, int purpose, const char **err)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok;

	X509_STORE_add_cert(st, root);
	sk_X509_push(untrusted, sub);
	X509_STORE_CTX_init(ctx, st, leaf, untrusted);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	if (purpose)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	ok = X509_verify_cert(ctx);
	*err = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(st);
	return ok;
}

static int
ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static void
test_make_hierarchy(void **state)
{
	struct pki k;
	EVP_PKEY *tls_key;
	X509 *tls;
	const char *err;
	static const char *const dns[] = { "acme.test", "localhost" };
	static const char *const ips[] = { "127.0.0.1", "::1" };
	GENERAL_NAMES *san;

	(void)state;
	pki_make(&k, "p256");
	/* Root: self-signed CA, keyCertSign and cRLSign, both critical. */
	assert_int_equal(X509_check_ca(k.root), 1);
	assert_true(X509_get_extension_flags(k.root) & EXFLAG_SS);
	assert_int_equal(X509_get_key_usage(k.root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(ext_critical(k.root, NID_basic_constraints));
	assert_true(ext_critical(k.root, NID_key_usage));
	assert_non_null(X509_get0_subject_key_id(k.root));
	assert_int_equal(X509_get_pathlen(k.root), -1);
	/* Intermediate: pathlen 0, AKI = the root's SKI. */
	assert_int_equal(X509_check_ca(k.sub), 1);
	assert_int_equal(X509_get_pathlen(k.sub), 0);
	assert_int_equal(X509_get_key_usage(k.sub), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(k.sub),
	    X509_get0_subject_key_id(k.root)), 0);
	assert_int_equal(X509_check_issued(k.root, k.sub), X509_V_OK);
	/* TLS certificate. */
	assert_int_equal(ca_gen_key("p256", &tls_key), ACME_OK);
	assert_int_equal(ca_make_tls(tls_key, dns, 2, ips, 2, 10, k.sub, k.sub_key, &tls), ACME_OK);
	if (!verify_chain(tls, k.sub, k.root, X509_PURPOSE_SSL_SERVER, &err))
		fail_msg("TLS certificate does not verify: %s", err);
	assert_int_equal(X509_check_host(tls, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(tls, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(tls, "127.0.0.1", 0), 1);
	assert_true(X509_get_extended_key_usage(tls) & XKU_SSL_SERVER);
	san = X509_get_ext_d2i(tls, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(san), 4);
	GENERAL_NAMES_free(san);
	X509_free(tls);
	assert_int_equal(ca_make_tls(tls_key, dns, 1, (const char *const[]){ "1.2.3" }, 1, 10,
	    k.sub, k.sub_key, &tls), ACME_EINVAL);
	assert_null(tls);
	EVP_PKEY_free(tls_key);
	pki_free(&k);
}

struct issued {
	X509 *x;
	unsigned char serial[16];
	int64_t nb, na;
};

/* spki: the subject key's SubjectPublicKeyInfo to copy, or NULL. */
static void
issue_spki(struct acme_ca *ca, EVP_PKEY *subject, const X509_PUBKEY *spki,
    const struct ca_name *names, size_t n, struct issued *out)
{
	struct ca_issue_params ip;
	unsigned char *der;
	const unsigned char *q;
	size_t len;

	memset(&ip, 0, sizeof(ip));
	assert_int_equal(ca_new_serial(out->serial), ACME_OK);
	out->nb = (int64_t)time(NULL) - 60;
	out->na = out->nb + 90 * 86400;
	ip.pubkey = subject;
	ip.spki = spki;
	ip.name = names;
	ip.nname = n;
	ip.not_before = out->nb;
	ip.not_after = out->na;
	ip.key_usage = CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_ENCIPHERMENT;
	ip.ext_key_usage = CA_EKU_SERVER_AUTH | CA_EKU_CLIENT_AUTH;
	ip.crl_url = "http://ca.test/crl/1.crl";
	ip.aia_issuer_url = "http://ca.test/issuer.der";
	ip.serial = out->serial;
	ip.serial_len = 16;
	assert_int_equal(ca_issue(ca, &ip, &der, &len), ACME_OK);
	q = der;
	out->x = d2i_X509(NULL, &q, (long)len);
	assert_non_null(out->x);
	assert_ptr_equal(q, der + len);
	free(der);
}

static void
issue(struct acme_ca *ca, EVP_PKEY *subject, const struct ca_name *names, size_t n,
    struct issued *out)
{
	issue_spki(ca, subject, NULL, names, n, out);
}

static void
check_time(const ASN1_TIME *t, int64_t want)
{
	ASN1_TIME *w = ASN1_TIME_set(NULL, (time_t)want);
	int day, sec;

	assert_true(ASN1_TIME_diff(&day, &sec, t, w));
	assert_int_equal(day, 0);
	assert_int_equal(sec, 0);
	ASN1_TIME_free(w);
}

static void
check_leaf(struct acme_ca *ca, struct pki *k, struct issued *is, EVP_PKEY *subject, int rsa)
{
	const char *err;
	unsigned char serial[16], ski[20];
	unsigned int skilen;
	size_t kid_len;
	const unsigned char *kid;
	BIGNUM *bn;
	AUTHORITY_INFO_ACCESS *aia;
	CRL_DIST_POINTS *dps;
	X509 *x = is->x;

	if (!verify_chain(x, k->sub, k->root, X509_PURPOSE_SSL_SERVER, &err))
		fail_msg("issued certificate does not verify: %s", err);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_int_equal(BN_bn2binpad(bn, serial, 16), 16);
	assert_memory_equal(serial, is->serial, 16);
	BN_free(bn);
	check_time(X509_get0_notBefore(x), is->nb);
	check_time(X509_get0_notAfter(x), is->na);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), subject), 1);
	/* CA:FALSE, critical. */
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(ext_critical(x, NID_basic_constraints));
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	/* keyUsage, critical; keyEncipherment only for RSA keys. */
	assert_true(ext_critical(x, NID_key_usage));
	assert_int_equal(X509_get_key_usage(x),
	    KU_DIGITAL_SIGNATURE | (rsa ? KU_KEY_ENCIPHERMENT : 0));
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	assert_false(ext_critical(x, NID_ext_key_usage));
	/* SKI = SHA-1 of the key; AKI = the issuing CA's SKI. */
	assert_true(X509_pubkey_digest(x, EVP_sha1(), ski, &skilen));
	assert_int_equal(ASN1_STRING_length(X509_get0_subject_key_id(x)), 20);
	assert_memory_equal(ASN1_STRING_get0_data(X509_get0_subject_key_id(x)), ski, 20);
	kid = ca_key_id(ca, &kid_len);
	assert_int_equal(ASN1_STRING_length(X509_get0_authority_key_id(x)), (int)kid_len);
	assert_memory_equal(ASN1_STRING_get0_data(X509_get0_authority_key_id(x)), kid, kid_len);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	    X509_get0_subject_key_id(k->sub)), 0);
	/* CRL DP and AIA caIssuers. */
	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	assert_int_equal(sk_DIST_POINT_num(dps), 1);
	assert_string_equal(ASN1_STRING_get0_data(sk_GENERAL_NAME_value(
	    sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, 0)->d.uniformResourceIdentifier),
	    "http://ca.test/crl/1.crl");
	CRL_DIST_POINTS_free(dps);
	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 1);
	assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 0)->method), NID_ad_ca_issuers);
	AUTHORITY_INFO_ACCESS_free(aia);
}

static void
test_load_and_issue(void **state)
{
	static const struct ca_name names[] = {
		{ 0, "a.example", { 0 }, 0 },
		{ 0, "www.b.example", { 0 }, 0 },
		{ 1, NULL, { 192, 0, 2, 1 }, 4 },
		{ 1, NULL, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 16 },
	};
	struct acme_ca *ca;
	struct issued is;
	struct pki k;
	GENERAL_NAMES *san;
	char cn[80];
	const char *pem;

	(void)state;
	pki_make(&k, "p256");
	ca = pki_load(&k);
	assert_ptr_equal(X509_cmp(ca_cert(ca), k.sub), 0);
	assert_int_equal(EVP_PKEY_eq(ca_key(ca), k.sub_key), 1);
	/* The chain served: the issuing CA first, then the root as given. */
	pem = ca_chain_pem(ca);
	assert_non_null(pem);
	assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	assert_non_null(strstr(strstr(pem, "-----END CERTIFICATE-----\n") + 1, "-----BEGIN"));

	issue(ca, tk_key("p256"), names, 4, &is);
	check_leaf(ca, &k, &is, tk_key("p256"), 0);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(is.x), NID_commonName, cn,
	    sizeof(cn)), 9);
	assert_string_equal(cn, "a.example");
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(is.x)), 1);
	assert_false(ext_critical(is.x, NID_subject_alt_name));
	san = X509_get_ext_d2i(is.x, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(san), 4);
	assert_int_equal(sk_GENERAL_NAME_value(san, 2)->type, GEN_IPADD);
	GENERAL_NAMES_free(san);
	assert_int_equal(X509_check_host(is.x, "www.b.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(is.x, "2001:db8::1", 0), 1);
	assert_int_equal(X509_get_signature_nid(is.x), NID_ecdsa_with_SHA256);
	X509_free(is.x);

	/* An RSA subject key gets keyEncipherment too. */
	issue(ca, tk_key("rsa2048"), names, 1, &is);
	check_leaf(ca, &k, &is, tk_key("rsa2048"), 1);
	X509_free(is.x);

	ca_free(ca);
	ca_free(NULL);
	pki_free(&k);
}

/* The subject key copied from a SubjectPublicKeyInfo (what finalize passes,
 * from the CSR) makes the same certificate key as the EVP_PKEY: EC with
 * its curve parameter, RSA with its NULL parameter, Ed25519 with none. */
static void
test_issue_copies_spki(void **state)
{
	static const struct ca_name names[] = { { 0, "a.example", { 0 }, 0 } };
	static const char *const keys[] = { "p256", "p384", "rsa2048", "ed25519" };
	struct acme_ca *ca;
	struct issued is;
	struct pki k;
	X509_PUBKEY *spki;
	unsigned char *want = NULL, *got = NULL;
	int wlen, glen;
	size_t i;

	(void)state;
	pki_make(&k, "p256");
	ca = pki_load(&k);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		spki = NULL;
		assert_int_equal(X509_PUBKEY_set(&spki, tk_key(keys[i])), 1);
		issue_spki(ca, tk_key(keys[i]), spki, names, 1, &is);
		check_leaf(ca, &k, &is, tk_key(keys[i]), i == 2);
		/* Byte for byte the SubjectPublicKeyInfo given. */
		wlen = i2d_X509_PUBKEY(spki, &want);
		glen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(is.x), &got);
		assert_true(wlen > 0);
		assert_int_equal(glen, wlen);
		assert_memory_equal(got, want, (size_t)wlen);
		OPENSSL_free(want);
		OPENSSL_free(got);
		want = got = NULL;
		X509_PUBKEY_free(spki);
		X509_free(is.x);
	}
	ca_free(ca);
	pki_free(&k);
}

static void
test_ip_only_and_long_names(void **state)
{
	static const char long_name[] =
	    "a-very-long-label-that-goes-on-and-on.another-long-label.example.com";
	static const struct ca_name ip_only[] = { { 1, NULL, { 10, 0, 0, 1 }, 4 } };
	static const struct ca_name long_first[] = {
		{ 0, long_name, { 0 }, 0 }, { 0, "short.example", { 0 }, 0 },
	};
	struct acme_ca *ca;
	struct issued is;
	struct pki k;
	char cn[80];

	(void)state;
	assert_true(strlen(long_name) > 64);
	pki_make(&k, "p384");
	ca = pki_load(&k);
	/* No DNS name: an empty subject and a critical SAN. */
	issue(ca, tk_key("p256"), ip_only, 1, &is);
	check_leaf(ca, &k, &is, tk_key("p256"), 0);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(is.x)), 0);
	assert_true(ext_critical(is.x, NID_subject_alt_name));
	X509_free(is.x);
	/* The CN is the first name short enough for one. */
	issue(ca, tk_key("p256"), long_first, 2, &is);
	X509_NAME_get_text_by_NID(X509_get_subject_name(is.x), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "short.example");
	assert_true(X509_check_host(is.x, long_name, 0, 0, NULL) == 1);
	X509_free(is.x);
	ca_free(ca);
	pki_free(&k);
}

static void
test_issue_bad_params(void **state)
{
	static const struct ca_name n[] = { { 0, "a.example", { 0 }, 0 } };
	unsigned char serial[16] = { 0x80, 1 }, *der;
	struct ca_issue_params ip;
	struct acme_ca *ca;
	struct pki k;
	size_t len;

	(void)state;
	pki_make(&k, "p256");
	ca = pki_load(&k);
	memset(&ip, 0, sizeof(ip));
	ip.pubkey = tk_key("p256");
	ip.name = n;
	ip.nname = 1;
	ip.not_before = 1000000000;
	ip.not_after = 1000086400;
	ip.serial = serial;
	ip.serial_len = 16;
	assert_int_equal(ca_issue(ca, &ip, &der, &len), ACME_EINVAL);     /* negative serial */
	assert_null(der);
	serial[0] = 1;
	ip.not_after = ip.not_before;
	assert_int_equal(ca_issue(ca, &ip, &der, &len), ACME_EINVAL);
	ip.not_after = ip.not_before + 1;
	ip.nname = 0;
	assert_int_equal(ca_issue(ca, &ip, &der, &len), ACME_EINVAL);
	ip.nname = 1;
	ip.serial_len = 21;
	assert_int_equal(ca_issue(ca, &ip, &der, &len), ACME_EINVAL);
	ip.serial_len = 16;
	assert_int_equal(ca_issue(ca, &ip, &der, &len), ACME_OK);
	free(der);
	ca_free(ca);
	pki_free(&k);
}

static void
test_eddsa_and_rsa_issuers(void **state)
{
	static const struct ca_name n[] = { { 0, "ed.example", { 0 }, 0 } };
	static const char *const types[] = { "ed25519", "ed448", "rsa2048" };
	static const int sig[] = { NID_ED25519, NID_ED448, NID_sha256WithRSAEncryption };
	struct acme_ca *ca;
	struct issued is;
	struct pki k;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		pki_make(&k, types[i]);
		ca = pki_load(&k);
		issue(ca, tk_key("p256"), n, 1, &is);
		check_leaf(ca, &k, &is, tk_key("p256"), 0);
		assert_int_equal(X509_get_signature_nid(is.x), sig[i]);
		assert_int_equal(X509_get_signature_nid(k.sub), sig[i]);
		X509_free(is.x);
		ca_free(ca);
		pki_free(&k);
	}
}

static void
test_load_errors(void **state)
{
	struct pki k, other;
	struct acme_ca *ca = (struct acme_ca *)1;
	X509 *wrong_chain[2];
	EVP_PKEY *tls_key;
	X509 *tls;
	char *c = path("e-sub.pem"), *key = path("e-sub.key"), *rkey = path("e-root.key");
	char *ch = path("e-chain.pem"), *tc = path("e-tls.pem"), *tk = path("e-tls.key");
	char *junk = path("e-junk.pem"), *uri;
	static const char *const dns[] = { "x.example" };
	FILE *f;

	(void)state;
	pki_make(&k, "p256");
	pki_make(&other, "p256");
	assert_int_equal(ca_write_certs(c, &k.sub, 1), ACME_OK);
	assert_int_equal(ca_write_key(key, k.sub_key), ACME_OK);
	assert_int_equal(ca_write_key(rkey, k.root_key), ACME_OK);
	/* Without a chain file the chain is the issuing certificate alone; the
	 * key may be named by a file: URI. */
	uri = tk_printf("file:%s", key);
	assert_int_equal(ca_load(c, uri, NULL, &ca), ACME_OK);
	free(uri);
	assert_null(strstr(ca_chain_pem(ca) + 1, "-----BEGIN"));
	ca_free(ca);
	/* Key of another certificate. */
	assert_int_equal(ca_load(c, rkey, NULL, &ca), ACME_ECONFIG);
	assert_null(ca);
	/* A chain that does not start with the issuing certificate. */
	wrong_chain[0] = other.sub;
	wrong_chain[1] = other.root;
	assert_int_equal(ca_write_certs(ch, wrong_chain, 2), ACME_OK);
	assert_int_equal(ca_load(c, key, ch, &ca), ACME_ECONFIG);
	/* The issuing certificate followed by a root that did not sign it. */
	wrong_chain[0] = k.sub;
	assert_int_equal(ca_write_certs(ch, wrong_chain, 2), ACME_OK);
	assert_int_equal(ca_load(c, key, ch, &ca), ACME_ECONFIG);
	wrong_chain[1] = k.root;
	assert_int_equal(ca_write_certs(ch, wrong_chain, 2), ACME_OK);
	assert_int_equal(ca_load(c, key, ch, &ca), ACME_OK);
	ca_free(ca);
	/* Not a CA. */
	assert_int_equal(ca_gen_key("p256", &tls_key), ACME_OK);
	assert_int_equal(ca_make_tls(tls_key, dns, 1, NULL, 0, 5, k.sub, k.sub_key, &tls), ACME_OK);
	assert_int_equal(ca_write_certs(tc, &tls, 1), ACME_OK);
	assert_int_equal(ca_write_key(tk, tls_key), ACME_OK);
	assert_int_equal(ca_load(tc, tk, NULL, &ca), ACME_ECONFIG);
	/* Missing and broken files. */
	assert_int_equal(ca_load("/nonexistent/ca.pem", key, NULL, &ca), ACME_EIO);
	assert_int_equal(ca_load(c, "/nonexistent/ca.key", NULL, &ca), ACME_ECONFIG);
	f = fopen(junk, "w");
	fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	assert_int_equal(ca_load(junk, key, NULL, &ca), ACME_ECONFIG);
	assert_int_equal(ca_load(c, junk, NULL, &ca), ACME_ECONFIG);
	assert_int_equal(ca_load(c, key, junk, &ca), ACME_ECONFIG);
	assert_null(ca);
	X509_free(tls);
	EVP_PKEY_free(tls_key);
	pki_free(&k);
	pki_free(&other);
	free(c), free(key), free(rkey), free(ch), free(tc), free(tk), free(junk);
}

static void
test_write_key_mode(void **state)
{
	char *key = path("mode.key"), buf[64];
	struct stat st;
	EVP_PKEY *k = NULL, *back;
	FILE *f;

	(void)state;
	f = fopen(key, "w");
	fputs("old", f);
	fclose(f);
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(ca_gen_key("ed25519", &k), ACME_OK);
	assert_int_equal(ca_write_key(key, k), ACME_OK);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	f = fopen(key, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_string_equal(buf, "-----BEGIN PRIVATE KEY-----\n");
	rewind(f);
	back = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_int_equal(EVP_PKEY_eq(back, k), 1);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
	assert_int_equal(ca_write_key("/nonexistent/dir/x.key", tk_key("p256")), ACME_EIO);
	free(key);
}

static void
test_gen_key(void **state)
{
	static const char *const types[] = { "p256", "p384", "p521", "rsa2048", "ed25519", "ed448" };
	static const int ids[] = { EVP_PKEY_EC, EVP_PKEY_EC, EVP_PKEY_EC, EVP_PKEY_RSA,
	    EVP_PKEY_ED25519, EVP_PKEY_ED448 };
	static const int bits[] = { 256, 384, 521, 2048, 0, 0 };
	EVP_PKEY *k;
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		assert_int_equal(ca_gen_key(types[i], &k), ACME_OK);
		assert_int_equal(EVP_PKEY_get_base_id(k), ids[i]);
		if (bits[i])
			assert_int_equal(EVP_PKEY_get_bits(k), bits[i]);
		EVP_PKEY_free(k);
	}
	assert_int_equal(ca_gen_key("rsa1024", &k), ACME_EINVAL);
	assert_null(k);
	assert_int_equal(ca_gen_key("", &k), ACME_EINVAL);
}

static void
test_serial(void **state)
{
	unsigned char s[16], prev[16];
	int i, top = 0;

	(void)state;
	memset(prev, 0, sizeof(prev));
	for (i = 0; i < 2000; i++) {
		assert_int_equal(ca_new_serial(s), ACME_OK);
		assert_int_equal(s[0] & 0x80, 0);
		assert_int_not_equal(s[0], 0);
		assert_memory_not_equal(s, prev, 16);
		top |= s[0];
		memcpy(prev, s, 16);
	}
	assert_int_equal(top, 0x7f);
}

/* Byte for byte what PEM_write_bio_X509 writes. */
static void
test_der_to_pem(void **state)
{
	struct pki k;
	unsigned char *der = NULL;
	BIO *b;
	char *pem, *want;
	long n;
	int len;

	(void)state;
	pki_make(&k, "rsa2048");
	len = i2d_X509(k.sub, &der);
	pem = ca_der_to_pem(der, (size_t)len);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, k.sub);
	n = BIO_get_mem_data(b, &want);
	assert_int_equal(strlen(pem), n);
	assert_memory_equal(pem, want, (size_t)n);
	BIO_free(b);
	free(pem);
	OPENSSL_free(der);
	/* Every length of the last line. */
	for (len = 1; len < 100; len++) {
		unsigned char raw[100];
		X509 *x;

		memset(raw, len, sizeof(raw));
		pem = ca_der_to_pem(raw, (size_t)len);
		assert_int_equal(strlen(pem), 28 + ((size_t)len + 47) / 48 + ((size_t)len + 2) / 3 * 4 + 26);
		b = BIO_new_mem_buf(pem, -1);
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		assert_null(x);    /* not a certificate, but the framing was read */
		BIO_free(b);
		free(pem);
	}
	assert_null(ca_der_to_pem((const unsigned char *)"", 0));
	pki_free(&k);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_ca.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char *cmd = tk_printf("rm -rf '%s'", dir);

	(void)state;
	(void)!system(cmd);
	free(cmd);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_hierarchy),
		cmocka_unit_test(test_load_and_issue),
		cmocka_unit_test(test_issue_copies_spki),
		cmocka_unit_test(test_ip_only_and_long_names),
		cmocka_unit_test(test_issue_bad_params),
		cmocka_unit_test(test_eddsa_and_rsa_issuers),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_write_key_mode),
		cmocka_unit_test(test_gen_key),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_der_to_pem),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
