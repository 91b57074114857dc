/*
 * CAA (RFC 8659, RFC 8657; conformance CAA-01..12, CAA-15, CAA-16, IP-09).
 * The record parser and the evaluator on crafted records, one case per
 * checklist row (and hostile bytes under the sanitizers); then live
 * lookups through pebble-challtestsrv: the tree climb, CNAMEs, SERVFAIL
 * and a silent resolver, the check after a passed challenge, and a re-check
 * that never fetches the challenge again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "validators/caa.h"
#include "tests/validator/vtest.h"

#define OURS "ca.test"
#define ACCT "https://acme.test/acme/default/acct/A1"

static struct vt_dns dns;
static struct val_loop *loop;
static struct val_engine *eng;
static const char *const ours[] = { "other-name.test", OURS };

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

/* ------------------------------------------------------------------ */
/* Crafted records                                                       */

struct rrset {
	unsigned char buf[16][300];
	struct val_caa_rdata rr[16];
	size_t n;
};

/* Append flags tag "value" to s. */
static void
add(struct rrset *s, unsigned flags, const char *tag, const char *value)
{
	unsigned char *b = s->buf[s->n];
	size_t tl = strlen(tag), vl = strlen(value);

	assert_true(s->n < 16 && 2 + tl + vl <= sizeof(s->buf[0]));
	b[0] = (unsigned char)flags;
	b[1] = (unsigned char)tl;
	memcpy(b + 2, tag, tl);
	memcpy(b + 2 + tl, value, vl);
	s->rr[s->n].p = b;
	s->rr[s->n].len = 2 + tl + vl;
	s->n++;
}

static enum val_caa_verdict
eval_as(const struct rrset *s, int wildcard, const char *acct, const char *method, char *why,
    size_t cap)
{
	struct val_caa_req req;

	memset(&req, 0, sizeof(req));
	req.wildcard = wildcard;
	req.issuer = ours;
	req.nissuer = 2;
	req.acct_url = acct;
	req.method = method;
	return val_caa_eval(s->rr, s->n, &req, why, cap);
}

/* The verdict for an http-01 authorization of account ACCT; a refusal's
 * reason must contain needle. */
static void
expect(const struct rrset *s, int wildcard, enum val_caa_verdict want, const char *needle)
{
	char why[400];
	enum val_caa_verdict v = eval_as(s, wildcard, ACCT, "http-01", why, sizeof(why));

	if (v != want || (needle != NULL && strstr(why, needle) == NULL))
		print_error("verdict %d, want %d: %s\n", v, want, why);
	assert_int_equal(v, want);
	if (want == VAL_CAA_PERMIT)
		assert_string_equal(why, "");
	if (needle != NULL)
		assert_non_null(strstr(why, needle));
}

static void
one(unsigned flags, const char *tag, const char *value, int wildcard, enum val_caa_verdict want,
    const char *needle)
{
	struct rrset s;

	memset(&s, 0, sizeof(s));
	add(&s, flags, tag, value);
	expect(&s, wildcard, want, needle);
}

