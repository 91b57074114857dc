/*
 * acme-admin keys: the blocked keys (core/keyblock.h). A key is blocked,
 * for every directory, when a certificate of it is revoked for
 * keyCompromise (by its subscriber, with its own key, or by "certs revoke
 * --reason 1"); "keys unblock" lifts one, for an operator who knows better
 * (a test key, a mistaken report). Keys are named by the base64url SHA-256
 * of their DER SubjectPublicKeyInfo:
 *
 *   openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | basenc --base64url
 *
 * (without the trailing '=').
 */
#include <stdio.h>
#include <string.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "core/audit.h"

static struct json_object *
blocked_view(const struct store_blocked_key *b)
{
	struct json_object *o = out_new();

	out_str(o, "hash", b->hash);
	out_time(o, "blocked_at", b->created);
	out_str(o, "serial", b->serial);
	out_str(o, "directory", b->dir);
	return o;
}

/* ------------------------------------------------------------------ */
/* keys list */

struct keys_list {
	struct json_object *rows;      /* first: scan_list empties it */
};

static enum store_err
list_row(struct store_txn *t, const char *hash, void *arg)
{
	struct keys_list *l = arg;
	union scan_rec r;
	enum store_err se = scan_rec_get(t, STORE_T_BLOCKED_KEY, hash, &r);

	if (se == STORE_OK)
		out_push(l->rows, blocked_view(&r.b));
	scan_rec_free(STORE_T_BLOCKED_KEY, &r);
	return se == STORE_NOTFOUND ? STORE_OK : se;   /* unblocked meanwhile */
}

static int
keys_list(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "HASH", "hash" }, { "BLOCKED", "blocked_at" }, { "SERIAL", "serial" },
		{ "DIRECTORY", "directory" }, { NULL, NULL },
	};
	const struct cli_cmd cmd = { "keys list", NULL,
	    "list the blocked keys: SPKI hash, when, the revoked certificate that blocked it", 0, 0,
	    NULL, CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct keys_list l = { NULL };
	struct cli c;
	int rc;

	if ((rc = cli_start(&c, &cmd, argc, argv)) == ADMIN_OK)
		rc = scan_list(&c, STORE_T_BLOCKED_KEY, list_row, &l, cols);
	json_object_put(l.rows);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */
/* keys unblock */

/* Read the record (for the audit line), then delete it. */
static enum store_err
unblock_txn(struct store_txn *t, void *arg)
{
	struct store_blocked_key *b = arg;
	char hash[STORE_THUMB_LEN + 1];
	enum store_err se;

	memcpy(hash, b->hash, sizeof(hash));
	if ((se = store_blocked_key_get(t, hash, b)) == STORE_OK)
		se = store_blocked_key_del(t, hash);
	memcpy(b->hash, hash, sizeof(hash));
	return se;
}

static int
hash_ok(const char *s)
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	return strlen(s) == STORE_THUMB_LEN && strspn(s, b64u) == STORE_THUMB_LEN;
}

static int
keys_unblock(int argc, char **argv)
{
	const struct cli_cmd cmd = { "keys unblock", "HASH",
	    "unblock a key: certificates, accounts and key changes may use it again", 1, 1, NULL,
	    CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	struct store_blocked_key b;
	struct json_object *res = NULL;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&b, 0, sizeof(b));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	if (!hash_ok(c.pos[0])) {
		fprintf(stderr, "acme-admin keys unblock: a key hash is %d characters of base64url\n",
		    STORE_THUMB_LEN);
		rc = ADMIN_USAGE;
		goto out;
	}
	memcpy(b.hash, c.pos[0], sizeof(b.hash));
	if ((se = store_txn_run(c.store, STORE_TXN_RW, unblock_txn, &b)) != STORE_OK) {
		fprintf(stderr, "acme-admin keys unblock: %s: %s\n", b.hash,
		    se == STORE_NOTFOUND ? "not blocked" : store_strerror(se));
		rc = cli_store_exit(se);
		goto out;
	}
	acme_audit("key.unblock", b.dir, "sss", "hash", b.hash, "serial", b.serial, "by",
	    "acme-admin");
	res = blocked_view(&b);
	out_bool(res, "blocked", 0);
	out_object(&c, res);
out:
	json_object_put(res);
	store_blocked_key_free(&b);
	return cli_done(&c, rc);
}

int
admin_keys(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", keys_list, "list the blocked (compromised) keys" },
		{ "unblock", keys_unblock, "unblock a key" },
	};

	return cli_dispatch("keys", subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
