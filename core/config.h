/*
 * Configuration: one file, global settings followed by one section per
 * directory. The format is "key = value" lines, '#' comments, and section
 * headers "[directory NAME]". Durations take a unit: 90d, 24h, 30m, 15s.
 * Relative paths are relative to the state directory.
 */
#ifndef ACME_CORE_CONFIG_H
#define ACME_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/keypol.h"
#include "core/ratelimit_override.h"

#define ACME_DIR_NAME_MAX 32
#define ACME_MAX_PROFILES 16

enum acme_profile_ku {
	PROFILE_KU_DIGITAL_SIGNATURE = 1u << 0,
	PROFILE_KU_KEY_ENCIPHERMENT = 1u << 1,   /* applied to RSA subject keys only */
};
enum acme_profile_eku {
	PROFILE_EKU_SERVER_AUTH = 1u << 0,
	PROFILE_EKU_CLIENT_AUTH = 1u << 1,
};

/* A rate limit: n per period seconds; period 0 = no limit. */
struct acme_rl_spec {
	uint32_t n;
	int64_t period;
};

/* A certificate profile (draft-ietf-acme-profiles): what a certificate
 * issued under it contains. Defined in "[profile NAME]" sections and offered
 * by directories that list it. */
struct acme_profile {
	char name[ACME_DIR_NAME_MAX + 1];
	char *description;          /* shown in meta.profiles */
	int64_t lifetime;
	unsigned key_usage;         /* enum acme_profile_ku */
	unsigned ext_key_usage;     /* enum acme_profile_eku */
	unsigned identifiers;       /* bits: 1 << STORE_IDENT_DNS, 1 << STORE_IDENT_IP */
};

struct acme_dir_config {
	char name[ACME_DIR_NAME_MAX + 1];   /* [a-z0-9-] */
	char *ca_cert;              /* issuing certificate (PEM) */
	char *ca_key;               /* its key: PEM path or pkcs11: URI */
	char *pkcs11_module;        /* PKCS#11 module for a pkcs11: ca_key, NULL = default */
	char *pkcs11_pin_file;      /* the token PIN when ca_key has no pin-value, or NULL */
	char *ca_chain;             /* chain served after the leaf (PEM), NULL = ca_cert */
	char *ca_root;              /* the root, for documentation and tests */
	char *terms_of_service;     /* URL or NULL */
	int tos_required;           /* refuse newAccount without termsOfServiceAgreed */
	char *website;
	size_t ncontact_scheme;
	char **contact_scheme;      /* accepted contact URL schemes (default mailto) */
	size_t ncaa_identity;
	char **caa_identity;
	int caa_check;              /* check CAA before issuing (needs caa_identities) */
	int64_t caa_max_age;        /* a CAA check older than this is redone at finalize */
	int eab_required;
	int64_t cert_lifetime;      /* default certificate lifetime */
	int64_t cert_lifetime_max;  /* upper bound for notAfter - notBefore */
	int64_t order_lifetime;     /* a pending order expires after this */
	int64_t authz_lifetime;     /* a pending authorization expires after this */
	int64_t authz_reuse;        /* a valid authorization may be reused for this long */
	int allow_private;          /* validate against private/loopback addresses */
	size_t nnames_allow, nnames_deny, nips_allow, nips_deny;
	char **names_allow;         /* name patterns issued for (none = any) */
	char **names_deny;          /* name patterns never issued for */
	char **ips_allow;           /* IP ranges issued for (none = any) */
	char **ips_deny;            /* IP ranges never issued for */
	int allow_ip;               /* accept ip identifiers */
	int allow_wildcard;
	size_t max_identifiers;
	unsigned challenges;        /* bits: 1 << STORE_CH_* */
	struct acme_keypol account_keys;
	struct acme_keypol cert_keys;
	unsigned revocation_reasons; /* bits 1 << reason code that subscribers may give */
	struct acme_rl_spec rate[ACME_RL__N];   /* enum acme_rl_limit */
	char *rate_limit_doc;       /* URL sent as Link rel="help" with rateLimited */
	int64_t crl_lifetime;       /* nextUpdate - thisUpdate */
	int64_t crl_refresh;        /* a served CRL older than this is signed afresh */
	size_t nalt_chain;
	char **alt_chain;           /* PEM files: alternate chains served after the leaf */
	char *crl_url;              /* put in certificates as the CRL distribution point */
	char *aia_url;              /* AIA caIssuers */
	size_t nprofile_name;
	char **profile_name;        /* "profiles": names of [profile] sections offered */
	char *default_profile_name;
	size_t nprofile;
	const struct acme_profile *profile[ACME_MAX_PROFILES];   /* resolved */
	const struct acme_profile *default_profile;   /* NULL when none are offered */
	struct acme_profile implicit;   /* without profiles: from cert_lifetime */
	/* RA mode (mode = ra): the directory validates its clients itself and
	 * obtains their certificates from an upstream ACME CA. */
	char *mode;                 /* "ca" (default) or "ra" */
	int ra;                     /* mode is ra */
	char *upstream_url;         /* the upstream's directory URL */
	char *upstream_contact;     /* contact URL of the upstream account, or NULL */
	char *upstream_eab_kid;     /* External Account Binding key id at the upstream */
	char *upstream_eab_hmac_file;   /* its HMAC key, base64url (a secret: never logged) */
	char *upstream_key_type;    /* p256 (default), p384, rsa2048, rsa3072, rsa4096 */
	char *upstream_ca_file;     /* trust roots for the upstream's HTTPS, NULL = system's */
	int64_t upstream_timeout;   /* one upstream HTTP request */
	char *upstream_passphrase_file; /* the account key's encryption passphrase */
	char *upstream_dns_hook;    /* "HOOK present|cleanup FQDN VALUE" for dns-01 upstream */
	char *upstream_dns_update;  /* RFC 2136: the primary server, ip:port */
	char *upstream_dns_zone;    /* the zone the updates are for */
	char *upstream_tsig_name;   /* TSIG key name (HMAC-SHA256) */
	char *upstream_tsig_key_file;   /* the TSIG secret, base64 */
	int64_t upstream_dns_wait;  /* after a record is in, before the upstream checks it */
	int64_t upstream_retry_base;    /* first delay after a failed upstream step */
	int64_t upstream_retry_cap;     /* longest delay between attempts */
	int64_t upstream_deadline;  /* an upstream order still unfinished after this fails */
	int upstream_forward_validity;  /* notBefore/notAfter sent upstream, else refused */
};

