/* Account contact URLs (RFC 8555 section 7.3): mailto (one plain address,
 * no header fields) and the other schemes a directory allows (any URL of
 * that scheme made of printable ASCII). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "core/contact.h"
#include "core/ident.h"

#define CONTACT_MAX 10
#define CONTACT_LEN 320

static const char *
check_mailto(const char *url)
{
	const char *addr = url + 7, *at;
	size_t i;

	if (strpbrk(addr, "?&,;%") != NULL)
		return "a mailto contact must be a single address without header fields";
	if ((at = strchr(addr, '@')) == NULL || at == addr || strchr(at + 1, '@') != NULL)
		return "a mailto contact needs exactly one local@domain address";
	for (i = 0; addr + i < at; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c) != NULL)
			return "the address has a character that is not allowed in its local part";
	}
	if (acme_ident_check_dns(at + 1) != NULL)
		return "the address's domain is not a valid host name";
	return NULL;
}

/* The scheme of url if it is one of schemes; else NULL. */
static const char *
allowed_scheme(const char *url, char *const *schemes, size_t nschemes)
{
	size_t i, len;

	for (i = 0; i < nschemes; i++) {
		len = strlen(schemes[i]);
		if (strncasecmp(url, schemes[i], len) == 0 && url[len] == ':')
			return schemes[i];
	}
	return NULL;
}

static const char *
check_other(const char *url)
{
	const char *v = strchr(url, ':') + 1;

	if (*v == '\0')
		return "the contact has nothing after its scheme";
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			return "the contact has a character that is not printable ASCII";
	return NULL;
}

int
acme_contacts_parse(struct json_object *arr, char *const *schemes, size_t nschemes, char ***out,
    size_t *n, struct acme_problem *p)
{
	size_t i, cnt;
	char **list = NULL, accepted[160] = "";
	const char *s, *why, *scheme;
	int rc = -1;

	for (i = 0; i < nschemes; i++)
		snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted), "%s%s:",
		    i ? ", " : "", schemes[i]);

	*out = NULL;
	*n = 0;
	if (!json_object_is_type(arr, json_type_array))
		return acme_problem_set(p, PROB_MALFORMED, "contact must be an array of URLs");
	cnt = json_object_array_length(arr);
	if (cnt > CONTACT_MAX)
		return acme_problem_set(p, PROB_MALFORMED, "at most %d contacts", CONTACT_MAX);
	if (cnt > 0 && (list = calloc(cnt, sizeof(*list))) == NULL)
		return acme_problem_set(p, PROB_SERVER_INTERNAL, "out of memory");
	for (i = 0; i < cnt; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(e, json_type_string) ||
		    (s = json_object_get_string(e)) == NULL || *s == '\0') {
			acme_problem_set(p, PROB_MALFORMED, "each contact must be a non-empty string");
			goto out;
		}
		if (strlen(s) > CONTACT_LEN) {
			acme_problem_set(p, PROB_INVALID_CONTACT, "contact longer than %d characters",
			    CONTACT_LEN);
			goto out;
		}
		if ((scheme = allowed_scheme(s, schemes, nschemes)) == NULL) {
			acme_problem_set(p, PROB_UNSUPPORTED_CONTACT,
			    "contact scheme not supported; accepted: %s", accepted);
			goto out;
		}
		why = strcasecmp(scheme, "mailto") == 0 ? check_mailto(s) : check_other(s);
		if (why != NULL) {
			acme_problem_set(p, PROB_INVALID_CONTACT, "%s", why);
			goto out;
		}
		if ((list[i] = strdup(s)) == NULL) {
			acme_problem_set(p, PROB_SERVER_INTERNAL, "out of memory");
			goto out;
		}
	}
	*out = list;
	*n = cnt;
	list = NULL;
	rc = 0;
out:
	if (list != NULL) {
		for (i = 0; i < cnt; i++)
			free(list[i]);
		free(list);
	}
	return rc;
}