static void
test_parse_rr(void **state)
{
	static const unsigned char good[] = "\x80\x05issueca.test";
	static const unsigned char empty_value[] = "\x00\x05iodef";
	static const unsigned char notag[] = "\x00\x00x";
	static const unsigned char longtag[] = "\x00\x09issue";
	static const unsigned char badtag[] = "\x00\x05is-ueca.test";
	struct val_caa_rr r;

	(void)state;
	assert_int_equal(val_caa_parse_rr(good, sizeof(good) - 1, &r), VAL_CAA_OK);
	assert_int_equal(r.flags, 0x80);
	assert_int_equal(r.tag_len, 5);
	assert_memory_equal(r.tag, "issue", 5);
	assert_int_equal(r.value_len, 7);
	assert_memory_equal(r.value, "ca.test", 7);
	assert_int_equal(val_caa_parse_rr(empty_value, sizeof(empty_value) - 1, &r), VAL_CAA_OK);
	assert_int_equal(r.value_len, 0);
	assert_int_equal(val_caa_parse_rr(good, 0, &r), VAL_CAA_ESHORT);
	assert_int_equal(val_caa_parse_rr(good, 1, &r), VAL_CAA_ESHORT);
	assert_int_equal(val_caa_parse_rr(NULL, 10, &r), VAL_CAA_ESHORT);
	assert_int_equal(val_caa_parse_rr(notag, sizeof(notag) - 1, &r), VAL_CAA_ETAGLEN);
	assert_int_equal(val_caa_parse_rr(longtag, sizeof(longtag) - 1, &r), VAL_CAA_ESHORT);
	assert_int_equal(val_caa_parse_rr(badtag, sizeof(badtag) - 1, &r), VAL_CAA_ETAG);
	assert_string_equal(val_caa_strerror(VAL_CAA_ETAGLEN), "tag length 0");
}

static enum val_caa_perr
issue(const char *v, struct val_caa_issue *is)
{
	return val_caa_parse_issue((const unsigned char *)v, strlen(v), is);
}

static void
test_parse_issue(void **state)
{
	struct val_caa_issue is;

	(void)state;
	assert_int_equal(issue("ca.test", &is), VAL_CAA_OK);
	assert_string_equal(is.issuer, "ca.test");
	assert_int_equal(issue(" \tca.test \t", &is), VAL_CAA_OK);
	assert_string_equal(is.issuer, "ca.test");
	assert_int_equal(issue(";", &is), VAL_CAA_OK);
	assert_string_equal(is.issuer, "");
	assert_int_equal(issue("", &is), VAL_CAA_OK);
	assert_string_equal(is.issuer, "");
	assert_int_equal(issue("ca.test;", &is), VAL_CAA_OK);
	assert_int_equal(issue("ca.test ; accounturi = https://a/1 ; x-y=z", &is), VAL_CAA_OK);
	assert_int_equal(is.n_accounturi, 1);
	assert_int_equal(is.accounturi_len, 11);
	assert_memory_equal(is.accounturi, "https://a/1", 11);
	assert_int_equal(issue("ca.test; AccountURI=a; accounturi=b", &is), VAL_CAA_OK);
	assert_int_equal(is.n_accounturi, 2);
	assert_int_equal(issue("ca.test; validationmethods=dns-01,http-01", &is), VAL_CAA_OK);
	assert_int_equal(is.n_methods, 1);
	assert_int_equal(is.methods_len, 14);
	assert_int_equal(issue("ca.test; accounturi=", &is), VAL_CAA_OK);
	assert_int_equal(is.accounturi_len, 0);
	/* The issuer part is kept when only what follows is bad. */
	assert_int_equal(issue("ca.test junk", &is), VAL_CAA_EISSUER);
	assert_string_equal(is.issuer, "ca.test");
	assert_int_equal(issue("ca.test; a=b;", &is), VAL_CAA_EPARAM);
	assert_string_equal(is.issuer, "ca.test");
	assert_int_equal(issue("ca.test; =b", &is), VAL_CAA_EPARAM);
	assert_int_equal(issue("ca.test; a", &is), VAL_CAA_EPARAM);
	assert_int_equal(issue("ca.test; a=b c", &is), VAL_CAA_EPARAM);
	assert_int_equal(issue("ca.test; -a=b", &is), VAL_CAA_EPARAM);
	assert_int_equal(issue("ca.test; a-=b", &is), VAL_CAA_EPARAM);
	assert_int_equal(issue("%%%", &is), VAL_CAA_EISSUER);
	assert_string_equal(is.issuer, "");
	assert_int_equal(issue("-ca.test", &is), VAL_CAA_EISSUER);
	assert_int_equal(issue("ca-.test", &is), VAL_CAA_EISSUER);
	assert_int_equal(issue("ca..test", &is), VAL_CAA_EISSUER);
	assert_int_equal(issue("ca.test.", &is), VAL_CAA_EISSUER);
	assert_int_equal(issue("c--a.test", &is), VAL_CAA_OK);
	assert_int_equal(val_caa_parse_issue(NULL, 5, &is), VAL_CAA_OK);
}

