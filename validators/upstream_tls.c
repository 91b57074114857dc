/*
 * Self-service TLS: the files side. The daemon's ACME client
 * (validators/upstream.c) obtains the web server's certificate like an RA
 * order; this file decides when one is needed, makes the CSR for the key
 * the daemon generated, and puts the key and the chain in place.
 *
 * A certificate is replaced when it is missing or unreadable, when its
 * names (DNS and IP) are not exactly tls_names, when the key file does not
 * hold its key, or when tls_renew_fraction of its lifetime has passed.
 *
 * Files are replaced atomically: each is written to a temporary file in
 * the same directory (mode and owner of the file it replaces; the key 0600
 * always), fsync'd, then renamed over the old one, key first, and the
 * directory fsync'd. A crash between the two renames leaves a key that does
 * not match the certificate, which the next check sees and repairs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "validators/upstream.h"

#define TLS_FILE_MAX (256 * 1024)   /* a certificate chain or key file we read */

static X509 *
read_cert(const char *path, int *err)
{
	BIO *b;
	X509 *x = NULL;

	*err = 0;
	if ((b = BIO_new_file(path, "r")) == NULL) {
		*err = errno != 0 ? errno : EIO;
		return NULL;
	}
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL)
		*err = EINVAL;
	return x;
}

/* 1 when x's subjectAltNames are exactly names (DNS names, any case, in
 * any order, no others: no IP addresses either), else 0. */
static int
names_match(X509 *x, char *const *names, size_t n)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const GENERAL_NAME *g;
	const ASN1_IA5STRING *s;
	unsigned char *seen = NULL;
	int i, count, ok = 0;
	size_t j;

	if (gens == NULL || n == 0 || (seen = calloc(n, 1)) == NULL)
		goto out;
	count = sk_GENERAL_NAME_num(gens);
	for (i = 0; i < count; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			goto out;
		s = g->d.dNSName;
		for (j = 0; j < n; j++)
			if ((size_t)ASN1_STRING_length(s) == strlen(names[j]) &&
			    strncasecmp((const char *)ASN1_STRING_get0_data(s), names[j],
			    strlen(names[j])) == 0)
				break;
		if (j == n)
			goto out;
		seen[j] = 1;
	}
	for (j = 0; j < n; j++)
		if (!seen[j])
			goto out;
	ok = 1;
out:
	free(seen);
	GENERAL_NAMES_free(gens);
	return ok;
}

static int64_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

enum ups_tls_verdict
ups_tls_check(const struct acme_tls_config *t, int64_t now, char *why, size_t cap,
    int64_t *renew_at)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	BIO *b = NULL;
	int64_t nb, na;
	enum ups_tls_verdict v = UPS_TLS_DUE;
	int err;

	*renew_at = 0;
	if ((x = read_cert(t->cert_file, &err)) == NULL) {
		snprintf(why, cap, "%s %s", t->cert_file, err == ENOENT ? "does not exist" :
		    err == EINVAL ? "holds no PEM certificate" : strerror(err));
		v = UPS_TLS_MISSING;
		goto out;
	}
	if (!names_match(x, t->names, t->nnames)) {
		snprintf(why, cap, "the certificate in %s does not name exactly tls_names",
		    t->cert_file);
		v = UPS_TLS_NAMES;
		goto out;
	}
	if ((b = BIO_new_file(t->key_file, "r")) == NULL ||
	    (k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL ||
	    X509_check_private_key(x, k) != 1) {
		snprintf(why, cap, "%s does not hold the key of the certificate in %s", t->key_file,
		    t->cert_file);
		v = UPS_TLS_KEY;
		goto out;
	}
	nb = asn1_time(X509_get0_notBefore(x));
	na = asn1_time(X509_get0_notAfter(x));
	if (na <= nb) {
		snprintf(why, cap, "the certificate in %s has no usable validity", t->cert_file);
		goto out;
	}
	*renew_at = nb + (na - nb) / 1000 * (int64_t)t->renew_permille +
	    (na - nb) % 1000 * (int64_t)t->renew_permille / 1000;
	if (now >= *renew_at) {
		snprintf(why, cap, "%s of the lifetime of the certificate in %s has passed",
		    t->renew_fraction, t->cert_file);
		goto out;
	}
	snprintf(why, cap, "the certificate in %s is good", t->cert_file);
	v = UPS_TLS_FRESH;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	BIO_free(b);
	X509_free(x);
	return v;
}

