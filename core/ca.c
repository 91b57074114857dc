/*
 * The issuing CA. Every certificate (end-entity, root, intermediate, the TLS
 * certificate of acme-admin init) comes out of one builder, cert_build(),
 * from a struct cert_tmpl; the extensions are built as typed ASN.1 values,
 * never from configuration strings, so no name can smuggle syntax in.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509v3.h>

#include "core/ca.h"
#include "core/log.h"
#include "core/pkcs11.h"

#define CN_MAX        64      /* X.520 ub-common-name */
#define SERIAL_MAX    20      /* RFC 5280 section 4.1.2.2 */
#define CLOCK_SKEW    300     /* backdating of certificates made by ca_make_* */

/* keyUsage bit numbers (RFC 5280 section 4.2.1.3) as a mask: 1u << bit. */
#define KU_BIT_DIGITAL_SIGNATURE (1u << 0)
#define KU_BIT_KEY_ENCIPHERMENT  (1u << 2)
#define KU_BIT_KEY_CERT_SIGN     (1u << 5)
#define KU_BIT_CRL_SIGN          (1u << 6)

struct acme_ca {
	X509 *cert;
	EVP_PKEY *key;
	char *chain_pem;
	unsigned char keyid[EVP_MAX_MD_SIZE];
	size_t keyid_len;
};

/* What cert_build() makes. */
struct cert_tmpl {
	EVP_PKEY *pubkey;
	const X509_PUBKEY *spki;      /* pubkey's SubjectPublicKeyInfo, or NULL */
	X509 *issuer;                 /* NULL: self-signed */
	EVP_PKEY *sign_key;
	const unsigned char *akid;    /* NULL: no AKI */
	size_t akid_len;
	const char *cn;               /* NULL: empty subject */
	const unsigned char *serial;
	size_t serial_len;
	int64_t not_before, not_after;
	int ca;                       /* basicConstraints CA:TRUE */
	int pathlen;                  /* -1: none */
	unsigned ku;                  /* KU_BIT_* */
	unsigned eku;                 /* enum ca_ext_key_usage */
	const struct ca_name *names;
	size_t nname;
	const char *crl_url;
	const char *aia_url;
};

static int
is_rsa(EVP_PKEY *k)
{
	return EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA || EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA_PSS;
}

/* SHA-256 for ECDSA and RSA, nothing for EdDSA (it hashes itself). */
static const EVP_MD *
sign_md(EVP_PKEY *k)
{
	int id = EVP_PKEY_get_base_id(k);

	return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256();
}

/* The subject key identifier of x: its SKI extension, or else the SHA-1 of
 * the public key bits (RFC 5280 section 4.2.1.2, method 1). */
static int
cert_key_id(X509 *x, unsigned char *buf, size_t *len)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	unsigned int n;

	if (ski != NULL && ASN1_STRING_length(ski) > 0 &&
	    (size_t)ASN1_STRING_length(ski) <= EVP_MAX_MD_SIZE) {
		*len = (size_t)ASN1_STRING_length(ski);
		memcpy(buf, ASN1_STRING_get0_data(ski), *len);
		return 0;
	}
	if (!X509_pubkey_digest(x, EVP_sha1(), buf, &n))
		return -1;
	*len = n;
	return 0;
}

static GENERAL_NAME *
uri_name(const char *url)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (g == NULL || s == NULL || !ASN1_STRING_set(s, url, -1)) {
		GENERAL_NAME_free(g);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, GEN_URI, s);
	return g;
}

