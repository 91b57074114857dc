/*
 * acme-admin verify: store_verify (every secondary index agrees with its
 * primary, every record decodes) plus a pass that reads every record of
 * every table through its typed decoder and counts them. Exit 0 only when
 * both found nothing; ADMIN_UNCLEAN otherwise. Reads only, with
 * read-committed isolation: safe while the server runs.
 */
#include <stdio.h>
#include <string.h>

#include "admin/out.h"
#include "admin/scan.h"

struct tally {
	int64_t records, corrupt;
};

struct table_pass {
	enum store_table tb;
	struct tally n;
};

static void
pass_reset(void *arg)
{
	struct table_pass *p = arg;

	memset(&p->n, 0, sizeof(p->n));
}

static enum store_err
pass_one(struct store_txn *t, const char *key, void *arg)
{
	struct table_pass *p = arg;
	union scan_rec r;
	enum store_err se = scan_rec_get(t, p->tb, key, &r);

	scan_rec_free(p->tb, &r);
	p->n.records++;
	if (se == STORE_CORRUPT) {
		p->n.corrupt++;
		se = STORE_OK;   /* logged by the store; go on */
	} else if (se == STORE_NOTFOUND) {
		p->n.records--;  /* deleted since the scan listed it */
		se = STORE_OK;
	}
	return se;
}

static int
count_counter(const char *name, int64_t value, void *arg)
{
	(void)name;
	(void)value;
	((struct tally *)arg)->records++;
	return 0;
}

/* Counters have no decoder: a value of the wrong size stops the scan
 * (store_verify counts each one). */
static enum store_err
counters_txn(struct store_txn *t, void *arg)
{
	struct tally *n = arg;
	enum store_err se;

	memset(n, 0, sizeof(*n));
	se = store_counter_scan(t, "", count_counter, n);
	if (se == STORE_CORRUPT) {
		n->corrupt = 1;
		se = STORE_OK;
	}
	return se;
}

static struct json_object *
row(const char *name, const struct tally *n)
{
	struct json_object *o = out_new();

	out_str(o, "table", name);
	out_int(o, "records", n->records);
	out_int(o, "corrupt", n->corrupt);
	return o;
}

int
admin_verify(int argc, char **argv)
{
	static const struct { enum store_table tb; const char *name; } tables[] = {
		{ STORE_T_ACCOUNT, "accounts" }, { STORE_T_ORDER, "orders" },
		{ STORE_T_AUTHZ, "authorizations" }, { STORE_T_CERT, "certificates" },
		{ STORE_T_EAB, "eab" }, { STORE_T_BLOCKED_KEY, "blocked_keys" },
	};
	static const struct out_col cols[] = {
		{ "TABLE", "table" }, { "RECORDS", "records" }, { "CORRUPT", "corrupt" }, { NULL, NULL },
	};
	const struct cli_cmd cmd = { "verify", NULL,
	    "check that every record decodes and every index agrees with its table", 0, 0, NULL,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct json_object *rows = NULL, *res = NULL;
	struct table_pass p;
	struct tally ctr;
	struct cli c;
	size_t bad = 0, i;
	int64_t corrupt = 0;
	enum store_err se;
	int rc;

	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rows = out_array();
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.tb = tables[i].tb;
		if ((se = scan_table(c.store, p.tb, pass_one, pass_reset, &p)) != STORE_OK)
			goto store_fail;
		out_push(rows, row(tables[i].name, &p.n));
		corrupt += p.n.corrupt;
	}
	if ((se = store_txn_run(c.store, STORE_TXN_RO, counters_txn, &ctr)) != STORE_OK)
		goto store_fail;
	out_push(rows, row("counters", &ctr));
	corrupt += ctr.corrupt;
	if ((se = store_verify(c.store, &bad)) != STORE_OK)
		goto store_fail;
	rc = bad == 0 && corrupt == 0 ? ADMIN_OK : ADMIN_UNCLEAN;
	if (c.json) {
		res = out_new();
		json_object_object_add(res, "tables", json_object_get(rows));
		out_int(res, "problems", (int64_t)bad);
		out_bool(res, "clean", rc == ADMIN_OK);
		out_object(&c, res);
	} else {
		out_list(&c, rows, cols);
		printf("\n%zu index or record problem%s found: %s\n", bad, bad == 1 ? "" : "s",
		    rc == ADMIN_OK ? "clean" : "NOT CLEAN (details above, from the store)");
	}
	goto out;
store_fail:
	fprintf(stderr, "acme-admin verify: %s\n", store_strerror(se));
	rc = cli_store_exit(se);
out:
	json_object_put(res);
	json_object_put(rows);
	return cli_done(&c, rc);
}
