/*
 * dns-01 (RFC 8555 section 8.4, conformance DN-01..09): a TXT lookup at
 * _acme-challenge.<name> (the base name for a wildcard) through our
 * resolver, which follows CNAMEs with a bound. Some record, its
 * character-strings joined, must equal base64url(SHA-256(keyAuthorization)),
 * compared exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store/store.h"
#include "validators/dns.h"
#include "validators/val.h"

#define RR_TXT 16
#define D01_QUOTE_MAX 100

struct d01 {
	struct val_job *job;
	struct val_dnsq q;
	char name[300];
	char want[44];
};

int
val_dns01_txt_join(const unsigned char *rdata, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0, n;

	if (cap == 0)
		return -1;
	while (i < len) {
		n = rdata[i++];
		if (n > len - i || n >= cap - o)
			return -1;
		memcpy(out + o, rdata + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return (int)o;
}

static void
d01_cancel(struct val_job *j)
{
	struct d01 *d = j->state;

	if (d == NULL)
		return;
	val_dns_cancel(&d->q);
	free(d);
	j->state = NULL;
}

static void
d01_overrun(struct val_job *j, struct acme_problem *p)
{
	struct d01 *d = j->state;

	acme_problem_set(p, PROB_DNS, "DNS problem: query timed out looking up TXT for %s",
	    d ? d->name : "?");
}

static void
d01_done(struct val_dnsq *q, const struct val_dns_res *r)
{
	struct d01 *d = (struct d01 *)(void *)((char *)q - offsetof(struct d01, q));
	struct acme_problem p;
	char txt[4096], first[D01_QUOTE_MAX * 4 + 8], buf[256];
	size_t i, bad = 0;
	int n;

	memset(&p, 0, sizeof(p));
	first[0] = '\0';
	switch (r->status) {
	case VAL_DNS_OK:
		break;
	case VAL_DNS_NXDOMAIN:
	case VAL_DNS_NODATA:
		acme_problem_set(&p, PROB_UNAUTHORIZED, "No TXT record found at %s", d->name);
		goto fail;
	default:
		acme_problem_set(&p, PROB_DNS, "DNS problem: %s looking up TXT for %s",
		    val_dns_status_text(r, buf, sizeof(buf)), d->name);
		goto fail;
	}
	for (i = 0; i < r->n; i++) {
		n = val_dns01_txt_join((const unsigned char *)r->data[i], (size_t)r->len[i], txt,
		    sizeof(txt));
		if (n == 43 && CRYPTO_memcmp(txt, d->want, 43) == 0) {
			val_job_finish(d->job, NULL);
			return;
		}
		if (bad++ == 0 && n >= 0)
			val_escape(first, sizeof(first), txt, (size_t)n, D01_QUOTE_MAX);
	}
	if (bad == 0)
		acme_problem_set(&p, PROB_UNAUTHORIZED, "No TXT record found at %s", d->name);
	else
		acme_problem_set(&p, PROB_UNAUTHORIZED, "Incorrect TXT record \"%s\"%s found at %s",
		    first, bad > 1 ? " (and others)" : "", d->name);
fail:
	val_job_finish(d->job, &p);
}

static void
d01_start(struct val_job *j)
{
	struct d01 *d = j->state;
	struct acme_problem p;
	int t = j->opts.dns_ms < val_job_left(j) ? j->opts.dns_ms : val_job_left(j);

	if (val_dns_query(val_job_dns(j), &d->q, d->name, RR_TXT, t, d01_done) != ACME_OK) {
		memset(&p, 0, sizeof(p));
		acme_problem_set(&p, PROB_SERVER_INTERNAL, "cannot start the DNS lookup");
		val_job_finish(j, &p);
	}
}

enum acme_err
val_dns01_init(struct val_job *j)
{
	const struct acme_val_item *it = &j->item;
	struct d01 *d;
	int n;

	if (it->ident_type != STORE_IDENT_DNS)
		return ACME_EINVAL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ACME_ENOMEM;
	j->state = d;
	j->start = d01_start;
	j->cancel = d01_cancel;
	j->overrun = d01_overrun;
	d->job = j;
	/* The item holds the base name for a wildcard already; a leading "*."
	 * is dropped in case it does not. */
	n = snprintf(d->name, sizeof(d->name), "_acme-challenge.%s",
	    strncmp(it->ident, "*.", 2) == 0 ? it->ident + 2 : it->ident);
	if (n < 0 || (size_t)n >= sizeof(d->name))
		return ACME_EINVAL;
	acme_val_dns01_digest(it->keyauth, d->want);
	return ACME_OK;
}
