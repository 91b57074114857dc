/*
 * acme-admin cleanup: remove what the server no longer needs, while it runs.
 *
 * Rules (RETENTION defaults to 30 days):
 *   - An order ends, for this purpose, when it can change no more: an
 *     invalid order (failed, deactivated or expired before it was
 *     finalized) at its expiry time; a valid order when its certificate
 *     expires (or at its own expiry, if the certificate record is gone).
 *     It is removed RETENTION after that. Pending, ready and processing
 *     orders are never removed, nor are valid orders whose certificate has
 *     not expired for RETENTION.
 *   - An authorization is removed RETENTION after its expiry time (the end
 *     of its validation window, or of its reuse when valid) unless an order
 *     that stays still refers to it.
 *   - A rate-limit counter ("rate/...", a theoretical arrival time in ms)
 *     below now is removed: it would limit nothing. Overrides stay.
 *   - Certificates, accounts and EAB keys are never removed.
 *
 * The candidates are found with read-only scans; they are then removed in
 * small transactions (CLEANUP_BATCH records each), every one checked again
 * inside the transaction that removes it, so the server's workers wait on
 * a cleanup for one short transaction at most.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "core/audit.h"
#include "core/orders.h"

#define CLEANUP_BATCH 64
#define CLEANUP_COUNTER_CHUNK 10000   /* counters collected per scan */
#define CLEANUP_DEFAULT_RETENTION (30 * 86400)
#define RATE_PREFIX "rate/"

/* A growing list of keys, with why each one goes (a static text). */
struct keys {
	char **v;
	const char **why;
	size_t n, cap;
};

static void
keys_clear(struct keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i]);
	k->n = 0;
}

static void
keys_free(struct keys *k)
{
	keys_clear(k);
	free(k->v);
	free(k->why);
	memset(k, 0, sizeof(*k));
}

