/* The directory and newNonce resources (RFC 8555 sections 7.1.1, 7.2). */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

int
acme_h_directory(struct acme_rq *rq)
{
	/* POST-as-GET is allowed too (RFC 8555 section 6.3). */
	if (rq->is_post && acme_auth(rq, AUTH_EITHER) < 0)
		return -1;
	rq->resp->status = 200;
	rq->resp->content_type = "application/json";
	if ((rq->resp->body = strdup(rq->dir->directory_json)) == NULL)
		return acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "out of memory");
	rq->resp->body_len = strlen(rq->resp->body);
	acme_resp_header(rq->resp, "Cache-Control", "public, max-age=600");
	return 0;
}

int
acme_h_new_nonce(struct acme_rq *rq)
{
	char nonce[24];

	if (rq->is_post) {
		if (acme_auth(rq, AUTH_KID) < 0)
			return -1;
		rq->resp->status = 200;
	} else {
		if (acme_nonce_new(rq->ctx, nonce) != ACME_OK)
			return acme_problem_set(&rq->prob, PROB_SERVER_INTERNAL, "cannot make a nonce");
		acme_resp_header(rq->resp, "Replay-Nonce", "%s", nonce);
		/* RFC 8555 section 7.2: 200 for HEAD, 204 for GET. */
		rq->resp->status = strcmp(rq->req->method, "HEAD") == 0 ? 200 : 204;
	}
	acme_resp_header(rq->resp, "Cache-Control", "no-store");
	return 0;
}
