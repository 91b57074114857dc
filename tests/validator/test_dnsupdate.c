/*
 * RFC 2136 dynamic updates with TSIG (validators/dnsupdate.c) and the RA's
 * DNS updater (validators/upstream_dns.c): the message's wire format, its
 * HMAC-SHA256 MAC recomputed here from RFC 8945's definition, and an update
 * sent on the daemon's loop to a small UDP responder on loopback that checks
 * the MAC and answers NOERROR, REFUSED or nothing; and the exec hook.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/hmac.h>

#include "validators/upstream.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";

static int
build(int add, int tsig, unsigned char *msg)
{
	struct val_dnsupd u;

	memset(&u, 0, sizeof(u));
	u.id = 0x1234;
	u.zone = "example.com.";
	u.name = "_acme-challenge.www.example.com";
	u.txt = "dGVzdA";
	u.add = add;
	u.ttl = 60;
	if (tsig) {
		u.tsig_name = "RA-Key";
		u.tsig_key = key;
		u.tsig_key_len = 32;
		u.tsig_time = 1700000000;
		u.tsig_fudge = 300;
	}
	return val_dnsupd_build(&u, msg, VAL_DNSUPD_MAX);
}

static unsigned
g16(const unsigned char *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

/* Check the TSIG of msg (len) with key; returns the offset of the TSIG RR,
 * or -1. Written from RFC 8945 section 4.3.3 independently of the builder. */
static int
tsig_ok(const unsigned char *msg, int len, const unsigned char *k, size_t klen)
{
	static const unsigned char keyname[] = "\x06ra-key";
	static const unsigned char alg[] = "\x0bhmac-sha256";
	unsigned char buf[VAL_DNSUPD_MAX + 256], mac[32];
	unsigned int ml = 0;
	int off, n = 0, rd;
	const unsigned char *r;

	/* The TSIG RR is last: owner "ra-key." (canonical, lower case). */
	for (off = 12; off < len; off++)
		if (memcmp(msg + off, keyname, sizeof(keyname)) == 0 &&
		    g16(msg + off + sizeof(keyname)) == 250)
			break;
	if (off >= len)
		return -1;
	r = msg + off + sizeof(keyname) + 2 + 2 + 4;
	rd = (int)g16(r);
	r += 2;
	if (r + rd != msg + len || memcmp(r, alg, sizeof(alg)) != 0)
		return -1;
	memcpy(buf, msg, (size_t)off);
	buf[11] = 0;                              /* ARCOUNT without the TSIG */
	n = off;
	memcpy(buf + n, keyname, sizeof(keyname));
	n += sizeof(keyname);
	memcpy(buf + n, "\x00\xff\x00\x00\x00\x00", 6);    /* class ANY, TTL 0 */
	n += 6;
	memcpy(buf + n, alg, sizeof(alg));
	n += sizeof(alg);
	memcpy(buf + n, r + sizeof(alg), 6 + 2);         /* time signed, fudge */
	n += 8;
	memcpy(buf + n, "\x00\x00\x00\x00", 4);          /* error, other len */
	n += 4;
	if (g16(r + sizeof(alg) + 8) != 32)
		return -1;
	HMAC(EVP_sha256(), k, (int)klen, buf, (size_t)n, mac, &ml);
	return memcmp(mac, r + sizeof(alg) + 10, 32) == 0 ? off : -1;
}

static void
test_wire(void **state)
{
	unsigned char m[VAL_DNSUPD_MAX], zone[] = "\x07" "example" "\x03" "com";
	int n, off;

	(void)state;
	n = build(1, 0, m);
	assert_true(n > 12);
	assert_int_equal(g16(m), 0x1234);
	assert_int_equal(g16(m + 2), 5 << 11);       /* opcode UPDATE */
	assert_int_equal(g16(m + 4), 1);            /* zone count */
	assert_int_equal(g16(m + 6), 0);
	assert_int_equal(g16(m + 8), 1);            /* one update */
	assert_int_equal(g16(m + 10), 0);
	assert_memory_equal(m + 12, zone, sizeof(zone));
	off = 12 + (int)sizeof(zone);
	assert_int_equal(g16(m + off), 6);          /* SOA */
	assert_int_equal(g16(m + off + 2), 1);      /* IN */
	off += 4;
	assert_int_equal(m[off], 15);
	assert_memory_equal(m + off + 1, "_acme-challenge", 15);
	off += 1 + 15 + 1 + 3 + 1 + 7 + 1 + 3 + 1;
	assert_int_equal(g16(m + off), 16);         /* TXT */
	assert_int_equal(g16(m + off + 2), 1);      /* add: class IN */
	assert_int_equal(g16(m + off + 6), 60);     /* TTL */
	assert_int_equal(g16(m + off + 8), 7);      /* rdlength */
	assert_int_equal(m[off + 10], 6);
	assert_memory_equal(m + off + 11, "dGVzdA", 6);
	assert_int_equal(n, off + 17);
	/* Delete: class NONE, TTL 0 (RFC 2136 section 2.5.4). */
	n = build(0, 0, m);
	assert_int_equal(g16(m + off + 2), 254);
	assert_int_equal(g16(m + off + 6), 0);
	/* Malformed names and oversize values are refused. */
	{
		struct val_dnsupd u;
		char big[300];
		memset(&u, 0, sizeof(u));
		u.zone = "example..com";
		u.name = "x.example.com";
		u.txt = "v";
		assert_int_equal(val_dnsupd_build(&u, m, sizeof(m)), -1);
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		u.zone = "example.com";
		u.txt = big;
		assert_int_equal(val_dnsupd_build(&u, m, sizeof(m)), -1);
		u.txt = "v";
		assert_int_equal(val_dnsupd_build(&u, m, 20), -1);
	}
}

