/*
 * The DNS updater for dns-01 at the upstream CA: an exec hook
 * ("HOOK present|cleanup FQDN VALUE", run without a shell by
 * validators/upstream_exec.c, its exit status deciding), or an RFC 2136
 * update with TSIG sent over UDP to the primary (validators/dnsupdate.c
 * builds it and checks the signed answer). Both run on the daemon's loop: a
 * timer bounds each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/log.h"
#include "validators/upstream.h"

struct ups_dns {
	struct val_loop *loop;
	struct val_timer timer;
	ups_dns_fn cb;
	void *arg;
	int64_t deadline;              /* monotonic ms */
	struct ups_exec *hook;         /* hook: the program */
	int fd;                        /* update: the UDP socket */
	/* update */
	unsigned char msg[VAL_DNSUPD_MAX];
	int msglen;
	uint16_t id;
	int tries;
	unsigned unsigned_answers;     /* answers ignored: not signed with our key */
	struct val_dnsupd_tsig tsig;   /* to check the answer's signature (a secret inside) */
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
	ups_exec_cancel(d->hook);
	OPENSSL_cleanse(d, sizeof(*d));
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

static void
hook_done(void *arg, int status, const char *err)
{
	struct ups_dns *d = arg;

	(void)status;
	d->hook = NULL;
	dns_end(d, err);
}

static enum acme_err
hook_start(struct ups_dns *d, const struct ups_dns_conf *c, int present, const char *fqdn,
    const char *value)
{
	char *argv[] = { c->hook, (char *)(present ? "present" : "cleanup"), (char *)fqdn,
	    (char *)value, NULL };
	char what[400];

	snprintf(what, sizeof(what), "the DNS hook (%.300s)", d->what);
	return ups_exec_start(d->loop, argv, c->timeout_ms > 0 ? c->timeout_ms : 30000, what,
	    hook_done, d, &d->hook);
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
	snprintf(e, sizeof(e), "the DNS server did not answer the update (%.300s)%s", d->what,
	    d->unsigned_answers ? "; answers came that were not signed with the TSIG key" : "");
	dns_end(d, e);
}

static void
upd_io(void *arg, int fd, short revents)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
		"NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };
	struct ups_dns *d = arg;
	unsigned char r[VAL_DNSUPD_MAX * 2];
	unsigned rc, terr = 0;
	ssize_t n;
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
	/* Signed request, signed answer (RFC 8945 5.3): an answer that does not
	 * verify could be anyone's, so it is ignored and the real one awaited;
	 * a TSIG error is the server's word that it refused our signature. */
	if (d->tsig.key_len > 0) {
		switch (val_dnsupd_check_answer(r, (size_t)n, &d->tsig, (uint64_t)time(NULL), &terr)) {
		case VAL_TSIG_OK:
			break;
		case VAL_TSIG_ERROR:
			snprintf(e, sizeof(e), "the DNS server refused the update's TSIG signature "
			    "(%.300s): %s", d->what, terr == 16 ? "BADSIG" : terr == 17 ? "BADKEY" :
			    terr == 18 ? "BADTIME (are the clocks in step?)" : "TSIG error");
			dns_end(d, e);
			return;
		default:
			if (!d->unsigned_answers++)
				log_warn("upstream: DNS update (%s): ignoring an answer that is not signed "
				    "with the TSIG key", d->what);
			return;
		}
	}
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
	u.mac_out = d->tsig.req_mac;
	if ((d->msglen = val_dnsupd_build(&u, d->msg, sizeof(d->msg))) < 0) {
		log_err("upstream: cannot build a DNS update for %s in zone %s", fqdn, c->zone);
		return ACME_EINVAL;
	}
	if (c->tsig_name != NULL && c->tsig_key_len > 0) {
		if (c->tsig_key_len > sizeof(d->tsig.key) || strlen(c->tsig_name) >= sizeof(d->tsig.name))
			return ACME_EINVAL;
		snprintf(d->tsig.name, sizeof(d->tsig.name), "%s", c->tsig_name);
		memcpy(d->tsig.key, c->tsig_key, c->tsig_key_len);
		d->tsig.key_len = c->tsig_key_len;
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