/*
 * Self-service TLS: the validator daemon obtains and renews the web server's
 * own certificate (tls_cert_file, tls_key_file) from an ACME directory (this
 * server's own, over base_url, or any other) with the same ACME client that
 * serves RA directories. The job and the account are kept under a
 * pseudo-directory named ACME_TLS_SELF, which is never served: acct holds
 * its upstream_* settings, taken from the tls_* keys (mode ra).
 */
#define ACME_TLS_SELF "self-tls"

struct acme_tls_config {
	int enabled;                /* tls_acme_url is set */
	struct acme_dir_config acct;   /* name ACME_TLS_SELF; upstream_url = tls_acme_url, ... */
	size_t nnames;
	char **names;               /* tls_names: DNS names the certificate is for */
	char *key_type;             /* the certificate key: p256 (default), p384, rsa2048, ... */
	char *reload_command;       /* run (no shell) after the files are replaced, or NULL */
	char *cert_file;            /* the leaf and chain (PEM), default tls/server.pem */
	char *key_file;             /* its key (PEM, mode 0600), default tls/server.key */
	char *renew_fraction;       /* as written: "2/3", "0.75", "80%" */
	unsigned renew_permille;    /* renew when this much of the lifetime has passed */
};

struct acme_config {
	char *path;                 /* the file this came from */
	char *state_dir;            /* absolute */
	char *base_url;             /* external scheme://host[:port], no trailing slash */
	char *log;                  /* stderr | syslog | file:/path */
	char *audit_log;            /* file:PATH | syslog | off */
	int audit_sync;             /* fdatasync each audit line */
	int log_level;              /* syslog priority */
	int workers;
	int orders_per_page;        /* page size of an account's orders list */
	size_t max_body;            /* request body limit, bytes */
	char *resolver;             /* ip:port, or NULL for the system's */
	char *dnssec_trust_anchor;  /* DS/DNSKEY file: validate every answer; NULL: none */
	char *public_suffix_list;   /* for certs_per_domain (default Debian's publicsuffix) */
	int http01_port;
	int tlsalpn01_port;
	int64_t retry_base;         /* first validation retry delay */
	int64_t retry_cap;          /* longest delay between attempts */
	int64_t lease;              /* a validation in flight is leased this long */
	int validator_inflight;     /* validations in flight at once */
	int64_t validation_connect_timeout;   /* per outbound connection (s) */
	int64_t validation_timeout; /* one validation attempt, all of it (s); the CAA check
	                               that follows a passed challenge gets as much again */
	int64_t nonce_lifetime;     /* informational: window is counted in nonces */
	size_t nprofiles;
	struct acme_profile *profiles;
	size_t ndir;
	struct acme_dir_config *dir;
	const struct acme_dir_config *default_dir;   /* the one named "default", or the first */
	struct acme_tls_config tls; /* self-service TLS (tls.enabled) */
};

/* Load and check path. On error logs every problem (with line numbers) and
 * returns ACME_ECONFIG. *out freed with acme_config_free(). */
enum acme_err acme_config_load(const char *path, struct acme_config **out);
void acme_config_free(struct acme_config *c);

/* The directory called name, or NULL. */
const struct acme_dir_config *acme_config_dir(const struct acme_config *c, const char *name);

/* The profile of directory d called name (NULL: the default), or NULL if d
 * does not offer it. Without configured profiles, "name" NULL gives the
 * directory's implicit profile. */
const struct acme_profile *acme_config_profile(const struct acme_dir_config *d, const char *name);

/* path if absolute, else state_dir/path; caller frees. */
char *acme_config_path(const struct acme_config *c, const char *path);

/* Parse "90d", "24h", "30m", "15s", "0". -1 on error. */
int64_t acme_parse_duration(const char *s);

/* The state directory's well-known files. Caller frees. */
char *acme_state_file(const struct acme_config *c, const char *rel);

#endif
