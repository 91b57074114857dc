/* The audit log (core/audit.c): JSON values handed to acme_audit() are
 * its to release, whether the event is written or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "core/audit.h"
#include "core/config.h"
#include "core/log.h"

/* A JSON value with an extra reference held by the test: after acme_audit
 * took its own, json_object_put() of ours frees it (returns 1) only if
 * acme_audit released what it was given. */
static struct json_object *
held_array(void)
{
	struct json_object *a = json_object_new_array();

	assert_non_null(a);
	json_object_array_add(a, json_object_new_string("x.example"));
	return json_object_get(a);
}

/* Found by tests/fuzz/fuzz_request (audit_log = off): every new order and
 * issuance leaked its identifier array. */
static void
test_off_releases_values(void **state)
{
	struct acme_config cfg;
	struct json_object *a = held_array();

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.audit_log = "off";
	assert_int_equal(acme_audit_open(&cfg), ACME_OK);
	acme_audit("order.new", "default", "sjis", "account", "acct1", "identifiers", a,
	    "count", (int64_t)1, "profile", NULL);
	assert_int_equal(json_object_put(a), 1);
	acme_audit_close();
}

static void
test_file_writes_and_releases(void **state)
{
	char dir[] = "/tmp/acme-audit-test-XXXXXX", path[64], line[512];
	struct acme_config cfg;
	struct json_object *a = held_array();
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "file:%s/audit.log", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_dir = dir;
	cfg.audit_log = path;
	assert_int_equal(acme_audit_open(&cfg), ACME_OK);
	acme_audit("order.new", "default", "sj", "account", "acct1", "identifiers", a);
	assert_int_equal(json_object_put(a), 1);
	acme_audit_close();
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "\"identifiers\":[\"x.example\"]"));
	assert_non_null(strstr(line, "\"event\":\"order.new\""));
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_releases_values),
		cmocka_unit_test(test_file_writes_and_releases),
	};

	acme_log_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
