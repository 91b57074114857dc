/*
 * tls-alpn-01 (RFC 8737, conformance AL-01..12, RFC 8738 IP-06).
 *
 * A non-blocking TCP connection to an address the directory allows (the
 * identifier's own for an IP; for a name, IPv6 first then IPv4 as for
 * http-01), then a non-blocking TLS handshake offering only "acme-tls/1",
 * SNI the name (the reverse-mapping name for an IP). After the handshake
 * nothing is sent: we check the negotiated protocol and the leaf
 * certificate, send close_notify and close.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "store/store.h"
#include "core/ipaddr.h"
#include "validators/dns.h"
#include "validators/val.h"

#define ACME_TLS_1 "acme-tls/1"
#define OID_ACME_IDENTIFIER "1.3.6.1.5.5.7.1.31"

enum al01_phase { AL_RESOLVE, AL_CONNECT, AL_HANDSHAKE };

struct al01 {
	struct val_job *job;
	enum al01_phase phase;
	struct val_addrq aq;
	int resolving;
	struct acme_ip cand[2];         /* IPv6 first, then IPv4 */
	size_t ncand, cur;
	char where[ACME_IP_STRLEN + 10]; /* "ip:port" or "[ip]:port" of this attempt */
	int fd;
	SSL *ssl;
	struct val_timer timer;        /* connect, then handshake */
	char sni[ACME_REVNAME_LEN > 256 ? ACME_REVNAME_LEN : 256];
};

static void al01_connect(struct al01 *a);

static void
al01_close(struct al01 *a)
{
	struct val_loop *l = val_job_loop(a->job);

	val_timer_disarm(l, &a->timer);
	if (a->ssl != NULL) {
		SSL_free(a->ssl);
		a->ssl = NULL;
	}
	if (a->fd >= 0) {
		val_loop_unwatch(l, a->fd);
		close(a->fd);
		a->fd = -1;
	}
	ERR_clear_error();
}

static void
al01_cancel(struct val_job *j)
{
	struct al01 *a = j->state;

	if (a == NULL)
		return;
	if (a->resolving)
		val_dns_addrs_cancel(&a->aq);
	al01_close(a);
	free(a);
	j->state = NULL;
}

