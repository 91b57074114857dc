/*
 * CA keys in a PKCS#11 token (core/pkcs11.c through core/ca.c): a SoftHSM2
 * token made afresh in a temporary directory, an EC P-256 key generated in
 * it by pkcs11-tool, a CA certificate signed by the token, then ca_load_opts()
 * with the PIN in the URI or in a PIN file, issuance, CRL signing, and
 * loading after fork. Without SoftHSM2 the program prints one
 * "ok 1 # SKIP" line (cmocka's own skip is a "not ok").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/ca.h"
#include "core/config.h"
#include "core/pkcs11.h"
#include "tests/lib/testkeys.h"

#define MODULE "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"
#define URI_CA "pkcs11:token=acme;object=ca;type=private"
#define URI_OTHER "pkcs11:token=acme;object=other;type=private"

static char dir[64];
static char *ca_pem;            /* the CA certificate of the token's key "ca" */

static char *
path(const char *name)
{
	return tk_printf("%s/%s", dir, name);
}

static void
write_file(const char *p, const char *text, mode_t mode)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static int
run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static struct ca_key_opts
opts(const char *pin_file)
{
	struct ca_key_opts o = { MODULE, pin_file };

	return o;
}

/* Issue a leaf with ca and check its signature with the CA certificate. */
static int
issue_verifies(const struct acme_ca *ca)
{
	struct ca_issue_params ip;
	struct ca_name name = { 0, "hsm.example", { 0 }, 0 };
	unsigned char serial[16], *der = NULL;
	const unsigned char *p;
	size_t len;
	X509 *x = NULL;
	int ok = 0;

	memset(&ip, 0, sizeof(ip));
	ip.pubkey = tk_key("p256");
	ip.nname = 1;
	ip.name = &name;
	ip.not_before = time(NULL) - 60;
	ip.not_after = time(NULL) + 3600;
	ip.key_usage = CA_KU_DIGITAL_SIGNATURE;
	ip.ext_key_usage = CA_EKU_SERVER_AUTH;
	ip.serial = serial;
	ip.serial_len = sizeof(serial);
	if (ca_new_serial(serial) != ACME_OK || ca_issue(ca, &ip, &der, &len) != ACME_OK)
		goto out;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		goto out;
	ok = X509_verify(x, X509_get0_pubkey(ca_cert(ca))) == 1 &&
	    X509_check_issued(ca_cert(ca), x) == X509_V_OK;
out:
	X509_free(x);
	free(der);
	return ok;
}

static void
test_uri_redact(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(pkcs11_uri_redact("pkcs11:token=a;object=b;pin-value=1234", buf,
	    sizeof(buf)), "pkcs11:token=a;object=b;pin-value=***");
	assert_string_equal(pkcs11_uri_redact("pkcs11:pin-value=12%3B4;object=b", buf,
	    sizeof(buf)), "pkcs11:pin-value=***;object=b");
	assert_string_equal(pkcs11_uri_redact("pkcs11:object=b?module-name=x&pin-value=9", buf,
	    sizeof(buf)), "pkcs11:object=b?module-name=x&pin-value=***");
	/* An attribute value that merely contains the name is not a PIN. */
	assert_string_equal(pkcs11_uri_redact("pkcs11:object=xpin-value=1", buf, sizeof(buf)),
	    "pkcs11:object=xpin-value=1");
	assert_string_equal(pkcs11_uri_redact("/etc/ca.key", buf, sizeof(buf)), "/etc/ca.key");
	/* Cut short, never a PIN digit. */
	assert_string_equal(pkcs11_uri_redact("pkcs11:pin-value=123456", buf, 20),
	    "pkcs11:pin-value");
	assert_string_equal(pkcs11_uri_redact("pkcs11:object=abcdef", buf, 10), "pkcs11:ob");
}

static void
test_uri_split_pin(void **state)
{
	char *bare, *pin;

	(void)state;
	assert_int_equal(pkcs11_uri_split_pin("pkcs11:token=a;pin-value=1234;object=b", &bare,
	    &pin), ACME_OK);
	assert_string_equal(bare, "pkcs11:token=a;object=b");
	assert_string_equal(pin, "1234");
	free(bare);
	pkcs11_pin_free(pin);
	assert_int_equal(pkcs11_uri_split_pin("pkcs11:token=a?pin-value=p%26w%3Bd&x=y", &bare,
	    &pin), ACME_OK);
	assert_string_equal(bare, "pkcs11:token=a?x=y");
	assert_string_equal(pin, "p&w;d");
	free(bare);
	pkcs11_pin_free(pin);
	assert_int_equal(pkcs11_uri_split_pin("pkcs11:token=a?pin-value=1", &bare, &pin), ACME_OK);
	assert_string_equal(bare, "pkcs11:token=a");
	free(bare);
	pkcs11_pin_free(pin);
	assert_int_equal(pkcs11_uri_split_pin("pkcs11:token=a;object=b", &bare, &pin), ACME_OK);
	assert_string_equal(bare, "pkcs11:token=a;object=b");
	assert_null(pin);
	free(bare);
	/* Two PINs, an empty one, a bad escape, an encoded NUL, another scheme. */
	assert_int_equal(pkcs11_uri_split_pin("pkcs11:pin-value=1?pin-value=2", &bare, &pin),
	    ACME_EINVAL);
	assert_null(bare);
	assert_null(pin);
	assert_int_equal(pkcs11_uri_split_pin("pkcs11:pin-value=", &bare, &pin), ACME_EINVAL);
	assert_int_equal(pkcs11_uri_split_pin("pkcs11:pin-value=1%4", &bare, &pin), ACME_EINVAL);
	assert_int_equal(pkcs11_uri_split_pin("pkcs11:pin-value=1%00", &bare, &pin), ACME_EINVAL);
	assert_int_equal(pkcs11_uri_split_pin("file:/x;pin-value=1", &bare, &pin), ACME_EINVAL);
}