/* CAA-05: issue records must name us. */
static void
test_caa05_issue(void **state)
{
	(void)state;
	one(0, "issue", "other.ca", 0, VAL_CAA_FORBID, "no issue record names this CA "
	    "(other-name.test, ca.test); issue found: \"other.ca\"");
	one(0, "issue", OURS, 0, VAL_CAA_PERMIT, NULL);
	one(0, "issue", "other-name.test", 0, VAL_CAA_PERMIT, NULL);
}

/* CAA-06: ";" forbids, a bad value grants nothing, permissions add up. */
static void
test_caa06_empty_and_additive(void **state)
{
	struct rrset s;

	(void)state;
	one(0, "issue", ";", 0, VAL_CAA_FORBID, "\";\"");
	one(0, "issue", "%%%", 0, VAL_CAA_FORBID, "%%%");
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", "%%%");
	add(&s, 0, "issue", OURS);
	expect(&s, 0, VAL_CAA_PERMIT, NULL);
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", ";");
	add(&s, 0, "issue", "other.ca");
	add(&s, 0, "issue", OURS);
	expect(&s, 0, VAL_CAA_PERMIT, NULL);
}

/* CAA-07: issuewild only for wildcards, and then it replaces issue. */
static void
test_caa07_issuewild(void **state)
{
	struct rrset s;

	(void)state;
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", OURS);
	add(&s, 0, "issuewild", ";");
	expect(&s, 0, VAL_CAA_PERMIT, NULL);
	expect(&s, 1, VAL_CAA_FORBID, "no issuewild record names this CA");
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", ";");
	add(&s, 0, "issuewild", OURS);
	expect(&s, 1, VAL_CAA_PERMIT, NULL);
	expect(&s, 0, VAL_CAA_FORBID, "no issue record");
	/* Without issuewild a wildcard follows issue. */
	one(0, "issue", OURS, 1, VAL_CAA_PERMIT, NULL);
	one(0, "issue", "other.ca", 1, VAL_CAA_FORBID, "no issue record");
	/* issuewild alone says nothing about the name itself. */
	one(0, "issuewild", ";", 0, VAL_CAA_PERMIT, NULL);
}

/* CAA-08: iodef and unknown non-critical tags do not restrict. */
static void
test_caa08_no_restriction(void **state)
{
	struct rrset s;

	(void)state;
	one(0, "iodef", "mailto:x@y.test", 0, VAL_CAA_PERMIT, NULL);
	memset(&s, 0, sizeof(s));
	add(&s, 0, "iodef", "mailto:x@y.test");
	add(&s, 0, "tbs", "whatever");
	add(&s, 64, "future", "x");
	expect(&s, 0, VAL_CAA_PERMIT, NULL);
	expect(&s, 1, VAL_CAA_PERMIT, NULL);
}

/* CAA-09: tags without regard to case; critical unknown tags forbid. */
static void
test_caa09_tags_and_flags(void **state)
{
	struct rrset s;

	(void)state;
	one(0, "ISSUE", ";", 0, VAL_CAA_FORBID, "no issue record");
	one(0, "IssueWild", ";", 1, VAL_CAA_FORBID, "no issuewild record");
	one(0, "Issue", OURS, 0, VAL_CAA_PERMIT, NULL);
	one(128, "tbs", "x", 0, VAL_CAA_FORBID, "unknown property \"tbs\" is marked critical");
	one(1, "tbs", "x", 0, VAL_CAA_FORBID, "critical (flags 1)");
	one(129, "tbs", "x", 1, VAL_CAA_FORBID, "critical");
	/* Other flag bits are ignored; a known tag may be critical. */
	one(64, "issue", OURS, 0, VAL_CAA_PERMIT, NULL);
	one(128, "issue", OURS, 0, VAL_CAA_PERMIT, NULL);
	one(128, "iodef", "mailto:x@y.test", 0, VAL_CAA_PERMIT, NULL);
	/* A critical unknown tag forbids even next to a record naming us. */
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", OURS);
	add(&s, 128, "tbs", "x");
	expect(&s, 0, VAL_CAA_FORBID, "critical");
}

