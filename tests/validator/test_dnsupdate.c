/*
 * RFC 2136 dynamic updates with TSIG (validators/dnsupdate.c) and the RA's
 * DNS updater (validators/upstream_dns.c): the message's wire format, its
 * HMAC-SHA256 MAC recomputed here from RFC 8945's definition, and an update
 * sent on the daemon's loop to a small UDP responder on loopback that checks
 * the MAC and answers NOERROR, REFUSED or nothing, signed (or not, or with
 * another key: such answers are ignored); the answer's TSIG check on its
 * own; the exec hook; and, where Knot DNS is installed, updates to a real
 * knotd with TSIG: its signed answers verify, the record comes and goes,
 * and a wrong key is refused with BADSIG.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
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
	int mode;              /* 0: check and answer, signed; 1: REFUSED; 2: never answer;
	                          3: unsigned NOERROR; 4: signed with another key; 5: BADKEY */
	int got, good;
};

static void
p16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/*
 * A signed answer to request req (its TSIG at toff) with rcode, into out;
 * its length. Written from RFC 8945 sections 4.2 and 4.3.3, apart from the
 * code under test: the MAC covers the request's MAC, the answer without the
 * TSIG and the TSIG variables.
 */
static size_t
sign_answer(const unsigned char *req, int toff, unsigned rcode, const unsigned char *k,
    unsigned terr, unsigned char *out)
{
	static const unsigned char keyname[] = "\x06ra-key";
	static const unsigned char alg[] = "\x0bhmac-sha256";
	const unsigned char *reqmac = req + toff + sizeof(keyname) + 10 + sizeof(alg) + 10;
	unsigned char in[1024], mac[32];
	unsigned int ml = 0;
	uint64_t now = (uint64_t)time(NULL);
	size_t n = 0, o;

	/* The answer: header only (zone, updates are not echoed), ARCOUNT 0. */
	memcpy(out, req, 12);
	out[2] = (unsigned char)(0x80 | (5 << 3));
	out[3] = (unsigned char)rcode;
	memset(out + 4, 0, 8);
	/* MAC input */
	p16(in, 32);
	memcpy(in + 2, reqmac, 32);
	memcpy(in + 34, out, 12);
	n = 46;
	memcpy(in + n, keyname, sizeof(keyname));
	n += sizeof(keyname);
	memcpy(in + n, "\x00\xff\x00\x00\x00\x00", 6);
	n += 6;
	memcpy(in + n, alg, sizeof(alg));
	n += sizeof(alg);
	p16(in + n, (unsigned)(now >> 32));
	p16(in + n + 2, (unsigned)(now >> 16) & 0xffff);
	p16(in + n + 4, (unsigned)now & 0xffff);
	p16(in + n + 6, 300);
	p16(in + n + 8, terr);
	p16(in + n + 10, 0);
	n += 12;
	HMAC(EVP_sha256(), k, 32, in, n, mac, &ml);
	/* The TSIG record. */
	o = 12;
	memcpy(out + o, keyname, sizeof(keyname));
	o += sizeof(keyname);
	p16(out + o, 250);
	p16(out + o + 2, 255);
	memset(out + o + 4, 0, 4);
	p16(out + o + 8, (unsigned)(sizeof(alg) + 10 + (terr ? 0 : 32) + 6));
	o += 10;
	memcpy(out + o, alg, sizeof(alg));
	o += sizeof(alg);
	p16(out + o, (unsigned)(now >> 32));
	p16(out + o + 2, (unsigned)(now >> 16) & 0xffff);
	p16(out + o + 4, (unsigned)now & 0xffff);
	p16(out + o + 6, 300);
	p16(out + o + 8, terr ? 0 : 32);
	o += 10;
	if (!terr) {
		memcpy(out + o, mac, 32);
		o += 32;
	}
	memcpy(out + o, req, 2);                      /* original id */
	p16(out + o + 2, terr);
	p16(out + o + 4, 0);
	o += 6;
	p16(out + 10, 1);
	return o;
}

static void
srv_io(void *arg, int fd, short ev)
{
	struct srv *s = arg;
	unsigned char b[1024], a[1024], other[32];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;
	size_t al;
	int toff;

	(void)ev;
	if ((n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl)) < 12)
		return;
	s->got++;
	if ((toff = tsig_ok(b, (int)n, key, 32)) > 0)
		s->good++;
	if (s->mode == 2 || toff < 0)
		return;
	memcpy(other, key, 32);
	other[5] ^= 0x40;
	switch (s->mode) {
	case 3:                                         /* unsigned */
		memcpy(a, b, 12);
		a[2] |= 0x80;
		a[3] = 0;
		memset(a + 4, 0, 8);
		al = 12;
		break;
	case 4:
		al = sign_answer(b, toff, 0, other, 0, a);
		break;
	case 5:
		al = sign_answer(b, toff, 9, key, 17, a);   /* NOTAUTH, BADKEY */
		break;
	default:
		al = sign_answer(b, toff, s->mode == 1 ? 5 : 0, key, 0, a);
		break;
	}
	(void)sendto(fd, a, al, 0, (struct sockaddr *)&from, fl);
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

