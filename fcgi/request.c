#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/problem.h"
#include "fcgi/request.h"

/* Input left after the body (or a body over the limit) is read and thrown
 * away up to this much, so that the connection can carry the next request;
 * past it the connection is closed instead. */
#define DRAIN_MAX (1024 * 1024)

enum fcgi_err
fcgi_parse_length(const char *s, int *present, uint64_t *len)
{
	uint64_t v = 0;
	size_t i;

	*present = 0;
	*len = 0;
	if (s == NULL || *s == '\0')
		return FCGI_OK;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 19)
			return FCGI_EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');   /* 19 digits cannot overflow */
	}
	*present = 1;
	*len = v;
	return FCGI_OK;
}

size_t
fcgi_path_len(const char *uri)
{
	return strcspn(uri, "?");
}

static const char *
param(FCGX_Request *r, const char *name)
{
	return FCGX_GetParam(name, r->envp);
}

/* The parameter, or NULL when absent or empty (web servers send "" for an
 * absent header or query). */
static const char *
param_nonempty(FCGX_Request *r, const char *name)
{
	const char *v = param(r, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* RFC 9110 tchar. */
static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
token_ok(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || !is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A field value we can put on one line: no CR, LF, NUL or other controls
 * but HTAB. The core builds every value; this is the last line of defence
 * against a header injection if one ever carries client data. */
static int
value_ok(const char *s)
{
	const unsigned char *p;

	if (s == NULL)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

/* Read up to want bytes (want <= INT_MAX chunks handled); *got is what
 * arrived before the end of input. */
static enum fcgi_err
in_read(FCGX_Stream *in, unsigned char *buf, size_t want, size_t *got)
{
	size_t n = 0;
	int chunk, r;

	while (n < want) {
		chunk = want - n > INT_MAX ? INT_MAX : (int)(want - n);
		r = FCGX_GetStr((char *)buf + n, chunk, in);
		if (r < 0 || FCGX_GetError(in) != 0) {
			*got = n;
			return FCGI_EPEER;
		}
		n += (size_t)r;
		if (r < chunk)
			break;          /* end of the body */
	}
	*got = n;
	return FCGI_OK;
}

/* Throw away the rest of the input, at most DRAIN_MAX bytes. *at_end is
 * 1 when the end of the input was reached. */
static enum fcgi_err
in_drain(FCGX_Stream *in, int *at_end)
{
	unsigned char scratch[4096];
	size_t total = 0, got;
	enum fcgi_err rc;

	*at_end = 0;
	while (total < DRAIN_MAX) {
		rc = in_read(in, scratch, sizeof(scratch), &got);
		if (rc != FCGI_OK)
			return rc;
		total += got;
		if (got < sizeof(scratch)) {
			*at_end = 1;
			break;
		}
	}
	return FCGI_OK;
}

/*
 * The body, into buf (max_body + 1 bytes). With a Content-Length over the
 * limit nothing is kept (*too_big); without one, reading stops at the
 * limit. FCGI_EINVAL when the input ends before Content-Length bytes.
 */
static enum fcgi_err
body_read(FCGX_Stream *in, int have_len, uint64_t clen, size_t max_body, unsigned char *buf,
    size_t *len, int *too_big, int *close_conn)
{
	enum fcgi_err rc = FCGI_OK;
	size_t want, got = 0;
	int at_end = 0;

	*len = 0;
	*too_big = 0;
	if (have_len && clen > max_body) {
		*too_big = 1;
	} else {
		want = have_len ? (size_t)clen : max_body + 1;
		rc = in_read(in, buf, want, &got);
		if (rc != FCGI_OK)
			goto out;
		if (have_len && got < clen) {
			rc = FCGI_EINVAL;
			goto out;
		}
		if (got > max_body) {
			*too_big = 1;
		} else {
			*len = got;
			if (!have_len)
				goto out;   /* in_read stopped at the end of the input */
		}
	}
	rc = in_drain(in, &at_end);
	if (rc == FCGI_OK && !at_end)
		*close_conn = 1;
out:
	return rc;
}

static enum fcgi_err
out_str(FCGX_Stream *out, const char *s, size_t n)
{
	int chunk;

	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : (int)n;
		if (FCGX_PutStr(s, chunk, out) != chunk)
			return FCGI_EPEER;
		s += chunk;
		n -= (size_t)chunk;
	}
	return FCGI_OK;
}

static enum fcgi_err
out_fmt(FCGX_Stream *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum fcgi_err
out_fmt(FCGX_Stream *out, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return FCGI_EINVAL;
	return out_str(out, line, (size_t)n);
}

static enum fcgi_err
out_header(FCGX_Stream *out, const char *name, const char *value)
{
	if (out_str(out, name, strlen(name)) != FCGI_OK || out_str(out, ": ", 2) != FCGI_OK ||
	    out_str(out, value, strlen(value)) != FCGI_OK || out_str(out, "\r\n", 2) != FCGI_OK)
		return FCGI_EPEER;
	return FCGI_OK;
}

/* Statuses that never carry a body or a Content-Length (RFC 9110 8.6). */
static int
status_bodiless(int status)
{
	return status < 200 || status == 204 || status == 304;
}

static const char *
reason(int status)
{
	const char *s = acme_http_reason(status);

	return s != NULL && value_ok(s) ? s : "";
}

/* Headers the front writes itself; a copy from the core would be a duplicate. */
static int
header_reserved(const char *name)
{
	return strcasecmp(name, "Status") == 0 || strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Content-Type") == 0;
}

static enum fcgi_err
resp_write(FCGX_Stream *out, int head, const struct acme_resp *resp, struct fcgi_outcome *res)
{
	int status = resp->status;
	int bodiless;
	size_t i;

	if (status < 100 || status > 599) {
		log_err("the core answered with HTTP status %d; sending 500", status);
		status = 500;
	}
	bodiless = status_bodiless(status);
	res->status = status;
	if (out_fmt(out, "Status: %d %s\r\n", status, reason(status)) != FCGI_OK)
		goto peer;
	for (i = 0; i < resp->nhdr && i < ACME_MAX_HDRS; i++) {
		const struct acme_hdr *h = &resp->hdr[i];

		if (!token_ok(h->name, 64) || header_reserved(h->name) || !value_ok(h->value)) {
			log_err("response header %zu (%s) refused: bad name or value", i,
			    h->name != NULL ? h->name : "(null)");
			continue;
		}
		if (out_header(out, h->name, h->value) != FCGI_OK)
			goto peer;
	}
	/* For HEAD too: the core builds the same body as for GET, which gives
	 * the Content-Length a GET would get; only the body is left out. */
	if (!bodiless) {
		if (resp->content_type != NULL && value_ok(resp->content_type) &&
		    out_header(out, "Content-Type", resp->content_type) != FCGI_OK)
			goto peer;
		if (out_fmt(out, "Content-Length: %zu\r\n", resp->body != NULL ? resp->body_len : 0) !=
		    FCGI_OK)
			goto peer;
	}
	if (out_str(out, "\r\n", 2) != FCGI_OK)
		goto peer;
	if (!bodiless && !head && resp->body != NULL && resp->body_len > 0 &&
	    out_str(out, resp->body, resp->body_len) != FCGI_OK)
		goto peer;
	return FCGI_OK;
peer:
	res->close = 1;
	return FCGI_EPEER;
}

/* An answer made by the front itself, for a request the core never sees:
 * the web server sent something no configuration of ours produces. */
static enum fcgi_err
front_error(FCGX_Stream *out, int head, int status, enum acme_prob type, const char *detail,
    struct fcgi_outcome *res)
{
	char body[512];
	int n;

	n = snprintf(body, sizeof(body), "{\"type\":\"%s\",\"detail\":\"%s\",\"status\":%d}",
	    acme_prob_urn(type), detail, status);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	res->status = status;
	if (out_fmt(out, "Status: %d %s\r\n", status, reason(status)) != FCGI_OK ||
	    out_header(out, "Content-Type", "application/problem+json") != FCGI_OK ||
	    out_fmt(out, "Content-Length: %d\r\n\r\n", n) != FCGI_OK ||
	    (!head && out_str(out, body, (size_t)n) != FCGI_OK)) {
		res->close = 1;
		return FCGI_EPEER;
	}
	return FCGI_OK;
}

enum fcgi_err
fcgi_request_serve(struct acme_ctx *ctx, FCGX_Request *r, unsigned char *body_buf,
    size_t max_body, struct fcgi_outcome *res)
{
	struct acme_req q;
	struct acme_resp resp;
	const char *role, *method, *uri;
	char *path = NULL;
	uint64_t clen = 0;
	int have_len = 0, head;
	int64_t t0 = fcgi_now_ms();
	enum fcgi_err rc;

	memset(&q, 0, sizeof(q));
	memset(&resp, 0, sizeof(resp));
	memset(res, 0, sizeof(*res));
	role = param(r, "FCGI_ROLE");
	method = param(r, "REQUEST_METHOD");
	uri = param(r, "REQUEST_URI");
	head = method != NULL && strcmp(method, "HEAD") == 0;

	if (role == NULL || strcmp(role, "RESPONDER") != 0) {
		log_err("FastCGI role %s: only RESPONDER is served", role != NULL ? role : "(none)");
		res->close = 1;
		rc = front_error(r->out, head, 500, PROB_SERVER_INTERNAL,
		    "FastCGI role not supported", res);
		goto out;
	}
	if (!token_ok(method, 32)) {
		log_err("the web server passed no usable REQUEST_METHOD");
		res->close = 1;
		rc = front_error(r->out, head, 500, PROB_SERVER_INTERNAL,
		    "web server misconfigured", res);
		goto out;
	}
	if (uri == NULL) {
		log_err("the web server does not pass REQUEST_URI "
		    "(nginx: fastcgi_param REQUEST_URI $request_uri; see contrib/)");
		res->close = 1;
		rc = front_error(r->out, head, 500, PROB_SERVER_INTERNAL,
		    "web server misconfigured", res);
		goto out;
	}
	if (uri[0] != '/') {
		res->close = 1;
		rc = front_error(r->out, head, 400, PROB_MALFORMED,
		    "the request target must be a path", res);
		goto out;
	}
	if (fcgi_parse_length(param(r, "CONTENT_LENGTH"), &have_len, &clen) != FCGI_OK) {
		res->close = 1;
		rc = front_error(r->out, head, 400, PROB_MALFORMED, "invalid Content-Length", res);
		goto out;
	}
	path = strndup(uri, fcgi_path_len(uri));
	if (path == NULL) {
		log_err("request: out of memory");
		res->close = 1;
		rc = front_error(r->out, head, 500, PROB_SERVER_INTERNAL, "out of memory", res);
		goto out;
	}
	rc = body_read(r->in, have_len, clen, max_body, body_buf, &q.body_len, &q.body_too_big,
	    &res->close);
	if (rc == FCGI_EINVAL) {
		res->close = 1;
		rc = front_error(r->out, head, 400, PROB_MALFORMED,
		    "request body shorter than its Content-Length", res);
		goto out;
	}
	if (rc != FCGI_OK) {
		log_info("%s %s: the web server closed the connection while sending the body",
		    method, path);
		res->close = 1;
		goto out;
	}

	q.method = method;
	q.path = path;
	q.query = param_nonempty(r, "QUERY_STRING");
	q.content_type = param_nonempty(r, "CONTENT_TYPE");
	q.accept = param_nonempty(r, "HTTP_ACCEPT");
	q.remote_addr = param_nonempty(r, "REMOTE_ADDR");
	q.origin = param_nonempty(r, "HTTP_ORIGIN");
	q.body = body_buf;

	acme_handle(ctx, &q, &resp);
	res->fatal = resp.fatal;
	rc = resp_write(r->out, head, &resp, res);
	if (rc != FCGI_OK)
		log_info("%s %s: the web server closed the connection before the reply was out",
		    method, path);
	log_debug("%s %s %d %lldms%s", method, path, res->status,
	    (long long)(fcgi_now_ms() - t0), q.body_too_big ? " (body over the limit)" : "");
	acme_resp_clear(&resp);
out:
	free(path);
	return rc;
}