static GENERAL_NAMES *
san_names(const struct ca_name *n, size_t count)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = NULL;
	ASN1_STRING *s = NULL;
	size_t i;

	if (gens == NULL)
		return NULL;
	for (i = 0; i < count; i++) {
		if ((g = GENERAL_NAME_new()) == NULL)
			goto fail;
		if (n[i].is_ip) {
			if ((n[i].ip_len != 4 && n[i].ip_len != 16) ||
			    (s = ASN1_OCTET_STRING_new()) == NULL ||
			    !ASN1_OCTET_STRING_set(s, n[i].ip, n[i].ip_len))
				goto fail;
			GENERAL_NAME_set0_value(g, GEN_IPADD, s);
		} else {
			if (n[i].dns == NULL || (s = ASN1_IA5STRING_new()) == NULL ||
			    !ASN1_STRING_set(s, n[i].dns, -1))
				goto fail;
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
		}
		s = NULL;
		if (!sk_GENERAL_NAME_push(gens, g))
			goto fail;
		g = NULL;
	}
	return gens;
fail:
	ASN1_STRING_free(s);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return NULL;
}

static CRL_DIST_POINTS *
crl_dp(const char *url)
{
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *g = uri_name(url);

	if (dps == NULL || dp == NULL || g == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL)
		goto fail;
	dp->distpoint->type = 0;
	if (!sk_GENERAL_NAME_push(dp->distpoint->name.fullname, g))
		goto fail;
	g = NULL;
	if (!sk_DIST_POINT_push(dps, dp))
		goto fail;
	return dps;
fail:
	GENERAL_NAME_free(g);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return NULL;
}

static AUTHORITY_INFO_ACCESS *
aia_issuer(const char *url)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	GENERAL_NAME *g = uri_name(url);

	if (aia == NULL || ad == NULL || g == NULL)
		goto fail;
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(NID_ad_ca_issuers);
	GENERAL_NAME_free(ad->location);
	ad->location = g;
	g = NULL;
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad))
		goto fail;
	return aia;
fail:
	GENERAL_NAME_free(g);
	ACCESS_DESCRIPTION_free(ad);
	AUTHORITY_INFO_ACCESS_free(aia);
	return NULL;
}

/* Add ext (an ASN.1 value of the type nid takes) to x and free it. */
static int
add_ext(X509 *x, int nid, void *ext, int crit, void (*fr)(void *))
{
	int ok;

	if (ext == NULL)
		return 0;
	ok = X509_add1_ext_i2d(x, nid, ext, crit, X509V3_ADD_REPLACE) == 1;
	fr(ext);
	return ok;
}

static void fr_bc(void *p) { BASIC_CONSTRAINTS_free(p); }
static void fr_bits(void *p) { ASN1_BIT_STRING_free(p); }
static void fr_eku(void *p) { EXTENDED_KEY_USAGE_free(p); }
static void fr_octets(void *p) { ASN1_OCTET_STRING_free(p); }
static void fr_akid(void *p) { AUTHORITY_KEYID_free(p); }
static void fr_gens(void *p) { GENERAL_NAMES_free(p); }
static void fr_crldp(void *p) { CRL_DIST_POINTS_free(p); }
static void fr_aia(void *p) { AUTHORITY_INFO_ACCESS_free(p); }