/* The two directory settings; ca_key and the module are taken as they are,
 * the PIN file relative to state_dir. */
static void
test_config_keys(void **state)
{
	char *conf = path("acme.conf");
	struct acme_config *c = NULL;
	const struct acme_dir_config *d;

	(void)state;
	write_file(conf, "base_url = https://acme.example\nstate_dir = /srv/acme\n"
	    "[directory default]\nca_cert = ca/i.pem\nca_key = " URI_CA "\n"
	    "pkcs11_module = libsofthsm2.so\npkcs11_pin_file = ca/pkcs11.pin\n"
	    "[directory plain]\nca_cert = ca/i.pem\nca_key = ca/i.key\n", 0600);
	assert_int_equal(acme_config_load(conf, &c), ACME_OK);
	d = acme_config_dir(c, "default");
	assert_string_equal(d->ca_key, URI_CA);
	assert_string_equal(d->pkcs11_module, "libsofthsm2.so");
	assert_string_equal(d->pkcs11_pin_file, "/srv/acme/ca/pkcs11.pin");
	d = acme_config_dir(c, "plain");
	assert_null(d->pkcs11_module);
	assert_null(d->pkcs11_pin_file);
	acme_config_free(c);
	free(conf);
}

/* The token's key makes its own CA certificate; ca_load takes it, with the
 * PIN in the URI, and signs a certificate and a CRL. The private key cannot
 * be written out. */
static void
test_load_and_sign(void **state)
{
	struct ca_key_opts o = opts(NULL);
	struct acme_ca *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *root = NULL;
	X509_CRL *crl;
	char *out = path("exported.key");
	EVP_PKEY *back;
	BIGNUM *priv = NULL;
	FILE *f;

	(void)state;
	assert_int_equal(pkcs11_load_key(URI_CA ";pin-value=1234", MODULE, NULL, &key), ACME_OK);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	assert_int_equal(ca_make_root(key, "HSM Test CA", 30, &root), ACME_OK);
	assert_int_equal(X509_verify(root, key), 1);
	assert_int_equal(ca_write_certs(ca_pem, &root, 1), ACME_OK);
	/* What the process holds has no secret: written out, the private
	 * scalar is zero. */
	assert_int_equal(ca_write_key(out, key), ACME_OK);
	assert_non_null(f = fopen(out, "r"));
	assert_non_null(back = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	assert_int_equal(EVP_PKEY_get_bn_param(back, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
	assert_true(BN_is_zero(priv));
	BN_free(priv);
	EVP_PKEY_free(back);

	assert_int_equal(ca_load_opts(ca_pem, URI_CA ";pin-value=1234", NULL, &o, &ca), ACME_OK);
	assert_true(issue_verifies(ca));
	assert_non_null(crl = X509_CRL_new());
	assert_true(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert(ca))));
	assert_true(X509_CRL_sign(crl, ca_key(ca), EVP_sha256()) > 0);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca_cert(ca))), 1);
	X509_CRL_free(crl);
	ca_free(ca);
	/* The PIN in the query part, where RFC 7512 puts it. */
	assert_int_equal(ca_load_opts(ca_pem, URI_CA "?pin-value=1234", NULL, &o, &ca), ACME_OK);
	assert_true(issue_verifies(ca));
	ca_free(ca);
	X509_free(root);
	EVP_PKEY_free(key);
	free(out);
}

static void
test_pin_file(void **state)
{
	char *pf = path("pin"), *empty = path("nopin");
	struct ca_key_opts o = opts(pf);
	struct acme_ca *ca = (struct acme_ca *)1;

	(void)state;
	write_file(pf, "1234\n", 0600);
	assert_int_equal(ca_load_opts(ca_pem, URI_CA, NULL, &o, &ca), ACME_OK);
	assert_true(issue_verifies(ca));
	ca_free(ca);
	/* Readable by the group: refused before the PIN is read. */
	assert_int_equal(chmod(pf, 0640), 0);
	assert_int_equal(ca_load_opts(ca_pem, URI_CA, NULL, &o, &ca), ACME_ECONFIG);
	assert_null(ca);
	/* An empty file, a missing file. */
	write_file(empty, "\n", 0600);
	o.pkcs11_pin_file = empty;
	assert_int_equal(ca_load_opts(ca_pem, URI_CA, NULL, &o, &ca), ACME_ECONFIG);
	o.pkcs11_pin_file = "/nonexistent/pin";
	assert_int_equal(ca_load_opts(ca_pem, URI_CA, NULL, &o, &ca), ACME_ECONFIG);
	assert_null(ca);
	free(pf);
	free(empty);
}

