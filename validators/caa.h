/*
 * CAA records (RFC 8659) with the account and method binding of RFC 8657:
 * parsing the records of one RRset and deciding whether they let this CA
 * issue for a name. Pure functions over bytes: no DNS, no allocation, no
 * global state, so that each can be unit-tested and fuzzed on its own. The
 * lookup that climbs the tree to find the relevant RRset is
 * validators/caacheck.c.
 *
 * Every input is hostile: each length is checked before the read, nothing
 * is NUL-terminated, and the parsed structures point into the caller's
 * buffer (valid as long as it is).
 */
#ifndef VAL_CAA_H
#define VAL_CAA_H

#include <stddef.h>
#include <stdint.h>

#define VAL_CAA_RRTYPE     257
#define VAL_CAA_ISSUER_MAX 253

/* Flag bits that mark a property critical: 128 (RFC 8659 section 4.1), and
 * 1, which Boulder honours too because of a widespread misreading of the
 * bit numbering in RFC 6844. */
#define VAL_CAA_CRITICAL   (0x80 | 0x01)

enum val_caa_perr {
	VAL_CAA_OK = 0,
	VAL_CAA_ESHORT,        /* rdata shorter than flags, tag length and tag */
	VAL_CAA_ETAGLEN,       /* tag length 0 */
	VAL_CAA_ETAG,          /* a tag character other than an ASCII letter or digit */
	VAL_CAA_EISSUER,       /* issue value: malformed issuer-domain-name */
	VAL_CAA_EPARAM,        /* issue value: malformed parameters */
};

/* A short English text for e ("tag length 0", ...). */
const char *val_caa_strerror(enum val_caa_perr e);

/* One CAA record (RFC 8659 section 4.1.1). */
struct val_caa_rr {
	uint8_t flags;
	const unsigned char *tag;      /* tag_len (>= 1) ASCII letters and digits */
	size_t tag_len;
	const unsigned char *value;    /* value_len bytes, possibly 0 */
	size_t value_len;
};

/*
 * Parse the rdata of one CAA record (len bytes: flags, tag length, tag,
 * value). On VAL_CAA_OK, out points into rdata. Never reads past len.
 */
enum val_caa_perr val_caa_parse_rr(const unsigned char *rdata, size_t len, struct val_caa_rr *out);

/* The value of an issue or issuewild property (RFC 8659 section 4.2). */
struct val_caa_issue {
	char issuer[VAL_CAA_ISSUER_MAX + 1];  /* "" when the value names no issuer (";") */
	unsigned n_accounturi;         /* RFC 8657 section 3: how many times it appears */
	const unsigned char *accounturi;        /* the last one's value */
	size_t accounturi_len;
	unsigned n_methods;            /* RFC 8657 section 4: validationmethods */
	const unsigned char *methods;
	size_t methods_len;
};

/*
 * Parse an issue value of len bytes:
 *   *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
 * with parameters "tag=value" separated by ";" (tags matched without regard
 * to case; unknown ones skipped). Returns VAL_CAA_EISSUER or VAL_CAA_EPARAM
 * for a value that does not follow the grammar; issuer is filled in even
 * then when the issuer part itself was well formed, so that a refusal can
 * say which record failed. Never reads past len.
 */
enum val_caa_perr val_caa_parse_issue(const unsigned char *v, size_t len, struct val_caa_issue *out);

/* One record's rdata as the resolver returned it. */
struct val_caa_rdata {
	const unsigned char *p;
	size_t len;
};

/* What is being issued, and by whom. */
struct val_caa_req {
	int wildcard;                  /* the certificate names *.<the name> */
	const char *const *issuer;     /* this CA's identities (caa_identities) */
	size_t nissuer;
	const char *acct_url;          /* the requesting account's URL (accounturi) */
	const char *method;            /* the validation method: "http-01", ... */
};

enum val_caa_verdict {
	VAL_CAA_PERMIT = 0,
	VAL_CAA_FORBID,
};

/*
 * Decide on one non-empty RRset of n records (RFC 8659 section 4):
 * a record that does not parse, or an unknown tag marked critical, forbids;
 * for a wildcard any issuewild records replace the issue records; without
 * relevant records issuance is allowed; otherwise some relevant record must
 * name one of req's identities with its accounturi (exactly the account's
 * URL, at most once) and validationmethods (well formed, listing the
 * method, at most once) satisfied. Unknown parameters are ignored.
 *
 * On VAL_CAA_FORBID, why (cap bytes) says which rule failed, quoting at
 * most a few escaped bytes of the records; on VAL_CAA_PERMIT it is "".
 */
enum val_caa_verdict val_caa_eval(const struct val_caa_rdata *rr, size_t n,
    const struct val_caa_req *req, char *why, size_t cap);

#endif
