/*
 * tls-alpn-01 against a small OpenSSL server forked per case that presents a
 * crafted certificate (AL-02..12, IP-06): SNI, ALPN, the one SAN, the
 * acmeIdentifier extension (critical, exact DER, the right digest, once),
 * TLS versions, alerts, timeouts and the address policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tests/validator/vtest.h"

/* What the server saw, in shared memory. */
struct tls_seen {
	int conns;
	int handshakes;
	int appdata;                   /* application data received after the handshake */
	char sni[300];
	char alpn[64];                 /* the protocols the client offered, comma separated */
};

enum alpn_mode { ALPN_ACME, ALPN_NONE, ALPN_ALERT };

struct cert_spec {
	const char *dns[2];
	const char *ip;
	int ext;                       /* add acmeIdentifier */
	int noncrit;
	int wrong_digest;
	int twice;
	int trailing;
};

static struct vt_dns dns;
static struct val_loop *loop;
static struct val_engine *eng;
static EVP_PKEY *key;
static struct tls_seen *seen;
static pid_t srv_pid;
static int srv_port;

static int
setup(void **state)
{
	(void)state;
	acme_log_level(LOG_WARNING);
	seen = mmap(NULL, sizeof(*seen), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (seen == MAP_FAILED || (key = EVP_EC_gen("P-256")) == NULL || vt_dns_start(&dns) != 0)
		return -1;
	if (val_loop_new(&loop) != ACME_OK || val_engine_new(loop, dns.resolver, &eng) != ACME_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	vt_kill_group(srv_pid);
	val_engine_free(eng);
	val_loop_free(loop);
	vt_dns_stop(&dns);
	EVP_PKEY_free(key);
	return 0;
}

static X509 *
make_cert(const char *keyauth, const struct cert_spec *cs)
{
	X509 *x = X509_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;
	X509_NAME *name;
	unsigned char md[32], der[64], *p = der;
	int i, n;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"acme", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	for (i = 0; i < 2 && cs->dns[i] != NULL; i++) {
		g = GENERAL_NAME_new();
		g->type = GEN_DNS;
		g->d.dNSName = ASN1_IA5STRING_new();
		ASN1_STRING_set(g->d.dNSName, cs->dns[i], -1);
		sk_GENERAL_NAME_push(gens, g);
	}
	if (cs->ip != NULL) {
		g = GENERAL_NAME_new();
		g->type = GEN_IPADD;
		g->d.iPAddress = a2i_IPADDRESS(cs->ip);
		sk_GENERAL_NAME_push(gens, g);
	}
	if (sk_GENERAL_NAME_num(gens) > 0)
		X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
	EVP_Digest(keyauth, strlen(keyauth), md, NULL, EVP_sha256(), NULL);
	if (cs->wrong_digest)
		md[0] ^= 1;
	ASN1_OCTET_STRING_set(inner, md, 32);
	n = i2d_ASN1_OCTET_STRING(inner, &p);
	if (cs->trailing)
		der[n++] = 0;
	ASN1_OCTET_STRING_set(outer, der, n);
	for (i = 0; cs->ext && i < (cs->twice ? 2 : 1); i++) {
		ext = X509_EXTENSION_create_by_OBJ(NULL, oid, !cs->noncrit, outer);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	GENERAL_NAMES_free(gens);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(outer);
	return x;
}

static int
srv_sni(SSL *s, int *al, void *arg)
{
	const char *n = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);

	(void)al;
	(void)arg;
	snprintf(seen->sni, sizeof(seen->sni), "%s", n ? n : "");
	return SSL_TLSEXT_ERR_OK;
}

static int
srv_alpn(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned int inlen, void *arg)
{
	enum alpn_mode mode = (enum alpn_mode)(intptr_t)arg;
	unsigned int i, o = 0;

	(void)s;
	for (i = 0; i < inlen && o + in[i] + 2 < sizeof(seen->alpn); i += 1 + in[i]) {
		if (o)
			seen->alpn[o++] = ',';
		memcpy(seen->alpn + o, in + i + 1, in[i]);
		o += in[i];
	}
	seen->alpn[o] = '\0';
	if (mode == ALPN_NONE)
		return SSL_TLSEXT_ERR_NOACK;
	if (mode == ALPN_ALERT)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	if (inlen < 11 || memcmp(in, "\x0a" "acme-tls/1", 11) != 0)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = in + 1;
	*outlen = in[0];
	return SSL_TLSEXT_ERR_OK;
}

/* Fork a TLS server on family's loopback presenting cert. */
static void
start_server(X509 *cert, enum alpn_mode mode, int max_version, int family)
{
	struct pollfd pfd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[256];
	int lfd, cfd;

	vt_kill_group(srv_pid);
	memset(seen, 0, sizeof(*seen));
	lfd = vt_listen(family, &srv_port, 64);
	assert_true(lfd >= 0);
	srv_pid = fork();
	assert_true(srv_pid >= 0);
	if (srv_pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_IGN);
		ctx = SSL_CTX_new(TLS_server_method());
		SSL_CTX_use_certificate(ctx, cert);
		SSL_CTX_use_PrivateKey(ctx, key);
		SSL_CTX_set_tlsext_servername_callback(ctx, srv_sni);
		SSL_CTX_set_alpn_select_cb(ctx, srv_alpn, (void *)(intptr_t)mode);
		if (max_version != 0) {
			SSL_CTX_set_security_level(ctx, 0);
			SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
			SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
			SSL_CTX_set_max_proto_version(ctx, max_version);
		}
		for (;;) {
			if ((cfd = accept(lfd, NULL, NULL)) < 0)
				continue;
			seen->conns++;
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, cfd);
			if (SSL_accept(ssl) == 1) {
				seen->handshakes++;
				pfd.fd = cfd;
				pfd.events = POLLIN;
				if (poll(&pfd, 1, 1000) > 0 && SSL_read(ssl, buf, sizeof(buf)) > 0)
					seen->appdata++;
			}
			SSL_free(ssl);
			close(cfd);
		}
	}
	setpgid(srv_pid, srv_pid);
	close(lfd);
}

