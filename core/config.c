/*
 * The configuration file: "key = value" lines, '#' comments, global settings
 * first, then "[directory NAME]" sections. Each key is described once in a
 * table (name, type, where it goes), so parsing, defaults and the reference
 * in docs/configuration.md stay in step.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/ratelimit.h"
#include "store/store.h"

#define CONFIG_MAX_SIZE (1024 * 1024)
#define CONFIG_MAX_DIRS 64
#define CONFIG_MAX_PROFILES 64

enum cfg_type {
	CT_STR,        /* char * */
	CT_PATH,       /* char *, relative to state_dir */
	CT_URL,        /* char *, http(s) URL */
	CT_INT,        /* int, range in lo..hi */
	CT_SIZE,       /* size_t, range in lo..hi */
	CT_BOOL,       /* int */
	CT_DURATION,   /* int64_t seconds */
	CT_LIST,       /* char **, with a size_t count right before it (see cfg_key.count_off) */
	CT_KEYPOL,     /* struct acme_keypol */
	CT_CHALLENGES, /* unsigned bit set */
	CT_LOGLEVEL,   /* int syslog priority */
	CT_KU,         /* unsigned enum acme_profile_ku bits */
	CT_EKU,        /* unsigned enum acme_profile_eku bits */
	CT_IDTYPES,    /* unsigned bits of 1 << STORE_IDENT_* */
	CT_REASONS,    /* unsigned bits of 1 << RFC 5280 reason code */
	CT_PATHLIST,   /* like CT_LIST, each made absolute against state_dir */
	CT_NAMELIST,   /* like CT_LIST, each a name pattern (core/policy.h) */
	CT_IPLIST,     /* like CT_LIST, each an IP range */
	CT_RATE,       /* struct acme_rl_spec: "N/PERIOD" or "off" */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;
	size_t count_off;   /* CT_LIST: offset of the size_t count */
	long long lo, hi;   /* CT_INT / CT_SIZE / CT_DURATION bounds */
};

#define G(f) offsetof(struct acme_config, f)
#define D(f) offsetof(struct acme_dir_config, f)

static const struct cfg_key global_keys[] = {
	{ "state_dir", CT_STR, G(state_dir), 0, 0, 0 },
	{ "base_url", CT_URL, G(base_url), 0, 0, 0 },
	{ "log", CT_STR, G(log), 0, 0, 0 },
	{ "log_level", CT_LOGLEVEL, G(log_level), 0, 0, 0 },
	{ "audit_log", CT_STR, G(audit_log), 0, 0, 0 },
	{ "audit_sync", CT_BOOL, G(audit_sync), 0, 0, 0 },
	{ "workers", CT_INT, G(workers), 0, 1, 256 },
	{ "orders_per_page", CT_INT, G(orders_per_page), 0, 1, 1000 },
	{ "max_body", CT_SIZE, G(max_body), 0, 1024, 1024 * 1024 },
	{ "resolver", CT_STR, G(resolver), 0, 0, 0 },
	{ "dnssec_trust_anchor", CT_PATH, G(dnssec_trust_anchor), 0, 0, 0 },
	{ "public_suffix_list", CT_STR, G(public_suffix_list), 0, 0, 0 },
	{ "http01_port", CT_INT, G(http01_port), 0, 1, 65535 },
	{ "tlsalpn01_port", CT_INT, G(tlsalpn01_port), 0, 1, 65535 },
	{ "retry_base", CT_DURATION, G(retry_base), 0, 1, 86400 },
	{ "retry_cap", CT_DURATION, G(retry_cap), 0, 1, 7 * 86400 },
	{ "lease", CT_DURATION, G(lease), 0, 5, 3600 },
	{ "validator_inflight", CT_INT, G(validator_inflight), 0, 1, 10000 },
	{ "validation_connect_timeout", CT_DURATION, G(validation_connect_timeout), 0, 1, 300 },
	{ "validation_timeout", CT_DURATION, G(validation_timeout), 0, 1, 600 },
	/* Self-service TLS: the pseudo-directory's upstream settings, and its own. */
	{ "tls_acme_url", CT_URL, G(tls.acct.upstream_url), 0, 0, 0 },
	{ "tls_names", CT_LIST, G(tls.names), G(tls.nnames), 0, 0 },
	{ "tls_ca_file", CT_PATH, G(tls.acct.upstream_ca_file), 0, 0, 0 },
	{ "tls_contact", CT_STR, G(tls.acct.upstream_contact), 0, 0, 0 },
	{ "tls_eab_kid", CT_STR, G(tls.acct.upstream_eab_kid), 0, 0, 0 },
	{ "tls_eab_hmac_file", CT_PATH, G(tls.acct.upstream_eab_hmac_file), 0, 0, 0 },
	{ "tls_account_key_type", CT_STR, G(tls.acct.upstream_key_type), 0, 0, 0 },
	{ "tls_passphrase_file", CT_PATH, G(tls.acct.upstream_passphrase_file), 0, 0, 0 },
	{ "tls_dns_hook", CT_PATH, G(tls.acct.upstream_dns_hook), 0, 0, 0 },
	{ "tls_dns_wait", CT_DURATION, G(tls.acct.upstream_dns_wait), 0, 0, 3600 },
	{ "tls_timeout", CT_DURATION, G(tls.acct.upstream_timeout), 0, 1, 600 },
	{ "tls_retry_base", CT_DURATION, G(tls.acct.upstream_retry_base), 0, 1, 3600 },
	{ "tls_retry_cap", CT_DURATION, G(tls.acct.upstream_retry_cap), 0, 1, 86400 },
	{ "tls_key_type", CT_STR, G(tls.key_type), 0, 0, 0 },
	{ "tls_reload_command", CT_STR, G(tls.reload_command), 0, 0, 0 },
	{ "tls_cert_file", CT_PATH, G(tls.cert_file), 0, 0, 0 },
	{ "tls_key_file", CT_PATH, G(tls.key_file), 0, 0, 0 },
	{ "tls_renew_fraction", CT_STR, G(tls.renew_fraction), 0, 0, 0 },
	{ NULL, 0, 0, 0, 0, 0 }
};

