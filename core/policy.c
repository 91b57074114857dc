/* Identifier policy: which names and addresses a directory issues for. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipaddr.h"
#include "core/policy.h"
#include "store/store.h"

static int
label_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 63 && s[0] != '-' && s[n - 1] != '-' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

const char *
acme_policy_name_pattern_ok(const char *pattern)
{
	const char *base = pattern;

	if (pattern[0] == '.')
		base = pattern + 1;
	else if (strncmp(pattern, "*.", 2) == 0)
		base = pattern + 2;
	/* A single label (".internal") is allowed as a base: a directory may
	 * serve a whole private top-level domain. */
	if (strchr(base, '.') == NULL ? label_ok(base) : acme_ident_check_dns(base) == NULL)
		return NULL;
	return "not a name pattern (name, .suffix or *.name)";
}

int
acme_policy_name_match(const char *pattern, const char *name)
{
	size_t plen = strlen(pattern), nlen = strlen(name);
	const char *dot;

	if (pattern[0] == '.')
		return nlen > plen && strcmp(name + nlen - plen, pattern) == 0;
	if (strncmp(pattern, "*.", 2) == 0) {
		if (strcmp(name, pattern) == 0)
			return 1;
		/* One label, then the rest of the pattern. */
		return (dot = strchr(name, '.')) != NULL && dot != name &&
		    strcmp(dot, pattern + 1) == 0 && name[0] != '*';
	}
	return strcmp(pattern, name) == 0;
}

struct cidr {
	struct acme_ip ip;
	int bits;
};

static int
parse_cidr(const char *s, struct cidr *out)
{
	char buf[64], *slash, *end;
	long bits;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (acme_ip_parse(buf, &out->ip) < 0)
		return -1;
	out->bits = out->ip.family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || slash[1] == '\0' || bits < 0 || bits > out->bits)
			return -1;
		out->bits = (int)bits;
	}
	return 0;
}

const char *
acme_policy_ip_range_ok(const char *range)
{
	struct cidr c;

	return parse_cidr(range, &c) == 0 ? NULL : "not an IP address or CIDR range";
}

static int
cidr_has(const struct cidr *c, const struct acme_ident *id)
{
	int i, full = c->bits / 8, rest = c->bits % 8;

	if ((c->ip.family == AF_INET ? 4 : 16) != id->ip_len)
		return 0;
	for (i = 0; i < full; i++)
		if (c->ip.b[i] != id->ip[i])
			return 0;
	if (rest && ((c->ip.b[full] ^ id->ip[full]) & (0xff << (8 - rest)) & 0xff))
		return 0;
	return 1;
}

static int
ip_in_list(char *const *list, size_t n, const struct acme_ident *id, const char **hit)
{
	struct cidr c;
	size_t i;

	for (i = 0; i < n; i++)
		if (parse_cidr(list[i], &c) == 0 && cidr_has(&c, id)) {
			*hit = list[i];
			return 1;
		}
	return 0;
}

static int
name_in_list(char *const *list, size_t n, const char *name, const char **hit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (acme_policy_name_match(list[i], name)) {
			*hit = list[i];
			return 1;
		}
	return 0;
}

int
acme_policy_check(const struct acme_dir_config *d, const struct acme_ident *id, char *why,
    size_t whylen)
{
	const char *hit = NULL;

	if (id->type == STORE_IDENT_IP) {
		if (ip_in_list(d->ips_deny, d->nips_deny, id, &hit))
			return snprintf(why, whylen, "%s: denied by ips_deny %s", id->value, hit), -1;
		if (d->nips_allow > 0 && !ip_in_list(d->ips_allow, d->nips_allow, id, &hit))
			return snprintf(why, whylen, "%s: not in this directory's ips_allow", id->value), -1;
		return 0;
	}
	if (name_in_list(d->names_deny, d->nnames_deny, id->value, &hit))
		return snprintf(why, whylen, "%s: denied by names_deny %s", id->value, hit), -1;
	if (d->nnames_allow > 0 && !name_in_list(d->names_allow, d->nnames_allow, id->value, &hit))
		return snprintf(why, whylen, "%s: not in this directory's names_allow", id->value), -1;
	return 0;
}
