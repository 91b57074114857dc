/*
 * http-01 (RFC 8555 section 8.3, conformance HT-01..16, RFC 8738 IP-04/05).
 *
 * One hop at a time: parse the URL, resolve its host through our resolver
 * (never the system's), keep the addresses the directory allows, and fetch
 * with libcurl pinned to one of them (CURLOPT_CONNECT_TO). The address
 * check binds to the socket: CURLOPT_OPENSOCKETFUNCTION refuses any address
 * other than the pinned, allowed one, so neither curl's own resolution nor a
 * DNS rebinding between our lookup and the connect can reach elsewhere.
 * Redirects are followed here, not by curl, so that each hop gets the same
 * checks. IPv6 goes first; IPv4 is tried only when the IPv6 connection
 * itself fails (an HTTP-level error is final).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "core/log.h"
#include "store/store.h"
#include "core/ipaddr.h"
#include "validators/curlm.h"
#include "validators/dns.h"
#include "validators/http01.h"
#include "validators/val.h"

#define H01_MAX_REDIRECTS VAL_H01_MAX_REDIRECTS
#define H01_MAX_PATH      VAL_H01_MAX_PATH
#define H01_BODY_SLACK    128      /* bytes allowed beyond the key authorization */
#define H01_QUOTE_MAX     VAL_H01_QUOTE_MAX
#define H01_URL_QUOTE     200      /* bytes of a URL quoted in a detail */

struct h01 {
	struct val_job *job;
	struct val_xfer xfer;
	struct val_addrq aq;
	int resolving;
	CURLU *url;                    /* the current hop */
	char *url_text;                /* its canonical text (curl_free) */
	char host[256];                /* without brackets */
	int port;
	int host_ip;                   /* host is an IP literal */
	struct acme_ip cand[2];         /* IPv6 first, then IPv4 */
	size_t ncand, cur;
	struct acme_ip pinned;          /* the address of this attempt */
	char ipstr[ACME_IP_STRLEN];
	int refused;                   /* the socket callback refused an address */
	char *visited[H01_MAX_REDIRECTS + 1];
	size_t nvisited;
	struct curl_slist *hdrs;       /* request headers, for every hop */
	struct curl_slist *connect_to; /* the pin of the current attempt */
	char errbuf[CURL_ERROR_SIZE];
	struct val_h01_body body;
};

static void h01_hop(struct h01 *h, const char *location);
static void h01_connect(struct h01 *h);

static void
h01_cancel(struct val_job *j)
{
	struct h01 *h = j->state;
	size_t i;

	if (h == NULL)
		return;
	if (h->resolving)
		val_dns_addrs_cancel(&h->aq);
	if (h->xfer.easy != NULL) {
		val_curlm_remove(val_job_curlm(j), &h->xfer);
		curl_easy_cleanup(h->xfer.easy);
	}
	curl_url_cleanup(h->url);
	curl_free(h->url_text);
	for (i = 0; i < h->nvisited; i++)
		free(h->visited[i]);
	curl_slist_free_all(h->hdrs);
	curl_slist_free_all(h->connect_to);
	free(h->body.buf);
	free(h);
	j->state = NULL;
}

/* The current URL, escaped and cut for a detail. */
static const char *
h01_url(const struct h01 *h, char *buf, size_t cap)
{
	const char *u = h->url_text ? h->url_text : "?";

	val_escape(buf, cap, u, strlen(u), H01_URL_QUOTE);
	return buf;
}

