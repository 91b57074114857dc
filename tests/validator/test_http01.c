/*
 * http-01 against a local responder (HT-01..16, IP-04/05): the key
 * authorization check, status, size limits, redirects and their rules,
 * timeouts, the address policy, and names resolved through
 * pebble-challtestsrv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tests/validator/vtest.h"

static struct vt_http srv4, srv6;
static pid_t https_pid, https11_pid;
static int https_port, https11_port;
static struct vt_dns dns;
static struct val_loop *loop;
static struct val_engine *eng;

/* An HTTPS responder with a self-signed certificate: GET /hop/0/<tok> answers
 * tok.THUMB. max_version limits the TLS versions it speaks (0: any). */
static pid_t
https_start(int *port, int max_version)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	SSL_CTX *ctx;
	SSL *ssl;
	char req[4096], tok[256], body[512], head[256];
	int lfd, cfd, n, len;
	pid_t pid;

	if (key == NULL || x == NULL)
		return -1;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	if ((lfd = vt_listen(AF_INET, port, 64)) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_IGN);
		ctx = SSL_CTX_new(TLS_server_method());
		SSL_CTX_use_certificate(ctx, x);
		SSL_CTX_use_PrivateKey(ctx, key);
		if (max_version != 0) {
			SSL_CTX_set_security_level(ctx, 0);
			SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
			SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
			SSL_CTX_set_max_proto_version(ctx, max_version);
		}
		for (;;) {
			if ((cfd = accept(lfd, NULL, NULL)) < 0)
				continue;
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, cfd);
			if (SSL_accept(ssl) == 1 && (n = SSL_read(ssl, req, sizeof(req) - 1)) > 0) {
				req[n] = '\0';
				if (sscanf(req, "GET /hop/0/%255s", tok) == 1) {
					len = snprintf(body, sizeof(body), "%s.%s", tok, VT_THUMB);
					n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: "
					    "%d\r\nConnection: close\r\n\r\n", len);
					SSL_write(ssl, head, n);
					SSL_write(ssl, body, len);
				}
				SSL_shutdown(ssl);
			}
			SSL_free(ssl);
			close(cfd);
		}
	}
	setpgid(pid, pid);
	close(lfd);
	X509_free(x);
	EVP_PKEY_free(key);
	return pid;
}

static int
setup(void **state)
{
	(void)state;
	acme_log_level(LOG_WARNING);
	if (vt_http_start(&srv4, AF_INET) != 0 || vt_http_start(&srv6, AF_INET6) != 0 ||
	    vt_dns_start(&dns) != 0)
		return -1;
	if ((https_pid = https_start(&https_port, 0)) < 0 ||
	    (https11_pid = https_start(&https11_port, TLS1_1_VERSION)) < 0)
		return -1;
	if (val_loop_new(&loop) != ACME_OK || val_engine_new(loop, dns.resolver, &eng) != ACME_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	val_engine_free(eng);
	val_loop_free(loop);
	vt_http_stop(&srv4);
	vt_http_stop(&srv6);
	vt_dns_stop(&dns);
	vt_kill_group(https_pid);
	vt_kill_group(https11_pid);
	return 0;
}

/* http-01 of ident (an IP unless it has a letter) with token, allow_private on. */
static void
run(const char *ident, const char *token, int port, struct vt_result *r)
{
	struct acme_val_item it;
	struct val_opts o;
	int ip = strspn(ident, "0123456789.:") == strlen(ident);

	vt_item(&it, STORE_CH_HTTP01, ip ? STORE_IDENT_IP : STORE_IDENT_DNS, ident, token);
	vt_opts(&o, port, 0, 1);
	vt_validate(loop, eng, &it, &o, r);
	assert_true(r->done);
}

static void
expect_fail(const struct vt_result *r, enum acme_prob type, const char *needle)
{
	if (r->valid || r->type != type || strstr(r->detail, needle) == NULL)
		print_error("got %s: %s\n", r->valid ? "valid" : acme_prob_name(r->type), r->detail);
	assert_false(r->valid);
	assert_int_equal(r->type, type);
	assert_non_null(strstr(r->detail, needle));
}

static void
test_good(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "good1", srv4.port, &r);
	assert_true(r.valid);
}

static void
test_wrong_keyauth(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "wrong1", srv4.port, &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "Expected \"wrong1." VT_THUMB "\"");
	assert_non_null(strstr(r.detail, "wrongthumbprint"));
	/* The detail names the address and the URL tried. */
	assert_non_null(strstr(r.detail, "127.0.0.1: Fetching http://127.0.0.1:"));
	assert_non_null(strstr(r.detail, "/.well-known/acme-challenge/wrong1"));
}

static void
test_trailing_whitespace(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "ws1", srv4.port, &r);
	assert_true(r.valid);
}

static void
test_leading_whitespace(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "lead1", srv4.port, &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "did not match");
}

