/* RA mode's configuration: mode, the upstream settings and their checks;
 * self-service TLS's tls_* settings, which are the same client's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"

static struct acme_config *
load2(const char *global, const char *dir_section)
{
	char path[] = "/tmp/acme-ra-config-XXXXXX";
	struct acme_config *c = NULL;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "base_url = https://ra.example:8443\nstate_dir = /srv/acme\n%s[directory ra]\n%s",
	    global, dir_section);
	fclose(f);
	if (acme_config_load(path, &c) != ACME_OK)
		c = NULL;
	unlink(path);
	return c;
}

static struct acme_config *
load(const char *dir_section)
{
	return load2("", dir_section);
}

#define RA "mode = ra\nupstream_url = https://up.example/dir\nupstream_passphrase_file = p\n"

static void
test_ra_minimal(void **state)
{
	struct acme_config *c = load(RA);
	const struct acme_dir_config *d;

	(void)state;
	assert_non_null(c);
	d = acme_config_dir(c, "ra");
	assert_true(d->ra);
	assert_null(d->ca_cert);                     /* no CA of its own */
	assert_string_equal(d->upstream_key_type, "p256");
	assert_string_equal(d->upstream_passphrase_file, "/srv/acme/p");
	assert_int_equal(d->upstream_timeout, 30);
	assert_int_equal(d->upstream_retry_base, 5);
	assert_int_equal(d->upstream_retry_cap, 600);
	assert_int_equal(d->upstream_deadline, 86400);
	acme_config_free(c);
	c = load(RA "upstream_key_type = rsa3072\nupstream_dns_update = 127.0.0.1:53\n"
	    "upstream_dns_zone = example.com\nupstream_tsig_name = k\nupstream_tsig_key_file = t\n"
	    "upstream_eab_kid = kid\nupstream_eab_hmac_file = /k/eab\n");
	assert_non_null(c);
	d = acme_config_dir(c, "ra");
	assert_string_equal(d->upstream_key_type, "rsa3072");
	assert_string_equal(d->upstream_tsig_key_file, "/srv/acme/t");
	assert_string_equal(d->upstream_eab_hmac_file, "/k/eab");
	acme_config_free(c);
}

static void
test_ra_refused(void **state)
{
	static const char *const bad[] = {
		"mode = ra\nupstream_passphrase_file = p\n",                       /* no URL */
		"mode = ra\nupstream_url = https://up.example/dir\n",               /* no passphrase */
		RA "upstream_key_type = ed25519\n",
		RA "upstream_eab_kid = kid\n",                                      /* no HMAC key */
		RA "upstream_dns_hook = /h\nupstream_dns_update = 127.0.0.1:53\n"
		    "upstream_dns_zone = z\nupstream_tsig_name = k\nupstream_tsig_key_file = t\n",
		RA "upstream_dns_update = 127.0.0.1:53\n",                          /* no zone, TSIG */
		RA "upstream_retry_base = 10m\nupstream_retry_cap = 1m\n",
		"mode = proxy\n",
		"mode = ca\n",                                                      /* CA needs its key */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(load(bad[i]));
}

#define TLS "tls_acme_url = https://up.example/dir\ntls_passphrase_file = p\ntls_dns_hook = /h\n"

static void
test_tls(void **state)
{
	struct acme_config *c;
	const struct acme_tls_config *t;

	(void)state;
	c = load2("", RA);
	assert_non_null(c);
	assert_false(c->tls.enabled);
	acme_config_free(c);
	/* Defaults: the base URL's host, the state's tls/ files, 2/3 of the lifetime. */
	c = load2(TLS, RA);
	assert_non_null(c);
	t = &c->tls;
	assert_true(t->enabled);
	assert_int_equal(t->nnames, 1);
	assert_string_equal(t->names[0], "ra.example");
	assert_string_equal(t->cert_file, "/srv/acme/tls/server.pem");
	assert_string_equal(t->key_file, "/srv/acme/tls/server.key");
	assert_string_equal(t->key_type, "p256");
	assert_int_equal(t->renew_permille, 667);
	assert_string_equal(t->acct.name, ACME_TLS_SELF);
	assert_true(t->acct.ra);
	assert_string_equal(t->acct.upstream_passphrase_file, "/srv/acme/p");
	assert_null(acme_config_dir(c, ACME_TLS_SELF));   /* never served */
	acme_config_free(c);
	c = load2(TLS "tls_names = WWW.Example.org example.org\ntls_renew_fraction = 80%\n"
	    "tls_key_type = rsa2048\ntls_reload_command = /usr/sbin/nginx -s reload\n"
	    "tls_cert_file = /etc/tls/a.pem\n", RA);
	assert_non_null(c);
	t = &c->tls;
	assert_int_equal(t->nnames, 2);
	assert_string_equal(t->names[0], "www.example.org");   /* as certificates have them */
	assert_int_equal(t->renew_permille, 800);
	assert_string_equal(t->cert_file, "/etc/tls/a.pem");
	assert_string_equal(t->reload_command, "/usr/sbin/nginx -s reload");
	acme_config_free(c);
}

static void
test_tls_refused(void **state)
{
	static const char *const bad[] = {
		"tls_names = a.example\n",                                     /* no tls_acme_url */
		"tls_acme_url = https://up.example/dir\ntls_dns_hook = /h\n",   /* no passphrase */
		"tls_acme_url = https://up.example/dir\ntls_passphrase_file = p\n",   /* no hook */
		TLS "tls_names = 192.0.2.1\n",                                /* dns-01: no IPs */
		TLS "tls_names = a_b.example\n",
		TLS "tls_renew_fraction = 1\n",
		TLS "tls_renew_fraction = 3/2\n",
		TLS "tls_key_type = ed448\n",
		TLS "tls_reload_command = nginx -s reload\n",                 /* no PATH search */
		TLS "tls_eab_kid = kid\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(load2(bad[i], RA));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ra_minimal),
		cmocka_unit_test(test_ra_refused),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tls_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
