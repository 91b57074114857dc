/*
 * acme-admin accounts: list, show, deactivate, delete.
 *
 * deactivate has exactly the effect of the client deactivating its account
 * (core/account_ops.c: pending orders and authorizations cancelled, the
 * certificates left alone). delete removes the account record and its
 * index entries only: its orders, authorizations and certificates stay in
 * the store (certificates must stay revocable and on the CRL), and its key
 * may then register a new account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "core/account_ops.h"
#include "core/audit.h"

static enum store_err
count_one(struct store_txn *t, const char *id, void *arg)
{
	(void)t;
	(void)id;
	(*(int64_t *)arg)++;
	return STORE_OK;
}

/* The account as JSON, with its number of orders; full adds its key and
 * terms-of-service details. */
static enum store_err
acct_view(struct store_txn *t, const struct store_account *a, int full, struct json_object **out)
{
	struct json_object *o = out_new(), *contacts = out_array(), *jwk;
	int64_t norders = 0;
	enum store_err se;
	size_t i;

	*out = NULL;
	if ((se = scan_orders_of(t, a->id, count_one, &norders)) != STORE_OK) {
		json_object_put(o);
		json_object_put(contacts);
		return se;
	}
	for (i = 0; i < a->ncontact; i++)
		out_push(contacts, json_object_new_string(a->contact[i]));
	out_str(o, "id", a->id);
	out_str(o, "directory", a->dir);
	out_str(o, "status", store_status_name((enum store_status)a->status));
	out_str(o, "thumbprint", a->thumb);
	json_object_object_add(o, "contacts", contacts);
	out_str(o, "eab_kid", a->eab_kid);
	out_time(o, "created", a->created);
	out_int(o, "orders", norders);
	if (full) {
		out_time(o, "tos_agreed", a->tos_agreed);
		out_str(o, "tos_url", a->tos_url);
		out_int(o, "key_version", a->key_version);
		jwk = a->jwk != NULL ? json_tokener_parse(a->jwk) : NULL;
		json_object_object_add(o, "key", jwk);
	}
	*out = o;
	return STORE_OK;
}

/* ------------------------------------------------------------------ */

struct acct_list {
	struct json_object *rows;      /* first: scan_list empties it */
	const char *dir;
};

static enum store_err
list_one(struct store_txn *t, const char *id, void *arg)
{
	struct acct_list *l = arg;
	struct store_account a;
	struct json_object *o = NULL;
	enum store_err se;

	if ((se = store_account_get(t, id, &a)) != STORE_OK)
		return se;
	if ((l->dir == NULL || strcmp(l->dir, a.dir) == 0) &&
	    (se = acct_view(t, &a, 0, &o)) == STORE_OK)
		out_push(l->rows, o);
	store_account_free(&a);
	return se;
}