static const struct cfg_key dir_keys[] = {
	{ "ca_cert", CT_PATH, D(ca_cert), 0, 0, 0 },
	{ "ca_key", CT_PATH, D(ca_key), 0, 0, 0 },
	{ "pkcs11_module", CT_STR, D(pkcs11_module), 0, 0, 0 },
	{ "pkcs11_pin_file", CT_PATH, D(pkcs11_pin_file), 0, 0, 0 },
	{ "ca_chain", CT_PATH, D(ca_chain), 0, 0, 0 },
	{ "ca_root", CT_PATH, D(ca_root), 0, 0, 0 },
	{ "terms_of_service", CT_URL, D(terms_of_service), 0, 0, 0 },
	{ "tos_required", CT_BOOL, D(tos_required), 0, 0, 0 },
	{ "website", CT_URL, D(website), 0, 0, 0 },
	{ "contact_schemes", CT_LIST, D(contact_scheme), D(ncontact_scheme), 0, 0 },
	{ "caa_identities", CT_LIST, D(caa_identity), D(ncaa_identity), 0, 0 },
	{ "caa_check", CT_BOOL, D(caa_check), 0, 0, 0 },
	{ "caa_max_age", CT_DURATION, D(caa_max_age), 0, 60, 7LL * 86400 },
	{ "external_account_required", CT_BOOL, D(eab_required), 0, 0, 0 },
	{ "cert_lifetime", CT_DURATION, D(cert_lifetime), 0, 60, 3650LL * 86400 },
	{ "cert_lifetime_max", CT_DURATION, D(cert_lifetime_max), 0, 60, 3650LL * 86400 },
	{ "order_lifetime", CT_DURATION, D(order_lifetime), 0, 10, 30LL * 86400 },
	{ "authz_lifetime", CT_DURATION, D(authz_lifetime), 0, 10, 30LL * 86400 },
	{ "authz_reuse", CT_DURATION, D(authz_reuse), 0, 0, 397LL * 86400 },
	{ "allow_private", CT_BOOL, D(allow_private), 0, 0, 0 },
	{ "names_allow", CT_NAMELIST, D(names_allow), D(nnames_allow), 0, 0 },
	{ "names_deny", CT_NAMELIST, D(names_deny), D(nnames_deny), 0, 0 },
	{ "ips_allow", CT_IPLIST, D(ips_allow), D(nips_allow), 0, 0 },
	{ "ips_deny", CT_IPLIST, D(ips_deny), D(nips_deny), 0, 0 },
	{ "allow_ip", CT_BOOL, D(allow_ip), 0, 0, 0 },
	{ "allow_wildcard", CT_BOOL, D(allow_wildcard), 0, 0, 0 },
	{ "max_identifiers", CT_SIZE, D(max_identifiers), 0, 1, 1000 },
	{ "challenges", CT_CHALLENGES, D(challenges), 0, 0, 0 },
	{ "account_keys", CT_KEYPOL, D(account_keys), 0, 0, 0 },
	{ "cert_keys", CT_KEYPOL, D(cert_keys), 0, 0, 0 },
	{ "revocation_reasons", CT_REASONS, D(revocation_reasons), 0, 0, 0 },
	{ "rate_orders_per_account", CT_RATE, D(rate[ACME_RL_ORDERS_PER_ACCOUNT]), 0, 0, 0 },
	{ "rate_accounts_per_ip", CT_RATE, D(rate[ACME_RL_ACCOUNTS_PER_IP]), 0, 0, 0 },
	{ "rate_certs_per_domain", CT_RATE, D(rate[ACME_RL_CERTS_PER_DOMAIN]), 0, 0, 0 },
	{ "rate_failed_validations", CT_RATE, D(rate[ACME_RL_FAILED_VALIDATIONS]), 0, 0, 0 },
	{ "rate_limit_doc", CT_URL, D(rate_limit_doc), 0, 0, 0 },
	{ "crl_lifetime", CT_DURATION, D(crl_lifetime), 0, 3600, 366LL * 86400 },
	{ "crl_refresh", CT_DURATION, D(crl_refresh), 0, 60, 366LL * 86400 },
	{ "ca_alt_chains", CT_PATHLIST, D(alt_chain), D(nalt_chain), 0, 0 },
	{ "crl_url", CT_URL, D(crl_url), 0, 0, 0 },
	{ "aia_url", CT_URL, D(aia_url), 0, 0, 0 },
	{ "profiles", CT_LIST, D(profile_name), D(nprofile_name), 0, 0 },
	{ "default_profile", CT_STR, D(default_profile_name), 0, 0, 0 },
	{ "mode", CT_STR, D(mode), 0, 0, 0 },
	{ "upstream_url", CT_URL, D(upstream_url), 0, 0, 0 },
	{ "upstream_contact", CT_STR, D(upstream_contact), 0, 0, 0 },
	{ "upstream_eab_kid", CT_STR, D(upstream_eab_kid), 0, 0, 0 },
	{ "upstream_eab_hmac_file", CT_PATH, D(upstream_eab_hmac_file), 0, 0, 0 },
	{ "upstream_key_type", CT_STR, D(upstream_key_type), 0, 0, 0 },
	{ "upstream_ca_file", CT_PATH, D(upstream_ca_file), 0, 0, 0 },
	{ "upstream_timeout", CT_DURATION, D(upstream_timeout), 0, 1, 600 },
	{ "upstream_passphrase_file", CT_PATH, D(upstream_passphrase_file), 0, 0, 0 },
	{ "upstream_dns_hook", CT_PATH, D(upstream_dns_hook), 0, 0, 0 },
	{ "upstream_dns_update", CT_STR, D(upstream_dns_update), 0, 0, 0 },
	{ "upstream_dns_zone", CT_STR, D(upstream_dns_zone), 0, 0, 0 },
	{ "upstream_tsig_name", CT_STR, D(upstream_tsig_name), 0, 0, 0 },
	{ "upstream_tsig_key_file", CT_PATH, D(upstream_tsig_key_file), 0, 0, 0 },
	{ "upstream_dns_wait", CT_DURATION, D(upstream_dns_wait), 0, 0, 3600 },
	{ "upstream_retry_base", CT_DURATION, D(upstream_retry_base), 0, 1, 3600 },
	{ "upstream_retry_cap", CT_DURATION, D(upstream_retry_cap), 0, 1, 86400 },
	{ "upstream_deadline", CT_DURATION, D(upstream_deadline), 0, 60, 30LL * 86400 },
	{ "upstream_forward_validity", CT_BOOL, D(upstream_forward_validity), 0, 0, 0 },
	{ NULL, 0, 0, 0, 0, 0 }
};

