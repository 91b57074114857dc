#ifndef ACME_CORE_CONTACT_H
#define ACME_CORE_CONTACT_H

#include <stddef.h>

#include "core/problem.h"

struct json_object;

/* Check a "contact" array; on success *out is a new array of *n copied URLs
 * (caller frees each and the array). -1 with p set (malformed,
 * unsupportedContact, invalidContact) otherwise. */
int acme_contacts_parse(struct json_object *arr, char ***out, size_t *n, struct acme_problem *p);

#endif
