/* Logging: to stderr (default) or syslog, one line per event. Never log keys,
 * HMAC secrets, JWS payloads or nonces. */
#ifndef ACME_CORE_LOG_H
#define ACME_CORE_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Where log lines go: "stderr", "syslog", or "file:/path". The ident names the
 * program. Returns 0, or -1 if the target cannot be opened (stderr is kept). */
int acme_log_open(const char *ident, const char *target);

/* Lines below this syslog priority are dropped (default LOG_INFO). */
void acme_log_level(int prio);

void acme_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A child's wait status in words, for a log line: "exited with status 1",
 * "was killed by signal 9 (Killed)". */
void acme_log_wait_status(int st, char *buf, size_t len);

/* Log the OpenSSL error queue at LOG_ERR prefixed by what, then clear it. */
void acme_log_ssl(const char *what);

#define log_err(...)   acme_log(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  acme_log(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  acme_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) acme_log(LOG_DEBUG, __VA_ARGS__)

#endif