/* Put (present) or remove the test record through server (or hook) with
 * TSIG key k, on loop l, until the updater reports into r. */
static void
drive(struct val_loop *l, const char *server, const char *hook, const unsigned char *k,
    int present, const char *value, int timeout_ms, struct res *r)
{
	struct ups_dns_conf c;
	struct ups_dns *d = NULL;
	int i;

	memset(&c, 0, sizeof(c));
	c.hook = (char *)hook;
	c.server = (char *)server;
	c.zone = (char *)"example.com";
	c.tsig_name = (char *)"ra-key";
	memcpy(c.tsig_key, k, 32);
	c.tsig_key_len = 32;
	c.timeout_ms = timeout_ms;
	memset(r, 0, sizeof(*r));
	assert_int_equal(ups_dns_start(l, &c, present, "_acme-challenge.www.example.com", value,
	    on_done, r, &d), ACME_OK);
	for (i = 0; i < 200 && !r->done; i++)
		assert_int_equal(val_loop_once(l, 100), ACME_OK);
	assert_true(r->done);
}

static void
run_update(struct srv *s, struct res *r, const char *hook)
{
	struct val_loop *l = NULL;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char server[64];

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(val_loop_new(&l), ACME_OK);
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
	snprintf(server, sizeof(server), "127.0.0.1:%d", ntohs(a.sin_port));
	assert_int_equal(val_loop_watch(l, s->fd, POLLIN, srv_io, s), ACME_OK);
	drive(l, server, hook, key, 1, "dGVzdA", 2500, r);
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

/* The answer's TSIG is checked: unsigned or wrongly signed answers are
 * anyone's and ignored (the update then times out, saying why); a TSIG
 * error is the server refusing our signature. */
static void
test_answer_signed(void **state)
{
	struct srv s;
	struct res r;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.mode = 3;
	run_update(&s, &r, NULL);
	assert_non_null(strstr(r.err, "not signed with the TSIG key"));
	assert_true(s.good >= 1);
	memset(&s, 0, sizeof(s));
	s.mode = 4;
	run_update(&s, &r, NULL);
	assert_non_null(strstr(r.err, "not signed with the TSIG key"));
	memset(&s, 0, sizeof(s));
	s.mode = 5;
	run_update(&s, &r, NULL);
	assert_non_null(strstr(r.err, "BADKEY"));
	assert_int_equal(s.got, 1);
}

/* val_dnsupd_check_answer on its own: a changed answer fails, and so does
 * an answer to another request (the request's MAC is covered). */
static void
test_check_answer(void **state)
{
	struct val_dnsupd u;
	struct val_dnsupd_tsig k;
	unsigned char m[VAL_DNSUPD_MAX], a[1024];
	unsigned terr = 0;
	size_t al;
	int n, toff;

	(void)state;
	memset(&u, 0, sizeof(u));
	memset(&k, 0, sizeof(k));
	u.id = 0x4321;
	u.zone = "example.com";
	u.name = "_acme-challenge.example.com";
	u.txt = "dGVzdA";
	u.add = 1;
	u.tsig_name = "ra-key";
	u.tsig_key = key;
	u.tsig_key_len = 32;
	u.tsig_time = (uint64_t)time(NULL);
	u.tsig_fudge = 300;
	u.mac_out = k.req_mac;
	n = val_dnsupd_build(&u, m, sizeof(m));
	assert_true(n > 0);
	toff = tsig_ok(m, n, key, 32);
	assert_true(toff > 0);
	snprintf(k.name, sizeof(k.name), "RA-Key");
	memcpy(k.key, key, 32);
	k.key_len = 32;
	al = sign_answer(m, toff, 0, key, 0, a);
	assert_int_equal(val_dnsupd_check_answer(a, al, &k, (uint64_t)time(NULL), &terr), VAL_TSIG_OK);
	/* out of the fudge */
	assert_int_equal(val_dnsupd_check_answer(a, al, &k, (uint64_t)time(NULL) + 1000, &terr),
	    VAL_TSIG_ERROR);
	assert_int_equal(terr, 18);
	/* the rcode changed on the way */
	a[3] = 5;
	assert_int_equal(val_dnsupd_check_answer(a, al, &k, (uint64_t)time(NULL), &terr), VAL_TSIG_BAD);
	a[3] = 0;
	/* an answer to another request */
	k.req_mac[0] ^= 1;
	assert_int_equal(val_dnsupd_check_answer(a, al, &k, (uint64_t)time(NULL), &terr), VAL_TSIG_BAD);
	k.req_mac[0] ^= 1;
	/* without its TSIG */
	a[11] = 0;
	assert_int_equal(val_dnsupd_check_answer(a, 12, &k, (uint64_t)time(NULL), &terr),
	    VAL_TSIG_UNSIGNED);
	/* truncated */
	a[11] = 1;
	assert_int_equal(val_dnsupd_check_answer(a, al - 3, &k, (uint64_t)time(NULL), &terr),
	    VAL_TSIG_BAD);
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

/* ---- against a real server: Knot DNS ---- */

#define KNOTD "/usr/sbin/knotd"
#define KNOTC "/usr/sbin/knotc"

struct knot {
	char dir[64];
	char conf[96];
	char server[32];
	pid_t pid;
};

/* A free UDP port on loopback (the kernel's pick, released for knotd). */
static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* knotd serving example.com on loopback, updates allowed with TSIG key "ra-key". */
static void
knot_start(struct knot *k)
{
	char path[128], line[256], secret[64];
	FILE *f;
	int i, up = 0, port = free_port();

	snprintf(k->dir, sizeof(k->dir), "/tmp/acme-knot-XXXXXX");
	assert_non_null(mkdtemp(k->dir));
	snprintf(k->conf, sizeof(k->conf), "%s/knot.conf", k->dir);
	snprintf(k->server, sizeof(k->server), "127.0.0.1:%d", port);
	assert_int_equal(EVP_EncodeBlock((unsigned char *)secret, key, 32), 44);
	f = fopen(k->conf, "w");
	assert_non_null(f);
	fprintf(f, "server:\n    listen: 127.0.0.1@%d\n    rundir: %s\n"
	    "log:\n  - target: stderr\n    any: info\n"
	    "database:\n    storage: %s\n"
	    "key:\n  - id: ra-key\n    algorithm: hmac-sha256\n    secret: %s\n"
	    "acl:\n  - id: upd\n    key: ra-key\n    action: update\n"
	    "control:\n    listen: %s/knot.sock\n"
	    "zone:\n  - domain: example.com\n    storage: %s\n    file: example.com.zone\n"
	    "    acl: upd\n", port, k->dir, k->dir, secret, k->dir, k->dir);
	fclose(f);
	snprintf(path, sizeof(path), "%s/example.com.zone", k->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN example.com.\n$TTL 60\n"
	    "@ SOA ns.example.com. admin.example.com. 1 60 60 3600 60\n"
	    "@ NS ns.example.com.\nns A 127.0.0.1\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/knotd.log", k->dir);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		if (freopen(path, "w", stderr) == NULL)
			_exit(126);
		execl(KNOTD, "knotd", "-c", k->conf, (char *)NULL);
		_exit(127);
	}
	/* Up once it says so (at most 10 s). */
	for (i = 0; i < 100 && !up; i++) {
		usleep(100 * 1000);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "server started") != NULL)
				up = 1;
		fclose(f);
	}
	assert_true(up);
}