static void
run(const char *ident, int ident_type, const char *token, int allow_private, struct vt_result *r)
{
	struct acme_val_item it;
	struct val_opts o;

	vt_item(&it, STORE_CH_TLSALPN01, ident_type, ident, token);
	vt_opts(&o, 0, srv_port, allow_private);
	vt_validate(loop, eng, &it, &o, r);
	assert_true(r->done);
}

/* Serve a certificate made by spec for token, then validate ident. */
static void
serve_and_run(const struct cert_spec *cs, enum alpn_mode mode, const char *ident, int ident_type,
    const char *token, struct vt_result *r)
{
	char ka[160];
	X509 *x;

	snprintf(ka, sizeof(ka), "%s.%s", token, VT_THUMB);
	x = make_cert(ka, cs);
	start_server(x, mode, 0, AF_INET);
	X509_free(x);
	run(ident, ident_type, token, 1, r);
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
test_good_ip(void **state)
{
	struct cert_spec cs = { .ip = "127.0.0.1", .ext = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "127.0.0.1", STORE_IDENT_IP, "tok1", &r);
	assert_true(r.valid);
	/* RFC 8738: the reverse-mapping name as SNI; exactly acme-tls/1 offered. */
	assert_string_equal(seen->sni, "1.0.0.127.in-addr.arpa");
	assert_string_equal(seen->alpn, "acme-tls/1");
	usleep(200000);
	assert_int_equal(seen->appdata, 0);
	assert_int_equal(seen->handshakes, 1);
}

/* x.test: AAAA ::1 (nothing listens there) then A 127.0.0.1; the SAN may
 * differ in case. */
static void
test_good_name(void **state)
{
	struct cert_spec cs = { .dns = { "X.Test" }, .ext = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "x.test", STORE_IDENT_DNS, "tok2", &r);
	assert_true(r.valid);
	assert_string_equal(seen->sni, "x.test");
}

static void
test_ipv6_sni(void **state)
{
	struct cert_spec cs = { .ip = "::1", .ext = 1 };
	struct vt_result r;
	char ka[160];
	X509 *x;

	(void)state;
	snprintf(ka, sizeof(ka), "tok3.%s", VT_THUMB);
	x = make_cert(ka, &cs);
	start_server(x, ALPN_ACME, 0, AF_INET6);
	X509_free(x);
	run("::1", STORE_IDENT_IP, "tok3", 1, &r);
	assert_true(r.valid);
	assert_string_equal(seen->sni, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "ip6.arpa");
}

static void
test_not_critical(void **state)
{
	struct cert_spec cs = { .dns = { "x.test" }, .ext = 1, .noncrit = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "x.test", STORE_IDENT_DNS, "tok4", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "not critical");
}

static void
test_missing_extension(void **state)
{
	struct cert_spec cs = { .dns = { "x.test" } };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "x.test", STORE_IDENT_DNS, "tok5", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "no acmeIdentifier extension");
}

static void
test_wrong_digest(void **state)
{
	struct cert_spec cs = { .dns = { "x.test" }, .ext = 1, .wrong_digest = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "x.test", STORE_IDENT_DNS, "tok6", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "does not hold SHA-256");
}

static void
test_two_sans(void **state)
{
	struct cert_spec cs = { .dns = { "x.test", "other.test" }, .ext = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "x.test", STORE_IDENT_DNS, "tok7", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "exactly one name");
}

static void
test_other_name(void **state)
{
	struct cert_spec cs = { .dns = { "other.test" }, .ext = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "x.test", STORE_IDENT_DNS, "tok8", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "\"other.test\", not x.test");
}

