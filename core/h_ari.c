/* ACME Renewal Information (RFC 9773): the renewalInfo resource and the
 * checks on newOrder's "replaces". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/b64.h"
#include "core/internal.h"
#include "core/json.h"

/* How often clients should ask again (RFC 9773 section 4.3). */
#define ARI_RETRY_AFTER (6 * 3600)

int
acme_ari_id_ok(const char *id)
{
	const char *dot = strchr(id, '.');
	unsigned char buf[64];
	size_t len;

	if (dot == NULL || strchr(dot + 1, '.') != NULL || strlen(id) > STORE_ARI_MAX)
		return 0;
	if (b64u_decode_buf(id, (size_t)(dot - id), buf, sizeof(buf), &len) != ACME_OK || len == 0)
		return 0;
	if (b64u_decode_buf(dot + 1, strlen(dot + 1), buf, sizeof(buf), &len) != ACME_OK || len == 0)
		return 0;
	return 1;
}

void
acme_ari_window(const struct store_cert *c, int64_t now, int64_t *start, int64_t *end)
{
	int64_t life = c->not_after - c->not_before;

	if (c->revoked) {
		/* Renew now: a window that has already passed (RFC 9773 section 4.2). */
		*end = now - 1;
		*start = *end - 3600;
		return;
	}
	/* The operator's (acme-admin certs renew-early), then the upstream's
	 * for a certificate from an RA directory's upstream. */
	if (c->renew_start > 0 && c->renew_end >= c->renew_start) {
		*start = c->renew_start;
		*end = c->renew_end;
		return;
	}
	if (c->upstream && c->ari_start > 0 && c->ari_end >= c->ari_start) {
		*start = c->ari_start;
		*end = c->ari_end;
		return;
	}
	/* The middle third of the last third of the lifetime, as Let's Encrypt
	 * does: renewals spread out, with time left for a retry. */
	*start = c->not_before + life * 2 / 3;
	*end = c->not_before + life * 5 / 6;
	if (*end <= *start)
		*end = *start + 1;
}

struct ari_get {
	const char *id;
	struct store_cert c;
};

static enum store_err
ari_txn(struct store_txn *t, void *arg)
{
	struct ari_get *g = arg;
	char serial[STORE_SERIAL_MAX + 1];
	enum store_err e;

	store_cert_free(&g->c);
	if ((e = store_cert_by_ari(t, g->id, serial)) != STORE_OK)
		return e;
	return store_cert_get(t, serial, &g->c);
}

int
acme_h_renewal_info(struct acme_rq *rq, const char *id)
{
	struct ari_get g;
	struct json_object *body, *win;
	char ts[32];
	int64_t start, end;
	enum store_err e;
	int rc = -1;

	memset(&g, 0, sizeof(g));
	if (!acme_ari_id_ok(id))
		return acme_problem_set(&rq->prob, PROB_MALFORMED,
		    "not a renewalInfo id (base64url AKI keyIdentifier \".\" base64url serial)");
	g.id = id;
	e = store_txn_run(rq->ctx->store, STORE_TXN_RO, ari_txn, &g);
	if (e == STORE_NOTFOUND || (e == STORE_OK && strcmp(g.c.dir, rq->dir->cfg->name) != 0)) {
		rc = acme_problem_status(&rq->prob, PROB_MALFORMED, 404, "no certificate with this id");
		goto out;
	}
	if (e != STORE_OK) {
		rc = rq_store_error(rq, e);
		goto out;
	}
	acme_ari_window(&g.c, rq->now, &start, &end);
	body = json_object_new_object();
	win = json_object_new_object();
	acme_rfc3339(start, ts);
	acme_json_add_str(win, "start", ts);
	acme_rfc3339(end, ts);
	acme_json_add_str(win, "end", ts);
	json_object_object_add(body, "suggestedWindow", win);
	/* RFC 9773 section 4.2: why the window is where it is, when the
	 * operator moved it and said why (an absolute URL, checked there). */
	if (g.c.renew_why != NULL && g.c.renew_start > 0 && !g.c.revoked)
		acme_json_add_str(body, "explanationURL", g.c.renew_why);
	rq_retry_after(rq, ARI_RETRY_AFTER);
	rq_json(rq, 200, body);
	rc = 0;
out:
	store_cert_free(&g.c);
	return rc;
}
