/*
 * Finalize CSRs. The checks run cheapest first and the signature last but
 * one: size, strict DER, signature algorithm, key policy (before any RSA
 * operation on a key of unbounded size), the self-signature, then the names
 * and extensions that were signed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "core/csr.h"
#include "core/log.h"

#define CSR_MAX_LEN   16384
#define DNS_MAX       253

static int
bad(struct acme_problem *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad(struct acme_problem *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	acme_problem_vset(p, PROB_BAD_CSR, fmt, ap);
	va_end(ap);
	return -1;
}

/* s as it may appear in a detail: itself if short printable ASCII. */
static const char *
shown(const char *s, size_t len)
{
	size_t i;

	if (len > 64)
		return "(a long name)";
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return "(a name with non-ASCII or control characters)";
	return s;
}

static int
hash_ok(int nid)
{
	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* RSASSA-PSS parameters with SHA-2 both for the hash and in MGF1 (the
 * defaults are SHA-1). */
static int
pss_ok(const X509_ALGOR *alg)
{
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgf_md = NULL;
	int ok = 0;

	if (alg->parameter == NULL ||
	    (pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)) == NULL)
		goto out;
	if (pss->hashAlgorithm == NULL || !hash_ok(OBJ_obj2nid(pss->hashAlgorithm->algorithm)))
		goto out;
	if (pss->maskGenAlgorithm == NULL ||
	    OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1 ||
	    pss->maskGenAlgorithm->parameter == NULL ||
	    (mgf_md = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
	    pss->maskGenAlgorithm->parameter)) == NULL)
		goto out;
	ok = hash_ok(OBJ_obj2nid(mgf_md->algorithm));
out:
	ERR_clear_error();
	X509_ALGOR_free(mgf_md);
	RSA_PSS_PARAMS_free(pss);
	return ok;
}

static int
check_sigalg(X509_REQ *req, struct acme_problem *p)
{
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *alg;
	char oid[80];
	int nid;

	X509_REQ_get0_signature(req, &sig, &alg);
	switch (nid = OBJ_obj2nid(alg->algorithm)) {
	case NID_sha256WithRSAEncryption:
	case NID_sha384WithRSAEncryption:
	case NID_sha512WithRSAEncryption:
	case NID_ecdsa_with_SHA256:
	case NID_ecdsa_with_SHA384:
	case NID_ecdsa_with_SHA512:
	case NID_ED25519:
	case NID_ED448:
		return 0;
	case NID_rsassaPss:
		if (pss_ok(alg))
			return 0;
		return bad(p, "CSR signed with RSASSA-PSS parameters other than SHA-256/384/512 "
		    "with MGF1 of the same family");
	}
	OBJ_obj2txt(oid, sizeof(oid), alg->algorithm, 0);
	return bad(p, "CSR signature algorithm %s is not accepted (use SHA-256, SHA-384 or "
	    "SHA-512 with RSA or ECDSA, or Ed25519/Ed448)", oid);
}

/* DER in, the same DER out: d2i takes BER and keeps the received encoding of
 * the signed part, so force a fresh encoding and compare. */
static int
parse_der(const unsigned char *der, size_t len, X509_REQ **out, struct acme_problem *p)
{
	const unsigned char *q = der;
	unsigned char *re = NULL, *w;
	int n, rc = -1;

	if (len == 0)
		return bad(p, "CSR is empty");
	if (len > CSR_MAX_LEN)
		return bad(p, "CSR is larger than 16 KiB");
	if ((*out = d2i_X509_REQ(NULL, &q, (long)len)) == NULL) {
		ERR_clear_error();
		return bad(p, "CSR is not a DER-encoded PKCS#10 request");
	}
	if (q != der + len)
		return bad(p, "CSR has %zu bytes of trailing data", (size_t)(der + len - q));
	if (i2d_re_X509_REQ_tbs(*out, NULL) <= 0 || (n = i2d_X509_REQ(*out, NULL)) <= 0) {
		ERR_clear_error();
		return bad(p, "CSR cannot be re-encoded");
	}
	if ((size_t)n != len)
		return bad(p, "CSR is not in DER (distinguished) encoding");
	if ((re = w = malloc((size_t)n)) == NULL) {
		log_err("csr: out of memory");
		acme_problem_set(p, PROB_SERVER_INTERNAL, "out of memory");
		goto out;
	}
	if (i2d_X509_REQ(*out, &w) != n || memcmp(re, der, len) != 0) {
		bad(p, "CSR is not in DER (distinguished) encoding");
		goto out;
	}
	rc = 0;
out:
	free(re);
	return rc;
}

/* Decode DER of type it that must fill buf exactly and encode back to the
 * same bytes; NULL otherwise. Free with ASN1_item_free(). */
