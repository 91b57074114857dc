/* Problem documents (core/problem.c): what a client sent and a detail
 * quotes must not make the document invalid UTF-8 JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "core/json.h"
#include "core/log.h"
#include "core/problem.h"

/* The document parses with the strict reader; returns its detail (a copy). */
static char *
doc_detail(const struct acme_problem *p, const char *sub_detail_want)
{
	struct json_object *o = NULL, *sub;
	const char *why = NULL;
	char *text = acme_problem_json(p), *d;

	assert_non_null(text);
	assert_int_equal(acme_json_parse(text, strlen(text), &o, &why), ACME_OK);
	d = strdup(acme_json_str(o, "detail"));
	if (sub_detail_want != NULL) {
		sub = json_object_array_get_idx(acme_json_get(o, "subproblems"), 0);
		assert_string_equal(acme_json_str(sub, "detail"), sub_detail_want);
	}
	json_object_put(o);
	free(text);
	return d;
}

/* Found by tests/fuzz/fuzz_request: a method of bytes that are not UTF-8,
 * echoed by "method %s is not allowed here". */
static void
test_invalid_utf8_replaced(void **state)
{
	struct acme_problem p;
	char *d;

	(void)state;
	memset(&p, 0, sizeof(p));
	acme_problem_status(&p, PROB_MALFORMED, 405, "method %s is not allowed here",
	    "O\xff\xfe\xc0\xaf\xed\xa0\x80X");
	acme_problem_sub(&p, PROB_MALFORMED, "dns", "a.example", "bad \xf5 byte");
	d = doc_detail(&p, "bad ? byte");
	assert_string_equal(d, "method O???????X is not allowed here");
	free(d);
	acme_problem_clear(&p);
}

/* A member name cut to 32 bytes in the middle of a character, and a
 * detail cut by its buffer: the partial sequence goes, the rest stays. */
static void
test_cut_sequences(void **state)
{
	struct acme_problem p;
	char name[40], long_text[600], *d;
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	memset(name, 'a', 31);
	strcpy(name + 31, "\xc3\xa9");          /* byte 32 starts an e-acute */
	acme_problem_set(&p, PROB_MALFORMED, "unexpected member \"%.32s\" in the JWS", name);
	d = doc_detail(&p, NULL);
	assert_non_null(strstr(d, "aaaa?\" in the JWS"));
	free(d);
	for (i = 0; i + 4 < sizeof(long_text); i += 4)
		memcpy(long_text + i, "\xf0\x9f\x98\x80", 4);    /* U+1F600 */
	long_text[i] = '\0';
	acme_problem_set(&p, PROB_MALFORMED, "x%s", long_text);   /* cut at 511 bytes */
	d = doc_detail(&p, NULL);
	assert_int_equal(strncmp(d, "x\xf0\x9f\x98\x80", 5), 0);
	assert_true(strlen(d) < sizeof(p.detail));
	free(d);
	acme_problem_clear(&p);
}

static void
test_valid_utf8_kept(void **state)
{
	struct acme_problem p;
	char *d;

	(void)state;
	memset(&p, 0, sizeof(p));
	acme_problem_set(&p, PROB_INVALID_CONTACT, "caf\xc3\xa9 \xe2\x82\xac \xf4\x8f\xbf\xbf \x01");
	d = doc_detail(&p, NULL);
	assert_string_equal(d, "caf\xc3\xa9 \xe2\x82\xac \xf4\x8f\xbf\xbf \x01");
	free(d);
	acme_problem_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_cut_sequences),
		cmocka_unit_test(test_valid_utf8_kept),
	};

	acme_log_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
