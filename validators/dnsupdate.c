/*
 * RFC 2136 dynamic update messages, signed with TSIG (RFC 8945,
 * HMAC-SHA256): add or delete one TXT record, for dns-01 at an upstream CA;
 * and the check of the server's signed answer (RFC 8945 section 5.3). Pure
 * functions (no I/O), tested on their own and against a real server.
 */
#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include "validators/upstream.h"

#define T_SOA  6
#define T_TXT  16
#define T_TSIG 250
#define C_IN   1
#define C_NONE 254
#define C_ANY  255
#define OP_UPDATE 5

struct buf {
	unsigned char *p;
	size_t len, cap;
	int bad;
};

static void
put(struct buf *b, const void *v, size_t n)
{
	if (b->bad || b->len + n > b->cap) {
		b->bad = 1;
		return;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

static void
put16(struct buf *b, unsigned v)
{
	unsigned char x[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(b, x, 2);
}

static void
put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

int
val_dns_name_wire(const char *name, unsigned char *out, size_t cap)
{
	size_t o = 0, n, i;
	const char *p = name, *dot;

	if (name == NULL || *name == '\0')
		return -1;
	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > 63 || o + 1 + n + 1 > cap || o + 1 + n + 1 > 255)
			return -1;
		out[o++] = (unsigned char)n;
		/* Lower case: TSIG's key and algorithm names are canonical (RFC 8945 4.3.3). */
		for (i = 0; i < n; i++) {
			if (p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
				return -1;
			out[o++] = (unsigned char)tolower((unsigned char)p[i]);
		}
		p += n;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	return (int)o;
}

static void
put_name(struct buf *b, const char *name)
{
	unsigned char w[256];
	int n = val_dns_name_wire(name, w, sizeof(w));

	if (n < 0)
		b->bad = 1;
	else
		put(b, w, (size_t)n);
}

/* HMAC-SHA256 over the concatenation of up to three parts; 0 or -1. */
static int
hmac3(const unsigned char *key, size_t klen, const unsigned char *a, size_t al,
    const unsigned char *b, size_t bl, const unsigned char *c, size_t cl, unsigned char mac[32])
{
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *mc = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (mc = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(mc, key, klen, params) != 1 ||
	    (al > 0 && EVP_MAC_update(mc, a, al) != 1) || (bl > 0 && EVP_MAC_update(mc, b, bl) != 1) ||
	    (cl > 0 && EVP_MAC_update(mc, c, cl) != 1) ||
	    EVP_MAC_final(mc, mac, &outl, 32) != 1 || outl != 32)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	return rc;
}

int
val_dnsupd_build(const struct val_dnsupd *u, unsigned char *out, size_t cap)
{
	static const char alg[] = "hmac-sha256";
	struct buf b = { out, 0, cap, 0 };
	unsigned char mac[32], var[512];
	struct buf v = { var, 0, sizeof(var), 0 };
	size_t tl = u->txt != NULL ? strlen(u->txt) : 256;
	unsigned int maclen = 0;
	int rc = -1;

	if (tl > 255)
		return -1;
	put16(&b, u->id);
	put16(&b, OP_UPDATE << 11);
	put16(&b, 1);                  /* zone */
	put16(&b, 0);                  /* prerequisites */
	put16(&b, 1);                  /* updates */
	put16(&b, 0);                  /* additional: TSIG added below */
	put_name(&b, u->zone);
	put16(&b, T_SOA);
	put16(&b, C_IN);
	put_name(&b, u->name);
	put16(&b, T_TXT);
	put16(&b, u->add ? C_IN : C_NONE);   /* NONE: delete this RR (RFC 2136 2.5.4) */
	put32(&b, u->add ? u->ttl : 0);
	put16(&b, (unsigned)(tl + 1));
	put(&b, (unsigned char[]){ (unsigned char)tl }, 1);
	put(&b, u->txt, tl);
	if (b.bad)
		goto out;
	if (u->tsig_name == NULL) {
		rc = (int)b.len;
		goto out;
	}
	/* The TSIG variables after the message (RFC 8945 section 4.3.3). */
	put_name(&v, u->tsig_name);
	put16(&v, C_ANY);
	put32(&v, 0);
	put_name(&v, alg);
	put16(&v, (unsigned)(u->tsig_time >> 32) & 0xffff);
	put32(&v, (uint32_t)u->tsig_time);
	put16(&v, u->tsig_fudge);
	put16(&v, 0);                  /* error */
	put16(&v, 0);                  /* other len */
	if (v.bad)
		goto out;
	if (hmac3(u->tsig_key, u->tsig_key_len, out, b.len, var, v.len, NULL, 0, mac) < 0)
		goto out;
	maclen = sizeof(mac);
	/* The TSIG record itself. */
	put_name(&b, u->tsig_name);
	put16(&b, T_TSIG);
	put16(&b, C_ANY);
	put32(&b, 0);
	{
		unsigned char aw[64];
		int an = val_dns_name_wire(alg, aw, sizeof(aw));
		put16(&b, (unsigned)an + 6 + 2 + 2 + maclen + 2 + 2 + 2);
		put(&b, aw, (size_t)an);
	}
	put16(&b, (unsigned)(u->tsig_time >> 32) & 0xffff);
	put32(&b, (uint32_t)u->tsig_time);
	put16(&b, u->tsig_fudge);
	put16(&b, maclen);
	put(&b, mac, maclen);
	put16(&b, u->id);              /* original id */
	put16(&b, 0);                  /* error */
	put16(&b, 0);                  /* other len */
	if (b.bad)
		goto out;
	out[10] = 0;
	out[11] = 1;                   /* ARCOUNT: the TSIG */
	if (u->mac_out != NULL)
		memcpy(u->mac_out, mac, sizeof(mac));
	rc = (int)b.len;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* ---- the signed answer ---- */

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

/*
 * The name at *off of msg (len bytes), followed through compression
 * pointers, into out in canonical wire form (lower case, uncompressed) if
 * out is not NULL; *off moves past it. Length, or -1 if malformed.
 */
static int
read_name(const unsigned char *msg, size_t len, size_t *off, unsigned char *out)
{
	size_t o = *off, n = 0, jumps = 0, i;
	int moved = 0;

	for (;;) {
		if (o >= len)
			return -1;
		if ((msg[o] & 0xc0) == 0xc0) {
			if (o + 1 >= len || ++jumps > 16)
				return -1;
			if (!moved)
				*off = o + 2;
			moved = 1;
			o = (size_t)(msg[o] & 0x3f) << 8 | msg[o + 1];
			continue;
		}
		if ((msg[o] & 0xc0) != 0 || o + 1 + msg[o] > len || n + 1 + msg[o] > 255)
			return -1;
		if (out != NULL) {
			out[n] = msg[o];
			for (i = 0; i < msg[o]; i++)
				out[n + 1 + i] = (unsigned char)tolower(msg[o + 1 + i]);
		}
		n += 1 + msg[o];
		if (msg[o] == 0)
			break;
		o += 1 + msg[o];
	}
	if (!moved)
		*off = o + 1;
	return (int)n;
}

/* Past one resource record at *off; -1 if malformed. */
static int
skip_rr(const unsigned char *msg, size_t len, size_t *off)
{
	if (read_name(msg, len, off, NULL) < 0 || *off + 10 > len ||
	    *off + 10 + get16(msg + *off + 8) > len)
		return -1;
	*off += 10 + get16(msg + *off + 8);
	return 0;
}

enum val_tsig_check
val_dnsupd_check_answer(const unsigned char *msg, size_t len, const struct val_dnsupd_tsig *k,
    uint64_t now, unsigned *tsig_error)
{
	static const char alg[] = "hmac-sha256";
	unsigned char owner[256], want[256], algw[256], algname[64], *buf = NULL;
	unsigned char reqmac[34], mac[32], var[600];
	struct buf v = { var, 0, sizeof(var), 0 };
	size_t off = 12, rr, rd, rdend, ts, i, nrr;
	int on, an, wn, n;
	uint64_t signed_at;
	unsigned fudge, maclen;
	enum val_tsig_check rc = VAL_TSIG_BAD;

	*tsig_error = 0;
	if (len < 12 || len > VAL_DNSUPD_MAX * 4)
		return VAL_TSIG_BAD;
	if (get16(msg + 10) == 0)
		return VAL_TSIG_UNSIGNED;
	/* The TSIG is the last additional record: skip everything before it. */
	for (i = 0; i < get16(msg + 4); i++)
		if (read_name(msg, len, &off, NULL) < 0 || (off += 4) > len)
			return VAL_TSIG_BAD;
	nrr = (size_t)get16(msg + 6) + get16(msg + 8) + get16(msg + 10) - 1;
	for (i = 0; i < nrr; i++)
		if (skip_rr(msg, len, &off) < 0)
			return VAL_TSIG_BAD;
	rr = off;
	if ((on = read_name(msg, len, &off, owner)) < 0 || off + 10 > len)
		return VAL_TSIG_BAD;
	if (get16(msg + off) != T_TSIG)
		return VAL_TSIG_UNSIGNED;
	rd = off + 10;
	rdend = rd + get16(msg + off + 8);
	if (rdend != len || get16(msg + off + 2) != C_ANY)
		return VAL_TSIG_BAD;
	off = rd;
	if ((an = read_name(msg, rdend, &off, algw)) < 0 || off + 10 > rdend)
		return VAL_TSIG_BAD;
	if ((wn = val_dns_name_wire(k->name, want, sizeof(want))) < 0 || wn != on ||
	    memcmp(want, owner, (size_t)on) != 0 ||
	    (n = val_dns_name_wire(alg, algname, sizeof(algname))) != an ||
	    memcmp(algname, algw, (size_t)an) != 0)
		return VAL_TSIG_BAD;        /* another key or algorithm: not ours */
	signed_at = (uint64_t)get16(msg + off) << 32 | (uint64_t)get16(msg + off + 2) << 16 |
	    get16(msg + off + 4);
	fudge = get16(msg + off + 6);
	maclen = get16(msg + off + 8);
	ts = off;
	off += 10;
	if (off + maclen + 6 > rdend)
		return VAL_TSIG_BAD;
	*tsig_error = get16(msg + off + maclen + 2);
	if (*tsig_error != 0)
		return VAL_TSIG_ERROR;      /* BADSIG, BADKEY, BADTIME: said unsigned, or nearly */
	if (maclen != 32 || off + maclen + 6 + get16(msg + off + maclen + 4) != rdend)
		return VAL_TSIG_BAD;
	/* MAC input (RFC 8945 4.3.3): the request's MAC with its size, the answer
	 * without its TSIG (ARCOUNT one less, the original id), the variables. */
	reqmac[0] = 0;
	reqmac[1] = 32;
	memcpy(reqmac + 2, k->req_mac, 32);
	if ((buf = malloc(rr)) == NULL)
		return VAL_TSIG_BAD;
	memcpy(buf, msg, rr);
	buf[0] = msg[off + maclen];
	buf[1] = msg[off + maclen + 1];
	buf[10] = (unsigned char)((get16(msg + 10) - 1) >> 8);
	buf[11] = (unsigned char)(get16(msg + 10) - 1);
	put(&v, owner, (size_t)on);
	put16(&v, C_ANY);
	put32(&v, 0);
	put(&v, algw, (size_t)an);
	put(&v, msg + ts, 6);                      /* time signed */
	put16(&v, fudge);
	put(&v, msg + off + maclen + 2, 4 + get16(msg + off + maclen + 4));   /* error, other */
	if (v.bad || hmac3(k->key, k->key_len, reqmac, sizeof(reqmac), buf, rr, var, v.len, mac) < 0)
		goto out;
	if (CRYPTO_memcmp(mac, msg + off, 32) != 0)
		goto out;
	if (signed_at + fudge < now || signed_at > now + fudge) {
		*tsig_error = 18;           /* BADTIME, as the server would say */
		rc = VAL_TSIG_ERROR;
		goto out;
	}
	rc = VAL_TSIG_OK;
out:
	free(buf);
	return rc;
}
