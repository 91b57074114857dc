/*
 * The address policy (HT-12, IP-03): which addresses are public, which need
 * allow_private and which are never connected to; strict literal parsing;
 * reverse-mapping names (RFC 8738).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"
#include "core/ipaddr.h"

static enum acme_addr_class
cls(const char *s)
{
	struct acme_ip ip;

	assert_int_equal(acme_ip_parse(s, &ip), 0);
	return acme_ip_class(&ip);
}

static void
test_classes(void **state)
{
	static const struct {
		const char *ip;
		enum acme_addr_class c;
	} t[] = {
		{ "8.8.8.8", ACME_ADDR_PUBLIC },
		{ "1.1.1.1", ACME_ADDR_PUBLIC },
		{ "192.0.1.255", ACME_ADDR_PUBLIC },
		{ "172.32.0.1", ACME_ADDR_PUBLIC },
		{ "100.128.0.1", ACME_ADDR_PUBLIC },
		{ "127.0.0.1", ACME_ADDR_LOOPBACK },
		{ "127.255.255.254", ACME_ADDR_LOOPBACK },
		{ "10.0.0.1", ACME_ADDR_PRIVATE },
		{ "172.16.0.1", ACME_ADDR_PRIVATE },
		{ "172.31.255.255", ACME_ADDR_PRIVATE },
		{ "192.168.1.1", ACME_ADDR_PRIVATE },
		{ "169.254.169.254", ACME_ADDR_LINKLOCAL },
		{ "100.64.0.1", ACME_ADDR_SHARED },
		{ "100.127.255.255", ACME_ADDR_SHARED },
		{ "0.0.0.0", ACME_ADDR_UNSPECIFIED },
		{ "0.1.2.3", ACME_ADDR_UNSPECIFIED },
		{ "192.0.0.8", ACME_ADDR_SPECIAL },
		{ "192.0.2.10", ACME_ADDR_SPECIAL },
		{ "198.18.0.1", ACME_ADDR_SPECIAL },
		{ "198.19.255.255", ACME_ADDR_SPECIAL },
		{ "198.51.100.1", ACME_ADDR_SPECIAL },
		{ "203.0.113.9", ACME_ADDR_SPECIAL },
		{ "240.0.0.1", ACME_ADDR_SPECIAL },
		{ "224.0.0.1", ACME_ADDR_MULTICAST },
		{ "239.255.255.250", ACME_ADDR_MULTICAST },
		{ "255.255.255.255", ACME_ADDR_MULTICAST },
		{ "2606:4700::1111", ACME_ADDR_PUBLIC },
		{ "2001:4860:4860::8888", ACME_ADDR_PUBLIC },
		{ "::1", ACME_ADDR_LOOPBACK },
		{ "::", ACME_ADDR_UNSPECIFIED },
		{ "fc00::1", ACME_ADDR_PRIVATE },
		{ "fd12:3456::1", ACME_ADDR_PRIVATE },
		{ "fe80::1", ACME_ADDR_LINKLOCAL },
		{ "febf::1", ACME_ADDR_LINKLOCAL },
		{ "ff02::1", ACME_ADDR_MULTICAST },
		{ "2001:db8::10", ACME_ADDR_SPECIAL },
		{ "2001::1", ACME_ADDR_SPECIAL },
		{ "2002:c000:0201::1", ACME_ADDR_SPECIAL },
		{ "100::1", ACME_ADDR_SPECIAL },
		{ "3fff::1", ACME_ADDR_SPECIAL },
		{ "64:ff9b:1::1", ACME_ADDR_SPECIAL },
		{ "4000::1", ACME_ADDR_SPECIAL },
		{ "::2", ACME_ADDR_SPECIAL },
		/* IPv4 inside IPv6: judged by the IPv4 address. */
		{ "::ffff:127.0.0.1", ACME_ADDR_LOOPBACK },
		{ "::ffff:10.1.2.3", ACME_ADDR_PRIVATE },
		{ "::ffff:8.8.8.8", ACME_ADDR_PUBLIC },
		{ "64:ff9b::192.168.0.1", ACME_ADDR_PRIVATE },
		{ "64:ff9b::808:808", ACME_ADDR_PUBLIC },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (cls(t[i].ip) != t[i].c)
			print_error("%s: %s, expected %s\n", t[i].ip, acme_addr_class_name(cls(t[i].ip)),
			    acme_addr_class_name(t[i].c));
		assert_int_equal(cls(t[i].ip), t[i].c);
	}
}

