/*
 * The protocol core's entry point: a transport-neutral request in, a response
 * out. fcgi/ fills struct acme_req from FastCGI parameters and writes struct
 * acme_resp back; tests and fuzzers call acme_handle() directly.
 */
#ifndef ACME_CORE_ACME_H
#define ACME_CORE_ACME_H

#include <stddef.h>

#include "core/config.h"
#include "core/err.h"

struct acme_req {
	const char *method;          /* "GET", "HEAD", "POST", ... */
	const char *path;            /* raw request path, without the query */
	const char *query;           /* raw query string or NULL */
	const char *content_type;    /* NULL if none */
	const char *accept;          /* NULL if none */
	const char *remote_addr;     /* client address as the web server saw it */
	const char *origin;          /* Origin header or NULL (CORS) */
	const unsigned char *body;
	size_t body_len;
	int body_too_big;            /* the front stopped reading at the limit */
};

#define ACME_MAX_HDRS 16

struct acme_hdr {
	const char *name;            /* static */
	char *value;                 /* owned */
};

struct acme_resp {
	int status;
	const char *content_type;    /* static, or NULL for no body */
	size_t nhdr;
	struct acme_hdr hdr[ACME_MAX_HDRS];
	char *body;                  /* owned, may be NULL */
	size_t body_len;
	int fatal;                   /* the store needs recovery: exit after replying */
};

struct acme_ctx;

/*
 * Per-process context: the configuration (borrowed, must outlive the ctx),
 * the store opened in this process, the nonce table, each directory's CA.
 * Call after fork. *out freed with acme_ctx_free().
 */
enum acme_err acme_ctx_new(const struct acme_config *cfg, struct acme_ctx **out);
void acme_ctx_free(struct acme_ctx *ctx);

/* Handle one request; resp is filled (status, headers, body). Never fails:
 * errors become problem documents. Release resp with acme_resp_clear(). */
void acme_handle(struct acme_ctx *ctx, const struct acme_req *req, struct acme_resp *resp);

void acme_resp_clear(struct acme_resp *resp);

/* Add a header (value copied). Silently dropped past ACME_MAX_HDRS. */
void acme_resp_header(struct acme_resp *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The reason phrase for an HTTP status ("OK", "Not Found", ...). */
const char *acme_http_reason(int status);

#endif
