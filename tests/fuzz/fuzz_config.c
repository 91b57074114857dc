/*
 * The configuration file parser (core/config.c) with its value parsers
 * (durations, key policies, rate limits, name patterns, IP ranges, word
 * lists). The input is the file; it is read through a memfd, the way
 * acme_config_load reads any path. A configuration that loads is one the
 * programs can use: at least one directory, names of [a-z0-9-], the
 * default directory one of them, every path absolute, profiles resolved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"
#include "tests/fuzz/fuzzlib.h"

static int cfg_fd = -1;
static char cfg_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	if ((cfg_fd = memfd_create("acme-fuzz-config", MFD_CLOEXEC)) < 0)
		fz_fail(__FILE__, __LINE__, "memfd_create");
	snprintf(cfg_path, sizeof(cfg_path), "/proc/self/fd/%d", cfg_fd);
	return 0;
}

static int
abs_or_null(const char *p)
{
	return p == NULL || p[0] == '/' || strncmp(p, "pkcs11:", 7) == 0;
}

static void
check(const struct acme_config *c)
{
	const struct acme_dir_config *d;
	size_t i, k;
	char *p;

	FZ_CHECK(c->ndir >= 1 && c->base_url != NULL && c->state_dir != NULL);
	FZ_CHECK(c->state_dir[0] == '/');
	FZ_CHECK(c->base_url[0] != '\0' && c->base_url[strlen(c->base_url) - 1] != '/');
	FZ_CHECK(c->default_dir >= c->dir && c->default_dir < c->dir + c->ndir);
	FZ_CHECK(c->audit_log != NULL);
	for (i = 0; i < c->ndir; i++) {
		d = &c->dir[i];
		FZ_CHECK(strlen(d->name) >= 1 && strlen(d->name) <= ACME_DIR_NAME_MAX);
		FZ_CHECK(strspn(d->name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(d->name));
		FZ_CHECK(acme_config_dir(c, d->name) == d);
		FZ_CHECK(d->ca_cert != NULL && d->ca_key != NULL);
		FZ_CHECK(abs_or_null(d->ca_cert) && abs_or_null(d->ca_key) &&
		    abs_or_null(d->ca_chain) && abs_or_null(d->ca_root) &&
		    abs_or_null(d->pkcs11_pin_file));
		for (k = 0; k < d->nalt_chain; k++)
			FZ_CHECK(abs_or_null(d->alt_chain[k]));
		FZ_CHECK(d->cert_lifetime <= d->cert_lifetime_max);
		FZ_CHECK(d->ncontact_scheme >= 1);
		FZ_CHECK(d->nprofile <= ACME_MAX_PROFILES && d->nprofile == d->nprofile_name);
		FZ_CHECK(acme_config_profile(d, NULL) != NULL);
		for (k = 0; k < d->nprofile_name; k++)
			FZ_CHECK(acme_config_profile(d, d->profile_name[k]) != NULL);
		FZ_CHECK(d->nprofile == 0 || d->default_profile != NULL);
	}
	p = acme_config_path(c, "db");
	FZ_CHECK(p != NULL && p[0] == '/');
	free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_config *c = NULL;

	if (ftruncate(cfg_fd, 0) != 0 || pwrite(cfg_fd, data, size, 0) != (ssize_t)size)
		fz_fail(__FILE__, __LINE__, "memfd write");
	if (acme_config_load(cfg_path, &c) == ACME_OK) {
		check(c);
		acme_config_free(c);
	} else {
		FZ_CHECK(c == NULL);
	}
	return 0;
}
