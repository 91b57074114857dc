/*
 * acme-admin crl: sign and publish each directory's CRL now (for cron: the
 * server also signs one after each revocation, and when a fetched CRL is
 * older than crl_refresh). Prints what was published, read back from the
 * file the server serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin/out.h"
#include "core/ca.h"
#include "core/crl.h"

#define CRL_FILE_MAX (64L * 1024 * 1024)

/* Number, entries and next update of the CRL file path, into o. */
static int
describe(const char *path, struct json_object *o)
{
	X509_CRL *crl = NULL;
	ASN1_INTEGER *num = NULL;
	const ASN1_TIME *next;
	struct tm tm;
	FILE *f = NULL;
	int64_t n = -1;
	int rc = ADMIN_FAIL;

	if ((f = fopen(path, "re")) == NULL || (crl = d2i_X509_CRL_fp(f, NULL)) == NULL) {
		fprintf(stderr, "acme-admin crl: cannot read %s\n", path);
		goto out;
	}
	if ((num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL)) != NULL &&
	    ASN1_INTEGER_get_int64(&n, num) != 1)
		n = -1;
	out_int(o, "number", n);
	n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	out_int(o, "entries", n > 0 ? n : 0);   /* -1: no list at all */
	if ((next = X509_CRL_get0_nextUpdate(crl)) != NULL && ASN1_TIME_to_tm(next, &tm) == 1)
		out_time(o, "next_update", (int64_t)timegm(&tm));
	out_str(o, "path", path);
	rc = ADMIN_OK;
out:
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
publish(struct cli *c, const struct acme_dir_config *d, struct json_object *rows)
{
	struct json_object *o = NULL;
	struct acme_ca *ca = NULL;
	char rel[64], *path = NULL;
	int rc;

	if ((rc = cli_ca(d, &ca)) != ADMIN_OK)
		goto out;
	rc = ADMIN_FAIL;
	if (acme_crl_publish(c->store, c->cfg, d, ca, c->now) != ACME_OK) {
		fprintf(stderr, "acme-admin crl: directory %s: the CRL was not published\n", d->name);
		goto out;
	}
	snprintf(rel, sizeof(rel), "crl/%s.crl", d->name);
	if ((path = acme_state_file(c->cfg, rel)) == NULL)
		goto out;
	o = out_new();
	out_str(o, "directory", d->name);
	if ((rc = describe(path, o)) != ADMIN_OK)
		goto out;
	out_push(rows, o);
	o = NULL;
out:
	json_object_put(o);
	free(path);
	ca_free(ca);
	return rc;
}

int
admin_crl(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "DIRECTORY", "directory" }, { "NUMBER", "number" }, { "ENTRIES", "entries" },
		{ "NEXT UPDATE", "next_update" }, { "FILE", "path" }, { NULL, NULL },
	};
	const char *dir = NULL;
	const struct cli_opt opts[] = {
		{ "directory", CLI_STR, "D", "only this directory's CRL (default: every directory)",
		    &dir, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "crl", NULL,
	    "sign and publish the CRLs now; print their numbers and entries", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	const struct acme_dir_config *d;
	struct json_object *rows = NULL;
	struct cli c;
	size_t i;
	int rc, one;

	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rows = out_array();
	if (dir != NULL) {
		rc = (d = cli_dir(&c, dir)) != NULL ? publish(&c, d, rows) : ADMIN_NOTFOUND;
	} else {
		for (i = 0; i < c.cfg->ndir; i++)
			if (!c.cfg->dir[i].ra &&   /* RA: the upstream publishes */
			    (one = publish(&c, &c.cfg->dir[i], rows)) != ADMIN_OK)
				rc = one;   /* go on with the others */
	}
	out_list(&c, rows, cols);
out:
	json_object_put(rows);
	return cli_done(&c, rc);
}
