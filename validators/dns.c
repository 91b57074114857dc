#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "core/log.h"
#include "validators/dns.h"

struct val_dns {
	struct ub_ctx *ctx;
	struct val_loop *loop;
	int fd;
};

#define RR_A    1
#define RR_AAAA 28

/* Zones libunbound answers itself (RFC 6761/8375/7686 names) that a
 * configured resolver should see instead: test setups use names under .test. */
static const char *const fwd_transparent[] = { "test.", "invalid.", "onion.", "home.arpa." };

/* "ip:port" or "[v6]:port" (port optional) into libunbound's "ip@port". */
static enum acme_err
dns_fwd_spec(const char *resolver, char *out, size_t cap)
{
	char host[ACME_IP_STRLEN + 2];
	const char *port = NULL, *end;
	struct acme_ip ip;
	size_t hl;
	long p;
	char *ep;

	if (resolver[0] == '[') {
		if ((end = strchr(resolver, ']')) == NULL)
			return ACME_EINVAL;
		hl = (size_t)(end - resolver - 1);
		if (hl >= sizeof(host))
			return ACME_EINVAL;
		memcpy(host, resolver + 1, hl);
		host[hl] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return ACME_EINVAL;
	} else {
		end = strrchr(resolver, ':');
		if (end != NULL && strchr(resolver, ':') == end) {
			hl = (size_t)(end - resolver);
			port = end + 1;
		} else {
			hl = strlen(resolver);
		}
		if (hl >= sizeof(host))
			return ACME_EINVAL;
		memcpy(host, resolver, hl);
		host[hl] = '\0';
	}
	if (acme_ip_parse(host, &ip) != 0)
		return ACME_EINVAL;
	if (port != NULL) {
		errno = 0;
		p = strtol(port, &ep, 10);
		if (errno != 0 || *ep != '\0' || ep == port || p < 1 || p > 65535)
			return ACME_EINVAL;
		snprintf(out, cap, "%s@%ld", host, p);
	} else {
		snprintf(out, cap, "%s", host);
	}
	return ACME_OK;
}

static int
dns_opt(struct ub_ctx *ctx, const char *opt, const char *val)
{
	int r;

	if ((r = ub_ctx_set_option(ctx, opt, val)) != 0)
		log_err("dns: option %s %s: %s", opt, val, ub_strerror(r));
	return r;
}

static void
dns_io(void *arg, int fd, short revents)
{
	struct val_dns *d = arg;
	int r;

	(void)fd;
	(void)revents;
	if ((r = ub_process(d->ctx)) != 0)
		log_err("dns: ub_process: %s", ub_strerror(r));
}

enum acme_err
val_dns_new(struct val_loop *l, const char *resolver, struct val_dns **out)
{
	enum acme_err rc = ACME_ECONFIG;
	struct val_dns *d = NULL;
	char fwd[ACME_IP_STRLEN + 8], zone[32];
	size_t i;
	int r;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	d->loop = l;
	d->fd = -1;
	if ((d->ctx = ub_ctx_create()) == NULL) {
		log_err("dns: ub_ctx_create failed");
		rc = ACME_ENOMEM;
		goto out;
	}
	/* A thread, not a forked process, answers the queries. */
	if ((r = ub_ctx_async(d->ctx, 1)) != 0) {
		log_err("dns: ub_ctx_async: %s", ub_strerror(r));
		goto out;
	}
	/* The forwarder (pebble-challtestsrv, a local resolver) is often on
	 * loopback; cache only briefly so that a fixed record counts on the
	 * next attempt (DN-09); probe a failed forwarder again soon. */
	if (dns_opt(d->ctx, "do-not-query-localhost:", "no") != 0 ||
	    dns_opt(d->ctx, "cache-max-ttl:", "1") != 0 ||
	    dns_opt(d->ctx, "cache-max-negative-ttl:", "1") != 0 ||
	    dns_opt(d->ctx, "infra-host-ttl:", "60") != 0 ||
	    dns_opt(d->ctx, "infra-keep-probing:", "yes") != 0 ||
	    dns_opt(d->ctx, "val-bogus-ttl:", "1") != 0)
		goto out;
	if (resolver != NULL && resolver[0] != '\0') {
		if (dns_fwd_spec(resolver, fwd, sizeof(fwd)) != ACME_OK) {
			log_err("dns: resolver '%s' is not ip:port", resolver);
			goto out;
		}
		if ((r = ub_ctx_set_fwd(d->ctx, fwd)) != 0) {
			log_err("dns: forwarder %s: %s", fwd, ub_strerror(r));
			goto out;
		}
		for (i = 0; i < sizeof(fwd_transparent) / sizeof(fwd_transparent[0]); i++) {
			snprintf(zone, sizeof(zone), "%s transparent", fwd_transparent[i]);
			if (dns_opt(d->ctx, "local-zone:", zone) != 0)
				goto out;
		}
	} else {
		if ((r = ub_ctx_resolvconf(d->ctx, NULL)) != 0) {
			log_err("dns: /etc/resolv.conf: %s", ub_strerror(r));
			goto out;
		}
		if ((r = ub_ctx_hosts(d->ctx, NULL)) != 0)
			log_warn("dns: /etc/hosts: %s", ub_strerror(r));
	}
	d->fd = ub_fd(d->ctx);
	if (d->fd < 0) {
		log_err("dns: ub_fd failed");
		goto out;
	}
	if ((rc = val_loop_watch(l, d->fd, POLLIN, dns_io, d)) != ACME_OK)
		goto out;
	*out = d;
	d = NULL;
	rc = ACME_OK;
out:
	val_dns_free(d);
	return rc;
}

