/* acme-admin orders: list and show, with the status a client would see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "core/orders.h"

static struct json_object *
idents(const struct store_ident *v, size_t n)
{
	struct json_object *a = out_array();
	size_t i;

	for (i = 0; i < n; i++)
		out_push(a, json_object_new_string(v[i].value));
	return a;
}

/* A problem document (JSON text) as JSON, or its text when it does not parse. */
static void
add_problem(struct json_object *o, const char *key, const char *text)
{
	struct json_object *p = text != NULL ? json_tokener_parse(text) : NULL;

	if (p == NULL && text != NULL)
		p = json_object_new_string(text);
	json_object_object_add(o, key, p);
}

static struct json_object *
order_view(struct store_txn *t, const struct store_order *o, int64_t now)
{
	struct json_object *v = out_new();
	enum store_status st;
	char *err = NULL;

	st = acme_order_status(t, o, now, &err);
	out_str(v, "id", o->id);
	out_str(v, "account", o->acct);
	out_str(v, "directory", o->dir);
	out_str(v, "status", store_status_name(st));
	out_time(v, "created", o->created);
	out_time(v, "expires", o->expires);
	json_object_object_add(v, "identifiers", idents(o->ident, o->nident));
	out_str(v, "profile", o->profile);
	out_str(v, "certificate", o->cert);
	add_problem(v, "error", o->error != NULL ? o->error : err);
	free(err);
	return v;
}

static struct json_object *
chall_view(const struct store_chall *ch)
{
	struct json_object *v = out_new();

	out_str(v, "type", acme_chall_type_name(ch->type));
	out_str(v, "status", store_status_name((enum store_status)ch->status));
	out_int(v, "attempts", ch->attempts);
	out_time(v, "validated", ch->validated);
	add_problem(v, "error", ch->error);
	return v;
}

/* The authorizations of o, for show. */
static enum store_err
authz_views(struct store_txn *t, const struct store_order *o, int64_t now,
    struct json_object *out)
{
	struct store_authz z;
	struct json_object *v, *ch;
	enum store_err se;
	size_t i, k;

	for (i = 0; i < o->nauthz; i++) {
		v = out_new();
		out_str(v, "id", o->authz[i]);
		se = store_authz_get(t, o->authz[i], &z);
		if (se == STORE_NOTFOUND) {
			out_str(v, "status", "missing");
			out_push(out, v);
			continue;
		}
		if (se != STORE_OK) {
			json_object_put(v);
			return se;
		}
		out_str(v, "identifier", z.ident.value);
		out_bool(v, "wildcard", z.wildcard);
		out_str(v, "status", store_status_name(acme_authz_status(&z, now)));
		out_time(v, "expires", z.expires);
		ch = out_array();
		for (k = 0; k < z.nchall; k++)
			out_push(ch, chall_view(&z.chall[k]));
		json_object_object_add(v, "challenges", ch);
		out_push(out, v);
		store_authz_free(&z);
	}
	return STORE_OK;
}

/* ------------------------------------------------------------------ */

struct order_list {
	const char *acct;
	int64_t now;
	int acct_missing;
	struct json_object *rows;
};

static enum store_err
list_one(struct store_txn *t, const char *id, void *arg)
{
	struct order_list *l = arg;
	struct store_order o;
	enum store_err se;

	if ((se = store_order_get(t, id, &o)) != STORE_OK)
		return se;
	out_push(l->rows, order_view(t, &o, l->now));
	store_order_free(&o);
	return STORE_OK;
}

static void
list_reset(void *arg)
{
	struct order_list *l = arg;

	json_object_put(l->rows);
	l->rows = out_array();
}

/* The orders of one account: through its index, after checking it exists
 * (so that a mistyped id is "not found", not an empty list). */
static enum store_err
list_acct_txn(struct store_txn *t, void *arg)
{
	struct order_list *l = arg;
	struct store_account a;
	enum store_err se;

	list_reset(l);
	l->acct_missing = 0;
	if ((se = store_account_get(t, l->acct, &a)) == STORE_NOTFOUND)
		l->acct_missing = 1;
	else if (se != STORE_OK)
		return se;
	store_account_free(&a);
	return scan_orders_of(t, l->acct, list_one, l);
}

static int
orders_list(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "ID", "id" }, { "ACCOUNT", "account" }, { "STATUS", "status" },
		{ "CREATED", "created" }, { "EXPIRES", "expires" }, { "CERTIFICATE", "certificate" },
		{ "IDENTIFIERS", "identifiers" }, { NULL, NULL },
	};
	const char *acct = NULL;
	const struct cli_opt opts[] = {
		{ "account", CLI_STR, "ID", "only the orders of this account (oldest first)", &acct, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "orders list", NULL,
	    "list orders with the status their clients see", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct order_list l;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&l, 0, sizeof(l));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	if (acct != NULL && (rc = cli_id("an account", acct)) != ADMIN_OK)
		goto out;
	l.acct = acct;
	l.now = c.now;
	if (acct != NULL)
		se = store_txn_run(c.store, STORE_TXN_RO, list_acct_txn, &l);
	else
		se = scan_table(c.store, STORE_T_ORDER, list_one, list_reset, &l);
	if (se == STORE_OK && l.acct_missing && json_object_array_length(l.rows) == 0)
		se = STORE_NOTFOUND;
	if (se != STORE_OK) {
		fprintf(stderr, "acme-admin orders list: %s\n", se == STORE_NOTFOUND ?
		    "no such account" : store_strerror(se));
		rc = cli_store_exit(se);
		goto out;
	}
	out_list(&c, l.rows, cols);
out:
	json_object_put(l.rows);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */

struct order_show {
	const char *id;
	int64_t now;
	struct json_object *view;
};

static enum store_err
show_txn(struct store_txn *t, void *arg)
{
	struct order_show *s = arg;
	struct store_order o;
	struct json_object *az;
	enum store_err se;

	json_object_put(s->view);
	s->view = NULL;
	if ((se = store_order_get(t, s->id, &o)) != STORE_OK)
		return se;
	s->view = order_view(t, &o, s->now);
	out_time(s->view, "not_before", o.not_before);
	out_time(s->view, "not_after", o.not_after);
	out_str(s->view, "replaces", o.replaces);
	az = out_array();
	json_object_object_add(s->view, "authorizations", az);
	se = authz_views(t, &o, s->now, az);
	store_order_free(&o);
	return se;
}

static int
orders_show(int argc, char **argv)
{
	const struct cli_cmd cmd = { "orders show", "ID",
	    "show one order, its authorizations and challenges", 1, 1, NULL,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct order_show s;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&s, 0, sizeof(s));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	s.id = c.pos[0];
	s.now = c.now;
	if ((rc = cli_id("an order", s.id)) != ADMIN_OK)
		goto out;
	if ((se = store_txn_run(c.store, STORE_TXN_RO, show_txn, &s)) != STORE_OK) {
		fprintf(stderr, "acme-admin orders show: %s: %s\n", s.id,
		    se == STORE_NOTFOUND ? "no such order" : store_strerror(se));
		rc = cli_store_exit(se);
		goto out;
	}
	out_object(&c, s.view);
out:
	json_object_put(s.view);
	return cli_done(&c, rc);
}

int
admin_orders(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", orders_list, "list orders" },
		{ "show", orders_show, "show one order" },
	};

	return cli_dispatch("orders", subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
