/*
 * The strict JSON reader (core/json.c) that every request body and every
 * JWS header and payload goes through. Beyond not crashing: what it accepts
 * holds no NUL and nests at most ACME_JSON_MAX_DEPTH deep, and what json-c
 * writes back out of it (the server's own responses are built that way) is
 * accepted again and written back identically.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/json.h"
#include "tests/fuzz/fuzzlib.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

static int
depth_of(struct json_object *o)
{
	int d = 0, m, n;
	size_t i;

	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			if ((n = depth_of(json_object_array_get_idx(o, i))) > d)
				d = n;
		return d + 1;
	}
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if ((m = depth_of(v)) > d)
				d = m;
		}
		return d + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL, *o2 = NULL;
	const char *why = NULL;
	char *text = fz_strndup(data, size), *out = NULL, *out2 = NULL;
	enum acme_err rc;

	rc = acme_json_parse(text, size, &o, &why);
	if (rc != ACME_OK) {
		FZ_CHECK(o == NULL && why != NULL);
		goto done;
	}
	FZ_CHECK(why == NULL);
	FZ_CHECK(memchr(data, '\0', size) == NULL);
	FZ_CHECK(depth_of(o) <= ACME_JSON_MAX_DEPTH);
	if (o == NULL)
		goto done;   /* the literal null */
	if (json_object_is_type(o, json_type_object)) {
		/* What handlers do with payloads. */
		(void)acme_json_str(o, "type");
		(void)acme_json_get(o, "identifiers");
	}
	out = acme_json_dump(o);
	FZ_CHECK(out != NULL);
	rc = acme_json_parse(out, strlen(out), &o2, &why);
	FZ_CHECK(rc == ACME_OK);
	out2 = acme_json_dump(o2);
	FZ_CHECK(out2 != NULL && strcmp(out, out2) == 0);
done:
	json_object_put(o);
	json_object_put(o2);
	free(out);
	free(out2);
	free(text);
	return 0;
}