static void *
der_item(const unsigned char *buf, int len, const ASN1_ITEM *it)
{
	const unsigned char *q = buf;
	unsigned char *re = NULL;
	void *v;

	if ((v = ASN1_item_d2i(NULL, &q, len, it)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	if (q != buf + len || ASN1_item_i2d(v, &re, it) != len || memcmp(re, buf, (size_t)len) != 0) {
		ERR_clear_error();
		ASN1_item_free(v, it);
		v = NULL;
	}
	OPENSSL_free(re);
	return v;
}

static void *
ext_item(X509_EXTENSION *ext, const ASN1_ITEM *it)
{
	const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);

	return der_item(ASN1_STRING_get0_data(d), ASN1_STRING_length(d), it);
}

static int
add_ip(struct acme_csr *c, const unsigned char *a, int len, struct acme_problem *p)
{
	size_t i;

	if (len != 4 && len != 16)
		return bad(p, "CSR iPAddress SAN of %d octets (4 or 16 expected)", len);
	for (i = 0; i < c->nip; i++)
		if (c->ip[i].len == len && memcmp(c->ip[i].addr, a, (size_t)len) == 0)
			return 0;
	if (c->ndns + c->nip >= ACME_CSR_MAX_NAMES)
		return bad(p, "CSR has more than %d names", ACME_CSR_MAX_NAMES);
	if (c->ip == NULL && (c->ip = calloc(ACME_CSR_MAX_NAMES, sizeof(*c->ip))) == NULL) {
		log_err("csr: out of memory");
		return acme_problem_set(p, PROB_SERVER_INTERNAL, "out of memory");
	}
	memcpy(c->ip[c->nip].addr, a, (size_t)len);
	c->ip[c->nip++].len = len;
	return 0;
}

/* A DNS name from the CN or a dNSName SAN (what says which, for details). */
static int
add_dns(struct acme_csr *c, const unsigned char *s, int slen, const char *what,
    struct acme_problem *p)
{
	unsigned char bin[16];
	char name[DNS_MAX + 1];
	size_t i, len = slen > 0 ? (size_t)slen : 0;

	if (len == 0)
		return bad(p, "CSR %s is empty", what);
	if (len > DNS_MAX)
		return bad(p, "CSR %s is longer than %d characters", what, DNS_MAX);
	memcpy(name, s, len);
	name[len] = '\0';
	if (inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1)
		return bad(p, "CSR %s holds an IP address (%s); IP addresses go in an iPAddress SAN",
		    what, name);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '.' &&
		    name[i] != '*')
			return bad(p, "CSR %s %s is not a DNS name (A-labels only)", what,
			    shown(name, len));
	for (i = 0; i < len; i++)
		name[i] = (char)tolower((unsigned char)name[i]);
	for (i = 0; i < c->ndns; i++)
		if (strcmp(c->dns[i], name) == 0)
			return 0;
	if (c->ndns + c->nip >= ACME_CSR_MAX_NAMES)
		return bad(p, "CSR has more than %d names", ACME_CSR_MAX_NAMES);
	if ((c->dns == NULL && (c->dns = calloc(ACME_CSR_MAX_NAMES, sizeof(*c->dns))) == NULL) ||
	    (c->dns[c->ndns] = strdup(name)) == NULL) {
		log_err("csr: out of memory");
		return acme_problem_set(p, PROB_SERVER_INTERNAL, "out of memory");
	}
	c->ndns++;
	return 0;
}

static int
subject_names(X509_REQ *req, struct acme_csr *c, struct acme_problem *p)
{
	const X509_NAME *name = X509_REQ_get_subject_name(req);
	unsigned char *utf8;
	int idx, n, rc;

	if ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return bad(p, "CSR subject has more than one CN");
	n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (n < 0) {
		ERR_clear_error();
		return bad(p, "CSR CN does not decode");
	}
	rc = add_dns(c, utf8, n, "CN", p);
	OPENSSL_free(utf8);
	return rc;
}

static const char *
gen_type_name(int type)
{
	switch (type) {
	case GEN_OTHERNAME: return "otherName";
	case GEN_EMAIL: return "rfc822Name";
	case GEN_X400: return "x400Address";
	case GEN_DIRNAME: return "directoryName";
	case GEN_EDIPARTY: return "ediPartyName";
	case GEN_URI: return "uniformResourceIdentifier";
	case GEN_RID: return "registeredID";
	}
	return "unknown";
}

static int
san_names(X509_EXTENSION *ext, struct acme_csr *c, struct acme_problem *p)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	int i, rc = 0;

	if ((gens = ext_item(ext, ASN1_ITEM_rptr(GENERAL_NAMES))) == NULL)
		return bad(p, "CSR subjectAltName extension is not DER or does not decode");
	for (i = 0; rc == 0 && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS)
			rc = add_dns(c, ASN1_STRING_get0_data(g->d.dNSName),
			    ASN1_STRING_length(g->d.dNSName), "SAN dNSName", p);
		else if (g->type == GEN_IPADD)
			rc = add_ip(c, ASN1_STRING_get0_data(g->d.iPAddress),
			    ASN1_STRING_length(g->d.iPAddress), p);
		else
			rc = bad(p, "CSR subjectAltName of type %s is not allowed (only dNSName "
			    "and iPAddress)", gen_type_name(g->type));
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

