/* ACME identifiers: parsing, normalisation and syntax rules (RFC 8555 section
 * 7.1.4, RFC 8738). */
#ifndef ACME_CORE_IDENT_H
#define ACME_CORE_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/problem.h"

struct json_object;

#define ACME_IDENT_MAX 253

struct acme_ident {
	uint8_t type;                     /* STORE_IDENT_DNS or STORE_IDENT_IP */
	int wildcard;                     /* value starts with "*." */
	char value[ACME_IDENT_MAX + 1];   /* normalised text, with "*." for wildcards */
	unsigned char ip[16];             /* binary address for ip identifiers */
	int ip_len;                       /* 4 or 16 */
};

/* "dns" / "ip". */
const char *acme_ident_type_name(uint8_t type);

/*
 * Parse one identifier object {"type", "value"}. DNS names are lower-cased
 * and must be valid host names in A-label form (labels 1-63 LDH, no leading or
 * trailing hyphen, "--" in positions 3-4 only for valid punycode "xn--"
 * labels, at least two labels, not all-numeric at the end, at most 253
 * octets, no trailing dot); a wildcard only as the whole leftmost label.
 * IPs must be in canonical text (RFC 5952 for IPv6; no IPv4-mapped).
 * Returns 0, or -1 with the problem type in *ptype (malformed,
 * unsupportedIdentifier, rejectedIdentifier) and a reason in why.
 */
int acme_ident_parse(struct json_object *o, struct acme_ident *out, enum acme_prob *ptype,
    char *why, size_t whylen);

/* Check a DNS name (no wildcard) as above; returns NULL or a static reason. */
const char *acme_ident_check_dns(const char *name);

/* Reverse-mapping name for an IP identifier (RFC 8738 section 6). */
int acme_ident_reverse_name(const struct acme_ident *id, char *out, size_t len);

#endif
