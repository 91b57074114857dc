/*
 * Self-service TLS, the files side (validators/upstream_tls.c): when the
 * server's certificate needs replacing, the CSR for the daemon's new key,
 * the atomic replacement of key and chain, the reload command's argument
 * vector; and the RA client's newOrder payload (profiles forwarded only to
 * an upstream that offers them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/ca.h"
#include "core/json.h"
#include "validators/upstream.h"

struct fx {
	char dir[64];
	char cert[128], key[128];
	EVP_PKEY *ca_key;
	X509 *ca;
	struct acme_tls_config t;
	char *names[4];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-upstream-tls.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cert, sizeof(f->cert), "%s/server.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/server.key", f->dir);
	assert_int_equal(ca_gen_key("p256", &f->ca_key), ACME_OK);
	assert_int_equal(ca_make_root(f->ca_key, "test root", 10, &f->ca), ACME_OK);
	f->names[0] = (char *)"a.example";
	f->names[1] = (char *)"b.example";
	f->t.names = f->names;
	f->t.nnames = 2;
	f->t.cert_file = f->cert;
	f->t.key_file = f->key;
	f->t.renew_fraction = (char *)"2/3";
	f->t.renew_permille = 667;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	EVP_PKEY_free(f->ca_key);
	X509_free(f->ca);
	free(f);
	return 0;
}

/* A certificate for key naming dns (and ips), valid for days from now. */
static X509 *
make_cert(struct fx *f, EVP_PKEY *key, const char *const *dns, size_t n, const char *ip, int days)
{
	X509 *x = NULL;

	assert_int_equal(ca_make_tls(key, dns, n, ip ? &ip : NULL, ip ? 1 : 0, days, f->ca,
	    f->ca_key, &x), ACME_OK);
	return x;
}

static void
write_pair(struct fx *f, EVP_PKEY *key, X509 *x)
{
	X509 *chain[2] = { x, f->ca };

	unlink(f->key);
	unlink(f->cert);
	assert_int_equal(ca_write_key(f->key, key), ACME_OK);
	assert_int_equal(ca_write_certs(f->cert, chain, 2), ACME_OK);
}

static enum ups_tls_verdict
verdict(struct fx *f, int64_t now)
{
	char why[600];
	int64_t at;

	return ups_tls_check(&f->t, now, why, sizeof(why), &at);
}

static void
test_check(void **state)
{
	struct fx *f = *state;
	const char *two[] = { "a.example", "b.example" }, *one[] = { "a.example" };
	EVP_PKEY *k = NULL, *other = NULL;
	X509 *x;
	char why[600];
	int64_t now = (int64_t)time(NULL), at = 0;

	assert_int_equal(verdict(f, now), UPS_TLS_MISSING);
	assert_int_equal(ca_gen_key("p256", &k), ACME_OK);
	assert_int_equal(ca_gen_key("p256", &other), ACME_OK);
	/* Good: 3 days, renewed after 2. */
	x = make_cert(f, k, two, 2, NULL, 3);
	write_pair(f, k, x);
	X509_free(x);
	assert_int_equal(ups_tls_check(&f->t, now, why, sizeof(why), &at), UPS_TLS_FRESH);
	assert_true(at > now + 2 * 86400 - 600 && at < now + 2 * 86400 + 600);
	assert_int_equal(verdict(f, now + 2 * 86400 + 700), UPS_TLS_DUE);
	assert_int_equal(verdict(f, now + 4 * 86400), UPS_TLS_DUE);
	/* Names in any case and order, but all of them and no others. */
	f->names[0] = (char *)"B.Example";
	f->names[1] = (char *)"a.example";
	assert_int_equal(verdict(f, now), UPS_TLS_FRESH);
	f->t.nnames = 1;
	assert_int_equal(verdict(f, now), UPS_TLS_NAMES);
	f->names[2] = (char *)"c.example";
	f->t.nnames = 3;
	assert_int_equal(verdict(f, now), UPS_TLS_NAMES);
	f->names[0] = (char *)"a.example";
	f->names[1] = (char *)"b.example";
	f->t.nnames = 2;
	/* An IP address too (as acme-admin init makes them): not tls_names. */
	x = make_cert(f, k, two, 2, "127.0.0.1", 3);
	write_pair(f, k, x);
	X509_free(x);
	assert_int_equal(verdict(f, now), UPS_TLS_NAMES);
	x = make_cert(f, k, one, 1, NULL, 3);
	write_pair(f, k, x);
	X509_free(x);
	assert_int_equal(verdict(f, now), UPS_TLS_NAMES);
	/* The key file holds another key. */
	x = make_cert(f, k, two, 2, NULL, 3);
	write_pair(f, other, x);
	X509_free(x);
	assert_int_equal(verdict(f, now), UPS_TLS_KEY);
	/* Not PEM at all. */
	FILE *fp = fopen(f->cert, "w");
	assert_non_null(fp);
	fputs("not a certificate\n", fp);
	fclose(fp);
	assert_int_equal(verdict(f, now), UPS_TLS_MISSING);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void
test_csr(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = NULL, *pub;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	int i, crit = -1;

	assert_int_equal(ca_gen_key("p384", &k), ACME_OK);
	assert_int_equal(ups_tls_csr(k, f->names, 2, &der, &len), ACME_OK);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_ptr_equal(p, der + len);
	pub = X509_REQ_get0_pubkey(req);
	assert_int_equal(EVP_PKEY_eq(pub, k), 1);
	assert_int_equal(X509_REQ_verify(req, pub), 1);
	exts = X509_REQ_get_extensions(req);
	assert_non_null(exts);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
	for (i = 0; i < 2; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		assert_int_equal(g->type, GEN_DNS);
		assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.dNSName), f->names[i]);
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(der);
	assert_int_equal(ups_tls_csr(k, f->names, 0, &der, &len), ACME_EINVAL);
	EVP_PKEY_free(k);
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* No temporary file is left beside them. */
static int
leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".new-") != NULL)
			n++;
	closedir(d);
	return n;
}

