/*
 * The small parsers of order and account payloads: identifiers
 * (core/ident.c, with the punycode check of xn-- labels), the identifier
 * policy (core/policy.c: name patterns and IP ranges), contact URLs
 * (core/contact.c) and RFC 3339 times (core/views.c: notBefore/notAfter).
 *
 * The first byte picks the parser:
 *   0  a JSON identifier object      {"type":"dns","value":"x.example"}
 *   1  the rest is a dns value        2  the rest is an ip value
 *   3  pattern '\n' name              4  range '\n' ip value
 *   5  a JSON contact array           6  an RFC 3339 time
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/config.h"
#include "core/contact.h"
#include "core/ident.h"
#include "core/internal.h"
#include "core/ipaddr.h"
#include "core/json.h"
#include "core/policy.h"
#include "tests/fuzz/fuzzlib.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

/* What the policy sees; the lists point at the caller's strings. */
static void
policy(const struct acme_ident *id, char *name_pat, char *ip_range)
{
	struct acme_dir_config d;
	char why[300];
	int r1, r2;

	memset(&d, 0, sizeof(d));
	(void)acme_policy_check(&d, id, why, sizeof(why));
	if (name_pat != NULL) {
		d.names_deny = &name_pat;
		d.nnames_deny = 1;
		r1 = acme_policy_check(&d, id, why, sizeof(why));
		d.names_deny = NULL;
		d.nnames_deny = 0;
		d.names_allow = &name_pat;
		d.nnames_allow = 1;
		r2 = acme_policy_check(&d, id, why, sizeof(why));
		/* A name denied by a pattern is allowed by the same pattern, and
		 * the other way round (IP identifiers ignore name patterns). */
		if (id->type == STORE_IDENT_DNS)
			FZ_CHECK(r1 != r2);
		d.names_allow = NULL;
		d.nnames_allow = 0;
	}
	if (ip_range != NULL) {
		d.ips_deny = &ip_range;
		d.nips_deny = 1;
		r1 = acme_policy_check(&d, id, why, sizeof(why));
		d.ips_deny = NULL;
		d.nips_deny = 0;
		d.ips_allow = &ip_range;
		d.nips_allow = 1;
		r2 = acme_policy_check(&d, id, why, sizeof(why));
		if (id->type == STORE_IDENT_IP)
			FZ_CHECK(r1 != r2);
	}
}

/* An identifier object in; what it normalises to must be accepted as is. */
static void
ident(struct json_object *o, char *name_pat, char *ip_range)
{
	struct acme_ident id, id2;
	struct json_object *o2;
	enum acme_prob pt;
	char why[300], rev[ACME_REVNAME_LEN];
	const char *base;
	size_t i;

	if (acme_ident_parse(o, &id, &pt, why, sizeof(why)) < 0) {
		FZ_CHECK(pt == PROB_MALFORMED || pt == PROB_UNSUPPORTED_IDENTIFIER ||
		    pt == PROB_REJECTED_IDENTIFIER);
		FZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
		return;
	}
	FZ_CHECK(id.type == STORE_IDENT_DNS || id.type == STORE_IDENT_IP);
	FZ_CHECK(strlen(id.value) >= 1 && strlen(id.value) <= ACME_IDENT_MAX);
	if (id.type == STORE_IDENT_DNS) {
		base = id.value + (id.wildcard ? 2 : 0);
		FZ_CHECK(id.wildcard == (strncmp(id.value, "*.", 2) == 0));
		FZ_CHECK(acme_ident_check_dns(base) == NULL && strchr(base, '*') == NULL);
		for (i = 0; id.value[i] != '\0'; i++)
			FZ_CHECK(!isupper((unsigned char)id.value[i]));
	} else {
		FZ_CHECK(id.ip_len == 4 || id.ip_len == 16);
		FZ_CHECK(acme_ident_reverse_name(&id, rev, sizeof(rev)) == 0);
		FZ_CHECK(strlen(rev) < sizeof(rev));
	}
	o2 = acme_view_ident(id.type, id.value);
	FZ_CHECK(o2 != NULL);
	FZ_CHECK(acme_ident_parse(o2, &id2, &pt, why, sizeof(why)) == 0);
	FZ_CHECK(id2.type == id.type && strcmp(id2.value, id.value) == 0);
	FZ_CHECK(id2.wildcard == id.wildcard && id2.ip_len == id.ip_len);
	FZ_CHECK(memcmp(id2.ip, id.ip, sizeof(id.ip)) == 0);
	json_object_put(o2);
	policy(&id, name_pat, ip_range);
}

static void
ident_value(const char *type, const char *value, size_t len, char *name_pat, char *ip_range)
{
	struct json_object *o;

	if (memchr(value, '\0', len) != NULL)
		return;   /* a JSON string never holds one (core/json.c) */
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "value", json_object_new_string_len(value, (int)len));
	ident(o, name_pat, ip_range);
	json_object_put(o);
}

static void
contacts(const char *text, size_t len)
{
	static char *schemes[] = { "mailto", "tel" };
	struct acme_problem p;
	struct json_object *o = NULL;
	const char *why;
	char **list = NULL;
	size_t n = 0, i;

	if (acme_json_parse(text, len, &o, &why) != ACME_OK)
		return;
	memset(&p, 0, sizeof(p));
	if (acme_contacts_parse(o, schemes, 2, &list, &n, &p) == 0) {
		FZ_CHECK(n <= 10 && (n == 0 || list != NULL));
		for (i = 0; i < n; i++) {
			FZ_CHECK(list[i] != NULL && strlen(list[i]) <= 320);
			free(list[i]);
		}
		free(list);
	} else {
		FZ_CHECK(list == NULL && n == 0 && p.type != PROB_NONE);
	}
	acme_problem_clear(&p);
	json_object_put(o);
}

static void
rfc3339(const char *s, size_t len)
{
	char out[32];
	int64_t t = 0, t2 = 0;

	if (memchr(s, '\0', len) != NULL || acme_parse_rfc3339(s, &t) < 0)
		return;
	if (t < 0)
		return;   /* before 1970 after an offset: never written back */
	acme_rfc3339(t, out);
	FZ_CHECK(acme_parse_rfc3339(out, &t2) == 0 && t2 == t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct json_object *o = NULL;
	const char *why;
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	uint8_t mode = fz_byte(&in);

	switch (mode % 7) {
	case 0:
		a = fz_rest(&in, &alen);
		if (acme_json_parse(a, alen, &o, &why) == ACME_OK) {
			ident(o, NULL, NULL);
			json_object_put(o);
		}
		break;
	case 1:
	case 2:
		a = fz_rest(&in, &alen);
		ident_value(mode % 7 == 1 ? "dns" : "ip", a, alen, NULL, NULL);
		break;
	case 3:
		a = fz_field(&in, '\n', &alen);
		b = fz_rest(&in, &blen);
		if (memchr(a, '\0', alen) != NULL || acme_policy_name_pattern_ok(a) != NULL)
			break;
		ident_value("dns", b, blen, a, NULL);
		break;
	case 4:
		a = fz_field(&in, '\n', &alen);
		b = fz_rest(&in, &blen);
		if (memchr(a, '\0', alen) != NULL || acme_policy_ip_range_ok(a) != NULL)
			break;
		ident_value("ip", b, blen, NULL, a);
		break;
	case 5:
		a = fz_rest(&in, &alen);
		contacts(a, alen);
		break;
	default:
		a = fz_rest(&in, &alen);
		rfc3339(a, alen);
		break;
	}
	free(a);
	free(b);
	return 0;
}