#define P(f) offsetof(struct acme_profile, f)

static const struct cfg_key profile_keys[] = {
	{ "description", CT_STR, P(description), 0, 0, 0 },
	{ "lifetime", CT_DURATION, P(lifetime), 0, 60, 3650LL * 86400 },
	{ "key_usage", CT_KU, P(key_usage), 0, 0, 0 },
	{ "ext_key_usage", CT_EKU, P(ext_key_usage), 0, 0, 0 },
	{ "identifiers", CT_IDTYPES, P(identifiers), 0, 0, 0 },
	{ NULL, 0, 0, 0, 0, 0 }
};

int64_t
acme_parse_duration(const char *s)
{
	char *end;
	long long v;
	int64_t mul;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0 || v > 100000000LL)
		return -1;
	switch (*end) {
	case '\0':
		if (v != 0)
			return -1;      /* a bare number is only allowed for 0 */
		mul = 1;
		break;
	case 's': mul = 1; end++; break;
	case 'm': mul = 60; end++; break;
	case 'h': mul = 3600; end++; break;
	case 'd': mul = 86400; end++; break;
	default: return -1;
	}
	if (*end != '\0')
		return -1;
	return (int64_t)v * mul;
}

static int
parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

struct word_bit {
	const char *word;
	unsigned bit;
};

/* A blank- or comma-separated set of known words into bits; -1 on an
 * unknown word or an empty set. */
static int
parse_words(const char *v, const struct word_bit *words, size_t nwords, unsigned *out)
{
	char buf[256], *tok, *save = NULL;
	unsigned bits = 0;
	size_t i;

	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		for (i = 0; i < nwords; i++)
			if (strcmp(tok, words[i].word) == 0)
				break;
		if (i == nwords)
			return -1;
		bits |= words[i].bit;
	}
	if (bits == 0)
		return -1;
	*out = bits;
	return 0;
}

static const struct word_bit challenge_words[] = {
	{ "http-01", 1u << STORE_CH_HTTP01 },
	{ "dns-01", 1u << STORE_CH_DNS01 },
	{ "tls-alpn-01", 1u << STORE_CH_TLSALPN01 },
};
static const struct word_bit ku_words[] = {
	{ "digitalSignature", PROFILE_KU_DIGITAL_SIGNATURE },
	{ "keyEncipherment", PROFILE_KU_KEY_ENCIPHERMENT },
};
static const struct word_bit eku_words[] = {
	{ "serverAuth", PROFILE_EKU_SERVER_AUTH },
	{ "clientAuth", PROFILE_EKU_CLIENT_AUTH },
};
static const struct word_bit idtype_words[] = {
	{ "dns", 1u << STORE_IDENT_DNS },
	{ "ip", 1u << STORE_IDENT_IP },
};

#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 5280 reason codes, "0 1 4 5"; 7 is unused and never accepted. */
static int
parse_reasons(const char *v, unsigned *out)
{
	char buf[128], *tok, *save = NULL, *end;
	unsigned bits = 0;
	long r;

	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		r = strtol(tok, &end, 10);
		if (*end != '\0' || r < 0 || r > 10 || r == 7)
			return -1;
		bits |= 1u << r;
	}
	*out = bits;
	return 0;
}

static int
parse_loglevel(const char *v, int *out)
{
	static const struct { const char *n; int p; } lv[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++)
		if (!strcmp(v, lv[i].n)) {
			*out = lv[i].p;
			return 0;
		}
	return -1;
}

static int
valid_url(const char *v)
{
	size_t i;

	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
		return 0;
	for (i = 0; v[i]; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f || v[i] == '"')
			return 0;
	return 1;
}

static int
split_list(const char *v, char ***list, size_t *n)
{
	char *buf, *tok, *save = NULL, **out = NULL, **tmp;
	size_t cnt = 0;
	int rc = -1;

	if ((buf = strdup(v)) == NULL)
		return -1;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		if ((tmp = realloc(out, (cnt + 1) * sizeof(*out))) == NULL)
			goto out;
		out = tmp;
		if ((out[cnt] = strdup(tok)) == NULL)
			goto out;
		cnt++;
	}
	*list = out;
	*n = cnt;
	out = NULL;
	cnt = 0;
	rc = 0;