static int
add_extensions(X509 *x, const struct cert_tmpl *t, int subject_empty)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OCTET_STRING *ski = NULL;
	AUTHORITY_KEYID *akid = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, bit;

	if (bc == NULL)
		return 0;
	bc->ca = t->ca ? 0xff : 0;
	if (t->pathlen >= 0 &&
	    ((bc->pathlen = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set(bc->pathlen, t->pathlen))) {
		BASIC_CONSTRAINTS_free(bc);
		return 0;
	}
	if (!add_ext(x, NID_basic_constraints, bc, 1, fr_bc))
		return 0;

	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return 0;
	for (bit = 0; bit < 9; bit++) {
		if ((t->ku & (1u << bit)) && !ASN1_BIT_STRING_set_bit(ku, (int)bit, 1)) {
			ASN1_BIT_STRING_free(ku);
			return 0;
		}
	}
	if (!add_ext(x, NID_key_usage, ku, 1, fr_bits))
		return 0;

	if (t->eku != 0) {
		if ((eku = sk_ASN1_OBJECT_new_null()) == NULL ||
		    ((t->eku & CA_EKU_SERVER_AUTH) &&
		    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth))) ||
		    ((t->eku & CA_EKU_CLIENT_AUTH) &&
		    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)))) {
			EXTENDED_KEY_USAGE_free(eku);
			return 0;
		}
		if (!add_ext(x, NID_ext_key_usage, eku, 0, fr_eku))
			return 0;
	}

	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) ||
	    (ski = ASN1_OCTET_STRING_new()) == NULL || !ASN1_OCTET_STRING_set(ski, md, (int)mdlen)) {
		ASN1_OCTET_STRING_free(ski);
		return 0;
	}
	if (!add_ext(x, NID_subject_key_identifier, ski, 0, fr_octets))
		return 0;

	if (t->akid != NULL) {
		if ((akid = AUTHORITY_KEYID_new()) == NULL ||
		    (akid->keyid = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(akid->keyid, t->akid, (int)t->akid_len)) {
			AUTHORITY_KEYID_free(akid);
			return 0;
		}
		if (!add_ext(x, NID_authority_key_identifier, akid, 0, fr_akid))
			return 0;
	}
	/* RFC 5280 section 4.2.1.6: critical when the subject is empty. */
	if (t->nname > 0 &&
	    !add_ext(x, NID_subject_alt_name, san_names(t->names, t->nname), subject_empty, fr_gens))
		return 0;
	if (t->crl_url != NULL &&
	    !add_ext(x, NID_crl_distribution_points, crl_dp(t->crl_url), 0, fr_crldp))
		return 0;
	if (t->aia_url != NULL &&
	    !add_ext(x, NID_info_access, aia_issuer(t->aia_url), 0, fr_aia))
		return 0;
	return 1;
}

/*
 * Give x the SubjectPublicKeyInfo spki as it is. X509_set_pubkey() would
 * take the EVP_PKEY instead, and OpenSSL 3.0 turns that into DER with an
 * encoder and back with a decoder, both assembled afresh from the
 * providers on every call: that was a fifth of the issuance's CPU time.
 * The copy leaves the certificate's cached EVP_PKEY empty; nothing here
 * needs it (the SKI hashes the key bits). 1 on success.
 */
static int
cert_copy_spki(X509 *x, const X509_PUBKEY *spki)
{
	X509_PUBKEY *to = X509_get_X509_PUBKEY(x);
	X509_ALGOR *from_alg = NULL, *to_alg = NULL;
	ASN1_OBJECT *oid = NULL;
	const unsigned char *bits = NULL;
	unsigned char *copy;
	int len = 0;

	if (to == NULL || !X509_PUBKEY_get0_param(&oid, &bits, &len, &from_alg, spki) ||
	    from_alg == NULL || bits == NULL || len <= 0 ||
	    (copy = OPENSSL_memdup(bits, (size_t)len)) == NULL)
		return 0;
	/* The algorithm is set first without parameters, then copied whole. */
	if (!X509_PUBKEY_set0_param(to, OBJ_dup(oid), V_ASN1_UNDEF, NULL, copy, len)) {
		OPENSSL_free(copy);
		return 0;
	}
	return X509_PUBKEY_get0_param(NULL, NULL, NULL, &to_alg, to) && to_alg != NULL &&
	    X509_ALGOR_copy(to_alg, from_alg);
}

static enum acme_err
cert_build(const struct cert_tmpl *t, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	enum acme_err rc = ACME_ECRYPTO;

	*out = NULL;
	if (t->serial_len == 0 || t->serial_len > SERIAL_MAX || (t->serial[0] & 0x80) ||
	    t->not_after <= t->not_before) {
		log_err("ca: bad certificate parameters (serial or validity)");
		return ACME_EINVAL;
	}
	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    (bn = BN_bin2bn(t->serial, (int)t->serial_len, NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)t->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)t->not_after) == NULL ||
	    (t->cn != NULL && !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)t->cn, -1, -1, 0)) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, t->issuer != NULL ? X509_get_subject_name(t->issuer) : name) ||
	    !(t->spki != NULL ? cert_copy_spki(x, t->spki) : X509_set_pubkey(x, t->pubkey)) ||
	    !add_extensions(x, t, t->cn == NULL) ||
	    X509_sign(x, t->sign_key, sign_md(t->sign_key)) <= 0) {
		acme_log_ssl("ca: building a certificate");
		goto out;
	}
	*out = x;
	x = NULL;
	rc = ACME_OK;
