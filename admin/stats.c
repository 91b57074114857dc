/*
 * acme-admin stats: counts per table (accounts by status, orders and
 * authorizations by the status their clients see, certificates valid,
 * revoked or expired, EAB keys by state, counters by kind) and the store's
 * size on disk. One read-only transaction per table.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "admin/state.h"
#include "core/orders.h"

/* obj[key] += 1, and obj.total += 1. */
static void
bump(struct json_object *obj, const char *key)
{
	struct json_object *v;
	const char *k[2] = { "total", key };
	int i;

	for (i = 0; i < 2; i++) {
		if (json_object_object_get_ex(obj, k[i], &v))
			json_object_set_int64(v, json_object_get_int64(v) + 1);
		else
			out_int(obj, k[i], 1);
	}
}

struct tally {
	enum store_table tb;
	int64_t now;
	struct json_object *counts;
};

static void
tally_reset(void *arg)
{
	struct tally *y = arg;

	json_object_put(y->counts);
	y->counts = out_new();
	out_int(y->counts, "total", 0);
}

/* The class of one record: its (client-visible) status or state. */
static enum store_err
tally_one(struct store_txn *t, const char *key, void *arg)
{
	struct tally *y = arg;
	union scan_rec r;
	const char *cls = NULL;
	char *err = NULL;
	enum store_err se;

	if ((se = scan_rec_get(t, y->tb, key, &r)) == STORE_OK) {
		switch (y->tb) {
		case STORE_T_ACCOUNT:
			cls = store_status_name((enum store_status)r.a.status);
			break;
		case STORE_T_ORDER:
			cls = store_status_name(acme_order_status(t, &r.o, y->now, &err));
			break;
		case STORE_T_AUTHZ:
			cls = store_status_name(acme_authz_status(&r.z, y->now));
			break;
		case STORE_T_CERT:
			cls = state_cert(&r.c, y->now);
			break;
		default:
			cls = state_eab(&r.e, y->now);
			break;
		}
	}
	free(err);
	scan_rec_free(y->tb, &r);
	if (se == STORE_CORRUPT) {
		cls = "corrupt";   /* counted, not fatal: verify says more */
		se = STORE_OK;
	}
	if (se == STORE_NOTFOUND)
		se = STORE_OK;     /* deleted since the scan listed it */
	else if (se == STORE_OK)
		bump(y->counts, cls);
	return se;
}

static int
counter_kind(const char *name, int64_t value, void *arg)
{
	static const char *const kinds[] = { "rate/", "override/", "crl/" };
	struct json_object *counts = arg;
	char kind[16];
	size_t i;

	(void)value;
	snprintf(kind, sizeof(kind), "other");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(name, kinds[i], strlen(kinds[i])) == 0)
			snprintf(kind, sizeof(kind), "%.*s", (int)strlen(kinds[i]) - 1, kinds[i]);
	bump(counts, kind);
	return 0;
}

static enum store_err
counters_txn(struct store_txn *t, void *arg)
{
	struct tally *y = arg;

	tally_reset(y);
	return store_counter_scan(t, "", counter_kind, y->counts);
}

/* Bytes and files in the store's directory: databases, logs, regions. */
static struct json_object *
disk_usage(const struct acme_config *cfg)
{
	struct json_object *o = out_new();
	char *dir = acme_state_file(cfg, "db"), path[4096];
	int64_t bytes = 0, files = 0, logs = 0;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		files++;
		bytes += (int64_t)st.st_blocks * 512;
		logs += strncmp(de->d_name, "log.", 4) == 0;
	}
	out_str(o, "path", dir);
	out_int(o, "bytes", bytes);
	out_int(o, "files", files);
	out_int(o, "log_files", logs);
out:
	if (d != NULL)
		closedir(d);
	free(dir);
	return o;
}

int
admin_stats(int argc, char **argv)
{
	static const struct { enum store_table tb; const char *name; } tables[] = {
		{ STORE_T_ACCOUNT, "accounts" }, { STORE_T_ORDER, "orders" },
		{ STORE_T_AUTHZ, "authorizations" }, { STORE_T_CERT, "certificates" },
		{ STORE_T_EAB, "eab_keys" },
	};
	const struct cli_cmd cmd = { "stats", NULL,
	    "counts per table and status, and the store's size on disk", 0, 0, NULL,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct json_object *res = NULL;
	struct tally y;
	struct cli c;
	enum store_err se = STORE_OK;
	size_t i;
	int rc;

	memset(&y, 0, sizeof(y));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	res = out_new();
	y.now = c.now;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]) && se == STORE_OK; i++) {
		y.tb = tables[i].tb;
		if ((se = scan_table(c.store, y.tb, tally_one, tally_reset, &y)) == STORE_OK) {
			json_object_object_add(res, tables[i].name, y.counts);
			y.counts = NULL;
		}
	}
	if (se == STORE_OK && (se = store_txn_run(c.store, STORE_TXN_RO, counters_txn, &y)) == STORE_OK) {
		json_object_object_add(res, "counters", y.counts);
		y.counts = NULL;
	}
	if (se != STORE_OK) {
		fprintf(stderr, "acme-admin stats: %s\n", store_strerror(se));
		rc = cli_store_exit(se);
		goto out;
	}
	json_object_object_add(res, "disk", disk_usage(c.cfg));
	out_object(&c, res);
out:
	json_object_put(y.counts);
	json_object_put(res);
	return cli_done(&c, rc);
}
