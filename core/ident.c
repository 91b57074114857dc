#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "core/ident.h"
#include "core/ipaddr.h"
#include "core/json.h"
#include "store/store.h"

const char *
acme_ident_type_name(uint8_t type)
{
	return type == STORE_IDENT_IP ? "ip" : "dns";
}

/* RFC 3492 punycode decoding, only to check that an xn-- label is valid:
 * it decodes, yields at least one non-ASCII code point, and no code point
 * is a surrogate or out of range. */
static int
punycode_valid(const char *in, size_t len)
{
	enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, IBIAS = 72, INITN = 128 };
	unsigned long n = INITN, i = 0, bias = IBIAS, out = 0, oldi, w, k, digit, t, delta;
	size_t b = 0, j, in_pos;
	int nonascii = 0;

	for (j = 0; j < len; j++)
		if (in[j] == '-')
			b = j;
	out = b;
	in_pos = b > 0 ? b + 1 : 0;
	if (in_pos >= len)
		return 0;               /* nothing encoded: not a real A-label */
	while (in_pos < len) {
		oldi = i;
		w = 1;
		for (k = BASE;; k += BASE) {
			if (in_pos >= len)
				return 0;
			char c = in[in_pos++];
			if (c >= '0' && c <= '9')
				digit = (unsigned long)(c - '0' + 26);
			else if (c >= 'a' && c <= 'z')
				digit = (unsigned long)(c - 'a');
			else
				return 0;
			if (digit > (0x10FFFFUL * 64 - i) / w)
				return 0;
			i += digit * w;
			t = k <= bias ? TMIN : (k >= bias + TMAX ? TMAX : k - bias);
			if (digit < t)
				break;
			if (w > 0x10FFFFUL * 64 / (BASE - t))
				return 0;
			w *= (BASE - t);
		}
		/* adapt */
		delta = oldi == 0 ? (i - oldi) / DAMP : (i - oldi) / 2;
		delta += delta / (out + 1);
		for (k = 0; delta > ((BASE - TMIN) * TMAX) / 2; k += BASE)
			delta /= BASE - TMIN;
		bias = k + (BASE - TMIN + 1) * delta / (delta + SKEW);
		n += i / (out + 1);
		i %= (out + 1);
		if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF) || n < 0xA0)
			return 0;
		nonascii = 1;
		i++;
		out++;
		if (out > 63)
			return 0;
	}
	return nonascii;
}

const char *
acme_ident_check_dns(const char *name)
{
	size_t len = strlen(name), lab, i, start = 0, nlabels = 0;
	int alldigit = 1;

	if (len == 0)
		return "empty name";
	if (len > ACME_IDENT_MAX)
		return "name longer than 253 octets";
	if (name[len - 1] == '.')
		return "name has a trailing dot";
	for (i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		lab = i - start;
		if (lab == 0)
			return "name has an empty label";
		if (lab > 63)
			return "label longer than 63 octets";
		if (name[start] == '-' || name[i - 1] == '-')
			return "label starts or ends with a hyphen";
		alldigit = 1;
		for (size_t j = start; j < i; j++) {
			unsigned char c = (unsigned char)name[j];
			if (c >= 0x80)
				return "name is not in A-label (ASCII) form";
			if (!(islower(c) || isdigit(c) || c == '-'))
				return "label has a character other than a-z, 0-9 and hyphen";
			if (!isdigit(c))
				alldigit = 0;
		}
		if (lab >= 4 && name[start + 2] == '-' && name[start + 3] == '-') {
			if (strncmp(name + start, "xn--", 4) != 0)
				return "label has hyphens in the third and fourth positions";
			if (!punycode_valid(name + start + 4, lab - 4))
				return "label is not valid punycode";
		}
		nlabels++;
		start = i + 1;
	}
	if (nlabels < 2)
		return "name has fewer than two labels";
	if (alldigit)
		return "name ends in an all-numeric label (an IP address is an ip identifier)";
	return NULL;
}

