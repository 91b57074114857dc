/* Strict JSON for untrusted input, on top of json-c. */
#ifndef ACME_CORE_JSON_H
#define ACME_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "core/err.h"

#define ACME_JSON_MAX_DEPTH 10

/*
 * Parse len bytes of untrusted JSON: RFC 8259 grammar only (no comments, no
 * trailing commas, no NaN), valid UTF-8 (no overlongs, no surrogates, escaped
 * surrogate pairs well formed), nesting at most ACME_JSON_MAX_DEPTH, no
 * duplicate member name in any object, nothing but whitespace after the
 * value, and no NUL character anywhere (so strings are C strings).
 * On success *out is the value (caller json_object_put()).
 * ACME_EINVAL with *why set to a static reason otherwise.
 */
enum acme_err acme_json_parse(const char *text, size_t len, struct json_object **out,
    const char **why);

/* Member key of obj when it is a string, else NULL. */
const char *acme_json_str(struct json_object *obj, const char *key);

/* Member key of obj if present (any type), else NULL. */
struct json_object *acme_json_get(struct json_object *obj, const char *key);

/* Compact text of o (no slash escaping); caller frees. NULL on ENOMEM. */
char *acme_json_dump(struct json_object *o);

/* Add key -> string / int64 / bool to obj; string NULL adds nothing. */
void acme_json_add_str(struct json_object *obj, const char *key, const char *val);
void acme_json_add_int(struct json_object *obj, const char *key, int64_t val);
void acme_json_add_bool(struct json_object *obj, const char *key, int val);

/* RFC 3339 UTC text of t ("2026-01-02T03:04:05Z"), the form of every ACME
 * timestamp (core/views.c). */
void acme_rfc3339(int64_t t, char out[32]);
/* Parse RFC 3339; -1 if not valid. */
int acme_parse_rfc3339(const char *s, int64_t *t);

#endif