static void
test_not_found(void **state)
{
	struct vt_result r;
	const char *p;
	size_t run_x = 0, max_x = 0;

	(void)state;
	run("127.0.0.1", "nf1", srv4.port, &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "status 404");
	/* At most ~100 bytes of the 10 KB page, escaped. */
	assert_non_null(strstr(r.detail, "<html>\\x01secret"));
	for (p = r.detail; *p; p++) {
		run_x = *p == 'x' ? run_x + 1 : 0;
		if (run_x > max_x)
			max_x = run_x;
	}
	assert_true(max_x < 100);
	assert_true(strlen(r.detail) < 400);
}

static void
test_huge_body(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "huge1", srv4.port, &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "larger than");
	assert_true(r.ms < 15000);   /* stops reading at the limit */
}

static void
test_redirect_loop(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "loop1", srv4.port, &r);
	expect_fail(&r, PROB_CONNECTION, "Redirect loop");
}

static void
test_ten_redirects_ok(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "hops10", srv4.port, &r);
	assert_true(r.valid);
}

static void
test_too_many_redirects(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "hops11", srv4.port, &r);
	expect_fail(&r, PROB_CONNECTION, "Too many redirects");
}

static void
test_redirect_bad_port(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "port1", srv4.port, &r);
	expect_fail(&r, PROB_CONNECTION, "port 8080 is not 80 or 443");
}

static void
test_redirect_bad_scheme(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "ftp1", srv4.port, &r);
	expect_fail(&r, PROB_CONNECTION, "only http and https");
}

static void
test_redirect_303(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "s303x", srv4.port, &r);
	expect_fail(&r, PROB_CONNECTION, "redirect status 303");
}

static void
test_redirect_absolute(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "abs1", srv4.port, &r);
	assert_true(r.valid);
}

/* HT-11: an https hop with a self-signed certificate is fine; one that
 * speaks only TLS 1.1 is not. */
static void
test_redirect_https(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;
	char tok[32];

	(void)state;
	snprintf(tok, sizeof(tok), "tohttps%d", https_port);
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", tok);
	vt_opts(&o, srv4.port, 0, 1);
	o.https_port = https_port;
	vt_validate(loop, eng, &it, &o, &r);
	assert_true(r.valid);

	snprintf(tok, sizeof(tok), "tohttps%d", https11_port);
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", tok);
	o.https_port = https11_port;
	vt_validate(loop, eng, &it, &o, &r);
	expect_fail(&r, PROB_TLS, "TLS error");

	/* Without the port allowed, the redirect is refused before connecting. */
	snprintf(tok, sizeof(tok), "tohttps%d", https_port);
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", tok);
	o.https_port = 0;
	vt_validate(loop, eng, &it, &o, &r);
	expect_fail(&r, PROB_CONNECTION, "is not 80 or 443");
}

static void
test_redirect_multicast_refused(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "mcast1", srv4.port, &r);
	expect_fail(&r, PROB_CONNECTION, "refusing to connect to 224.0.0.1");
}

static void
test_silent_server_times_out(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;

	(void)state;
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", "silent1");
	vt_opts(&o, srv4.port, 0, 1);
	o.total_ms = 1500;
	vt_validate(loop, eng, &it, &o, &r);
	expect_fail(&r, PROB_CONNECTION, "Timeout after connect");
	assert_true(r.ms >= 1400 && r.ms < 15000);   /* at its deadline, not never */
}

static void
test_closed_without_response(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "close1", srv4.port, &r);
	expect_fail(&r, PROB_CONNECTION, "without a response");
}

static void
test_refused_port(void **state)
{
	struct vt_result r;
	int port = vt_free_port(SOCK_STREAM);

	(void)state;
	run("127.0.0.1", "good2", port, &r);
	expect_fail(&r, PROB_CONNECTION, "Connection refused");
}

static void
test_private_refused(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;
	int before = *srv4.conns;

	(void)state;
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", "good3");
	vt_opts(&o, srv4.port, 0, 0);
	vt_validate(loop, eng, &it, &o, &r);
	expect_fail(&r, PROB_CONNECTION, "refusing to connect to 127.0.0.1: a loopback address");
	usleep(100000);
	assert_int_equal(*srv4.conns, before);
}

static void
test_private_name_refused(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;
	int before = *srv4.conns;

	(void)state;
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_DNS, "p.test", "good4");
	vt_opts(&o, srv4.port, 0, 0);
	vt_validate(loop, eng, &it, &o, &r);
	expect_fail(&r, PROB_CONNECTION, "no address this CA may connect to");
	assert_non_null(strstr(r.detail, "127.0.0.1 (loopback)"));
	assert_non_null(strstr(r.detail, "::1 (loopback)"));
	usleep(100000);
	assert_int_equal(*srv4.conns, before);
}

static void
test_headers(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "hdr1", srv4.port, &r);
	assert_true(r.valid);
}

static void
test_ipv6_identifier(void **state)
{
	struct vt_result r;

	(void)state;
	/* Host: [::1]:port, checked by the responder. */
	run("::1", "hdr2", srv6.port, &r);
	assert_true(r.valid);
}