/* CAA-10: whitespace trimmed; otherwise the same code points. */
static void
test_caa10_issuer_match(void **state)
{
	(void)state;
	one(0, "issue", "  " OURS "  ", 0, VAL_CAA_PERMIT, NULL);
	one(0, "issue", "\t" OURS ";", 0, VAL_CAA_PERMIT, NULL);
	one(0, "issue", OURS ".evil.example", 0, VAL_CAA_FORBID, "no issue record");
	one(0, "issue", "CA.TEST", 0, VAL_CAA_FORBID, "no issue record");
	one(0, "issue", "a" OURS, 0, VAL_CAA_FORBID, "no issue record");
	one(0, "issue", OURS " junk", 0, VAL_CAA_FORBID, "does not parse");
}

/* CAA-11: accounturi binds the record to one account. */
static void
test_caa11_accounturi(void **state)
{
	struct rrset s;
	char why[400];

	(void)state;
	one(0, "issue", OURS "; accounturi=" ACCT, 0, VAL_CAA_PERMIT, NULL);
	one(0, "issue", OURS "; accounturi=https://acme.test/acme/default/acct/B2", 0, VAL_CAA_FORBID,
	    "limited to accounturi=https://acme.test/acme/default/acct/B2, not this account ("
	    ACCT ")");
	one(0, "issue", OURS "; accounturi=" ACCT "/", 0, VAL_CAA_FORBID, "limited to accounturi");
	one(0, "issue", OURS "; accounturi=" ACCT "; accounturi=" ACCT, 0, VAL_CAA_FORBID,
	    "more than one accounturi");
	one(0, "issue", OURS "; accounturi=", 0, VAL_CAA_FORBID, "limited to accounturi");
	one(0, "issue", OURS "; ACCOUNTURI=https://other/acct/1", 0, VAL_CAA_FORBID,
	    "limited to accounturi");
	/* Another record for any account still grants. */
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", OURS "; accounturi=https://other/acct/1");
	add(&s, 0, "issue", OURS);
	expect(&s, 0, VAL_CAA_PERMIT, NULL);
	/* No account URL known: a bound record never matches. */
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", OURS "; accounturi=" ACCT);
	assert_int_equal(eval_as(&s, 0, NULL, "http-01", why, sizeof(why)), VAL_CAA_FORBID);
}

