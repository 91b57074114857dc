/*
 * acme-admin ratelimit: per-account overrides of the directories' rate
 * limits. Each is a store counter "override/<account>/<limit>" whose value
 * packs N and PERIOD (core/ratelimit_override.h defines the names and the
 * encoding; the server's limiter reads them in the transaction it limits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/out.h"
#include "core/audit.h"
#include "core/ratelimit.h"
#include "core/ratelimit_override.h"

#define OVERRIDE_NAME_MAX 160

static void
list_limits(void)
{
	int l;

	fprintf(stderr, "limits:");
	for (l = 0; l < ACME_RL__N; l++)
		fprintf(stderr, " %s", acme_rl_limit_name((enum acme_rl_limit)l));
	fputc('\n', stderr);
}

static int
parse_limit(const char *name, enum acme_rl_limit *l)
{
	if (acme_rl_limit_parse(name, l) == ACME_OK)
		return ADMIN_OK;
	fprintf(stderr, "acme-admin ratelimit: no limit called '%s'; ", name);
	list_limits();
	return ADMIN_USAGE;
}

/* "NAME=N/PERIOD" into the limit and its counter value. */
static int
parse_spec(const char *spec, enum acme_rl_limit *l, int64_t *value)
{
	struct acme_rl_spec rs;
	const char *eq = strchr(spec, '=');
	char name[64];
	int rc;

	if (eq == NULL || (size_t)(eq - spec) >= sizeof(name)) {
		fprintf(stderr, "acme-admin ratelimit set: --limit takes NAME=N/PERIOD, e.g. "
		    "orders_per_account=500/3h\n");
		return ADMIN_USAGE;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - spec), spec);
	if ((rc = parse_limit(name, l)) != ADMIN_OK)
		return rc;
	/* N = 0 (refuse outright) is an override only: the directory's
	 * syntax reads "0" as "off". */
	if (strncmp(eq + 1, "0/", 2) == 0) {
		rs.n = 0;
		rs.period = acme_parse_duration(eq + 3);
	} else if (acme_rl_parse(eq + 1, &rs) != 0) {
		rs.period = 0;
	}
	if (rs.period <= 0 || acme_rl_override_encode(rs.n, (uint64_t)rs.period, value) != ACME_OK) {
		fprintf(stderr, "acme-admin ratelimit set: '%s' is not N/PERIOD (N from 0 to %ld, "
		    "PERIOD a duration such as 3h)\n", eq + 1, (long)ACME_RL_N_MAX);
		return ADMIN_USAGE;
	}
	return ADMIN_OK;
}

static struct json_object *
override_view(const char *acct, const char *limit, int64_t value)
{
	struct json_object *o = out_new();
	uint32_t n, period;

	out_str(o, "account", acct);
	out_str(o, "limit", limit);
	if (acme_rl_override_decode(value, &n, &period) == ACME_OK) {
		out_int(o, "n", n);
		out_int(o, "period", period);
	} else {
		json_object_object_add(o, "n", NULL);
		json_object_object_add(o, "period", NULL);
		out_bool(o, "invalid", 1);
	}
	return o;
}

/* ------------------------------------------------------------------ */

enum rl_what { RL_SET, RL_SHOW, RL_CLEAR };

struct rl_op {
	enum rl_what what;
	const char *acct;
	int limit;                 /* enum acme_rl_limit, or ACME_RL__N: every limit */
	int64_t value;             /* RL_SET */
	struct json_object *rows;  /* what there is (set, show), or was (clear) */
	char dir[STORE_NAME_MAX + 1];   /* the account's directory */
};

static int
collect(const char *name, int64_t value, void *arg)
{
	struct rl_op *op = arg;
	const char *limit = strrchr(name, '/') + 1;   /* the prefix ends with '/' */

	out_push(op->rows, override_view(op->acct, limit, value));
	return 0;
}

/* Remove the override of limit l, if there is one, listing what it was. */
static enum store_err
clear_one(struct store_txn *t, struct rl_op *op, enum acme_rl_limit l)
{
	char name[OVERRIDE_NAME_MAX];
	int64_t v;
	enum store_err se;

	if (acme_rl_override_name(name, sizeof(name), op->acct, l) != ACME_OK)
		return STORE_INVAL;
	if ((se = store_counter_get(t, name, &v)) == STORE_NOTFOUND)
		return STORE_OK;
	if (se == STORE_OK && (se = store_counter_del(t, name)) == STORE_OK)
		out_push(op->rows, override_view(op->acct, acme_rl_limit_name(l), v));
	return se;
}

/* Set, show or clear overrides of op->acct, which must exist. */
static enum store_err
op_txn(struct store_txn *t, void *arg)
{
	struct rl_op *op = arg;
	struct store_account a;
	char name[OVERRIDE_NAME_MAX];
	enum store_err se;
	int l;

	json_object_put(op->rows);
	op->rows = out_array();
	if ((se = store_account_get(t, op->acct, &a)) != STORE_OK)
		return se;
	snprintf(op->dir, sizeof(op->dir), "%s", a.dir);
	store_account_free(&a);
	if (acme_rl_override_name(name, sizeof(name), op->acct, (enum acme_rl_limit)op->limit) != ACME_OK)
		return STORE_INVAL;
	switch (op->what) {
	case RL_SET:
		if ((se = store_counter_set(t, name, op->value)) == STORE_OK)
			out_push(op->rows, override_view(op->acct,
			    acme_rl_limit_name((enum acme_rl_limit)op->limit), op->value));
		return se;
	case RL_SHOW:
		return store_counter_scan(t, name, collect, op);
	default:
		for (l = 0; l < ACME_RL__N && se == STORE_OK; l++)
			if (op->limit == ACME_RL__N || op->limit == l)
				se = clear_one(t, op, (enum acme_rl_limit)l);
		return se;
	}
}

