/* Error codes, status names, logging and the Berkeley DB error mapping. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "store/internal.h"

static const char *const store_err_text[STORE_ERR__MAX] = {
	[STORE_OK] = "success",
	[STORE_NOTFOUND] = "not found",
	[STORE_EXISTS] = "already exists",
	[STORE_CONFLICT] = "transaction conflict",
	[STORE_NOSPACE] = "no space left on the store's device",
	[STORE_RECOVER] = "store needs recovery",
	[STORE_CORRUPT] = "record does not decode",
	[STORE_NOMEM] = "out of memory",
	[STORE_INVAL] = "invalid argument",
	[STORE_ERR] = "store error",
};

const char *
store_strerror(enum store_err e)
{
	const char *t = "unknown store error";

	if ((unsigned)e < STORE_ERR__MAX && store_err_text[e] != NULL)
		t = store_err_text[e];
	return t;
}

static const char *const store_status_text[STORE_ST__MAX] = {
	[STORE_ST_NONE] = "",
	[STORE_ST_PENDING] = "pending",
	[STORE_ST_READY] = "ready",
	[STORE_ST_PROCESSING] = "processing",
	[STORE_ST_VALID] = "valid",
	[STORE_ST_INVALID] = "invalid",
	[STORE_ST_EXPIRED] = "expired",
	[STORE_ST_DEACTIVATED] = "deactivated",
	[STORE_ST_REVOKED] = "revoked",
};

const char *
store_status_name(enum store_status st)
{
	return (unsigned)st < STORE_ST__MAX ? store_status_text[st] : "";
}

static _Atomic(store_log_fn) store_logger;

void
store_set_log(store_log_fn fn)
{
	atomic_store(&store_logger, fn);
}

/* One line in a single write(2), so lines of concurrent processes do not
 * interleave; cut to fit. */
static void
log_stderr(const char *line)
{
	char out[600];
	int n;

	n = snprintf(out, sizeof(out), "store: %s\n", line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, out, (size_t)n);
}

void
store_log(int prio, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	store_log_fn fn;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn = atomic_load(&store_logger);
	if (fn != NULL)
		fn(prio, line);
	else
		log_stderr(line);
}

enum store_err
store_dberr(struct store *s, int ret, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	enum store_err e;

	switch (ret) {
	case 0:
		e = STORE_OK;
		break;
	case DB_NOTFOUND:
	case DB_KEYEMPTY:
		e = STORE_NOTFOUND;
		break;
	case DB_KEYEXIST:
		e = STORE_EXISTS;
		break;
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
		e = STORE_CONFLICT;
		break;
	case DB_RUNRECOVERY:
		if (s != NULL)
			atomic_store(&s->panicked, 1);
		e = STORE_RECOVER;
		break;
	case ENOSPC:
	case EDQUOT:
		e = STORE_NOSPACE;
		break;
	case ENOMEM:
		e = STORE_NOMEM;
		break;
	case ST_ECORRUPT:
		e = STORE_CORRUPT;
		break;
	default:
		e = STORE_ERR;
		break;
	}
	/* The expected outcomes are the caller's to judge; the rest are logged here. */
	if (e != STORE_OK && e != STORE_NOTFOUND && e != STORE_EXISTS && e != STORE_CONFLICT) {
		va_start(ap, fmt);
		(void)vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		store_log(LOG_ERR, "%s: %s", what, db_strerror(ret));
	}
	return e;
}
