/* A directory's issuance policy on identifiers: name patterns and IP ranges. */
#ifndef ACME_CORE_POLICY_H
#define ACME_CORE_POLICY_H

#include <stddef.h>

#include "core/config.h"
#include "core/ident.h"

/*
 * Name patterns, in names_allow and names_deny:
 *   example.com     that name only
 *   .example.com    any name below example.com (not example.com itself)
 *   *.example.com   a name exactly one label below example.com, and the
 *                   wildcard identifier *.example.com
 * IP ranges, in ips_allow and ips_deny: CIDR blocks (10.0.0.0/8,
 * 2001:db8::/32) or single addresses.
 */

/* Check a pattern or a range as configured; NULL or a static reason. */
const char *acme_policy_name_pattern_ok(const char *pattern);
const char *acme_policy_ip_range_ok(const char *range);

/* Whether directory d may issue for id. 0, or -1 with why naming the rule. */
int acme_policy_check(const struct acme_dir_config *d, const struct acme_ident *id, char *why,
    size_t whylen);

/* Whether name (lower case) matches pattern. */
int acme_policy_name_match(const char *pattern, const char *name);

#endif
