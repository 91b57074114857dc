/* acme-admin directories: the ACME directories the configuration serves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "admin/out.h"

static const struct cli_cmd cmd = {
	"directories", NULL, "the configured ACME directories: URL, issuing CA, EAB, profiles, CAA",
	0, 0, NULL, CLI_NEED_CONFIG,
};

/* The subject of the first certificate in the PEM file path, as one line
 * (RFC 2253); caller frees. NULL (with a message) if unreadable. */
static char *
ca_subject(const char *path)
{
	X509 *x = NULL;
	BIO *in = NULL, *mem = NULL;
	char *s = NULL, *p;
	long n;

	if ((in = BIO_new_file(path, "r")) == NULL || (x = PEM_read_bio_X509(in, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "acme-admin directories: cannot read a certificate from %s\n", path);
		goto out;
	}
	if ((mem = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(mem, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) < 0)
		goto out;
	n = BIO_get_mem_data(mem, &p);
	if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
out:
	X509_free(x);
	BIO_free(in);
	BIO_free(mem);
	return s;
}

static struct json_object *
strings(char **v, size_t n)
{
	struct json_object *a = out_array();
	size_t i;

	for (i = 0; i < n; i++)
		out_push(a, json_object_new_string(v[i]));
	return a;
}

static struct json_object *
view(const struct acme_config *cfg, const struct acme_dir_config *d)
{
	struct json_object *o = out_new();
	char url[1024], *subject = ca_subject(d->ca_cert);

	snprintf(url, sizeof(url), "%s/acme/%s/directory", cfg->base_url, d->name);
	out_str(o, "name", d->name);
	out_str(o, "url", url);
	out_str(o, "ca_subject", subject);
	out_bool(o, "eab_required", d->eab_required);
	json_object_object_add(o, "profiles", strings(d->profile_name, d->nprofile_name));
	out_str(o, "default_profile", d->default_profile_name);
	out_bool(o, "caa_check", d->caa_check);
	json_object_object_add(o, "caa_identities", strings(d->caa_identity, d->ncaa_identity));
	free(subject);
	return o;
}

int
admin_directories(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "NAME", "name" }, { "URL", "url" }, { "EAB", "eab_required" },
		{ "PROFILES", "profiles" }, { "CAA", "caa_check" }, { "CA", "ca_subject" },
		{ NULL, NULL },
	};
	struct json_object *rows = NULL;
	struct cli c;
	size_t i;
	int rc;

	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rows = out_array();
	for (i = 0; i < c.cfg->ndir; i++)
		out_push(rows, view(c.cfg, &c.cfg->dir[i]));
	out_list(&c, rows, cols);
out:
	json_object_put(rows);
	return cli_done(&c, rc);
}