static void
knot_stop(struct knot *k)
{
	char cmd[128];

	kill(k->pid, SIGTERM);
	waitpid(k->pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
	assert_int_equal(system(cmd), 0);
}

/* The TXT records of _acme-challenge.www.example.com as knotc shows them. */
static void
knot_txt(struct knot *k, char *out, size_t cap)
{
	char cmd[256];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s -c %s zone-read example.com _acme-challenge.www TXT 2>&1",
	    KNOTC, k->conf);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	pclose(p);
}

static void
knot_update(struct knot *k, const unsigned char *tsig_key, int present, struct res *r)
{
	struct val_loop *l = NULL;

	assert_int_equal(val_loop_new(&l), ACME_OK);
	drive(l, k->server, NULL, tsig_key, present, "knot-interop-value", 5000, r);
	val_loop_free(l);
}

static void
test_knot(void **state)
{
	struct knot k;
	struct res r;
	unsigned char wrong[32];
	char txt[1024];

	(void)state;
	if (access(KNOTD, X_OK) != 0 || access(KNOTC, X_OK) != 0) {
		print_message("knotd is not installed (Debian package knot): skipped\n");
		skip();
	}
	memset(&k, 0, sizeof(k));
	knot_start(&k);
	/* Signed update, signed answer that verifies (else: "not signed" and a timeout). */
	knot_update(&k, key, 1, &r);
	assert_string_equal(r.err, "");
	knot_txt(&k, txt, sizeof(txt));
	assert_non_null(strstr(txt, "\"knot-interop-value\""));
	knot_update(&k, key, 0, &r);
	assert_string_equal(r.err, "");
	knot_txt(&k, txt, sizeof(txt));
	assert_null(strstr(txt, "knot-interop-value"));
	/* Another key under the same name: knotd says BADSIG, and we say so. */
	memcpy(wrong, key, 32);
	wrong[0] ^= 1;
	knot_update(&k, wrong, 1, &r);
	assert_non_null(strstr(r.err, "BADSIG"));
	knot_txt(&k, txt, sizeof(txt));
	assert_null(strstr(txt, "knot-interop-value"));
	knot_stop(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_tsig),
		cmocka_unit_test(test_update_sent),
		cmocka_unit_test(test_answer_signed),
		cmocka_unit_test(test_check_answer),
		cmocka_unit_test(test_hook),
		cmocka_unit_test(test_knot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
