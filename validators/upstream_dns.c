/*
 * The DNS updater for dns-01 at the upstream CA: an exec hook
 * ("HOOK present|cleanup FQDN VALUE", run without a shell, its exit status
 * deciding), or an RFC 2136 update with TSIG sent over UDP to the primary
 * (validators/dnsupdate.c builds it). Both run on the daemon's loop: the
 * hook's stderr pipe and the UDP socket are watched, a timer bounds each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core/log.h"
#include "validators/upstream.h"

struct ups_dns {
	struct val_loop *loop;
	struct val_timer timer;
	ups_dns_fn cb;
	void *arg;
	int64_t deadline;              /* monotonic ms */
	/* hook */
	pid_t pid;
	int fd;                        /* hook: stderr pipe; update: the UDP socket */
	char errbuf[256];
	size_t errlen;
	/* update */
	unsigned char msg[VAL_DNSUPD_MAX];
	int msglen;
	uint16_t id;
	int tries;
	char what[300];
};

static void
dns_free(struct ups_dns *d)
{
	if (d == NULL)
		return;
	val_timer_disarm(d->loop, &d->timer);
	if (d->fd >= 0) {
		val_loop_unwatch(d->loop, d->fd);
		close(d->fd);
	}
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		(void)waitpid(d->pid, NULL, 0);
	}
	explicit_bzero(d, sizeof(*d));
	free(d);
}

/* Report and free: the callback may start the next step. */
static void
dns_end(struct ups_dns *d, const char *err)
{
	ups_dns_fn cb = d->cb;
	void *arg = d->arg;
	char e[400];

	if (err != NULL)
		snprintf(e, sizeof(e), "%s", err);
	dns_free(d);
	cb(arg, err != NULL ? e : NULL);
}

/* ---- the hook ---- */

static void hook_reap(void *arg);

static void
hook_io(void *arg, int fd, short revents)
{
	struct ups_dns *d = arg;
	char buf[256];
	ssize_t n;

	(void)revents;
	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		if (d->errlen < sizeof(d->errbuf) - 1) {
			size_t k = (size_t)n < sizeof(d->errbuf) - 1 - d->errlen ?
			    (size_t)n : sizeof(d->errbuf) - 1 - d->errlen;
			memcpy(d->errbuf + d->errlen, buf, k);
			d->errlen += k;
			d->errbuf[d->errlen] = '\0';
		}
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF: the hook closed its stderr (it exits, or did). */
	val_loop_unwatch(d->loop, fd);
	close(fd);
	d->fd = -1;
	hook_reap(d);
}

static void
hook_reap(void *arg)
{
	struct ups_dns *d = arg;
	char e[400];
	int st = 0;
	pid_t r;
	size_t i;

	r = waitpid(d->pid, &st, WNOHANG);
	if (r == 0) {
		if (val_now_ms() >= d->deadline) {
			snprintf(e, sizeof(e), "the DNS hook did not finish in time (%.300s)", d->what);
			dns_end(d, e);      /* kills it */
			return;
		}
		val_timer_arm(d->loop, &d->timer, 50, hook_reap, d);
		return;
	}
	d->pid = -1;
	if (r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		dns_end(d, NULL);
		return;
	}
	for (i = 0; i < d->errlen; i++)
		if (d->errbuf[i] == '\n' || d->errbuf[i] == '\r' || d->errbuf[i] == '"')
			d->errbuf[i] = ' ';
	if (r > 0 && WIFEXITED(st))
		snprintf(e, sizeof(e), "the DNS hook failed (%.150s): exit status %d%s%.150s", d->what,
		    WEXITSTATUS(st), d->errlen ? ": " : "", d->errlen ? d->errbuf : "");
	else
		snprintf(e, sizeof(e), "the DNS hook failed (%.150s): killed by a signal", d->what);
	dns_end(d, e);
}

static void
hook_timeout(void *arg)
{
	hook_reap(arg);
}

static enum acme_err
hook_start(struct ups_dns *d, const struct ups_dns_conf *c, int present, const char *fqdn,
    const char *value)
{
	int p[2] = { -1, -1 }, devnull;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_err("upstream: pipe: %s", strerror(errno));
		return ACME_EIO;
	}
	if ((pid = fork()) < 0) {
		log_err("upstream: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return ACME_EIO;
	}
	if (pid == 0) {
		char *argv[] = { c->hook, (char *)(present ? "present" : "cleanup"), (char *)fqdn,
		    (char *)value, NULL };
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(p[1], 2);
		closefrom(3);
		signal(SIGPIPE, SIG_DFL);
		execv(c->hook, argv);
		_exit(127);
	}
	close(p[1]);
	d->pid = pid;
	d->fd = p[0];
	fcntl(d->fd, F_SETFL, O_NONBLOCK);
	if (val_loop_watch(d->loop, d->fd, POLLIN, hook_io, d) != ACME_OK)
		return ACME_ENOMEM;
	val_timer_arm(d->loop, &d->timer, c->timeout_ms + 100, hook_timeout, d);
	return ACME_OK;
}

