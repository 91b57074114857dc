/* The Public Suffix List, for "certificates per registered domain". */
#ifndef ACME_CORE_PSL_H
#define ACME_CORE_PSL_H

#include <stddef.h>

#include "core/err.h"

#define ACME_PSL_DEFAULT "/usr/share/publicsuffix/public_suffix_list.dat"

/* Load the list from path (Debian's publicsuffix package) into this
 * process, once; later calls are no-ops. Without a list every name's
 * registered domain is its last two labels. */
enum acme_err acme_psl_load(const char *path);

/* The registered domain of name (the public suffix plus one label) as a
 * pointer into name; name itself when it is a public suffix or shorter. */
const char *acme_psl_registered(const char *name);

void acme_psl_free(void);

#endif
