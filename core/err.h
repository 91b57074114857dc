/* Error codes of the protocol core. */
#ifndef ACME_CORE_ERR_H
#define ACME_CORE_ERR_H

enum acme_err {
	ACME_OK = 0,
	ACME_ENOMEM,       /* allocation failed */
	ACME_EINVAL,       /* input does not parse or breaks a rule */
	ACME_ETOOBIG,      /* input over a size or count limit */
	ACME_ECRYPTO,      /* OpenSSL refused or failed */
	ACME_EBADSIG,      /* a signature or MAC does not verify */
	ACME_EUNSUPPORTED, /* well-formed but not something we implement */
	ACME_ENOTFOUND,    /* no such record or file */
	ACME_EIO,          /* a read or write of a file failed */
	ACME_ESTORE,       /* the store failed (detail already logged) */
	ACME_ECONFIG,      /* configuration is wrong (detail already logged) */
	ACME_EBUSY,        /* try again later */
	ACME_ERR__MAX
};

/* A static, human-readable text for e. Never NULL. */
const char *acme_strerror(enum acme_err e);

#endif
