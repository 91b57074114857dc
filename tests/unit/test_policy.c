/* Identifier policy: name patterns and IP ranges (core/policy.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "core/policy.h"
#include "store/store.h"

static void
ident(const char *type, const char *value, struct acme_ident *id)
{
	struct json_object *o = json_object_new_object();
	enum acme_prob pt;
	char why[256];

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "value", json_object_new_string(value));
	assert_int_equal(acme_ident_parse(o, id, &pt, why, sizeof(why)), 0);
	json_object_put(o);
}

static void
test_name_match(void **state)
{
	(void)state;
	assert_true(acme_policy_name_match("example.com", "example.com"));
	assert_false(acme_policy_name_match("example.com", "a.example.com"));
	assert_true(acme_policy_name_match(".example.com", "a.example.com"));
	assert_true(acme_policy_name_match(".example.com", "a.b.example.com"));
	assert_false(acme_policy_name_match(".example.com", "example.com"));
	assert_false(acme_policy_name_match(".example.com", "badexample.com"));
	assert_true(acme_policy_name_match("*.example.com", "a.example.com"));
	assert_false(acme_policy_name_match("*.example.com", "a.b.example.com"));
	assert_true(acme_policy_name_match("*.example.com", "*.example.com"));
	assert_false(acme_policy_name_match("*.example.com", "example.com"));
	assert_true(acme_policy_name_match(".internal", "svc.internal"));
}

static void
test_patterns_checked(void **state)
{
	(void)state;
	assert_null(acme_policy_name_pattern_ok("example.com"));
	assert_null(acme_policy_name_pattern_ok(".example.com"));
	assert_null(acme_policy_name_pattern_ok("*.example.com"));
	assert_null(acme_policy_name_pattern_ok(".internal"));
	assert_non_null(acme_policy_name_pattern_ok("a..b"));
	assert_non_null(acme_policy_name_pattern_ok("*"));
	assert_non_null(acme_policy_name_pattern_ok("**.x.com"));
	assert_null(acme_policy_ip_range_ok("10.0.0.0/8"));
	assert_null(acme_policy_ip_range_ok("2001:db8::/32"));
	assert_null(acme_policy_ip_range_ok("192.0.2.1"));
	assert_non_null(acme_policy_ip_range_ok("10.0.0.0/33"));
	assert_non_null(acme_policy_ip_range_ok("10.0.0/8"));
}

static void
test_check(void **state)
{
	char *allow[] = { ".corp.example", "www.example.com" }, *deny[] = { "bad.corp.example" };
	char *ipa[] = { "10.0.0.0/8", "2001:db8::/32" }, *ipd[] = { "10.9.0.0/16" };
	struct acme_dir_config d;
	struct acme_ident id;
	char why[256];

	(void)state;
	memset(&d, 0, sizeof(d));
	d.names_allow = allow;
	d.nnames_allow = 2;
	d.names_deny = deny;
	d.nnames_deny = 1;
	d.ips_allow = ipa;
	d.nips_allow = 2;
	d.ips_deny = ipd;
	d.nips_deny = 1;
	ident("dns", "a.corp.example", &id);
	assert_int_equal(acme_policy_check(&d, &id, why, sizeof(why)), 0);
	ident("dns", "bad.corp.example", &id);
	assert_int_equal(acme_policy_check(&d, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "names_deny bad.corp.example"));
	ident("dns", "other.example", &id);
	assert_int_equal(acme_policy_check(&d, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "names_allow"));
	ident("ip", "10.1.2.3", &id);
	assert_int_equal(acme_policy_check(&d, &id, why, sizeof(why)), 0);
	ident("ip", "10.9.2.3", &id);
	assert_int_equal(acme_policy_check(&d, &id, why, sizeof(why)), -1);
	ident("ip", "192.168.1.1", &id);
	assert_int_equal(acme_policy_check(&d, &id, why, sizeof(why)), -1);
	ident("ip", "2001:db8::1", &id);
	assert_int_equal(acme_policy_check(&d, &id, why, sizeof(why)), 0);
	ident("ip", "2001:db9::1", &id);
	assert_int_equal(acme_policy_check(&d, &id, why, sizeof(why)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_match),
		cmocka_unit_test(test_patterns_checked),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
