/*
 * The parts of http-01 (validators/http01.c) that read what a target sends,
 * as pure functions: the response body as libcurl hands it over, the
 * comparison's whitespace rule, and each redirect's Location with the rules
 * a hop must follow. http01.c runs them on every fetch; unit tests and
 * tests/fuzz/fuzz_http01.c call them directly, without sockets.
 */
#ifndef VAL_HTTP01_H
#define VAL_HTTP01_H

#include <stddef.h>

#include <curl/curl.h>

#include "core/ipaddr.h"
#include "validators/val.h"

#define VAL_H01_MAX_REDIRECTS 10
#define VAL_H01_MAX_PATH      2000
#define VAL_H01_QUOTE_MAX     100      /* bytes of a target's body quoted in a detail */

/* The body of one fetch. buf has room for the larger of cap and
 * VAL_H01_QUOTE_MAX + 1 bytes (the caller's). */
struct val_h01_body {
	unsigned char *buf;
	size_t len;
	size_t cap;                    /* the most a 200 body may hold */
	int stopped;                   /* we cut the transfer short on purpose */
	int over;                      /* a 200 body past cap */
};

/*
 * One chunk of n bytes of a response with status code, as libcurl's write
 * callback gets it: a 200 body is kept up to cap (past it: over, stop);
 * another status keeps VAL_H01_QUOTE_MAX + 1 bytes to quote, then stops; a
 * redirect's body is not read. Returns n to go on, 0 to stop the transfer
 * (stopped set).
 */
size_t val_http01_body_add(struct val_h01_body *b, long code, const void *ptr, size_t n);

/* The length of the n bytes of body without trailing whitespace (HT-04:
 * space, tab, CR, LF, VT, FF). */
size_t val_http01_body_trim(const unsigned char *body, size_t n);

/* A hop that passed val_http01_next(). */
struct val_h01_next {
	char *url;                     /* its canonical text (curl_free) */
	char *host;                    /* the URL's host, brackets kept (curl_free) */
	long port;
};

/*
 * The next hop: u moved to location resolved against it (location NULL: u
 * as it is, the first hop), without credentials or fragment, then checked:
 * http or https; a redirect's port 80, 443, o->http_port for http or
 * o->https_port for https; path and query at most VAL_H01_MAX_PATH bytes;
 * no IPv6 zone id; not one of the nvisited URLs in visited. 0 with out
 * filled (the caller frees its members), or -1 with why (cap bytes) saying
 * which rule failed, for a connection problem; u may have moved anyway.
 */
int val_http01_next(CURLU *u, const char *location, const struct val_opts *o,
    char *const *visited, size_t nvisited, struct val_h01_next *out, char *why, size_t cap);

/*
 * The host of an accepted hop (host from val_http01_next): an IPv6 literal
 * in brackets, an IPv4 or IPv6 literal the policy lets us connect to
 * (allow_private), or a host name of LDH labels (and '_'), which is
 * lower-cased. 0 with name (without brackets), *is_ip and, for a literal,
 * *ip set; -1 with why (cap bytes) for a connection problem.
 */
int val_http01_host(const char *host, int allow_private, char name[256], int *is_ip,
    struct acme_ip *ip, char *why, size_t cap);

#endif