/* Fail with "<ip>: Fetching <url>: <detail>" (no ip before connecting). */
static void
h01_fail(struct h01 *h, enum acme_prob type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
h01_fail(struct h01 *h, enum acme_prob type, const char *fmt, ...)
{
	struct acme_problem p;
	char what[400], url[H01_URL_QUOTE * 4 + 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	memset(&p, 0, sizeof(p));
	if (h->ipstr[0] != '\0')
		acme_problem_set(&p, type, "%s: Fetching %s: %s", h->ipstr, h01_url(h, url, sizeof(url)),
		    what);
	else
		acme_problem_set(&p, type, "Fetching %s: %s", h01_url(h, url, sizeof(url)), what);
	val_job_finish(h->job, &p);
}

static void
h01_overrun(struct val_job *j, struct acme_problem *p)
{
	struct h01 *h = j->state;
	char url[H01_URL_QUOTE * 4 + 8];

	if (h != NULL && h->resolving)
		acme_problem_set(p, PROB_DNS, "DNS problem: query timed out looking up %s",
		    h->aq.name);
	else if (h != NULL)
		acme_problem_set(p, PROB_CONNECTION, "%s: Fetching %s: Timeout after %d ms",
		    h->ipstr, h01_url(h, url, sizeof(url)), j->opts.total_ms);
	else
		acme_problem_set(p, PROB_CONNECTION, "Timeout after %d ms", j->opts.total_ms);
}

/* LDH labels (and '_'), dots between, nothing else; lower-cased in place. */
static int
h01_hostname_ok(char *s)
{
	size_t i, n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		s[i] = (char)tolower((unsigned char)s[i]);
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: the only place a connection is made. */
static curl_socket_t
h01_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct h01 *h = clientp;
	struct acme_ip ip;
	curl_socket_t s;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    acme_ip_from_sockaddr(&addr->addr, addr->addrlen, &ip) != 0 ||
	    !acme_ip_equal(&ip, &h->pinned) ||
	    !acme_ip_allowed(&ip, h->job->opts.allow_private)) {
		h->refused = 1;
		return CURL_SOCKET_BAD;
	}
	s = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	return s < 0 ? CURL_SOCKET_BAD : s;
}

size_t
val_http01_body_add(struct val_h01_body *b, long code, const void *ptr, size_t n)
{
	size_t room;

	if (code != 200) {
		/* Keep enough to quote in the detail; a redirect's body is not read. */
		if (code >= 300 && code < 400) {
			b->stopped = 1;
			return 0;
		}
		room = H01_QUOTE_MAX + 1 > b->len ? H01_QUOTE_MAX + 1 - b->len : 0;
		if (room > n)
			room = n;
		if (room > 0)
			memcpy(b->buf + b->len, ptr, room);
		b->len += room;
		if (b->len > H01_QUOTE_MAX) {
			b->stopped = 1;
			return 0;
		}
		return n;
	}
	if (n > b->cap - b->len) {
		b->stopped = 1;
		b->over = 1;
		return 0;
	}
	if (n > 0)
		memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	return n;
}

size_t
val_http01_body_trim(const unsigned char *body, size_t n)
{
	while (n > 0 && (body[n - 1] == ' ' || body[n - 1] == '\t' || body[n - 1] == '\r' ||
	    body[n - 1] == '\n' || body[n - 1] == '\v' || body[n - 1] == '\f'))
		n--;
	return n;
}

static size_t
h01_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct h01 *h = arg;
	long code = 0;

	curl_easy_getinfo(h->xfer.easy, CURLINFO_RESPONSE_CODE, &code);
	return val_http01_body_add(&h->body, code, ptr, size * nmemb);
}

static void
h01_check_body(struct h01 *h)
{
	const char *want = h->job->item.keyauth;
	size_t n, wl = strlen(want);
	char got[H01_QUOTE_MAX * 4 + 8];

	if (h->body.over) {
		h01_fail(h, PROB_UNAUTHORIZED, "Invalid response: the body is larger than %zu bytes",
		    h->body.cap);
		return;
	}
	/* Trailing whitespace only (HT-04). */
	n = val_http01_body_trim(h->body.buf, h->body.len);
	if (n == wl && CRYPTO_memcmp(h->body.buf, want, wl) == 0) {
		val_job_finish(h->job, NULL);
		return;
	}
	val_escape(got, sizeof(got), h->body.buf, n, H01_QUOTE_MAX);
	h01_fail(h, PROB_UNAUTHORIZED, "The key authorization file from the server did not match "
	    "this challenge. Expected \"%s\" (got \"%s\")", want, got);
}

/* A 301/302/307/308: the Location, resolved against the current URL. */
static void
h01_redirect(struct h01 *h, long code)
{
	struct curl_header *loc = NULL;
	char buf[H01_URL_QUOTE * 4 + 8], *target;

	if (code != 301 && code != 302 && code != 307 && code != 308) {
		h01_fail(h, PROB_CONNECTION, "Invalid response: redirect status %ld (only 301, 302, "
		    "307 and 308 are followed)", code);
		return;
	}
	if (curl_easy_header(h->xfer.easy, "Location", 0, CURLH_HEADER, -1, &loc) != CURLHE_OK ||
	    loc == NULL || loc->value == NULL || loc->value[0] == '\0') {
		h01_fail(h, PROB_CONNECTION, "Invalid response: redirect status %ld without a "
		    "Location", code);
		return;
	}
	if (h->nvisited > H01_MAX_REDIRECTS) {
		val_escape(buf, sizeof(buf), loc->value, strlen(loc->value), H01_URL_QUOTE);
		h01_fail(h, PROB_CONNECTION, "Too many redirects (more than %d), last to \"%s\"",
		    H01_MAX_REDIRECTS, buf);
		return;
	}
	/* loc points into the easy handle, which the next hop resets. */
	if ((target = strdup(loc->value)) == NULL) {
		h01_fail(h, PROB_SERVER_INTERNAL, "out of memory");
		return;
	}
	h01_hop(h, target);
	free(target);
}

