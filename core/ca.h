/* The issuing CA: loading its key and chain, signing end-entity certificates,
 * and creating a CA hierarchy for acme-admin init. */
#ifndef ACME_CORE_CA_H
#define ACME_CORE_CA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/err.h"

struct acme_ca;

/* Where a "pkcs11:" CA key is found (core/pkcs11.h); NULL members take the
 * defaults. */
struct ca_key_opts {
	const char *pkcs11_module;    /* NULL: pkcs11_default_module() */
	const char *pkcs11_pin_file;  /* used when the URI has no pin-value */
};

/*
 * Load the issuing certificate (cert_path, PEM), its private key (key_path:
 * a PEM file or another OSSL_STORE URI, or a "pkcs11:" URI whose key stays
 * in the token, loaded per kopts, NULL for the defaults), and the chain to
 * serve after the leaf (chain_path, PEM: the issuing certificate first, then
 * any further intermediates; NULL = the issuing certificate alone). Checks
 * that the key matches the certificate and that the certificate may sign
 * (CA:TRUE, keyCertSign). A PIN in key_path is never logged. *out freed with
 * ca_free().
 */
enum acme_err ca_load_opts(const char *cert_path, const char *key_path, const char *chain_path,
    const struct ca_key_opts *kopts, struct acme_ca **out);
/* ca_load_opts() with the default key options. */
enum acme_err ca_load(const char *cert_path, const char *key_path, const char *chain_path,
    struct acme_ca **out);
void ca_free(struct acme_ca *ca);

X509 *ca_cert(const struct acme_ca *ca);          /* borrowed */
EVP_PKEY *ca_key(const struct acme_ca *ca);       /* borrowed */
const char *ca_chain_pem(const struct acme_ca *ca);
/* The issuing certificate's subject key identifier (= the AKI of what it signs). */
const unsigned char *ca_key_id(const struct acme_ca *ca, size_t *len);

enum ca_key_usage {
	CA_KU_DIGITAL_SIGNATURE = 1u << 0,
	CA_KU_KEY_ENCIPHERMENT  = 1u << 1,   /* added for RSA subject keys only */
};
enum ca_ext_key_usage {
	CA_EKU_SERVER_AUTH = 1u << 0,
	CA_EKU_CLIENT_AUTH = 1u << 1,
};

struct ca_name {
	int is_ip;
	const char *dns;              /* when !is_ip: lower-case A-label name */
	unsigned char ip[16];         /* when is_ip */
	int ip_len;                   /* 4 or 16 */
};

struct ca_issue_params {
	EVP_PKEY *pubkey;             /* the subject key (from the CSR) */
	/* The same key as the CSR's SubjectPublicKeyInfo, copied into the
	 * certificate as it is; NULL: encoded from pubkey (slower). */
	const X509_PUBKEY *spki;
	size_t nname;
	const struct ca_name *name;   /* SANs; the first DNS name also becomes the CN */
	int64_t not_before;           /* UTC seconds */
	int64_t not_after;
	unsigned key_usage;           /* enum ca_key_usage */
	unsigned ext_key_usage;       /* enum ca_ext_key_usage */
	const char *crl_url;          /* CRL distribution point, or NULL */
	const char *aia_issuer_url;   /* AIA caIssuers, or NULL */
	const unsigned char *serial;  /* big-endian, positive (top bit clear) */
	size_t serial_len;
};

/* Fill serial with 16 CSPRNG bytes, top bit cleared, first byte non-zero
 * (127 bits of entropy at least 120 of them random, always 16 octets). */
enum acme_err ca_new_serial(unsigned char serial[16]);

/*
 * Sign an end-entity certificate: version 3, the given serial and validity,
 * subject CN = first DNS name (none for IP-only), SAN = the names (critical
 * when the subject is empty), basicConstraints CA:FALSE (critical), keyUsage
 * (critical), extendedKeyUsage, SKI, AKI keyid = ca_key_id(), CRL DP and AIA
 * when given. Signed with SHA-256 (ECDSA/RSA) or pure EdDSA. *der is
 * malloc'd (caller frees).
 */
enum acme_err ca_issue(const struct acme_ca *ca, const struct ca_issue_params *ip,
    unsigned char **der, size_t *der_len);

/* --- creation (acme-admin init) --- */

/* Generate a key: "p256", "p384", "rsa2048", "rsa3072", "rsa4096", "ed25519". */
enum acme_err ca_gen_key(const char *type, EVP_PKEY **out);

/* A self-signed root CA certificate. */
enum acme_err ca_make_root(EVP_PKEY *key, const char *cn, int days, X509 **out);
/* An intermediate CA certificate (pathlen 0) for key, signed by issuer. */
enum acme_err ca_make_sub(EVP_PKEY *key, const char *cn, int days, X509 *issuer,
    EVP_PKEY *issuer_key, X509 **out);
/* A TLS server certificate for the given DNS names and IP texts, signed by issuer. */
enum acme_err ca_make_tls(EVP_PKEY *key, const char *const *dns, size_t ndns,
    const char *const *ips, size_t nip, int days, X509 *issuer, EVP_PKEY *issuer_key,
    X509 **out);

/* Write a private key (PEM, PKCS#8, mode 0600) or certificates (PEM, mode 0644). */
enum acme_err ca_write_key(const char *path, EVP_PKEY *key);
enum acme_err ca_write_certs(const char *path, X509 *const *certs, size_t n);

/* Every certificate of a PEM file, at least one; *out freed with
 * sk_X509_pop_free(*out, X509_free). */
enum acme_err ca_read_certs(const char *path, STACK_OF(X509) **out);

/* Encode a DER certificate as PEM (64-character lines, LF); caller frees. */
char *ca_der_to_pem(const unsigned char *der, size_t len);

#endif
