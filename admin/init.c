/*
 * acme-admin init: create a state directory that the server can run from.
 *
 *   STATE/acme.conf                 the configuration
 *   STATE/ca/root.{pem,key}         the root CA (keep the key offline in production)
 *   STATE/ca/intermediate.{pem,key} the issuing CA
 *
 * or, with --import-ca CERT --import-key KEY, an existing issuing CA:
 *
 *   STATE/ca/intermediate.pem       its certificate
 *   STATE/ca/intermediate.key       its key when KEY is a PEM file (none when the key
 *                                   is in a PKCS#11 token: acme.conf names its URI)
 *   STATE/ca/pkcs11.pin             the token PIN, when the URI carried one (mode 0600)
 *   STATE/ca/chain.pem              the certificate and --import-chain (served chain)
 *   STATE/ca/root.pem               the top of --import-chain, else the certificate
 *
 * and in both cases
 *
 *   STATE/tls/server.{pem,key}      the web server's certificate (and chain), for
 *                                   localhost, 127.0.0.1 and ::1 plus --tls-name names
 *   STATE/db/                       the Berkeley DB environment
 *   STATE/run/                      sockets, nonce table, generated web server configs
 *   STATE/log/                      logs
 *   STATE/crl/                      the published CRLs
 *
 * Ownership and modes (docs/security.md). Without --user everything is the
 * caller's, private to it. With --user USER (as root), the server runs as
 * USER (acme-fcgi's workers) and other members of USER's group
 * (acme-validator); acme-admin stays root:
 *
 *   STATE/                   root:GROUP 0751  others may reach run/fcgi.sock only
 *   STATE/acme.conf          root:GROUP 0640
 *   STATE/ca/                root:GROUP 0750  certificates 0644
 *   STATE/ca/intermediate.key, pkcs11.pin
 *                            USER:GROUP 0400  the signing processes only (the
 *                                             workers; root for acme-admin)
 *   STATE/ca/root.key        root:root 0600   (keep it offline in production)
 *   STATE/tls/               root:root 0750   the web server reads it as root
 *   STATE/db/, log/, crl/    USER:GROUP 2770  shared by the group, setgid so that
 *                                             files root creates stay the group's
 *   STATE/run/               USER:GROUP 2771  fcgi.sock reachable by the web server
 *
 * Files in db/ are 0660 (store/internal.h ST_FILE_MODE): the group shares
 * the environment.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "admin/admin.h"
#include "admin/owner.h"
#include "core/ca.h"
#include "core/log.h"
#include "core/pkcs11.h"
#include "store/store.h"

#define MAX_TLS_NAMES 16

struct init_opts {
	const char *state;
	const char *base_url;
	const char *resolver;
	const char *key_type;
	int key_type_given;
	const char *import_ca;        /* an existing issuing CA, or NULL */
	const char *import_key;       /* its key: PEM file or pkcs11: URI */
	const char *import_chain;     /* certificates above it, or NULL */
	const char *pkcs11_module;    /* written to acme.conf, or NULL */
	const char *pkcs11_pin_file;  /* written to acme.conf, or NULL */
	int http01_port;
	int tlsalpn01_port;
	int workers;
	int allow_private;
	int force;
	const char *user;             /* --user: the service user, or NULL */
	const char *tls_names[MAX_TLS_NAMES];
	size_t ntls;
};

/* The CA files acme.conf names, relative to the state directory or
 * absolute (ca_key may be a pkcs11: URI, without its PIN). */
struct ca_files {
	const char *cert, *key, *chain, *root;
	const char *pkcs11_module;    /* NULL: not written */
	const char *pkcs11_pin_file;  /* NULL: not written */
};