static void
test_allowed(void **state)
{
	struct acme_ip ip;

	(void)state;
	assert_int_equal(acme_ip_parse("8.8.8.8", &ip), 0);
	assert_true(acme_ip_allowed(&ip, 0));
	assert_int_equal(acme_ip_parse("127.0.0.1", &ip), 0);
	assert_false(acme_ip_allowed(&ip, 0));
	assert_true(acme_ip_allowed(&ip, 1));
	assert_int_equal(acme_ip_parse("fd00::1", &ip), 0);
	assert_false(acme_ip_allowed(&ip, 0));
	assert_true(acme_ip_allowed(&ip, 1));
	assert_int_equal(acme_ip_parse("::ffff:169.254.1.1", &ip), 0);
	assert_false(acme_ip_allowed(&ip, 0));
	/* Never, whatever the directory says. */
	assert_int_equal(acme_ip_parse("224.0.0.251", &ip), 0);
	assert_false(acme_ip_allowed(&ip, 1));
	assert_int_equal(acme_ip_parse("0.0.0.0", &ip), 0);
	assert_false(acme_ip_allowed(&ip, 1));
	assert_int_equal(acme_ip_parse("::", &ip), 0);
	assert_false(acme_ip_allowed(&ip, 1));
}

static void
test_parse_strict(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "010.0.0.1", "0x7f.0.0.1", "127.1", " 1.2.3.4",
		"1.2.3.4 ", "[::1]", "fe80::1%eth0", "::1%1", "1.2.3.256", "example.com", "::g",
	};
	struct acme_ip ip;
	char out[ACME_IP_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (acme_ip_parse(bad[i], &ip) == 0)
			print_error("accepted '%s'\n", bad[i]);
		assert_int_equal(acme_ip_parse(bad[i], &ip), -1);
	}
	assert_int_equal(acme_ip_parse("2001:DB8:0::10", &ip), 0);
	acme_ip_str(&ip, out);
	assert_string_equal(out, "2001:db8::10");
}

static void
test_sockaddr(void **state)
{
	struct acme_ip a, b;
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(acme_ip_parse("192.0.2.7", &a), 0);
	acme_ip_to_sockaddr(&a, 443, &ss, &len);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(acme_ip_from_sockaddr((struct sockaddr *)&ss, len, &b), 0);
	assert_true(acme_ip_equal(&a, &b));
	assert_int_equal(acme_ip_parse("2001:db8::7", &a), 0);
	acme_ip_to_sockaddr(&a, 443, &ss, &len);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(acme_ip_from_sockaddr((struct sockaddr *)&ss, len, &b), 0);
	assert_true(acme_ip_equal(&a, &b));
	assert_int_equal(acme_ip_parse("2001:db8::8", &b), 0);
	assert_false(acme_ip_equal(&a, &b));
	/* IPv4-mapped is not the same address as its IPv4 form for pinning. */
	assert_int_equal(acme_ip_parse("::ffff:192.0.2.7", &a), 0);
	assert_int_equal(acme_ip_parse("192.0.2.7", &b), 0);
	assert_false(acme_ip_equal(&a, &b));
}

static void
test_revname(void **state)
{
	struct acme_ip ip;
	char out[ACME_REVNAME_LEN];

	(void)state;
	assert_int_equal(acme_ip_parse("192.0.2.10", &ip), 0);
	acme_ip_revname(&ip, out);
	assert_string_equal(out, "10.2.0.192.in-addr.arpa");
	assert_int_equal(acme_ip_parse("2001:db8::10", &ip), 0);
	acme_ip_revname(&ip, out);
	assert_string_equal(out, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "ip6.arpa");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_parse_strict),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_revname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
