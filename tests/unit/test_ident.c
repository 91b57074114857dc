/* Identifier parsing and normalisation (RFC 8555 7.1.4, RFC 8738). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "core/ident.h"
#include "store/store.h"

static int
parse(const char *type, const char *value, struct acme_ident *id, enum acme_prob *pt)
{
	struct json_object *o = json_object_new_object();
	char why[256];
	int rc;

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "value", json_object_new_string(value));
	rc = acme_ident_parse(o, id, pt, why, sizeof(why));
	json_object_put(o);
	return rc;
}

static void
test_dns_normalised(void **state)
{
	struct acme_ident id;
	enum acme_prob pt;

	(void)state;
	assert_int_equal(parse("dns", "WWW.Example.COM", &id, &pt), 0);
	assert_string_equal(id.value, "www.example.com");
	assert_int_equal(id.type, STORE_IDENT_DNS);
	assert_int_equal(id.wildcard, 0);
	assert_int_equal(parse("dns", "xn--bcher-kva.example", &id, &pt), 0);
}

static void
test_dns_refused(void **state)
{
	static const char *bad[] = {
		"a..example", "-a.example", "a-.example", "a.example.", "com", "1.2.3.4",
		"ab--c.example", "xn--a.example", "xn--99999999999.example", "b\xc3\xbc" "cher.example",
		"a_b.example", "", "a*.x.example", "*.*.x.example", "x.*.example", "*",
		"xn--.example", "example.123",
	};
	struct acme_ident id;
	enum acme_prob pt;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse("dns", bad[i], &id, &pt), -1);
		assert_true(pt == PROB_REJECTED_IDENTIFIER || pt == PROB_MALFORMED);
	}
}

static void
test_dns_long(void **state)
{
	char name[300];
	struct acme_ident id;
	enum acme_prob pt;

	(void)state;
	memset(name, 'a', 64);
	strcpy(name + 64, ".example");
	assert_int_equal(parse("dns", name, &id, &pt), -1);
	memset(name, 'a', sizeof(name));
	for (int i = 63; i < 290; i += 64)
		name[i] = '.';
	strcpy(name + 254, "x");
	assert_int_equal(parse("dns", name, &id, &pt), -1);
}

static void
test_wildcard(void **state)
{
	struct acme_ident id;
	enum acme_prob pt;

	(void)state;
	assert_int_equal(parse("dns", "*.W.example", &id, &pt), 0);
	assert_int_equal(id.wildcard, 1);
	assert_string_equal(id.value, "*.w.example");
}

static void
test_ip(void **state)
{
	static const char *bad[] = {
		"2001:DB8::10", "2001:0db8::10", "010.0.0.1", "::ffff:192.0.2.1", "fe80::1%eth0",
		"1.2.3", "256.1.1.1", "2001:db8:0:0:0:0:0:10",
	};
	struct acme_ident id;
	enum acme_prob pt;
	char rev[128];
	size_t i;

	(void)state;
	assert_int_equal(parse("ip", "192.0.2.10", &id, &pt), 0);
	assert_int_equal(id.ip_len, 4);
	assert_int_equal(acme_ident_reverse_name(&id, rev, sizeof(rev)), 0);
	assert_string_equal(rev, "10.2.0.192.in-addr.arpa");
	assert_int_equal(parse("ip", "2001:db8::10", &id, &pt), 0);
	assert_int_equal(id.ip_len, 16);
	assert_int_equal(acme_ident_reverse_name(&id, rev, sizeof(rev)), 0);
	assert_string_equal(rev,
	    "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse("ip", bad[i], &id, &pt), -1);
}

static void
test_unsupported_type(void **state)
{
	struct acme_ident id;
	enum acme_prob pt;

	(void)state;
	assert_int_equal(parse("email", "a@b.example", &id, &pt), -1);
	assert_int_equal(pt, PROB_UNSUPPORTED_IDENTIFIER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_normalised),
		cmocka_unit_test(test_dns_refused),
		cmocka_unit_test(test_dns_long),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_unsupported_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
