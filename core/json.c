/*
 * A strict JSON reader that builds json-c objects in one pass. json_tokener
 * accepts duplicate member names (last wins), lone surrogates and more, so
 * untrusted text never goes near it.
 *
 * Decoded strings go to a scratch buffer used as a stack: the names of the
 * objects being parsed stay there while their values are parsed. A decoded
 * string plus its NUL is never longer than its quoted text, and those texts
 * are disjoint, so len + 1 bytes always suffice and the buffer never moves.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

struct jp {
	const unsigned char *p;
	const unsigned char *end;
	char *scratch;
	size_t cap;
	size_t top;          /* scratch bytes held by enclosing member names */
	int depth;
	enum acme_err rc;
	const char *why;
};

static int jp_value(struct jp *j, struct json_object **out);

static int
jp_fail(struct jp *j, const char *why)
{
	if (j->why == NULL) {
		j->why = why;
		j->rc = ACME_EINVAL;
	}
	return -1;
}

static int
jp_nomem(struct jp *j)
{
	j->why = "out of memory";
	j->rc = ACME_ENOMEM;
	return -1;
}

static void
jp_ws(struct jp *j)
{
	while (j->p < j->end &&
	    (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

/* Length of the well-formed UTF-8 sequence of two or more bytes at p (RFC
 * 3629: no overlongs, no surrogates, nothing above U+10FFFF), or 0. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static int
hex4(const unsigned char *p, unsigned *v)
{
	unsigned i, d;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* Decode the \u escape at j->p (just past the backslash and 'u'), a pair if
 * it is a high surrogate, and write the UTF-8 to o. Returns bytes written or -1. */
static int
jp_unicode(struct jp *j, char *o)
{
	unsigned cp, lo;

	if (j->end - j->p < 4 || hex4(j->p, &cp) < 0)
		return jp_fail(j, "bad \\u escape");
	j->p += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return jp_fail(j, "unpaired surrogate in \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
		    hex4(j->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return jp_fail(j, "unpaired surrogate in \\u escape");
		j->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return jp_fail(j, "NUL character (\\u0000) in string");
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The string at j->p (on the opening quote), decoded and NUL-terminated at
 * scratch + top; its length in *len. */
static int
jp_string(struct jp *j, size_t *len)
{
	char *o = j->scratch + j->top, *start = o;
	const unsigned char *p;
	size_t n;
	int w;

	/* Cannot happen (see the top of the file); checked so that a slip in
	 * that argument is an error, not an overflow. */
	if (j->cap - j->top < (size_t)(j->end - j->p))
		return jp_fail(j, "internal: scratch space");
	j->p++;
	for (;;) {
		/* Copy the plain run in one go. */
		p = j->p;
		while (p < j->end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		n = (size_t)(p - j->p);
		memcpy(o, j->p, n);
		o += n;
		j->p = p;
		if (p == j->end)
			return jp_fail(j, "unterminated string");
		if (*p == '"') {
			j->p++;
			break;
		}
		if (*p < 0x20)
			return jp_fail(j, "control character in string");
		if (*p >= 0x80) {
			if ((n = utf8_len(p, j->end)) == 0)
				return jp_fail(j, "invalid UTF-8 in string");
			memcpy(o, p, n);
			o += n;
			j->p += n;
			continue;
		}
		/* A backslash. */
		if (j->end - p < 2)
			return jp_fail(j, "unterminated string");
		j->p += 2;
		switch (p[1]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if ((w = jp_unicode(j, o)) < 0)
				return -1;
			o += w;
			break;
		default:
			return jp_fail(j, "bad escape in string");
		}
	}
	*o = '\0';
	*len = (size_t)(o - start);
	return 0;
}

static int
jp_digits(struct jp *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : -1;
}

/*
 * RFC 8259 numbers. Integers must fit int64_t; others become doubles and must
 * be finite and at most 63 characters long (RFC 8259 section 9 lets a parser
 * limit range and precision; ACME has no use for more).
 */
static int
jp_number(struct jp *j, struct json_object **out)
{
	const unsigned char *s = j->p;
	int neg = 0, isint = 1;
	uint64_t v = 0, lim;
	char buf[64];
	char *ep;
	double d;
	size_t n;

	if (*j->p == '-') {
		neg = 1;
		j->p++;
	}
	if (j->p == j->end || *j->p < '0' || *j->p > '9')
		return jp_fail(j, "bad number");
	if (*j->p == '0') {
		j->p++;
		if (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			return jp_fail(j, "number with a leading zero");
	} else
		(void)jp_digits(j);
	if (j->p < j->end && *j->p == '.') {
		isint = 0;
		j->p++;
		if (jp_digits(j) < 0)
			return jp_fail(j, "bad number: no digits after '.'");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		isint = 0;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (jp_digits(j) < 0)
			return jp_fail(j, "bad number: no digits in exponent");
	}
	if (isint) {
		lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		for (s += neg; s < j->p; s++) {
			if (v > (lim - (uint64_t)(*s - '0')) / 10)
				return jp_fail(j, "integer out of range");
			v = v * 10 + (uint64_t)(*s - '0');
		}
		if (neg)
			*out = json_object_new_int64(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
			    -(int64_t)v);
		else
			*out = json_object_new_int64((int64_t)v);
	} else {
		n = (size_t)(j->p - s);
		if (n >= sizeof(buf))
			return jp_fail(j, "number too long");
		memcpy(buf, s, n);
		buf[n] = '\0';
		d = strtod(buf, &ep);
		if (ep != buf + n || !isfinite(d))
			return jp_fail(j, "number out of range");
		*out = json_object_new_double(d);
	}
	return *out == NULL ? jp_nomem(j) : 0;
}

static int
jp_literal(struct jp *j, const char *word, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return jp_fail(j, "unexpected character");
	j->p += n;
	return 0;
}

static int
jp_object(struct jp *j, struct json_object **out)
{
	struct json_object *obj, *val;
	size_t saved = j->top, klen;
	char *key;
	int rc = -1;

	if ((obj = json_object_new_object()) == NULL)
		return jp_nomem(j);
	j->p++;
	jp_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		goto done;
	}
	for (;;) {
		if (j->p == j->end || *j->p != '"') {
			jp_fail(j, "expected a member name");
			goto out;
		}
		key = j->scratch + j->top;
		if (jp_string(j, &klen) < 0)
			goto out;
		if (json_object_object_get_ex(obj, key, NULL)) {
			jp_fail(j, "duplicate member name");
			goto out;
		}
		jp_ws(j);
		if (j->p == j->end || *j->p != ':') {
			jp_fail(j, "expected ':'");
			goto out;
		}
		j->p++;
		j->top += klen + 1;
		val = NULL;
		if (jp_value(j, &val) < 0)
			goto out;
		j->top = saved;
		if (json_object_object_add_ex(obj, key, val, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
			json_object_put(val);
			jp_nomem(j);
			goto out;
		}
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			jp_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			break;
		}
		jp_fail(j, "expected ',' or '}'");
		goto out;
	}
done:
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	j->top = saved;
	json_object_put(obj);
	return rc;
}

static int
jp_array(struct jp *j, struct json_object **out)
{
	struct json_object *arr, *val;
	int rc = -1;

	if ((arr = json_object_new_array()) == NULL)
		return jp_nomem(j);
	j->p++;
	jp_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		goto done;
	}
	for (;;) {
		val = NULL;
		if (jp_value(j, &val) < 0)
			goto out;
		if (json_object_array_add(arr, val) != 0) {
			json_object_put(val);
			jp_nomem(j);
			goto out;
		}
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			break;
		}
		jp_fail(j, "expected ',' or ']'");
		goto out;
	}
done:
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	json_object_put(arr);
	return rc;
}

/* One value, with the whitespace before it. null is *out == NULL. */
static int
jp_value(struct jp *j, struct json_object **out)
{
	size_t len;
	int rc;

	jp_ws(j);
	*out = NULL;
	if (j->p == j->end)
		return jp_fail(j, "unexpected end of input");
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > ACME_JSON_MAX_DEPTH)
			return jp_fail(j, "nested too deeply");
		rc = *j->p == '{' ? jp_object(j, out) : jp_array(j, out);
		j->depth--;
		return rc;
	case '"':
		if (jp_string(j, &len) < 0)
			return -1;
		if ((*out = json_object_new_string_len(j->scratch + j->top, (int)len)) == NULL)
			return jp_nomem(j);
		return 0;
	case 't':
		if (jp_literal(j, "true", 4) < 0)
			return -1;
		return (*out = json_object_new_boolean(1)) == NULL ? jp_nomem(j) : 0;
	case 'f':
		if (jp_literal(j, "false", 5) < 0)
			return -1;
		return (*out = json_object_new_boolean(0)) == NULL ? jp_nomem(j) : 0;
	case 'n':
		return jp_literal(j, "null", 4);
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return jp_number(j, out);
		return jp_fail(j, "unexpected character");
	}
}

enum acme_err
acme_json_parse(const char *text, size_t len, struct json_object **out, const char **why)
{
	struct jp j;
	struct json_object *v = NULL;
	char small[2048];

	*out = NULL;
	*why = NULL;
	/* json-c string lengths are ints. */
	if (len >= INT32_MAX) {
		*why = "input too large";
		return ACME_ETOOBIG;
	}
	memset(&j, 0, sizeof(j));
	j.p = (const unsigned char *)text;
	j.end = j.p + len;
	j.cap = len + 1;
	if (j.cap <= sizeof(small))
		j.scratch = small;
	else if ((j.scratch = malloc(j.cap)) == NULL) {
		*why = "out of memory";
		return ACME_ENOMEM;
	}
	if (jp_value(&j, &v) == 0) {
		jp_ws(&j);
		if (j.p != j.end) {
			jp_fail(&j, "trailing data after the value");
			json_object_put(v);
			v = NULL;
		}
	}
	if (j.scratch != small)
		free(j.scratch);
	if (j.why != NULL) {
		*why = j.why;
		return j.rc;
	}
	*out = v;
	return ACME_OK;
}

const char *
acme_json_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

struct json_object *
acme_json_get(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

char *
acme_json_dump(struct json_object *o)
{
	const char *s;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	return s != NULL ? strdup(s) : NULL;
}

void
acme_json_add_str(struct json_object *obj, const char *key, const char *val)
{
	if (val != NULL)
		json_object_object_add(obj, key, json_object_new_string(val));
}

void
acme_json_add_int(struct json_object *obj, const char *key, int64_t val)
{
	json_object_object_add(obj, key, json_object_new_int64(val));
}

void
acme_json_add_bool(struct json_object *obj, const char *key, int val)
{
	json_object_object_add(obj, key, json_object_new_boolean(val != 0));
}
