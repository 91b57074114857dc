/*
 * acme-admin eab: External Account Binding keys (RFC 8555 section 7.3.4).
 *
 * The HMAC key is printed once, by "eab new", and never again: listings
 * show everything else about a key. Nothing here logs it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "admin/state.h"
#include "core/audit.h"
#include "core/b64.h"

#define EAB_RANDOM_KID 16       /* bytes of a generated kid: 22 characters */
#define EAB_KEY_BYTES  32       /* HMAC-SHA256 key */
#define EAB_NOTE_MAX   256
#define EAB_DEFAULT_TTL 3600

/* Everything but the key. */
static struct json_object *
eab_view(const struct store_eab *e, int64_t now)
{
	struct json_object *o = out_new();

	out_str(o, "kid", e->kid);
	out_str(o, "directory", e->dir);
	out_str(o, "state", state_eab(e, now));
	out_time(o, "created", e->created);
	out_time(o, "expires", e->expires);
	out_bool(o, "reusable", e->reusable);
	out_int(o, "uses", e->uses);
	out_str(o, "account", e->account);
	out_bool(o, "revoked", e->revoked);
	out_str(o, "note", e->note);
	return o;
}

static int
kid_ok(const char *s)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return n >= 1 && n <= STORE_EAB_KID_MAX;
}

static int
note_ok(const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return n <= EAB_NOTE_MAX;
}

/* ------------------------------------------------------------------ */
/* eab new */

static enum store_err
new_txn(struct store_txn *t, void *arg)
{
	return store_eab_put(t, arg, STORE_PUT_CREATE);
}

/* The kid (given, or 16 random bytes) and the key of e. */
static int
make_key(struct store_eab *e, const char *kid)
{
	unsigned char raw[EAB_RANDOM_KID];

	if (kid != NULL) {
		snprintf(e->kid, sizeof(e->kid), "%s", kid);
	} else {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			goto fail;
		b64u_encode_buf(raw, sizeof(raw), e->kid);
	}
	e->key_len = EAB_KEY_BYTES;
	if (RAND_bytes(e->key, (int)e->key_len) != 1)
		goto fail;
	return ADMIN_OK;
fail:
	fprintf(stderr, "acme-admin eab new: no randomness\n");
	return ADMIN_FAIL;
}

/* The key as base64url, once, with the options clients take. */
static void
print_new(const struct cli *c, const struct store_eab *e)
{
	char key[B64U_ENCLEN(STORE_EAB_KEY_MAX) + 1], line[512];
	struct json_object *o = out_new();

	b64u_encode_buf(e->key, e->key_len, key);
	out_str(o, "kid", e->kid);
	out_str(o, "hmac_key", key);
	out_str(o, "directory", e->dir);
	out_time(o, "expires", e->expires);
	out_bool(o, "reusable", e->reusable);
	out_str(o, "note", e->note);
	snprintf(line, sizeof(line), "--eab-kid %s --eab-hmac-key %s", e->kid, key);
	out_str(o, "certbot", line);
	snprintf(line, sizeof(line), "--eab --kid %s --hmac %s", e->kid, key);
	out_str(o, "lego", line);
	out_object(c, o);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(line, sizeof(line));
	json_object_put(o);
	if (!c->json)
		fprintf(stderr, "acme-admin: the HMAC key is shown only now; acme-admin cannot show it "
		    "again\n");
}