static void
test_install(void **state)
{
	struct fx *f = *state;
	const char *two[] = { "a.example", "b.example" }, *one[] = { "a.example" };
	EVP_PKEY *old = NULL, *k = NULL, *other = NULL, *got;
	X509 *x, *oldx, *leaf;
	unsigned char *der = NULL;
	char *chain, *before_c, *before_k, *after, err[600];
	struct stat st;
	int len;
	BIO *b;
	FILE *fp;

	assert_int_equal(ca_gen_key("p256", &old), ACME_OK);
	assert_int_equal(ca_gen_key("p384", &k), ACME_OK);
	assert_int_equal(ca_gen_key("p384", &other), ACME_OK);
	oldx = make_cert(f, old, one, 1, NULL, 3);
	write_pair(f, old, oldx);
	X509_free(oldx);
	assert_int_equal(chmod(f->cert, 0640), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(f->key, 65534, 65534), 0);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, f->ca);
	BIO_write(b, "", 1);
	BIO_get_mem_data(b, &chain);
	before_c = slurp(f->cert);
	before_k = slurp(f->key);

	/* A certificate for another key, or for other names: refused, nothing changes. */
	x = make_cert(f, other, two, 2, NULL, 3);
	len = i2d_X509(x, &der);
	assert_int_equal(ups_tls_install(&f->t, k, der, (size_t)len, chain, err, sizeof(err)),
	    ACME_EINVAL);
	assert_non_null(strstr(err, "not for the key"));
	OPENSSL_free(der);
	der = NULL;
	X509_free(x);
	x = make_cert(f, k, one, 1, NULL, 3);
	len = i2d_X509(x, &der);
	assert_int_equal(ups_tls_install(&f->t, k, der, (size_t)len, chain, err, sizeof(err)),
	    ACME_EINVAL);
	assert_non_null(strstr(err, "tls_names"));
	OPENSSL_free(der);
	der = NULL;
	X509_free(x);
	after = slurp(f->cert);
	assert_string_equal(after, before_c);
	free(after);
	after = slurp(f->key);
	assert_string_equal(after, before_k);
	free(after);

	/* The right one: in place, key 0600 with the old owner, the chain after. */
	x = make_cert(f, k, two, 2, NULL, 3);
	len = i2d_X509(x, &der);
	assert_int_equal(ups_tls_install(&f->t, k, der, (size_t)len, chain, err, sizeof(err)),
	    ACME_OK);
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	if (geteuid() == 0)
		assert_int_equal(st.st_uid, 65534);
	assert_int_equal(stat(f->cert, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	fp = fopen(f->cert, "r");
	assert_non_null(fp);
	leaf = PEM_read_X509(fp, NULL, NULL, NULL);
	assert_non_null(leaf);
	assert_int_equal(X509_cmp(leaf, x), 0);
	X509_free(leaf);
	leaf = PEM_read_X509(fp, NULL, NULL, NULL);
	assert_non_null(leaf);
	assert_int_equal(X509_cmp(leaf, f->ca), 0);
	X509_free(leaf);
	fclose(fp);
	fp = fopen(f->key, "r");
	assert_non_null(fp);
	got = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(got);
	assert_int_equal(EVP_PKEY_eq(got, k), 1);
	EVP_PKEY_free(got);
	assert_int_equal(verdict(f, (int64_t)time(NULL)), UPS_TLS_FRESH);
	assert_int_equal(leftovers(f->dir), 0);
	OPENSSL_free(der);
	X509_free(x);

	/* A directory it cannot write to (a file in its way): an I/O error, no leftovers. */
	snprintf(f->key, sizeof(f->key), "%s/server.pem/key", f->dir);
	x = make_cert(f, k, two, 2, NULL, 3);
	der = NULL;
	len = i2d_X509(x, &der);
	assert_int_equal(ups_tls_install(&f->t, k, der, (size_t)len, NULL, err, sizeof(err)),
	    ACME_EIO);
	assert_non_null(strstr(err, "cannot create"));
	assert_int_equal(leftovers(f->dir), 0);
	OPENSSL_free(der);
	X509_free(x);
	free(before_c);
	free(before_k);
	BIO_free(b);
	EVP_PKEY_free(old);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void
test_argv(void **state)
{
	char **argv = NULL;

	(void)state;
	assert_int_equal(ups_tls_argv("  /usr/sbin/nginx -s\treload  ", &argv), ACME_OK);
	assert_string_equal(argv[0], "/usr/sbin/nginx");
	assert_string_equal(argv[1], "-s");
	assert_string_equal(argv[2], "reload");
	assert_null(argv[3]);
	ups_tls_argv_free(argv);
	/* No shell: quotes and $ are plain characters. */
	assert_int_equal(ups_tls_argv("/bin/echo \"a b\" $HOME;", &argv), ACME_OK);
	assert_string_equal(argv[1], "\"a");
	assert_string_equal(argv[2], "b\"");
	assert_string_equal(argv[3], "$HOME;");
	ups_tls_argv_free(argv);
	assert_int_equal(ups_tls_argv("nginx -s reload", &argv), ACME_EINVAL);
	assert_null(argv);
	assert_int_equal(ups_tls_argv("   ", &argv), ACME_EINVAL);
	ups_tls_argv_free(NULL);
}

/* The order's profile goes upstream when the upstream offers it by name. */
static void
test_order_profile(void **state)
{
	struct store_ident id[2] = { { STORE_IDENT_DNS, (char *)"www.example.com" },
		{ STORE_IDENT_IP, (char *)"192.0.2.1" } };
	struct store_order o;
	struct json_object *profiles, *none, *p;
	const char *why;
	int64_t t;
	const char *both = "{\"classic\":\"90 days\",\"shortlived\":\"6 days\"}";
	const char *other = "{\"classic\":\"90 days\"}";
	char *text;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.ident = id;
	o.nident = 2;
	o.profile = (char *)"shortlived";
	o.not_after = (int64_t)time(NULL) + 3600;
	assert_int_equal(acme_json_parse(both, strlen(both), &profiles, &why), ACME_OK);
	assert_int_equal(acme_json_parse(other, strlen(other), &none, &why), ACME_OK);

	text = ups_new_order_payload(&o, profiles);
	assert_non_null(text);
	assert_int_equal(acme_json_parse(text, strlen(text), &p, &why), ACME_OK);
	assert_string_equal(acme_json_str(p, "profile"), "shortlived");
	assert_int_equal(json_object_array_length(acme_json_get(p, "identifiers")), 2);
	assert_string_equal(acme_json_str(json_object_array_get_idx(acme_json_get(p,
	    "identifiers"), 1), "type"), "ip");
	/* A requested notAfter goes up as RFC 3339 text, no notBefore unasked. */
	assert_non_null(acme_json_str(p, "notAfter"));
	assert_int_equal(acme_parse_rfc3339(acme_json_str(p, "notAfter"), &t), 0);
	assert_true(t == o.not_after);
	assert_null(acme_json_get(p, "notBefore"));
	json_object_put(p);
	free(text);

	/* Offered profiles without that name, none, or no profile asked for. */
	text = ups_new_order_payload(&o, none);
	assert_null(strstr(text, "profile"));
	free(text);
	text = ups_new_order_payload(&o, NULL);
	assert_null(strstr(text, "profile"));
	free(text);
	o.profile = NULL;
	text = ups_new_order_payload(&o, profiles);
	assert_null(strstr(text, "profile"));
	free(text);
	json_object_put(profiles);
	json_object_put(none);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install, setup, teardown),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_order_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