/* CAA-12: validationmethods. */
static void
test_caa12_validationmethods(void **state)
{
	struct rrset s;
	char why[400];

	(void)state;
	one(0, "issue", OURS "; validationmethods=dns-01", 0, VAL_CAA_FORBID,
	    "allows validationmethods=dns-01, and this authorization was validated with http-01");
	one(0, "issue", OURS "; validationmethods=dns-01,http-01", 0, VAL_CAA_PERMIT, NULL);
	one(0, "issue", OURS "; validationmethods=ca-custom,http-01", 0, VAL_CAA_PERMIT, NULL);
	one(0, "issue", OURS "; validationmethods=HTTP-01", 0, VAL_CAA_FORBID, "validationmethods");
	one(0, "issue", OURS "; validationmethods=dns-01,,http-01", 0, VAL_CAA_FORBID, "malformed");
	one(0, "issue", OURS "; validationmethods=http_01", 0, VAL_CAA_FORBID, "malformed");
	one(0, "issue", OURS "; validationmethods=http-01,", 0, VAL_CAA_FORBID, "malformed");
	one(0, "issue", OURS "; validationmethods=", 0, VAL_CAA_FORBID, "malformed");
	one(0, "issue", OURS "; validationmethods=http-01; validationmethods=http-01", 0,
	    VAL_CAA_FORBID, "more than one validationmethods");
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", OURS "; validationmethods=dns-01");
	assert_int_equal(eval_as(&s, 0, ACCT, "dns-01", why, sizeof(why)), VAL_CAA_PERMIT);
	assert_int_equal(eval_as(&s, 0, ACCT, "tls-alpn-01", why, sizeof(why)), VAL_CAA_FORBID);
	/* Both parameters must hold. */
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", OURS "; accounturi=" ACCT "; validationmethods=dns-01");
	assert_int_equal(eval_as(&s, 0, ACCT, "dns-01", why, sizeof(why)), VAL_CAA_PERMIT);
	assert_int_equal(eval_as(&s, 0, "https://x/acct/2", "dns-01", why, sizeof(why)),
	    VAL_CAA_FORBID);
}

/* CAA-16: unknown parameters are ignored. */
static void
test_caa16_unknown_parameters(void **state)
{
	(void)state;
	one(0, "issue", OURS "; foo=bar", 0, VAL_CAA_PERMIT, NULL);
	one(0, "issue", OURS "; foo=bar; policy=ev", 0, VAL_CAA_PERMIT, NULL);
	one(0, "issue", OURS "; foo=bar baz", 0, VAL_CAA_FORBID, "does not parse");
}

/* A record that does not parse forbids (fail closed); details are escaped. */
static void
test_malformed_and_escaped(void **state)
{
	struct rrset s;
	char why[400];

	(void)state;
	memset(&s, 0, sizeof(s));
	add(&s, 0, "issue", OURS);
	s.buf[1][0] = 0;
	s.buf[1][1] = 0;             /* tag length 0 */
	s.rr[1].p = s.buf[1];
	s.rr[1].len = 2;
	s.n = 2;
	expect(&s, 0, VAL_CAA_FORBID, "malformed (tag length 0)");
	one(0, "issue", "\"x\x01y\\", 0, VAL_CAA_FORBID, "\\x22x\\x01y\\x5c");
	memset(&s, 0, sizeof(s));
	assert_int_equal(eval_as(&s, 0, ACCT, "http-01", why, sizeof(why)), VAL_CAA_PERMIT);
}

/* Hostile bytes: random rdata through both parsers and the evaluator
 * (the sanitizer build catches any out-of-bounds read). */
static void
test_hostile_bytes(void **state)
{
	unsigned char buf[16][64];
	struct val_caa_rdata rr[16];
	struct val_caa_rr r;
	struct val_caa_issue is;
	struct val_caa_req req;
	uint32_t x = 12345;
	char why[64];
	size_t i, k, n, len;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.issuer = ours;
	req.nissuer = 2;
	req.acct_url = ACCT;
	req.method = "dns-01";
	for (i = 0; i < 20000; i++) {
		n = 1 + i % 16;
		for (k = 0; k < n; k++) {
			len = (x = x * 1103515245u + 12345u) % sizeof(buf[0]);
			for (size_t b = 0; b < len; b++) {
				x = x * 1103515245u + 12345u;
				/* Mostly printable, with the grammar's punctuation. */
				buf[k][b] = (x >> 16) % 4 == 0 ? (unsigned char)(x >> 8) :
				    (unsigned char)" ;=,.-aZ9ca.test"[(x >> 8) % 16];
			}
			if (len >= 2 && i % 3 == 0) {
				buf[k][1] = 5;
				if (len >= 7)
					memcpy(buf[k] + 2, "issue", 5);
			}
			rr[k].p = buf[k];
			rr[k].len = len;
			if (val_caa_parse_rr(buf[k], len, &r) == VAL_CAA_OK)
				(void)val_caa_parse_issue(r.value, r.value_len, &is);
			(void)val_caa_parse_issue(buf[k], len, &is);
		}
		req.wildcard = (int)(i & 1);
		(void)val_caa_eval(rr, n, &req, why, sizeof(why));
		assert_true(strlen(why) < sizeof(why));
	}
}