static int
eab_new(int argc, char **argv)
{
	const char *dir = NULL, *expires = NULL, *note = NULL, *kid = NULL;
	int reusable = 0;
	const struct cli_opt opts[] = {
		{ "directory", CLI_STR, "D", "the directory the key is for (required)", &dir, NULL },
		{ "expires", CLI_STR, "DURATION", "unusable after this long (default 1h; 0 never)",
		    &expires, NULL },
		{ "reusable", CLI_FLAG, NULL, "may bind any number of accounts (default: one)", NULL,
		    &reusable },
		{ "note", CLI_STR, "TEXT", "a note for operators (at most 256 characters)", &note, NULL },
		{ "kid", CLI_STR, "NAME", "the key id ([A-Za-z0-9_-], at most 64; default random)",
		    &kid, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "eab new", NULL,
	    "create an External Account Binding key and print it (once)", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	struct store_eab e;
	struct cli c;
	int64_t ttl = EAB_DEFAULT_TTL;
	enum store_err se;
	int rc;

	memset(&e, 0, sizeof(e));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rc = ADMIN_USAGE;
	if (dir == NULL) {
		fprintf(stderr, "acme-admin eab new: --directory is required\n");
		goto out;
	}
	if ((expires != NULL && cli_duration("--expires", expires, &ttl) != ADMIN_OK))
		goto out;
	if (kid != NULL && !kid_ok(kid)) {
		fprintf(stderr, "acme-admin eab new: --kid takes 1 to %d of A-Z a-z 0-9 - _\n",
		    STORE_EAB_KID_MAX);
		goto out;
	}
	if (note != NULL && !note_ok(note)) {
		fprintf(stderr, "acme-admin eab new: --note takes at most %d characters, no control "
		    "characters\n", EAB_NOTE_MAX);
		goto out;
	}
	rc = ADMIN_NOTFOUND;
	if (cli_dir(&c, dir) == NULL)
		goto out;
	snprintf(e.dir, sizeof(e.dir), "%s", dir);
	e.created = c.now;
	e.expires = ttl == 0 ? 0 : c.now + ttl;
	e.reusable = reusable != 0;
	e.note = (char *)(uintptr_t)note;   /* borrowed: cleared before the free */
	if ((rc = make_key(&e, kid)) != ADMIN_OK)
		goto out;
	if ((se = store_txn_run(c.store, STORE_TXN_RW, new_txn, &e)) != STORE_OK) {
		rc = cli_store_exit(se);
		fprintf(stderr, "acme-admin eab new: %s\n", se == STORE_EXISTS ?
		    "a key with this kid exists" : store_strerror(se));
		goto out;
	}
	acme_audit("eab.create", e.dir, "sisi", "kid", e.kid, "expires", e.expires, "by",
	    "acme-admin", "reusable", (int64_t)e.reusable);
	print_new(&c, &e);
	rc = ADMIN_OK;
out:
	e.note = NULL;
	store_eab_free(&e);   /* wipes the key */
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */
/* eab list */

struct eab_list {
	struct json_object *rows;      /* first: scan_list empties it */
	const char *dir;
	int64_t now;
};

static enum store_err
list_one(struct store_txn *t, const char *kid, void *arg)
{
	struct eab_list *l = arg;
	struct store_eab e;
	enum store_err se;

	if ((se = store_eab_get(t, kid, &e)) != STORE_OK)
		return se;
	if (l->dir == NULL || strcmp(l->dir, e.dir) == 0)
		out_push(l->rows, eab_view(&e, l->now));
	store_eab_free(&e);
	return STORE_OK;
}

static int
eab_list(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "KID", "kid" }, { "DIRECTORY", "directory" }, { "STATE", "state" },
		{ "CREATED", "created" }, { "EXPIRES", "expires" }, { "REUSABLE", "reusable" },
		{ "USES", "uses" }, { "ACCOUNT", "account" }, { "REVOKED", "revoked" },
		{ "NOTE", "note" }, { NULL, NULL },
	};
	const char *dir = NULL;
	const struct cli_opt opts[] = {
		{ "directory", CLI_STR, "D", "only the keys of this directory", &dir, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "eab list", NULL,
	    "list External Account Binding keys (never the keys themselves)", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct eab_list l;
	struct cli c;
	int rc;

	memset(&l, 0, sizeof(l));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	l.dir = dir;
	l.now = c.now;
	rc = scan_list(&c, STORE_T_EAB, list_one, &l, cols);
out:
	json_object_put(l.rows);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */
/* eab revoke */

struct eab_revoke {
	const char *kid;
	int was_revoked;
	char dir[STORE_NAME_MAX + 1];
};

static enum store_err
revoke_txn(struct store_txn *t, void *arg)
{
	struct eab_revoke *r = arg;
	struct store_eab e;
	enum store_err se;

	r->was_revoked = 0;
	if ((se = store_eab_get(t, r->kid, &e)) != STORE_OK)
		return se;
	snprintf(r->dir, sizeof(r->dir), "%s", e.dir);
	if (e.revoked)
		r->was_revoked = 1;
	else {
		e.revoked = 1;
		se = store_eab_put(t, &e, 0);
	}
	store_eab_free(&e);
	return se;
}

static int
eab_revoke(int argc, char **argv)
{
	const struct cli_cmd cmd = { "eab revoke", "KID",
	    "revoke an External Account Binding key: no new account can bind with it "
	    "(accounts already bound stay)", 1, 1, NULL,
	    CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	struct json_object *res = NULL;
	struct eab_revoke r;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	r.kid = c.pos[0];
	se = store_txn_run(c.store, STORE_TXN_RW, revoke_txn, &r);
	if (se != STORE_OK) {
		fprintf(stderr, "acme-admin eab revoke: %s: %s\n", r.kid,
		    se == STORE_NOTFOUND ? "no such key" : store_strerror(se));
		rc = cli_store_exit(se);
		goto out;
	}
	if (r.was_revoked) {
		fprintf(stderr, "acme-admin eab revoke: %s was already revoked\n", r.kid);
		rc = ADMIN_STATE;
		goto out;
	}
	acme_audit("eab.revoke", r.dir, "ss", "kid", r.kid, "by", "acme-admin");
	res = out_new();
	out_str(res, "kid", r.kid);
	out_bool(res, "revoked", 1);
	out_object(&c, res);
out:
	json_object_put(res);
	return cli_done(&c, rc);
}

int
admin_eab(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "new", eab_new, "create a key and print it (the only time it is shown)" },
		{ "list", eab_list, "list keys: kid, directory, state, uses, bound account, note" },
		{ "revoke", eab_revoke, "revoke a key" },
	};

	return cli_dispatch("eab", subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
