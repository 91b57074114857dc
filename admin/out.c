/* Printing acme-admin's results: JSON, or tables and key/value lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/out.h"

#define OUT_MAX_COLS 16

/* Like lighttpd's ck_ helpers: allocation failure ends the program. */
static struct json_object *
ck(struct json_object *o)
{
	if (o == NULL) {
		fputs("acme-admin: out of memory\n", stderr);
		exit(ADMIN_FAIL);
	}
	return o;
}

struct json_object *
out_array(void)
{
	return ck(json_object_new_array());
}

struct json_object *
out_new(void)
{
	return ck(json_object_new_object());
}

void
out_push(struct json_object *a, struct json_object *o)
{
	if (json_object_array_add(a, o) != 0) {
		json_object_put(o);
		(void)ck(NULL);
	}
}

void
out_time(struct json_object *obj, const char *key, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		json_object_object_add(obj, key, NULL);
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(obj, key, ck(json_object_new_string(buf)));
}

void
out_str(struct json_object *obj, const char *key, const char *s)
{
	json_object_object_add(obj, key, s == NULL || *s == '\0' ? NULL :
	    ck(json_object_new_string(s)));
}

void
out_int(struct json_object *obj, const char *key, int64_t v)
{
	json_object_object_add(obj, key, ck(json_object_new_int64(v)));
}

void
out_bool(struct json_object *obj, const char *key, int v)
{
	json_object_object_add(obj, key, ck(json_object_new_boolean(v != 0)));
}

/* ------------------------------------------------------------------ */
/* Text */

static void
print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Append text to buf (size n), control characters replaced: what the store
 * holds came from clients, and must not drive the operator's terminal. */
static void
cat_clean(char *buf, size_t n, const char *text)
{
	size_t len = strlen(buf);

	for (; *text != '\0' && len + 1 < n; text++)
		buf[len++] = ((unsigned char)*text < 0x20 || *text == 0x7f) ? '?' : *text;
	buf[len] = '\0';
}

/* The text of one value into buf. */
static void
render(struct json_object *v, char *buf, size_t n)
{
	size_t i, len;

	buf[0] = '\0';
	switch (json_object_get_type(v)) {
	case json_type_null:
		cat_clean(buf, n, "-");
		break;
	case json_type_boolean:
		cat_clean(buf, n, json_object_get_boolean(v) ? "yes" : "no");
		break;
	case json_type_string:
		cat_clean(buf, n, json_object_get_string(v));
		break;
	case json_type_array:
		len = json_object_array_length(v);
		for (i = 0; i < len; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			if (i > 0)
				cat_clean(buf, n, ",");
			if (json_object_is_type(e, json_type_string))
				cat_clean(buf, n, json_object_get_string(e));
			else
				cat_clean(buf, n, json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
				    JSON_C_TO_STRING_NOSLASHESCAPE));
		}
		if (len == 0)
			cat_clean(buf, n, "-");
		break;
	default:
		cat_clean(buf, n, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
		break;
	}
}

/* One cell padded to width, or the last of its line (width < 0). */
static void
cell(const char *text, int width)
{
	if (width < 0)
		printf("%s\n", text);
	else
		printf("%-*s  ", width, text);
}

void
out_list(const struct cli *c, struct json_object *rows, const struct out_col *cols)
{
	size_t w[OUT_MAX_COLS], ncol, nrow, r, k, len;
	struct json_object *v;
	char buf[1024];

	if (c->json) {
		print_json(rows);
		return;
	}
	nrow = json_object_array_length(rows);
	for (ncol = 0; cols[ncol].head != NULL && ncol < OUT_MAX_COLS; ncol++)
		w[ncol] = strlen(cols[ncol].head);
	for (r = 0; r < nrow; r++) {
		for (k = 0; k < ncol; k++) {
			v = NULL;
			(void)json_object_object_get_ex(json_object_array_get_idx(rows, r), cols[k].key, &v);
			render(v, buf, sizeof(buf));
			if ((len = strlen(buf)) > w[k])
				w[k] = len;
		}
	}
	for (k = 0; k < ncol; k++)
		cell(cols[k].head, k + 1 < ncol ? (int)w[k] : -1);
	for (r = 0; r < nrow; r++) {
		for (k = 0; k < ncol; k++) {
			v = NULL;
			(void)json_object_object_get_ex(json_object_array_get_idx(rows, r), cols[k].key, &v);
			render(v, buf, sizeof(buf));
			cell(buf, k + 1 < ncol ? (int)w[k] : -1);
		}
	}
}

/* The widest key of obj, nested keys counted with their prefix. */
static size_t
key_width(struct json_object *obj, size_t prefix)
{
	size_t w = 0, k;

	json_object_object_foreach(obj, key, val) {
		k = prefix + strlen(key);
		if (json_object_is_type(val, json_type_object))
			k = key_width(val, k + 1);
		if (k > w)
			w = k;
	}
	return w;
}

static void
print_members(struct json_object *obj, const char *prefix, int width)
{
	char name[256], buf[4096];

	json_object_object_foreach(obj, key, val) {
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
		if (json_object_is_type(val, json_type_object)) {
			print_members(val, name, width);
			continue;
		}
		render(val, buf, sizeof(buf));
		printf("%-*s  %s\n", width, name, buf);
	}
}

void
out_object(const struct cli *c, struct json_object *obj)
{
	if (c->json)
		print_json(obj);
	else
		print_members(obj, "", (int)key_width(obj, 0));
}
