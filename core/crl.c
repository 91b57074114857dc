/*
 * Certificate revocation lists (RFC 5280 section 5). Each directory's CRL is
 * signed by its issuing CA and kept in STATE/crl/<dir>.crl. It is signed
 * afresh after every revocation, and when it is served (GET /acme/<dir>/crl)
 * while older than crl_refresh, so a CRL fetched over HTTP is never stale;
 * `acme-admin crl` does the same from cron. Only the FastCGI workers and
 * acme-admin hold the CA key: the validator, which talks to hostile hosts,
 * never signs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/crl.h"
#include "core/log.h"

#define CRL_MAX_ENTRIES 1000000

struct revoked {
	unsigned char serial[20];
	size_t serial_len;
	int64_t when;
	int reason;
};

struct collect {
	struct store_txn *t;
	int64_t now;
	struct revoked *list;
	size_t n, cap;
	enum store_err err;
};

static int
hex_to_bytes(const char *hex, unsigned char *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex), i;
	unsigned int v;

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

static int
collect_cb(const char *serial, void *arg)
{
	struct collect *c = arg;
	struct store_cert cert;
	struct revoked *tmp;

	memset(&cert, 0, sizeof(cert));
	if ((c->err = store_cert_get(c->t, serial, &cert)) != STORE_OK)
		goto out;
	/* Expired certificates may leave the list (RFC 5280 section 3.3). */
	if (!cert.revoked || cert.not_after < c->now)
		goto out;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		if (c->cap > CRL_MAX_ENTRIES || (tmp = realloc(c->list, c->cap * sizeof(*tmp))) == NULL) {
			c->err = STORE_NOMEM;
			goto out;
		}
		c->list = tmp;
	}
	if (hex_to_bytes(cert.serial, c->list[c->n].serial, sizeof(c->list[c->n].serial),
	    &c->list[c->n].serial_len) < 0) {
		c->err = STORE_CORRUPT;
		goto out;
	}
	c->list[c->n].when = cert.revoked_at;
	c->list[c->n].reason = cert.reason;
	c->n++;
out:
	store_cert_free(&cert);
	return c->err != STORE_OK;
}

struct crl_txn {
	const char *dir;
	int64_t now;
	struct collect col;
	int64_t number;
};

static enum store_err
crl_txn(struct store_txn *t, void *arg)
{
	struct crl_txn *ct = arg;
	char name[64];
	enum store_err e;

	ct->col.t = t;
	ct->col.now = ct->now;
	ct->col.n = 0;
	ct->col.err = STORE_OK;
	snprintf(name, sizeof(name), "crl/%s", ct->dir);
	if ((e = store_counter_add(t, name, 1, &ct->number)) != STORE_OK)
		return e;
	if ((e = store_revoked_by_dir(t, ct->dir, collect_cb, &ct->col)) != STORE_OK)
		return e;
	return ct->col.err;
}

static int
add_entry(X509_CRL *crl, const struct revoked *r)
{
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = NULL;
	ASN1_ENUMERATED *reason = NULL;
	BIGNUM *bn = NULL;
	int ok = 0;

	if ((rev = X509_REVOKED_new()) == NULL ||
	    (bn = BN_bin2bn(r->serial, (int)r->serial_len, NULL)) == NULL ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    (t = ASN1_TIME_set(NULL, (time_t)r->when)) == NULL ||
	    !X509_REVOKED_set_serialNumber(rev, sn) || !X509_REVOKED_set_revocationDate(rev, t))
		goto out;
	/* No reasonCode extension when the subscriber gave none (REV-09). */
	if (r->reason >= 0) {
		if ((reason = ASN1_ENUMERATED_new()) == NULL || !ASN1_ENUMERATED_set(reason, r->reason) ||
		    !X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0))
			goto out;
	}
	if (!X509_CRL_add0_revoked(crl, rev))
		goto out;
	rev = NULL;
	ok = 1;
out:
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(reason);
	BN_free(bn);
	return ok;
}