/* ------------------------------------------------------------------ */
/* Live lookups through pebble-challtestsrv                              */

static void
add_caa(const char *host, const char *tag, const char *value)
{
	assert_int_equal(vt_dns_api(&dns, "/add-caa", "{\"host\":\"%s.\",\"policies\":"
	    "[{\"tag\":\"%s\",\"value\":\"%s\"}]}", host, tag, value), 200);
}

/* A CAA re-check (ACME_VAL_CAA) of ident by method for account ACCT. */
static void
recheck(const char *ident, int wildcard, int method, struct vt_result *r)
{
	struct acme_val_item it;
	struct val_opts o;

	vt_item(&it, method, STORE_IDENT_DNS, ident, "tokcaa");
	it.kind = ACME_VAL_CAA;
	it.caa = 1;
	it.method = (uint8_t)method;
	it.wildcard = wildcard;
	it.keyauth[0] = '\0';
	snprintf(it.acct_url, sizeof(it.acct_url), "%s", ACCT);
	/* A closed port: fetching the challenge would fail. */
	vt_opts(&o, vt_free_port(SOCK_STREAM), vt_free_port(SOCK_STREAM), 1);
	o.caa_identity = ours;
	o.ncaa_identity = 2;
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
	assert_int_equal(r->caa_checked, 0);
}

static void
expect_pass(const struct vt_result *r)
{
	if (!r->valid)
		print_error("got %s: %s\n", acme_prob_name(r->type), r->detail);
	assert_true(r->valid);
	assert_int_equal(r->caa_checked, 1);
}

/* A re-check never fetches the challenge (the ports are closed). */
static void
test_live_permit_and_forbid(void **state)
{
	struct vt_result r;

	(void)state;
	add_caa("yes.test", "issue", OURS);
	recheck("yes.test", 0, STORE_CH_HTTP01, &r);
	expect_pass(&r);
	add_caa("no.test", "issue", "other.ca");
	recheck("no.test", 0, STORE_CH_HTTP01, &r);
	expect_fail(&r, PROB_CAA, "CAA record for no.test prevents issuance for no.test: "
	    "no issue record names this CA");
	/* Nothing anywhere up the tree. */
	recheck("a.b.nothing.test", 0, STORE_CH_TLSALPN01, &r);
	expect_pass(&r);
}

/* CAA-02: the first non-empty RRset up the tree decides. */
static void
test_live_tree_climb(void **state)
{
	struct vt_result r;

	(void)state;
	add_caa("climb.test", "issue", "other.ca");
	recheck("a.b.climb.test", 0, STORE_CH_HTTP01, &r);
	expect_fail(&r, PROB_CAA, "CAA record for climb.test prevents issuance for a.b.climb.test");
	/* A lower RRset overrides the parent's. (Fresh names: the resolver
	 * may keep an empty answer for a second.) */
	add_caa("climb2.test", "issue", "other.ca");
	add_caa("b.climb2.test", "issue", OURS);
	recheck("a.b.climb2.test", 0, STORE_CH_HTTP01, &r);
	expect_pass(&r);
	/* The wildcard's base name, with issuewild (CAA-07). */
	add_caa("w.climb.test", "issue", OURS);
	add_caa("w.climb.test", "issuewild", ";");
	recheck("w.climb.test", 1, STORE_CH_DNS01, &r);
	expect_fail(&r, PROB_CAA, "for *.w.climb.test: no issuewild record names this CA");
	recheck("w.climb.test", 0, STORE_CH_DNS01, &r);
	expect_pass(&r);
}

