/* Walking tables and an account's orders for acme-admin. */
#include <stdio.h>
#include <string.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "core/account_ops.h"

struct walk {
	struct store_txn *t;
	enum store_table table;
	scan_fn fn;
	scan_reset_fn reset;
	void *arg;
	enum store_err err;
};

static int
walk_cb(const char *key, void *arg)
{
	struct walk *w = arg;

	w->err = w->fn(w->t, key, w->arg);
	return w->err != STORE_OK;
}

static enum store_err
table_txn(struct store_txn *t, void *arg)
{
	struct walk *w = arg;
	enum store_err e;

	w->t = t;
	w->err = STORE_OK;
	if (w->reset != NULL)
		w->reset(w->arg);
	e = store_scan(t, w->table, walk_cb, w);
	return e != STORE_OK ? e : w->err;
}

enum store_err
scan_table(struct store *s, enum store_table table, scan_fn fn, scan_reset_fn reset, void *arg)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.table = table;
	w.fn = fn;
	w.reset = reset;
	w.arg = arg;
	return store_txn_run(s, STORE_TXN_RO, table_txn, &w);
}

enum store_err
scan_orders_of(struct store_txn *t, const char *acct, scan_fn fn, void *arg)
{
	struct walk w;
	enum store_err e;

	memset(&w, 0, sizeof(w));
	w.t = t;
	w.fn = fn;
	w.arg = arg;
	e = acme_account_orders(t, acct, walk_cb, &w);
	return e != STORE_OK ? e : w.err;
}

enum store_err
scan_rec_get(struct store_txn *t, enum store_table table, const char *key, union scan_rec *r)
{
	memset(r, 0, sizeof(*r));
	switch (table) {
	case STORE_T_ACCOUNT: return store_account_get(t, key, &r->a);
	case STORE_T_ORDER: return store_order_get(t, key, &r->o);
	case STORE_T_AUTHZ: return store_authz_get(t, key, &r->z);
	case STORE_T_CERT: return store_cert_get(t, key, &r->c);
	case STORE_T_EAB: return store_eab_get(t, key, &r->e);
	case STORE_T_BLOCKED_KEY: return store_blocked_key_get(t, key, &r->b);
	default: return STORE_INVAL;
	}
}

void
scan_rec_free(enum store_table table, union scan_rec *r)
{
	switch (table) {
	case STORE_T_ACCOUNT: store_account_free(&r->a); break;
	case STORE_T_ORDER: store_order_free(&r->o); break;
	case STORE_T_AUTHZ: store_authz_free(&r->z); break;
	case STORE_T_CERT: store_cert_free(&r->c); break;
	case STORE_T_EAB: store_eab_free(&r->e); break;
	case STORE_T_BLOCKED_KEY: store_blocked_key_free(&r->b); break;
	default: break;
	}
}

/* scan_list: arg's first member is the rows. */
static void
rows_reset(void *arg)
{
	struct json_object **rows = arg;

	json_object_put(*rows);
	*rows = out_array();
}

int
scan_list(struct cli *c, enum store_table table, scan_fn fn, void *arg,
    const struct out_col *cols)
{
	struct json_object **rows = arg;
	enum store_err se;

	if ((se = scan_table(c->store, table, fn, rows_reset, arg)) != STORE_OK) {
		fprintf(stderr, "acme-admin %s: %s\n", c->cmd->name, store_strerror(se));
		return cli_store_exit(se);
	}
	out_list(c, *rows, cols);
	return ADMIN_OK;
}
