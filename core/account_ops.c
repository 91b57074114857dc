/* Account operations shared by core/h_account.c and acme-admin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/account_ops.h"
#include "core/problem.h"

#define ORDERS_PAGE 256   /* order ids read per index scan; the next goes on after the last */

struct page {
	store_id_fn fn;
	void *arg;
	size_t seen;
	int stopped;
	store_id last;
};

static int
page_cb(const char *id, void *arg)
{
	struct page *p = arg;

	p->seen++;
	snprintf(p->last, sizeof(p->last), "%s", id);
	p->stopped = p->fn(id, p->arg) != 0;
	return p->stopped;
}

enum store_err
acme_account_orders(struct store_txn *t, const char *acct, store_id_fn fn, void *arg)
{
	struct page p;
	enum store_err e;

	memset(&p, 0, sizeof(p));
	p.fn = fn;
	p.arg = arg;
	do {
		p.seen = 0;
		e = store_orders_by_account(t, acct, p.last, ORDERS_PAGE, page_cb, &p);
	} while (e == STORE_OK && !p.stopped && p.seen == ORDERS_PAGE);
	return e;
}

struct cancel {
	struct store_txn *t;
	int64_t now;
	enum store_err err;
};

static enum store_err
cancel_authz(struct store_txn *t, const char *id)
{
	struct store_authz z;
	enum store_err e;

	memset(&z, 0, sizeof(z));
	if ((e = store_authz_get(t, id, &z)) == STORE_OK && z.status == STORE_ST_PENDING) {
		z.status = STORE_ST_DEACTIVATED;
		z.due = 0;
		e = store_authz_put(t, &z, 0);
	}
	store_authz_free(&z);
	return e == STORE_NOTFOUND ? STORE_OK : e;
}

static int
cancel_cb(const char *id, void *arg)
{
	struct cancel *c = arg;
	struct store_order o;
	struct acme_problem p;
	size_t i;

	memset(&o, 0, sizeof(o));
	memset(&p, 0, sizeof(p));
	if ((c->err = store_order_get(c->t, id, &o)) != STORE_OK)
		goto out;
	if (o.status != STORE_ST_PENDING || o.expires <= c->now)
		goto out;
	for (i = 0; i < o.nauthz && c->err == STORE_OK; i++)
		c->err = cancel_authz(c->t, o.authz[i]);
	if (c->err != STORE_OK)
		goto out;
	acme_problem_set(&p, PROB_UNAUTHORIZED, "the account was deactivated");
	free(o.error);
	if ((o.error = acme_problem_json(&p)) == NULL) {
		c->err = STORE_NOMEM;
		goto out;
	}
	o.status = STORE_ST_INVALID;
	c->err = store_order_put(c->t, &o, 0);
out:
	acme_problem_clear(&p);
	store_order_free(&o);
	return c->err != STORE_OK;
}

enum store_err
acme_account_cancel_pending(struct store_txn *t, const char *acct, int64_t now)
{
	struct cancel c;
	enum store_err e;

	c.t = t;
	c.now = now;
	c.err = STORE_OK;
	e = acme_account_orders(t, acct, cancel_cb, &c);
	return e != STORE_OK ? e : c.err;
}

struct deactivate {
	const char *id;
	int64_t now;
	enum store_status before;
};

static enum store_err
deactivate_txn(struct store_txn *t, void *arg)
{
	struct deactivate *d = arg;
	struct store_account a;
	enum store_err e;

	memset(&a, 0, sizeof(a));
	d->before = STORE_ST_NONE;
	if ((e = store_account_get(t, d->id, &a)) != STORE_OK)
		goto out;
	d->before = (enum store_status)a.status;
	if (a.status != STORE_ST_VALID)
		goto out;
	if ((e = acme_account_cancel_pending(t, d->id, d->now)) != STORE_OK)
		goto out;
	a.status = STORE_ST_DEACTIVATED;
	e = store_account_put(t, &a, 0);
out:
	store_account_free(&a);
	return e;
}

enum store_err
acme_account_deactivate(struct store *s, const char *id, int64_t now, enum store_status *before)
{
	struct deactivate d;
	enum store_err e;

	memset(&d, 0, sizeof(d));
	d.id = id;
	d.now = now;
	e = store_txn_run(s, STORE_TXN_RW, deactivate_txn, &d);
	if (before != NULL)
		*before = d.before;
	return e;
}
