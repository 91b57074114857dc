#include "core/err.h"

static const char *const acme_err_text[ACME_ERR__MAX] = {
	[ACME_OK] = "success",
	[ACME_ENOMEM] = "out of memory",
	[ACME_EINVAL] = "invalid input",
	[ACME_ETOOBIG] = "input too large",
	[ACME_ECRYPTO] = "cryptographic operation failed",
	[ACME_EBADSIG] = "signature does not verify",
	[ACME_EUNSUPPORTED] = "not supported",
	[ACME_ENOTFOUND] = "not found",
	[ACME_EIO] = "input/output error",
	[ACME_ESTORE] = "store error",
	[ACME_ECONFIG] = "configuration error",
	[ACME_EBUSY] = "busy, try again",
};

const char *
acme_strerror(enum acme_err e)
{
	if ((unsigned)e >= ACME_ERR__MAX || acme_err_text[e] == 0)
		return "unknown error";
	return acme_err_text[e];
}