/* Before any login: once a process is logged in to the token, PKCS#11 does
 * not ask for the PIN again. The key of the CA certificate is not needed to
 * fail, so any certificate will do. */
static void
test_wrong_pin(void **state)
{
	char *bad = path("badpin"), *pem = path("any.pem");
	struct ca_key_opts o = opts(bad);
	struct acme_ca *ca = (struct acme_ca *)1;
	X509 *x = NULL;

	(void)state;
	assert_int_equal(ca_make_root(tk_key("p256"), "Any", 1, &x), ACME_OK);
	assert_int_equal(ca_write_certs(pem, &x, 1), ACME_OK);
	write_file(bad, "4321\n", 0600);
	assert_int_equal(ca_load_opts(pem, URI_CA, NULL, &o, &ca), ACME_ECONFIG);
	assert_null(ca);
	o.pkcs11_pin_file = NULL;
	assert_int_equal(ca_load_opts(pem, URI_CA ";pin-value=0000", NULL, &o, &ca), ACME_ECONFIG);
	/* No PIN at all: no login, so no private key. */
	assert_int_equal(ca_load_opts(pem, URI_CA, NULL, &o, &ca), ACME_ECONFIG);
	assert_null(ca);
	X509_free(x);
	free(bad);
	free(pem);
}

static void
test_wrong_key_or_module(void **state)
{
	struct ca_key_opts o = opts(NULL);
	struct acme_ca *ca = (struct acme_ca *)1;

	(void)state;
	/* Another key of the token than the certificate's. */
	assert_int_equal(ca_load_opts(ca_pem, URI_OTHER ";pin-value=1234", NULL, &o, &ca),
	    ACME_ECONFIG);
	assert_null(ca);
	/* No such object. */
	assert_int_equal(ca_load_opts(ca_pem, "pkcs11:token=acme;object=nope;pin-value=1234",
	    NULL, &o, &ca), ACME_ECONFIG);
	/* The engine takes one module per process. */
	o.pkcs11_module = "/nonexistent/module.so";
	assert_int_equal(ca_load_opts(ca_pem, URI_CA ";pin-value=1234", NULL, &o, &ca),
	    ACME_ECONFIG);
	assert_null(ca);
}

/* A child (as a FastCGI worker is) loads the key and signs on its own, after
 * the parent used the token: two at once. */
static void
test_after_fork(void **state)
{
	struct ca_key_opts o = opts(NULL);
	struct acme_ca *ca;
	pid_t pid[2];
	int i, st;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_true((pid[i] = fork()) >= 0);
		if (pid[i] == 0) {
			alarm(60);
			ca = NULL;
			if (ca_load_opts(ca_pem, URI_CA ";pin-value=1234", NULL, &o, &ca) != ACME_OK)
				_exit(2);
			st = issue_verifies(ca) && issue_verifies(ca) ? 0 : 3;
			ca_free(ca);
			_exit(st);
		}
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	/* And the parent still signs. */
	assert_int_equal(ca_load_opts(ca_pem, URI_CA ";pin-value=1234", NULL, &o, &ca), ACME_OK);
	assert_true(issue_verifies(ca));
	ca_free(ca);
}

static int
setup(void **state)
{
	char *conf, *cmd;
	int rc = -1;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_pkcs11.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	conf = path("softhsm2.conf");
	cmd = tk_printf("mkdir '%s/tokens' && printf 'directories.tokendir = %s/tokens\\n"
	    "objectstore.backend = file\\nlog.level = ERROR\\n' >'%s' && "
	    "softhsm2-util --init-token --free --label acme --pin 1234 --so-pin 5678 >/dev/null && "
	    "pkcs11-tool --module " MODULE " --login --pin 1234 --keypairgen "
	    "--key-type EC:prime256v1 --label ca --id 01 >/dev/null && "
	    "pkcs11-tool --module " MODULE " --login --pin 1234 --keypairgen "
	    "--key-type EC:prime256v1 --label other --id 02 >/dev/null", dir, dir, conf);
	if (setenv("SOFTHSM2_CONF", conf, 1) == 0 && run(cmd) == 0)
		rc = 0;
	ca_pem = path("ca.pem");
	free(cmd);
	free(conf);
	return rc;
}

static int
teardown(void **state)
{
	char *cmd = tk_printf("rm -rf '%s'", dir);

	(void)state;
	(void)!system(cmd);
	free(cmd);
	free(ca_pem);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_redact),
		cmocka_unit_test(test_uri_split_pin),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_load_and_sign),
		cmocka_unit_test(test_pin_file),
		cmocka_unit_test(test_wrong_key_or_module),
		cmocka_unit_test(test_after_fork),
	};

	if (access(MODULE, R_OK) != 0 ||
	    run("command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null") != 0) {
		printf("1..1\nok 1 # SKIP softhsm2 (and opensc's pkcs11-tool) not installed\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