static void
test_tsig(void **state)
{
	unsigned char m[VAL_DNSUPD_MAX], wrong[32];
	int n;

	(void)state;
	n = build(1, 1, m);
	assert_true(n > 0);
	assert_int_equal(g16(m + 10), 1);           /* ARCOUNT: the TSIG */
	assert_true(tsig_ok(m, n, key, 32) > 0);
	memcpy(wrong, key, 32);
	wrong[0] ^= 1;
	assert_int_equal(tsig_ok(m, n, wrong, 32), -1);
	m[30] ^= 1;                                 /* a changed message fails too */
	assert_int_equal(tsig_ok(m, n, key, 32), -1);
}

/* ---- the updater on a loop, against a responder ---- */

struct srv {
	int fd;
	int mode;              /* 0: check and answer; 1: REFUSED; 2: never answer */
	int got, good;
};

static void
srv_io(void *arg, int fd, short ev)
{
	struct srv *s = arg;
	unsigned char b[1024];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;
	int good;

	(void)ev;
	if ((n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl)) < 12)
		return;
	s->got++;
	if ((good = tsig_ok(b, (int)n, key, 32) > 0))
		s->good++;
	if (s->mode == 2)
		return;
	b[2] |= 0x80;                               /* a response */
	b[3] = (unsigned char)(s->mode == 1 || !good ? 5 : 0);   /* NOERROR or REFUSED */
	(void)sendto(fd, b, 12, 0, (struct sockaddr *)&from, fl);
}

struct res {
	int done;
	char err[400];
};

static void
on_done(void *arg, const char *err)
{
	struct res *r = arg;

	r->done = 1;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
run_update(struct srv *s, struct res *r, const char *hook)
{
	struct val_loop *l = NULL;
	struct ups_dns_conf c;
	struct ups_dns *d = NULL;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char server[64];
	int i;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(val_loop_new(&l), ACME_OK);
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
	snprintf(server, sizeof(server), "127.0.0.1:%d", ntohs(a.sin_port));
	assert_int_equal(val_loop_watch(l, s->fd, POLLIN, srv_io, s), ACME_OK);
	memset(&c, 0, sizeof(c));
	c.hook = (char *)hook;
	c.server = server;
	c.zone = (char *)"example.com";
	c.tsig_name = (char *)"ra-key";
	memcpy(c.tsig_key, key, 32);
	c.tsig_key_len = 32;
	c.timeout_ms = 2500;
	memset(r, 0, sizeof(*r));
	assert_int_equal(ups_dns_start(l, &c, 1, "_acme-challenge.www.example.com", "dGVzdA", on_done,
	    r, &d), ACME_OK);
	for (i = 0; i < 200 && !r->done; i++)
		assert_int_equal(val_loop_once(l, 100), ACME_OK);
	assert_true(r->done);
	val_loop_unwatch(l, s->fd);
	close(s->fd);
	val_loop_free(l);
}

static void
test_update_sent(void **state)
{
	struct srv s;
	struct res r;

	(void)state;
	memset(&s, 0, sizeof(s));
	run_update(&s, &r, NULL);
	assert_string_equal(r.err, "");
	assert_int_equal(s.got, 1);
	assert_int_equal(s.good, 1);
	memset(&s, 0, sizeof(s));
	s.mode = 1;
	run_update(&s, &r, NULL);
	assert_non_null(strstr(r.err, "REFUSED"));
	memset(&s, 0, sizeof(s));
	s.mode = 2;                                /* resent, then given up */
	run_update(&s, &r, NULL);
	assert_non_null(strstr(r.err, "did not answer"));
	assert_true(s.got >= 2);
}

static void
test_hook(void **state)
{
	char path[] = "/tmp/acme-hook-XXXXXX", out[64];
	struct srv s;
	struct res r;
	FILE *f;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	snprintf(out, sizeof(out), "%s.out", path);
	f = fdopen(fd, "w");
	fprintf(f, "#!/bin/sh\necho \"$1 $2 $3\" >%s\n[ \"$3\" = dGVzdA ] || { echo bad value >&2; "
	    "exit 3; }\n", out);
	fclose(f);
	assert_int_equal(chmod(path, 0700), 0);
	memset(&s, 0, sizeof(s));
	run_update(&s, &r, path);
	assert_string_equal(r.err, "");
	assert_int_equal(s.got, 0);                 /* the hook, not an update */
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, sizeof(out), f));
	fclose(f);
	assert_string_equal(out, "present _acme-challenge.www.example.com dGVzdA\n");
	/* A failing hook: its exit status and stderr are the reason. */
	f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\necho no such zone >&2\nexit 4\n");
	fclose(f);
	run_update(&s, &r, path);
	assert_non_null(strstr(r.err, "exit status 4: no such zone"));
	unlink(path);
	snprintf(out, sizeof(out), "%s.out", path);
	unlink(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_tsig),
		cmocka_unit_test(test_update_sent),
		cmocka_unit_test(test_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