/* CAA-03: an alias is followed; its target's RRset applies. */
static void
test_live_cname(void **state)
{
	struct vt_result r;

	(void)state;
	add_caa("target.other.test", "issue", "other.ca");
	assert_int_equal(vt_dns_api(&dns, "/set-cname", "{\"host\":\"alias.test.\","
	    "\"target\":\"target.other.test.\"}"), 200);
	recheck("alias.test", 0, STORE_CH_HTTP01, &r);
	expect_fail(&r, PROB_CAA, "CAA record for alias.test prevents issuance");
	add_caa("goodtarget.other.test", "issue", OURS);
	assert_int_equal(vt_dns_api(&dns, "/set-cname", "{\"host\":\"goodalias.test.\","
	    "\"target\":\"goodtarget.other.test.\"}"), 200);
	recheck("goodalias.test", 0, STORE_CH_HTTP01, &r);
	expect_pass(&r);
}

/* CAA-11/12 live: accounturi and validationmethods. */
static void
test_live_parameters(void **state)
{
	struct vt_result r;

	(void)state;
	add_caa("acct.test", "issue", OURS "; accounturi=" ACCT);
	recheck("acct.test", 0, STORE_CH_HTTP01, &r);
	expect_pass(&r);
	add_caa("otheracct.test", "issue", OURS "; accounturi=https://other/acct/1");
	recheck("otheracct.test", 0, STORE_CH_HTTP01, &r);
	expect_fail(&r, PROB_CAA, "limited to accounturi=https://other/acct/1");
	add_caa("meth.test", "issue", OURS "; validationmethods=dns-01");
	recheck("meth.test", 0, STORE_CH_HTTP01, &r);
	expect_fail(&r, PROB_CAA, "validated with http-01");
	recheck("meth.test", 0, STORE_CH_DNS01, &r);
	expect_pass(&r);
}

/* CAA-04: a failed lookup blocks, with a dns problem; a failure above the
 * RRset that decides does not matter. */
static void
test_live_servfail(void **state)
{
	struct vt_result r;

	(void)state;
	assert_int_equal(vt_dns_api(&dns, "/set-servfail", "{\"host\":\"sf.test.\"}"), 200);
	recheck("sf.test", 0, STORE_CH_HTTP01, &r);
	expect_fail(&r, PROB_DNS, "SERVFAIL looking up CAA for sf.test");
	recheck("x.sf.test", 0, STORE_CH_HTTP01, &r);
	expect_fail(&r, PROB_DNS, "SERVFAIL looking up CAA for sf.test");
	add_caa("y.sf.test", "issue", OURS);
	recheck("y.sf.test", 0, STORE_CH_HTTP01, &r);
	expect_pass(&r);
}

static void
test_live_resolver_silent(void **state)
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
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_DNS, "silent.test", "toksilent");
	it.kind = ACME_VAL_CAA;
	it.caa = 1;
	vt_opts(&o, 0, 0, 0);
	o.dns_ms = 700;
	o.caa_identity = ours;
	o.ncaa_identity = 2;
	vt_validate(l, e, &it, &o, &r);
	expect_fail(&r, PROB_DNS, "timed out looking up CAA for silent.test");
	assert_true(r.ms >= 600 && r.ms < 15000);   /* ends at its deadline, not never */
	val_engine_free(e);
	val_loop_free(l);
	close(s);
}

/* base64url(SHA-256(token.THUMB)) */
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