out:
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}

enum acme_err
ca_new_serial(unsigned char serial[16])
{
	if (RAND_bytes(serial, 16) != 1) {
		acme_log_ssl("ca: RAND_bytes");
		return ACME_ECRYPTO;
	}
	serial[0] &= 0x7f;
	while (serial[0] == 0) {
		if (RAND_bytes(serial, 1) != 1) {
			acme_log_ssl("ca: RAND_bytes");
			return ACME_ECRYPTO;
		}
		serial[0] &= 0x7f;
	}
	return ACME_OK;
}

enum acme_err
ca_issue(const struct acme_ca *ca, const struct ca_issue_params *ip, unsigned char **der,
    size_t *der_len)
{
	struct cert_tmpl t;
	X509 *x = NULL;
	unsigned char *w;
	enum acme_err rc;
	size_t i;
	int n;

	*der = NULL;
	*der_len = 0;
	if (ip->pubkey == NULL || ip->nname == 0 || ip->serial == NULL) {
		log_err("ca: issue without a key, names or serial");
		return ACME_EINVAL;
	}
	memset(&t, 0, sizeof(t));
	t.pubkey = ip->pubkey;
	t.spki = ip->spki;
	t.issuer = ca->cert;
	t.sign_key = ca->key;
	t.akid = ca->keyid;
	t.akid_len = ca->keyid_len;
	/* The CN is the first DNS name that fits in one. */
	for (i = 0; i < ip->nname && t.cn == NULL; i++)
		if (!ip->name[i].is_ip && ip->name[i].dns != NULL &&
		    strlen(ip->name[i].dns) <= CN_MAX)
			t.cn = ip->name[i].dns;
	t.serial = ip->serial;
	t.serial_len = ip->serial_len;
	t.not_before = ip->not_before;
	t.not_after = ip->not_after;
	t.pathlen = -1;
	if (ip->key_usage & CA_KU_DIGITAL_SIGNATURE)
		t.ku |= KU_BIT_DIGITAL_SIGNATURE;
	if ((ip->key_usage & CA_KU_KEY_ENCIPHERMENT) && is_rsa(ip->pubkey))
		t.ku |= KU_BIT_KEY_ENCIPHERMENT;
	if (t.ku == 0)
		t.ku = KU_BIT_DIGITAL_SIGNATURE;
	t.eku = ip->ext_key_usage;
	t.names = ip->name;
	t.nname = ip->nname;
	t.crl_url = ip->crl_url;
	t.aia_url = ip->aia_issuer_url;
	if ((rc = cert_build(&t, &x)) != ACME_OK)
		return rc;
	rc = ACME_ECRYPTO;
	if ((n = i2d_X509(x, NULL)) <= 0) {
		acme_log_ssl("ca: encoding a certificate");
		goto out;
	}
	if ((*der = w = malloc((size_t)n)) == NULL) {
		log_err("ca: out of memory");
		rc = ACME_ENOMEM;
		goto out;
	}
	if (i2d_X509(x, &w) != n) {
		acme_log_ssl("ca: encoding a certificate");
		free(*der);
		*der = NULL;
		goto out;
	}
	*der_len = (size_t)n;
	rc = ACME_OK;
out:
	X509_free(x);
	return rc;
}

