/*
 * Walking the store for acme-admin: every record of a table in one
 * read-only transaction (which the store may run more than once: reset
 * puts the caller's results back to empty first).
 */
#ifndef ACME_ADMIN_SCAN_H
#define ACME_ADMIN_SCAN_H

#include "store/store.h"

/* Called with each key; anything but STORE_OK stops the walk and is its
 * result. t is the walk's transaction: read the record through it. */
typedef enum store_err (*scan_fn)(struct store_txn *t, const char *key, void *arg);
typedef void (*scan_reset_fn)(void *arg);

/* Each primary key of table, in key order. */
enum store_err scan_table(struct store *s, enum store_table table, scan_fn fn,
    scan_reset_fn reset, void *arg);

/*
 * A listing command's walk: arg is the command's own structure, whose
 * first member is "struct json_object *rows" (emptied before each try of
 * the walk). fn adds a row per record it keeps; the rows are printed with
 * cols (out_list). ADMIN_OK, or the exit status after a message that
 * names c's command.
 */
struct cli;
struct out_col;
int scan_list(struct cli *c, enum store_table table, scan_fn fn, void *arg,
    const struct out_col *cols);

/* A record of any table. */
union scan_rec {
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	struct store_eab e;
	struct store_blocked_key b;
};

/* Read the record key of table into r, through its decoder; r is freed
 * with scan_rec_free(table, r) whatever the result. */
enum store_err scan_rec_get(struct store_txn *t, enum store_table table, const char *key,
    union scan_rec *r);
void scan_rec_free(enum store_table table, union scan_rec *r);

/* Each order id of account acct, oldest first, inside the caller's
 * transaction t (core/account_ops.h pages through them). */
enum store_err scan_orders_of(struct store_txn *t, const char *acct, scan_fn fn, void *arg);

#endif
