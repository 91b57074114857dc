/* Account contact URLs (RFC 8555 section 7.3): mailto only, one plain
 * address per URL, no header fields. */
#include <ctype.h>
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

int
acme_contacts_parse(struct json_object *arr, char ***out, size_t *n, struct acme_problem *p)
{
	size_t i, cnt;
	char **list = NULL;
	const char *s, *why;
	int rc = -1;

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
		if (strncasecmp(s, "mailto:", 7) != 0) {
			acme_problem_set(p, PROB_UNSUPPORTED_CONTACT,
			    "contact scheme not supported: only mailto: is accepted");
			goto out;
		}
		if ((why = check_mailto(s)) != NULL) {
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
