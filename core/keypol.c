#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

#include "core/keypol.h"

#define RSA_MIN 2048
#define RSA_MAX 8192

static const struct {
	const char *token;     /* in keypol_parse lists */
	const char *name;      /* in descriptions */
	unsigned type;
	const char *refused;   /* keypol_check reason */
} keypol_names[] = {
	{ "p256", "P-256", KEYPOL_P256, "P-256 keys are not accepted" },
	{ "p384", "P-384", KEYPOL_P384, "P-384 keys are not accepted" },
	{ "p521", "P-521", KEYPOL_P521, "P-521 keys are not accepted" },
	{ "ed25519", "Ed25519", KEYPOL_ED25519, "Ed25519 keys are not accepted" },
	{ "ed448", "Ed448", KEYPOL_ED448, "Ed448 keys are not accepted" },
	{ "rsa", "RSA", KEYPOL_RSA, "RSA keys are not accepted" },
};
#define NKEYPOL_NAMES (sizeof(keypol_names) / sizeof(keypol_names[0]))

void
keypol_default_account(struct acme_keypol *kp)
{
	kp->types = KEYPOL_RSA | KEYPOL_P256 | KEYPOL_P384 | KEYPOL_P521 | KEYPOL_ED25519 |
	    KEYPOL_ED448;
	kp->rsa_min_bits = RSA_MIN;
	kp->rsa_max_bits = RSA_MAX;
}

void
keypol_default_cert(struct acme_keypol *kp)
{
	kp->types = KEYPOL_RSA | KEYPOL_P256 | KEYPOL_P384;
	kp->rsa_min_bits = RSA_MIN;
	kp->rsa_max_bits = RSA_MAX;
}

/* A decimal RSA size in [RSA_MIN, RSA_MAX] spelled by s..e, or -1. */
static int
rsa_size(const char *s, const char *e)
{
	long v = 0;

	if (s == e || e - s > 5)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= RSA_MIN && v <= RSA_MAX ? (int)v : -1;
}

/* "rsa", "rsaN" (N bits and more) or "rsaN-M" into kp. */
static int
parse_rsa(const char *tok, size_t len, struct acme_keypol *kp)
{
	const char *s = tok + 3, *e = tok + len, *dash;

	kp->rsa_min_bits = RSA_MIN;
	kp->rsa_max_bits = RSA_MAX;
	if (s == e)
		return 0;
	if ((dash = memchr(s, '-', (size_t)(e - s))) == NULL)
		dash = e;
	if ((kp->rsa_min_bits = rsa_size(s, dash)) < 0)
		return -1;
	if (dash != e && (kp->rsa_max_bits = rsa_size(dash + 1, e)) < 0)
		return -1;
	return kp->rsa_min_bits <= kp->rsa_max_bits ? 0 : -1;
}

enum acme_err
keypol_parse(const char *text, struct acme_keypol *kp, const char **why)
{
	struct acme_keypol n = { 0, RSA_MIN, RSA_MAX };
	const char *p = text, *tok;
	size_t len, i;

	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		tok = p;
		len = strcspn(p, " \t,");
		p += len;
		for (i = 0; i < NKEYPOL_NAMES; i++) {
			if (keypol_names[i].type == KEYPOL_RSA) {
				if (len >= 3 && strncasecmp(tok, "rsa", 3) == 0)
					break;
			} else if (strlen(keypol_names[i].token) == len &&
			    strncasecmp(tok, keypol_names[i].token, len) == 0)
				break;
		}
		if (i == NKEYPOL_NAMES) {
			*why = "unknown key type (expected rsa, rsaN, rsaN-M, p256, p384, p521, "
			    "ed25519, ed448)";
			return ACME_EINVAL;
		}
		if (n.types & keypol_names[i].type) {
			*why = "key type listed twice";
			return ACME_EINVAL;
		}
		if (keypol_names[i].type == KEYPOL_RSA && parse_rsa(tok, len, &n) < 0) {
			*why = "bad RSA size range (2048 to 8192 bits, as rsaN or rsaN-M)";
			return ACME_EINVAL;
		}
		n.types |= keypol_names[i].type;
	}
	if (n.types == 0) {
		*why = "empty key type list";
		return ACME_EINVAL;
	}
	*kp = n;
	return ACME_OK;
}

unsigned
keypol_type_of(EVP_PKEY *key, int *bits)
{
	char group[64];
	int nid;

	*bits = EVP_PKEY_get_bits(key);
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		return KEYPOL_RSA;
	case EVP_PKEY_ED25519:
		*bits = 255;
		return KEYPOL_ED25519;
	case EVP_PKEY_ED448:
		*bits = 448;
		return KEYPOL_ED448;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), NULL))
			return 0;
		if ((nid = OBJ_sn2nid(group)) == NID_undef)
			nid = EC_curve_nist2nid(group);
		switch (nid) {
		case NID_X9_62_prime256v1: return KEYPOL_P256;
		case NID_secp384r1: return KEYPOL_P384;
		case NID_secp521r1: return KEYPOL_P521;
		}
		return 0;
	}
	return 0;
}

/* e odd, at least 3 and at most 64 bits (OpenSSL's own limit for large n). */
static int
rsa_exponent_ok(EVP_PKEY *key)
{
	BIGNUM *e = NULL;
	int ok;

	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e))
		return 0;
	ok = BN_is_odd(e) && !BN_is_one(e) && BN_num_bits(e) <= 64;
	BN_free(e);
	return ok;
}

enum acme_err
keypol_check(const struct acme_keypol *kp, EVP_PKEY *key, const char **why)
{
	unsigned type;
	size_t i;
	int bits;

	if ((type = keypol_type_of(key, &bits)) == 0) {
		*why = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC ?
		    "elliptic curve not supported (P-256, P-384 or P-521 only)" :
		    "key type not supported";
		return ACME_EUNSUPPORTED;
	}
	if ((kp->types & type) == 0) {
		for (i = 0; i < NKEYPOL_NAMES && keypol_names[i].type != type; i++)
			;
		*why = keypol_names[i].refused;
		return ACME_EUNSUPPORTED;
	}
	if (type == KEYPOL_RSA) {
		if (bits < kp->rsa_min_bits) {
			*why = "RSA key smaller than the minimum size accepted";
			return ACME_EUNSUPPORTED;
		}
		if (bits > kp->rsa_max_bits) {
			*why = "RSA key larger than the maximum size accepted";
			return ACME_EUNSUPPORTED;
		}
		if (!rsa_exponent_ok(key)) {
			*why = "RSA public exponent must be odd, at least 3 and at most 64 bits";
			return ACME_EUNSUPPORTED;
		}
	}
	return ACME_OK;
}

const char *
keypol_describe(EVP_PKEY *key, char *buf, size_t len)
{
	unsigned type;
	size_t i;
	int bits, id;
	char group[64];

	type = keypol_type_of(key, &bits);
	id = EVP_PKEY_get_base_id(key);
	if (type == KEYPOL_RSA)
		snprintf(buf, len, "RSA-%d", bits);
	else if (type != 0) {
		for (i = 0; keypol_names[i].type != type; i++)
			;
		snprintf(buf, len, "%s", keypol_names[i].name);
	} else if (id == EVP_PKEY_EC && EVP_PKEY_get_group_name(key, group, sizeof(group), NULL))
		snprintf(buf, len, "EC-%s", group);
	else
		snprintf(buf, len, "%s", id != EVP_PKEY_NONE && OBJ_nid2sn(id) != NULL ?
		    OBJ_nid2sn(id) : "unknown");
	return buf;
}
