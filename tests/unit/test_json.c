/* Strict JSON parsing (core/json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "core/json.h"

static struct json_object *
ok_len(const char *text, size_t len)
{
	struct json_object *o = NULL;
	const char *why = NULL;
	enum acme_err rc;

	rc = acme_json_parse(text, len, &o, &why);
	if (rc != ACME_OK)
		fail_msg("rejected %s: %s", text, why);
	assert_null(why);
	return o;
}

static struct json_object *
ok(const char *text)
{
	return ok_len(text, strlen(text));
}

static void
bad_len(const char *text, size_t len, const char *want)
{
	struct json_object *o = (struct json_object *)1;
	const char *why = NULL;

	if (acme_json_parse(text, len, &o, &why) != ACME_EINVAL)
		fail_msg("accepted %s", text);
	assert_null(o);
	assert_non_null(why);
	if (want != NULL && strstr(why, want) == NULL)
		fail_msg("%s: reason \"%s\", expected \"%s\"", text, why, want);
}

static void
bad(const char *text, const char *want)
{
	bad_len(text, strlen(text), want);
}

static void
test_values(void **state)
{
	struct json_object *o, *v;

	(void)state;
	o = ok(" {\"s\":\"x\",\"i\":-12,\"f\":1.5e2,\"t\":true,\"n\":null,\"a\":[1,[],{}],"
	    "\"o\":{\"k\":false}} \r\n\t");
	assert_true(json_object_is_type(o, json_type_object));
	assert_string_equal(acme_json_str(o, "s"), "x");
	assert_null(acme_json_str(o, "i"));
	assert_int_equal(json_object_get_int64(acme_json_get(o, "i")), -12);
	assert_true(json_object_is_type(acme_json_get(o, "f"), json_type_double));
	assert_true(json_object_get_double(acme_json_get(o, "f")) == 150.0);
	assert_true(json_object_get_boolean(acme_json_get(o, "t")));
	assert_true(json_object_object_get_ex(o, "n", &v));
	assert_null(v);
	assert_int_equal(json_object_array_length(acme_json_get(o, "a")), 3);
	assert_null(acme_json_get(o, "missing"));
	json_object_put(o);

	o = ok("\"top\"");
	assert_string_equal(json_object_get_string(o), "top");
	json_object_put(o);
	assert_null(ok("null"));
	o = ok("[]");
	assert_int_equal(json_object_array_length(o), 0);
	json_object_put(o);
	o = ok("{}");
	assert_int_equal(json_object_object_length(o), 0);
	json_object_put(o);
}

static void
test_strings(void **state)
{
	struct json_object *o;

	(void)state;
	o = ok("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\", "
	    "\"\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80\", \"\\u007f\\u0001\"]");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 0)),
	    "\"\\/\b\f\n\r\t");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 1)),
	    "\xc3\xa9\xe2\x82\xac");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 2)),
	    "\xf0\x9f\x98\x80");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 3)),
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 4)), "\x7f\x01");
	json_object_put(o);
	/* Escaped names are decoded. */
	o = ok("{\"\\u0061b\":1}");
	assert_non_null(acme_json_get(o, "ab"));
	json_object_put(o);

	bad("\"abc", "unterminated");
	bad("\"a\\", "unterminated");
	bad("\"\\x\"", "escape");
	bad("\"\\u12\"", "\\u");
	bad("\"\\u12G4\"", "\\u");
	bad("\"a\tb\"", "control");
	bad("\"a\nb\"", "control");
	bad("'a'", NULL);
}

static void
test_surrogates_and_nul(void **state)
{
	(void)state;
	bad("\"\\ud800\"", "surrogate");
	bad("\"\\udc00\"", "surrogate");
	bad("\"\\ud800\\u0041\"", "surrogate");
	bad("\"\\ud800\\ud800\"", "surrogate");
	bad("\"\\ud800x\"", "surrogate");
	bad("\"\\udbff\"", "surrogate");
	bad("\"\\u0000\"", "NUL");
	bad("{\"a\\u0000\":1}", "NUL");
	bad_len("\"a\0b\"", 5, "control");
	bad_len("{}\0", 3, "trailing");
	bad_len("\0", 1, NULL);
}

