/*
 * RFC 2136 dynamic update messages, signed with TSIG (RFC 8945,
 * HMAC-SHA256): add or delete one TXT record, for dns-01 at an upstream CA.
 * A pure builder (no I/O), tested on its own and against a server.
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

int
val_dnsupd_build(const struct val_dnsupd *u, unsigned char *out, size_t cap)
{
	static const char alg[] = "hmac-sha256";
	struct buf b = { out, 0, cap, 0 };
	unsigned char mac[32], var[512];
	struct buf v = { var, 0, sizeof(var), 0 };
	size_t tl = u->txt != NULL ? strlen(u->txt) : 256;
	unsigned int maclen = 0;
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *mc = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
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
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (mc = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(mc, u->tsig_key, u->tsig_key_len, params) != 1 ||
	    EVP_MAC_update(mc, out, b.len) != 1 || EVP_MAC_update(mc, var, v.len) != 1 ||
	    EVP_MAC_final(mc, mac, &outl, sizeof(mac)) != 1 || outl != sizeof(mac))
		goto out;
	maclen = (unsigned int)outl;
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
	rc = (int)b.len;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	return rc;
}