enum acme_err
val_dns_trust_anchor(struct val_dns *d, const char *path)
{
	FILE *f;
	int r;

	/* libunbound reads the file only when the first query is made: say
	 * at start-up when it cannot be read at all. */
	if ((f = fopen(path, "re")) == NULL) {
		log_err("dns: trust anchor %s: %s", path, strerror(errno));
		return ACME_ECONFIG;
	}
	fclose(f);
	if ((r = ub_ctx_add_ta_file(d->ctx, path)) != 0) {
		log_err("dns: trust anchor %s: %s", path, ub_strerror(r));
		return ACME_ECONFIG;
	}
	return ACME_OK;
}

void
val_dns_free(struct val_dns *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0)
		val_loop_unwatch(d->loop, d->fd);
	/* Deleting the context drops every outstanding query. Their owners'
	 * timers are theirs to disarm (they are freed with the jobs). */
	if (d->ctx != NULL)
		ub_ctx_delete(d->ctx);
	free(d);
}

static void
dns_cb(void *mydata, int err, struct ub_result *ur)
{
	struct val_dnsq *q = mydata;
	struct val_dns_res res;
	static char *const nodata[1] = { NULL };
	static const int nolen[1] = { 0 };

	memset(&res, 0, sizeof(res));
	res.data = nodata;
	res.len = nolen;
	q->busy = 0;
	val_timer_disarm(q->dns->loop, &q->timer);
	if (err != 0) {
		res.status = VAL_DNS_ERROR;
		res.why = ub_strerror(err);
	} else if (ur->bogus) {
		res.status = VAL_DNS_BOGUS;
		res.why = ur->why_bogus ? ur->why_bogus : "bogus";
		/* The full reason: the problem detail may hold only part of it. */
		log_warn("dns: DNSSEC validation failed for %s type %d: %s",
		    ur->qname ? ur->qname : "?", ur->qtype, res.why);
	} else if (ur->nxdomain || ur->rcode == 3) {
		res.status = VAL_DNS_NXDOMAIN;
		res.rcode = 3;
	} else if (ur->rcode != 0) {
		res.status = VAL_DNS_RCODE;
		res.rcode = ur->rcode;
	} else if (!ur->havedata) {
		res.status = VAL_DNS_NODATA;
	} else {
		res.status = VAL_DNS_OK;
		res.data = ur->data;
		res.len = ur->len;
		while (ur->data[res.n] != NULL)
			res.n++;
	}
	/* q may be freed by done: touch nothing of it afterwards. */
	q->done(q, &res);
	if (ur != NULL)
		ub_resolve_free(ur);
}

static void
dns_timeout(void *arg)
{
	struct val_dnsq *q = arg;
	struct val_dns_res res;
	static char *const nodata[1] = { NULL };
	static const int nolen[1] = { 0 };

	if (q->busy)
		ub_cancel(q->dns->ctx, q->id);
	q->busy = 0;
	memset(&res, 0, sizeof(res));
	res.status = VAL_DNS_TIMEOUT;
	res.data = nodata;
	res.len = nolen;
	q->done(q, &res);
}