static int
accounts_list(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "ID", "id" }, { "DIRECTORY", "directory" }, { "STATUS", "status" },
		{ "CREATED", "created" }, { "ORDERS", "orders" }, { "EAB", "eab_kid" },
		{ "CONTACTS", "contacts" }, { "THUMBPRINT", "thumbprint" }, { NULL, NULL },
	};
	const char *dir = NULL;
	const struct cli_opt opts[] = {
		{ "directory", CLI_STR, "D", "only the accounts of this directory", &dir, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "accounts list", NULL,
	    "list accounts: id, key thumbprint, status, contacts, EAB kid, created, orders", 0, 0,
	    opts, CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct acct_list l;
	struct cli c;
	int rc;

	memset(&l, 0, sizeof(l));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	l.dir = dir;
	rc = scan_list(&c, STORE_T_ACCOUNT, list_one, &l, cols);
out:
	json_object_put(l.rows);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */

struct acct_show {
	const char *id;
	struct json_object *view;
};

static enum store_err
show_txn(struct store_txn *t, void *arg)
{
	struct acct_show *s = arg;
	struct store_account a;
	enum store_err se;

	json_object_put(s->view);
	s->view = NULL;
	if ((se = store_account_get(t, s->id, &a)) != STORE_OK)
		return se;
	se = acct_view(t, &a, 1, &s->view);
	store_account_free(&a);
	return se;
}

/* The id argument of show, deactivate and delete; with the error printed. */
static int
account_arg(const struct cli *c, const char **id)
{
	*id = c->pos[0];
	return cli_id("an account", *id);
}

static int
report(const struct cli *c, const char *id, enum store_err se)
{
	fprintf(stderr, "acme-admin %s: %s: %s\n", c->cmd->name, id,
	    se == STORE_NOTFOUND ? "no such account" : store_strerror(se));
	return cli_store_exit(se);
}

static int
accounts_show(int argc, char **argv)
{
	const struct cli_cmd cmd = { "accounts show", "ID", "show one account in full", 1, 1, NULL,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct acct_show s;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&s, 0, sizeof(s));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK || (rc = account_arg(&c, &s.id)) != ADMIN_OK)
		goto out;
	if ((se = store_txn_run(c.store, STORE_TXN_RO, show_txn, &s)) != STORE_OK) {
		rc = report(&c, s.id, se);
		goto out;
	}
	out_object(&c, s.view);
out:
	json_object_put(s.view);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */

/* An account's directory (for the audit log), read in t. */
struct acct_dir {
	const char *id;
	char dir[STORE_NAME_MAX + 1];
};

static enum store_err
dir_txn(struct store_txn *t, void *arg)
{
	struct acct_dir *d = arg;
	struct store_account a;
	enum store_err se;

	if ((se = store_account_get(t, d->id, &a)) == STORE_OK)
		snprintf(d->dir, sizeof(d->dir), "%s", a.dir);
	store_account_free(&a);
	return se;
}

static int
accounts_deactivate(int argc, char **argv)
{
	const struct cli_cmd cmd = { "accounts deactivate", "ID",
	    "deactivate an account as its client would: its pending orders and authorizations are "
	    "cancelled, its certificates stay valid", 1, 1, NULL,
	    CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	struct json_object *res = NULL;
	enum store_status before = STORE_ST_NONE;
	struct acct_dir d;
	const char *id = NULL;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK || (rc = account_arg(&c, &id)) != ADMIN_OK)
		goto out;
	d.id = id;
	if ((se = store_txn_run(c.store, STORE_TXN_RO, dir_txn, &d)) != STORE_OK ||
	    (se = acme_account_deactivate(c.store, id, c.now, &before)) != STORE_OK) {
		rc = report(&c, id, se);
		goto out;
	}
	if (before != STORE_ST_VALID) {
		fprintf(stderr, "acme-admin accounts deactivate: %s is already %s\n", id,
		    store_status_name(before));
		rc = ADMIN_STATE;
		goto out;
	}
	acme_audit("account.deactivate", d.dir, "ss", "account", id, "by", "acme-admin");
	res = out_new();
	out_str(res, "id", id);
	out_str(res, "status", store_status_name(STORE_ST_DEACTIVATED));
	out_object(&c, res);
out:
	json_object_put(res);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */

static enum store_err
delete_txn(struct store_txn *t, void *arg)
{
	struct acct_dir *d = arg;
	enum store_err se;

	if ((se = dir_txn(t, d)) != STORE_OK)
		return se;
	return store_account_del(t, d->id);
}

static int
accounts_delete(int argc, char **argv)
{
	const struct cli_cmd cmd = { "accounts delete", "ID",
	    "delete an account record and its index entries (its orders, authorizations and "
	    "certificates stay)", 1, 1, NULL, CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	struct json_object *res = NULL;
	struct acct_dir d;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK || (rc = account_arg(&c, &d.id)) != ADMIN_OK)
		goto out;
	if ((se = store_txn_run(c.store, STORE_TXN_RW, delete_txn, &d)) != STORE_OK) {
		rc = report(&c, d.id, se);
		goto out;
	}
	acme_audit("account.delete", d.dir, "ss", "account", d.id, "by", "acme-admin");
	res = out_new();
	out_str(res, "id", d.id);
	out_bool(res, "deleted", 1);
	out_object(&c, res);
out:
	json_object_put(res);
	return cli_done(&c, rc);
}

int
admin_accounts(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", accounts_list, "list accounts" },
		{ "show", accounts_show, "show one account" },
		{ "deactivate", accounts_deactivate, "deactivate an account (as its client would)" },
		{ "delete", accounts_delete, "delete an account record (orders and certificates stay)" },
	};

	return cli_dispatch("accounts", subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
