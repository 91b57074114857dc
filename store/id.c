/* Record ids, base64url, the charset rules of keys, and big-endian keys. */
#include <string.h>
#include <syslog.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "store/internal.h"

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
st_b64url(const unsigned char *in, size_t n, char *out)
{
	size_t i;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = b64url_alpha[v >> 18 & 63];
		*out++ = b64url_alpha[v >> 12 & 63];
		*out++ = b64url_alpha[v >> 6 & 63];
		*out++ = b64url_alpha[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*out++ = b64url_alpha[v >> 18 & 63];
		*out++ = b64url_alpha[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = b64url_alpha[v >> 18 & 63];
		*out++ = b64url_alpha[v >> 12 & 63];
		*out++ = b64url_alpha[v >> 6 & 63];
	}
	*out = '\0';
}

enum store_err
store_new_id(store_id id)
{
	unsigned char raw[16];
	enum store_err rc = STORE_ERR;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		store_log(LOG_ERR, "RAND_bytes: %s", ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		goto out;
	}
	st_b64url(raw, sizeof(raw), id);
	rc = STORE_OK;
out:
	return rc;
}

static int
is_b64url(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

static int
is_dirch(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int
is_ari(int c)
{
	return is_b64url(c) || c == '.';
}

static int
is_graph(int c)
{
	return c > 0x20 && c < 0x7f;
}

static const struct {
	size_t min, max;
	int (*ok)(int);
} cs_rules[] = {
	[CS_ANY] = { 0, REC_STR_MAX, NULL },
	[CS_ID] = { STORE_ID_LEN, STORE_ID_LEN, is_b64url },
	[CS_THUMB] = { STORE_THUMB_LEN, STORE_THUMB_LEN, is_b64url },
	[CS_TOKEN] = { STORE_TOKEN_LEN, STORE_TOKEN_LEN, is_b64url },
	[CS_DIR] = { 1, STORE_NAME_MAX, is_dirch },
	[CS_SERIAL] = { 1, STORE_SERIAL_MAX, is_hex },
	[CS_ARI] = { 1, STORE_ARI_MAX, is_ari },
	[CS_NAME] = { 1, ST_COUNTER_NAME_MAX, is_graph },
	[CS_KID] = { 1, STORE_EAB_KID_MAX, is_b64url },
};

int
st_cs_ok(int cs, const char *s, size_t len)
{
	size_t i;
	int ok;

	ok = cs >= 0 && (size_t)cs < sizeof(cs_rules) / sizeof(cs_rules[0]) && s != NULL &&
	    len >= cs_rules[cs].min && len <= cs_rules[cs].max;
	for (i = 0; ok && i < len; i++)
		ok = s[i] != '\0' &&
		    (cs_rules[cs].ok == NULL || cs_rules[cs].ok((unsigned char)s[i]));
	return ok;
}

/* Signed times as keys: flip the sign bit so memcmp order is numeric order. */
void
st_be64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v ^ UINT64_C(0x8000000000000000);
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)u;
		u >>= 8;
	}
}

int64_t
st_get_be64(const unsigned char *p)
{
	uint64_t u = 0;
	int i;

	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (int64_t)(u ^ UINT64_C(0x8000000000000000));
}