static enum store_err
keys_add(struct keys *k, const char *key, const char *why)
{
	void *nv;
	size_t cap;

	if (k->n == k->cap) {
		cap = k->cap ? k->cap * 2 : 256;
		if ((nv = realloc(k->v, cap * sizeof(*k->v))) == NULL)
			return STORE_NOMEM;
		k->v = nv;
		if ((nv = realloc(k->why, cap * sizeof(*k->why))) == NULL)
			return STORE_NOMEM;
		k->why = nv;
		k->cap = cap;
	}
	if ((k->v[k->n] = strdup(key)) == NULL)
		return STORE_NOMEM;
	k->why[k->n++] = why;
	return STORE_OK;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
keys_sort(struct keys *k)
{
	if (k->n > 0)
		qsort(k->v, k->n, sizeof(k->v[0]), cmp_key);
}

static int
keys_has(const struct keys *k, const char *key)
{
	return k->n > 0 && bsearch(&key, k->v, k->n, sizeof(k->v[0]), cmp_key) != NULL;
}

struct cleanup {
	int64_t now, now_ms, retention;
	int dry_run;
	struct keys cand;        /* what one scan found */
	struct keys keep;        /* authorizations that orders still refer to (sorted) */
	struct keys gone;        /* orders removed (or, in a dry run, that would be; sorted) */
	struct json_object *rows;
	int64_t removed[3];      /* orders, authorizations, counters */
};

enum { K_ORDER, K_AUTHZ, K_COUNTER };
static const char *const kind_name[] = { "order", "authorization", "counter" };

/* ------------------------------------------------------------------ */
/* The rules */

/* Whether order o goes; why says which rule. */
static enum store_err
order_goes(struct store_txn *t, const struct cleanup *cu, const struct store_order *o, int *goes,
    const char **why)
{
	struct store_cert c;
	enum store_status st;
	int64_t end = 0;
	char *err = NULL;
	enum store_err se = STORE_OK;

	*goes = 0;
	st = acme_order_status(t, o, cu->now, &err);
	free(err);
	if (st == STORE_ST_INVALID) {
		end = o->expires;
		*why = "invalid";
	} else if (st == STORE_ST_VALID && o->cert[0] != '\0') {
		se = store_cert_get(t, o->cert, &c);
		if (se == STORE_OK) {
			end = c.not_after;
			*why = "valid, certificate expired";
		} else if (se == STORE_NOTFOUND) {
			end = o->expires;
			*why = "valid, certificate gone";
			se = STORE_OK;
		}
		store_cert_free(&c);
	}
	*goes = end != 0 && end <= cu->now - cu->retention;
	return se;
}

static int
authz_goes(const struct cleanup *cu, const struct store_authz *z)
{
	return z->expires <= cu->now - cu->retention && !keys_has(&cu->keep, z->id);
}

/* ------------------------------------------------------------------ */
/* Finding candidates (read-only) */

static void
cand_reset(void *arg)
{
	struct cleanup *cu = arg;

	keys_clear(&cu->cand);
}

static enum store_err
find_order(struct store_txn *t, const char *id, void *arg)
{
	struct cleanup *cu = arg;
	struct store_order o;
	const char *why = NULL;
	int goes = 0;
	enum store_err se;

	if ((se = store_order_get(t, id, &o)) == STORE_OK &&
	    (se = order_goes(t, cu, &o, &goes, &why)) == STORE_OK && goes)
		se = keys_add(&cu->cand, id, why);
	store_order_free(&o);
	return se == STORE_NOTFOUND || se == STORE_CORRUPT ? STORE_OK : se;
}

/* The authorizations of every order that stays. */
static void
keep_reset(void *arg)
{
	struct cleanup *cu = arg;

	keys_clear(&cu->keep);
}

static enum store_err
keep_order(struct store_txn *t, const char *id, void *arg)
{
	struct cleanup *cu = arg;
	struct store_order o;
	enum store_err se;
	size_t i;

	if (keys_has(&cu->gone, id))
		return STORE_OK;
	if ((se = store_order_get(t, id, &o)) == STORE_OK)
		for (i = 0; i < o.nauthz && se == STORE_OK; i++)
			se = keys_add(&cu->keep, o.authz[i], NULL);
	store_order_free(&o);
	return se == STORE_NOTFOUND || se == STORE_CORRUPT ? STORE_OK : se;
}

static enum store_err
find_authz(struct store_txn *t, const char *id, void *arg)
{
	struct cleanup *cu = arg;
	struct store_authz z;
	enum store_err se;

	if ((se = store_authz_get(t, id, &z)) == STORE_OK && authz_goes(cu, &z))
		se = keys_add(&cu->cand, id, store_status_name(acme_authz_status(&z, cu->now)));
	store_authz_free(&z);
	return se == STORE_NOTFOUND || se == STORE_CORRUPT ? STORE_OK : se;
}

static int
find_counter(const char *name, int64_t value, void *arg)
{
	struct cleanup *cu = arg;

	if (value < cu->now_ms && keys_add(&cu->cand, name, "rate state expired") != STORE_OK)
		return 1;
	/* A dry run removes nothing, so it cannot go on where a chunk ended. */
	return !cu->dry_run && cu->cand.n >= CLEANUP_COUNTER_CHUNK;
}

static enum store_err
find_counters_txn(struct store_txn *t, void *arg)
{
	struct cleanup *cu = arg;

	keys_clear(&cu->cand);
	return store_counter_scan(t, RATE_PREFIX, find_counter, cu);
}

/* ------------------------------------------------------------------ */
/* Removing them, a batch per transaction, each checked again */

static enum store_err
del_order(struct store_txn *t, struct cleanup *cu, const char *id, int *done)
{
	struct store_order o;
	const char *why = NULL;
	int goes = 0;
	enum store_err se;

	if ((se = store_order_get(t, id, &o)) == STORE_OK &&
	    (se = order_goes(t, cu, &o, &goes, &why)) == STORE_OK && goes) {
		se = store_order_del(t, id);
		*done = se == STORE_OK;
	}
	store_order_free(&o);
	return se == STORE_NOTFOUND ? STORE_OK : se;
}

static enum store_err
del_authz(struct store_txn *t, struct cleanup *cu, const char *id, int *done)
{
	struct store_authz z;
	enum store_err se;

	if ((se = store_authz_get(t, id, &z)) == STORE_OK && authz_goes(cu, &z)) {
		se = store_authz_del(t, id);
		*done = se == STORE_OK;
	}
	store_authz_free(&z);
	return se == STORE_NOTFOUND ? STORE_OK : se;
}

static enum store_err
del_counter(struct store_txn *t, struct cleanup *cu, const char *name, int *done)
{
	int64_t v;
	enum store_err se;

	if ((se = store_counter_get(t, name, &v)) == STORE_OK && v < cu->now_ms) {
		se = store_counter_del(t, name);
		*done = se == STORE_OK;
	}
	return se == STORE_NOTFOUND ? STORE_OK : se;
}

typedef enum store_err (*del_fn)(struct store_txn *, struct cleanup *, const char *, int *);

struct batch {
	struct cleanup *cu;
	del_fn del;
	size_t from, to;
	int done[CLEANUP_BATCH];
};

static enum store_err
batch_txn(struct store_txn *t, void *arg)
{
	struct batch *b = arg;
	enum store_err se = STORE_OK;
	size_t i;

	memset(b->done, 0, sizeof(b->done));   /* a retry starts over */
	for (i = b->from; i < b->to && se == STORE_OK; i++)
		se = b->del(t, b->cu, b->cu->cand.v[i], &b->done[i - b->from]);
	return se;
}

static struct json_object *
row(int kind, const char *id, const char *why)
{
	struct json_object *o = out_new();

	out_str(o, "kind", kind_name[kind]);
	out_str(o, "id", id);
	out_str(o, "reason", why);
	return o;
}

/* Remove the candidates of kind (in a dry run, only report them); the
 * removed orders go on the gone list. */
static enum store_err
remove_cands(struct store *s, struct cleanup *cu, int kind, del_fn del)
{
	struct batch b;
	size_t i;
	enum store_err se = STORE_OK;

	memset(&b, 0, sizeof(b));
	b.cu = cu;
	b.del = del;
	for (b.from = 0; b.from < cu->cand.n && se == STORE_OK; b.from = b.to) {
		b.to = b.from + CLEANUP_BATCH < cu->cand.n ? b.from + CLEANUP_BATCH : cu->cand.n;
		if (cu->dry_run)
			for (i = 0; i < b.to - b.from; i++)
				b.done[i] = 1;
		else if ((se = store_txn_run(s, STORE_TXN_RW, batch_txn, &b)) != STORE_OK)
			break;
		for (i = b.from; i < b.to && se == STORE_OK; i++) {
			if (!b.done[i - b.from])
				continue;
			out_push(cu->rows, row(kind, cu->cand.v[i], cu->cand.why[i]));
			cu->removed[kind]++;
			if (kind == K_ORDER)
				se = keys_add(&cu->gone, cu->cand.v[i], NULL);
		}
	}
	return se;
}

/* Rate counters, a chunk at a time: each pass finds the expired ones
 * still there, from the start. */
static enum store_err
clean_counters(struct store *s, struct cleanup *cu)
{
	enum store_err se;
	size_t pass;

	for (pass = 0; pass < 100000; pass++) {
		if ((se = store_txn_run(s, STORE_TXN_RO, find_counters_txn, cu)) != STORE_OK ||
		    (se = remove_cands(s, cu, K_COUNTER, del_counter)) != STORE_OK)
			return se;
		if (cu->dry_run || cu->cand.n < CLEANUP_COUNTER_CHUNK)
			break;
	}
	return STORE_OK;
}

static enum store_err
clean(struct store *s, struct cleanup *cu)
{
	enum store_err se;

	if ((se = scan_table(s, STORE_T_ORDER, find_order, cand_reset, cu)) != STORE_OK ||
	    (se = remove_cands(s, cu, K_ORDER, del_order)) != STORE_OK)
		return se;
	keys_sort(&cu->gone);
	if ((se = scan_table(s, STORE_T_ORDER, keep_order, keep_reset, cu)) != STORE_OK)
		return se;
	keys_sort(&cu->keep);
	if ((se = scan_table(s, STORE_T_AUTHZ, find_authz, cand_reset, cu)) != STORE_OK ||
	    (se = remove_cands(s, cu, K_AUTHZ, del_authz)) != STORE_OK)
		return se;
	return clean_counters(s, cu);
}

int
admin_cleanup(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "KIND", "kind" }, { "ID", "id" }, { "REASON", "reason" }, { NULL, NULL },
	};
	const char *retention = NULL;
	int dry_run = 0;
	const struct cli_opt opts[] = {
		{ "retention", CLI_STR, "DURATION", "keep what ended less than this long ago "
		    "(default 30d)", &retention, NULL },
		{ "dry-run", CLI_FLAG, NULL, "only print what would be removed", NULL, &dry_run },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "cleanup", NULL,
	    "remove finished orders and authorizations past the retention, and expired rate-limit "
	    "state (never certificates)", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	struct json_object *res = NULL;
	struct cleanup cu;
	struct timeval tv;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&cu, 0, sizeof(cu));
	cu.retention = CLEANUP_DEFAULT_RETENTION;
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	if (retention != NULL && (rc = cli_duration("--retention", retention, &cu.retention)) != ADMIN_OK)
		goto out;
	gettimeofday(&tv, NULL);
	cu.now = c.now;
	cu.now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	cu.dry_run = dry_run;
	cu.rows = out_array();
	se = clean(c.store, &cu);
	if (!cu.dry_run && cu.removed[K_ORDER] + cu.removed[K_AUTHZ] + cu.removed[K_COUNTER] > 0)
		acme_audit("cleanup", "*", "iiis", "orders", cu.removed[K_ORDER], "authorizations",
		    cu.removed[K_AUTHZ], "counters", cu.removed[K_COUNTER], "by", "acme-admin");
	if (se != STORE_OK) {
		/* what was removed so far is gone: say so */
		fprintf(stderr, "acme-admin cleanup: %s\n", store_strerror(se));
		rc = cli_store_exit(se);
	}
	if (c.json) {
		res = out_new();
		json_object_object_add(res, "removed", json_object_get(cu.rows));
		out_int(res, "orders", cu.removed[K_ORDER]);
		out_int(res, "authorizations", cu.removed[K_AUTHZ]);
		out_int(res, "counters", cu.removed[K_COUNTER]);
		out_int(res, "retention", cu.retention);
		out_bool(res, "dry_run", cu.dry_run);
		out_object(&c, res);
	} else {
		if (json_object_array_length(cu.rows) > 0) {
			out_list(&c, cu.rows, cols);
			putchar('\n');
		}
		printf("%s %lld orders, %lld authorizations, %lld rate-limit counters "
		    "(retention %llds)\n", cu.dry_run ? "would remove" : "removed",
		    (long long)cu.removed[K_ORDER], (long long)cu.removed[K_AUTHZ],
		    (long long)cu.removed[K_COUNTER], (long long)cu.retention);
	}
out:
	keys_free(&cu.cand);
	keys_free(&cu.keep);
	keys_free(&cu.gone);
	json_object_put(cu.rows);
	json_object_put(res);
	return cli_done(&c, rc);
}