out:
	while (cnt > 0)
		free(out[--cnt]);
	free(out);
	free(buf);
	return rc;
}

static void
free_list(char **list, size_t n)
{
	while (n > 0)
		free(list[--n]);
	free(list);
}

/* Store value for key k into the struct at base. *why gets a reason on error. */
static int
set_key(const struct cfg_key *k, void *base, const char *v, const char **why)
{
	char *p = (char *)base + k->off;
	char *end;
	long long n;
	int64_t d;

	switch (k->type) {
	case CT_STR:
	case CT_PATH:
	case CT_URL:
		if (k->type == CT_URL && !valid_url(v)) {
			*why = "not an http(s) URL";
			return -1;
		}
		free(*(char **)p);
		if ((*(char **)p = strdup(v)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		return 0;
	case CT_INT:
	case CT_SIZE:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno != 0 || *v == '\0' || *end != '\0' || n < k->lo || n > k->hi) {
			*why = "not a number in range";
			return -1;
		}
		if (k->type == CT_INT)
			*(int *)p = (int)n;
		else
			*(size_t *)p = (size_t)n;
		return 0;
	case CT_BOOL:
		if (parse_bool(v, (int *)p) < 0) {
			*why = "not yes/no";
			return -1;
		}
		return 0;
	case CT_DURATION:
		d = acme_parse_duration(v);
		if (d < 0 || d < k->lo || d > k->hi) {
			*why = "not a duration in range (e.g. 90d, 24h, 30m, 15s)";
			return -1;
		}
		*(int64_t *)p = d;
		return 0;
	case CT_RATE:
		if (acme_rl_parse(v, (struct acme_rl_spec *)p) < 0) {
			*why = "expected N/PERIOD (e.g. 300/3h) or off";
			return -1;
		}
		return 0;
	case CT_REASONS:
		if (parse_reasons(v, (unsigned *)p) < 0) {
			*why = "expected reason codes 0-10 except 7";
			return -1;
		}
		return 0;
	case CT_LIST:
	case CT_PATHLIST:
	case CT_NAMELIST:
	case CT_IPLIST:
		free_list(*(char ***)p, *(size_t *)((char *)base + k->count_off));
		*(char ***)p = NULL;
		*(size_t *)((char *)base + k->count_off) = 0;
		if (split_list(v, (char ***)p, (size_t *)((char *)base + k->count_off)) < 0) {
			*why = "out of memory";
			return -1;
		}
		for (size_t i = 0; i < *(size_t *)((char *)base + k->count_off); i++) {
			const char *item = (*(char ***)p)[i];
			if (k->type == CT_NAMELIST && (*why = acme_policy_name_pattern_ok(item)) != NULL)
				return -1;
			if (k->type == CT_IPLIST && (*why = acme_policy_ip_range_ok(item)) != NULL)
				return -1;
		}
		return 0;
	case CT_KEYPOL:
		if (keypol_parse(v, (struct acme_keypol *)p, why) != ACME_OK)
			return -1;
		return 0;
	case CT_CHALLENGES:
		if (parse_words(v, challenge_words, NWORDS(challenge_words), (unsigned *)p) < 0) {
			*why = "expected http-01, dns-01, tls-alpn-01";
			return -1;
		}
		return 0;
	case CT_KU:
		if (parse_words(v, ku_words, NWORDS(ku_words), (unsigned *)p) < 0) {
			*why = "expected digitalSignature, keyEncipherment";
			return -1;
		}
		return 0;
	case CT_EKU:
		if (parse_words(v, eku_words, NWORDS(eku_words), (unsigned *)p) < 0) {
			*why = "expected serverAuth, clientAuth";
			return -1;
		}
		return 0;
	case CT_IDTYPES:
		if (parse_words(v, idtype_words, NWORDS(idtype_words), (unsigned *)p) < 0) {
			*why = "expected dns, ip";
			return -1;
		}
		return 0;
	case CT_LOGLEVEL:
		if (parse_loglevel(v, (int *)p) < 0) {
			*why = "expected error, warning, notice, info or debug";
			return -1;
		}
		return 0;
	}
	*why = "internal: unknown type";
	return -1;
}

static void
free_keys(const struct cfg_key *keys, void *base)
{
	const struct cfg_key *k;
	char *p;

	for (k = keys; k->name; k++) {
		p = (char *)base + k->off;
		if (k->type == CT_STR || k->type == CT_PATH || k->type == CT_URL) {
			free(*(char **)p);
			*(char **)p = NULL;
		} else if (k->type == CT_LIST || k->type == CT_PATHLIST || k->type == CT_NAMELIST ||
		    k->type == CT_IPLIST) {
			free_list(*(char ***)p, *(size_t *)((char *)base + k->count_off));
			*(char ***)p = NULL;
		}
	}
}

static void
dir_defaults(struct acme_dir_config *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%.32s", name);
	d->cert_lifetime = 24 * 3600;
	d->cert_lifetime_max = 90LL * 86400;
	d->order_lifetime = 24 * 3600;
	d->authz_lifetime = 3600;
	d->authz_reuse = 30LL * 86400;
	d->allow_private = 0;
	d->allow_ip = 1;
	d->allow_wildcard = 1;
	d->max_identifiers = 100;
	/* Boulder's subscriber reasons plus affiliationChanged (documented). */
	d->revocation_reasons = (1u << 0) | (1u << 1) | (1u << 3) | (1u << 4) | (1u << 5);
	d->crl_lifetime = 7LL * 86400;
	d->caa_max_age = 8 * 3600;      /* the Baseline Requirements' 8 hours */
	d->crl_refresh = 3600;
	d->challenges = (1u << STORE_CH_HTTP01) | (1u << STORE_CH_DNS01) | (1u << STORE_CH_TLSALPN01);
	keypol_default_account(&d->account_keys);
	keypol_default_cert(&d->cert_keys);
	d->upstream_timeout = 30;
	d->upstream_retry_base = 5;
	d->upstream_retry_cap = 600;
	d->upstream_deadline = 86400;
}

/* Key types of upstream accounts and of the server's own TLS key. */
static const char *const key_types[] = { "p256", "p384", "rsa2048", "rsa3072", "rsa4096" };

static int
key_type_ok(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strcmp(t, key_types[i]) == 0)
			return 1;
	return 0;
}

