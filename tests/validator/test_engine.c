/* Validator helpers: escaping quoted responses, the resolver setting, default options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_resolver_setting),
		cmocka_unit_test(test_opts_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
