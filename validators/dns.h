/*
 * The validation resolver: libunbound in asynchronous mode on the validator's
 * loop. Every name the validator looks up (A/AAAA for http-01 and
 * tls-alpn-01, redirect targets, TXT for dns-01) goes through here, never
 * through the system's getaddrinfo().
 *
 * With a configured resolver ("ip:port", test mode or an internal resolver)
 * every query is forwarded there; otherwise the servers in /etc/resolv.conf
 * are used, plus /etc/hosts. With a trust anchor (dnssec_trust_anchor)
 * libunbound validates every answer itself, forwarded or not: a bogus one
 * is VAL_DNS_BOGUS, never data; names outside the anchors' zones stay
 * insecure and are answered as before. Names under "localhost." answer loopback
 * (RFC 6761, libunbound's default local zone). Answers are not cached past a
 * second, so a corrected record is seen on the next attempt (DN-09).
 */
#ifndef VAL_DNS_H
#define VAL_DNS_H

#include <stddef.h>

#include "core/err.h"
#include "core/problem.h"
#include "core/ipaddr.h"
#include "validators/loop.h"

struct val_dns;

enum val_dns_status {
	VAL_DNS_OK = 0,        /* an answer with data */
	VAL_DNS_NODATA,        /* the name exists, no record of that type */
	VAL_DNS_NXDOMAIN,
	VAL_DNS_RCODE,         /* SERVFAIL, REFUSED, ...: see rcode */
	VAL_DNS_BOGUS,         /* DNSSEC validation failed: see why */
	VAL_DNS_TIMEOUT,       /* no answer within the query's time limit */
	VAL_DNS_ERROR,         /* the resolver itself failed: see why */
};

/* A finished query; valid only during the done callback. */
struct val_dns_res {
	enum val_dns_status status;
	int rcode;
	const char *why;               /* NULL or a text for BOGUS and ERROR */
	size_t n;                      /* records of the asked type (after CNAMEs) */
	char *const *data;             /* rdata in wire form */
	const int *len;
};

/* One query in flight; lives in its owner's struct. */
struct val_dnsq {
	void (*done)(struct val_dnsq *q, const struct val_dns_res *r);
	/* private */
	struct val_dns *dns;
	int id;
	int busy;
	struct val_timer timer;
};

/*
 * A resolver on loop l. resolver is "ip:port" ("[v6]:port"), or NULL for the
 * system's. Caller frees with val_dns_free(), which cancels every query
 * without calling its callback.
 */
enum acme_err val_dns_new(struct val_loop *l, const char *resolver, struct val_dns **out);
void val_dns_free(struct val_dns *d);

/*
 * Validate every answer of d with DNSSEC from the trust anchors (DS or
 * DNSKEY records, zone-file format) in the file at path, which libunbound
 * reads at the first query. Call before the first query. ACME_ECONFIG
 * (logged) when the file cannot be read.
 */
enum acme_err val_dns_trust_anchor(struct val_dns *d, const char *path);

/*
 * Look up name (no trailing dot needed) of rrtype (1 A, 28 AAAA, 16 TXT) with
 * a time limit. q->done is called once, later, from the loop; never from
 * inside this call. q must stay valid until then or val_dns_cancel(q).
 */
enum acme_err val_dns_query(struct val_dns *d, struct val_dnsq *q, const char *name,
    int rrtype, int timeout_ms, void (*done)(struct val_dnsq *, const struct val_dns_res *));
/* Cancel q if in flight; its callback is not called. */
void val_dns_cancel(struct val_dnsq *q);

/* "NXDOMAIN", "SERVFAIL", "timeout", ... for error details. */
const char *val_dns_status_text(const struct val_dns_res *r, char *buf, size_t cap);

#define VAL_DNS_MAXADDR 8

/*
 * A and AAAA for one name at once. done runs when both have finished; the
 * addresses found are in ip[] (IPv6 first, each family in answer order).
 */
struct val_addrq {
	void (*done)(struct val_addrq *aq);
	size_t n;
	struct acme_ip ip[2 * VAL_DNS_MAXADDR];
	char name[256];
	/* private: the outcome of each query for the error detail */
	struct val_dnsq q4, q6;
	int pending;
	enum val_dns_status st4, st6;
	char why4[160], why6[160];
};

enum acme_err val_dns_addrs(struct val_dns *d, struct val_addrq *aq, const char *name,
    int timeout_ms, void (*done)(struct val_addrq *));
void val_dns_addrs_cancel(struct val_addrq *aq);

/*
 * The addresses to try, in order: the first IPv6 and the first IPv4 address
 * the policy allows (HT-02). Returns how many (0..2); the refused ones are
 * listed in refused ("ip (class), ...") for the detail.
 */
size_t val_dns_addrs_pick(const struct val_addrq *aq, int allow_private, struct acme_ip cand[2],
    char *refused, size_t cap);

/* When aq->n is 0: fill p with a dns problem saying why no address was found. */
void val_dns_addrs_problem(const struct val_addrq *aq, struct acme_problem *p);

/*
 * What val_dns_addrs() makes of its two answers, without a resolver: aq is
 * reset for name, then r6 (AAAA) and r4 (A) are recorded as if both queries
 * had just finished (only rdata of an address's length is kept, IPv6
 * first). aq->done is not called. For tests and fuzz harnesses, which feed
 * it answers of their own.
 */
void val_dns_addrs_record(struct val_addrq *aq, const char *name, const struct val_dns_res *r4,
    const struct val_dns_res *r6);

#endif
