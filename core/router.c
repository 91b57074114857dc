/*
 * The router: one entry point for every request, so that the headers every
 * response needs (Replay-Nonce on POSTs and newNonce, Link rel="index", CORS)
 * are added in one place and no handler can forget them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "core/internal.h"
#include "core/log.h"

enum method_bit { M_GET = 1, M_HEAD = 2, M_POST = 4 };

enum route_kind { R_PLAIN, R_ID, R_ID2 };

struct route {
	const char *name;         /* first path segment */
	enum route_kind kind;     /* how many ids follow */
	unsigned methods;
	int dotted;               /* the id may contain '.' (ARI CertIDs) */
	int (*h0)(struct acme_rq *);
	int (*h1)(struct acme_rq *, const char *);
	int (*h2)(struct acme_rq *, const char *, const char *);
};

static const struct route routes[] = {
	{ "directory", R_PLAIN, M_GET | M_HEAD | M_POST, 0, acme_h_directory, NULL, NULL },
	{ "new-nonce", R_PLAIN, M_GET | M_HEAD | M_POST, 0, acme_h_new_nonce, NULL, NULL },
	{ "new-account", R_PLAIN, M_POST, 0, acme_h_new_account, NULL, NULL },
	{ "new-order", R_PLAIN, M_POST, 0, acme_h_new_order, NULL, NULL },
	{ "new-authz", R_PLAIN, M_POST, 0, acme_h_new_authz, NULL, NULL },
	{ "acct", R_ID, M_POST, 0, NULL, acme_h_account, NULL },
	{ "orders", R_ID, M_POST, 0, NULL, acme_h_orders, NULL },
	{ "order", R_ID, M_POST, 0, NULL, acme_h_order, NULL },
	{ "finalize", R_ID, M_POST, 0, NULL, acme_h_finalize, NULL },
	{ "authz", R_ID, M_POST, 0, NULL, acme_h_authz, NULL },
	{ "chall", R_ID2, M_POST, 0, NULL, NULL, acme_h_chall },
	{ "cert", R_ID, M_POST, 0, NULL, acme_h_cert, NULL },
	{ "cert", R_ID2, M_POST, 0, NULL, NULL, acme_h_cert_alt },
	{ "key-change", R_PLAIN, M_POST, 0, acme_h_key_change, NULL, NULL },
	{ "revoke-cert", R_PLAIN, M_POST, 0, acme_h_revoke, NULL, NULL },
	{ "renewal-info", R_ID, M_GET | M_HEAD, 1, NULL, acme_h_renewal_info, NULL },
	{ "crl", R_PLAIN, M_GET | M_HEAD, 0, acme_h_crl, NULL, NULL },
	{ "issuer", R_PLAIN, M_GET | M_HEAD, 0, acme_h_issuer, NULL, NULL },
};

static unsigned
method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return M_GET;
	if (strcmp(m, "HEAD") == 0)
		return M_HEAD;
	if (strcmp(m, "POST") == 0)
		return M_POST;
	return 0;
}

static void
allow_header(struct acme_resp *resp, unsigned methods)
{
	acme_resp_header(resp, "Allow", "%s%s%s",
	    (methods & M_GET) ? "GET, " : "", (methods & M_HEAD) ? "HEAD, " : "",
	    (methods & M_POST) ? "POST" : "");
}

static struct acme_dir *
find_dir(struct acme_ctx *ctx, const char *path, const char **rest)
{
	size_t i;

	for (i = 0; i < ctx->ndir; i++) {
		struct acme_dir *d = &ctx->dir[i];
		if (strncmp(path, d->path_prefix, d->path_prefix_len) == 0) {
			*rest = path + d->path_prefix_len;
			return d;
		}
	}
	return NULL;
}

/* Split "a/b/c" into up to three segments in buf; returns the count, or -1. */
static int
split_path(const char *rest, char *buf, size_t len, char *seg[3])
{
	int n = 0;
	char *p;

	if (strlen(rest) >= len)
		return -1;
	strcpy(buf, rest);
	p = buf;
	while (n < 3) {
		seg[n++] = p;
		if ((p = strchr(p, '/')) == NULL)
			break;
		*p++ = '\0';
	}
	if (p != NULL)
		return -1;
	for (int i = 0; i < n; i++)
		if (seg[i][0] == '\0')
			return -1;
	return n;
}