/* A dns-01 challenge for ident, then CAA when caa is set. */
static void
challenge(const char *ident, int wildcard, int caa, struct vt_result *r)
{
	struct acme_val_item it;
	struct val_opts o;
	char name[300], d[64];

	digest("tokchal", d);
	snprintf(name, sizeof(name), "_acme-challenge.%s.", ident);
	assert_int_equal(vt_dns_api(&dns, "/set-txt", "{\"host\":\"%s\",\"value\":\"%s\"}", name, d),
	    200);
	vt_item(&it, STORE_CH_DNS01, STORE_IDENT_DNS, ident, "tokchal");
	it.wildcard = wildcard;
	it.caa = caa;
	it.method = STORE_CH_DNS01;
	snprintf(it.acct_url, sizeof(it.acct_url), "%s", ACCT);
	vt_opts(&o, 0, 0, 0);
	o.caa_identity = ours;
	o.ncaa_identity = 2;
	vt_validate(loop, eng, &it, &o, r);
	assert_true(r->done);
}

/* After a challenge passes, CAA decides; a challenge that fails is
 * reported as such, without CAA. */
static void
test_challenge_then_caa(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;

	(void)state;
	add_caa("chal-ok.test", "issue", OURS "; validationmethods=dns-01");
	challenge("chal-ok.test", 0, 1, &r);
	expect_pass(&r);
	add_caa("chal-no.test", "issue", "other.ca");
	challenge("chal-no.test", 0, 1, &r);
	expect_fail(&r, PROB_CAA, "CAA record for chal-no.test prevents issuance");
	/* The directory does not check CAA: valid, and no check recorded. */
	challenge("chal-no.test", 0, 0, &r);
	assert_true(r.valid);
	assert_int_equal(r.caa_checked, 0);
	/* A wildcard: dns-01 on the base name, issuewild for CAA. */
	add_caa("chal-w.test", "issue", OURS);
	add_caa("chal-w.test", "issuewild", "other.ca");
	challenge("chal-w.test", 1, 1, &r);
	expect_fail(&r, PROB_CAA, "for *.chal-w.test: no issuewild record");
	challenge("chal-w.test", 0, 1, &r);
	expect_pass(&r);
	/* The challenge fails first: its own problem, CAA not consulted. */
	vt_item(&it, STORE_CH_DNS01, STORE_IDENT_DNS, "chal-notxt.test", "toknotxt");
	it.caa = 1;
	vt_opts(&o, 0, 0, 0);
	o.caa_identity = ours;
	o.ncaa_identity = 2;
	vt_validate(loop, eng, &it, &o, &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "No TXT record found");
}

/* IP-09: no CAA for IP identifiers. */
static void
test_ip_skipped(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;

	(void)state;
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", "tokip");
	it.kind = ACME_VAL_CAA;
	it.caa = 1;
	vt_opts(&o, vt_free_port(SOCK_STREAM), 0, 1);
	vt_validate(loop, eng, &it, &o, &r);
	expect_pass(&r);
	assert_true(r.ms < 1500);   /* no lookup: a lookup here would wait for its timeout */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rr),
		cmocka_unit_test(test_parse_issue),
		cmocka_unit_test(test_caa05_issue),
		cmocka_unit_test(test_caa06_empty_and_additive),
		cmocka_unit_test(test_caa07_issuewild),
		cmocka_unit_test(test_caa08_no_restriction),
		cmocka_unit_test(test_caa09_tags_and_flags),
		cmocka_unit_test(test_caa10_issuer_match),
		cmocka_unit_test(test_caa11_accounturi),
		cmocka_unit_test(test_caa12_validationmethods),
		cmocka_unit_test(test_caa16_unknown_parameters),
		cmocka_unit_test(test_malformed_and_escaped),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_live_permit_and_forbid),
		cmocka_unit_test(test_live_tree_climb),
		cmocka_unit_test(test_live_cname),
		cmocka_unit_test(test_live_parameters),
		cmocka_unit_test(test_live_servfail),
		cmocka_unit_test(test_live_resolver_silent),
		cmocka_unit_test(test_challenge_then_caa),
		cmocka_unit_test(test_ip_skipped),
	};

	return cmocka_run_group_tests_name("caa", tests, setup, teardown);
}
