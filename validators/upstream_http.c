/*
 * HTTP requests to an upstream ACME CA on the daemon's loop (libcurl multi,
 * validators/curlm.c): one easy handle per request, the response body
 * capped, the headers ACME needs picked out. The upstream URL is the
 * operator's, so none of the validation's address policy applies; TLS is
 * verified against upstream_ca_file or the system's roots.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "validators/upstream.h"
#include "validators/val.h"

struct ups_req {
	struct val_xfer x;             /* first: the curlm callback gets it */
	struct val_curlm *m;
	struct curl_slist *hdrs;
	char *body_out;                /* what we send */
	struct ups_resp r;
	size_t cap;
	int too_big;
	ups_http_fn cb;
	void *arg;
};

static void
req_free(struct ups_req *q)
{
	if (q == NULL)
		return;
	if (q->x.easy != NULL) {
		val_curlm_remove(q->m, &q->x);
		curl_easy_cleanup(q->x.easy);
	}
	curl_slist_free_all(q->hdrs);
	free(q->body_out);
	free(q->r.body);
	free(q->r.location);
	free(q);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct ups_req *q = arg;
	size_t len = size * n, cap;
	char *b;

	if (q->r.len + len > UPS_BODY_MAX) {
		q->too_big = 1;
		return 0;
	}
	if (q->r.len + len + 1 > q->cap) {
		cap = q->cap ? q->cap : 4096;
		while (cap < q->r.len + len + 1)
			cap *= 2;
		if ((b = realloc(q->r.body, cap)) == NULL)
			return 0;
		q->r.body = b;
		q->cap = cap;
	}
	memcpy(q->r.body + q->r.len, p, len);
	q->r.len += len;
	q->r.body[q->r.len] = '\0';
	return len;
}

/* The value of header line h if it is name, trimmed, into out. */
static int
header_is(const char *h, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), i, j;

	if (len <= nl || strncasecmp(h, name, nl) != 0 || h[nl] != ':')
		return 0;
	for (i = nl + 1; i < len && (h[i] == ' ' || h[i] == '\t'); i++)
		;
	for (j = len; j > i && (h[j - 1] == '\r' || h[j - 1] == '\n' || h[j - 1] == ' '); j--)
		;
	if (j - i >= cap)
		j = i + cap - 1;
	memcpy(out, h + i, j - i);
	out[j - i] = '\0';
	return 1;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct ups_req *q = arg;
	size_t len = size * n;
	char v[2048];
	long secs;
	time_t when;

	/* A new response (after a 100 Continue) starts afresh. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		q->r.nonce[0] = '\0';
		q->r.retry_after = 0;
		free(q->r.location);
		q->r.location = NULL;
		return len;
	}
	if (header_is(p, len, "Replay-Nonce", q->r.nonce, sizeof(q->r.nonce)) ||
	    header_is(p, len, "Content-Type", q->r.content_type, sizeof(q->r.content_type))) {
		return len;
	} else if (header_is(p, len, "Location", v, sizeof(v))) {
		free(q->r.location);
		q->r.location = strdup(v);
	} else if (header_is(p, len, "Retry-After", v, sizeof(v))) {
		if (isdigit((unsigned char)v[0]) && (secs = strtol(v, NULL, 10)) > 0)
			q->r.retry_after = secs > 86400 ? 86400 : secs;
		else if ((when = curl_getdate(v, NULL)) > 0 && when > time(NULL))
			q->r.retry_after = when - time(NULL) > 86400 ? 86400 : when - time(NULL);
	}
	return len;
}

static void
on_done(struct val_xfer *x, CURLcode cc)
{
	struct ups_req *q = (struct ups_req *)(void *)x;

	if (cc != CURLE_OK) {
		q->r.status = 0;
		if (q->too_big)
			snprintf(q->r.err, sizeof(q->r.err), "the response is larger than %d bytes",
			    UPS_BODY_MAX);
		else if (q->r.err[0] == '\0')
			snprintf(q->r.err, sizeof(q->r.err), "%s", curl_easy_strerror(cc));
	} else {
		curl_easy_getinfo(q->x.easy, CURLINFO_RESPONSE_CODE, &q->r.status);
	}
	if (q->r.body == NULL && (q->r.body = strdup("")) == NULL)
		q->r.status = 0;
	q->cb(q->arg, &q->r);
	req_free(q);
}

enum acme_err
ups_http_start(struct val_curlm *m, const struct ups_http_opts *o, const char *method,
    const char *url, const char *body, const char *accept, ups_http_fn cb, void *arg,
    struct ups_req **out)
{
	struct ups_req *q = NULL;
	struct curl_slist *h;
	char line[256];
	enum acme_err rc = ACME_ENOMEM;
	CURL *e;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL || (q->x.easy = curl_easy_init()) == NULL)
		goto out;
	e = q->x.easy;
	q->m = m;
	q->cb = cb;
	q->arg = arg;
	q->x.done = on_done;
	if (accept != NULL) {
		snprintf(line, sizeof(line), "Accept: %s", accept);
		if ((h = curl_slist_append(q->hdrs, line)) == NULL)
			goto out;
		q->hdrs = h;
	}
	if (body != NULL) {
		if ((q->body_out = strdup(body)) == NULL ||
		    (h = curl_slist_append(q->hdrs, "Content-Type: application/jose+json")) == NULL)
			goto out;
		q->hdrs = h;
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body_out);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(q->body_out));
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, VAL_USER_AGENT " RA");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 30000L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 30000L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->r.err);
	if ((rc = val_curlm_add(m, &q->x)) != ACME_OK)
		goto out;
	*out = q;
	q = NULL;
out:
	req_free(q);
	return rc;
}

void
ups_http_cancel(struct ups_req *r)
{
	req_free(r);
}
