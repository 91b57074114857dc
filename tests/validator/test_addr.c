/*
 * The address policy (HT-12, IP-03): which addresses are public, which need
 * allow_private and which are never connected to; strict literal parsing;
 * reverse-mapping names (RFC 8738); the escaping of quoted responses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"
#include "validators/addr.h"
#include "validators/val.h"

static enum val_addr_class
cls(const char *s)
{
	struct val_ip ip;

	assert_int_equal(val_ip_parse(s, &ip), 0);
	return val_ip_class(&ip);
}

static void
test_classes(void **state)
{
	static const struct {
		const char *ip;
		enum val_addr_class c;
	} t[] = {
		{ "8.8.8.8", VAL_ADDR_PUBLIC },
		{ "1.1.1.1", VAL_ADDR_PUBLIC },
		{ "192.0.1.255", VAL_ADDR_PUBLIC },
		{ "172.32.0.1", VAL_ADDR_PUBLIC },
		{ "100.128.0.1", VAL_ADDR_PUBLIC },
		{ "127.0.0.1", VAL_ADDR_LOOPBACK },
		{ "127.255.255.254", VAL_ADDR_LOOPBACK },
		{ "10.0.0.1", VAL_ADDR_PRIVATE },
		{ "172.16.0.1", VAL_ADDR_PRIVATE },
		{ "172.31.255.255", VAL_ADDR_PRIVATE },
		{ "192.168.1.1", VAL_ADDR_PRIVATE },
		{ "169.254.169.254", VAL_ADDR_LINKLOCAL },
		{ "100.64.0.1", VAL_ADDR_SHARED },
		{ "100.127.255.255", VAL_ADDR_SHARED },
		{ "0.0.0.0", VAL_ADDR_UNSPECIFIED },
		{ "0.1.2.3", VAL_ADDR_UNSPECIFIED },
		{ "192.0.0.8", VAL_ADDR_SPECIAL },
		{ "192.0.2.10", VAL_ADDR_SPECIAL },
		{ "198.18.0.1", VAL_ADDR_SPECIAL },
		{ "198.19.255.255", VAL_ADDR_SPECIAL },
		{ "198.51.100.1", VAL_ADDR_SPECIAL },
		{ "203.0.113.9", VAL_ADDR_SPECIAL },
		{ "240.0.0.1", VAL_ADDR_SPECIAL },
		{ "224.0.0.1", VAL_ADDR_MULTICAST },
		{ "239.255.255.250", VAL_ADDR_MULTICAST },
		{ "255.255.255.255", VAL_ADDR_MULTICAST },
		{ "2606:4700::1111", VAL_ADDR_PUBLIC },
		{ "2001:4860:4860::8888", VAL_ADDR_PUBLIC },
		{ "::1", VAL_ADDR_LOOPBACK },
		{ "::", VAL_ADDR_UNSPECIFIED },
		{ "fc00::1", VAL_ADDR_PRIVATE },
		{ "fd12:3456::1", VAL_ADDR_PRIVATE },
		{ "fe80::1", VAL_ADDR_LINKLOCAL },
		{ "febf::1", VAL_ADDR_LINKLOCAL },
		{ "ff02::1", VAL_ADDR_MULTICAST },
		{ "2001:db8::10", VAL_ADDR_SPECIAL },
		{ "2001::1", VAL_ADDR_SPECIAL },
		{ "2002:c000:0201::1", VAL_ADDR_SPECIAL },
		{ "100::1", VAL_ADDR_SPECIAL },
		{ "3fff::1", VAL_ADDR_SPECIAL },
		{ "64:ff9b:1::1", VAL_ADDR_SPECIAL },
		{ "4000::1", VAL_ADDR_SPECIAL },
		{ "::2", VAL_ADDR_SPECIAL },
		/* IPv4 inside IPv6: judged by the IPv4 address. */
		{ "::ffff:127.0.0.1", VAL_ADDR_LOOPBACK },
		{ "::ffff:10.1.2.3", VAL_ADDR_PRIVATE },
		{ "::ffff:8.8.8.8", VAL_ADDR_PUBLIC },
		{ "64:ff9b::192.168.0.1", VAL_ADDR_PRIVATE },
		{ "64:ff9b::808:808", VAL_ADDR_PUBLIC },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (cls(t[i].ip) != t[i].c)
			print_error("%s: %s, expected %s\n", t[i].ip, val_addr_class_name(cls(t[i].ip)),
			    val_addr_class_name(t[i].c));
		assert_int_equal(cls(t[i].ip), t[i].c);
	}
}

