/* Certificate download (RFC 8555 section 7.4.2): the chain as PEM, the
 * alternate chains, and the leaf alone for Accept: application/pkix-cert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"

struct get_cert {
	const char *serial;
	struct store_cert c;
};

static enum store_err
get_cert_txn(struct store_txn *t, void *arg)
{
	struct get_cert *g = arg;

	store_cert_free(&g->c);
	return store_cert_get(t, g->serial, &g->c);
}

static int
wants_der(const char *accept)
{
	return accept != NULL && strncasecmp(accept, "application/pkix-cert", 21) == 0;
}

/* Links to the other chains of this certificate (CRT-04). */
static void
alternate_links(struct acme_rq *rq, const char *serial, size_t current)
{
	char *u, n[24];
	size_t i;

	for (i = 0; i <= rq->dir->nalt; i++) {
		if (i == current)
			continue;
		if (i == 0) {
			u = acme_url(rq->dir, "cert", serial);
		} else {
			snprintf(n, sizeof(n), "%zu", i);
			u = acme_url_sub(rq->dir, "cert", serial, n);
		}
		if (u != NULL)
			rq_link(rq, u, "alternate");
		free(u);
	}
}

/* Serve certificate serial with chain number alt (0 = the one issued with it). */
static int
serve_cert(struct acme_rq *rq, const char *serial, size_t alt)
{
	struct get_cert g;
	enum store_err e;
	char *leaf = NULL, *body = NULL, *up;
	const char *chain;
	int rc = -1;

	memset(&g, 0, sizeof(g));
	if (acme_auth(rq, AUTH_KID) < 0)
		return -1;
	if (rq->jws.payload_len != 0)
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "a certificate is fetched with POST-as-GET (empty payload)");
	if (alt > rq->dir->nalt)
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such chain");
	g.serial = serial;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RO, get_cert_txn, &g);
	if (e == STORE_NOTFOUND) {
		rc = acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such certificate");
		goto out;
	}
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	if (strcmp(g.c.acct, rq->acct.id) != 0 || strcmp(g.c.dir, rq->dir->cfg->name) != 0) {
		rc = acme_problem_set(&rq->prob, PROB_UNAUTHORIZED, "this certificate belongs to another account");
		goto out;
	}
	if ((up = acme_url(rq->dir, "issuer", NULL)) != NULL) {
		rq_link(rq, up, "up");
		free(up);
	}
	alternate_links(rq, serial, alt);
	rq->resp->status = 200;
	if (wants_der(rq->req->accept)) {
		if ((body = malloc(g.c.der_len)) == NULL)
			goto nomem;
		memcpy(body, g.c.der, g.c.der_len);
		rq->resp->content_type = "application/pkix-cert";
		rq->resp->body = body;
		rq->resp->body_len = g.c.der_len;
		rc = 0;
		goto out;
	}
	chain = alt == 0 ? (g.c.chain ? g.c.chain : "") : rq->dir->alt_pem[alt - 1];
	if ((leaf = ca_der_to_pem(g.c.der, g.c.der_len)) == NULL ||
	    asprintf(&body, "%s%s", leaf, chain) < 0)
		goto nomem;
	/* Exactly this value, no charset: some clients compare the string (CRT-08). */
	rq->resp->content_type = "application/pem-certificate-chain";
	rq->resp->body = body;
	rq->resp->body_len = strlen(body);
	rc = 0;
	goto out;
nomem:
	rc = acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "out of memory");
out:
	free(leaf);
	store_cert_free(&g.c);
	return rc;
}

int
acme_h_cert(struct acme_rq *rq, const char *serial)
{
	return serve_cert(rq, serial, 0);
}

int
acme_h_cert_alt(struct acme_rq *rq, const char *serial, const char *n)
{
	char *end;
	unsigned long v = strtoul(n, &end, 10);

	if (*end != '\0' || v == 0 || v > 64)
		return acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no such chain");
	return serve_cert(rq, serial, (size_t)v);
}
