/* Registered domains from Debian's Public Suffix List. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/psl.h"

static void
test_registered(void **state)
{
	(void)state;
	if (access(ACME_PSL_DEFAULT, R_OK) != 0)
		fail_msg("%s missing (Debian package publicsuffix)", ACME_PSL_DEFAULT);
	assert_int_equal(acme_psl_load(NULL), ACME_OK);
	assert_string_equal(acme_psl_registered("www.example.com"), "example.com");
	assert_string_equal(acme_psl_registered("a.b.example.co.uk"), "example.co.uk");
	assert_string_equal(acme_psl_registered("example.com"), "example.com");
	assert_string_equal(acme_psl_registered("com"), "com");
	/* Wildcard rule *.ck and its exception !www.ck. */
	assert_string_equal(acme_psl_registered("a.b.c.ck"), "b.c.ck");
	assert_string_equal(acme_psl_registered("www.ck"), "www.ck");
	assert_string_equal(acme_psl_registered("a.www.ck"), "www.ck");
	/* Not on the list: the default rule "*". */
	assert_string_equal(acme_psl_registered("x.y.internal-unlisted"), "y.internal-unlisted");
	/* Private section: github.io is a public suffix. */
	assert_string_equal(acme_psl_registered("me.github.io"), "me.github.io");
	acme_psl_free();
}

int
main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_registered) };

	acme_log_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