static void
test_allowed(void **state)
{
	struct val_ip ip;

	(void)state;
	assert_int_equal(val_ip_parse("8.8.8.8", &ip), 0);
	assert_true(val_ip_allowed(&ip, 0));
	assert_int_equal(val_ip_parse("127.0.0.1", &ip), 0);
	assert_false(val_ip_allowed(&ip, 0));
	assert_true(val_ip_allowed(&ip, 1));
	assert_int_equal(val_ip_parse("fd00::1", &ip), 0);
	assert_false(val_ip_allowed(&ip, 0));
	assert_true(val_ip_allowed(&ip, 1));
	assert_int_equal(val_ip_parse("::ffff:169.254.1.1", &ip), 0);
	assert_false(val_ip_allowed(&ip, 0));
	/* Never, whatever the directory says. */
	assert_int_equal(val_ip_parse("224.0.0.251", &ip), 0);
	assert_false(val_ip_allowed(&ip, 1));
	assert_int_equal(val_ip_parse("0.0.0.0", &ip), 0);
	assert_false(val_ip_allowed(&ip, 1));
	assert_int_equal(val_ip_parse("::", &ip), 0);
	assert_false(val_ip_allowed(&ip, 1));
}

static void
test_parse_strict(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "010.0.0.1", "0x7f.0.0.1", "127.1", " 1.2.3.4",
		"1.2.3.4 ", "[::1]", "fe80::1%eth0", "::1%1", "1.2.3.256", "example.com", "::g",
	};
	struct val_ip ip;
	char out[VAL_IP_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (val_ip_parse(bad[i], &ip) == 0)
			print_error("accepted '%s'\n", bad[i]);
		assert_int_equal(val_ip_parse(bad[i], &ip), -1);
	}
	assert_int_equal(val_ip_parse("2001:DB8:0::10", &ip), 0);
	val_ip_str(&ip, out);
	assert_string_equal(out, "2001:db8::10");
}

static void
test_sockaddr(void **state)
{
	struct val_ip a, b;
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(val_ip_parse("192.0.2.7", &a), 0);
	val_ip_to_sockaddr(&a, 443, &ss, &len);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(val_ip_from_sockaddr((struct sockaddr *)&ss, len, &b), 0);
	assert_true(val_ip_equal(&a, &b));
	assert_int_equal(val_ip_parse("2001:db8::7", &a), 0);
	val_ip_to_sockaddr(&a, 443, &ss, &len);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(val_ip_from_sockaddr((struct sockaddr *)&ss, len, &b), 0);
	assert_true(val_ip_equal(&a, &b));
	assert_int_equal(val_ip_parse("2001:db8::8", &b), 0);
	assert_false(val_ip_equal(&a, &b));
	/* IPv4-mapped is not the same address as its IPv4 form for pinning. */
	assert_int_equal(val_ip_parse("::ffff:192.0.2.7", &a), 0);
	assert_int_equal(val_ip_parse("192.0.2.7", &b), 0);
	assert_false(val_ip_equal(&a, &b));
}

static void
test_revname(void **state)
{
	struct val_ip ip;
	char out[VAL_REVNAME_LEN];

	(void)state;
	assert_int_equal(val_ip_parse("192.0.2.10", &ip), 0);
	val_ip_revname(&ip, out);
	assert_string_equal(out, "10.2.0.192.in-addr.arpa");
	assert_int_equal(val_ip_parse("2001:db8::10", &ip), 0);
	val_ip_revname(&ip, out);
	assert_string_equal(out, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "ip6.arpa");
}

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
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_parse_strict),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_revname),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_resolver_setting),
		cmocka_unit_test(test_opts_defaults),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
