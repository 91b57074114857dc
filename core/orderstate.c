/*
 * An order's status as the client sees it (RFC 8555 section 7.1.6). The
 * stored status says pending, processing, valid or invalid; while pending,
 * the order is ready when every authorization is valid, and invalid when
 * one of them ended in another final state or when the order expired.
 * Deriving "ready" on read means the validator never has to find and
 * update the orders that share an authorization.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/internal.h"
#include "core/json.h"

static char *
expired_problem(const char *what)
{
	struct acme_problem p;
	char *s;

	memset(&p, 0, sizeof(p));
	acme_problem_set(&p, PROB_MALFORMED, "%s", what);
	s = acme_problem_json(&p);
	acme_problem_clear(&p);
	return s;
}

enum store_status
acme_order_status(struct store_txn *t, const struct store_order *o, int64_t now, char **err)
{
	struct store_authz z;
	enum store_status st, zst;
	size_t i, nvalid = 0;

	*err = NULL;
	if (o->status != STORE_ST_PENDING)
		return (enum store_status)o->status;
	if (o->expires <= now) {
		*err = expired_problem("order expired before it was finalized");
		return STORE_ST_INVALID;
	}
	st = STORE_ST_PENDING;
	for (i = 0; i < o->nauthz; i++) {
		memset(&z, 0, sizeof(z));
		if (store_authz_get(t, o->authz[i], &z) != STORE_OK) {
			store_authz_free(&z);
			continue;       /* counted neither valid nor failed: stays pending */
		}
		zst = acme_authz_status(&z, now);
		if (zst == STORE_ST_VALID) {
			nvalid++;
		} else if (zst != STORE_ST_PENDING) {
			st = STORE_ST_INVALID;
			for (size_t c = 0; c < z.nchall && *err == NULL; c++)
				if (z.chall[c].error != NULL)
					*err = strdup(z.chall[c].error);
			if (*err == NULL)
				*err = expired_problem(zst == STORE_ST_EXPIRED ?
				    "an authorization expired" : "an authorization is no longer valid");
			store_authz_free(&z);
			break;
		}
		store_authz_free(&z);
	}
	if (st == STORE_ST_PENDING && o->nauthz > 0 && nvalid == o->nauthz)
		st = STORE_ST_READY;
	return st;
}