enum acme_err
ca_read_certs(const char *path, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = NULL;
	BIO *bio = NULL;
	X509 *x;
	unsigned long e;
	enum acme_err rc = ACME_ECONFIG;

	if ((bio = BIO_new_file(path, "r")) == NULL) {
		log_err("ca: cannot open %s: %s", path, strerror(errno));
		ERR_clear_error();
		rc = ACME_EIO;
		goto out;
	}
	if ((sk = sk_X509_new_null()) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto out;
		}
	}
	/* The loop ends at the end of the file or at a broken certificate. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE ||
	    sk_X509_num(sk) == 0) {
		ERR_clear_error();
		log_err("ca: %s: no certificate, or a certificate that does not parse", path);
		goto out;
	}
	ERR_clear_error();
	*out = sk;
	sk = NULL;
	rc = ACME_OK;
out:
	sk_X509_pop_free(sk, X509_free);
	BIO_free(bio);
	return rc;
}

/* A private key from a file path or any OSSL_STORE URI, without ever
 * prompting for a passphrase; "pkcs11:" URIs go to core/pkcs11.c. */
static enum acme_err
load_key(const char *uri, const struct ca_key_opts *kopts, EVP_PKEY **out)
{
	OSSL_STORE_CTX *st;
	OSSL_STORE_INFO *info;

	*out = NULL;
	if (pkcs11_is_uri(uri))
		return pkcs11_load_key(uri, kopts != NULL ? kopts->pkcs11_module : NULL,
		    kopts != NULL ? kopts->pkcs11_pin_file : NULL, out);
	if ((st = OSSL_STORE_open(uri, UI_null(), NULL, NULL, NULL)) == NULL) {
		log_err("ca: cannot open the CA key %s", uri);
		acme_log_ssl("ca: OSSL_STORE_open");
		return ACME_ECONFIG;
	}
	OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
	while (*out == NULL && !OSSL_STORE_eof(st)) {
		if ((info = OSSL_STORE_load(st)) == NULL) {
			if (OSSL_STORE_error(st))
				break;
			continue;
		}
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			*out = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(st);
	if (*out == NULL) {
		log_err("ca: no usable private key in %s (encrypted keys are not supported)", uri);
		acme_log_ssl("ca: OSSL_STORE_load");
		return ACME_ECONFIG;
	}
	ERR_clear_error();
	return ACME_OK;
}

/* The chain as PEM text; chain[0] must be the issuing certificate. */
static enum acme_err
chain_text(STACK_OF(X509) *chain, char **out)
{
	unsigned char *der = NULL;
	char *pem, *all = NULL, *grown;
	size_t len = 0, plen;
	int i, n;

	for (i = 0; i < sk_X509_num(chain); i++) {
		der = NULL;
		if ((n = i2d_X509(sk_X509_value(chain, i), &der)) <= 0) {
			acme_log_ssl("ca: encoding the chain");
			free(all);
			return ACME_ECRYPTO;
		}
		pem = ca_der_to_pem(der, (size_t)n);
		OPENSSL_free(der);
		if (pem == NULL || (plen = strlen(pem),
		    (grown = realloc(all, len + plen + 1)) == NULL)) {
			log_err("ca: out of memory");
			free(pem);
			free(all);
			return ACME_ENOMEM;
		}
		all = grown;
		memcpy(all + len, pem, plen + 1);
		len += plen;
		free(pem);
	}
	*out = all;
	return ACME_OK;
}

enum acme_err
ca_load(const char *cert_path, const char *key_path, const char *chain_path,
    struct acme_ca **out)
{
	return ca_load_opts(cert_path, key_path, chain_path, NULL, out);
}

enum acme_err
ca_load_opts(const char *cert_path, const char *key_path, const char *chain_path,
    const struct ca_key_opts *kopts, struct acme_ca **out)
{
	struct acme_ca *ca = NULL;
	STACK_OF(X509) *certs = NULL, *chain = NULL;
	char shown[512];
	enum acme_err rc;
	int i;

	*out = NULL;
	/* The key as log lines may name it: a pkcs11: URI without its PIN. */
	pkcs11_uri_redact(key_path, shown, sizeof(shown));
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		log_err("ca: out of memory");
		return ACME_ENOMEM;
	}
	if ((rc = ca_read_certs(cert_path, &certs)) != ACME_OK ||
	    (rc = load_key(key_path, kopts, &ca->key)) != ACME_OK)
		goto out;
	ca->cert = sk_X509_shift(certs);
	rc = ACME_ECONFIG;
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		log_err("ca: the key %s does not belong to the certificate %s", shown, cert_path);
		goto out;
	}
	if (X509_check_ca(ca->cert) != 1 ||
	    ((X509_get_extension_flags(ca->cert) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(ca->cert) & KU_KEY_CERT_SIGN))) {
		log_err("ca: %s is not a CA certificate with keyCertSign", cert_path);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) < 0)
		log_warn("ca: %s has expired", cert_path);
	if (chain_path != NULL) {
		if ((rc = ca_read_certs(chain_path, &chain)) != ACME_OK)
			goto out;
		if (X509_cmp(sk_X509_value(chain, 0), ca->cert) != 0) {
			log_err("ca: the chain %s must start with the issuing certificate %s",
			    chain_path, cert_path);
			rc = ACME_ECONFIG;
			goto out;
		}
	} else {
		if ((chain = sk_X509_new_null()) == NULL || !X509_up_ref(ca->cert)) {
			rc = ACME_ENOMEM;
			goto out;
		}
		if (!sk_X509_push(chain, ca->cert)) {
			X509_free(ca->cert);    /* the reference just taken */
			rc = ACME_ENOMEM;
			goto out;
		}
	}
	for (i = 0; i + 1 < sk_X509_num(chain); i++) {
		if (X509_check_issued(sk_X509_value(chain, i + 1), sk_X509_value(chain, i)) !=
		    X509_V_OK) {
			log_err("ca: in %s, certificate %d is not the issuer of certificate %d",
			    chain_path, i + 2, i + 1);
			rc = ACME_ECONFIG;
			goto out;
		}
	}
	if ((rc = chain_text(chain, &ca->chain_pem)) != ACME_OK)
		goto out;
	if (cert_key_id(ca->cert, ca->keyid, &ca->keyid_len) < 0) {
		acme_log_ssl("ca: key identifier");
		rc = ACME_ECRYPTO;
		goto out;
	}
	*out = ca;
	ca = NULL;
	rc = ACME_OK;
