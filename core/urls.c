/* Resource URLs: every URL the server hands out is built here from the one
 * configured base URL, so the JWS "url" check can be an exact comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

char *
acme_url(const struct acme_dir *d, const char *kind, const char *id)
{
	char *u;

	if (id == NULL)
		return asprintf(&u, "%s%s", d->url_prefix, kind) < 0 ? NULL : u;
	return asprintf(&u, "%s%s/%s", d->url_prefix, kind, id) < 0 ? NULL : u;
}

char *
acme_url_sub(const struct acme_dir *d, const char *kind, const char *id, const char *sub)
{
	char *u;

	return asprintf(&u, "%s%s/%s/%s", d->url_prefix, kind, id, sub) < 0 ? NULL : u;
}

int
acme_id_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return 0;
		if (i >= max)
			return 0;
	}
	return i > 0;
}

int
acme_url_id(const struct acme_dir *d, const char *url, const char *kind, char *id, size_t idlen)
{
	size_t klen = strlen(kind);
	const char *p;

	if (strncmp(url, d->url_prefix, d->url_prefix_len) != 0)
		return -1;
	p = url + d->url_prefix_len;
	if (strncmp(p, kind, klen) != 0 || p[klen] != '/')
		return -1;
	p += klen + 1;
	if (!acme_id_ok(p, idlen - 1))
		return -1;
	snprintf(id, idlen, "%s", p);
	return 0;
}
