/*
 * The Public Suffix List (https://publicsuffix.org/list/): rules are names
 * ("com", "co.uk"), wildcards ("*.ck") and exceptions ("!www.ck"). The
 * registered domain of a name is its public suffix (the longest matching
 * rule, exceptions winning, "*" by default) plus one more label. The rules
 * live in an open-addressing hash set built once per process.
 */
#include <ctype.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/psl.h"

#define PSL_MAX_RULES 65536

static char **psl_slot;      /* rule text (with its '!' or "*." prefix), NULL = empty */
static size_t psl_size;      /* a power of two */
static int psl_loaded;

static uint32_t
psl_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int
psl_has(const char *s, size_t n)
{
	size_t i;

	if (psl_slot == NULL)
		return 0;
	for (i = psl_hash(s, n) & (psl_size - 1); psl_slot[i] != NULL; i = (i + 1) & (psl_size - 1))
		if (strlen(psl_slot[i]) == n && memcmp(psl_slot[i], s, n) == 0)
			return 1;
	return 0;
}

static int
psl_add(const char *s)
{
	size_t i, n = strlen(s);

	for (i = psl_hash(s, n) & (psl_size - 1); psl_slot[i] != NULL; i = (i + 1) & (psl_size - 1))
		if (strcmp(psl_slot[i], s) == 0)
			return 0;
	return (psl_slot[i] = strdup(s)) != NULL ? 0 : -1;
}

enum acme_err
acme_psl_load(const char *path)
{
	FILE *f;
	char line[512], *p, *e;
	size_t nrules = 0;
	enum acme_err rc = ACME_EIO;

	if (psl_loaded)
		return ACME_OK;
	psl_loaded = 1;
	if ((f = fopen(path ? path : ACME_PSL_DEFAULT, "re")) == NULL) {
		log_warn("psl: %s: %s; registered domains are the last two labels",
		    path ? path : ACME_PSL_DEFAULT, strerror(errno));
		return ACME_ENOTFOUND;
	}
	psl_size = PSL_MAX_RULES * 2;
	if ((psl_slot = calloc(psl_size, sizeof(*psl_slot))) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		/* A rule is the first word of a line; "//" starts a comment. */
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '\n' || (p[0] == '/' && p[1] == '/'))
			continue;
		for (e = p; *e && !isspace((unsigned char)*e); e++)
			*e = (char)tolower((unsigned char)*e);
		*e = '\0';
		if (nrules == PSL_MAX_RULES) {
			log_err("psl: more than %d rules; the rest is ignored", PSL_MAX_RULES);
			break;
		}
		if (psl_add(p) < 0) {
			rc = ACME_ENOMEM;
			goto out;
		}
		nrules++;
	}
	log_debug("psl: %zu rules", nrules);
	rc = ACME_OK;
out:
	fclose(f);
	if (rc != ACME_OK && rc != ACME_ENOTFOUND)
		acme_psl_free();
	return rc;
}

/* Non-ASCII rules (U-labels) never match our A-label names; names are
 * compared as given. */
const char *
acme_psl_registered(const char *name)
{
	const char *labels[128], *p = name, *suffix = NULL;
	char rule[300];
	size_t n = 0, i;

	while (n < 128) {
		labels[n++] = p;
		if ((p = strchr(p, '.')) == NULL)
			break;
		p++;
	}
	if (psl_slot == NULL)
		return n >= 2 ? labels[n - 2] : name;
	/* Longest rule first: labels[i] is the candidate suffix. */
	for (i = 0; i < n && suffix == NULL; i++) {
		snprintf(rule, sizeof(rule), "!%s", labels[i]);
		if (psl_has(rule, strlen(rule))) {
			suffix = i + 1 < n ? labels[i + 1] : NULL;
			if (suffix == NULL)
				return name;
			break;
		}
		if (psl_has(labels[i], strlen(labels[i]))) {
			suffix = labels[i];
			break;
		}
		if (i + 1 < n) {
			snprintf(rule, sizeof(rule), "*.%s", labels[i + 1]);
			if (psl_has(rule, strlen(rule))) {
				suffix = labels[i];
				break;
			}
		}
	}
	if (suffix == NULL)
		suffix = labels[n - 1];     /* the default rule "*" */
	for (i = 0; i < n; i++)
		if (labels[i] == suffix)
			return i > 0 ? labels[i - 1] : name;
	return name;
}

void
acme_psl_free(void)
{
	size_t i;

	for (i = 0; psl_slot != NULL && i < psl_size; i++)
		free(psl_slot[i]);
	free(psl_slot);
	psl_slot = NULL;
	psl_size = 0;
}