static void
test_ip_needs_ip_san(void **state)
{
	struct cert_spec cs = { .dns = { "127.0.0.1" }, .ext = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "127.0.0.1", STORE_IDENT_IP, "tok9", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "must be the iPAddress 127.0.0.1");
}

static void
test_wrong_alpn(void **state)
{
	struct cert_spec cs = { .dns = { "x.test" }, .ext = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_NONE, "x.test", STORE_IDENT_DNS, "tok10", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "Cannot negotiate ALPN protocol");
}

static void
test_alert(void **state)
{
	struct cert_spec cs = { .dns = { "x.test" }, .ext = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ALERT, "x.test", STORE_IDENT_DNS, "tok11", &r);
	expect_fail(&r, PROB_TLS, "TLS handshake failed");
}

static void
test_duplicate_extension(void **state)
{
	struct cert_spec cs = { .dns = { "x.test" }, .ext = 1, .twice = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "x.test", STORE_IDENT_DNS, "tok12", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "more than once");
}

static void
test_trailing_bytes(void **state)
{
	struct cert_spec cs = { .dns = { "x.test" }, .ext = 1, .trailing = 1 };
	struct vt_result r;

	(void)state;
	serve_and_run(&cs, ALPN_ACME, "x.test", STORE_IDENT_DNS, "tok13", &r);
	expect_fail(&r, PROB_UNAUTHORIZED, "not a DER OCTET STRING of 32 bytes");
}

static void
test_tls11_refused(void **state)
{
	struct cert_spec cs = { .dns = { "x.test" }, .ext = 1 };
	struct vt_result r;
	char ka[160];
	X509 *x;

	(void)state;
	snprintf(ka, sizeof(ka), "tok14.%s", VT_THUMB);
	x = make_cert(ka, &cs);
	start_server(x, ALPN_ACME, TLS1_1_VERSION, AF_INET);
	X509_free(x);
	run("x.test", STORE_IDENT_DNS, "tok14", 1, &r);
	expect_fail(&r, PROB_TLS, "TLS handshake failed");
	assert_int_equal(seen->handshakes, 0);
}

static void
test_private_refused(void **state)
{
	struct cert_spec cs = { .ip = "127.0.0.1", .ext = 1 };
	struct vt_result r;
	char ka[160];
	X509 *x;

	(void)state;
	snprintf(ka, sizeof(ka), "tok15.%s", VT_THUMB);
	x = make_cert(ka, &cs);
	start_server(x, ALPN_ACME, 0, AF_INET);
	X509_free(x);
	run("127.0.0.1", STORE_IDENT_IP, "tok15", 0, &r);
	expect_fail(&r, PROB_CONNECTION, "refusing to connect to a loopback address");
	run("x.test", STORE_IDENT_DNS, "tok15", 0, &r);
	expect_fail(&r, PROB_CONNECTION, "no address this CA may connect to");
	usleep(100000);
	assert_int_equal(seen->conns, 0);
}

/* A listener that never accepts: TCP connects, the handshake never ends. */
static void
test_silent(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;
	int fd, port = 0;

	(void)state;
	fd = vt_listen(AF_INET, &port, 16);
	assert_true(fd >= 0);
	vt_item(&it, STORE_CH_TLSALPN01, STORE_IDENT_IP, "127.0.0.1", "tok16");
	vt_opts(&o, 0, port, 1);
	o.total_ms = 1000;
	vt_validate(loop, eng, &it, &o, &r);
	expect_fail(&r, PROB_CONNECTION, "Timeout during the TLS handshake");
	assert_true(r.ms >= 900 && r.ms < 15000);   /* at its deadline, not never */
	close(fd);
}

static void
test_refused(void **state)
{
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r;

	(void)state;
	vt_item(&it, STORE_CH_TLSALPN01, STORE_IDENT_IP, "127.0.0.1", "tok17");
	vt_opts(&o, 0, vt_free_port(SOCK_STREAM), 1);
	vt_validate(loop, eng, &it, &o, &r);
	expect_fail(&r, PROB_CONNECTION, "Connection refused");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_ip),
		cmocka_unit_test(test_good_name),
		cmocka_unit_test(test_ipv6_sni),
		cmocka_unit_test(test_not_critical),
		cmocka_unit_test(test_missing_extension),
		cmocka_unit_test(test_wrong_digest),
		cmocka_unit_test(test_two_sans),
		cmocka_unit_test(test_other_name),
		cmocka_unit_test(test_ip_needs_ip_san),
		cmocka_unit_test(test_wrong_alpn),
		cmocka_unit_test(test_alert),
		cmocka_unit_test(test_duplicate_extension),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_tls11_refused),
		cmocka_unit_test(test_private_refused),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests_name("tlsalpn01", tests, setup, teardown);
}
