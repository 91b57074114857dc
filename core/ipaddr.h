/*
 * IP addresses as identifiers and the validator handle them, and the outbound address
 * policy (RFC 8555 section 10.4, SSRF): what each address is, and whether a
 * directory lets us connect to it.
 */
#ifndef ACME_ADDR_H
#define ACME_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

/* Room for the longest text form, with the NUL. */
#define ACME_IP_STRLEN 46
/* Room for a reverse-mapping name: 32 nibbles for IPv6 plus "ip6.arpa". */
#define ACME_REVNAME_LEN 74

struct acme_ip {
	int family;                    /* AF_INET or AF_INET6 */
	unsigned char b[16];           /* network order; 4 bytes used for AF_INET */
};

enum acme_addr_class {
	ACME_ADDR_PUBLIC = 0,
	ACME_ADDR_LOOPBACK,             /* 127/8, ::1 */
	ACME_ADDR_PRIVATE,              /* RFC 1918, fc00::/7 */
	ACME_ADDR_LINKLOCAL,            /* 169.254/16, fe80::/10 */
	ACME_ADDR_SHARED,               /* 100.64/10 (CGNAT) */
	ACME_ADDR_SPECIAL,              /* other IANA special-purpose and reserved ranges */
	ACME_ADDR_MULTICAST,            /* 224/4, ff00::/8 (and broadcast) */
	ACME_ADDR_UNSPECIFIED,          /* 0/8, :: */
};

/*
 * Parse a literal IPv4 (dotted quad) or IPv6 address, strictly: no zone id,
 * no brackets, no surrounding space. Returns 0, or -1 if s is not one.
 */
int acme_ip_parse(const char *s, struct acme_ip *out);

/* Text form (RFC 5952 for IPv6). */
void acme_ip_str(const struct acme_ip *ip, char out[ACME_IP_STRLEN]);

/* 1 if a and b are the same address. */
int acme_ip_equal(const struct acme_ip *a, const struct acme_ip *b);

/* From a socket address; returns -1 for other families. An IPv4-mapped IPv6
 * address stays IPv6 (the class looks inside it). */
int acme_ip_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct acme_ip *out);

/* To a socket address with port; *len gets its size. */
void acme_ip_to_sockaddr(const struct acme_ip *ip, int port, struct sockaddr_storage *ss,
    socklen_t *len);

/* The reverse-mapping name (RFC 8738 section 6): "4.3.2.1.in-addr.arpa" or 32
 * nibbles then "ip6.arpa". */
void acme_ip_revname(const struct acme_ip *ip, char out[ACME_REVNAME_LEN]);

enum acme_addr_class acme_ip_class(const struct acme_ip *ip);
/* "loopback", "private", ... for error details. */
const char *acme_addr_class_name(enum acme_addr_class c);

/*
 * Whether we may connect to ip. Public addresses always; loopback, private,
 * link-local, shared and special-purpose ones only with allow_private;
 * multicast and unspecified never.
 */
int acme_ip_allowed(const struct acme_ip *ip, int allow_private);

#endif
