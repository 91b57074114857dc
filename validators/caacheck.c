/*
 * The CAA check of one DNS identifier before issuance (RFC 8659 section 3,
 * RFC 8657; conformance CAA-01..04, CAA-15, IP-09): CAA is looked up at the
 * name, then at each parent with the leftmost label removed, up to and
 * including the TLD but never the root, and the first non-empty RRset
 * decides (val_caa_eval()). Our resolver follows CNAME and DNAME chains
 * for each query, with libunbound's own bound on their length.
 *
 * NXDOMAIN and NODATA are an empty RRset: the climb goes on. Any other
 * outcome (SERVFAIL, REFUSED, timeout, a DNSSEC failure) is a dns problem:
 * a failed lookup never lets issuance through (CAA-04).
 *
 * Runs as the second phase of a challenge's validation (when the challenge
 * passed and the directory checks CAA), or alone for a re-check of a valid
 * authorization (ACME_VAL_CAA), with a time budget of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "validators/caa.h"
#include "validators/dns.h"
#include "validators/val.h"

struct caa {
	struct val_job *job;
	struct val_dnsq q;
	char name[256];                /* the identifier: lowercase, no "*.", no final dot */
	size_t at;                     /* offset in name of the name queried now */
};

static void caa_query(struct caa *c);

static void
caa_cancel(struct val_job *j)
{
	struct caa *c = j->state;

	if (c == NULL)
		return;
	val_dns_cancel(&c->q);
	free(c);
	j->state = NULL;
}

static void
caa_overrun(struct val_job *j, struct acme_problem *p)
{
	struct caa *c = j->state;

	acme_problem_set(p, PROB_DNS, "DNS problem: query timed out looking up CAA for %s; "
	    "issuance needs a CAA answer", c ? c->name + c->at : val_job_ident(j));
}

/* The identifier as the certificate names it, for details. */
static void
caa_subject(const struct val_job *j, char *out, size_t cap)
{
	const struct caa *c = j->state;

	snprintf(out, cap, "%s%s", j->item.wildcard ? "*." : "", c->name);
}

static void
caa_evaluate(struct caa *c, const struct val_dns_res *r)
{
	struct val_job *j = c->job;
	struct val_caa_rdata *rr = NULL;
	struct val_caa_req req;
	struct acme_problem p;
	char why[400], subj[300];
	size_t i;

	memset(&p, 0, sizeof(p));
	if ((rr = calloc(r->n, sizeof(*rr))) == NULL) {
		acme_problem_set(&p, PROB_SERVER_INTERNAL, "out of memory checking CAA");
		goto out;
	}
	for (i = 0; i < r->n; i++) {
		rr[i].p = (const unsigned char *)r->data[i];
		rr[i].len = r->len[i] > 0 ? (size_t)r->len[i] : 0;
	}
	memset(&req, 0, sizeof(req));
	req.wildcard = j->item.wildcard;
	req.issuer = (const char *const *)j->caa_ids;
	req.nissuer = j->ncaa_ids;
	req.acct_url = j->item.acct_url[0] != '\0' ? j->item.acct_url : NULL;
	req.method = val_chall_name(j->item.method != 0 ? j->item.method : j->item.type);
	if (val_caa_eval(rr, r->n, &req, why, sizeof(why)) == VAL_CAA_PERMIT) {
		free(rr);
		val_job_finish(j, NULL);
		return;
	}
	caa_subject(j, subj, sizeof(subj));
	acme_problem_set(&p, PROB_CAA, "CAA record for %s prevents issuance for %s: %s",
	    c->name + c->at, subj, why);
out:
	free(rr);
	val_job_finish(j, &p);
}

static void
caa_done(struct val_dnsq *q, const struct val_dns_res *r)
{
	struct caa *c = (struct caa *)(void *)((char *)q - offsetof(struct caa, q));
	struct acme_problem p;
	const char *dot;
	char buf[256];

	switch (r->status) {
	case VAL_DNS_OK:
		if (r->n > 0) {
			caa_evaluate(c, r);
			return;
		}
		/* FALLTHROUGH */
	case VAL_DNS_NODATA:
	case VAL_DNS_NXDOMAIN:
		/* Empty here: on to the parent, unless this was the TLD. */
		if ((dot = strchr(c->name + c->at, '.')) == NULL) {
			val_job_finish(c->job, NULL);
			return;
		}
		c->at = (size_t)(dot - c->name) + 1;
		caa_query(c);
		return;
	default:
		memset(&p, 0, sizeof(p));
		acme_problem_set(&p, PROB_DNS, "DNS problem: %s looking up CAA for %s; issuance "
		    "needs a CAA answer", val_dns_status_text(r, buf, sizeof(buf)), c->name + c->at);
		val_job_finish(c->job, &p);
		return;
	}
}

static void
caa_query(struct caa *c)
{
	struct val_job *j = c->job;
	struct acme_problem p;
	int t = j->opts.dns_ms < val_job_left(j) ? j->opts.dns_ms : val_job_left(j);

	if (val_dns_query(val_job_dns(j), &c->q, c->name + c->at, VAL_CAA_RRTYPE, t,
	    caa_done) != ACME_OK) {
		memset(&p, 0, sizeof(p));
		acme_problem_set(&p, PROB_SERVER_INTERNAL, "cannot start the CAA lookup");
		val_job_finish(j, &p);
	}
}

static void
caa_start(struct val_job *j)
{
	caa_query(j->state);
}

/* CAA covers domain names only (IP-09): nothing to look up. */
static void
caa_start_ip(struct val_job *j)
{
	val_job_finish(j, NULL);
}

enum acme_err
val_caa_init(struct val_job *j)
{
	const struct acme_val_item *it = &j->item;
	const char *name = it->ident;
	struct caa *c;
	size_t n, i;

	if (it->ident_type != STORE_IDENT_DNS) {
		j->state = NULL;
		j->start = caa_start_ip;
		j->cancel = NULL;
		j->overrun = NULL;
		return ACME_OK;
	}
	/* The item holds the base name for a wildcard already. */
	if (strncmp(name, "*.", 2) == 0)
		name += 2;
	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(c->name))
		return ACME_EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ACME_ENOMEM;
	for (i = 0; i < n; i++)
		c->name[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	c->name[n] = '\0';
	c->job = j;
	j->state = c;
	j->start = caa_start;
	j->cancel = caa_cancel;
	j->overrun = caa_overrun;
	return ACME_OK;
}
