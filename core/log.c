#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "core/log.h"
#include "store/store.h"

static int log_fd = STDERR_FILENO;
static int log_syslog;
static int log_max = LOG_INFO;
static char log_ident[32] = "acme";

static const char *const log_prio_name[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

/* The store logs through the same target. */
static void
log_store_line(int prio, const char *line)
{
	acme_log(prio, "store: %s", line);
}

int
acme_log_open(const char *ident, const char *target)
{
	int fd;

	store_set_log(log_store_line);
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (target == NULL || strcmp(target, "stderr") == 0) {
		log_syslog = 0;
		return 0;
	}
	if (strcmp(target, "syslog") == 0) {
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = 1;
		return 0;
	}
	if (strncmp(target, "file:", 5) == 0) {
		/* 0660: acme-fcgi and acme-validator append to one log and may run
		 * as two users of one group (docs/security.md). */
		fd = open(target + 5, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0660);
		if (fd < 0) {
			acme_log(LOG_ERR, "log: open %s: %s", target + 5, strerror(errno));
			return -1;
		}
		if (log_fd != STDERR_FILENO)
			close(log_fd);
		log_fd = fd;
		log_syslog = 0;
		return 0;
	}
	acme_log(LOG_ERR, "log: unknown target '%s' (stderr, syslog or file:/path)", target);
	return -1;
}

void
acme_log_level(int prio)
{
	log_max = prio;
}

void
acme_log(int prio, const char *fmt, ...)
{
	char line[1024];
	size_t n;
	int r;
	va_list ap;
	struct timespec ts;
	struct tm tm;

	if (prio > log_max)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	r = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000, log_ident, (int)getpid(),
	    log_prio_name[prio & 7]);
	n = r > 0 ? (size_t)r : 0;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	va_end(ap);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* One write per line, so lines from several processes do not interleave. */
	line[n++] = '\n';
	(void)!write(log_fd, line, n);
}

void
acme_log_ssl(const char *what)
{
	unsigned long e;
	char buf[256];
	int logged = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		acme_log(LOG_ERR, "%s: %s", what, buf);
		logged = 1;
	}
	if (!logged)
		acme_log(LOG_ERR, "%s: failed", what);
}

void
acme_log_wait_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "ended (wait status %#x)", (unsigned)st);
}