/* ---- RFC 2136 ---- */

static void
upd_send(struct ups_dns *d)
{
	if (send(d->fd, d->msg, (size_t)d->msglen, 0) < 0)
		log_warn("upstream: DNS update to the primary: send: %s", strerror(errno));
	d->tries++;
}

static void
upd_timeout(void *arg)
{
	struct ups_dns *d = arg;
	char e[400];

	if (d->tries < 3 && val_now_ms() < d->deadline) {
		upd_send(d);
		val_timer_arm(d->loop, &d->timer, 1000 * d->tries, upd_timeout, d);
		return;
	}
	snprintf(e, sizeof(e), "the DNS server did not answer the update (%.300s)", d->what);
	dns_end(d, e);
}

static void
upd_io(void *arg, int fd, short revents)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
		"NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };
	struct ups_dns *d = arg;
	unsigned char r[512];
	ssize_t n;
	unsigned rc;
	char e[400];

	(void)revents;
	if ((n = recv(fd, r, sizeof(r), 0)) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno == ECONNREFUSED)
			return;            /* retried by the timer */
		snprintf(e, sizeof(e), "DNS update (%.300s): %s", d->what, strerror(errno));
		dns_end(d, e);
		return;
	}
	/* Our id, a response, opcode UPDATE; anything else is not ours. */
	if (n < 12 || ((r[0] << 8) | r[1]) != d->id || !(r[2] & 0x80) || ((r[2] >> 3) & 0xf) != 5)
		return;
	rc = r[3] & 0xf;
	if (rc == 0) {
		dns_end(d, NULL);
		return;
	}
	snprintf(e, sizeof(e), "the DNS server refused the update (%.300s): %s", d->what,
	    rc < sizeof(rcodes) / sizeof(rcodes[0]) ? rcodes[rc] : "error");
	dns_end(d, e);
}

/* "ip:port" or "[v6]:port" into a socket address. */
static int
parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;
	size_t hl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	if (colon == NULL || (port = strtol(colon + 1, NULL, 10)) <= 0 || port > 65535)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static enum acme_err
upd_start(struct ups_dns *d, const struct ups_dns_conf *c, int present, const char *fqdn,
    const char *value)
{
	struct val_dnsupd u;
	struct sockaddr_storage ss;
	socklen_t sl = 0;

	if (parse_server(c->server, &ss, &sl) < 0) {
		log_err("upstream: upstream_dns_update %s is not ip:port", c->server);
		return ACME_ECONFIG;
	}
	if (RAND_bytes((unsigned char *)&d->id, sizeof(d->id)) != 1)
		return ACME_ECRYPTO;
	memset(&u, 0, sizeof(u));
	u.id = d->id;
	u.zone = c->zone;
	u.name = fqdn;
	u.txt = value;
	u.add = present;
	u.ttl = 60;
	u.tsig_name = c->tsig_name;
	u.tsig_key = c->tsig_key;
	u.tsig_key_len = c->tsig_key_len;
	u.tsig_time = (uint64_t)time(NULL);
	u.tsig_fudge = 300;
	if ((d->msglen = val_dnsupd_build(&u, d->msg, sizeof(d->msg))) < 0) {
		log_err("upstream: cannot build a DNS update for %s in zone %s", fqdn, c->zone);
		return ACME_EINVAL;
	}
	if ((d->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(d->fd, (struct sockaddr *)&ss, sl) != 0) {
		log_err("upstream: DNS update socket to %s: %s", c->server, strerror(errno));
		return ACME_EIO;
	}
	if (val_loop_watch(d->loop, d->fd, POLLIN, upd_io, d) != ACME_OK)
		return ACME_ENOMEM;
	upd_send(d);
	val_timer_arm(d->loop, &d->timer, 1000, upd_timeout, d);
	return ACME_OK;
}

enum acme_err
ups_dns_start(struct val_loop *l, const struct ups_dns_conf *c, int present, const char *fqdn,
    const char *value, ups_dns_fn cb, void *arg, struct ups_dns **out)
{
	struct ups_dns *d;
	enum acme_err rc = ACME_ENOMEM;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ACME_ENOMEM;
	d->loop = l;
	d->fd = -1;
	d->pid = -1;
	d->cb = cb;
	d->arg = arg;
	d->deadline = val_now_ms() + (c->timeout_ms > 0 ? c->timeout_ms : 30000);
	snprintf(d->what, sizeof(d->what), "%s %s", present ? "present" : "cleanup", fqdn);
	if (c->hook != NULL)
		rc = hook_start(d, c, present, fqdn, value);
	else if (c->server != NULL)
		rc = upd_start(d, c, present, fqdn, value);
	else
		rc = ACME_ECONFIG;
	if (rc != ACME_OK) {
		dns_free(d);
		return rc;
	}
	*out = d;
	return ACME_OK;
}

void
ups_dns_cancel(struct ups_dns *d)
{
	dns_free(d);
}
