/* The per-process context: store, nonces, each directory's CA and URLs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/audit.h"
#include "core/internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/psl.h"

static struct json_object *
directory_object(const struct acme_dir *d)
{
	struct json_object *o, *meta, *arr;
	const struct acme_dir_config *c = d->cfg;
	static const struct { const char *key, *path; } res[] = {
		{ "newNonce", "new-nonce" }, { "newAccount", "new-account" },
		{ "newOrder", "new-order" }, { "revokeCert", "revoke-cert" },
		{ "keyChange", "key-change" }, { "newAuthz", "new-authz" },
		{ "renewalInfo", "renewal-info" },
	};
	size_t i;
	char *u;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		u = acme_url(d, res[i].path, NULL);
		acme_json_add_str(o, res[i].key, u);
		free(u);
	}
	meta = json_object_new_object();
	acme_json_add_str(meta, "termsOfService", c->terms_of_service);
	acme_json_add_str(meta, "website", c->website);
	if (c->ncaa_identity > 0) {
		arr = json_object_new_array();
		for (i = 0; i < c->ncaa_identity; i++)
			json_object_array_add(arr, json_object_new_string(c->caa_identity[i]));
		json_object_object_add(meta, "caaIdentities", arr);
	}
	acme_json_add_bool(meta, "externalAccountRequired", c->eab_required);
	/* An extension member: the upstream CA an RA directory fronts. */
	if (c->ra)
		acme_json_add_str(meta, "upstream", c->upstream_url);
	if (c->nprofile > 0) {
		struct json_object *pr = json_object_new_object();
		for (i = 0; i < c->nprofile; i++)
			acme_json_add_str(pr, c->profile[i]->name, c->profile[i]->description ?
			    c->profile[i]->description : c->profile[i]->name);
		json_object_object_add(meta, "profiles", pr);
	}
	json_object_object_add(o, "meta", meta);
	return o;
}

/* A PEM file's text, at most 1 MiB, which must hold a certificate. */
static char *
read_pem_file(const char *path)
{
	FILE *f;
	char *buf = NULL;
	size_t n;

	if ((f = fopen(path, "re")) == NULL) {
		log_err("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(1024 * 1024 + 1)) != NULL) {
		n = fread(buf, 1, 1024 * 1024, f);
		buf[n] = '\0';
		if (strstr(buf, "-----BEGIN CERTIFICATE-----") == NULL) {
			log_err("%s holds no PEM certificate", path);
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static enum acme_err
dir_init(struct acme_ctx *ctx, struct acme_dir *d, const struct acme_dir_config *c)
{
	struct ca_key_opts kopts;
	struct json_object *o;
	enum acme_err rc;

	d->cfg = c;
	kopts.pkcs11_module = c->pkcs11_module;
	kopts.pkcs11_pin_file = c->pkcs11_pin_file;
	/* RA: no CA key; the upstream CA signs. */
	if (!c->ra && (rc = ca_load_opts(c->ca_cert, c->ca_key, c->ca_chain, &kopts, &d->ca)) !=
	    ACME_OK) {
		log_err("directory %s: cannot load its CA (%s)", c->name, acme_strerror(rc));
		return rc;
	}
	if (asprintf(&d->path_prefix, "/acme/%s/", c->name) < 0 ||
	    asprintf(&d->url_prefix, "%s/acme/%s/", ctx->cfg->base_url, c->name) < 0)
		return ACME_ENOMEM;
	d->path_prefix_len = strlen(d->path_prefix);
	d->url_prefix_len = strlen(d->url_prefix);
	if (asprintf(&d->index_link, "<%sdirectory>;rel=\"index\"", d->url_prefix) < 0)
		return ACME_ENOMEM;
	if (c->nalt_chain > 0 && (d->alt_pem = calloc(c->nalt_chain, sizeof(char *))) == NULL)
		return ACME_ENOMEM;
	for (; d->nalt < c->nalt_chain; d->nalt++)
		if ((d->alt_pem[d->nalt] = read_pem_file(c->alt_chain[d->nalt])) == NULL)
			return ACME_ECONFIG;
	if ((o = directory_object(d)) == NULL)
		return ACME_ENOMEM;
	d->directory_json = acme_json_dump(o);
	json_object_put(o);
	return d->directory_json ? ACME_OK : ACME_ENOMEM;
}

enum acme_err
acme_ctx_new(const struct acme_config *cfg, struct acme_ctx **out)
{
	struct acme_ctx *ctx;
	enum acme_err rc = ACME_ENOMEM;
	enum store_err se;
	char *dbdir = NULL;
	size_t i;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return ACME_ENOMEM;
	ctx->cfg = cfg;
	if ((ctx->dir = calloc(cfg->ndir, sizeof(*ctx->dir))) == NULL)
		goto out;
	ctx->ndir = cfg->ndir;
	for (i = 0; i < cfg->ndir; i++)
		if ((rc = dir_init(ctx, &ctx->dir[i], &cfg->dir[i])) != ACME_OK)
			goto out;
	rc = ACME_ENOMEM;
	if ((dbdir = acme_state_file(cfg, "db")) == NULL ||
	    (ctx->wake_path = acme_state_file(cfg, "run/validator.sock")) == NULL)
		goto out;
	if ((se = store_open(dbdir, 0, &ctx->store)) != STORE_OK) {
		log_err("store: cannot open %s: %s", dbdir, store_strerror(se));
		rc = ACME_ESTORE;
		goto out;
	}
	if ((rc = acme_nonce_init(ctx)) != ACME_OK)
		goto out;
	if ((rc = acme_audit_open(cfg)) != ACME_OK)
		goto out;
	for (i = 0; i < cfg->ndir; i++)
		if (cfg->dir[i].rate[ACME_RL_CERTS_PER_DOMAIN].period != 0)
			(void)acme_psl_load(cfg->public_suffix_list);   /* missing: two labels */
	*out = ctx;
	ctx = NULL;
	rc = ACME_OK;
out:
	free(dbdir);
	acme_ctx_free(ctx);
	return rc;
}

void
acme_ctx_free(struct acme_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->ndir; i++) {
		ca_free(ctx->dir[i].ca);
		free(ctx->dir[i].path_prefix);
		free(ctx->dir[i].url_prefix);
		free(ctx->dir[i].directory_json);
		free(ctx->dir[i].index_link);
		for (size_t k = 0; k < ctx->dir[i].nalt; k++)
			free(ctx->dir[i].alt_pem[k]);
		free(ctx->dir[i].alt_pem);
	}
	free(ctx->dir);
	for (i = 0; i < ACME_KEYCACHE_SIZE; i++)
		EVP_PKEY_free(ctx->keycache[i].pkey);
	acme_nonce_fini(ctx);
	store_close(ctx->store);
	free(ctx->wake_path);
	free(ctx);
}

void
acme_wake_validator(struct acme_ctx *ctx)
{
	store_wake_ring(ctx->wake_path);
}