static void
test_bad_utf8(void **state)
{
	(void)state;
	bad("\"\xc0\x80\"", "UTF-8");          /* overlong NUL */
	bad("\"\xc1\xbf\"", "UTF-8");          /* overlong */
	bad("\"\xe0\x80\xaf\"", "UTF-8");      /* overlong '/' */
	bad("\"\xf0\x80\x80\xaf\"", "UTF-8");  /* overlong */
	bad("\"\xed\xa0\x80\"", "UTF-8");      /* U+D800 */
	bad("\"\xed\xbf\xbf\"", "UTF-8");      /* U+DFFF */
	bad("\"\xf4\x90\x80\x80\"", "UTF-8");  /* above U+10FFFF */
	bad("\"\xf5\x80\x80\x80\"", "UTF-8");
	bad("\"\xf8\x88\x80\x80\x80\"", "UTF-8");
	bad("\"\x80\"", "UTF-8");              /* lone continuation */
	bad("\"\xc3\"", "UTF-8");              /* truncated */
	bad("\"\xe2\x82\"", "UTF-8");
	bad("\"\xe2\x28\xa1\"", "UTF-8");
	bad("\xef\xbb\xbf{}", NULL);            /* BOM */
	bad("{\"\xff\":1}", "UTF-8");
	json_object_put(ok("\"\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\""));
}

static void
test_duplicates(void **state)
{
	struct json_object *o;

	(void)state;
	bad("{\"a\":1,\"a\":2}", "duplicate");
	bad("{\"a\":1,\"\\u0061\":2}", "duplicate");
	bad("{\"url\":\"x\",\"b\":{},\"u\\u0072l\":\"y\"}", "duplicate");
	bad("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}", "duplicate");
	bad("[{\"\\/\":1,\"/\":2}]", "duplicate");
	o = ok("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}],\"A\":0}");
	json_object_put(o);
}

static char *
nest(int depth, const char *open, const char *mid, const char *close)
{
	size_t lo = strlen(open), lc = strlen(close), lm = strlen(mid);
	char *s = malloc((size_t)depth * (lo + lc) + lm + 1), *p = s;
	int i;

	for (i = 0; i < depth; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, mid, lm);
	p += lm;
	for (i = 0; i < depth; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static void
test_depth(void **state)
{
	char *s;

	(void)state;
	s = nest(ACME_JSON_MAX_DEPTH, "[", "1", "]");
	json_object_put(ok(s));
	free(s);
	s = nest(ACME_JSON_MAX_DEPTH + 1, "[", "1", "]");
	bad(s, "deep");
	free(s);
	s = nest(ACME_JSON_MAX_DEPTH, "{\"a\":", "{}", "}");
	bad(s, "deep");
	free(s);
	s = nest(ACME_JSON_MAX_DEPTH - 1, "{\"a\":", "{}", "}");
	json_object_put(ok(s));
	free(s);
	/* Deep enough to overflow a naive recursive parser's stack. */
	s = nest(200000, "[", "", "]");
	bad(s, "deep");
	free(s);
}

static void
test_numbers(void **state)
{
	struct json_object *o;

	(void)state;
	o = ok("[0,-0,9223372036854775807,-9223372036854775808,1e3,-1.25E-2,0.5,1E+2,123]");
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(o, 1)), 0);
	assert_true(json_object_get_int64(json_object_array_get_idx(o, 2)) == INT64_MAX);
	assert_true(json_object_get_int64(json_object_array_get_idx(o, 3)) == INT64_MIN);
	assert_true(json_object_get_double(json_object_array_get_idx(o, 4)) == 1000.0);
	assert_true(json_object_get_double(json_object_array_get_idx(o, 5)) == -0.0125);
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(o, 8)), 123);
	json_object_put(o);

	bad("01", "leading zero");
	bad("-01", "leading zero");
	bad("[00]", "leading zero");
	bad("1.", "'.'");
	bad(".5", NULL);
	bad("+1", NULL);
	bad("-", NULL);
	bad("1e", "exponent");
	bad("1e+", "exponent");
	bad("0x10", "trailing");
	bad("NaN", NULL);
	bad("Infinity", NULL);
	bad("-Infinity", NULL);
	bad("9223372036854775808", "range");
	bad("-9223372036854775809", "range");
	bad("123456789012345678901234567890", "range");
	bad("1e999", "range");
	bad("-1e400", "range");
	bad("1.00000000000000000000000000000000000000000000000000000000000000001", "too long");
}

