/* The configuration file parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

static char path[] = "/tmp/acme-config-test-XXXXXX";

static struct acme_config *
load(const char *text)
{
	struct acme_config *c = NULL;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	if (acme_config_load(path, &c) != ACME_OK)
		c = NULL;
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	return c;
}

#define MINIMAL "base_url = https://acme.example/\nstate_dir = /srv/acme\n" \
	"[directory default]\nca_cert = ca/i.pem\nca_key = /keys/i.key\n"

static void
test_minimal_and_defaults(void **state)
{
	struct acme_config *c = load(MINIMAL);
	const struct acme_dir_config *d;

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->base_url, "https://acme.example");   /* trailing slash dropped */
	assert_int_equal(c->http01_port, 80);
	assert_int_equal(c->tlsalpn01_port, 443);
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->ndir, 1);
	d = acme_config_dir(c, "default");
	assert_non_null(d);
	assert_ptr_equal(d, c->default_dir);
	assert_string_equal(d->ca_cert, "/srv/acme/ca/i.pem");     /* relative to state_dir */
	assert_string_equal(d->ca_key, "/keys/i.key");
	assert_int_equal(d->cert_lifetime, 24 * 3600);
	assert_int_equal(d->allow_private, 0);
	assert_true(d->challenges & (1u << STORE_CH_HTTP01));
	assert_null(c->dnssec_trust_anchor);                       /* no DNSSEC unless asked */
	acme_config_free(c);
}

/* dnssec_trust_anchor is a path like the others: relative to state_dir. */
static void
test_trust_anchor(void **state)
{
	struct acme_config *c;

	(void)state;
	c = load("dnssec_trust_anchor = dns/root.key\n" MINIMAL);
	assert_non_null(c);
	assert_string_equal(c->dnssec_trust_anchor, "/srv/acme/dns/root.key");
	acme_config_free(c);
	c = load("dnssec_trust_anchor = /usr/share/dns/root.key\n" MINIMAL);
	assert_non_null(c);
	assert_string_equal(c->dnssec_trust_anchor, "/usr/share/dns/root.key");
	acme_config_free(c);
}

static void
test_values(void **state)
{
	struct acme_config *c = load(MINIMAL "cert_lifetime = 7d\nallow_private = yes\n"
	    "challenges = dns-01\ncaa_identities = ca.example, ca2.example\n"
	    "[directory other]\nca_cert = a\nca_key = b\nexternal_account_required = true\n"
	    "# a comment\n\n");
	const struct acme_dir_config *d;

	(void)state;
	assert_non_null(c);
	d = acme_config_dir(c, "default");
	assert_int_equal(d->cert_lifetime, 7 * 86400);
	assert_int_equal(d->allow_private, 1);
	assert_int_equal(d->challenges, 1u << STORE_CH_DNS01);
	assert_int_equal(d->ncaa_identity, 2);
	assert_string_equal(d->caa_identity[1], "ca2.example");
	assert_non_null(acme_config_dir(c, "other"));
	assert_int_equal(acme_config_dir(c, "other")->eab_required, 1);
	assert_null(acme_config_dir(c, "nope"));
	acme_config_free(c);
}

static void
test_refused(void **state)
{
	static const char *bad[] = {
		"[directory default]\nca_cert = a\nca_key = b\n",                    /* no base_url */
		"base_url = https://x\n",                                            /* no directory */
		MINIMAL "unknown_key = 1\n",
		MINIMAL "cert_lifetime = 12\n",                                      /* no unit */
		MINIMAL "cert_lifetime = 100d\n",                                    /* above max */
		MINIMAL "allow_private = maybe\n",
		MINIMAL "challenges = http-02\n",
		"base_url = https://x\n[directory Bad_Name]\nca_cert = a\nca_key = b\n",
		MINIMAL "[directory default]\nca_cert = a\nca_key = b\n",            /* twice */
		"base_url = https://x\n[directory d]\nca_cert = a\n",                /* no ca_key */
		"base_url = ftp://x\n" "[directory d]\nca_cert = a\nca_key = b\n",
		MINIMAL "just a line\n",
		"workers = 0\n" MINIMAL,
		MINIMAL "tos_required = yes\n",                                      /* no terms URL */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct acme_config *c = load(bad[i]);
		if (c != NULL)
			fail_msg("config %zu was accepted", i);
	}
}

static void
test_profiles(void **state)
{
	struct acme_config *c = load("base_url = https://x\n"
	    "[profile tlsserver]\ndescription = 90 days\nlifetime = 90d\n"
	    "[profile shortlived]\nlifetime = 160h\next_key_usage = serverAuth clientAuth\n"
	    "identifiers = dns\n"
	    "[directory default]\nca_cert = a\nca_key = b\nprofiles = tlsserver shortlived\n"
	    "default_profile = shortlived\n"
	    "[directory plain]\nca_cert = a\nca_key = b\ncert_lifetime = 2d\n");
	const struct acme_dir_config *d;
	const struct acme_profile *p;

	(void)state;
	assert_non_null(c);
	d = acme_config_dir(c, "default");
	assert_int_equal(d->nprofile, 2);
	p = acme_config_profile(d, NULL);
	assert_string_equal(p->name, "shortlived");
	assert_int_equal(p->lifetime, 160 * 3600);
	assert_int_equal(p->ext_key_usage, PROFILE_EKU_SERVER_AUTH | PROFILE_EKU_CLIENT_AUTH);
	assert_int_equal(p->identifiers, 1u << STORE_IDENT_DNS);
	p = acme_config_profile(d, "tlsserver");
	assert_string_equal(p->description, "90 days");
	assert_null(acme_config_profile(d, "nope"));
	d = acme_config_dir(c, "plain");
	p = acme_config_profile(d, NULL);
	assert_int_equal(p->lifetime, 2 * 86400);
	assert_null(acme_config_profile(d, "tlsserver"));
	acme_config_free(c);
	/* Unknown profile name, and a default that is not offered. */
	assert_null(load("base_url = https://x\n[directory d]\nca_cert = a\nca_key = b\nprofiles = x\n"));
	assert_null(load("base_url = https://x\n[profile p]\n[directory d]\nca_cert = a\n"
	    "ca_key = b\nprofiles = p\ndefault_profile = q\n"));
	assert_null(load("base_url = https://x\n[profile p]\nlifetime = 400d\n[directory d]\n"
	    "ca_cert = a\nca_key = b\nprofiles = p\n"));
}

static void
test_duration(void **state)
{
	(void)state;
	assert_int_equal(acme_parse_duration("90d"), 90 * 86400);
	assert_int_equal(acme_parse_duration("15s"), 15);
	assert_int_equal(acme_parse_duration("30m"), 1800);
	assert_int_equal(acme_parse_duration("0"), 0);
	assert_int_equal(acme_parse_duration("10"), -1);
	assert_int_equal(acme_parse_duration("-1h"), -1);
	assert_int_equal(acme_parse_duration("1h2"), -1);
	assert_int_equal(acme_parse_duration(""), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_and_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_trust_anchor),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_duration),
	};
	acme_log_open("test", "stderr");
	acme_log_level(LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
