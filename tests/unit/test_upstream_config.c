/* RA mode's configuration: mode, the upstream settings and their checks. */
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
load(const char *dir_section)
{
	char path[] = "/tmp/acme-ra-config-XXXXXX";
	struct acme_config *c = NULL;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "base_url = https://ra.example\nstate_dir = /srv/acme\n[directory ra]\n%s",
	    dir_section);
	fclose(f);
	if (acme_config_load(path, &c) != ACME_OK)
		c = NULL;
	unlink(path);
	return c;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ra_minimal),
		cmocka_unit_test(test_ra_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
