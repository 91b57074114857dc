/*
 * IP addresses as the validator handles them, and the outbound address
 * policy (RFC 8555 section 10.4, SSRF): what each address is, and whether a
 * directory lets us connect to it.
 */
#ifndef VAL_ADDR_H
#define VAL_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

/* Room for the longest text form, with the NUL. */
#define VAL_IP_STRLEN 46
/* Room for a reverse-mapping name: 32 nibbles for IPv6 plus "ip6.arpa". */
#define VAL_REVNAME_LEN 74

struct val_ip {
	int family;                    /* AF_INET or AF_INET6 */
	unsigned char b[16];           /* network order; 4 bytes used for AF_INET */
};

enum val_addr_class {
	VAL_ADDR_PUBLIC = 0,
	VAL_ADDR_LOOPBACK,             /* 127/8, ::1 */
	VAL_ADDR_PRIVATE,              /* RFC 1918, fc00::/7 */
	VAL_ADDR_LINKLOCAL,            /* 169.254/16, fe80::/10 */
	VAL_ADDR_SHARED,               /* 100.64/10 (CGNAT) */
	VAL_ADDR_SPECIAL,              /* other IANA special-purpose and reserved ranges */
	VAL_ADDR_MULTICAST,            /* 224/4, ff00::/8 (and broadcast) */
	VAL_ADDR_UNSPECIFIED,          /* 0/8, :: */
};

/*
 * Parse a literal IPv4 (dotted quad) or IPv6 address, strictly: no zone id,
 * no brackets, no surrounding space. Returns 0, or -1 if s is not one.
 */
int val_ip_parse(const char *s, struct val_ip *out);

/* Text form (RFC 5952 for IPv6). */
void val_ip_str(const struct val_ip *ip, char out[VAL_IP_STRLEN]);

/* 1 if a and b are the same address. */
int val_ip_equal(const struct val_ip *a, const struct val_ip *b);

/* From a socket address; returns -1 for other families. An IPv4-mapped IPv6
 * address stays IPv6 (the class looks inside it). */
int val_ip_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct val_ip *out);

/* To a socket address with port; *len gets its size. */
void val_ip_to_sockaddr(const struct val_ip *ip, int port, struct sockaddr_storage *ss,
    socklen_t *len);

/* The reverse-mapping name (RFC 8738 section 6): "4.3.2.1.in-addr.arpa" or 32
 * nibbles then "ip6.arpa". */
void val_ip_revname(const struct val_ip *ip, char out[VAL_REVNAME_LEN]);

enum val_addr_class val_ip_class(const struct val_ip *ip);
/* "loopback", "private", ... for error details. */
const char *val_addr_class_name(enum val_addr_class c);

/*
 * Whether we may connect to ip. Public addresses always; loopback, private,
 * link-local, shared and special-purpose ones only with allow_private;
 * multicast and unspecified never.
 */
int val_ip_allowed(const struct val_ip *ip, int allow_private);

#endif