static void
test_grammar(void **state)
{
	(void)state;
	bad("", "end of input");
	bad("   ", "end of input");
	bad("{} x", "trailing");
	bad("{}{}", "trailing");
	bad("1 2", "trailing");
	bad("[1,]", NULL);
	bad("[,1]", NULL);
	bad("{\"a\":1,}", NULL);
	bad("{,}", NULL);
	bad("{\"a\" 1}", "':'");
	bad("{a:1}", "member name");
	bad("{\"a\":}", NULL);
	bad("{\"a\":1 \"b\":2}", NULL);
	bad("[1 2]", NULL);
	bad("[1", NULL);
	bad("{\"a\":1", NULL);
	bad("/* c */ {}", NULL);
	bad("{} // c", "trailing");
	bad("tru", NULL);
	bad("truE", NULL);
	bad("nul", NULL);
	bad("[True]", NULL);
	bad("\v{}", NULL);
	bad("{}\f", "trailing");
}

static void
test_big_input(void **state)
{
	size_t n = 100000, i;
	char *s = malloc(n * 2 + 3), *p = s;
	struct json_object *o;

	(void)state;
	*p++ = '[';
	for (i = 0; i < n; i++) {
		*p++ = '1';
		*p++ = ',';
	}
	p[-1] = ']';
	*p = '\0';
	o = ok(s);
	assert_int_equal(json_object_array_length(o), n);
	json_object_put(o);
	/* One long string with escapes, past the on-stack scratch. */
	p = s;
	*p++ = '"';
	for (i = 0; i + 8 < n; i += 6) {
		memcpy(p, "\\u00e9", 6);
		p += 6;
	}
	*p++ = '"';
	*p = '\0';
	o = ok(s);
	assert_int_equal(json_object_get_string_len(o), (i / 6) * 2);
	json_object_put(o);
	free(s);
}

static void
test_helpers(void **state)
{
	struct json_object *o = json_object_new_object();
	char *s;

	(void)state;
	acme_json_add_str(o, "url", "https://a/b");
	acme_json_add_str(o, "none", NULL);
	acme_json_add_int(o, "n", -5);
	acme_json_add_bool(o, "t", 7);
	s = acme_json_dump(o);
	assert_string_equal(s, "{\"url\":\"https://a/b\",\"n\":-5,\"t\":true}");
	free(s);
	json_object_put(o);
}

/* Mutations of valid documents: never a crash, and whatever is accepted
 * survives a dump and re-parse unchanged. */
static void
test_mutations(void **state)
{
	static const char *const seeds[] = {
		"{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\",\"signature\":\"AA\"}",
		"{\"a\":[1,-2.5e3,true,false,null,{\"b\":\"\\u00e9\\ud83d\\ude00\"}],\"c\":\"\xc3\xa9\"}",
		"[[[[[[[[[[1]]]]]]]]]]",
	};
	char buf[256];
	struct json_object *o, *o2;
	const char *why;
	char *d1, *d2;
	size_t i, len, k;
	unsigned seed = 12345;
	int m;

	(void)state;
	for (i = 0; i < 60000; i++) {
		const char *s = seeds[i % 3];

		len = strlen(s);
		memcpy(buf, s, len);
		for (m = 0; m < 1 + (int)(i % 3) && len > 0; m++) {
			seed = seed * 1103515245u + 12345u;
			k = (seed >> 8) % len;
			switch ((seed >> 4) % 4) {
			case 0: buf[k] = (char)(seed >> 16); break;
			case 1: buf[k] = "{}[]\",:\\u0e9-+.Ee \x80\xc3"[(seed >> 16) % 19]; break;
			case 2: len = k; break;
			default:
				if (len < sizeof(buf) - 1) {
					memmove(buf + k + 1, buf + k, len - k);
					buf[k] = buf[(seed >> 16) % len];
					len++;
				}
			}
		}
		if (acme_json_parse(buf, len, &o, &why) != ACME_OK)
			continue;
		d1 = acme_json_dump(o);
		assert_int_equal(acme_json_parse(d1, strlen(d1), &o2, &why), ACME_OK);
		d2 = acme_json_dump(o2);
		assert_string_equal(d1, d2);
		free(d1);
		free(d2);
		json_object_put(o);
		json_object_put(o2);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_surrogates_and_nul),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_big_input),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
