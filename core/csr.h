/* PKCS#10 certificate signing requests from finalize (RFC 8555 section 7.4). */
#ifndef ACME_CORE_CSR_H
#define ACME_CORE_CSR_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/keypol.h"
#include "core/problem.h"

/* The most names a CSR (and so an order to be finalized) may carry. */
#define ACME_CSR_MAX_NAMES 100

struct csr_ip {
	unsigned char addr[16];
	int len;             /* 4 or 16 */
};

struct acme_csr {
	X509_REQ *req;
	EVP_PKEY *pkey;      /* borrowed from req */
	size_t ndns;
	char **dns;          /* lower-cased, de-duplicated: subject CN (if a name) and SAN dNSNames */
	size_t nip;
	struct csr_ip *ip;   /* SAN iPAddresses, de-duplicated */
};

/*
 * Parse and check a DER CSR: strict DER (re-encodes to the same bytes, no
 * trailing data), at most 16 KiB; the self-signature verifies with a strong
 * algorithm (RSA PKCS#1 v1.5 or PSS or ECDSA with SHA-256/384/512, or
 * Ed25519/Ed448); the key passes pol; requested extensions limited to
 * subjectAltName (dNSName, iPAddress only), keyUsage, extendedKeyUsage,
 * basicConstraints without CA:TRUE, and the TLS feature; no IP address in the
 * CN; at most 100 names. Failures: -1 with p set to badCSR (a key the policy
 * refuses too, as FIN-09 has it) and a detail naming the rule; serverInternal
 * on ENOMEM. 0 on success (caller csr_clear()). A CN must be a DNS name:
 * another CN (an IP address, "My Server") is refused, not ignored.
 */
int csr_parse(const unsigned char *der, size_t len, const struct acme_keypol *pol,
    struct acme_csr *out, struct acme_problem *p);

void csr_clear(struct acme_csr *c);

#endif