static int
dispatch(struct acme_rq *rq)
{
	char buf[256], *seg[3] = { NULL, NULL, NULL };
	const struct route *r = NULL;
	unsigned m = method_bit(rq->req->method);
	int n;
	size_t i;

	n = split_path(rq->rest, buf, sizeof(buf), seg);
	for (i = 0; n > 0 && i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].name, seg[0]) == 0 && (int)routes[i].kind + 1 == n) {
			r = &routes[i];
			break;
		}
	if (r == NULL)
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such resource");
	if ((r->methods & m) == 0) {
		allow_header(rq->resp, r->methods);
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 405,
		    "method %s is not allowed here", rq->req->method);
	}
	for (i = 1; i < (size_t)n; i++)
		if (!(r->dotted ? acme_ari_id_ok(seg[i]) : acme_id_ok(seg[i], 64)))
			return acme_problem_status(&rq->prob, PROB_MALFORMED, r->dotted ? 400 : 404, "%s",
			    r->dotted ? "not a renewalInfo id" : "no such resource");
	rq->is_post = (m == M_POST);
	switch (r->kind) {
	case R_PLAIN: return r->h0(rq);
	case R_ID: return r->h1(rq, seg[1]);
	default: return r->h2(rq, seg[1], seg[2]);
	}
}

static void
cors(struct acme_rq *rq)
{
	if (rq->req->origin == NULL)
		return;
	acme_resp_header(rq->resp, "Access-Control-Allow-Origin", "*");
	acme_resp_header(rq->resp, "Access-Control-Expose-Headers",
	    "Link, Replay-Nonce, Location, Retry-After");
}

void
acme_handle(struct acme_ctx *ctx, const struct acme_req *req, struct acme_resp *resp)
{
	struct acme_rq rq;
	struct timespec ts;
	char nonce[24];
	int rc, is_directory;

	memset(resp, 0, sizeof(*resp));
	memset(&rq, 0, sizeof(rq));
	rq.ctx = ctx;
	rq.req = req;
	rq.resp = resp;
	clock_gettime(CLOCK_REALTIME, &ts);
	rq.now = (int64_t)ts.tv_sec;
	rq.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	if (req->method == NULL || req->path == NULL) {
		acme_problem_set(&rq.prob, PROB_MALFORMED, "incomplete request");
		rq_problem(&rq);
		goto out;
	}
	cors(&rq);
	if ((rq.dir = find_dir(ctx, req->path, &rq.rest)) == NULL) {
		acme_problem_status(&rq.prob, PROB_MALFORMED, 404, "no such resource");
		rq_problem(&rq);
		goto out;
	}
	if (strcmp(req->method, "OPTIONS") == 0 && req->origin != NULL) {
		/* CORS preflight. */
		resp->status = 204;
		acme_resp_header(resp, "Access-Control-Allow-Methods", "GET, HEAD, POST");
		acme_resp_header(resp, "Access-Control-Allow-Headers", "Content-Type");
		acme_resp_header(resp, "Access-Control-Max-Age", "86400");
		goto out;
	}
	if (asprintf(&rq.url, "%s%s%s%s", ctx->cfg->base_url, req->path,
	    req->query && *req->query ? "?" : "", req->query && *req->query ? req->query : "") < 0)
		rq.url = NULL;
	is_directory = strcmp(rq.rest, "directory") == 0;
	if (!is_directory)
		acme_resp_header(resp, "Link", "%s", rq.dir->index_link);
	rc = rq.url != NULL ? dispatch(&rq) : acme_problem_set(&rq.prob, PROB_SERVER_INTERNAL, "out of memory");
	if (rc < 0)
		rq_problem(&rq);
	/* Every POST response carries a fresh nonce, errors included, so a client
	 * never has to fetch one to retry (a badNonce response included). */
	if (rq.is_post || strcmp(req->method, "POST") == 0) {
		if (acme_nonce_new(ctx, nonce) == ACME_OK)
			acme_resp_header(resp, "Replay-Nonce", "%s", nonce);
	}
out:
	if (resp->status == 0)
		resp->status = 500;
	jws_clear(&rq.jws);
	store_account_free(&rq.acct);
	jwk_clear(&rq.jwk);
	acme_problem_clear(&rq.prob);
	free(rq.url);
}
