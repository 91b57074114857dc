/*
 * acme-admin upstream: an RA directory's account at its upstream CA.
 *
 *   upstream show [--directory D]      the account URL, key type and thumbprint
 *   upstream check --directory D [--passphrase-file F]
 *                                      decrypt the stored key (never printed) and
 *                                      check it against the recorded thumbprint
 *
 * The key itself is never shown: it is in the store only sealed (AES-256-GCM
 * under a scrypt-derived key, core/upstream_key.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin/out.h"
#include "core/jwk.h"
#include "core/upstream_key.h"

struct get_ups {
	const char *dir;
	struct store_upstream u;
};

static enum store_err
get_txn(struct store_txn *t, void *arg)
{
	struct get_ups *g = arg;

	store_upstream_free(&g->u);
	return store_upstream_get(t, g->dir, &g->u);
}

/* The record of RA directory d into g; an exit code. */
static int
load(struct cli *c, const struct acme_dir_config *d, struct get_ups *g)
{
	enum store_err e;

	memset(g, 0, sizeof(*g));
	g->dir = d->name;
	if (!d->ra) {
		fprintf(stderr, "acme-admin upstream: directory %s is not in RA mode\n", d->name);
		return ADMIN_STATE;
	}
	e = store_txn_run(c->store, STORE_TXN_RO, get_txn, g);
	if (e == STORE_NOTFOUND) {
		fprintf(stderr, "acme-admin upstream: directory %s has no upstream account yet "
		    "(it is created with the first order)\n", d->name);
		return ADMIN_NOTFOUND;
	}
	if (e != STORE_OK) {
		fprintf(stderr, "acme-admin upstream: %s\n", store_strerror(e));
		return cli_store_exit(e);
	}
	return ADMIN_OK;
}

static void
row(const struct acme_dir_config *d, const struct store_upstream *u, struct json_object *rows)
{
	struct json_object *o = out_new();

	out_str(o, "directory", d->name);
	out_str(o, "upstream", u->directory_url);
	out_str(o, "account", u->account_url ? u->account_url : "(not registered yet)");
	out_str(o, "key_type", u->key_type);
	out_str(o, "thumbprint", u->thumb);
	out_time(o, "created", u->created);
	out_str(o, "configured_upstream", d->upstream_url);
	out_push(rows, o);
}

/* An RA directory by name, or the self-service TLS pseudo-directory
 * (ACME_TLS_SELF) when tls_acme_url is set; NULL (reported) otherwise. */
static const struct acme_dir_config *
ups_dir(struct cli *c, const char *name)
{
	if (strcmp(name, ACME_TLS_SELF) == 0 && c->cfg->tls.enabled)
		return &c->cfg->tls.acct;
	return cli_dir(c, name);
}

static int
cmd_show(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "DIRECTORY", "directory" }, { "UPSTREAM", "upstream" }, { "ACCOUNT", "account" },
		{ "KEY", "key_type" }, { "THUMBPRINT", "thumbprint" }, { NULL, NULL },
	};
	const char *dir = NULL;
	const struct cli_opt opts[] = {
		{ "directory", CLI_STR, "D", "only this directory (default: every RA directory)",
		    &dir, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "upstream show", NULL,
	    "the RA directories' upstream accounts (never the key)", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	const struct acme_dir_config *d;
	struct json_object *rows = NULL;
	struct get_ups g;
	struct cli c;
	size_t i;
	int rc;

	memset(&g, 0, sizeof(g));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rows = out_array();
	if (dir != NULL) {
		if ((d = ups_dir(&c, dir)) == NULL) {
			rc = ADMIN_NOTFOUND;
			goto out;
		}
		if ((rc = load(&c, d, &g)) != ADMIN_OK)
			goto out;
		row(d, &g.u, rows);
	} else {
		for (i = 0; i < c.cfg->ndir; i++) {
			if (!c.cfg->dir[i].ra)
				continue;
			store_upstream_free(&g.u);
			if (load(&c, &c.cfg->dir[i], &g) == ADMIN_OK)
				row(&c.cfg->dir[i], &g.u, rows);
		}
		/* self-service TLS's account, once it has one */
		store_upstream_free(&g.u);
		if (c.cfg->tls.enabled && load(&c, &c.cfg->tls.acct, &g) == ADMIN_OK)
			row(&c.cfg->tls.acct, &g.u, rows);
	}
	out_list(&c, rows, cols);
out:
	store_upstream_free(&g.u);
	json_object_put(rows);
	return cli_done(&c, rc);
}

static int
cmd_check(int argc, char **argv)
{
	const char *dir = NULL, *pfile = NULL;
	const struct cli_opt opts[] = {
		{ "directory", CLI_STR, "D", "the RA directory", &dir, NULL },
		{ "passphrase-file", CLI_STR, "F",
		    "the passphrase to try (default: the directory's upstream_passphrase_file)",
		    &pfile, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "upstream check", NULL,
	    "decrypt the stored upstream account key and check its thumbprint", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	const struct acme_dir_config *d;
	struct get_ups g;
	struct cli c;
	EVP_PKEY *key = NULL;
	char pass[ACME_SECRET_MAX], thumb[44];
	size_t plen = 0;
	enum acme_err e;
	int rc;

	memset(&g, 0, sizeof(g));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	if (dir == NULL) {
		fprintf(stderr, "acme-admin upstream check: --directory is required\n");
		rc = ADMIN_USAGE;
		goto out;
	}
	if ((d = ups_dir(&c, dir)) == NULL) {
		rc = ADMIN_NOTFOUND;
		goto out;
	}
	if ((rc = load(&c, d, &g)) != ADMIN_OK)
		goto out;
	rc = ADMIN_FAIL;
	if (acme_secret_read(pfile ? pfile : d->upstream_passphrase_file, "upstream passphrase",
	    pass, sizeof(pass), &plen) != ACME_OK)
		goto out;
	e = acme_upstream_open(g.u.key_sealed, g.u.key_sealed_len, pass, plen, d->name, &key);
	if (e != ACME_OK) {
		fprintf(stderr, "acme-admin upstream check: directory %s: the key does not decrypt "
		    "(%s): wrong passphrase, or the record was changed\n", d->name, acme_strerror(e));
		goto out;
	}
	if (jwk_thumbprint_pkey(key, thumb) != ACME_OK || strcmp(thumb, g.u.thumb) != 0) {
		fprintf(stderr, "acme-admin upstream check: directory %s: the key does not match the "
		    "recorded thumbprint\n", d->name);
		goto out;
	}
	printf("directory %s: the upstream account key decrypts; thumbprint %s\n", d->name, thumb);
	rc = ADMIN_OK;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	EVP_PKEY_free(key);
	store_upstream_free(&g.u);
	return cli_done(&c, rc);
}

int
admin_upstream(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "show", cmd_show, "the upstream accounts of the RA directories" },
		{ "check", cmd_check, "decrypt the stored account key and check its thumbprint" },
	};

	return cli_dispatch("upstream", subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