out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(chain, X509_free);
	ca_free(ca);
	return rc;
}

void
ca_free(struct acme_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca->chain_pem);
	free(ca);
}

X509 *
ca_cert(const struct acme_ca *ca)
{
	return ca->cert;
}

EVP_PKEY *
ca_key(const struct acme_ca *ca)
{
	return ca->key;
}

const char *
ca_chain_pem(const struct acme_ca *ca)
{
	return ca->chain_pem;
}

const unsigned char *
ca_key_id(const struct acme_ca *ca, size_t *len)
{
	*len = ca->keyid_len;
	return ca->keyid;
}

enum acme_err
ca_gen_key(const char *type, EVP_PKEY **out)
{
	static const struct {
		const char *name, *alg, *curve;
		size_t bits;
	} k[] = {
		{ "p256", "EC", "P-256", 0 }, { "p384", "EC", "P-384", 0 },
		{ "p521", "EC", "P-521", 0 }, { "rsa2048", "RSA", NULL, 2048 },
		{ "rsa3072", "RSA", NULL, 3072 }, { "rsa4096", "RSA", NULL, 4096 },
		{ "ed25519", "ED25519", NULL, 0 }, { "ed448", "ED448", NULL, 0 },
	};
	size_t i;

	*out = NULL;
	for (i = 0; i < sizeof(k) / sizeof(k[0]) && strcmp(k[i].name, type) != 0; i++)
		;
	if (i == sizeof(k) / sizeof(k[0])) {
		log_err("ca: unknown key type '%s' (p256, p384, p521, rsa2048, rsa3072, rsa4096, "
		    "ed25519, ed448)", type);
		return ACME_EINVAL;
	}
	if (k[i].curve != NULL)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, k[i].alg, k[i].curve);
	else if (k[i].bits != 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, k[i].alg, k[i].bits);
	else
		*out = EVP_PKEY_Q_keygen(NULL, NULL, k[i].alg);
	if (*out == NULL) {
		acme_log_ssl("ca: key generation");
		return ACME_ECRYPTO;
	}
	return ACME_OK;
}