static int
parse_ip(const char *v, struct acme_ident *out, char *why, size_t whylen)
{
	char back[INET6_ADDRSTRLEN];
	static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

	if (strchr(v, ':') != NULL) {
		if (strchr(v, '%') != NULL) {
			snprintf(why, whylen, "IPv6 address with a zone identifier");
			return -1;
		}
		if (inet_pton(AF_INET6, v, out->ip) != 1) {
			snprintf(why, whylen, "not an IPv6 address");
			return -1;
		}
		if (memcmp(out->ip, mapped, sizeof(mapped)) == 0) {
			snprintf(why, whylen, "IPv4-mapped IPv6 address; use the IPv4 address");
			return -1;
		}
		out->ip_len = 16;
		inet_ntop(AF_INET6, out->ip, back, sizeof(back));
	} else {
		if (inet_pton(AF_INET, v, out->ip) != 1) {
			snprintf(why, whylen, "not an IPv4 address in dotted-quad form");
			return -1;
		}
		out->ip_len = 4;
		inet_ntop(AF_INET, out->ip, back, sizeof(back));
	}
	if (strcmp(back, v) != 0) {
		snprintf(why, whylen, "IP address not in canonical form (expected %s)", back);
		return -1;
	}
	snprintf(out->value, sizeof(out->value), "%s", back);
	return 0;
}

int
acme_ident_parse(struct json_object *o, struct acme_ident *out, enum acme_prob *ptype,
    char *why, size_t whylen)
{
	const char *type, *value, *reason;
	size_t len, i;

	memset(out, 0, sizeof(*out));
	*ptype = PROB_MALFORMED;
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, whylen, "identifier is not an object");
		return -1;
	}
	type = acme_json_str(o, "type");
	value = acme_json_str(o, "value");
	if (type == NULL || value == NULL) {
		snprintf(why, whylen, "identifier needs string members type and value");
		return -1;
	}
	len = strlen(value);
	if (strcmp(type, "ip") == 0) {
		out->type = STORE_IDENT_IP;
		if (len > 45)
			return snprintf(why, whylen, "IP address too long"), -1;
		return parse_ip(value, out, why, whylen);
	}
	if (strcmp(type, "dns") != 0) {
		*ptype = PROB_UNSUPPORTED_IDENTIFIER;
		snprintf(why, whylen, "identifier type '%.32s' is not supported (dns, ip)", type);
		return -1;
	}
	out->type = STORE_IDENT_DNS;
	if (len > ACME_IDENT_MAX) {
		*ptype = PROB_REJECTED_IDENTIFIER;
		snprintf(why, whylen, "name longer than 253 octets");
		return -1;
	}
	for (i = 0; i < len; i++)
		out->value[i] = (char)tolower((unsigned char)value[i]);
	out->value[len] = '\0';
	if (strncmp(out->value, "*.", 2) == 0)
		out->wildcard = 1;
	reason = acme_ident_check_dns(out->value + (out->wildcard ? 2 : 0));
	if (reason == NULL && strchr(out->value + (out->wildcard ? 2 : 0), '*') != NULL)
		reason = "a wildcard is allowed only as the whole leftmost label";
	if (reason != NULL) {
		*ptype = PROB_REJECTED_IDENTIFIER;
		if (strchr(out->value, '*') != NULL && !out->wildcard)
			reason = "a wildcard is allowed only as the whole leftmost label";
		snprintf(why, whylen, "%s: %s", out->value, reason);
		return -1;
	}
	return 0;
}

int
acme_ident_reverse_name(const struct acme_ident *id, char *out, size_t len)
{
	struct acme_ip ip;

	memset(&ip, 0, sizeof(ip));
	ip.family = id->ip_len == 4 ? AF_INET : AF_INET6;
	memcpy(ip.b, id->ip, (size_t)id->ip_len);
	if (len < ACME_REVNAME_LEN)
		return -1;
	acme_ip_revname(&ip, out);
	return 0;
}