/* x.test has AAAA ::1 and A 127.0.0.1 (challtestsrv's defaults); srv4 only
 * listens on IPv4, so the IPv6 connection fails and IPv4 is used (HT-02). If
 * curl resolved x.test itself, the system resolver would not know it. */
static void
test_name_ipv6_fallback(void **state)
{
	struct vt_result r;

	(void)state;
	run("x.test", "good5", srv4.port, &r);
	assert_true(r.valid);
}

/* srv6 listens on ::1: IPv6 is tried first and answers. An HTTP error there
 * is final: no fallback to IPv4 (where srv4 would not even be on that port). */
static void
test_name_ipv6_first(void **state)
{
	struct vt_result r;

	(void)state;
	run("x.test", "good6", srv6.port, &r);
	assert_true(r.valid);
	run("x.test", "nf2", srv6.port, &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "::1: Fetching");
}

static void
test_redirect_to_name(void **state)
{
	struct vt_result r;

	(void)state;
	run("127.0.0.1", "name1", srv4.port, &r);
	assert_true(r.valid);
}

/* Without a configured resolver, names under localhost answer loopback
 * (RFC 6761) from libunbound's own zone, with no query sent anywhere. */
static void
test_localhost_system_resolver(void **state)
{
	struct val_loop *l = NULL;
	struct val_engine *e = NULL;
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;

	(void)state;
	assert_int_equal(val_loop_new(&l), ACME_OK);
	assert_int_equal(val_engine_new(l, NULL, &e), ACME_OK);
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_DNS, "app.localhost", "good9");
	vt_opts(&o, srv4.port, 0, 1);
	vt_validate(l, e, &it, &o, &r);
	assert_true(r.valid);
	vt_opts(&o, srv4.port, 0, 0);
	vt_validate(l, e, &it, &o, &r);
	expect_fail(&r, PROB_CONNECTION, "127.0.0.1 (loopback)");
	val_engine_free(e);
	val_loop_free(l);
}

static void
test_dns_failure(void **state)
{
	struct val_loop *l = NULL;
	struct val_engine *e = NULL;
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;
	char res[32];
	int s, port;

	(void)state;
	/* A resolver that never answers. */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	port = vt_free_port(SOCK_DGRAM);
	{
		struct sockaddr_in sa;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	snprintf(res, sizeof(res), "127.0.0.1:%d", port);
	assert_int_equal(val_loop_new(&l), ACME_OK);
	assert_int_equal(val_engine_new(l, res, &e), ACME_OK);
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_DNS, "x.test", "good7");
	vt_opts(&o, srv4.port, 0, 1);
	o.dns_ms = 800;
	vt_validate(l, e, &it, &o, &r);
	expect_fail(&r, PROB_DNS, "x.test");
	assert_true(r.ms < 15000);
	/* IP-04: an IP identifier is validated at its address, with no lookup
	 * (which this resolver would never answer). */
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", "good7ip");
	vt_validate(l, e, &it, &o, &r);
	assert_true(r.valid);
	assert_true(r.ms < o.dns_ms);   /* a lookup would have taken dns_ms */
	val_engine_free(e);
	val_loop_free(l);
	close(s);
}

static void
test_bad_items(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	vt_opts(&o, srv4.port, 0, 1);
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_DNS, "x.test", "../../etc");
	assert_int_equal(val_start(eng, &it, &o, vt_done, &r), ACME_EINVAL);
	vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1%lo", "good8");
	assert_int_equal(val_start(eng, &it, &o, vt_done, &r), ACME_EINVAL);
	vt_item(&it, 9, STORE_IDENT_DNS, "x.test", "good8");
	assert_int_equal(val_start(eng, &it, &o, vt_done, &r), ACME_EINVAL);
	assert_false(r.done);
	assert_int_equal(val_engine_inflight(eng), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_wrong_keyauth),
		cmocka_unit_test(test_trailing_whitespace),
		cmocka_unit_test(test_leading_whitespace),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_huge_body),
		cmocka_unit_test(test_redirect_loop),
		cmocka_unit_test(test_ten_redirects_ok),
		cmocka_unit_test(test_too_many_redirects),
		cmocka_unit_test(test_redirect_bad_port),
		cmocka_unit_test(test_redirect_bad_scheme),
		cmocka_unit_test(test_redirect_303),
		cmocka_unit_test(test_redirect_absolute),
		cmocka_unit_test(test_redirect_https),
		cmocka_unit_test(test_redirect_multicast_refused),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_closed_without_response),
		cmocka_unit_test(test_refused_port),
		cmocka_unit_test(test_private_refused),
		cmocka_unit_test(test_private_name_refused),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_ipv6_identifier),
		cmocka_unit_test(test_name_ipv6_fallback),
		cmocka_unit_test(test_name_ipv6_first),
		cmocka_unit_test(test_redirect_to_name),
		cmocka_unit_test(test_localhost_system_resolver),
		cmocka_unit_test(test_dns_failure),
		cmocka_unit_test(test_bad_items),
	};

	return cmocka_run_group_tests_name("http01", tests, setup, teardown);
}
