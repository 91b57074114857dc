/*
 * The audit log: one JSON line per event that matters to an operator or an
 * auditor (accounts created, keys changed, accounts deactivated, orders,
 * validation results, issuance, revocation), appended to a file with one
 * write() per line and flushed to disk before the request is answered, or
 * sent to syslog. Never keys, MAC keys, tokens or nonces.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/audit.h"
#include "core/json.h"
#include "core/log.h"

static int audit_fd = -1;
static int audit_syslog;
static int audit_sync = 1;

enum acme_err
acme_audit_open(const struct acme_config *cfg)
{
	const char *target = cfg->audit_log;
	char *path = NULL;
	enum acme_err rc = ACME_OK;

	acme_audit_close();
	audit_sync = cfg->audit_sync;
	if (target == NULL || strcmp(target, "off") == 0)
		return ACME_OK;
	if (strcmp(target, "syslog") == 0) {
		audit_syslog = 1;
		return ACME_OK;
	}
	if (strncmp(target, "file:", 5) != 0 || (path = acme_config_path(cfg, target + 5)) == NULL)
		return ACME_ECONFIG;
	/* 0660: written by the workers and the validator, two users of one group. */
	if ((audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0660)) < 0) {
		log_err("audit: open %s: %s", path, strerror(errno));
		rc = ACME_EIO;
	}
	free(path);
	return rc;
}

void
acme_audit_close(void)
{
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
	audit_syslog = 0;
}

/* Skip the (key, value) pairs of fmt, releasing the JSON values that were
 * handed over: an event not written still takes ownership. */
static void
audit_drop(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		(void)va_arg(ap, const char *);
		switch (*fmt) {
		case 's':
			(void)va_arg(ap, const char *);
			break;
		case 'i':
			(void)va_arg(ap, int64_t);
			break;
		case 'j':
			json_object_put(va_arg(ap, struct json_object *));
			break;
		}
	}
}

void
acme_audit(const char *event, const char *dir, const char *fmt, ...)
{
	struct json_object *o;
	struct timespec ts;
	struct tm tm;
	char when[64], *line = NULL;
	const char *key, *sval;
	va_list ap;
	size_t len;

	if ((audit_fd < 0 && !audit_syslog) || (o = json_object_new_object()) == NULL) {
		va_start(ap, fmt);
		audit_drop(fmt, ap);
		va_end(ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ts.tv_nsec / 1000000) % 1000);
	acme_json_add_str(o, "time", when);
	acme_json_add_str(o, "event", event);
	acme_json_add_str(o, "directory", dir);
	/* fmt is a list of member kinds: 's' string, 'i' integer, 'j' a JSON
	 * value (ownership passes); each preceded by its key. */
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		key = va_arg(ap, const char *);
		switch (*fmt) {
		case 's':
			sval = va_arg(ap, const char *);
			acme_json_add_str(o, key, sval);
			break;
		case 'i':
			acme_json_add_int(o, key, va_arg(ap, int64_t));
			break;
		case 'j':
			json_object_object_add(o, key, va_arg(ap, struct json_object *));
			break;
		}
	}
	va_end(ap);
	if ((line = acme_json_dump(o)) == NULL)
		goto out;
	if (audit_syslog) {
		syslog(LOG_NOTICE | LOG_AUTHPRIV, "audit: %s", line);
		goto out;
	}
	len = strlen(line);
	line[len] = '\n';
	/* O_APPEND and one write per line: lines from all processes stay whole. */
	if (write(audit_fd, line, len + 1) != (ssize_t)(len + 1))
		log_err("audit: write: %s", strerror(errno));
	else if (audit_sync && fdatasync(audit_fd) < 0)
		log_err("audit: fdatasync: %s", strerror(errno));
	line[len] = '\0';
out:
	free(line);
	json_object_put(o);
}

struct json_object *
acme_audit_idents(const struct store_ident *ident, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(ident[i].value));
	return a;
}