static void
al01_fail(struct al01 *a, enum acme_prob type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
al01_fail(struct al01 *a, enum acme_prob type, const char *fmt, ...)
{
	struct acme_problem p;
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	memset(&p, 0, sizeof(p));
	if (a->where[0] != '\0')
		acme_problem_set(&p, type, "%s: %s", a->where, what);
	else
		acme_problem_set(&p, type, "%s: %s", a->job->item.ident, what);
	val_job_finish(a->job, &p);
}

static void
al01_overrun(struct val_job *j, struct acme_problem *p)
{
	struct al01 *a = j->state;

	if (a != NULL && a->resolving)
		acme_problem_set(p, PROB_DNS, "DNS problem: query timed out looking up %s",
		    a->aq.name);
	else
		acme_problem_set(p, PROB_CONNECTION, "%s: Timeout during the tls-alpn-01 "
		    "validation", a && a->where[0] ? a->where : j->item.ident);
}

/* ------------------------------------------------------------------ */
/* The certificate                                                        */

static int
cert_fail(struct acme_problem *p, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cert_fail(struct acme_problem *p, const char *where, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	acme_problem_set(p, PROB_UNAUTHORIZED, "%s: Incorrect validation certificate for "
	    "tls-alpn-01 challenge: %s", where, what);
	return -1;
}

/* The one SAN, which must be the identifier. */
static int
cert_check_san(X509 *leaf, const struct acme_val_item *it, const char *where,
    struct acme_problem *p)
{
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *g;
	const unsigned char *v;
	struct acme_ip ip;
	char got[300];
	int crit = -1, n, len, rc = -1;

	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		rc = cert_fail(p, where, crit == -2 ? "more than one subjectAltName extension" :
		    "no subjectAltName extension");
		goto out;
	}
	if ((n = sk_GENERAL_NAME_num(gens)) != 1) {
		rc = cert_fail(p, where, "the subjectAltName must hold exactly one name (for %s), "
		    "it holds %d", it->ident, n);
		goto out;
	}
	g = sk_GENERAL_NAME_value(gens, 0);
	if (it->ident_type == STORE_IDENT_IP) {
		if (acme_ip_parse(it->ident, &ip) != 0) {
			rc = cert_fail(p, where, "bad identifier");
			goto out;
		}
		if (g->type != GEN_IPADD) {
			rc = cert_fail(p, where, "the subjectAltName must be the iPAddress %s",
			    it->ident);
			goto out;
		}
		len = ASN1_STRING_length(g->d.iPAddress);
		v = ASN1_STRING_get0_data(g->d.iPAddress);
		if (len != (ip.family == AF_INET ? 4 : 16) ||
		    memcmp(v, ip.b, (size_t)len) != 0) {
			rc = cert_fail(p, where, "the subjectAltName iPAddress is not %s", it->ident);
			goto out;
		}
	} else {
		if (g->type != GEN_DNS) {
			rc = cert_fail(p, where, "the subjectAltName must be the dNSName %s",
			    it->ident);
			goto out;
		}
		len = ASN1_STRING_length(g->d.dNSName);
		v = ASN1_STRING_get0_data(g->d.dNSName);
		if ((size_t)len != strlen(it->ident) ||
		    strncasecmp((const char *)v, it->ident, (size_t)len) != 0) {
			val_escape(got, sizeof(got), v, (size_t)len, 64);
			rc = cert_fail(p, where, "the subjectAltName is \"%s\", not %s", got,
			    it->ident);
			goto out;
		}
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

int
val_tlsalpn01_check_cert(X509 *leaf, const struct acme_val_item *it, const char *where,
    struct acme_problem *p)
{
	static const unsigned char der_prefix[2] = { 0x04, 0x20 };   /* OCTET STRING, 32 */
	ASN1_OBJECT *oid = NULL;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *val;
	unsigned char digest[32];
	int i, k, n, idx, rc = -1;

	if (leaf == NULL)
		return cert_fail(p, where, "no certificate");
	/* Every extension at most once (AL-10). */
	n = X509_get_ext_count(leaf);
	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			if (OBJ_cmp(X509_EXTENSION_get_object(X509_get_ext(leaf, i)),
			    X509_EXTENSION_get_object(X509_get_ext(leaf, k))) == 0)
				return cert_fail(p, where, "an extension appears more than once");
	if (cert_check_san(leaf, it, where, p) != 0)
		return -1;
	if ((oid = OBJ_txt2obj(OID_ACME_IDENTIFIER, 1)) == NULL) {
		acme_log_ssl("tls-alpn-01: OBJ_txt2obj");
		acme_problem_set(p, PROB_SERVER_INTERNAL, "cannot check the certificate");
		goto out;
	}
	if ((idx = X509_get_ext_by_OBJ(leaf, oid, -1)) < 0) {
		rc = cert_fail(p, where, "no acmeIdentifier extension");
		goto out;
	}
	ext = X509_get_ext(leaf, idx);
	if (X509_EXTENSION_get_critical(ext) != 1) {
		rc = cert_fail(p, where, "the acmeIdentifier extension is not critical");
		goto out;
	}
	/* extnValue holds the DER of an OCTET STRING of exactly 32 bytes,
	 * nothing before or after it. */
	val = X509_EXTENSION_get_data(ext);
	if (ASN1_STRING_length(val) != 34 ||
	    memcmp(ASN1_STRING_get0_data(val), der_prefix, 2) != 0) {
		rc = cert_fail(p, where, "the acmeIdentifier extension is not a DER OCTET STRING "
		    "of 32 bytes");
		goto out;
	}
	if (EVP_Digest(it->keyauth, strlen(it->keyauth), digest, NULL, EVP_sha256(), NULL) != 1) {
		acme_log_ssl("tls-alpn-01: SHA-256");
		acme_problem_set(p, PROB_SERVER_INTERNAL, "cannot check the certificate");
		goto out;
	}
	if (CRYPTO_memcmp(ASN1_STRING_get0_data(val) + 2, digest, 32) != 0) {
		rc = cert_fail(p, where, "the acmeIdentifier extension does not hold "
		    "SHA-256 of the key authorization");
		goto out;
	}
	rc = 0;
out:
	ASN1_OBJECT_free(oid);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The connection                                                         */

static void
al01_finish_handshake(struct al01 *a)
{
	struct acme_problem p;
	const unsigned char *proto = NULL;
	unsigned int plen = 0;
	char got[64];

	SSL_get0_alpn_selected(a->ssl, &proto, &plen);
	if (plen != sizeof(ACME_TLS_1) - 1 || memcmp(proto, ACME_TLS_1, plen) != 0) {
		val_escape(got, sizeof(got), proto, plen, 32);
		al01_fail(a, PROB_UNAUTHORIZED, "Cannot negotiate ALPN protocol \"" ACME_TLS_1
		    "\" for tls-alpn-01 challenge (server chose %s%s%s)", plen ? "\"" : "",
		    plen ? got : "none", plen ? "\"" : "");
		return;
	}
	memset(&p, 0, sizeof(p));
	if (val_tlsalpn01_check_cert(SSL_get0_peer_certificate(a->ssl), &a->job->item, a->where,
	    &p) != 0) {
		val_job_finish(a->job, &p);
		return;
	}
	/* No application data: close_notify and go (AL-09). */
	ERR_clear_error();
	SSL_shutdown(a->ssl);
	val_job_finish(a->job, NULL);
}

static void al01_step(void *arg, int fd, short revents);

static void
al01_handshake(struct al01 *a)
{
	unsigned long e;
	int r, err;
	char buf[160];

	ERR_clear_error();
	r = SSL_connect(a->ssl);
	if (r == 1) {
		val_loop_unwatch(val_job_loop(a->job), a->fd);
		al01_finish_handshake(a);
		return;
	}
	err = SSL_get_error(a->ssl, r);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		val_loop_watch(val_job_loop(a->job), a->fd, POLLIN, al01_step, a);
		return;
	case SSL_ERROR_WANT_WRITE:
		val_loop_watch(val_job_loop(a->job), a->fd, POLLOUT, al01_step, a);
		return;
	case SSL_ERROR_SSL:
		e = ERR_peek_last_error();
		ERR_error_string_n(e, buf, sizeof(buf));
		al01_fail(a, PROB_TLS, "TLS handshake failed: %s",
		    ERR_reason_error_string(e) ? ERR_reason_error_string(e) : buf);
		return;
	case SSL_ERROR_ZERO_RETURN:
		al01_fail(a, PROB_CONNECTION, "The server closed the connection during the TLS "
		    "handshake");
		return;
	default:
		al01_fail(a, PROB_CONNECTION, "Connection failed during the TLS handshake: %s",
		    errno != 0 ? strerror(errno) : "end of stream");
		return;
	}
}

static void
al01_timeout(void *arg)
{
	struct al01 *a = arg;

	if (a->phase == AL_CONNECT && a->cur + 1 < a->ncand) {
		al01_close(a);
		a->cur++;
		al01_connect(a);
		return;
	}
	al01_fail(a, PROB_CONNECTION, a->phase == AL_CONNECT ?
	    "Timeout during connect (likely firewall problem)" :
	    "Timeout during the TLS handshake");
}

static void
al01_start_tls(struct al01 *a)
{
	struct val_job *j = a->job;

	a->phase = AL_HANDSHAKE;
	val_timer_arm(val_job_loop(j), &a->timer, val_job_left(j), al01_timeout, a);
	ERR_clear_error();
	if ((a->ssl = SSL_new(val_job_tls(j))) == NULL || SSL_set_fd(a->ssl, a->fd) != 1 ||
	    SSL_set_tlsext_host_name(a->ssl, a->sni) != 1) {
		acme_log_ssl("tls-alpn-01: SSL set-up");
		al01_fail(a, PROB_SERVER_INTERNAL, "cannot set up TLS");
		return;
	}
	SSL_set_connect_state(a->ssl);
	al01_handshake(a);
}

/* A connection attempt failed: the next address, or the end. */
static void
al01_conn_failed(struct al01 *a, int err)
{
	if (a->cur + 1 < a->ncand) {
		log_debug("tls-alpn-01 %s: %s: %s, trying the next address", a->job->item.ident,
		    a->where, strerror(err));
		al01_close(a);
		a->cur++;
		al01_connect(a);
		return;
	}
	al01_fail(a, PROB_CONNECTION, "Connection failed: %s", strerror(err));
}

static void
al01_step(void *arg, int fd, short revents)
{
	struct al01 *a = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)revents;
	if (a->phase == AL_HANDSHAKE) {
		al01_handshake(a);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		al01_conn_failed(a, err);
		return;
	}
	al01_start_tls(a);
}

static void
al01_connect(struct al01 *a)
{
	struct val_job *j = a->job;
	const struct acme_ip *ip = &a->cand[a->cur];
	struct sockaddr_storage ss;
	socklen_t sl;
	char s[ACME_IP_STRLEN];

	acme_ip_str(ip, s);
	snprintf(a->where, sizeof(a->where), ip->family == AF_INET6 ? "[%s]:%d" : "%s:%d", s,
	    j->opts.tls_port);
	/* The only connect: to an address that passed the policy just now. */
	if (!acme_ip_allowed(ip, j->opts.allow_private)) {
		al01_fail(a, PROB_CONNECTION, "refusing to connect to a %s address",
		    acme_addr_class_name(acme_ip_class(ip)));
		return;
	}
	a->phase = AL_CONNECT;
	a->fd = socket(ip->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		log_err("tls-alpn-01: socket: %s", strerror(errno));
		al01_fail(a, PROB_SERVER_INTERNAL, "cannot open a socket");
		return;
	}
	acme_ip_to_sockaddr(ip, j->opts.tls_port, &ss, &sl);
	if (connect(a->fd, (struct sockaddr *)&ss, sl) == 0) {
		al01_start_tls(a);
		return;
	}
	if (errno != EINPROGRESS) {
		al01_conn_failed(a, errno);
		return;
	}
	if (val_loop_watch(val_job_loop(j), a->fd, POLLOUT, al01_step, a) != ACME_OK) {
		al01_fail(a, PROB_SERVER_INTERNAL, "out of memory");
		return;
	}
	val_timer_arm(val_job_loop(j), &a->timer,
	    j->opts.connect_ms < val_job_left(j) ? j->opts.connect_ms : val_job_left(j),
	    al01_timeout, a);
}

static void
al01_resolved(struct val_addrq *aq)
{
	struct al01 *a = (struct al01 *)(void *)((char *)aq - offsetof(struct al01, aq));
	struct acme_problem p;
	char list[200];

	a->resolving = 0;
	if (aq->n == 0) {
		memset(&p, 0, sizeof(p));
		val_dns_addrs_problem(aq, &p);
		val_job_finish(a->job, &p);
		return;
	}
	a->ncand = val_dns_addrs_pick(aq, a->job->opts.allow_private, a->cand, list,
	    sizeof(list));
	if (a->ncand == 0) {
		al01_fail(a, PROB_CONNECTION, "no address this CA may connect to: %s", list);
		return;
	}
	al01_connect(a);
}

static void
al01_start(struct val_job *j)
{
	struct al01 *a = j->state;
	int t;

	if (j->item.ident_type == STORE_IDENT_IP) {
		al01_connect(a);
		return;
	}
	a->phase = AL_RESOLVE;
	a->resolving = 1;
	t = j->opts.dns_ms < val_job_left(j) ? j->opts.dns_ms : val_job_left(j);
	if (val_dns_addrs(val_job_dns(j), &a->aq, j->item.ident, t, al01_resolved) != ACME_OK) {
		a->resolving = 0;
		al01_fail(a, PROB_SERVER_INTERNAL, "cannot start the DNS lookup");
	}
}

enum acme_err
val_tlsalpn01_init(struct val_job *j)
{
	const struct acme_val_item *it = &j->item;
	struct al01 *a;
	struct acme_ip ip;

	if (it->wildcard)
		return ACME_EINVAL;
	if (it->ident_type == STORE_IDENT_IP) {
		if (acme_ip_parse(it->ident, &ip) != 0)
			return ACME_EINVAL;
	} else if (it->ident_type != STORE_IDENT_DNS || strlen(it->ident) > 253) {
		return ACME_EINVAL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ACME_ENOMEM;
	a->job = j;
	a->fd = -1;
	j->state = a;
	j->start = al01_start;
	j->cancel = al01_cancel;
	j->overrun = al01_overrun;
	if (it->ident_type == STORE_IDENT_IP) {
		a->cand[0] = ip;
		a->ncand = 1;
		acme_ip_revname(&ip, a->sni);
	} else {
		snprintf(a->sni, sizeof(a->sni), "%s", it->ident);
	}
	return ACME_OK;
}