static int
h01_conn_failed(CURLcode rc, CURL *easy)
{
	curl_off_t connected = 0;

	if (rc == CURLE_COULDNT_CONNECT)
		return 1;
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected);
		return connected == 0;
	}
	return 0;
}

static void
h01_done(struct val_xfer *x, CURLcode rc)
{
	struct h01 *h = (struct h01 *)(void *)((char *)x - offsetof(struct h01, xfer));
	char body[H01_QUOTE_MAX * 4 + 8];
	long code = 0, oserr = 0;
	curl_off_t connected = 0;
	const char *err;

	err = h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && h->body.stopped)) {
		curl_easy_getinfo(h->xfer.easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 300 && code < 400) {
			h01_redirect(h, code);
			return;
		}
		if (code != 200) {
			val_escape(body, sizeof(body), h->body.buf, h->body.len, H01_QUOTE_MAX);
			h01_fail(h, PROB_UNAUTHORIZED, "Invalid response: status %ld%s%s%s", code,
			    h->body.len ? ", body \"" : "", h->body.len ? body : "",
			    h->body.len ? "\"" : "");
			return;
		}
		h01_check_body(h);
		return;
	}
	if (h->refused) {
		h01_fail(h, PROB_CONNECTION, "refusing to connect to an address other than %s",
		    h->ipstr);
		return;
	}
	if (h01_conn_failed(rc, h->xfer.easy) && h->cur + 1 < h->ncand) {
		log_debug("http-01 %s: %s failed (%s), trying %s", h->host, h->ipstr, err,
		    "the next address");
		h->cur++;
		h01_connect(h);
		return;
	}
	curl_easy_getinfo(h->xfer.easy, CURLINFO_OS_ERRNO, &oserr);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		h01_fail(h, PROB_CONNECTION, "Connection failed: %s",
		    oserr != 0 ? strerror((int)oserr) : err);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(h->xfer.easy, CURLINFO_CONNECT_TIME_T, &connected);
		h01_fail(h, PROB_CONNECTION, connected == 0 ?
		    "Timeout during connect (likely firewall problem)" :
		    "Timeout after connect (your server may be slow or overloaded)");
		break;
	case CURLE_GOT_NOTHING:
		h01_fail(h, PROB_CONNECTION, "The server closed the connection without a response");
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
		h01_fail(h, PROB_TLS, "TLS error: %s", err);
		break;
	default:
		h01_fail(h, PROB_CONNECTION, "%s", err);
		break;
	}
}

static void
h01_connect(struct h01 *h)
{
	struct val_job *j = h->job;
	char rule[sizeof(h->host) + 2 * ACME_IP_STRLEN + 24];
	int left = val_job_left(j), conn;
	CURL *e;

	h->pinned = h->cand[h->cur];
	acme_ip_str(&h->pinned, h->ipstr);
	h->refused = 0;
	h->body.stopped = 0;
	h->body.over = 0;
	h->body.len = 0;
	h->errbuf[0] = '\0';
	curl_slist_free_all(h->connect_to);
	h->connect_to = NULL;
	if (h->xfer.easy != NULL)
		curl_easy_reset(h->xfer.easy);
	else if ((h->xfer.easy = curl_easy_init()) == NULL)
		goto nomem;
	e = h->xfer.easy;
	h->xfer.done = h01_done;
	if (!h->host_ip) {
		/* Pin: connections to the URL's host:port go to this address, and
		 * curl never resolves the name itself. */
		snprintf(rule, sizeof(rule), h->pinned.family == AF_INET6 ? "%s:%d:[%s]:%d" :
		    "%s:%d:%s:%d", h->host, h->port, h->ipstr, h->port);
		if ((h->connect_to = curl_slist_append(NULL, rule)) == NULL)
			goto nomem;
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, h->connect_to);
	}
	conn = j->opts.connect_ms < left ? j->opts.connect_ms : left;
	curl_easy_setopt(e, CURLOPT_CURLU, h->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, VAL_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");   /* ignore http_proxy and friends */
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)conn);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
	/* https hops: TLS 1.2 or later, certificate not checked (HT-11). */
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, h01_opensocket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, h01_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	if (val_curlm_add(val_job_curlm(j), &h->xfer) != ACME_OK)
		h01_fail(h, PROB_SERVER_INTERNAL, "cannot start the HTTP request");
	return;