/* The checks of an RA directory's upstream settings; 0 or -1 (logged). */
static int
check_upstream(const struct acme_config *c, struct acme_dir_config *d)
{
	int bad = 0;

	if (d->mode != NULL && strcmp(d->mode, "ca") != 0 && strcmp(d->mode, "ra") != 0) {
		log_err("config: %s: directory %s: mode must be ca or ra", c->path, d->name);
		return -1;
	}
	d->ra = d->mode != NULL && strcmp(d->mode, "ra") == 0;
	if (!d->ra) {
		if (d->ca_cert == NULL || d->ca_key == NULL) {
			log_err("config: %s: directory %s needs ca_cert and ca_key", c->path, d->name);
			bad = 1;
		}
		return bad ? -1 : 0;
	}
	if (d->upstream_url == NULL) {
		log_err("config: %s: directory %s: mode ra needs upstream_url", c->path, d->name);
		bad = 1;
	}
	if (d->upstream_passphrase_file == NULL) {
		log_err("config: %s: directory %s: mode ra needs upstream_passphrase_file (the "
		    "upstream account key is kept encrypted)", c->path, d->name);
		bad = 1;
	}
	if ((d->upstream_eab_kid == NULL) != (d->upstream_eab_hmac_file == NULL)) {
		log_err("config: %s: directory %s: upstream_eab_kid and upstream_eab_hmac_file go "
		    "together", c->path, d->name);
		bad = 1;
	}
	if (d->upstream_key_type == NULL && (d->upstream_key_type = strdup("p256")) == NULL)
		return -1;
	if (!key_type_ok(d->upstream_key_type)) {
		log_err("config: %s: directory %s: upstream_key_type must be p256, p384, rsa2048, "
		    "rsa3072 or rsa4096", c->path, d->name);
		bad = 1;
	}
	if (d->upstream_dns_hook != NULL && d->upstream_dns_update != NULL) {
		log_err("config: %s: directory %s: upstream_dns_hook and upstream_dns_update "
		    "exclude each other", c->path, d->name);
		bad = 1;
	}
	if (d->upstream_dns_update != NULL && (d->upstream_dns_zone == NULL ||
	    d->upstream_tsig_name == NULL || d->upstream_tsig_key_file == NULL)) {
		log_err("config: %s: directory %s: upstream_dns_update needs upstream_dns_zone, "
		    "upstream_tsig_name and upstream_tsig_key_file", c->path, d->name);
		bad = 1;
	}
	if (d->upstream_retry_base > d->upstream_retry_cap) {
		log_err("config: %s: directory %s: upstream_retry_base is above upstream_retry_cap",
		    c->path, d->name);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* "2/3", "0.75" or "80%" into permille of a lifetime (1..999); -1 if not. */
static int
parse_fraction(const char *v, unsigned *out)
{
	char *end;
	double f;
	long n, m;

	errno = 0;
	if (strchr(v, '/') != NULL) {
		n = strtol(v, &end, 10);
		if (end == v || *end != '/' || errno != 0)
			return -1;
		m = strtol(end + 1, &end, 10);
		if (*end != '\0' || errno != 0 || n <= 0 || m <= 0 || n >= m)
			return -1;
		f = (double)n / (double)m;
	} else {
		f = strtod(v, &end);
		if (end == v || errno != 0)
			return -1;
		if (*end == '%') {
			f /= 100;
			end++;
		}
		if (*end != '\0')
			return -1;
	}
	if (!(f > 0 && f < 1))
		return -1;
	*out = (unsigned)(f * 1000 + 0.5);
	if (*out < 1)
		*out = 1;
	if (*out > 999)
		*out = 999;
	return 0;
}

/* The host of base_url ("https://host[:port]", "https://[v6]:port"); caller frees. */
static char *
url_host(const char *url)
{
	const char *h = strstr(url, "://"), *e;

	if (h == NULL)
		return NULL;
	h += 3;
	if (*h == '[')
		return (e = strchr(h, ']')) != NULL ? strndup(h + 1, (size_t)(e - h - 1)) : NULL;
	e = h + strcspn(h, ":/");
	return strndup(h, (size_t)(e - h));
}

static int
looks_like_ip(const char *s)
{
	return strchr(s, ':') != NULL || strspn(s, "0123456789.") == strlen(s);
}

static int resolve_path(const struct acme_config *c, char **path);

/* Self-service TLS: defaults, paths and checks; 0 or -1 (logged). */
static int
check_tls(struct acme_config *c)
{
	struct acme_tls_config *tc = &c->tls;
	struct acme_dir_config *d = &tc->acct;
	const char *first;
	size_t i;
	int bad = 0;

	tc->enabled = d->upstream_url != NULL;
	if (!tc->enabled) {
		if (tc->nnames > 0 || d->upstream_ca_file || d->upstream_contact ||
		    d->upstream_eab_kid || d->upstream_eab_hmac_file || d->upstream_key_type ||
		    d->upstream_passphrase_file || d->upstream_dns_hook || tc->key_type ||
		    tc->reload_command || tc->cert_file || tc->key_file || tc->renew_fraction) {
			log_err("config: %s: the tls_* settings need tls_acme_url", c->path);
			return -1;
		}
		return 0;
	}
	d->ra = 1;
	if ((tc->cert_file == NULL && (tc->cert_file = strdup("tls/server.pem")) == NULL) ||
	    (tc->key_file == NULL && (tc->key_file = strdup("tls/server.key")) == NULL) ||
	    (tc->key_type == NULL && (tc->key_type = strdup("p256")) == NULL) ||
	    (d->upstream_key_type == NULL && (d->upstream_key_type = strdup("p256")) == NULL) ||
	    (tc->renew_fraction == NULL && (tc->renew_fraction = strdup("2/3")) == NULL))
		return -1;
	if (resolve_path(c, &tc->cert_file) < 0 || resolve_path(c, &tc->key_file) < 0 ||
	    resolve_path(c, &d->upstream_ca_file) < 0 ||
	    resolve_path(c, &d->upstream_passphrase_file) < 0 ||
	    resolve_path(c, &d->upstream_dns_hook) < 0 ||
	    resolve_path(c, &d->upstream_eab_hmac_file) < 0)
		return -1;
	if (tc->nnames == 0) {
		if ((tc->names = calloc(1, sizeof(*tc->names))) == NULL ||
		    c->base_url == NULL || (tc->names[0] = url_host(c->base_url)) == NULL)
			return -1;
		tc->nnames = 1;
	}
	for (i = 0; i < tc->nnames; i++) {
		/* As the CA writes them into the certificate. */
		for (char *ch = tc->names[i]; *ch != '\0'; ch++)
			*ch = (char)tolower((unsigned char)*ch);
		if (strspn(tc->names[i], "abcdefghijklmnopqrstuvwxyz0123456789.-*") !=
		    strlen(tc->names[i]) || strlen(tc->names[i]) > 253) {
			log_err("config: %s: tls_names: %s is not a DNS name", c->path, tc->names[i]);
			bad = 1;
		}
	}
	for (i = 0; i < tc->nnames; i++)
		if (looks_like_ip(tc->names[i]) || tc->names[i][0] == '\0') {
			log_err("config: %s: tls_names: %s is not a DNS name (the certificate is "
			    "obtained with dns-01, which cannot validate IP addresses)", c->path,
			    tc->names[i]);
			bad = 1;
		}
	if (d->upstream_passphrase_file == NULL) {
		log_err("config: %s: tls_acme_url needs tls_passphrase_file (the account key is kept "
		    "encrypted)", c->path);
		bad = 1;
	}
	if (d->upstream_dns_hook == NULL) {
		log_err("config: %s: tls_acme_url needs tls_dns_hook (the certificate is obtained "
		    "with dns-01)", c->path);
		bad = 1;
	}
	if ((d->upstream_eab_kid == NULL) != (d->upstream_eab_hmac_file == NULL)) {
		log_err("config: %s: tls_eab_kid and tls_eab_hmac_file go together", c->path);
		bad = 1;
	}
	if (!key_type_ok(tc->key_type) || !key_type_ok(d->upstream_key_type)) {
		log_err("config: %s: tls_key_type and tls_account_key_type must be p256, p384, "
		    "rsa2048, rsa3072 or rsa4096", c->path);
		bad = 1;
	}
	if (parse_fraction(tc->renew_fraction, &tc->renew_permille) < 0) {
		log_err("config: %s: tls_renew_fraction must be a fraction of the lifetime between "
		    "0 and 1 (2/3, 0.75, 80%%)", c->path);
		bad = 1;
	}
	if (tc->reload_command != NULL) {
		first = tc->reload_command + strspn(tc->reload_command, " \t");
		if (first[0] != '/') {
			log_err("config: %s: tls_reload_command must start with an absolute path (it "
			    "is run without a shell or a PATH search)", c->path);
			bad = 1;
		}
	}
	if (d->upstream_retry_base > d->upstream_retry_cap) {
		log_err("config: %s: tls_retry_base is above tls_retry_cap", c->path);
		bad = 1;
	}
	return bad ? -1 : 0;
}

static void
profile_defaults(struct acme_profile *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%.32s", name);
	p->lifetime = 90LL * 86400;
	p->key_usage = PROFILE_KU_DIGITAL_SIGNATURE | PROFILE_KU_KEY_ENCIPHERMENT;
	p->ext_key_usage = PROFILE_EKU_SERVER_AUTH;
	p->identifiers = (1u << STORE_IDENT_DNS) | (1u << STORE_IDENT_IP);
}

static struct acme_profile *
find_profile(struct acme_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

/* Resolve a directory's profile names, and fill its implicit profile. */
static int
dir_profiles(struct acme_config *c, struct acme_dir_config *d)
{
	const struct acme_profile *p;
	size_t i;
	int bad = 0;

	profile_defaults(&d->implicit, "");
	d->implicit.lifetime = d->cert_lifetime;
	d->implicit.identifiers = (1u << STORE_IDENT_DNS) | (d->allow_ip ? 1u << STORE_IDENT_IP : 0);
	if (d->nprofile_name > ACME_MAX_PROFILES) {
		log_err("config: %s: directory %s offers more than %d profiles", c->path, d->name,
		    ACME_MAX_PROFILES);
		return -1;
	}
	for (i = 0; i < d->nprofile_name; i++) {
		if ((p = find_profile(c, d->profile_name[i])) == NULL) {
			log_err("config: %s: directory %s: no [profile %s]", c->path, d->name,
			    d->profile_name[i]);
			bad = 1;
			continue;
		}
		if (p->lifetime > d->cert_lifetime_max) {
			log_err("config: %s: directory %s: profile %s lifetime is above cert_lifetime_max",
			    c->path, d->name, p->name);
			bad = 1;
		}
		d->profile[d->nprofile++] = p;
	}
	if (d->default_profile_name != NULL) {
		for (i = 0; i < d->nprofile; i++)
			if (strcmp(d->profile[i]->name, d->default_profile_name) == 0)
				d->default_profile = d->profile[i];
		if (d->default_profile == NULL) {
			log_err("config: %s: directory %s: default_profile %s is not in its profiles",
			    c->path, d->name, d->default_profile_name);
			bad = 1;
		}
	} else if (d->nprofile > 0) {
		d->default_profile = d->profile[0];
	}
	return bad ? -1 : 0;
}

const struct acme_profile *
acme_config_profile(const struct acme_dir_config *d, const char *name)
{
	size_t i;

	if (name == NULL)
		return d->nprofile > 0 ? d->default_profile : &d->implicit;
	for (i = 0; i < d->nprofile; i++)
		if (strcmp(d->profile[i]->name, name) == 0)
			return d->profile[i];
	return NULL;
}

static int
valid_dir_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return i >= 1 && i <= ACME_DIR_NAME_MAX;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t n;

	if ((f = fopen(path, "re")) == NULL) {
		log_err("config: open %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(CONFIG_MAX_SIZE + 1)) == NULL)
		goto out;
	n = fread(buf, 1, CONFIG_MAX_SIZE + 1, f);
	if (n > CONFIG_MAX_SIZE || ferror(f)) {
		log_err("config: %s: unreadable or larger than %d bytes", path, CONFIG_MAX_SIZE);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	fclose(f);
	return buf;
}

/* Make path absolute against state_dir (in place). */
static int
resolve_path(const struct acme_config *c, char **path)
{
	char *abs;

	if (*path == NULL || (*path)[0] == '/' || strncmp(*path, "pkcs11:", 7) == 0)
		return 0;
	if ((abs = acme_config_path(c, *path)) == NULL)
		return -1;
	free(*path);
	*path = abs;
	return 0;
}

static int
finish_config(struct acme_config *c)
{
	size_t i;
	char *p, cwd[PATH_MAX];
	struct acme_dir_config *d;
	int bad = 0;

	if (c->base_url == NULL) {
		log_err("config: %s: base_url is required", c->path);
		bad = 1;
	} else {
		p = c->base_url + strlen(c->base_url);
		while (p > c->base_url && p[-1] == '/')
			*--p = '\0';
	}
	if (c->state_dir == NULL) {
		/* Default: the directory holding the configuration file. */
		if ((p = strrchr(c->path, '/')) != NULL)
			c->state_dir = strndup(c->path, (size_t)(p - c->path));
		else
			c->state_dir = strdup(".");
		if (c->state_dir == NULL)
			return -1;
	}
	if (c->state_dir[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    asprintf(&p, "%s/%s", cwd, c->state_dir) < 0)
			return -1;
		free(c->state_dir);
		c->state_dir = p;
	}
	if (resolve_path(c, &c->dnssec_trust_anchor) < 0)
		return -1;
	if (c->ndir == 0) {
		log_err("config: %s: no [directory NAME] section", c->path);
		bad = 1;
	}
	for (i = 0; i < c->ndir; i++) {
		d = &c->dir[i];
		if (resolve_path(c, &d->ca_cert) < 0 || resolve_path(c, &d->ca_key) < 0 ||
		    resolve_path(c, &d->ca_chain) < 0 || resolve_path(c, &d->ca_root) < 0 ||
		    resolve_path(c, &d->pkcs11_pin_file) < 0 ||
		    resolve_path(c, &d->upstream_eab_hmac_file) < 0 ||
		    resolve_path(c, &d->upstream_ca_file) < 0 ||
		    resolve_path(c, &d->upstream_passphrase_file) < 0 ||
		    resolve_path(c, &d->upstream_dns_hook) < 0 ||
		    resolve_path(c, &d->upstream_tsig_key_file) < 0)
			return -1;
		for (size_t k = 0; k < d->nalt_chain; k++)
			if (resolve_path(c, &d->alt_chain[k]) < 0)
				return -1;
		if (check_upstream(c, d) < 0)
			bad = 1;
		if (d->cert_lifetime > d->cert_lifetime_max) {
			log_err("config: %s: directory %s: cert_lifetime is above cert_lifetime_max",
			    c->path, d->name);
			bad = 1;
		}
		if (d->caa_check && d->ncaa_identity == 0) {
			log_err("config: %s: directory %s: caa_check needs caa_identities", c->path,
			    d->name);
			bad = 1;
		}
		if (d->tos_required && d->terms_of_service == NULL) {
			log_err("config: %s: directory %s: tos_required needs terms_of_service",
			    c->path, d->name);
			bad = 1;
		}
		if (strcmp(d->name, "default") == 0)
			c->default_dir = d;
		if (dir_profiles(c, d) < 0)
			bad = 1;
		if (d->ncontact_scheme == 0 && split_list("mailto", &d->contact_scheme,
		    &d->ncontact_scheme) < 0)
			return -1;
	}
	if (c->default_dir == NULL && c->ndir > 0)
		c->default_dir = &c->dir[0];
	if (c->audit_log == NULL && (c->audit_log = strdup("file:log/audit.log")) == NULL)
		return -1;
	if (strcmp(c->audit_log, "off") != 0 && strcmp(c->audit_log, "syslog") != 0 &&
	    strncmp(c->audit_log, "file:", 5) != 0) {
		log_err("config: %s: audit_log must be file:PATH, syslog or off", c->path);
		bad = 1;
	}
	if (c->retry_base > c->retry_cap) {
		log_err("config: %s: retry_base is above retry_cap", c->path);
		bad = 1;
	}
	if (check_tls(c) < 0)
		bad = 1;
	return bad ? -1 : 0;
}

enum acme_err
acme_config_load(const char *path, struct acme_config **out)
{
	struct acme_config *c = NULL;
	struct acme_dir_config *d = NULL, *tmp;
	struct acme_profile *pr = NULL;
	void *base;
	const struct cfg_key *keys, *k;
	char *text = NULL, *line, *next, *eq, *key, *val, name[64];
	const char *why;
	size_t len, lineno = 0, i;
	enum acme_err rc = ACME_ECONFIG;
	int bad = 0;

	if ((text = read_file(path, &len)) == NULL)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	c->workers = 2;
	c->orders_per_page = 100;
	c->max_body = 64 * 1024;
	c->http01_port = 80;
	c->tlsalpn01_port = 443;
	c->retry_base = 2;
	c->retry_cap = 60;
	c->lease = 60;
	c->validator_inflight = 256;
	c->validation_connect_timeout = 10;
	c->validation_timeout = 15;
	c->log_level = LOG_INFO;
	c->audit_sync = 1;
	dir_defaults(&c->tls.acct, ACME_TLS_SELF);
	if ((c->dir = calloc(CONFIG_MAX_DIRS, sizeof(*c->dir))) == NULL ||
	    (c->profiles = calloc(CONFIG_MAX_PROFILES, sizeof(*c->profiles))) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		log_err("config: %s: contains a NUL byte", path);
		goto out;
	}
	for (line = text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (*line == '[') {
			if (sscanf(line, "[profile %63[^] ]]", name) == 1 &&
			    line[strlen(line) - 1] == ']') {
				if (!valid_dir_name(name) || find_profile(c, name) != NULL ||
				    c->nprofiles == CONFIG_MAX_PROFILES) {
					log_err("config: %s:%zu: profile name '%s' is invalid or repeated",
					    path, lineno, name);
					bad = 1;
					pr = NULL;
					d = NULL;
					continue;
				}
				pr = &c->profiles[c->nprofiles++];
				profile_defaults(pr, name);
				d = NULL;
				continue;
			}
			if (sscanf(line, "[directory %63[^] ]]", name) != 1 || line[strlen(line) - 1] != ']') {
				log_err("config: %s:%zu: expected [directory NAME] or [profile NAME]", path, lineno);
				bad = 1;
				continue;
			}
			pr = NULL;
			if (!valid_dir_name(name)) {
				log_err("config: %s:%zu: directory name '%s': use 1-32 of a-z 0-9 -",
				    path, lineno, name);
				bad = 1;
				continue;
			}
			if (strcmp(name, ACME_TLS_SELF) == 0) {
				log_err("config: %s:%zu: the directory name %s is reserved (self-service "
				    "TLS)", path, lineno, name);
				bad = 1;
				continue;
			}
			if (acme_config_dir(c, name) != NULL) {
				log_err("config: %s:%zu: directory '%s' defined twice", path, lineno, name);
				bad = 1;
				continue;
			}
			if (c->ndir == CONFIG_MAX_DIRS) {
				log_err("config: %s:%zu: more than %d directories", path, lineno,
				    CONFIG_MAX_DIRS);
				goto out;
			}
			d = &c->dir[c->ndir++];
			dir_defaults(d, name);
			continue;
		}
		if ((eq = strchr(line, '=')) == NULL) {
			log_err("config: %s:%zu: expected key = value", path, lineno);
			bad = 1;
			continue;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		keys = pr ? profile_keys : d ? dir_keys : global_keys;
		base = pr ? (void *)pr : d ? (void *)d : (void *)c;
		for (k = keys; k->name; k++)
			if (!strcmp(k->name, key))
				break;
		if (k->name == NULL) {
			log_err("config: %s:%zu: unknown %s setting '%s'", path, lineno,
			    pr ? "profile" : d ? "directory" : "global", key);
			bad = 1;
			continue;
		}
		why = NULL;
		if (set_key(k, base, val, &why) < 0) {
			log_err("config: %s:%zu: %s: %s", path, lineno, key, why ? why : "invalid");
			bad = 1;
		}
	}
	if (bad || finish_config(c) < 0)
		goto out;
	/* Give back the unused directory slots. */
	if ((tmp = realloc(c->dir, c->ndir * sizeof(*c->dir))) != NULL) {
		for (i = 0; i < c->ndir; i++)
			if (c->default_dir == &c->dir[i])
				c->default_dir = &tmp[i];
		c->dir = tmp;
	}
	*out = c;
	c = NULL;
	rc = ACME_OK;
out:
	acme_config_free(c);
	free(text);
	return rc;
}

void
acme_config_free(struct acme_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ndir; i++)
		free_keys(dir_keys, &c->dir[i]);
	free(c->dir);
	for (i = 0; i < c->nprofiles; i++)
		free_keys(profile_keys, &c->profiles[i]);
	free(c->profiles);
	free_keys(global_keys, c);
	free(c->path);
	free(c);
}

const struct acme_dir_config *
acme_config_dir(const struct acme_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ndir; i++)
		if (strcmp(c->dir[i].name, name) == 0)
			return &c->dir[i];
	return NULL;
}

char *
acme_config_path(const struct acme_config *c, const char *path)
{
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "%s/%s", c->state_dir, path) < 0)
		return NULL;
	return out;
}

char *
acme_state_file(const struct acme_config *c, const char *rel)
{
	return acme_config_path(c, rel);
}
