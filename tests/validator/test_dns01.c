/*
 * dns-01 against pebble-challtestsrv (DN-01..05, DN-07..09): the TXT
 * lookup at _acme-challenge, several records, wildcards, CNAMEs, errors,
 * and a corrected record seen on the next attempt. The joining of
 * character-strings (DN-03) is tested on crafted rdata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "tests/validator/vtest.h"

static struct vt_dns dns;
static struct val_loop *loop;
static struct val_engine *eng;

static int
setup(void **state)
{
	(void)state;
	acme_log_level(LOG_WARNING);
	if (vt_dns_start(&dns) != 0)
		return -1;
	if (val_loop_new(&loop) != ACME_OK || val_engine_new(loop, dns.resolver, &eng) != ACME_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	val_engine_free(eng);
	val_loop_free(loop);
	vt_dns_stop(&dns);
	return 0;
}

/* base64url(SHA-256(token.THUMB)), computed here independently of the core. */
static void
digest(const char *token, char out[64])
{
	unsigned char md[32], b64[64];
	char ka[160];
	int i, n;

	snprintf(ka, sizeof(ka), "%s.%s", token, VT_THUMB);
	EVP_Digest(ka, strlen(ka), md, NULL, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, 32);
	for (i = 0; i < n && b64[i] != '='; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[i] = '\0';
}

static void
set_txt(const char *host, const char *value)
{
	assert_int_equal(vt_dns_api(&dns, "/set-txt", "{\"host\":\"%s.\",\"value\":\"%s\"}", host,
	    value), 200);
}

static void
run(const char *ident, int wildcard, const char *token, struct vt_result *r)
{
	struct acme_val_item it;
	struct val_opts o;

	vt_item(&it, STORE_CH_DNS01, STORE_IDENT_DNS, ident, token);
	it.wildcard = wildcard;
	vt_opts(&o, 0, 0, 0);
	vt_validate(loop, eng, &it, &o, r);
	assert_true(r->done);
}

static void
expect_fail(const struct vt_result *r, enum acme_prob type, const char *needle)
{
	if (r->valid || r->type != type || strstr(r->detail, needle) == NULL)
		print_error("got %s: %s\n", r->valid ? "valid" : acme_prob_name(r->type), r->detail);
	assert_false(r->valid);
	assert_int_equal(r->type, type);
	assert_non_null(strstr(r->detail, needle));
}

static void
test_good(void **state)
{
	struct vt_result r;
	char d[64];

	(void)state;
	digest("tokgood", d);
	assert_int_equal(strlen(d), 43);
	set_txt("_acme-challenge.good.test", d);
	run("good.test", 0, "tokgood", &r);
	assert_true(r.valid);
}

static void
test_missing(void **state)
{
	struct vt_result r;

	(void)state;
	run("missing.test", 0, "tokmiss", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "No TXT record found at _acme-challenge.missing.test");
}

static void
test_wrong_value(void **state)
{
	struct vt_result r;
	char d[64];

	(void)state;
	digest("tokother", d);
	set_txt("_acme-challenge.wrong.test", d);
	run("wrong.test", 0, "tokwrong", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "Incorrect TXT record");
	assert_non_null(strstr(r.detail, d));
}

/* Compared exactly: a trailing space is not trimmed (DN-03). */
static void
test_trailing_space(void **state)
{
	struct vt_result r;
	char d[64], v[80];

	(void)state;
	digest("tokspace", d);
	snprintf(v, sizeof(v), "%s ", d);
	set_txt("_acme-challenge.space.test", v);
	run("space.test", 0, "tokspace", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "Incorrect TXT record");
}

static void
test_second_record(void **state)
{
	struct vt_result r;
	char d[64];

	(void)state;
	digest("toktwo", d);
	set_txt("_acme-challenge.two.test", "something-else");
	set_txt("_acme-challenge.two.test", d);
	run("two.test", 0, "toktwo", &r);
	assert_true(r.valid);
}

/* DN-07: an RRset far larger than 512 bytes (40 records before the right
 * one) still arrives whole (EDNS0, or TCP after truncation). */
static void
test_large_rrset(void **state)
{
	struct vt_result r;
	char d[64], v[64];
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(v, sizeof(v), "filler-%02d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
		set_txt("_acme-challenge.large.test", v);
	}
	digest("toklarge", d);
	set_txt("_acme-challenge.large.test", d);
	run("large.test", 0, "toklarge", &r);
	if (!r.valid)
		print_error("%s\n", r.detail);
	assert_true(r.valid);
}

/* A wildcard's item carries the base name: the TXT is at its _acme-challenge. */
static void
test_wildcard(void **state)
{
	struct vt_result r;
	char d[64];

	(void)state;
	digest("tokwild", d);
	set_txt("_acme-challenge.w.test", d);
	run("w.test", 1, "tokwild", &r);
	assert_true(r.valid);
}

static void
test_cname(void **state)
{
	struct vt_result r;
	char d[64];

	(void)state;
	digest("tokcname", d);
	set_txt("_acme-challenge.target.test", d);
	assert_int_equal(vt_dns_api(&dns, "/set-cname", "{\"host\":\"_acme-challenge.alias.test.\","
	    "\"target\":\"_acme-challenge.target.test.\"}"), 200);
	run("alias.test", 0, "tokcname", &r);
	assert_true(r.valid);
}

static void
test_cname_loop(void **state)
{
	struct vt_result r;

	(void)state;
	assert_int_equal(vt_dns_api(&dns, "/set-cname", "{\"host\":\"_acme-challenge.la.test.\","
	    "\"target\":\"_acme-challenge.lb.test.\"}"), 200);
	assert_int_equal(vt_dns_api(&dns, "/set-cname", "{\"host\":\"_acme-challenge.lb.test.\","
	    "\"target\":\"_acme-challenge.la.test.\"}"), 200);
	run("la.test", 0, "tokloop", &r);
	assert_false(r.valid);
	assert_int_equal(r.type, PROB_DNS);
}

static void
test_servfail(void **state)
{
	struct vt_result r;

	(void)state;
	assert_int_equal(vt_dns_api(&dns, "/set-servfail",
	    "{\"host\":\"_acme-challenge.sf.test.\"}"), 200);
	run("sf.test", 0, "toksf", &r);
	expect_fail(&r, PROB_DNS, "SERVFAIL looking up TXT for _acme-challenge.sf.test");
}

/* DN-09: fix the record and try again at once: the fix is seen. */
static void
test_corrected_record(void **state)
{
	struct vt_result r;
	char d[64];

	(void)state;
	set_txt("_acme-challenge.fix.test", "not-yet");
	run("fix.test", 0, "tokfix", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "Incorrect TXT record \"not-yet\"");
	assert_int_equal(vt_dns_api(&dns, "/clear-txt", "{\"host\":\"_acme-challenge.fix.test.\"}"),
	    200);
	run("fix.test", 0, "tokfix", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "No TXT record");
	digest("tokfix", d);
	set_txt("_acme-challenge.fix.test", d);
	run("fix.test", 0, "tokfix", &r);
	assert_true(r.valid);
}

static void
test_resolver_timeout(void **state)
{
	struct val_loop *l = NULL;
	struct val_engine *e = NULL;
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;
	struct sockaddr_in sa;
	char res[32];
	int s, port;

	(void)state;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	port = vt_free_port(SOCK_DGRAM);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(res, sizeof(res), "127.0.0.1:%d", port);
	assert_int_equal(val_loop_new(&l), ACME_OK);
	assert_int_equal(val_engine_new(l, res, &e), ACME_OK);
	vt_item(&it, STORE_CH_DNS01, STORE_IDENT_DNS, "t.test", "toktime");
	vt_opts(&o, 0, 0, 0);
	o.dns_ms = 700;
	vt_validate(l, e, &it, &o, &r);
	expect_fail(&r, PROB_DNS, "timed out looking up TXT for _acme-challenge.t.test");
	assert_true(r.ms >= 600 && r.ms < 15000);   /* ends at its deadline, not never */
	val_engine_free(e);
	val_loop_free(l);
	close(s);
}

static void
test_ip_identifier_refused(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	vt_item(&it, STORE_CH_DNS01, STORE_IDENT_IP, "127.0.0.1", "tokip");
	vt_opts(&o, 0, 0, 1);
	assert_int_equal(val_start(eng, &it, &o, vt_done, &r), ACME_EINVAL);
}

/* DN-03: the strings of one record are joined before comparing. */
static void
test_txt_join(void **state)
{
	static const unsigned char two[] = "\x05" "abcde" "\x03" "fgh";
	static const unsigned char empty[] = "\x00";
	static const unsigned char bad[] = "\x09" "abc";
	char out[64];

	(void)state;
	assert_int_equal(val_dns01_txt_join(two, sizeof(two) - 1, out, sizeof(out)), 8);
	assert_string_equal(out, "abcdefgh");
	assert_int_equal(val_dns01_txt_join(empty, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(val_dns01_txt_join(bad, sizeof(bad) - 1, out, sizeof(out)), -1);
	assert_int_equal(val_dns01_txt_join(two, sizeof(two) - 1, out, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_wrong_value),
		cmocka_unit_test(test_trailing_space),
		cmocka_unit_test(test_second_record),
		cmocka_unit_test(test_large_rrset),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_cname_loop),
		cmocka_unit_test(test_servfail),
		cmocka_unit_test(test_corrected_record),
		cmocka_unit_test(test_resolver_timeout),
		cmocka_unit_test(test_ip_identifier_refused),
		cmocka_unit_test(test_txt_join),
	};

	return cmocka_run_group_tests_name("dns01", tests, setup, teardown);
}
