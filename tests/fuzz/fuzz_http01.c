/*
 * What http-01 reads from a target (validators/http01.c, through the pure
 * functions of validators/http01.h): the response body as libcurl hands it
 * over in chunks (kept up to the limit, or quoted for an error status), the
 * trailing-whitespace rule of the comparison, and a chain of redirects:
 * each Location resolved against the current URL and checked (scheme,
 * port, path length, zone id, loops, at most 10 hops), then its host
 * (IP literal and address policy, or host name).
 *
 * Input: a flags byte (bit 0 allow_private, bits 1-2 the status code, bit 3
 * an https_port, bit 4 http_port 5002), a chunk-size byte, the first URL up
 * to '\n', Location values one per line up to an empty line, then the body.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "validators/http01.h"
#include "validators/val.h"
#include "tests/fuzz/fuzzlib.h"

#define KEYAUTH "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define SLACK 128

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

static void
body(long code, size_t chunk, const char *p, size_t n)
{
	struct val_h01_body b;
	char got[VAL_H01_QUOTE_MAX * 4 + 8];
	size_t fed = 0, k, r, room, t;

	memset(&b, 0, sizeof(b));
	b.cap = strlen(KEYAUTH) + SLACK;
	room = b.cap > VAL_H01_QUOTE_MAX + 1 ? b.cap : VAL_H01_QUOTE_MAX + 1;
	b.buf = malloc(room);
	FZ_CHECK(b.buf != NULL);
	/* libcurl calls the write callback once per chunk until it returns
	 * less than it was given. */
	while (fed < n) {
		k = n - fed < chunk ? n - fed : chunk;
		r = val_http01_body_add(&b, code, p + fed, k);
		FZ_CHECK(r == k || (r == 0 && b.stopped));
		FZ_CHECK(b.len <= room);
		fed += k;
		if (r == 0)
			break;
	}
	if (code == 200) {
		FZ_CHECK(b.over ? fed > b.cap : b.len == fed);
		if (!b.over) {
			FZ_CHECK(memcmp(b.buf, p, b.len) == 0);
			t = val_http01_body_trim(b.buf, b.len);
			FZ_CHECK(t <= b.len);
			FZ_CHECK(t == 0 || strchr(" \t\r\n\v\f", b.buf[t - 1]) == NULL ||
			    b.buf[t - 1] == '\0');
			for (k = t; k < b.len; k++)
				FZ_CHECK(b.buf[k] != '\0' && strchr(" \t\r\n\v\f", b.buf[k]) != NULL);
			/* h01_check_body: a match passes, else the body is quoted. */
			if (t != strlen(KEYAUTH) || memcmp(b.buf, KEYAUTH, t) != 0) {
				val_escape(got, sizeof(got), b.buf, t, VAL_H01_QUOTE_MAX);
				FZ_CHECK(strlen(got) < sizeof(got));
			}
		}
	} else if (code >= 300 && code < 400) {
		FZ_CHECK(b.len == 0 && (n == 0 || b.stopped));
	} else {
		FZ_CHECK(b.len <= VAL_H01_QUOTE_MAX + 1 && !b.over);
		val_escape(got, sizeof(got), b.buf, b.len, VAL_H01_QUOTE_MAX);
		FZ_CHECK(strlen(got) < sizeof(got));
	}
	free(b.buf);
}

/* One hop as h01_hop takes it; 0 when it was accepted. */
static int
hop(CURLU *u, const char *location, const struct val_opts *o, char **visited, size_t *nvisited)
{
	struct val_h01_next nx;
	struct acme_ip ip;
	char why[400], name[256];
	int is_ip = 0, rc;
	size_t i;

	rc = val_http01_next(u, location, o, visited, *nvisited, &nx, why, sizeof(why));
	if (rc != 0) {
		FZ_CHECK(rc == -1 && nx.url == NULL && nx.host == NULL && strlen(why) > 0);
		return -1;
	}
	FZ_CHECK(nx.url != NULL && nx.host != NULL);
	FZ_CHECK(strncmp(nx.url, "http://", 7) == 0 || strncmp(nx.url, "https://", 8) == 0);
	FZ_CHECK(nx.port >= 0 && nx.port <= 65535);
	if (location != NULL)
		FZ_CHECK(nx.port == 80 || nx.port == 443 || nx.port == o->http_port ||
		    nx.port == o->https_port);
	for (i = 0; i < *nvisited; i++)
		FZ_CHECK(strcmp(visited[i], nx.url) != 0);
	visited[(*nvisited)++] = strdup(nx.url);
	if (val_http01_host(nx.host, o->allow_private, name, &is_ip, &ip, why, sizeof(why)) == 0) {
		FZ_CHECK(strlen(name) < sizeof(name) && strlen(name) > 0);
		if (is_ip)
			FZ_CHECK(acme_ip_allowed(&ip, o->allow_private));
		else
			for (i = 0; name[i] != '\0'; i++)
				FZ_CHECK(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) ||
				    strchr("-_.", name[i]) != NULL);
	}
	curl_free(nx.url);
	curl_free(nx.host);
	return 0;
}

static void
redirects(struct fz_in *in, const struct val_opts *o)
{
	char *visited[VAL_H01_MAX_REDIRECTS + 1], *first, *loc;
	size_t nvisited = 0, len, i;
	CURLU *u = curl_url();

	FZ_CHECK(u != NULL);
	first = fz_field(in, '\n', &len);
	if (memchr(first, '\0', len) == NULL && curl_url_set(u, CURLUPART_URL, first, 0) == CURLUE_OK &&
	    hop(u, NULL, o, visited, &nvisited) == 0) {
		/* Each redirect's Location, while h01_redirect would follow it. */
		for (;;) {
			loc = fz_field(in, '\n', &len);
			if (len == 0 || nvisited > VAL_H01_MAX_REDIRECTS) {
				free(loc);
				break;
			}
			if (memchr(loc, '\0', len) != NULL || hop(u, loc, o, visited, &nvisited) != 0) {
				free(loc);
				break;
			}
			free(loc);
		}
	}
	for (i = 0; i < nvisited; i++)
		free(visited[i]);
	free(first);
	curl_url_cleanup(u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long codes[4] = { 200, 404, 302, 500 };
	struct fz_in in = { data, size };
	struct val_opts o;
	uint8_t flags = fz_byte(&in);
	size_t chunk = (size_t)fz_byte(&in) * 4 + 1, n;
	char *rest;

	memset(&o, 0, sizeof(o));
	o.allow_private = flags & 1;
	o.https_port = (flags & 8) ? 8443 : 0;
	o.http_port = (flags & 16) ? 5002 : 80;
	redirects(&in, &o);
	rest = fz_rest(&in, &n);
	body(codes[(flags >> 1) & 3], chunk, rest, n);
	free(rest);
	return 0;
}
