/* Validator helpers: escaping quoted responses, the resolver setting, options from
 * the defaults and from a configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "validators/val.h"

static void
test_escape(void **state)
{
	char out[64];
	char big[300];

	(void)state;
	val_escape(out, sizeof(out), "plain text", 10, 100);
	assert_string_equal(out, "plain text");
	val_escape(out, sizeof(out), "a\"b\\c\n\x01\xff", 8, 100);
	assert_string_equal(out, "a\\x22b\\x5cc\\x0a\\x01\\xff");
	memset(big, 'x', sizeof(big));
	val_escape(out, sizeof(out), big, sizeof(big), 10);
	assert_string_equal(out, "xxxxxxxxxx...");
	/* A small buffer cuts, never overflows. */
	val_escape(out, 8, big, sizeof(big), 100);
	assert_int_equal(strlen(out), 7);
	val_escape(out, 8, "\x01\x02\x03", 3, 100);
	assert_true(strlen(out) < 8);
}

/* The resolver setting: "ip:port", "[v6]:port" or a bare address. */
static void
test_resolver_setting(void **state)
{
	static const char *const good[] = { "127.0.0.1:8053", "[::1]:8053", "192.0.2.53", "::1" };
	static const char *const bad[] = {
		"localhost:53", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[::1", "[::1]x",
		"1.2.3.4:53:1",
	};
	struct val_loop *l = NULL;
	struct val_engine *e = NULL;
	size_t i;

	(void)state;
	acme_log_level(LOG_CRIT);
	assert_int_equal(val_loop_new(&l), ACME_OK);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(val_engine_new(l, good[i], &e), ACME_OK);
		val_engine_free(e);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (val_engine_new(l, bad[i], &e) == ACME_OK)
			print_error("accepted '%s'\n", bad[i]);
		assert_int_not_equal(val_engine_new(l, bad[i], &e), ACME_OK);
		assert_null(e);
	}
	val_loop_free(l);
	acme_log_level(LOG_INFO);
}

static void
test_opts_defaults(void **state)
{
	struct val_opts o;

	(void)state;
	val_opts_from_config(&o, NULL, "default");
	assert_int_equal(o.http_port, 80);
	assert_int_equal(o.tls_port, 443);
	assert_int_equal(o.allow_private, 0);
	assert_int_equal(o.connect_ms, VAL_CONNECT_MS);
	assert_int_equal(o.total_ms, VAL_TOTAL_MS);
}

/* The configuration's timeouts, ports and the directory's CAA identities. */
static void
test_opts_from_config(void **state)
{
	struct acme_config *cfg = NULL;
	struct val_opts o;
	char dir[] = "/tmp/acme-valopts.XXXXXX", path[64];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/acme.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "base_url = https://acme.test\nstate_dir = %s\nhttp01_port = 5002\n"
	    "validation_connect_timeout = 3s\nvalidation_timeout = 5s\n"
	    "[directory default]\nca_cert = ca.pem\nca_key = ca.key\n"
	    "[directory caa]\nca_cert = ca.pem\nca_key = ca.key\nallow_private = yes\n"
	    "caa_check = yes\ncaa_identities = ca.test, other.test\n", dir);
	fclose(f);
	assert_int_equal(acme_config_load(path, &cfg), ACME_OK);
	val_opts_from_config(&o, cfg, "caa");
	assert_int_equal(o.http_port, 5002);
	assert_int_equal(o.tls_port, 443);
	assert_int_equal(o.connect_ms, 3000);
	assert_int_equal(o.total_ms, 5000);
	assert_int_equal(o.dns_ms, 5000);        /* capped by the whole */
	assert_int_equal(o.allow_private, 1);
	assert_int_equal(o.ncaa_identity, 2);
	assert_string_equal(o.caa_identity[0], "ca.test");
	assert_string_equal(o.caa_identity[1], "other.test");
	val_opts_from_config(&o, cfg, "default");
	assert_int_equal(o.allow_private, 0);
	assert_int_equal(o.ncaa_identity, 0);
	acme_config_free(cfg);
	unlink(path);
	rmdir(dir);
	assert_string_equal(val_chall_name(STORE_CH_TLSALPN01), "tls-alpn-01");
	assert_string_equal(val_chall_name(99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_resolver_setting),
		cmocka_unit_test(test_opts_defaults),
		cmocka_unit_test(test_opts_from_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
