#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/ipaddr.h"

int
acme_ip_parse(const char *s, struct acme_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	/* inet_pton rejects zone ids, brackets, spaces and the old octal and
	 * short IPv4 forms that inet_aton would take. */
	if (inet_pton(AF_INET, s, out->b) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->b) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -1;
}

void
acme_ip_str(const struct acme_ip *ip, char out[ACME_IP_STRLEN])
{
	if (inet_ntop(ip->family, ip->b, out, ACME_IP_STRLEN) == NULL)
		snprintf(out, ACME_IP_STRLEN, "?");
}

int
acme_ip_equal(const struct acme_ip *a, const struct acme_ip *b)
{
	return a->family == b->family &&
	    memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16) == 0;
}

int
acme_ip_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct acme_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		out->family = AF_INET;
		memcpy(out->b, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		out->family = AF_INET6;
		memcpy(out->b, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

void
acme_ip_to_sockaddr(const struct acme_ip *ip, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, ip->b, 4);
		*len = sizeof(*s4);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, ip->b, 16);
		*len = sizeof(*s6);
	}
}

void
acme_ip_revname(const struct acme_ip *ip, char out[ACME_REVNAME_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int i;

	if (ip->family == AF_INET) {
		snprintf(out, ACME_REVNAME_LEN, "%u.%u.%u.%u.in-addr.arpa",
		    ip->b[3], ip->b[2], ip->b[1], ip->b[0]);
		return;
	}
	for (i = 15; i >= 0; i--) {
		out[o++] = hex[ip->b[i] & 0xf];
		out[o++] = '.';
		out[o++] = hex[ip->b[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, "ip6.arpa", sizeof("ip6.arpa"));
}

/* A prefix of a range table: the first bits of len bits of addr. */
struct val_range {
	unsigned char p[16];
	int bits;
	enum acme_addr_class cls;
};

static int
range_has(const struct val_range *r, const unsigned char *b)
{
	int full = r->bits / 8, rest = r->bits % 8;
	unsigned char mask;

	if (memcmp(r->p, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (r->p[full] & mask) == (b[full] & mask);
}

/* IANA IPv4 special-purpose registry, plus multicast and the reserved 240/4;
 * the globally reachable entries of the registry (AS112, AMT) are left out. */
static const struct val_range v4_ranges[] = {
	{ { 0 }, 8, ACME_ADDR_UNSPECIFIED },
	{ { 10 }, 8, ACME_ADDR_PRIVATE },
	{ { 100, 64 }, 10, ACME_ADDR_SHARED },
	{ { 127 }, 8, ACME_ADDR_LOOPBACK },
	{ { 169, 254 }, 16, ACME_ADDR_LINKLOCAL },
	{ { 172, 16 }, 12, ACME_ADDR_PRIVATE },
	{ { 192, 0, 0 }, 24, ACME_ADDR_SPECIAL },
	{ { 192, 0, 2 }, 24, ACME_ADDR_SPECIAL },
	{ { 192, 88, 99 }, 24, ACME_ADDR_SPECIAL },
	{ { 192, 168 }, 16, ACME_ADDR_PRIVATE },
	{ { 198, 18 }, 15, ACME_ADDR_SPECIAL },
	{ { 198, 51, 100 }, 24, ACME_ADDR_SPECIAL },
	{ { 203, 0, 113 }, 24, ACME_ADDR_SPECIAL },
	{ { 224 }, 4, ACME_ADDR_MULTICAST },
	{ { 255, 255, 255, 255 }, 32, ACME_ADDR_MULTICAST },
	{ { 240 }, 4, ACME_ADDR_SPECIAL },
};

/* IPv6: the classes that matter; anything outside 2000::/3 that is not
 * listed is not global unicast and counts as special. The IPv4-mapped and
 * NAT64 well-known prefixes are judged by the IPv4 address inside. */
static const struct val_range v6_ranges[] = {
	{ { 0x01, 0x00 }, 64, ACME_ADDR_SPECIAL },               /* 100::/64 discard */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, ACME_ADDR_SPECIAL },   /* documentation */
	{ { 0x20, 0x01, 0x00 }, 23, ACME_ADDR_SPECIAL },         /* IETF protocol assignments, Teredo */
	{ { 0x20, 0x02 }, 16, ACME_ADDR_SPECIAL },               /* 6to4 */
	{ { 0x3f, 0xff, 0x00 }, 20, ACME_ADDR_SPECIAL },         /* documentation (RFC 9637) */
	{ { 0x5f, 0x00 }, 16, ACME_ADDR_SPECIAL },               /* SRv6 SIDs */
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, ACME_ADDR_SPECIAL }, /* local-use NAT64 */
	{ { 0xfc }, 7, ACME_ADDR_PRIVATE },                      /* unique local */
	{ { 0xfe, 0x80 }, 10, ACME_ADDR_LINKLOCAL },
	{ { 0xfe, 0xc0 }, 10, ACME_ADDR_PRIVATE },               /* old site-local */
	{ { 0xff }, 8, ACME_ADDR_MULTICAST },
};

static enum acme_addr_class
class_v4(const unsigned char *b)
{
	size_t i;

	for (i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++)
		if (range_has(&v4_ranges[i], b))
			return v4_ranges[i].cls;
	return ACME_ADDR_PUBLIC;
}

enum acme_addr_class
acme_ip_class(const struct acme_ip *ip)
{
	static const unsigned char zero[16];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	const unsigned char *b = ip->b;
	size_t i;

	if (ip->family == AF_INET)
		return class_v4(b);
	if (ip->family != AF_INET6)
		return ACME_ADDR_UNSPECIFIED;
	if (memcmp(b, zero, 16) == 0)
		return ACME_ADDR_UNSPECIFIED;
	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return ACME_ADDR_LOOPBACK;
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return class_v4(b + 12);
	for (i = 0; i < sizeof(v6_ranges) / sizeof(v6_ranges[0]); i++)
		if (range_has(&v6_ranges[i], b))
			return v6_ranges[i].cls;
	if ((b[0] & 0xe0) != 0x20)
		return ACME_ADDR_SPECIAL;
	return ACME_ADDR_PUBLIC;
}

const char *
acme_addr_class_name(enum acme_addr_class c)
{
	switch (c) {
	case ACME_ADDR_PUBLIC: return "public";
	case ACME_ADDR_LOOPBACK: return "loopback";
	case ACME_ADDR_PRIVATE: return "private";
	case ACME_ADDR_LINKLOCAL: return "link-local";
	case ACME_ADDR_SHARED: return "shared (CGNAT)";
	case ACME_ADDR_SPECIAL: return "special-purpose";
	case ACME_ADDR_MULTICAST: return "multicast or broadcast";
	case ACME_ADDR_UNSPECIFIED: return "unspecified";
	}
	return "unknown";
}

int
acme_ip_allowed(const struct acme_ip *ip, int allow_private)
{
	switch (acme_ip_class(ip)) {
	case ACME_ADDR_PUBLIC:
		return 1;
	case ACME_ADDR_MULTICAST:
	case ACME_ADDR_UNSPECIFIED:
		return 0;
	default:
		return allow_private != 0;
	}
}
