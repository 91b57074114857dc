/*
 * CAA records: parsing (RFC 8659 sections 4.1 and 4.2, RFC 8657) and the
 * decision on one RRset. See caa.h; conformance rows CAA-05..12 and CAA-16.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "validators/caa.h"
#include "validators/val.h"

#define CAA_QUOTE_MAX  60      /* bytes of a record quoted in a detail */
#define CAA_LIST_MAX   3       /* issuers listed in a detail */

/* Tags this CA understands (RFC 8659, RFC 9495, CA/B Forum): a critical one
 * of these does not block by itself; issue and issuewild are evaluated. */
static const char *const known_tags[] = {
	"issue", "issuewild", "iodef", "issuemail", "issuevmc", "contactemail", "contactphone",
};

const char *
val_caa_strerror(enum val_caa_perr e)
{
	switch (e) {
	case VAL_CAA_OK: return "ok";
	case VAL_CAA_ESHORT: return "record truncated";
	case VAL_CAA_ETAGLEN: return "tag length 0";
	case VAL_CAA_ETAG: return "tag with a character other than a letter or digit";
	case VAL_CAA_EISSUER: return "malformed issuer domain name";
	case VAL_CAA_EPARAM: return "malformed parameters";
	}
	return "?";
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* s (n bytes) equals the lowercase word w, without regard to case. */
static int
word_is(const unsigned char *s, size_t n, const char *w)
{
	size_t i;

	if (strlen(w) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(s[i]) != (unsigned char)w[i])
			return 0;
	return 1;
}

static size_t
skip_wsp(const unsigned char *v, size_t i, size_t len)
{
	while (i < len && is_wsp(v[i]))
		i++;
	return i;
}

/* The end of label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)) starting at
 * i, or i when there is none there. A label never ends in "-". */
static size_t
label_end(const unsigned char *v, size_t i, size_t len)
{
	size_t end;

	if (i >= len || !is_alnum(v[i]))
		return i;
	end = ++i;
	while (i < len && (is_alnum(v[i]) || v[i] == '-')) {
		if (is_alnum(v[i]))
			end = i + 1;
		i++;
	}
	return end;
}

/* issuer-domain-name = label *("." label), all n bytes of it. */
static int
domain_ok(const unsigned char *v, size_t n)
{
	size_t i = 0, e;

	for (;;) {
		if ((e = label_end(v, i, n)) == i)
			return 0;
		if (e == n)
			return 1;
		if (v[e] != '.')
			return 0;
		i = e + 1;
	}
}

enum val_caa_perr
val_caa_parse_rr(const unsigned char *rdata, size_t len, struct val_caa_rr *out)
{
	size_t tl, i;

	memset(out, 0, sizeof(*out));
	if (rdata == NULL || len < 2)
		return VAL_CAA_ESHORT;
	tl = rdata[1];
	if (tl == 0)
		return VAL_CAA_ETAGLEN;
	if (tl > len - 2)
		return VAL_CAA_ESHORT;
	for (i = 0; i < tl; i++)
		if (!is_alnum(rdata[2 + i]))
			return VAL_CAA_ETAG;
	out->flags = rdata[0];
	out->tag = rdata + 2;
	out->tag_len = tl;
	out->value = rdata + 2 + tl;
	out->value_len = len - 2 - tl;
	return VAL_CAA_OK;
}

enum val_caa_perr
val_caa_parse_issue(const unsigned char *v, size_t len, struct val_caa_issue *out)
{
	const unsigned char *tag;
	size_t i, s, tl;

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		len = 0;
	i = skip_wsp(v, 0, len);
	s = i;
	while (i < len && v[i] != ';' && !is_wsp(v[i]))
		i++;
	if (i > s) {
		if (i - s > VAL_CAA_ISSUER_MAX || !domain_ok(v + s, i - s))
			return VAL_CAA_EISSUER;
		memcpy(out->issuer, v + s, i - s);
		out->issuer[i - s] = '\0';
	}
	i = skip_wsp(v, i, len);
	if (i == len)
		return VAL_CAA_OK;
	if (v[i] != ';')
		return VAL_CAA_EISSUER;         /* "ca.example junk" */
	i = skip_wsp(v, i + 1, len);
	if (i == len)
		return VAL_CAA_OK;              /* "ca.example;" */
	for (;;) {
		/* parameter = tag *WSP "=" *WSP value */
		tag = v + i;
		s = i;
		if ((i = label_end(v, i, len)) == s)
			return VAL_CAA_EPARAM;
		tl = i - s;
		i = skip_wsp(v, i, len);
		if (i == len || v[i] != '=')
			return VAL_CAA_EPARAM;
		i = skip_wsp(v, i + 1, len);
		/* value = *(%x21-3A / %x3C-7E) */
		s = i;
		while (i < len && v[i] >= 0x21 && v[i] <= 0x7e && v[i] != ';')
			i++;
		if (word_is(tag, tl, "accounturi")) {
			out->n_accounturi++;
			out->accounturi = v + s;
			out->accounturi_len = i - s;
		} else if (word_is(tag, tl, "validationmethods")) {
			out->n_methods++;
			out->methods = v + s;
			out->methods_len = i - s;
		}
		i = skip_wsp(v, i, len);
		if (i == len)
			return VAL_CAA_OK;
		if (v[i] != ';')
			return VAL_CAA_EPARAM;
		/* A ";" is followed by another parameter, never by the end. */
		i = skip_wsp(v, i + 1, len);
		if (i == len)
			return VAL_CAA_EPARAM;
	}
}

static int
tag_known(const struct val_caa_rr *r)
{
	size_t i;

	for (i = 0; i < sizeof(known_tags) / sizeof(known_tags[0]); i++)
		if (word_is(r->tag, r->tag_len, known_tags[i]))
			return 1;
	return 0;
}

enum methods_match { METHODS_LISTED, METHODS_UNLISTED, METHODS_MALFORMED };

/* validationmethods = label *("," label), label = 1*(ALPHA / DIGIT / "-")
 * (RFC 8657 section 4); any malformed label makes the record unusable. */
static enum methods_match
methods_match(const unsigned char *v, size_t len, const char *method)
{
	size_t i = 0, s;
	int listed = 0;

	for (;;) {
		s = i;
		while (i < len && (is_alnum(v[i]) || v[i] == '-'))
			i++;
		if (i == s || (i < len && v[i] != ','))
			return METHODS_MALFORMED;
		if (method != NULL && strlen(method) == i - s && memcmp(v + s, method, i - s) == 0)
			listed = 1;
		if (i == len)
			return listed ? METHODS_LISTED : METHODS_UNLISTED;
		i++;
	}
}

static int
issuer_ours(const struct val_caa_req *req, const char *issuer)
{
	size_t i;

	for (i = 0; i < req->nissuer; i++)
		if (req->issuer[i] != NULL && strcmp(req->issuer[i], issuer) == 0)
			return 1;
	return 0;
}

static void why_set(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

/* this CA's identities, "a, b" */
static void
ours_list(const struct val_caa_req *req, char *out, size_t cap)
{
	size_t i, o = 0;
	int w;

	out[0] = '\0';
	for (i = 0; i < req->nissuer && o < cap; i++) {
		w = snprintf(out + o, cap - o, "%s%s", i ? ", " : "", req->issuer[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (req->nissuer == 0)
		snprintf(out, cap, "none configured");
}

/*
 * Why the one relevant record that names us cannot be used, or NULL when it
 * can. is was parsed with result pe.
 */
static const char *
record_unusable(const struct val_caa_issue *is, enum val_caa_perr pe,
    const struct val_caa_req *req, char *buf, size_t cap)
{
	char q[CAA_QUOTE_MAX * 4 + 8];

	if (pe != VAL_CAA_OK) {
		snprintf(buf, cap, "its value does not parse (%s)", val_caa_strerror(pe));
		return buf;
	}
	if (is->n_accounturi > 1)
		return "it has more than one accounturi parameter (RFC 8657: unsatisfiable)";
	if (is->n_accounturi == 1 && (req->acct_url == NULL ||
	    strlen(req->acct_url) != is->accounturi_len ||
	    memcmp(req->acct_url, is->accounturi, is->accounturi_len) != 0)) {
		val_escape(q, sizeof(q), is->accounturi, is->accounturi_len, CAA_QUOTE_MAX);
		snprintf(buf, cap, "it is limited to accounturi=%s, not this account (%s)", q,
		    req->acct_url ? req->acct_url : "?");
		return buf;
	}
	if (is->n_methods > 1)
		return "it has more than one validationmethods parameter (unsatisfiable)";
	if (is->n_methods == 1) {
		val_escape(q, sizeof(q), is->methods, is->methods_len, CAA_QUOTE_MAX);
		switch (methods_match(is->methods, is->methods_len, req->method)) {
		case METHODS_LISTED:
			break;
		case METHODS_UNLISTED:
			snprintf(buf, cap, "it allows validationmethods=%s, and this authorization "
			    "was validated with %s", q, req->method ? req->method : "?");
			return buf;
		case METHODS_MALFORMED:
			snprintf(buf, cap, "its validationmethods=%s is malformed (unsatisfiable)", q);
			return buf;
		}
	}
	return NULL;
}

enum val_caa_verdict
val_caa_eval(const struct val_caa_rdata *rr, size_t n, const struct val_caa_req *req,
    char *why, size_t cap)
{
	struct val_caa_rr r;
	struct val_caa_issue is;
	enum val_caa_perr pe;
	const char *want = "issue", *bad;
	char seen[CAA_LIST_MAX * (CAA_QUOTE_MAX * 4 + 4) + 16], q[CAA_QUOTE_MAX * 4 + 8];
	char ours[300], reason[400], buf[400];
	size_t i, relevant = 0, o = 0, listed = 0;
	int w;

	if (cap > 0)
		why[0] = '\0';
	reason[0] = '\0';
	seen[0] = '\0';
	/* Every record must parse; an unknown critical property forbids
	 * (RFC 8659 section 4.1: the CA does not understand the policy). */
	for (i = 0; i < n; i++) {
		if ((pe = val_caa_parse_rr(rr[i].p, rr[i].len, &r)) != VAL_CAA_OK) {
			why_set(why, cap, "a CAA record is malformed (%s)", val_caa_strerror(pe));
			return VAL_CAA_FORBID;
		}
		if ((r.flags & VAL_CAA_CRITICAL) != 0 && !tag_known(&r)) {
			val_escape(q, sizeof(q), r.tag, r.tag_len, CAA_QUOTE_MAX);
			why_set(why, cap, "the record with unknown property \"%s\" is marked critical "
			    "(flags %u)", q, r.flags);
			return VAL_CAA_FORBID;
		}
		if (req->wildcard && word_is(r.tag, r.tag_len, "issuewild"))
			want = "issuewild";
	}
	/* Permissions add up: one usable record naming us is enough (CAA-06). */
	for (i = 0; i < n; i++) {
		(void)val_caa_parse_rr(rr[i].p, rr[i].len, &r);
		if (!word_is(r.tag, r.tag_len, want))
			continue;
		relevant++;
		pe = val_caa_parse_issue(r.value, r.value_len, &is);
		if (is.issuer[0] == '\0' || !issuer_ours(req, is.issuer)) {
			if (listed++ < CAA_LIST_MAX) {
				val_escape(q, sizeof(q), r.value, r.value_len, CAA_QUOTE_MAX);
				w = snprintf(seen + o, sizeof(seen) - o, "%s\"%s\"", o ? ", " : "", q);
				if (w > 0 && (size_t)w < sizeof(seen) - o)
					o += (size_t)w;
			}
			continue;
		}
		if ((bad = record_unusable(&is, pe, req, buf, sizeof(buf))) == NULL)
			return VAL_CAA_PERMIT;
		/* Keep the first such reason: it is the one an operator can act on. */
		if (reason[0] == '\0')
			why_set(reason, sizeof(reason), "the %s record naming %s cannot be used: %s",
			    want, is.issuer, bad);
	}
	if (relevant == 0)
		return VAL_CAA_PERMIT;      /* only iodef, unknown or (here) irrelevant tags */
	if (reason[0] != '\0') {
		why_set(why, cap, "%s", reason);
		return VAL_CAA_FORBID;
	}
	ours_list(req, ours, sizeof(ours));
	why_set(why, cap, "no %s record names this CA (%s); %s found: %s%s", want, ours, want, seen,
	    listed > CAA_LIST_MAX ? ", ..." : "");
	return VAL_CAA_FORBID;
}