/* The requested extensions: names from subjectAltName, CA:TRUE refused,
 * keyUsage/extendedKeyUsage/TLS feature tolerated (the CA sets its own),
 * anything else refused. */
static int
extensions(X509_REQ *req, struct acme_csr *c, struct acme_problem *p)
{
	static const int ext_nids[2] = { NID_ext_req, NID_ms_ext_req };
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_ATTRIBUTE *attr = NULL;
	X509_EXTENSION *ext;
	ASN1_TYPE *t;
	BASIC_CONSTRAINTS *bc;
	char oid[80];
	const char *sn;
	int i, j, n, nid, rc = -1;

	/* The extensionRequest attribute (or Microsoft's older twin): one at
	 * most, with one value, a DER list of extensions. */
	for (n = 0; n < 2; n++) {
		for (i = -1; (i = X509_REQ_get_attr_by_NID(req, ext_nids[n], i)) >= 0;) {
			if (attr != NULL)
				return bad(p, "CSR has more than one extensionRequest attribute");
			attr = X509_REQ_get_attr(req, i);
		}
	}
	if (attr == NULL)
		return 0;
	if (X509_ATTRIBUTE_count(attr) != 1 || (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL ||
	    t->type != V_ASN1_SEQUENCE)
		return bad(p, "CSR extensionRequest attribute must hold exactly one list of "
		    "extensions");
	if ((exts = der_item(ASN1_STRING_get0_data(t->value.sequence),
	    ASN1_STRING_length(t->value.sequence), ASN1_ITEM_rptr(X509_EXTENSIONS))) == NULL)
		return bad(p, "CSR extensionRequest is not DER or does not decode");
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		ext = sk_X509_EXTENSION_value(exts, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		for (j = 0; j < i; j++) {
			if (OBJ_cmp(X509_EXTENSION_get_object(ext),
			    X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, j))) == 0) {
				OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 0);
				bad(p, "CSR requests extension %s twice", oid);
				goto out;
			}
		}
		switch (nid) {
		case NID_subject_alt_name:
			if (san_names(ext, c, p) < 0)
				goto out;
			break;
		case NID_basic_constraints:
			if ((bc = ext_item(ext, ASN1_ITEM_rptr(BASIC_CONSTRAINTS))) == NULL) {
				bad(p, "CSR basicConstraints extension is not DER or does not decode");
				goto out;
			}
			j = bc->ca;
			BASIC_CONSTRAINTS_free(bc);
			if (j) {
				bad(p, "CSR requests a CA certificate (basicConstraints CA:TRUE)");
				goto out;
			}
			break;
		case NID_key_usage:
		case NID_ext_key_usage:
		case NID_tlsfeature:
			break;
		default:
			/* The profile decides what the certificate holds (PRF-07), so a
			 * request for anything else is ignored, unless it is critical. */
			if (!X509_EXTENSION_get_critical(ext))
				break;
			OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);
			sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
			bad(p, "CSR requests unsupported critical extension %s%s%s%s", oid,
			    sn ? " (" : "", sn ? sn : "", sn ? ")" : "");
			goto out;
		}
	}
	rc = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
csr_parse(const unsigned char *der, size_t len, const struct acme_keypol *pol,
    struct acme_csr *out, struct acme_problem *p)
{
	const char *why;
	char desc[64];

	memset(out, 0, sizeof(*out));
	if (parse_der(der, len, &out->req, p) < 0)
		goto fail;
	if (X509_REQ_get_version(out->req) != X509_REQ_VERSION_1) {
		bad(p, "CSR version must be 1 (value 0)");
		goto fail;
	}
	if (check_sigalg(out->req, p) < 0)
		goto fail;
	if ((out->pkey = X509_REQ_get0_pubkey(out->req)) == NULL) {
		ERR_clear_error();
		bad(p, "CSR public key is of an unsupported type or does not decode");
		goto fail;
	}
	if (keypol_check(pol, out->pkey, &why) != ACME_OK) {
		bad(p, "CSR key refused (%s): %s", keypol_describe(out->pkey, desc, sizeof(desc)),
		    why);
		goto fail;
	}
	if (X509_REQ_verify(out->req, out->pkey) != 1) {
		ERR_clear_error();
		bad(p, "CSR signature does not verify");
		goto fail;
	}
	if (subject_names(out->req, out, p) < 0 || extensions(out->req, out, p) < 0)
		goto fail;
	if (out->ndns + out->nip == 0) {
		bad(p, "CSR names no DNS name or IP address (neither in the CN nor in a SAN)");
		goto fail;
	}
	return 0;
fail:
	csr_clear(out);
	return -1;
}

void
csr_clear(struct acme_csr *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ndns; i++)
		free(c->dns[i]);
	free(c->dns);
	free(c->ip);
	X509_REQ_free(c->req);
	memset(c, 0, sizeof(*c));
}
