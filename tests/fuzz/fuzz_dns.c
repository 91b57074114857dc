/*
 * What the validator does with DNS answers (validators/dns.c, dns01.c):
 * the A and AAAA answers of an address lookup (only rdata of an address's
 * length kept, IPv6 first, then the address policy picks what to connect
 * to, or the problem says why there is nothing), the status texts that go
 * into error details, and dns-01 TXT rdata joined from its
 * character-strings and compared as d01_done does.
 *
 * Input: a flags byte (bits 0-2 the A status, 3-5 the AAAA status, 6
 * allow_private), an rcode byte, the resolver's "why" text up to '\n', then
 * records: a kind byte (0 A, 1 AAAA, else TXT), a 16-bit length, rdata.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/problem.h"
#include "core/validation.h"
#include "validators/dns.h"
#include "validators/val.h"
#include "tests/fuzz/fuzzlib.h"

#define MAXREC 64
#define KEYAUTH "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"

/* The TXT value dns-01 expects for KEYAUTH. */
static char want[44];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	acme_val_dns01_digest(KEYAUTH, want);
	return 0;
}

struct answer {
	char *data[MAXREC + 1];
	int len[MAXREC + 1];
	size_t n;
};

static void
res_of(struct val_dns_res *r, struct answer *a, unsigned status, int rcode, const char *why)
{
	memset(r, 0, sizeof(*r));
	r->status = (enum val_dns_status)(status % 7);
	r->rcode = rcode;
	r->why = why;
	/* As dns_cb hands them over: data only with an answer. */
	r->n = r->status == VAL_DNS_OK ? a->n : 0;
	r->data = a->data;
	r->len = a->len;
}

static void
status_text(const struct val_dns_res *r)
{
	char small[8], buf[128];
	const char *t;

	t = val_dns_status_text(r, buf, sizeof(buf));
	FZ_CHECK(t != NULL && strlen(t) < 128);
	t = val_dns_status_text(r, small, sizeof(small));
	FZ_CHECK(t != NULL);
}

static void
addresses(const struct val_dns_res *r4, const struct val_dns_res *r6, int allow_private)
{
	struct val_addrq aq;
	struct acme_ip cand[2];
	struct acme_problem p;
	char *refused;
	size_t i, n, caps[3] = { 200, 16, 1 }, c;
	int seen4 = 0;

	val_dns_addrs_record(&aq, "fuzz.example", r4, r6);
	FZ_CHECK(aq.n <= 2 * VAL_DNS_MAXADDR);
	for (i = 0; i < aq.n; i++) {
		FZ_CHECK(aq.ip[i].family == AF_INET || aq.ip[i].family == AF_INET6);
		if (aq.ip[i].family == AF_INET)
			seen4 = 1;
		else
			FZ_CHECK(!seen4);   /* IPv6 first */
	}
	for (c = 0; c < 3; c++) {
		refused = malloc(caps[c]);
		FZ_CHECK(refused != NULL);
		n = val_dns_addrs_pick(&aq, allow_private, cand, refused, caps[c]);
		FZ_CHECK(n <= 2 && memchr(refused, '\0', caps[c]) != NULL);
		for (i = 0; i < n; i++)
			FZ_CHECK(acme_ip_allowed(&cand[i], allow_private));
		if (n == 2)
			FZ_CHECK(cand[0].family == AF_INET6 && cand[1].family == AF_INET);
		free(refused);
	}
	if (aq.n == 0) {
		memset(&p, 0, sizeof(p));
		val_dns_addrs_problem(&aq, &p);
		FZ_CHECK(p.type == PROB_DNS && p.detail[0] != '\0');
		acme_problem_clear(&p);
	}
}

/* d01_done's loop over the TXT records, against a fixed expected value. */
static void
txt(const struct answer *a)
{
	char txt[4096], first[100 * 4 + 8], *small;
	size_t i, caps[4] = { 1, 2, 44, 300 }, c;
	int n, m;

	for (i = 0; i < a->n; i++) {
		n = val_dns01_txt_join((const unsigned char *)a->data[i], (size_t)a->len[i], txt,
		    sizeof(txt));
		FZ_CHECK(n >= -1 && n < (int)sizeof(txt));
		if (n >= 0) {
			FZ_CHECK(txt[n] == '\0' && n <= a->len[i]);
			/* d01_done: a match passes, else the first value is quoted. */
			if (n != 43 || memcmp(txt, want, 43) != 0) {
				val_escape(first, sizeof(first), txt, (size_t)n, 100);
				FZ_CHECK(strlen(first) < sizeof(first));
			}
		}
		for (c = 0; c < 4; c++) {
			small = malloc(caps[c]);
			FZ_CHECK(small != NULL);
			m = val_dns01_txt_join((const unsigned char *)a->data[i], (size_t)a->len[i],
			    small, caps[c]);
			/* The same answer whenever it fits. */
			FZ_CHECK(m == -1 || (m == n && (size_t)m < caps[c] &&
			    memcmp(small, txt, (size_t)m + 1) == 0));
			if (n >= 0 && (size_t)n < caps[c])
				FZ_CHECK(m == n);
			free(small);
		}
	}
	FZ_CHECK(val_dns01_txt_join((const unsigned char *)"", 0, txt, 0) == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct answer a4, a6, at, *a;
	struct val_dns_res r4, r6;
	uint8_t flags = fz_byte(&in), kind;
	int rcode = fz_byte(&in);
	char *why = fz_field(&in, '\n', NULL);
	size_t len, i;

	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	memset(&at, 0, sizeof(at));
	while (in.n > 0) {
		kind = fz_byte(&in);
		len = fz_u16(&in);
		if (len > in.n)
			len = in.n;
		a = kind == 0 ? &a4 : kind == 1 ? &a6 : &at;
		if (a->n == MAXREC)
			break;
		/* Each rdata in a buffer of its own size: ASan sees any overread. */
		a->data[a->n] = fz_strndup(in.p, len);
		a->len[a->n++] = (int)len;
		in.p += len;
		in.n -= len;
	}
	res_of(&r4, &a4, flags & 7, rcode, why);
	res_of(&r6, &a6, (flags >> 3) & 7, rcode, why);
	status_text(&r4);
	status_text(&r6);
	addresses(&r4, &r6, (flags >> 6) & 1);
	txt(&at);
	for (i = 0; i < MAXREC; i++) {
		free(a4.data[i]);
		free(a6.data[i]);
		free(at.data[i]);
	}
	free(why);
	return 0;
}
