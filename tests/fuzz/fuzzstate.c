/*
 * A running core for the request harnesses (fuzz_request, fuzz_fcgi): what
 * acme-admin init and a worker's start-up would do, in a scratch directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/ca.h"
#include "core/config.h"
#include "core/internal.h"
#include "tests/fuzz/fuzzlib.h"

static struct fz_state fz_st;
static int fz_st_open;

static void
fz_state_close(void)
{
	acme_ctx_free(fz_st.ctx);
	acme_config_free(fz_st.cfg);
	free(fz_st.dir);
	memset(&fz_st, 0, sizeof(fz_st));
	fz_st_open = 0;
}

static char *
fz_path(const char *dir, const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		fz_fail(__FILE__, __LINE__, "out of memory");
	return p;
}

static void
fz_mkdir(const char *dir, const char *rel)
{
	char *p = fz_path(dir, rel);

	if (mkdir(p, 0700) != 0)
		fz_fail(__FILE__, __LINE__, "mkdir");
	free(p);
}

static enum store_err
fz_eab_txn(struct store_txn *t, void *arg)
{
	struct store_eab e;

	(void)arg;
	memset(&e, 0, sizeof(e));
	snprintf(e.kid, sizeof(e.kid), "%s", FZ_MAC_KID);
	snprintf(e.dir, sizeof(e.dir), "default");
	memcpy(e.key, fz_mac_key, sizeof(fz_mac_key));
	e.key_len = sizeof(fz_mac_key);
	e.created = store_txn_now(t);
	e.reusable = 1;
	return store_eab_put(t, &e, STORE_PUT_CREATE);
}

struct fz_state *
fz_state_open(const char *extra_dir)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct store *s = NULL;
	char *p, *conf = NULL;

	if (fz_st_open)
		return &fz_st;
	fz_quiet();
	fz_st.dir = fz_tmpdir("state");
	fz_mkdir(fz_st.dir, "ca");
	fz_mkdir(fz_st.dir, "run");
	fz_mkdir(fz_st.dir, "log");

	/* A root that issues directly: enough for the core. */
	if (ca_gen_key("p256", &key) != ACME_OK ||
	    ca_make_root(key, "acme-server fuzz CA", 3650, &cert) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "cannot make the CA");
	p = fz_path(fz_st.dir, "ca/ca.key");
	if (ca_write_key(p, key) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "cannot write the CA key");
	free(p);
	p = fz_path(fz_st.dir, "ca/ca.pem");
	if (ca_write_certs(p, &cert, 1) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "cannot write the CA certificate");
	free(p);
	EVP_PKEY_free(key);
	X509_free(cert);

	if (asprintf(&conf,
	    "state_dir = %s\n"
	    "base_url = " FZ_BASE_URL "\n"
	    "audit_log = off\n"
	    "max_body = 8192\n"
	    "\n"
	    "[profile shortlived]\n"
	    "description = short-lived\n"
	    "lifetime = 160h\n"
	    "\n"
	    "[profile tlsserver]\n"
	    "lifetime = 90d\n"
	    "ext_key_usage = serverAuth clientAuth\n"
	    "\n"
	    "[directory default]\n"
	    "ca_cert = ca/ca.pem\n"
	    "ca_key = ca/ca.key\n"
	    "terms_of_service = " FZ_BASE_URL "/terms\n"
	    "website = " FZ_BASE_URL "/\n"
	    "caa_identities = acme.fuzz.test\n"
	    "contact_schemes = mailto tel\n"
	    "profiles = shortlived tlsserver\n"
	    "default_profile = shortlived\n"
	    "crl_url = " FZ_BASE_URL "/acme/default/crl\n"
	    "aia_url = " FZ_BASE_URL "/acme/default/issuer\n"
	    "names_deny = .denied.example\n"
	    "ips_deny = 203.0.113.0/24\n"
	    "%s\n",
	    fz_st.dir, extra_dir != NULL ? extra_dir : "") < 0)
		fz_fail(__FILE__, __LINE__, "out of memory");
	p = fz_path(fz_st.dir, "acme.conf");
	fz_write_file(p, conf, strlen(conf));
	free(conf);
	if (acme_config_load(p, &fz_st.cfg) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "the fuzz configuration does not load");
	free(p);

	/* What acme-admin init does: create the environment and its files. */
	p = fz_path(fz_st.dir, "db");
	if (store_open(p, STORE_OPEN_CREATE | STORE_OPEN_NOSYNC, &s) != STORE_OK)
		fz_fail(__FILE__, __LINE__, "cannot create the store");
	store_close(s);
	free(p);
	if (acme_ctx_new(fz_st.cfg, &fz_st.ctx) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "cannot open the core");
	if (store_txn_run(fz_st.ctx->store, STORE_TXN_RW, fz_eab_txn, NULL) != STORE_OK)
		fz_fail(__FILE__, __LINE__, "cannot add the EAB key");
	fz_st_open = 1;
	atexit(fz_state_close);
	return &fz_st;
}
