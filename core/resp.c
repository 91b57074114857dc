/* Building responses: headers, JSON bodies, problem documents. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/internal.h"
#include "core/json.h"
#include "core/log.h"

void
acme_resp_header(struct acme_resp *resp, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v;

	if (resp->nhdr >= ACME_MAX_HDRS)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (v == NULL)
		return;
	resp->hdr[resp->nhdr].name = name;
	resp->hdr[resp->nhdr].value = v;
	resp->nhdr++;
}

void
acme_resp_clear(struct acme_resp *resp)
{
	size_t i;

	for (i = 0; i < resp->nhdr; i++)
		free(resp->hdr[i].value);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

const char *
acme_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static void
set_body(struct acme_resp *resp, int status, const char *ctype, char *body)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = ctype;
	resp->body = body;
	resp->body_len = body ? strlen(body) : 0;
}

void
rq_json(struct acme_rq *rq, int status, struct json_object *body)
{
	char *text = acme_json_dump(body);

	json_object_put(body);
	if (text == NULL) {
		acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "out of memory");
		rq_problem(rq);
		return;
	}
	set_body(rq->resp, status, "application/json", text);
}

void
rq_problem(struct acme_rq *rq)
{
	char *text;
	int status;

	if (rq->prob.type == PROB_NONE)
		acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "internal error");
	status = acme_problem_http_status(&rq->prob);
	text = acme_problem_json(&rq->prob);
	set_body(rq->resp, status, "application/problem+json", text);
	if (status >= 500)
		rq_retry_after(rq, status == 503 ? 10 : 60);
}

void
rq_location(struct acme_rq *rq, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (v != NULL) {
		acme_resp_header(rq->resp, "Location", "%s", v);
		free(v);
	}
}

void
rq_link(struct acme_rq *rq, const char *url, const char *rel)
{
	acme_resp_header(rq->resp, "Link", "<%s>;rel=\"%s\"", url, rel);
}

void
rq_retry_after(struct acme_rq *rq, int64_t seconds)
{
	size_t i;

	if (seconds < 0)
		seconds = 0;
	for (i = 0; i < rq->resp->nhdr; i++)
		if (strcmp(rq->resp->hdr[i].name, "Retry-After") == 0)
			return;
	acme_resp_header(rq->resp, "Retry-After", "%lld", (long long)seconds);
}

int
rq_store_error(struct acme_rq *rq, enum store_err e)
{
	switch (e) {
	case STORE_NOSPACE:
		acme_problem_status(&rq->prob, PROB_SERVER_INTERNAL, 503,
		    "the server's storage is full; try again later");
		break;
	case STORE_RECOVER:
		acme_problem_status(&rq->prob, PROB_SERVER_INTERNAL, 503,
		    "the server's storage is recovering; try again shortly");
		rq->resp->fatal = 1;
		break;
	case STORE_CONFLICT:
		acme_problem_status(&rq->prob, PROB_SERVER_INTERNAL, 503,
		    "the server is busy; try again shortly");
		break;
	default:
		log_err("store: %s", store_strerror(e));
		acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "internal storage error");
		break;
	}
	return -1;
}

int
acme_rate_limited(struct acme_rq *rq, int64_t retry_after, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	acme_problem_vset(&rq->prob, PROB_RATE_LIMITED, fmt, ap);
	va_end(ap);
	rq_retry_after(rq, retry_after);
	if (rq->dir->cfg->rate_limit_doc != NULL)
		rq_link(rq, rq->dir->cfg->rate_limit_doc, "help");
	return -1;
}