enum acme_err
ups_tls_csr(EVP_PKEY *key, char *const *names, size_t n, unsigned char **der, size_t *len)
{
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *g;
	ASN1_IA5STRING *s;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *p = NULL;
	enum acme_err rc = ACME_ECRYPTO;
	size_t i;
	int l;

	*der = NULL;
	*len = 0;
	if (n == 0)
		return ACME_EINVAL;
	if ((req = X509_REQ_new()) == NULL || (subj = X509_NAME_new()) == NULL ||
	    (gens = GENERAL_NAMES_new()) == NULL || (exts = sk_X509_EXTENSION_new_null()) == NULL)
		goto out;
	/* The subject's CN, when it fits (64 characters), for the people who look. */
	if (strlen(names[0]) <= 64 && X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)names[0], -1, -1, 0) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		if ((g = GENERAL_NAME_new()) == NULL)
			goto out;
		if ((s = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(s, names[i], (int)strlen(names[i])) != 1) {
			ASN1_IA5STRING_free(s);
			GENERAL_NAME_free(g);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (sk_GENERAL_NAME_push(gens, g) <= 0) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_subject_name(req, subj) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    (ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) <= 0)
		goto out;
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (l = i2d_X509_REQ(req, &p)) <= 0)
		goto out;
	if ((*der = malloc((size_t)l)) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	memcpy(*der, p, (size_t)l);
	*len = (size_t)l;
	rc = ACME_OK;
out:
	if (rc == ACME_ECRYPTO)
		log_err("self-service TLS: making the CSR failed");
	OPENSSL_free(p);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return rc;
}

/* A file about to replace path: written, fsync'd, not yet renamed. */
struct staged {
	const char *path;
	char *tmp;
};

/* The directory part of path ("." when it has none); caller frees. */
static char *
dir_of(const char *path)
{
	const char *s = strrchr(path, '/');

	if (s == NULL)
		return strdup(".");
	if (s == path)
		return strdup("/");
	return strndup(path, (size_t)(s - path));
}

/*
 * Write data to a temporary file beside path with the mode (key: 0600;
 * else the old file's, or 0644) and owner of the file it replaces.
 */
static enum acme_err
stage(struct staged *sf, const char *path, const char *data, size_t len, int is_key,
    char *err, size_t cap)
{
	struct stat old;
	mode_t mode = is_key ? 0600 : 0644;
	int fd = -1, have_old;
	size_t off = 0;
	ssize_t w;
	enum acme_err rc = ACME_EIO;

	sf->path = path;
	sf->tmp = NULL;
	have_old = stat(path, &old) == 0;
	if (have_old && !is_key)
		mode = old.st_mode & 0644;
	if (asprintf(&sf->tmp, "%s.new-XXXXXX", path) < 0) {
		sf->tmp = NULL;
		snprintf(err, cap, "out of memory");
		return ACME_ENOMEM;
	}
	if ((fd = mkstemp(sf->tmp)) < 0) {
		snprintf(err, cap, "cannot create a file beside %s: %s", path, strerror(errno));
		free(sf->tmp);
		sf->tmp = NULL;
		return ACME_EIO;
	}
	if (fchmod(fd, mode) < 0) {
		snprintf(err, cap, "chmod %s: %s", sf->tmp, strerror(errno));
		goto out;
	}
	/* The owner of the file it replaces: the web server may read it as
	 * another user than the daemon's. Only root may give a file away. */
	if (have_old && (old.st_uid != geteuid() || old.st_gid != getegid()) &&
	    fchown(fd, old.st_uid, old.st_gid) < 0) {
		snprintf(err, cap, "cannot give the new %s the owner of the old one (uid %u, gid %u): "
		    "%s; let the daemon's user own it", path, (unsigned)old.st_uid,
		    (unsigned)old.st_gid, strerror(errno));
		goto out;
	}
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, cap, "write %s: %s", sf->tmp, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		snprintf(err, cap, "fsync %s: %s", sf->tmp, strerror(errno));
		goto out;
	}
	rc = ACME_OK;
out:
	if (fd >= 0 && close(fd) < 0 && rc == ACME_OK) {
		snprintf(err, cap, "close %s: %s", sf->tmp, strerror(errno));
		rc = ACME_EIO;
	}
	if (rc != ACME_OK) {
		unlink(sf->tmp);
		free(sf->tmp);
		sf->tmp = NULL;
	}
	return rc;
}

