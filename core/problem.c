#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/problem.h"

static const struct {
	const char *name;
	int status;
} prob_table[PROB__MAX] = {
	[PROB_NONE] = { "", 500 },
	[PROB_ACCOUNT_DOES_NOT_EXIST] = { "accountDoesNotExist", 400 },
	[PROB_ALREADY_REPLACED] = { "alreadyReplaced", 409 },
	[PROB_ALREADY_REVOKED] = { "alreadyRevoked", 400 },
	[PROB_BAD_CSR] = { "badCSR", 400 },
	[PROB_BAD_NONCE] = { "badNonce", 400 },
	[PROB_BAD_PUBLIC_KEY] = { "badPublicKey", 400 },
	[PROB_BAD_REVOCATION_REASON] = { "badRevocationReason", 400 },
	[PROB_BAD_SIGNATURE_ALGORITHM] = { "badSignatureAlgorithm", 400 },
	[PROB_CAA] = { "caa", 403 },
	[PROB_COMPOUND] = { "compound", 403 },
	[PROB_CONNECTION] = { "connection", 400 },
	[PROB_DNS] = { "dns", 400 },
	[PROB_EXTERNAL_ACCOUNT_REQUIRED] = { "externalAccountRequired", 403 },
	[PROB_INCORRECT_RESPONSE] = { "incorrectResponse", 403 },
	[PROB_INVALID_CONTACT] = { "invalidContact", 400 },
	[PROB_INVALID_PROFILE] = { "invalidProfile", 400 },
	[PROB_MALFORMED] = { "malformed", 400 },
	[PROB_ORDER_NOT_READY] = { "orderNotReady", 403 },
	[PROB_RATE_LIMITED] = { "rateLimited", 429 },
	[PROB_REJECTED_IDENTIFIER] = { "rejectedIdentifier", 400 },
	[PROB_SERVER_INTERNAL] = { "serverInternal", 500 },
	[PROB_TLS] = { "tls", 400 },
	[PROB_UNAUTHORIZED] = { "unauthorized", 403 },
	[PROB_UNSUPPORTED_CONTACT] = { "unsupportedContact", 400 },
	[PROB_UNSUPPORTED_IDENTIFIER] = { "unsupportedIdentifier", 400 },
	[PROB_USER_ACTION_REQUIRED] = { "userActionRequired", 403 },
};

#define URN_PREFIX "urn:ietf:params:acme:error:"

static char prob_urn[PROB__MAX][64];

const char *
acme_prob_name(enum acme_prob t)
{
	if ((unsigned)t >= PROB__MAX)
		t = PROB_SERVER_INTERNAL;
	return prob_table[t].name;
}

const char *
acme_prob_urn(enum acme_prob t)
{
	if ((unsigned)t >= PROB__MAX || t == PROB_NONE)
		t = PROB_SERVER_INTERNAL;
	/* Filled lazily; the strings are the same every time, so a race is harmless. */
	if (prob_urn[t][0] == '\0')
		snprintf(prob_urn[t], sizeof(prob_urn[t]), URN_PREFIX "%s", prob_table[t].name);
	return prob_urn[t];
}

int
acme_prob_status(enum acme_prob t)
{
	if ((unsigned)t >= PROB__MAX)
		return 500;
	return prob_table[t].status;
}

enum acme_prob
acme_prob_from_urn(const char *urn)
{
	size_t i;

	if (urn == NULL || strncmp(urn, URN_PREFIX, sizeof(URN_PREFIX) - 1) != 0)
		return PROB_NONE;
	urn += sizeof(URN_PREFIX) - 1;
	for (i = 1; i < PROB__MAX; i++)
		if (strcmp(urn, prob_table[i].name) == 0)
			return (enum acme_prob)i;
	return PROB_NONE;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), or 0. */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		hi = s[0] == 0xed ? 0x9f : 0xbf;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;   /* also stops at the NUL */
	return n;
}

/* Replace, in place, each byte of s that is not part of well-formed UTF-8
 * with '?'. Details quote what clients sent (a method, a member name cut to
 * a length, a value cut by the buffer), and the document they go into must
 * be UTF-8 JSON (RFC 8259 section 8.1). */
static void
utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if (*p < 0x80)
			p++;
		else if ((n = utf8_seq(p)) > 0)
			p += n;
		else
			*p++ = '?';
	}
}

int
acme_problem_vset(struct acme_problem *p, enum acme_prob t, const char *fmt, va_list ap)
{
	p->type = t;
	p->status = 0;
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	utf8_scrub(p->detail);
	return -1;
}

int
acme_problem_set(struct acme_problem *p, enum acme_prob t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	acme_problem_vset(p, t, fmt, ap);
	va_end(ap);
	return -1;
}

int
acme_problem_status(struct acme_problem *p, enum acme_prob t, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	acme_problem_vset(p, t, fmt, ap);
	va_end(ap);
	p->status = status;
	return -1;
}

void
acme_problem_sub(struct acme_problem *p, enum acme_prob t, const char *id_type,
    const char *id_value, const char *detail)
{
	struct json_object *o, *id;
	char text[sizeof(p->detail)];

	if (p->sub == NULL && (p->sub = json_object_new_array()) == NULL)
		return;
	if ((o = json_object_new_object()) == NULL)
		return;
	snprintf(text, sizeof(text), "%s", detail ? detail : "");
	utf8_scrub(text);
	json_object_object_add(o, "type", json_object_new_string(acme_prob_urn(t)));
	json_object_object_add(o, "detail", json_object_new_string(text));
	json_object_object_add(o, "status", json_object_new_int(acme_prob_status(t)));
	if (id_type != NULL && id_value != NULL) {
		id = json_object_new_object();
		json_object_object_add(id, "type", json_object_new_string(id_type));
		json_object_object_add(id, "value", json_object_new_string(id_value));
		json_object_object_add(o, "identifier", id);
	}
	json_object_array_add(p->sub, o);
}

void
acme_problem_extra(struct acme_problem *p, const char *key, struct json_object *val)
{
	if (p->extra == NULL && (p->extra = json_object_new_object()) == NULL) {
		json_object_put(val);
		return;
	}
	json_object_object_add(p->extra, key, val);
}

int
acme_problem_http_status(const struct acme_problem *p)
{
	return p->status != 0 ? p->status : acme_prob_status(p->type);
}

char *
acme_problem_json(const struct acme_problem *p)
{
	struct json_object *o;
	char *out = NULL;
	const char *s;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "type", json_object_new_string(acme_prob_urn(p->type)));
	json_object_object_add(o, "detail", json_object_new_string(p->detail));
	json_object_object_add(o, "status", json_object_new_int(acme_problem_http_status(p)));
	if (p->sub != NULL)
		json_object_object_add(o, "subproblems", json_object_get(p->sub));
	if (p->extra != NULL) {
		json_object_object_foreach(p->extra, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL)
		out = strdup(s);
	json_object_put(o);
	return out;
}

void
acme_problem_clear(struct acme_problem *p)
{
	json_object_put(p->sub);
	json_object_put(p->extra);
	memset(p, 0, sizeof(*p));
}