static int
run(struct cli *c, struct rl_op *op, unsigned flags)
{
	enum store_err se;

	if ((se = store_txn_run(c->store, flags, op_txn, op)) != STORE_OK) {
		fprintf(stderr, "acme-admin %s: %s: %s\n", c->cmd->name, op->acct,
		    se == STORE_NOTFOUND ? "no such account" : store_strerror(se));
		return cli_store_exit(se);
	}
	return ADMIN_OK;
}

static const struct out_col cols[] = {
	{ "ACCOUNT", "account" }, { "LIMIT", "limit" }, { "N", "n" }, { "PERIOD (s)", "period" },
	{ NULL, NULL },
};

static int
rl_set(int argc, char **argv)
{
	const char *acct = NULL, *spec = NULL;
	const struct cli_opt opts[] = {
		{ "account", CLI_STR, "ID", "the account (required)", &acct, NULL },
		{ "limit", CLI_STR, "NAME=N/PERIOD", "the limit and its new value, e.g. "
		    "orders_per_account=500/3h (required)", &spec, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "ratelimit set", NULL,
	    "override one of the directory's rate limits for one account", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	enum acme_rl_limit l = ACME_RL__N;
	struct rl_op op;
	struct cli c;
	int rc;

	memset(&op, 0, sizeof(op));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rc = ADMIN_USAGE;
	if (acct == NULL || spec == NULL) {
		fprintf(stderr, "acme-admin ratelimit set: --account and --limit are required\n");
		goto out;
	}
	if ((rc = cli_id("an account", acct)) != ADMIN_OK || (rc = parse_spec(spec, &l, &op.value)) != ADMIN_OK)
		goto out;
	op.what = RL_SET;
	op.acct = acct;
	op.limit = l;
	if ((rc = run(&c, &op, STORE_TXN_RW)) != ADMIN_OK)
		goto out;
	acme_audit("ratelimit.set", op.dir, "sssi", "account", acct, "limit", acme_rl_limit_name(l),
	    "by", "acme-admin", "value", op.value);
	out_list(&c, op.rows, cols);
out:
	json_object_put(op.rows);
	return cli_done(&c, rc);
}

/* show and clear: one account, all its overrides or (clear --limit) one. */
static int
rl_show_clear(int argc, char **argv, int clear)
{
	const char *acct = NULL, *limit = NULL;
	const struct cli_opt opts[] = {
		{ "account", CLI_STR, "ID", "the account (required)", &acct, NULL },
		{ "limit", CLI_STR, "NAME", "only this limit (default: all)", &limit, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd show = { "ratelimit show", NULL, "the rate-limit overrides of an account",
	    0, 0, opts, CLI_NEED_CONFIG | CLI_NEED_STORE };
	const struct cli_cmd del = { "ratelimit clear", NULL,
	    "remove rate-limit overrides of an account (the directory's limits apply again)", 0, 0,
	    opts, CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	enum acme_rl_limit l = ACME_RL__N;
	struct rl_op op;
	struct cli c;
	int rc;

	memset(&op, 0, sizeof(op));
	if ((rc = cli_start(&c, clear ? &del : &show, argc, argv)) != ADMIN_OK)
		goto out;
	rc = ADMIN_USAGE;
	if (acct == NULL) {
		fprintf(stderr, "acme-admin %s: --account is required\n", c.cmd->name);
		goto out;
	}
	if ((rc = cli_id("an account", acct)) != ADMIN_OK ||
	    (limit != NULL && (rc = parse_limit(limit, &l)) != ADMIN_OK))
		goto out;
	op.what = clear ? RL_CLEAR : RL_SHOW;
	op.acct = acct;
	op.limit = l;
	if ((rc = run(&c, &op, clear ? STORE_TXN_RW : STORE_TXN_RO)) != ADMIN_OK)
		goto out;
	if (clear && limit != NULL && json_object_array_length(op.rows) == 0) {
		fprintf(stderr, "acme-admin ratelimit clear: %s has no override of %s\n", acct, limit);
		rc = ADMIN_NOTFOUND;
		goto out;
	}
	if (clear)
		acme_audit("ratelimit.clear", op.dir, "sssi", "account", acct, "limit", limit, "by",
		    "acme-admin", "removed", (int64_t)json_object_array_length(op.rows));
	out_list(&c, op.rows, cols);
out:
	json_object_put(op.rows);
	return cli_done(&c, rc);
}

static int
rl_show(int argc, char **argv)
{
	return rl_show_clear(argc, argv, 0);
}

static int
rl_clear(int argc, char **argv)
{
	return rl_show_clear(argc, argv, 1);
}

int
admin_ratelimit(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "set", rl_set, "set an override: --account ID --limit NAME=N/PERIOD" },
		{ "show", rl_show, "show an account's overrides" },
		{ "clear", rl_clear, "remove an account's overrides (or one, with --limit)" },
	};

	return cli_dispatch("ratelimit", subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