nomem:
	h01_fail(h, PROB_SERVER_INTERNAL, "out of memory");
}

static void
h01_resolved(struct val_addrq *aq)
{
	struct h01 *h = (struct h01 *)(void *)((char *)aq - offsetof(struct h01, aq));
	struct acme_problem p;
	char list[200];

	h->resolving = 0;
	if (aq->n == 0) {
		memset(&p, 0, sizeof(p));
		val_dns_addrs_problem(aq, &p);
		val_job_finish(h->job, &p);
		return;
	}
	h->cur = 0;
	h->ncand = val_dns_addrs_pick(aq, h->job->opts.allow_private, h->cand, list,
	    sizeof(list));
	if (h->ncand == 0) {
		h01_fail(h, PROB_CONNECTION, "%s has no address this CA may connect to: %s",
		    h->host, list);
		return;
	}
	h01_connect(h);
}

/* Whether a redirect target's port is one we follow (HT-09). */
static int
h01_port_ok(const struct val_opts *o, int https, long port)
{
	return port == 80 || port == 443 || (!https && port == o->http_port) ||
	    (https && o->https_port > 0 && port == o->https_port);
}

static int
h01_why(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
h01_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (cap > 0) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
val_http01_next(CURLU *u, const char *location, const struct val_opts *o,
    char *const *visited, size_t nvisited, struct val_h01_next *out, char *why, size_t cap)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	char *zone = NULL, *text = NULL, loc[H01_URL_QUOTE * 4 + 8] = "?";
	size_t i, plen;
	long pnum = 0;
	int https, rc = -1;

	memset(out, 0, sizeof(*out));
	if (location != NULL) {
		val_escape(loc, sizeof(loc), location, strlen(location), H01_URL_QUOTE);
		if (curl_url_set(u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
			h01_why(why, cap, "Invalid redirect to \"%s\"", loc);
			goto out;
		}
		/* Credentials and fragments are not ours to send. */
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &text, 0) != CURLUE_OK) {
		h01_why(why, cap, "Invalid redirect to \"%s\"", loc);
		goto out;
	}
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_ZONEID, &zone, 0);
	https = strcmp(scheme, "https") == 0;
	if (!https && strcmp(scheme, "http") != 0) {
		h01_why(why, cap, "Redirect to \"%s\": only http and https are followed", loc);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
		pnum = strtol(port, NULL, 10);
		if (location != NULL && !h01_port_ok(o, https, pnum)) {
			h01_why(why, cap, "Redirect to \"%s\": port %ld is not 80 or 443", loc, pnum);
			goto out;
		}
	} else {
		pnum = https ? 443 : 80;
	}
	plen = strlen(path) + (query ? strlen(query) + 1 : 0);
	if (plen > H01_MAX_PATH) {
		h01_why(why, cap, "Redirect to \"%s\": the path is longer than %d bytes", loc,
		    H01_MAX_PATH);
		goto out;
	}
	if (zone != NULL) {
		h01_why(why, cap, "Redirect to \"%s\": an address with a zone id", loc);
		goto out;
	}
	for (i = 0; i < nvisited; i++) {
		if (strcmp(visited[i], text) == 0) {
			h01_why(why, cap, "Redirect loop: \"%s\" was seen before", loc);
			goto out;
		}
	}
	out->url = text;
	out->host = host;
	out->port = pnum;
	text = host = NULL;
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_free(zone);
	curl_free(text);
	return rc;
}

int
val_http01_host(const char *host, int allow_private, char name[256], int *is_ip,
    struct acme_ip *ip, char *why, size_t cap)
{
	size_t hl = strlen(host);

	*is_ip = 0;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		snprintf(name, 256, "%.*s", (int)(hl - 2), host + 1);
		if (acme_ip_parse(name, ip) != 0 || ip->family != AF_INET6)
			return h01_why(why, cap, "Invalid IPv6 address in the URL");
		*is_ip = 1;
	} else if (hl < 256) {
		memcpy(name, host, hl + 1);
		*is_ip = acme_ip_parse(name, ip) == 0;
	} else {
		return h01_why(why, cap, "The host name is too long");
	}
	if (*is_ip) {
		if (!acme_ip_allowed(ip, allow_private))
			return h01_why(why, cap, "refusing to connect to %s: a %s address", name,
			    acme_addr_class_name(acme_ip_class(ip)));
		return 0;
	}
	if (!h01_hostname_ok(name))
		return h01_why(why, cap, "Invalid host name in the URL");
	return 0;
}