enum acme_err
val_dns_query(struct val_dns *d, struct val_dnsq *q, const char *name, int rrtype,
    int timeout_ms, void (*done)(struct val_dnsq *, const struct val_dns_res *))
{
	int r;

	q->dns = d;
	q->done = done;
	q->busy = 1;
	if ((r = ub_resolve_async(d->ctx, name, rrtype, 1 /* IN */, q, dns_cb, &q->id)) != 0) {
		q->busy = 0;
		log_err("dns: query %s type %d: %s", name, rrtype, ub_strerror(r));
		return r == UB_NOMEM ? ACME_ENOMEM : ACME_EIO;
	}
	val_timer_arm(d->loop, &q->timer, timeout_ms, dns_timeout, q);
	return ACME_OK;
}

void
val_dns_cancel(struct val_dnsq *q)
{
	if (q->dns == NULL)
		return;
	val_timer_disarm(q->dns->loop, &q->timer);
	if (q->busy)
		ub_cancel(q->dns->ctx, q->id);
	q->busy = 0;
}

const char *
val_dns_status_text(const struct val_dns_res *r, char *buf, size_t cap)
{
	static const char *const rcodes[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	};

	switch (r->status) {
	case VAL_DNS_OK: return "NOERROR";
	case VAL_DNS_NODATA: return "no data";
	case VAL_DNS_NXDOMAIN: return "NXDOMAIN";
	case VAL_DNS_TIMEOUT: return "query timed out";
	case VAL_DNS_RCODE:
		if (r->rcode >= 0 && (size_t)r->rcode < sizeof(rcodes) / sizeof(rcodes[0]))
			return rcodes[r->rcode];
		snprintf(buf, cap, "rcode %d", r->rcode);
		return buf;
	case VAL_DNS_BOGUS:
		snprintf(buf, cap, "DNSSEC validation failed: %s", r->why ? r->why : "bogus");
		return buf;
	case VAL_DNS_ERROR:
		snprintf(buf, cap, "resolver error: %s", r->why ? r->why : "?");
		return buf;
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* A and AAAA together                                                   */

static void
addrs_one(struct val_addrq *aq, const struct val_dns_res *r, int family)
{
	char buf[sizeof(aq->why4)];
	size_t i, want = family == AF_INET ? 4 : 16, kept = 0;

	if (family == AF_INET) {
		aq->st4 = r->status;
		snprintf(aq->why4, sizeof(aq->why4), "%s", val_dns_status_text(r, buf, sizeof(buf)));
	} else {
		aq->st6 = r->status;
		snprintf(aq->why6, sizeof(aq->why6), "%s", val_dns_status_text(r, buf, sizeof(buf)));
	}
	for (i = 0; i < r->n && kept < VAL_DNS_MAXADDR; i++) {
		if ((size_t)r->len[i] != want)
			continue;
		aq->ip[aq->n].family = family;
		memset(aq->ip[aq->n].b, 0, sizeof(aq->ip[aq->n].b));
		memcpy(aq->ip[aq->n].b, r->data[i], want);
		aq->n++;
		kept++;
	}
}

/* IPv6 first; each family keeps its answer order. */
static void
addrs_sort(struct val_addrq *aq)
{
	struct acme_ip tmp[2 * VAL_DNS_MAXADDR];
	size_t i, o = 0;

	for (i = 0; i < aq->n; i++)
		if (aq->ip[i].family == AF_INET6)
			tmp[o++] = aq->ip[i];
	for (i = 0; i < aq->n; i++)
		if (aq->ip[i].family == AF_INET)
			tmp[o++] = aq->ip[i];
	memcpy(aq->ip, tmp, o * sizeof(tmp[0]));
}

static void
addrs_done4(struct val_dnsq *q, const struct val_dns_res *r)
{
	struct val_addrq *aq = (struct val_addrq *)(void *)((char *)q - offsetof(struct val_addrq, q4));

	addrs_one(aq, r, AF_INET);
	if (--aq->pending == 0) {
		addrs_sort(aq);
		aq->done(aq);
	}
}

static void
addrs_done6(struct val_dnsq *q, const struct val_dns_res *r)
{
	struct val_addrq *aq = (struct val_addrq *)(void *)((char *)q - offsetof(struct val_addrq, q6));

	addrs_one(aq, r, AF_INET6);
	if (--aq->pending == 0) {
		addrs_sort(aq);
		aq->done(aq);
	}
}

enum acme_err
val_dns_addrs(struct val_dns *d, struct val_addrq *aq, const char *name, int timeout_ms,
    void (*done)(struct val_addrq *))
{
	enum acme_err rc;

	memset(aq, 0, sizeof(*aq));
	aq->done = done;
	snprintf(aq->name, sizeof(aq->name), "%s", name);
	aq->pending = 2;
	if ((rc = val_dns_query(d, &aq->q6, name, RR_AAAA, timeout_ms, addrs_done6)) != ACME_OK)
		return rc;
	if ((rc = val_dns_query(d, &aq->q4, name, RR_A, timeout_ms, addrs_done4)) != ACME_OK) {
		val_dns_cancel(&aq->q6);
		return rc;
	}
	return ACME_OK;
}

void
val_dns_addrs_cancel(struct val_addrq *aq)
{
	val_dns_cancel(&aq->q4);
	val_dns_cancel(&aq->q6);
	aq->pending = 0;
}

void
val_dns_addrs_problem(const struct val_addrq *aq, struct acme_problem *p)
{
	/* Report the more telling failure: an error over NXDOMAIN over no data. */
	enum val_dns_status st = aq->st4;
	const char *why = aq->why4, *type = "A";

	if (aq->st4 == VAL_DNS_OK || aq->st4 == VAL_DNS_NODATA ||
	    (aq->st4 == VAL_DNS_NXDOMAIN && aq->st6 != VAL_DNS_NODATA &&
	     aq->st6 != VAL_DNS_NXDOMAIN && aq->st6 != VAL_DNS_OK)) {
		if (aq->st6 != VAL_DNS_OK && aq->st6 != VAL_DNS_NODATA) {
			st = aq->st6;
			why = aq->why6;
			type = "AAAA";
		}
	}
	if (st == VAL_DNS_OK || st == VAL_DNS_NODATA)
		acme_problem_set(p, PROB_DNS, "No valid IP addresses found for %s", aq->name);
	else if (st == VAL_DNS_NXDOMAIN)
		acme_problem_set(p, PROB_DNS, "DNS problem: NXDOMAIN looking up %s for %s - check "
		    "that a DNS record exists for this domain", type, aq->name);
	else
		acme_problem_set(p, PROB_DNS, "DNS problem: %s looking up %s for %s", why, type,
		    aq->name);
}

size_t
val_dns_addrs_pick(const struct val_addrq *aq, int allow_private, struct acme_ip cand[2],
    char *refused, size_t cap)
{
	char ip[ACME_IP_STRLEN];
	size_t i, n = 0, o = 0;
	int have6 = 0, have4 = 0, w;

	if (cap > 0)
		refused[0] = '\0';
	for (i = 0; i < aq->n; i++) {
		if (!acme_ip_allowed(&aq->ip[i], allow_private)) {
			acme_ip_str(&aq->ip[i], ip);
			w = snprintf(refused + o, cap - o, "%s%s (%s)", o ? ", " : "", ip,
			    acme_addr_class_name(acme_ip_class(&aq->ip[i])));
			if (w > 0 && (size_t)w < cap - o)
				o += (size_t)w;
			continue;
		}
		if (aq->ip[i].family == AF_INET6 && !have6) {
			cand[n++] = aq->ip[i];
			have6 = 1;
		} else if (aq->ip[i].family == AF_INET && !have4) {
			cand[n++] = aq->ip[i];
			have4 = 1;
		}
	}
	return n;
}

void
val_dns_addrs_record(struct val_addrq *aq, const char *name, const struct val_dns_res *r4,
    const struct val_dns_res *r6)
{
	memset(aq, 0, sizeof(*aq));
	snprintf(aq->name, sizeof(aq->name), "%s", name);
	addrs_one(aq, r6, AF_INET6);
	addrs_one(aq, r4, AF_INET);
	addrs_sort(aq);
}