/* Validity for ca_make_*: backdated a little, days long. */
static enum acme_err
make_validity(struct cert_tmpl *t, int days)
{
	time_t now = time(NULL);

	if (days <= 0 || days > 36500) {
		log_err("ca: validity of %d days is out of range", days);
		return ACME_EINVAL;
	}
	t->not_before = (int64_t)now - CLOCK_SKEW;
	t->not_after = (int64_t)now + (int64_t)days * 86400;
	return ACME_OK;
}

/* Common part of ca_make_*: serial, validity, issuer and its key id. */
static enum acme_err
make_tmpl(struct cert_tmpl *t, EVP_PKEY *key, const char *cn, int days, X509 *issuer,
    EVP_PKEY *issuer_key, unsigned char *serial, unsigned char *akid)
{
	enum acme_err rc;

	memset(t, 0, sizeof(*t));
	t->pubkey = key;
	t->cn = cn;
	t->issuer = issuer;
	t->sign_key = issuer != NULL ? issuer_key : key;
	t->pathlen = -1;
	if ((rc = ca_new_serial(serial)) != ACME_OK || (rc = make_validity(t, days)) != ACME_OK)
		return rc;
	t->serial = serial;
	t->serial_len = 16;
	if (issuer != NULL) {
		if (cert_key_id(issuer, akid, &t->akid_len) < 0) {
			acme_log_ssl("ca: issuer key identifier");
			return ACME_ECRYPTO;
		}
		t->akid = akid;
	}
	return ACME_OK;
}

enum acme_err
ca_make_root(EVP_PKEY *key, const char *cn, int days, X509 **out)
{
	struct cert_tmpl t;
	unsigned char serial[16];
	enum acme_err rc;

	*out = NULL;
	if ((rc = make_tmpl(&t, key, cn, days, NULL, NULL, serial, NULL)) != ACME_OK)
		return rc;
	t.ca = 1;
	t.ku = KU_BIT_KEY_CERT_SIGN | KU_BIT_CRL_SIGN;
	return cert_build(&t, out);
}

enum acme_err
ca_make_sub(EVP_PKEY *key, const char *cn, int days, X509 *issuer, EVP_PKEY *issuer_key,
    X509 **out)
{
	struct cert_tmpl t;
	unsigned char serial[16], akid[EVP_MAX_MD_SIZE];
	enum acme_err rc;

	*out = NULL;
	if ((rc = make_tmpl(&t, key, cn, days, issuer, issuer_key, serial, akid)) != ACME_OK)
		return rc;
	t.ca = 1;
	t.pathlen = 0;
	t.ku = KU_BIT_KEY_CERT_SIGN | KU_BIT_CRL_SIGN;
	return cert_build(&t, out);
}

