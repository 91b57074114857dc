/*
 * acme-admin init: create a state directory that the server can run from.
 *
 *   STATE/acme.conf                 the configuration
 *   STATE/ca/root.{pem,key}         the root CA (keep the key offline in production)
 *   STATE/ca/intermediate.{pem,key} the issuing CA
 *   STATE/tls/server.{pem,key}      the web server's certificate (and chain), for
 *                                   localhost, 127.0.0.1 and ::1 plus --tls-name names
 *   STATE/db/                       the Berkeley DB environment
 *   STATE/run/                      sockets, nonce table, generated web server configs
 *   STATE/log/                      logs
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "admin/admin.h"
#include "core/ca.h"
#include "core/log.h"
#include "store/store.h"

#define MAX_TLS_NAMES 16

struct init_opts {
	const char *state;
	const char *base_url;
	const char *resolver;
	const char *key_type;
	int http01_port;
	int tlsalpn01_port;
	int workers;
	int allow_private;
	int force;
	const char *tls_names[MAX_TLS_NAMES];
	size_t ntls;
};

static void
init_usage(FILE *f)
{
	fprintf(f,
	    "usage: acme-admin init --state DIR [options]\n"
	    "  --state DIR            state directory to create (default ./var)\n"
	    "  --base-url URL         external URL of the server (default https://localhost:14443)\n"
	    "  --key-type TYPE        CA key type: p256 (default), p384, rsa2048, rsa3072, rsa4096, ed25519\n"
	    "  --resolver IP:PORT     DNS resolver for validation (default: the system's)\n"
	    "  --http01-port N        port http-01 validation connects to (default 80)\n"
	    "  --tlsalpn01-port N     port tls-alpn-01 validation connects to (default 443)\n"
	    "  --workers N            FastCGI worker processes (default 2)\n"
	    "  --allow-private        validate against private and loopback addresses\n"
	    "  --tls-name NAME        another DNS name or IP for the server's own certificate\n"
	    "  --force                overwrite an existing state directory's CA and configuration\n");
}

static int
mkdir_mode(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		log_err("init: mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	if (chmod(path, mode) < 0) {
		log_err("init: chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
is_ip(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s) || strchr(s, ':') != NULL;
}

static int
write_config(const char *path, const struct init_opts *o, const char *state)
{
	FILE *f;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	int rc = -1;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((f = fopen(path, "we")) == NULL) {
		log_err("init: %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f,
	    "# acme-server configuration, written by acme-admin init on %s.\n"
	    "# The reference is docs/configuration.md. Relative paths are relative to state_dir.\n"
	    "\n"
	    "state_dir = %s\n"
	    "base_url = %s\n"
	    "workers = %d\n"
	    "log = file:%s/log/acme.log\n"
	    "http01_port = %d\n"
	    "tlsalpn01_port = %d\n",
	    now, state, o->base_url, o->workers, state, o->http01_port, o->tlsalpn01_port);
	if (o->resolver != NULL)
		fprintf(f, "resolver = %s\n", o->resolver);
	else
		fprintf(f, "# resolver = 127.0.0.1:53\n");
	fprintf(f,
	    "\n"
	    "# Certificate profiles (draft-ietf-acme-profiles); directories list the ones they offer.\n"
	    "[profile shortlived]\n"
	    "description = TLS server certificate valid for 160 hours\n"
	    "lifetime = 160h\n"
	    "ext_key_usage = serverAuth\n"
	    "\n"
	    "[profile tlsserver]\n"
	    "description = TLS server certificate valid for 90 days\n"
	    "lifetime = 90d\n"
	    "ext_key_usage = serverAuth\n"
	    "\n"
	    "[directory default]\n"
	    "ca_cert = ca/intermediate.pem\n"
	    "ca_key = ca/intermediate.key\n"
	    "ca_chain = ca/intermediate.pem\n"
	    "ca_root = ca/root.pem\n"
	    "profiles = shortlived tlsserver\n"
	    "default_profile = shortlived\n"
	    "cert_lifetime_max = 90d\n"
	    "crl_url = %s/acme/default/crl\n"
	    "aia_url = %s/acme/default/issuer\n"
	    "# Internal PKI validates names that resolve to private addresses.\n"
	    "allow_private = %s\n",
	    o->base_url, o->base_url, o->allow_private ? "yes" : "no");
	if (fclose(f) != 0) {
		log_err("init: %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	return rc;
}

static int
make_pki(const char *state, const struct init_opts *o)
{
	EVP_PKEY *rk = NULL, *ik = NULL, *tk = NULL;
	X509 *rc = NULL, *ic = NULL, *tc = NULL;
	const char *dns[MAX_TLS_NAMES + 1], *ips[MAX_TLS_NAMES + 2];
	size_t ndns = 0, nip = 0, i;
	char path[PATH_MAX + 64], cn[128], host[64] = "localhost";
	X509 *chain[2];
	int ret = -1;

	gethostname(host, sizeof(host) - 1);
	dns[ndns++] = "localhost";
	ips[nip++] = "127.0.0.1";
	ips[nip++] = "::1";
	for (i = 0; i < o->ntls; i++) {
		if (is_ip(o->tls_names[i]))
			ips[nip++] = o->tls_names[i];
		else
			dns[ndns++] = o->tls_names[i];
	}
	snprintf(cn, sizeof(cn), "acme-server root CA (%s)", host);
	if (ca_gen_key(o->key_type, &rk) != ACME_OK || ca_make_root(rk, cn, 3650, &rc) != ACME_OK)
		goto out;
	snprintf(cn, sizeof(cn), "acme-server issuing CA (%s)", host);
	if (ca_gen_key(o->key_type, &ik) != ACME_OK ||
	    ca_make_sub(ik, cn, 1825, rc, rk, &ic) != ACME_OK)
		goto out;
	if (ca_gen_key("p256", &tk) != ACME_OK ||
	    ca_make_tls(tk, dns, ndns, ips, nip, 397, ic, ik, &tc) != ACME_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/ca/root.key", state);
	if (ca_write_key(path, rk) != ACME_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/ca/root.pem", state);
	if (ca_write_certs(path, &rc, 1) != ACME_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/ca/intermediate.key", state);
	if (ca_write_key(path, ik) != ACME_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/ca/intermediate.pem", state);
	if (ca_write_certs(path, &ic, 1) != ACME_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/tls/server.key", state);
	if (ca_write_key(path, tk) != ACME_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/tls/server.pem", state);
	chain[0] = tc;
	chain[1] = ic;
	if (ca_write_certs(path, chain, 2) != ACME_OK)
		goto out;
	ret = 0;
out:
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(tk);
	X509_free(rc);
	X509_free(ic);
	X509_free(tc);
	return ret;
}

static int
parse_port(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

int
admin_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "base-url", required_argument, NULL, 'u' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "http01-port", required_argument, NULL, 'p' },
		{ "tlsalpn01-port", required_argument, NULL, 'a' },
		{ "workers", required_argument, NULL, 'w' },
		{ "allow-private", no_argument, NULL, 'P' },
		{ "tls-name", required_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct init_opts o;
	struct store *st = NULL;
	char state[PATH_MAX], path[PATH_MAX + 32];
	const char *sub[] = { "ca", "tls", "db", "run", "log" };
	const mode_t submode[] = { 0700, 0750, 0700, 0755, 0750 };
	enum store_err se;
	int c, w;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.state = "var";
	o.base_url = "https://localhost:14443";
	o.key_type = "p256";
	o.http01_port = 80;
	o.tlsalpn01_port = 443;
	o.workers = 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.state = optarg; break;
		case 'u': o.base_url = optarg; break;
		case 'k': o.key_type = optarg; break;
		case 'r': o.resolver = optarg; break;
		case 'p':
			if (parse_port(optarg, &o.http01_port) < 0)
				goto usage;
			break;
		case 'a':
			if (parse_port(optarg, &o.tlsalpn01_port) < 0)
				goto usage;
			break;
		case 'w':
			if (parse_port(optarg, &w) < 0 || w > 256)
				goto usage;
			o.workers = w;
			break;
		case 'P': o.allow_private = 1; break;
		case 'n':
			if (o.ntls == MAX_TLS_NAMES)
				goto usage;
			o.tls_names[o.ntls++] = optarg;
			break;
		case 'f': o.force = 1; break;
		case 'h': init_usage(stdout); return ADMIN_OK;
		default: goto usage;
		}
	}
	if (optind != argc || strncmp(o.base_url, "https://", 8) != 0)
		goto usage;

	if (mkdir_mode(o.state, 0750) < 0 || realpath(o.state, state) == NULL) {
		log_err("init: %s: %s", o.state, strerror(errno));
		return ADMIN_FAIL;
	}
	snprintf(path, sizeof(path), "%s/acme.conf", state);
	if (access(path, F_OK) == 0 && !o.force) {
		fprintf(stderr, "acme-admin init: %s is already initialised (use --force to replace "
		    "its CA and configuration)\n", state);
		return ADMIN_EXISTS;
	}
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", state, sub[i]);
		if (mkdir_mode(path, submode[i]) < 0)
			return ADMIN_FAIL;
	}
	if (make_pki(state, &o) < 0)
		return ADMIN_FAIL;
	snprintf(path, sizeof(path), "%s/db", state);
	if ((se = store_open(path, STORE_OPEN_CREATE, &st)) != STORE_OK) {
		log_err("init: creating the store in %s: %s", path, store_strerror(se));
		return ADMIN_FAIL;
	}
	store_close(st);
	snprintf(path, sizeof(path), "%s/acme.conf", state);
	if (write_config(path, &o, state) < 0)
		return ADMIN_FAIL;
	printf("initialised %s\n  configuration  %s/acme.conf\n  root CA        %s/ca/root.pem\n"
	    "  directory      %s/acme/default/directory\n", state, state, state, o.base_url);
	return ADMIN_OK;
usage:
	init_usage(stderr);
	return ADMIN_USAGE;
}