static void
init_usage(FILE *f)
{
	fprintf(f,
	    "usage: acme-admin init --state DIR [options]\n"
	    "  --state DIR            state directory to create (default ./var)\n"
	    "  --base-url URL         external URL of the server (default https://localhost:14443)\n"
	    "  --key-type TYPE        CA key type: p256 (default), p384, rsa2048, rsa3072, rsa4096, ed25519\n"
	    "  --import-ca CERT.pem   use this existing issuing CA instead of creating a root and\n"
	    "                         an intermediate (needs --import-key)\n"
	    "  --import-key KEY       its private key: a PEM file, or a pkcs11: URI (RFC 7512) of a\n"
	    "                         key in a token; a pin-value in the URI goes to ca/pkcs11.pin\n"
	    "  --import-chain PEM     the certificates above it, up to the root (optional)\n"
	    "  --pkcs11-module PATH   PKCS#11 module for a pkcs11: key (default: SoftHSM2's if\n"
	    "                         installed, else p11-kit-proxy)\n"
	    "  --pkcs11-pin-file FILE file holding the token PIN (mode 0600), when the URI has none\n"
	    "  --resolver IP:PORT     DNS resolver for validation (default: the system's)\n"
	    "  --http01-port N        port http-01 validation connects to (default 80)\n"
	    "  --tlsalpn01-port N     port tls-alpn-01 validation connects to (default 443)\n"
	    "  --workers N            FastCGI worker processes (default 2)\n"
	    "  --allow-private        validate against private and loopback addresses\n"
	    "  --tls-name NAME        another DNS name or IP for the server's own certificate\n"
	    "  --force                overwrite an existing state directory's CA and configuration\n"
	    "  --user USER            (as root) the server runs as USER and its group: give them\n"
	    "                         the store, logs and run/, the CA key to USER alone\n");
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
write_config(const char *path, const struct init_opts *o, const char *state,
    const struct ca_files *cf)
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
	    "ca_cert = %s\n"
	    "ca_key = %s\n"
	    "ca_chain = %s\n"
	    "ca_root = %s\n",
	    cf->cert, cf->key, cf->chain, cf->root);
	if (cf->pkcs11_module != NULL)
		fprintf(f, "pkcs11_module = %s\n", cf->pkcs11_module);
	else if (pkcs11_is_uri(cf->key))
		fprintf(f, "# pkcs11_module = %s\n", pkcs11_default_module());
	if (cf->pkcs11_pin_file != NULL)
		fprintf(f, "pkcs11_pin_file = %s\n", cf->pkcs11_pin_file);
	fprintf(f,
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

/* The server's TLS certificate and key (tls/server.{pem,key}), for
 * localhost, 127.0.0.1, ::1 and the --tls-name names, signed by issuer;
 * server.pem holds it and then chain[0..nchain) (the issuer first). */
static int
make_tls(const char *state, const struct init_opts *o, X509 *issuer, EVP_PKEY *issuer_key,
    X509 *const *chain, size_t nchain)
{
	EVP_PKEY *tk = NULL;
	X509 *tc = NULL, **all = NULL;
	const char *dns[MAX_TLS_NAMES + 1], *ips[MAX_TLS_NAMES + 2];
	size_t ndns = 0, nip = 0, i;
	char path[PATH_MAX + 64];
	int ret = -1;

	dns[ndns++] = "localhost";
	ips[nip++] = "127.0.0.1";
	ips[nip++] = "::1";
	for (i = 0; i < o->ntls; i++) {
		if (is_ip(o->tls_names[i]))
			ips[nip++] = o->tls_names[i];
		else
			dns[ndns++] = o->tls_names[i];
	}
	if (ca_gen_key("p256", &tk) != ACME_OK ||
	    ca_make_tls(tk, dns, ndns, ips, nip, 397, issuer, issuer_key, &tc) != ACME_OK)
		goto out;
	if ((all = calloc(nchain + 1, sizeof(*all))) == NULL) {
		log_err("init: out of memory");
		goto out;
	}
	all[0] = tc;
	for (i = 0; i < nchain; i++)
		all[i + 1] = chain[i];
	snprintf(path, sizeof(path), "%s/tls/server.key", state);
	if (ca_write_key(path, tk) != ACME_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/tls/server.pem", state);
	if (ca_write_certs(path, all, nchain + 1) != ACME_OK)
		goto out;
	ret = 0;
out:
	free(all);
	EVP_PKEY_free(tk);
	X509_free(tc);
	return ret;
}

/* Remove what an earlier init (with --force) may have left in ca/ that
 * this one does not write: a key that no longer belongs, a PIN. */
static int
remove_stale(const char *state, const char *const *names, size_t n)
{
	char path[PATH_MAX + 64];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/ca/%s", state, names[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			log_err("init: cannot remove %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
make_pki(const char *state, const struct init_opts *o)
{
	static const char *const stale[] = { "chain.pem", "pkcs11.pin" };
	EVP_PKEY *rk = NULL, *ik = NULL;
	X509 *rc = NULL, *ic = NULL;
	char path[PATH_MAX + 64], cn[128], host[64] = "localhost";
	int ret = -1;

	gethostname(host, sizeof(host) - 1);
	snprintf(cn, sizeof(cn), "acme-server root CA (%s)", host);
	if (ca_gen_key(o->key_type, &rk) != ACME_OK || ca_make_root(rk, cn, 3650, &rc) != ACME_OK)
		goto out;
	snprintf(cn, sizeof(cn), "acme-server issuing CA (%s)", host);
	if (ca_gen_key(o->key_type, &ik) != ACME_OK ||
	    ca_make_sub(ik, cn, 1825, rc, rk, &ic) != ACME_OK)
		goto out;
	if (remove_stale(state, stale, sizeof(stale) / sizeof(stale[0])) < 0)
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
	if (make_tls(state, o, ic, ik, &ic, 1) < 0)
		goto out;
	ret = 0;
out:
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	X509_free(rc);
	X509_free(ic);
	return ret;
}

/* Write pin (and a newline) to path, mode 0600 before the first byte. */
static int
write_pin(const char *path, const char *pin)
{
	FILE *f = NULL;
	int fd, ret = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    fchmod(fd, 0600) < 0 || (f = fdopen(fd, "w")) == NULL) {
		log_err("init: %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (fprintf(f, "%s\n", pin) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0) {
		log_err("init: writing %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (f != NULL && fclose(f) != 0 && ret == 0) {
		log_err("init: %s: %s", path, strerror(errno));
		ret = -1;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * The key of an imported CA: a pkcs11: URI loses its pin-value, which goes
 * to ca/pkcs11.pin, so that acme.conf holds no secret. Sets cf->key (the
 * URI without PIN, or ca/intermediate.key for a PEM file: *bare owns it),
 * cf->pkcs11_pin_file, and kopts for loading it now.
 */
static int
import_key_setup(const char *state, const struct init_opts *o, struct ca_files *cf,
    struct ca_key_opts *kopts, char **bare, char *pin_path, size_t pin_path_size)
{
	char *pin = NULL;
	int ret = -1;

	memset(kopts, 0, sizeof(*kopts));
	kopts->pkcs11_module = o->pkcs11_module;
	if (!pkcs11_is_uri(o->import_key)) {
		cf->key = "ca/intermediate.key";
		return 0;
	}
	if (pkcs11_uri_split_pin(o->import_key, bare, &pin) != ACME_OK) {
		log_err("init: --import-key: not a pkcs11: URI with a usable pin-value");
		goto out;
	}
	cf->key = *bare;
	if (pin != NULL) {
		snprintf(pin_path, pin_path_size, "%s/ca/pkcs11.pin", state);
		if (write_pin(pin_path, pin) < 0)
			goto out;
		cf->pkcs11_pin_file = "ca/pkcs11.pin";
		kopts->pkcs11_pin_file = pin_path;
	} else if (o->pkcs11_pin_file != NULL) {
		cf->pkcs11_pin_file = kopts->pkcs11_pin_file = o->pkcs11_pin_file;
	}
	ret = 0;
out:
	pkcs11_pin_free(pin);
	return ret;
}

/* certs[0] (the imported CA) verifies up to certs[n - 1], the trust anchor,
 * through the others: signatures, validity, CA constraints. */
static int
chain_verifies(X509 *const *certs, size_t n)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *mid = NULL;
	size_t i;
	int ret = -1;

	if (n < 2)
		return 0;
	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
	    (mid = sk_X509_new_null()) == NULL || !X509_STORE_add_cert(store, certs[n - 1]))
		goto ssl;
	for (i = 1; i + 1 < n; i++)
		if (!sk_X509_push(mid, certs[i]))
			goto ssl;
	/* The top of the chain need not be a root. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	if (!X509_STORE_CTX_init(ctx, store, certs[0], mid))
		goto ssl;
	if (X509_verify_cert(ctx) != 1) {
		log_err("init: the imported CA does not verify through --import-chain: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	ret = 0;
	goto out;
ssl:
	acme_log_ssl("init: verifying the imported chain");
out:
	sk_X509_free(mid);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ret;
}

/*
 * Use an existing issuing CA: copy its certificate (and chain) into ca/,
 * load it with its key exactly as the server will (the key must match the
 * certificate, which must be a CA with keyCertSign), and sign the TLS
 * certificate with it. No root is created. A key in a token stays there.
 */
static int
import_pki(const char *state, const struct init_opts *o, struct ca_files *cf, char **bare)
{
	/* Before anything is written: the PIN file is written afresh if needed. */
	static const char *const stale[] = { "root.key", "pkcs11.pin", "intermediate.key" };
	STACK_OF(X509) *cert = NULL, *above = NULL;
	struct acme_ca *ca = NULL;
	struct ca_key_opts kopts;
	X509 **chain = NULL, *top;
	char cert_path[PATH_MAX + 64], chain_path[PATH_MAX + 64], path[PATH_MAX + 64];
	char pin_path[PATH_MAX + 64];
	size_t nchain = 1, i;
	int p11 = pkcs11_is_uri(o->import_key), ret = -1;

	cf->cert = "ca/intermediate.pem";
	cf->chain = "ca/intermediate.pem";
	cf->root = "ca/root.pem";
	cf->pkcs11_module = o->pkcs11_module;
	if (ca_read_certs(o->import_ca, &cert) != ACME_OK)
		goto out;
	if (sk_X509_num(cert) != 1) {
		log_err("init: %s must hold one certificate, the issuing CA's (put the others in "
		    "--import-chain)", o->import_ca);
		goto out;
	}
	if (o->import_chain != NULL) {
		if (ca_read_certs(o->import_chain, &above) != ACME_OK)
			goto out;
		/* The chain may start with the issuing certificate itself. */
		if (X509_cmp(sk_X509_value(above, 0), sk_X509_value(cert, 0)) == 0)
			X509_free(sk_X509_shift(above));
	}
	if ((chain = calloc(1 + (above != NULL ? (size_t)sk_X509_num(above) : 0),
	    sizeof(*chain))) == NULL) {
		log_err("init: out of memory");
		goto out;
	}
	chain[0] = sk_X509_value(cert, 0);
	for (i = 0; above != NULL && i < (size_t)sk_X509_num(above); i++)
		chain[nchain++] = sk_X509_value(above, (int)i);
	if (chain_verifies(chain, nchain) < 0)
		goto out;
	/* The root is the trust anchor, not part of the chain served. */
	top = chain[nchain - 1];
	if (nchain > 1 && X509_self_signed(top, 0) == 1)
		nchain--;

	if (remove_stale(state, stale, p11 ? 3 : 2) < 0 ||
	    import_key_setup(state, o, cf, &kopts, bare, pin_path, sizeof(pin_path)) < 0)
		goto out;
	snprintf(cert_path, sizeof(cert_path), "%s/ca/intermediate.pem", state);
	snprintf(chain_path, sizeof(chain_path), "%s/ca/chain.pem", state);
	snprintf(path, sizeof(path), "%s/ca/root.pem", state);
	if (ca_write_certs(cert_path, chain, 1) != ACME_OK || ca_write_certs(path, &top, 1) != ACME_OK)
		goto out;
	if (nchain > 1) {
		if (ca_write_certs(chain_path, chain, nchain) != ACME_OK)
			goto out;
		cf->chain = "ca/chain.pem";
	} else if (unlink(chain_path) < 0 && errno != ENOENT) {
		log_err("init: cannot remove %s: %s", chain_path, strerror(errno));
		goto out;
	}
	if (ca_load_opts(cert_path, p11 ? cf->key : o->import_key, nchain > 1 ? chain_path : NULL,
	    &kopts, &ca) != ACME_OK) {
		log_err("init: cannot use %s with that key as the issuing CA", o->import_ca);
		goto out;
	}
	if (!p11) {
		snprintf(path, sizeof(path), "%s/ca/intermediate.key", state);
		if (ca_write_key(path, ca_key(ca)) != ACME_OK)
			goto out;
	}
	if (make_tls(state, o, ca_cert(ca), ca_key(ca), chain, nchain) < 0)
		goto out;
	ret = 0;
out:
	ca_free(ca);
	free(chain);
	sk_X509_pop_free(cert, X509_free);
	sk_X509_pop_free(above, X509_free);
	return ret;
}

/* A value that goes into acme.conf as it is: one line, no '#'-comment games. */
static int
conf_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
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
		{ "import-ca", required_argument, NULL, 'C' },
		{ "import-key", required_argument, NULL, 'K' },
		{ "import-chain", required_argument, NULL, 'H' },
		{ "pkcs11-module", required_argument, NULL, 'M' },
		{ "pkcs11-pin-file", required_argument, NULL, 'I' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "http01-port", required_argument, NULL, 'p' },
		{ "tlsalpn01-port", required_argument, NULL, 'a' },
		{ "workers", required_argument, NULL, 'w' },
		{ "allow-private", no_argument, NULL, 'P' },
		{ "tls-name", required_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct init_opts o;
	struct ca_files cf = { "ca/intermediate.pem", "ca/intermediate.key",
	    "ca/intermediate.pem", "ca/root.pem", NULL, NULL };
	struct store *st = NULL;
	char state[PATH_MAX], path[PATH_MAX + 32], pin_file[PATH_MAX], *bare = NULL;
	const char *sub[] = { "ca", "tls", "db", "run", "log" };
	const mode_t submode[] = { 0700, 0750, 0700, 0755, 0750 };
	enum store_err se;
	int c, w, rc = ADMIN_FAIL;
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
		case 'k': o.key_type = optarg; o.key_type_given = 1; break;
		case 'C': o.import_ca = optarg; break;
		case 'K': o.import_key = optarg; break;
		case 'H': o.import_chain = optarg; break;
		case 'M': o.pkcs11_module = optarg; break;
		case 'I': o.pkcs11_pin_file = optarg; break;
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
		case 'U': o.user = optarg; break;
		case 'h': init_usage(stdout); return ADMIN_OK;
		default: goto usage;
		}
	}
	if (optind != argc || strncmp(o.base_url, "https://", 8) != 0)
		goto usage;
	if ((o.import_ca == NULL) != (o.import_key == NULL) ||
	    (o.import_ca == NULL && (o.import_chain != NULL || o.pkcs11_module != NULL ||
	    o.pkcs11_pin_file != NULL)) ||
	    (o.import_ca != NULL && o.key_type_given) ||
	    (o.pkcs11_pin_file != NULL && !pkcs11_is_uri(o.import_key))) {
		fprintf(stderr, "acme-admin init: --import-ca and --import-key go together; "
		    "--import-chain and --pkcs11-* need them, --pkcs11-pin-file a pkcs11: key, "
		    "and --key-type is for a new CA only\n");
		goto usage;
	}
	if ((o.import_key != NULL && !conf_safe(o.import_key)) ||
	    (o.pkcs11_module != NULL && !conf_safe(o.pkcs11_module))) {
		fprintf(stderr, "acme-admin init: control characters in --import-key or "
		    "--pkcs11-module\n");
		goto usage;
	}
	/* acme.conf names the PIN file by an absolute path. */
	if (o.pkcs11_pin_file != NULL) {
		if (realpath(o.pkcs11_pin_file, pin_file) == NULL || !conf_safe(pin_file)) {
			log_err("init: %s: %s", o.pkcs11_pin_file, strerror(errno));
			goto out;
		}
		o.pkcs11_pin_file = pin_file;
	}

	if (mkdir_mode(o.state, 0750) < 0 || realpath(o.state, state) == NULL) {
		log_err("init: %s: %s", o.state, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/acme.conf", state);
	if (access(path, F_OK) == 0 && !o.force) {
		fprintf(stderr, "acme-admin init: %s is already initialised (use --force to replace "
		    "its CA and configuration)\n", state);
		rc = ADMIN_EXISTS;
		goto out;
	}
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", state, sub[i]);
		if (mkdir_mode(path, submode[i]) < 0)
			goto out;
	}
	if (o.import_ca != NULL ? import_pki(state, &o, &cf, &bare) < 0 : make_pki(state, &o) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/db", state);
	if ((se = store_open(path, STORE_OPEN_CREATE, &st)) != STORE_OK) {
		log_err("init: creating the store in %s: %s", path, store_strerror(se));
		goto out;
	}
	store_close(st);
	snprintf(path, sizeof(path), "%s/acme.conf", state);
	if (write_config(path, &o, state, &cf) < 0)
		goto out;
	if (o.user != NULL && admin_own_state(state, o.user, "init") < 0)
		goto out;
	printf("initialised %s\n  configuration  %s/acme.conf\n  root CA        %s/ca/root.pem\n"
	    "  directory      %s/acme/default/directory\n", state, state, state, o.base_url);
	rc = ADMIN_OK;
	goto out;
usage:
	init_usage(stderr);
	rc = ADMIN_USAGE;
out:
	free(bare);
	return rc;
}