enum acme_err
ca_make_tls(EVP_PKEY *key, const char *const *dns, size_t ndns, const char *const *ips,
    size_t nip, int days, X509 *issuer, EVP_PKEY *issuer_key, X509 **out)
{
	struct cert_tmpl t;
	struct ca_name *names = NULL;
	unsigned char serial[16], akid[EVP_MAX_MD_SIZE];
	enum acme_err rc;
	size_t i;

	*out = NULL;
	if (ndns + nip == 0 || (names = calloc(ndns + nip, sizeof(*names))) == NULL) {
		log_err("ca: a TLS certificate needs names (or out of memory)");
		return ACME_EINVAL;
	}
	for (i = 0; i < ndns; i++)
		names[i].dns = dns[i];
	for (i = 0; i < nip; i++) {
		names[ndns + i].is_ip = 1;
		if (inet_pton(AF_INET, ips[i], names[ndns + i].ip) == 1)
			names[ndns + i].ip_len = 4;
		else if (inet_pton(AF_INET6, ips[i], names[ndns + i].ip) == 1)
			names[ndns + i].ip_len = 16;
		else {
			log_err("ca: '%s' is not an IP address", ips[i]);
			rc = ACME_EINVAL;
			goto out;
		}
	}
	if ((rc = make_tmpl(&t, key, ndns > 0 && strlen(dns[0]) <= CN_MAX ? dns[0] : NULL, days,
	    issuer, issuer_key, serial, akid)) != ACME_OK)
		goto out;
	t.ku = KU_BIT_DIGITAL_SIGNATURE | (is_rsa(key) ? KU_BIT_KEY_ENCIPHERMENT : 0);
	t.eku = CA_EKU_SERVER_AUTH;
	t.names = names;
	t.nname = ndns + nip;
	rc = cert_build(&t, out);
out:
	free(names);
	return rc;
}

static int
emit_key(BIO *b, const void *arg)
{
	return PEM_write_bio_PKCS8PrivateKey(b, (EVP_PKEY *)arg, NULL, NULL, 0, NULL, NULL);
}

struct cert_list {
	X509 *const *certs;
	size_t n;
};

static int
emit_certs(BIO *b, const void *arg)
{
	const struct cert_list *cl = arg;
	size_t i;

	for (i = 0; i < cl->n; i++)
		if (!PEM_write_bio_X509(b, cl->certs[i]))
			return 0;
	return 1;
}

/* Write path afresh with mode (also when it exists with another mode), the
 * content from emit(). */
static enum acme_err
write_pem(const char *path, mode_t mode, int (*emit)(BIO *, const void *), const void *arg)
{
	BIO *b = NULL;
	int fd;
	enum acme_err rc = ACME_EIO;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)) < 0) {
		log_err("ca: cannot create %s: %s", path, strerror(errno));
		return ACME_EIO;
	}
	/* Before any byte is written, so a key never sits in a readable file. */
	if (fchmod(fd, mode) < 0) {
		log_err("ca: chmod %s: %s", path, strerror(errno));
		goto out;
	}
	if ((b = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL || !emit(b, arg) || BIO_flush(b) != 1) {
		log_err("ca: cannot write %s", path);
		acme_log_ssl("ca: PEM output");
		goto out;
	}
	if (fsync(fd) < 0) {
		log_err("ca: fsync %s: %s", path, strerror(errno));
		goto out;
	}
	rc = ACME_OK;
out:
	BIO_free(b);
	if (close(fd) < 0 && rc == ACME_OK) {
		log_err("ca: close %s: %s", path, strerror(errno));
		rc = ACME_EIO;
	}
	return rc;
}

enum acme_err
ca_write_key(const char *path, EVP_PKEY *key)
{
	return write_pem(path, 0600, emit_key, key);
}

enum acme_err
ca_write_certs(const char *path, X509 *const *certs, size_t n)
{
	struct cert_list cl = { certs, n };

	return write_pem(path, 0644, emit_certs, &cl);
}

char *
ca_der_to_pem(const unsigned char *der, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----\n";
	size_t lines, i, n;
	char *pem, *o;

	if (len == 0 || len > INT_MAX / 2)
		return NULL;
	lines = (len + 47) / 48;
	if ((pem = malloc(sizeof(begin) + lines * 65 + sizeof(end))) == NULL)
		return NULL;
	o = stpcpy(pem, begin);
	for (i = 0; i < len; i += 48) {
		n = len - i < 48 ? len - i : 48;
		o += EVP_EncodeBlock((unsigned char *)o, der + i, (int)n);
		*o++ = '\n';
	}
	strcpy(o, end);
	return pem;
}
