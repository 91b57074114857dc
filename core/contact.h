#ifndef ACME_CORE_CONTACT_H
#define ACME_CORE_CONTACT_H

#include <stddef.h>

#include "core/problem.h"

struct json_object;

/* Check a "contact" array against the schemes a directory accepts; on
 * success *out is a new array of *n copied URLs (caller frees each and the
 * array). -1 with p set (malformed, unsupportedContact naming the accepted
 * schemes, invalidContact) otherwise. */
int acme_contacts_parse(struct json_object *arr, char *const *schemes, size_t nschemes,
    char ***out, size_t *n, struct acme_problem *p);

#endif
