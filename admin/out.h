/*
 * Output of acme-admin: every command builds JSON objects (json-c) and hands
 * them here, which prints them as JSON with --json, or as text for people:
 * a list as an aligned table, one object as aligned "key  value" lines.
 */
#ifndef ACME_ADMIN_OUT_H
#define ACME_ADMIN_OUT_H

#include <stdint.h>

#include <json-c/json.h>

#include "admin/cli.h"

/* A column of a table: its heading and the member of each row it shows. */
struct out_col {
	const char *head;
	const char *key;
};

/*
 * Print rows (a JSON array of objects; borrowed): with --json the array,
 * else a table of cols (a list ending with a NULL head) with a heading
 * line. Values: strings as they are (control characters shown as '?'),
 * numbers, yes/no, arrays joined with ",", null or absent as "-".
 */
void out_list(const struct cli *c, struct json_object *rows, const struct out_col *cols);

/* Print obj (borrowed): with --json the object, else one "key  value" line
 * per member, members of nested objects as "outer.inner". */
void out_object(const struct cli *c, struct json_object *obj);

/* obj[key] = t as RFC 3339 UTC text, or null when t is 0. */
void out_time(struct json_object *obj, const char *key, int64_t t);
/* obj[key] = s, or null when s is NULL or "". */
void out_str(struct json_object *obj, const char *key, const char *s);
void out_int(struct json_object *obj, const char *key, int64_t v);
void out_bool(struct json_object *obj, const char *key, int v);

/* A new empty array or object; exits the program if memory is out (a
 * command-line tool has nothing better to do). */
struct json_object *out_array(void);
struct json_object *out_new(void);
/* Append o (ownership passes) to array a. */
void out_push(struct json_object *a, struct json_object *o);

#endif
