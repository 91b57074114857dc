/* One FastCGI request: the web server's parameters and body become a
 * struct acme_req, the core's struct acme_resp becomes CGI-style output. */
#ifndef ACME_FCGI_REQUEST_H
#define ACME_FCGI_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

#include "core/acme.h"
#include "fcgi/fcgi.h"

/* What serving one request tells the worker. */
struct fcgi_outcome {
	int status;     /* the HTTP status sent, 0 if nothing was sent */
	int fatal;      /* the core needs a restart: exit once this reply is out */
	int close;      /* close the connection after this request (input left unread,
	                   or output failed) */
};

/*
 * Serve the request FCGX_Accept_r() just returned in r: read the parameters
 * and at most max_body bytes of body into body_buf (which holds max_body + 1
 * bytes; borrowed), call acme_handle(), write the response to r->out. Does
 * not call FCGX_Finish_r(). Bodies, keys and nonces are never logged.
 * FCGI_OK when a response was written (an error response for a broken
 * request is still FCGI_OK); FCGI_EPEER when the web server went away.
 */
enum fcgi_err fcgi_request_serve(struct acme_ctx *ctx, FCGX_Request *r,
    unsigned char *body_buf, size_t max_body, struct fcgi_outcome *out);

/*
 * CONTENT_LENGTH, parsed strictly: NULL or "" is absent (*present = 0);
 * otherwise 1 to 19 ASCII digits and nothing else (*present = 1, *len set).
 * FCGI_EINVAL for signs, spaces, other characters or overflow.
 */
enum fcgi_err fcgi_parse_length(const char *s, int *present, uint64_t *len);

/* The length of the path part of a raw REQUEST_URI: up to the first '?'. */
size_t fcgi_path_len(const char *uri);

#endif
