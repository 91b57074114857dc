/*
 * CAA (validators/caa.c): the rdata of each record, the issue/issuewild
 * value grammar with RFC 8657's accounturi and validationmethods, and the
 * decision on a whole RRset for the requests caacheck.c makes.
 *
 * Input: a flags byte (bit 0 wildcard, bits 1-2 the validation method,
 * bit 3 no account URL, bit 4 no CA identities), then records, each a
 * 16-bit length and its rdata.
 */
#include <stdlib.h>
#include <string.h>

#include "validators/caa.h"
#include "validators/val.h"
#include "tests/fuzz/fuzzlib.h"

#define MAXREC 32

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

static void
one_record(const unsigned char *p, size_t len)
{
	struct val_caa_rr r;
	struct val_caa_issue is;
	enum val_caa_perr e;
	size_t i;

	e = val_caa_parse_rr(p, len, &r);
	FZ_CHECK(val_caa_strerror(e) != NULL);
	if (e != VAL_CAA_OK)
		return;
	FZ_CHECK(r.tag == p + 2 && r.tag_len >= 1 && r.tag + r.tag_len == r.value);
	FZ_CHECK(r.value + r.value_len == p + len);
	for (i = 0; i < r.tag_len; i++)
		FZ_CHECK((r.tag[i] >= 'a' && r.tag[i] <= 'z') || (r.tag[i] >= 'A' && r.tag[i] <= 'Z') ||
		    (r.tag[i] >= '0' && r.tag[i] <= '9'));
	e = val_caa_parse_issue(r.value, r.value_len, &is);
	FZ_CHECK(e == VAL_CAA_OK || e == VAL_CAA_EISSUER || e == VAL_CAA_EPARAM);
	FZ_CHECK(strlen(is.issuer) <= VAL_CAA_ISSUER_MAX);
	if (is.n_accounturi > 0)
		FZ_CHECK(is.accounturi >= r.value &&
		    is.accounturi + is.accounturi_len <= r.value + r.value_len);
	if (is.n_methods > 0)
		FZ_CHECK(is.methods >= r.value && is.methods + is.methods_len <= r.value + r.value_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = { "acme.fuzz.test", "ca.example" };
	static const char *const methods[] = { "http-01", "dns-01", "tls-alpn-01", NULL };
	struct fz_in in = { data, size };
	struct val_caa_rdata rr[MAXREC];
	struct val_caa_req req;
	enum val_caa_verdict v, v2;
	unsigned char *copy[MAXREC];
	char why[400], *tiny;
	uint8_t flags = fz_byte(&in);
	size_t n = 0, len, i;

	while (in.n > 0 && n < MAXREC) {
		len = fz_u16(&in);
		if (len > in.n)
			len = in.n;
		copy[n] = (unsigned char *)fz_strndup(in.p, len);
		rr[n].p = copy[n];
		rr[n].len = len;
		one_record(copy[n], len);
		in.p += len;
		in.n -= len;
		n++;
	}
	memset(&req, 0, sizeof(req));
	req.wildcard = flags & 1;
	req.method = methods[(flags >> 1) & 3];
	req.acct_url = (flags & 8) ? NULL : FZ_BASE_URL "/acme/default/acct/AAAAAAAAAAAAAAAAAAAAAA";
	req.issuer = (flags & 16) ? NULL : ids;
	req.nissuer = (flags & 16) ? 0 : 2;

	v = val_caa_eval(rr, n, &req, why, sizeof(why));
	FZ_CHECK(v == VAL_CAA_PERMIT || v == VAL_CAA_FORBID);
	FZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
	FZ_CHECK(v == VAL_CAA_PERMIT ? why[0] == '\0' : why[0] != '\0');
	/* The same verdict with a detail buffer too small. */
	tiny = malloc(5);
	FZ_CHECK(tiny != NULL);
	v2 = val_caa_eval(rr, n, &req, tiny, 5);
	FZ_CHECK(v2 == v && memchr(tiny, '\0', 5) != NULL);
	free(tiny);
	/* Without any record: issuance allowed. */
	FZ_CHECK(val_caa_eval(rr, 0, &req, why, sizeof(why)) == VAL_CAA_PERMIT);
	for (i = 0; i < n; i++)
		free(copy[i]);
	return 0;
}
