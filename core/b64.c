#include <stdlib.h>

#include "core/b64.h"

static const char b64u_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of each character, or -1 for anything outside the alphabet. */
static const signed char b64u_value[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

size_t
b64u_encode_buf(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned long v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64u_alphabet[(v >> 18) & 63];
		out[o++] = b64u_alphabet[(v >> 12) & 63];
		out[o++] = b64u_alphabet[(v >> 6) & 63];
		out[o++] = b64u_alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)in[i] << 16;
		out[o++] = b64u_alphabet[(v >> 18) & 63];
		out[o++] = b64u_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		out[o++] = b64u_alphabet[(v >> 18) & 63];
		out[o++] = b64u_alphabet[(v >> 12) & 63];
		out[o++] = b64u_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

char *
b64u_encode(const unsigned char *in, size_t n)
{
	char *out;

	if (n > ((size_t)-1 - 2) / 4 * 3)
		return NULL;
	if ((out = malloc(B64U_ENCLEN(n) + 1)) == NULL)
		return NULL;
	b64u_encode_buf(in, n, out);
	return out;
}

/* Decoded length of len characters, or (size_t)-1 if no text has that length. */
static size_t
b64u_declen(size_t len)
{
	if (len % 4 == 1)
		return (size_t)-1;
	return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}

enum acme_err
b64u_decode_buf(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i, o = 0, need, rest;
	unsigned long v;
	int a, b, c, d;

	if ((need = b64u_declen(len)) == (size_t)-1)
		return ACME_EINVAL;
	if (need > cap)
		return ACME_ETOOBIG;
	rest = len % 4;
	for (i = 0; i + 4 <= len; i += 4) {
		a = b64u_value[s[i]];
		b = b64u_value[s[i + 1]];
		c = b64u_value[s[i + 2]];
		d = b64u_value[s[i + 3]];
		if ((a | b | c | d) < 0)
			return ACME_EINVAL;
		v = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6 |
		    (unsigned long)d;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	if (rest != 0) {
		a = b64u_value[s[i]];
		b = b64u_value[s[i + 1]];
		c = rest == 3 ? b64u_value[s[i + 2]] : 0;
		if ((a | b | c) < 0)
			return ACME_EINVAL;
		/* The bits past the last whole byte must be zero: one text per value. */
		if (rest == 2 ? (b & 0x0f) != 0 : (c & 0x03) != 0)
			return ACME_EINVAL;
		v = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6;
		out[o++] = (unsigned char)(v >> 16);
		if (rest == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
	*outlen = o;
	return ACME_OK;
}

enum acme_err
b64u_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	size_t need;
	enum acme_err rc;

	*out = NULL;
	*outlen = 0;
	if ((need = b64u_declen(len)) == (size_t)-1)
		return ACME_EINVAL;
	if ((buf = malloc(need + 1)) == NULL)
		return ACME_ENOMEM;
	if ((rc = b64u_decode_buf(in, len, buf, need, outlen)) != ACME_OK) {
		free(buf);
		return rc;
	}
	buf[*outlen] = '\0';
	*out = buf;
	return ACME_OK;
}