/* Go to the URL in h->url (location NULL), or to location relative to it. */
static void
h01_hop(struct h01 *h, const char *location)
{
	struct val_job *j = h->job;
	struct val_h01_next nx;
	struct acme_ip ip;
	char why[400];

	if (val_http01_next(h->url, location, &j->opts, h->visited, h->nvisited, &nx, why,
	    sizeof(why)) != 0) {
		h01_fail(h, PROB_CONNECTION, "%s", why);
		return;
	}
	/* The hop is accepted: from here on details name the new URL. */
	if ((h->visited[h->nvisited] = strdup(nx.url)) == NULL) {
		h01_fail(h, PROB_SERVER_INTERNAL, "out of memory");
		goto out;
	}
	h->nvisited++;
	curl_free(h->url_text);
	h->url_text = nx.url;
	nx.url = NULL;
	h->ipstr[0] = '\0';
	h->port = (int)nx.port;
	if (val_http01_host(nx.host, j->opts.allow_private, h->host, &h->host_ip, &ip, why,
	    sizeof(why)) != 0) {
		h01_fail(h, PROB_CONNECTION, "%s", why);
		goto out;
	}
	if (h->host_ip) {
		h->cand[0] = ip;
		h->ncand = 1;
		h->cur = 0;
		h01_connect(h);
		goto out;
	}
	h->resolving = 1;
	if (val_dns_addrs(val_job_dns(j), &h->aq, h->host,
	    j->opts.dns_ms < val_job_left(j) ? j->opts.dns_ms : val_job_left(j),
	    h01_resolved) != ACME_OK) {
		h->resolving = 0;
		h01_fail(h, PROB_SERVER_INTERNAL, "cannot start the DNS lookup");
	}
out:
	curl_free(nx.url);
	curl_free(nx.host);
}

/* Token: base64url only, since it becomes part of the path. */
static int
h01_token_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i] != '\0'; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_')
			return 0;
	return i > 0;
}

static void
h01_start(struct val_job *j)
{
	struct h01 *h = j->state;
	const struct acme_val_item *it = &j->item;
	struct acme_ip ip;
	char url[512];
	int v6;

	v6 = it->ident_type == STORE_IDENT_IP && acme_ip_parse(it->ident, &ip) == 0 &&
	    ip.family == AF_INET6;
	snprintf(url, sizeof(url), "http://%s%s%s:%d/.well-known/acme-challenge/%s",
	    v6 ? "[" : "", it->ident, v6 ? "]" : "", j->opts.http_port, it->token);
	if (curl_url_set(h->url, CURLUPART_URL, url, 0) != CURLUE_OK) {
		h01_fail(h, PROB_MALFORMED, "Invalid identifier for http-01");
		return;
	}
	h01_hop(h, NULL);
}

enum acme_err
val_http01_init(struct val_job *j)
{
	const struct acme_val_item *it = &j->item;
	struct h01 *h;
	struct acme_ip ip;
	char name[sizeof(it->ident)];

	if (!h01_token_ok(it->token) || it->wildcard)
		return ACME_EINVAL;
	if (it->ident_type == STORE_IDENT_IP) {
		if (acme_ip_parse(it->ident, &ip) != 0)
			return ACME_EINVAL;
	} else {
		memcpy(name, it->ident, sizeof(name));
		if (it->ident_type != STORE_IDENT_DNS || !h01_hostname_ok(name))
			return ACME_EINVAL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ACME_ENOMEM;
	j->state = h;
	j->start = h01_start;
	j->cancel = h01_cancel;
	j->overrun = h01_overrun;
	h->job = j;
	h->body.cap = strlen(it->keyauth) + H01_BODY_SLACK;
	if ((h->body.buf = malloc(h->body.cap > H01_QUOTE_MAX + 1 ? h->body.cap :
	    H01_QUOTE_MAX + 1)) == NULL || (h->url = curl_url()) == NULL ||
	    (h->hdrs = curl_slist_append(NULL, "Accept: */*")) == NULL ||
	    curl_slist_append(h->hdrs, "Connection: close") == NULL)
		return ACME_ENOMEM;
	return ACME_OK;
}
