/* The JSON representations of accounts, authorizations and challenges
 * (RFC 8555 section 7.1), built from store records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "core/internal.h"
#include "core/json.h"

void
acme_rfc3339(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
acme_parse_rfc3339(const char *s, int64_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	size_t len = strlen(s), i = 19;
	time_t r;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
		return -1;
	if (s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (s[i - 1] == '.')
			return -1;
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		if (len - i != 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &oh) ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != len || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se > 59 ? 59 : se;
	r = timegm(&tm);
	if (r == (time_t)-1 || tm.tm_mday != d)
		return -1;      /* normalised away: e.g. February 30 */
	*t = (int64_t)r - sign * (oh * 3600 + om * 60);
	return 0;
}

static void
add_time(struct json_object *o, const char *key, int64_t t)
{
	char buf[32];

	if (t <= 0)
		return;
	acme_rfc3339(t, buf);
	json_object_object_add(o, key, json_object_new_string(buf));
}

struct json_object *
acme_view_ident(uint8_t type, const char *value)
{
	struct json_object *o = json_object_new_object();

	acme_json_add_str(o, "type", acme_ident_type_name(type));
	acme_json_add_str(o, "value", value);
	return o;
}

struct json_object *
acme_view_account(const struct acme_dir *d, const struct store_account *a)
{
	struct json_object *o = json_object_new_object(), *arr, *eab;
	const char *why;
	char *u;
	size_t i;

	acme_json_add_str(o, "status", store_status_name(a->status));
	if (a->ncontact > 0) {
		arr = json_object_new_array();
		for (i = 0; i < a->ncontact; i++)
			json_object_array_add(arr, json_object_new_string(a->contact[i]));
		json_object_object_add(o, "contact", arr);
	}
	if (a->tos_agreed > 0)
		acme_json_add_bool(o, "termsOfServiceAgreed", 1);
	u = acme_url(d, "orders", a->id);
	acme_json_add_str(o, "orders", u);
	free(u);
	add_time(o, "createdAt", a->created);
	if (a->eab_jws != NULL &&
	    acme_json_parse(a->eab_jws, strlen(a->eab_jws), &eab, &why) == ACME_OK)
		json_object_object_add(o, "externalAccountBinding", eab);
	if (a->jwk != NULL &&
	    acme_json_parse(a->jwk, strlen(a->jwk), &eab, &why) == ACME_OK)
		json_object_object_add(o, "key", eab);
	return o;
}

const char *
acme_chall_type_name(uint8_t type)
{
	switch (type) {
	case STORE_CH_HTTP01: return "http-01";
	case STORE_CH_DNS01: return "dns-01";
	case STORE_CH_TLSALPN01: return "tls-alpn-01";
	default: return "unknown";
	}
}

struct json_object *
acme_view_chall(const struct acme_dir *d, const struct store_authz *z, int idx)
{
	const struct store_chall *c = &z->chall[idx];
	struct json_object *o = json_object_new_object(), *err;
	const char *why;
	char sidx[8], *u;

	snprintf(sidx, sizeof(sidx), "%d", idx);
	acme_json_add_str(o, "type", acme_chall_type_name(c->type));
	u = acme_url_sub(d, "chall", z->id, sidx);
	acme_json_add_str(o, "url", u);
	free(u);
	acme_json_add_str(o, "status", store_status_name(c->status));
	acme_json_add_str(o, "token", c->token);
	add_time(o, "validated", c->status == STORE_ST_VALID ? c->validated : 0);
	if (c->error != NULL && acme_json_parse(c->error, strlen(c->error), &err, &why) == ACME_OK)
		json_object_object_add(o, "error", err);
	return o;
}

enum store_status
acme_authz_status(const struct store_authz *z, int64_t now)
{
	if ((z->status == STORE_ST_PENDING || z->status == STORE_ST_VALID) && z->expires <= now)
		return STORE_ST_EXPIRED;
	return (enum store_status)z->status;
}

struct json_object *
acme_view_authz(const struct acme_dir *d, const struct store_authz *z, int64_t now)
{
	struct json_object *o = json_object_new_object(), *arr;
	enum store_status st = acme_authz_status(z, now);
	size_t i;
	int any_final = 0;

	acme_json_add_str(o, "status", store_status_name(st));
	add_time(o, "expires", z->expires);
	json_object_object_add(o, "identifier", acme_view_ident(z->ident.type, z->ident.value));
	/* Once the authorization is final, list only the challenge that decided
	 * it (RFC 8555 section 7.1.4); while pending, every one on offer. */
	for (i = 0; i < z->nchall; i++)
		if (z->chall[i].status == STORE_ST_VALID || z->chall[i].status == STORE_ST_INVALID)
			any_final = 1;
	arr = json_object_new_array();
	for (i = 0; i < z->nchall; i++) {
		if (any_final && z->status != STORE_ST_PENDING &&
		    z->chall[i].status != STORE_ST_VALID && z->chall[i].status != STORE_ST_INVALID)
			continue;
		json_object_array_add(arr, acme_view_chall(d, z, (int)i));
	}
	json_object_object_add(o, "challenges", arr);
	if (z->wildcard)
		acme_json_add_bool(o, "wildcard", 1);
	return o;
}

struct json_object *
acme_view_order(const struct acme_dir *d, const struct store_order *o, enum store_status st,
    const char *err)
{
	struct json_object *j = json_object_new_object(), *arr, *e;
	const char *why;
	char *u, ident[ACME_IDENT_MAX + 3];
	size_t i;

	acme_json_add_str(j, "status", store_status_name(st));
	add_time(j, "expires", o->expires);
	arr = json_object_new_array();
	for (i = 0; i < o->nident; i++) {
		snprintf(ident, sizeof(ident), "%s", o->ident[i].value);
		json_object_array_add(arr, acme_view_ident(o->ident[i].type, ident));
	}
	json_object_object_add(j, "identifiers", arr);
	add_time(j, "notBefore", o->not_before);
	add_time(j, "notAfter", o->not_after);
	arr = json_object_new_array();
	for (i = 0; i < o->nauthz; i++) {
		u = acme_url(d, "authz", o->authz[i]);
		json_object_array_add(arr, json_object_new_string(u ? u : ""));
		free(u);
	}
	json_object_object_add(j, "authorizations", arr);
	u = acme_url(d, "finalize", o->id);
	acme_json_add_str(j, "finalize", u);
	free(u);
	if (st == STORE_ST_VALID && o->cert[0] != '\0') {
		u = acme_url(d, "cert", o->cert);
		acme_json_add_str(j, "certificate", u);
		free(u);
	}
	if (o->profile != NULL)
		acme_json_add_str(j, "profile", o->profile);
	if (o->replaces != NULL)
		acme_json_add_str(j, "replaces", o->replaces);
	if (st == STORE_ST_INVALID && err != NULL &&
	    acme_json_parse(err, strlen(err), &e, &why) == ACME_OK)
		json_object_object_add(j, "error", e);
	return j;
}