enum acme_err
acme_crl_sign(struct store *s, const struct acme_dir_config *dc, const struct acme_ca *ca,
    int64_t now, unsigned char **der, size_t *der_len)
{
	struct crl_txn ct;
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	const unsigned char *kid;
	size_t kid_len = 0, i;
	unsigned char *p;
	int len;
	enum acme_err rc = ACME_ECRYPTO;
	enum store_err e;
	EVP_PKEY *key = ca_key(ca);
	const EVP_MD *md;

	*der = NULL;
	memset(&ct, 0, sizeof(ct));
	ct.dir = dc->name;
	ct.now = now;
	if ((e = store_txn_run(s, STORE_TXN_RW, crl_txn, &ct)) != STORE_OK) {
		log_err("crl %s: reading revocations: %s", dc->name, store_strerror(e));
		rc = ACME_ESTORE;
		goto out;
	}
	if ((crl = X509_CRL_new()) == NULL || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert(ca))))
		goto ssl;
	if ((t = ASN1_TIME_set(NULL, (time_t)now)) == NULL || !X509_CRL_set1_lastUpdate(crl, t) ||
	    !ASN1_TIME_set(t, (time_t)(now + dc->crl_lifetime)) || !X509_CRL_set1_nextUpdate(crl, t))
		goto ssl;
	for (i = 0; i < ct.col.n; i++)
		if (!add_entry(crl, &ct.col.list[i]))
			goto ssl;
	if ((num = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set_int64(num, ct.number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		goto ssl;
	kid = ca_key_id(ca, &kid_len);
	if ((akid = AUTHORITY_KEYID_new()) == NULL || (akid->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(akid->keyid, kid, (int)kid_len) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0))
		goto ssl;
	X509_CRL_sort(crl);
	md = (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 || EVP_PKEY_get_id(key) == EVP_PKEY_ED448) ?
	    NULL : EVP_sha256();
	if (!X509_CRL_sign(crl, key, md))
		goto ssl;
	if ((len = i2d_X509_CRL(crl, NULL)) <= 0 || (*der = malloc((size_t)len)) == NULL)
		goto ssl;
	p = *der;
	i2d_X509_CRL(crl, &p);
	*der_len = (size_t)len;
	log_info("crl %s: number %lld with %zu entries signed", dc->name, (long long)ct.number,
	    ct.col.n);
	rc = ACME_OK;
	goto out;
ssl:
	acme_log_ssl("crl: signing");
out:
	free(ct.col.list);
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static char *
crl_path(const struct acme_config *cfg, const struct acme_dir_config *dc, const char *ext)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "crl/%s.%s", dc->name, ext);
	return acme_state_file(cfg, rel);
}

enum acme_err
acme_crl_publish(struct store *s, const struct acme_config *cfg, const struct acme_dir_config *dc,
    const struct acme_ca *ca, int64_t now)
{
	char *path = NULL, *lock = NULL, *dir = NULL, tmp[4096];
	unsigned char *der = NULL;
	size_t len = 0;
	enum acme_err rc;
	int fd = -1, lockfd = -1;

	if ((dir = acme_state_file(cfg, "crl")) == NULL || (path = crl_path(cfg, dc, "crl")) == NULL ||
	    (lock = crl_path(cfg, dc, "lock")) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	rc = ACME_EIO;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_err("crl: mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	/* Publishers take turns, so CRL numbers appear in order; the rename
	 * makes each new CRL appear whole. The lock is 0660: the workers and
	 * acme-admin (root) publish, and either may create it. */
	if ((lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0660)) < 0 || flock(lockfd, LOCK_EX) < 0) {
		log_err("crl: locking %s: %s", lock, strerror(errno));
		goto out;
	}
	if ((rc = acme_crl_sign(s, dc, ca, now, &der, &len)) != ACME_OK)
		goto out;
	rc = ACME_EIO;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    write(fd, der, len) != (ssize_t)len || fsync(fd) < 0 || rename(tmp, path) < 0) {
		log_err("crl: writing %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = ACME_OK;
out:
	if (fd >= 0)
		close(fd);
	if (lockfd >= 0)
		close(lockfd);
	free(der);
	free(path);
	free(lock);
	free(dir);
	return rc;
}

enum acme_err
acme_crl_read(struct store *s, const struct acme_config *cfg, const struct acme_dir_config *dc,
    const struct acme_ca *ca, int64_t now, unsigned char **der, size_t *len)
{
	char *path = crl_path(cfg, dc, "crl");
	struct stat st;
	enum acme_err rc = ACME_EIO;
	FILE *f = NULL;

	*der = NULL;
	if (path == NULL)
		return ACME_ENOMEM;
	if (stat(path, &st) < 0 || st.st_mtime + dc->crl_refresh <= now) {
		if ((rc = acme_crl_publish(s, cfg, dc, ca, now)) != ACME_OK)
			goto out;
		if (stat(path, &st) < 0)
			goto out;
	}
	rc = ACME_EIO;
	if (st.st_size <= 0 || st.st_size > 64 * 1024 * 1024 || (f = fopen(path, "re")) == NULL ||
	    (*der = malloc((size_t)st.st_size)) == NULL ||
	    fread(*der, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		log_err("crl: reading %s: %s", path, strerror(errno));
		free(*der);
		*der = NULL;
		goto out;
	}
	*len = (size_t)st.st_size;
	rc = ACME_OK;
out:
	if (f != NULL)
		fclose(f);
	free(path);
	return rc;
}