static void
unstage(struct staged *sf)
{
	if (sf->tmp != NULL) {
		unlink(sf->tmp);
		free(sf->tmp);
		sf->tmp = NULL;
	}
}

static enum acme_err
commit(struct staged *sf, char *err, size_t cap)
{
	char *dir = NULL;
	int fd;

	if (rename(sf->tmp, sf->path) < 0) {
		snprintf(err, cap, "rename %s to %s: %s", sf->tmp, sf->path, strerror(errno));
		return ACME_EIO;
	}
	free(sf->tmp);
	sf->tmp = NULL;
	/* The rename itself is durable once the directory is. */
	if ((dir = dir_of(sf->path)) != NULL &&
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(fd) < 0)
			log_warn("self-service TLS: fsync %s: %s", dir, strerror(errno));
		close(fd);
	}
	free(dir);
	return ACME_OK;
}

enum acme_err
ups_tls_install(const struct acme_tls_config *t, EVP_PKEY *key, const unsigned char *der,
    size_t der_len, const char *chain_pem, char *err, size_t cap)
{
	const unsigned char *p = der;
	struct staged sk = { NULL, NULL }, sc = { NULL, NULL };
	X509 *x = NULL;
	BIO *kb = NULL, *cb = NULL;
	char *kdata, *cdata;
	long klen, clen;
	enum acme_err rc = ACME_EINVAL;

	err[0] = '\0';
	if ((x = d2i_X509(NULL, &p, (long)der_len)) == NULL || p != der + der_len) {
		snprintf(err, cap, "the certificate from the CA does not parse");
		goto out;
	}
	/* What the CA handed out must be what we asked for. */
	if (X509_check_private_key(x, key) != 1) {
		snprintf(err, cap, "the certificate from the CA is not for the key this daemon made");
		goto out;
	}
	if (!names_match(x, t->names, t->nnames)) {
		snprintf(err, cap, "the certificate from the CA does not name exactly tls_names");
		goto out;
	}
	rc = ACME_ECRYPTO;
	if ((kb = BIO_new(BIO_s_secmem())) == NULL || (cb = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cb, x) != 1) {
		snprintf(err, cap, "the key or the certificate cannot be written as PEM");
		goto out;
	}
	if (chain_pem != NULL && chain_pem[0] != '\0') {
		size_t cl = strlen(chain_pem);
		if (BIO_write(cb, chain_pem, (int)cl) != (int)cl ||
		    (chain_pem[cl - 1] != '\n' && BIO_write(cb, "\n", 1) != 1)) {
			snprintf(err, cap, "the chain cannot be written");
			goto out;
		}
	}
	klen = BIO_get_mem_data(kb, &kdata);
	clen = BIO_get_mem_data(cb, &cdata);
	if (klen <= 0 || clen <= 0 || clen > TLS_FILE_MAX)
		goto out;
	/* Both staged before either is renamed; the key first. */
	if ((rc = stage(&sk, t->key_file, kdata, (size_t)klen, 1, err, cap)) != ACME_OK ||
	    (rc = stage(&sc, t->cert_file, cdata, (size_t)clen, 0, err, cap)) != ACME_OK ||
	    (rc = commit(&sk, err, cap)) != ACME_OK ||
	    (rc = commit(&sc, err, cap)) != ACME_OK)
		goto out;
	rc = ACME_OK;
out:
	unstage(&sk);
	unstage(&sc);
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	return rc;
}

enum acme_err
ups_tls_argv(const char *cmd, char ***out)
{
	char **argv = NULL, *copy = NULL, *tok, *save = NULL;
	size_t n = 0;
	enum acme_err rc = ACME_ENOMEM;

	*out = NULL;
	if ((copy = strdup(cmd)) == NULL ||
	    (argv = calloc(strlen(cmd) / 2 + 2, sizeof(*argv))) == NULL)
		goto out;
	for (tok = strtok_r(copy, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save))
		if ((argv[n++] = strdup(tok)) == NULL)
			goto out;
	if (n == 0 || argv[0][0] != '/') {
		rc = ACME_EINVAL;
		goto out;
	}
	*out = argv;
	argv = NULL;
	rc = ACME_OK;
out:
	ups_tls_argv_free(argv);
	free(copy);
	return rc;
}

void
ups_tls_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
