/*
 * The seed corpora of the fuzz harnesses: `make fuzz-seeds` writes them
 * into tests/fuzz/corpus/<harness>/, where they are committed. Each is a
 * meaningful input: JWS bodies signed with the fixed test keys (fuzzlib.c)
 * that the harnesses verify with, CSRs and certificates made with OpenSSL,
 * store records from the store's own encoders, configurations, DNS and CAA
 * rdata, FastCGI parameter sets and requests in the formats the harnesses
 * read (see the comment at the top of each). Generated keys and random ids
 * make the bytes differ between runs; what they exercise does not.
 *
 * Inputs that once found a bug are kept by hand in tests/fuzz/regress/,
 * never written here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/b64.h"
#include "core/jwk.h"
#include "core/validation.h"
#include "store/internal.h"
#include "tests/fuzz/fuzzlib.h"
#include "tests/lib/testkeys.h"

#define KEYAUTH "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define ID1 "AAAAAAAAAAAAAAAAAAAAAA"
#define ID2 "BBBBBBBBBBBBBBBBBBBBBB"
#define ID3 "CCCCCCCCCCCCCCCCCCCCCC"
#define THUMB "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define TOKEN "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

static const char *root;
static int nseeds;

/* Prototypes for the generators keep -Wmissing-prototypes quiet: they are
 * all static. */
static void seed(const char *harness, const char *name, const void *data, size_t len);

static void
mkdirs(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "make_seeds: mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void
seed(const char *harness, const char *name, const void *data, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, harness);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/%s/%s", root, harness, name);
	fz_write_file(path, data, len);
	nseeds++;
}

static void
seed_str(const char *harness, const char *name, const char *s)
{
	seed(harness, name, s, strlen(s));
}

/* A seed with a leading mode/flag byte (or two). */
static void
seed_f(const char *harness, const char *name, const unsigned char *flags, size_t nflags,
    const char *rest)
{
	size_t n = strlen(rest);
	unsigned char *b = malloc(nflags + n);

	memcpy(b, flags, nflags);
	memcpy(b + nflags, rest, n);
	seed(harness, name, b, nflags + n);
	free(b);
}

static char *
b64u_str(const char *s)
{
	return fz_b64u(s, strlen(s));
}

/* ------------------------------------------------------------------ */

static void
seeds_b64(void)
{
	char *h = b64u_str("{\"alg\":\"ES256\"}");

	seed_str("b64", "empty", "");
	seed_str("b64", "one-byte", "AA");
	seed_str("b64", "two-bytes", "AAE");
	seed_str("b64", "three-bytes", "AAEC");
	seed_str("b64", "alphabet", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	seed_str("b64", "header", h);
	seed_str("b64", "bad-length", "AAAAA");
	seed_str("b64", "bad-trailing-bits", "AB");
	seed_str("b64", "std-alphabet", "a+b/");
	seed_str("b64", "padding", "AAA=");
	free(h);
}

static void
seeds_json(void)
{
	seed_str("json", "new-account", "{\"termsOfServiceAgreed\":true,\"contact\":"
	    "[\"mailto:admin@example.com\"]}");
	seed_str("json", "new-order", "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.example.com\"},"
	    "{\"type\":\"ip\",\"value\":\"2001:db8::1\"}],\"notBefore\":\"2030-01-01T00:00:00Z\"}");
	seed_str("json", "problem", "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":"
	    "\"x\",\"status\":400,\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
	    "\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"}}]}");
	seed_str("json", "escapes", "[\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\xc3\xa9\xf0\x9f\x98\x80\"]");
	seed_str("json", "numbers", "[0,-0,1.5e300,-9223372036854775808,9223372036854775807,1E-5,0.0]");
	seed_str("json", "literals", " [true, false, null, {}, [], \"\"] ");
	seed_str("json", "depth-10", "[[[[[[[[[[1]]]]]]]]]]");
	seed_str("json", "depth-11", "[[[[[[[[[[[1]]]]]]]]]]]");
	seed_str("json", "duplicate", "{\"a\":1,\"a\":2}");
	seed_str("json", "nul-escape", "[\"\\u0000\"]");
	seed_str("json", "lone-surrogate", "[\"\\udc00\"]");
	seed_str("json", "overlong-utf8", "[\"\xc0\xaf\"]");
	seed_str("json", "trailing-comma", "{\"a\":1,}");
	seed_str("json", "big-int", "[9223372036854775808]");
	seed_str("json", "trailing-data", "{} {}");
}

static char *
jwk_of(EVP_PKEY *k)
{
	struct acme_jwk j;
	char *s;

	if (jwk_from_pkey(k, &j) != ACME_OK) {
		fprintf(stderr, "make_seeds: jwk_from_pkey\n");
		exit(1);
	}
	s = strdup(j.canon);
	jwk_clear(&j);
	return s;
}

static void
seeds_jwk(void)
{
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	char *s, *t;

	seed_str("jwk", "p256", s = jwk_of(fz_key("p256")));
	t = tk_printf("%.*s,\"alg\":\"ES256\",\"use\":\"sig\"}", (int)strlen(s) - 1, s);
	seed_str("jwk", "p256-alg", t);
	free(t);
	t = tk_printf("%.*s,\"d\":\"AAAA\"}", (int)strlen(s) - 1, s);
	seed_str("jwk", "p256-private", t);
	free(t);
	t = tk_printf("%.*s,\"alg\":\"RS256\"}", (int)strlen(s) - 1, s);
	seed_str("jwk", "p256-wrong-alg", t);
	free(t);
	free(s);
	seed_str("jwk", "p384", s = jwk_of(p384));
	free(s);
	seed_str("jwk", "p521", s = jwk_of(p521));
	free(s);
	seed_str("jwk", "ed25519", s = jwk_of(fz_key("ed25519")));
	free(s);
	seed_str("jwk", "ed448", s = jwk_of(ed448));
	free(s);
	seed_str("jwk", "rsa2048", s = jwk_of(fz_key("rsa2048")));
	free(s);
	seed_str("jwk", "rsa2048-tk", s = tk_jwk_json(fz_key("rsa2048")));
	free(s);
	seed_str("jwk", "secp256k1", s = tk_jwk_json(k1));
	free(s);
	seed_str("jwk", "rsa-small-e", "{\"kty\":\"RSA\",\"n\":\"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw\",\"e\":\"Aw\"}");
	seed_str("jwk", "rsa-leading-zero", "{\"kty\":\"RSA\",\"n\":\"ALF3IQ2kHmx5z4hr8gzgE-LGhhFHrUsqPTCizqFhbLnqsttmznYFqeA8tVpVM3sG4AR6HeaXDPR_eRkEVdyQ126CEUTkgYoHgucoxRdYQ\",\"e\":\"AQAB\"}");
	seed_str("jwk", "ec-off-curve", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}");
	seed_str("jwk", "oct", "{\"kty\":\"oct\",\"k\":\"AAAA\"}");
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(ed448);
	EVP_PKEY_free(k1);
}

static void
seeds_jws(void)
{
	char *jwk = jwk_of(fz_key("p256")), *ed = jwk_of(fz_key("ed25519"));
	char *rsa = jwk_of(fz_key("rsa2048")), *h, *s, *inner, *p;

	h = tk_printf("{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\","
	    "\"url\":\"" FZ_BASE_URL "/acme/default/new-account\"}", jwk);
	seed_str("jws", "es256-jwk", s = tk_jws(fz_key("p256"), "ES256", h,
	    "{\"termsOfServiceAgreed\":true}", 0));
	free(s);
	seed_str("jws", "es256-der-sig", s = tk_jws(fz_key("p256"), "ES256", h, "{}", TK_DER_SIG));
	free(s);
	free(h);
	h = strdup("{\"alg\":\"ES256\",\"kid\":\"" FZ_BASE_URL "/acme/default/acct/" ID1 "\","
	    "\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"url\":\"" FZ_BASE_URL "/acme/default/order/" ID2 "\"}");
	seed_str("jws", "es256-kid-post-as-get", s = tk_jws(fz_key("p256"), "ES256", h, "", 0));
	free(s);
	free(h);
	h = tk_printf("{\"alg\":\"EdDSA\",\"jwk\":%s,\"nonce\":\"x\",\"url\":\"u\"}", ed);
	seed_str("jws", "eddsa", s = tk_jws(fz_key("ed25519"), "EdDSA", h, "{\"a\":1}", 0));
	free(s);
	free(h);
	h = tk_printf("{\"alg\":\"RS256\",\"jwk\":%s,\"nonce\":\"x\",\"url\":\"u\"}", rsa);
	seed_str("jws", "rs256", s = tk_jws(fz_key("rsa2048"), "RS256", h, "{}", 0));
	free(s);
	free(h);
	h = tk_printf("{\"alg\":\"PS256\",\"jwk\":%s,\"nonce\":\"x\",\"url\":\"u\"}", rsa);
	seed_str("jws", "ps256", s = tk_jws(fz_key("rsa2048"), "PS256", h, "{}", 0));
	free(s);
	seed_str("jws", "ps256-salt20", s = tk_jws(fz_key("rsa2048"), "PS256", h, "{}", TK_PSS_SALT20));
	free(s);
	free(h);
	/* An EAB binding: HS256 over the account's JWK. */
	seed_str("jws", "hs256-eab", s = tk_jws_mac(fz_mac_key, sizeof(fz_mac_key), "HS256",
	    "{\"alg\":\"HS256\",\"kid\":\"" FZ_MAC_KID "\",\"url\":\"" FZ_BASE_URL "/acme/default/new-account\"}",
	    jwk));
	free(s);
	/* A keyChange inner JWS (no nonce) inside a payload. */
	h = tk_printf("{\"alg\":\"EdDSA\",\"jwk\":%s,\"url\":\"" FZ_BASE_URL "/acme/default/key-change\"}", ed);
	p = tk_printf("{\"account\":\"" FZ_BASE_URL "/acme/default/acct/" ID1 "\",\"oldKey\":%s}", jwk);
	seed_str("jws", "keychange-inner", inner = tk_jws(fz_key("ed25519"), "EdDSA", h, p, 0));
	free(h);
	free(p);
	free(inner);
	seed_str("jws", "compact", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA");
	seed_str("jws", "unprotected-header", "{\"protected\":\"e30\",\"header\":{},\"payload\":\"\",\"signature\":\"AA\"}");
	seed_str("jws", "general", "{\"payload\":\"\",\"signatures\":[]}");
	h = b64u_str("{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"],\"kid\":\"k\",\"nonce\":\"n\",\"url\":\"u\"}");
	p = tk_jws_body(h, "e30", "AAAA");
	seed_str("jws", "b64-false", p);
	free(p);
	free(h);
	h = b64u_str("{\"alg\":\"none\",\"kid\":\"k\",\"nonce\":\"n\",\"url\":\"u\"}");
	p = tk_jws_body(h, "e30", "AAAA");
	seed_str("jws", "alg-none", p);
	free(p);
	free(h);
	free(jwk);
	free(ed);
	free(rsa);
}

/* A CSR for names ("DNS:a,IP:b" as for OpenSSL's subjectAltName), subject
 * CN cn (NULL: none), signed by key with md; extra is another extension
 * line ("basicConstraints=critical,CA:TRUE") or NULL. DER, malloc'd. */
static unsigned char *
csr(EVP_PKEY *key, const EVP_MD *md, const char *cn, const char *sans, const char *extra_nid,
    const char *extra_val, int pss, int *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;

	if (cn != NULL)
		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, nm);
	X509_REQ_set_pubkey(req, key);
	if (sans != NULL)
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
		    sans));
	if (extra_nid != NULL)
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf(NULL, NULL, extra_nid, extra_val));
	if (sk_X509_EXTENSION_num(exts) > 0)
		X509_REQ_add_extensions(req, exts);
	EVP_DigestSignInit(ctx, &pctx, md, NULL, key);
	if (pss) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	}
	if (X509_REQ_sign_ctx(req, ctx) <= 0 || (*len = i2d_X509_REQ(req, &der)) <= 0) {
		fprintf(stderr, "make_seeds: CSR\n");
		exit(1);
	}
	EVP_MD_CTX_free(ctx);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return der;
}

static void
seed_csr(const char *name, unsigned char *der, int len)
{
	seed("csr", name, der, (size_t)len);
	OPENSSL_free(der);
}

static void
seeds_csr(void)
{
	EVP_PKEY *p256 = fz_key("p256b"), *rsa = fz_key("rsa2048"), *ed = fz_key("ed25519");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	char many[8192];
	size_t o = 0;
	int i, len;

	seed_csr("p256-cn-san", csr(p256, EVP_sha256(), "fuzz.example",
	    "DNS:fuzz.example,DNS:www.fuzz.example", NULL, NULL, 0, &len), len);
	seed_csr("rsa-ip-dns", csr(rsa, EVP_sha256(), NULL, "DNS:a.example,IP:192.0.2.1,IP:2001:db8::1",
	    "keyUsage", "critical,digitalSignature,keyEncipherment", 0, &len), len);
	seed_csr("rsa-pss", csr(rsa, EVP_sha384(), "a.example", "DNS:a.example", NULL, NULL, 1, &len),
	    len);
	seed_csr("ed25519", csr(ed, NULL, NULL, "DNS:*.fuzz.example", "extendedKeyUsage",
	    "serverAuth,clientAuth", 0, &len), len);
	seed_csr("p384-sha512", csr(p384, EVP_sha512(), "UPPER.Example", "DNS:upper.example", "tlsfeature",
	    "status_request", 0, &len), len);
	seed_csr("ca-true", csr(p256, EVP_sha256(), NULL, "DNS:a.example", "basicConstraints",
	    "critical,CA:TRUE", 0, &len), len);
	seed_csr("ca-false", csr(p256, EVP_sha256(), NULL, "DNS:a.example", "basicConstraints",
	    "critical,CA:FALSE", 0, &len), len);
	seed_csr("ip-in-cn", csr(p256, EVP_sha256(), "192.0.2.1", "IP:192.0.2.1", NULL, NULL, 0, &len),
	    len);
	seed_csr("email-san", csr(p256, EVP_sha256(), NULL, "email:a@example.com,DNS:a.example", NULL,
	    NULL, 0, &len), len);
	seed_csr("unknown-critical", csr(p256, EVP_sha256(), NULL, "DNS:a.example", "nsComment",
	    "critical,hello", 0, &len), len);
	seed_csr("sha1", csr(rsa, EVP_sha1(), NULL, "DNS:a.example", NULL, NULL, 0, &len), len);
	seed_csr("no-names", csr(p256, EVP_sha256(), NULL, NULL, NULL, NULL, 0, &len), len);
	for (i = 0; i < 101; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%sDNS:n%d.example", i ? "," : "", i);
	seed_csr("101-names", csr(p256, EVP_sha256(), NULL, many, NULL, NULL, 0, &len), len);
	EVP_PKEY_free(p384);
}

static void
seeds_ident(void)
{
	static const unsigned char m0 = 0, m1 = 1, m2 = 2, m3 = 3, m4 = 4, m5 = 5, m6 = 6;

	seed_f("ident", "obj-dns", &m0, 1, "{\"type\":\"dns\",\"value\":\"www.Example.com\"}");
	seed_f("ident", "obj-wildcard", &m0, 1, "{\"type\":\"dns\",\"value\":\"*.example.com\"}");
	seed_f("ident", "obj-ip6", &m0, 1, "{\"type\":\"ip\",\"value\":\"2001:db8::1\"}");
	seed_f("ident", "obj-email", &m0, 1, "{\"type\":\"email\",\"value\":\"a@b\"}");
	seed_f("ident", "dns-punycode", &m1, 1, "xn--bcher-kva.example");
	seed_f("ident", "dns-bad-punycode", &m1, 1, "xn--a-ecp.xn--zz.example");
	seed_f("ident", "dns-hyphens", &m1, 1, "ab--cd.example");
	seed_f("ident", "dns-trailing-dot", &m1, 1, "example.com.");
	seed_f("ident", "dns-numeric", &m1, 1, "a.123");
	seed_f("ident", "dns-mid-wildcard", &m1, 1, "a.*.example.com");
	seed_f("ident", "dns-long-label", &m1, 1,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example");
	seed_f("ident", "ip4", &m2, 1, "192.0.2.1");
	seed_f("ident", "ip4-leading-zero", &m2, 1, "192.0.2.01");
	seed_f("ident", "ip6-long", &m2, 1, "2001:0db8:0:0:0:0:0:1");
	seed_f("ident", "ip6-mapped", &m2, 1, "::ffff:192.0.2.1");
	seed_f("ident", "ip6-zone", &m2, 1, "fe80::1%eth0");
	seed_f("ident", "pattern-suffix", &m3, 1, ".example.com\nwww.example.com");
	seed_f("ident", "pattern-wildcard", &m3, 1, "*.example.com\n*.example.com");
	seed_f("ident", "pattern-exact", &m3, 1, "example.com\nexample.com");
	seed_f("ident", "pattern-tld", &m3, 1, ".internal\na.b.internal");
	seed_f("ident", "range4", &m4, 1, "10.0.0.0/8\n10.1.2.3");
	seed_f("ident", "range6", &m4, 1, "2001:db8::/33\n2001:db8:8000::1");
	seed_f("ident", "range-host", &m4, 1, "192.0.2.1\n192.0.2.1");
	seed_f("ident", "contacts", &m5, 1, "[\"mailto:a@example.com\",\"tel:+1-555\"]");
	seed_f("ident", "contact-hfields", &m5, 1, "[\"mailto:a@example.com?subject=x\"]");
	seed_f("ident", "contact-scheme", &m5, 1, "[\"https://example.com\"]");
	seed_f("ident", "time-z", &m6, 1, "2030-02-28T23:59:60Z");
	seed_f("ident", "time-frac-offset", &m6, 1, "2030-01-01T00:00:00.123456+05:30");
	seed_f("ident", "time-feb30", &m6, 1, "2031-02-30T00:00:00Z");
}

static void
enc_seed(const char *name, enum store_err (*enc)(const void *, unsigned char **, size_t *),
    const void *rec)
{
	unsigned char *p = NULL;
	size_t n = 0;

	if (enc(rec, &p, &n) != STORE_OK) {
		fprintf(stderr, "make_seeds: encoding %s\n", name);
		exit(1);
	}
	seed("store_rec", name, p, n);
	free(p);
}

static enum store_err
enc_account(const void *r, unsigned char **p, size_t *n)
{
	return store_rec_encode_account(r, p, n);
}

static enum store_err
enc_order(const void *r, unsigned char **p, size_t *n)
{
	return store_rec_encode_order(r, p, n);
}

static enum store_err
enc_authz(const void *r, unsigned char **p, size_t *n)
{
	return store_rec_encode_authz(r, p, n);
}

static enum store_err
enc_cert(const void *r, unsigned char **p, size_t *n)
{
	return store_rec_encode_cert(r, p, n);
}

static enum store_err
enc_eab(const void *r, unsigned char **p, size_t *n)
{
	return store_rec_encode_eab(r, p, n);
}

static void
seeds_store(void)
{
	static char *contacts[] = { "mailto:a@example.com", "tel:+1-555-0100" };
	static struct store_ident idents[] = {
		{ STORE_IDENT_DNS, "fuzz.example" }, { STORE_IDENT_IP, "2001:db8::1" },
	};
	static store_id authz[2] = { ID2, ID3 };
	static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct store_account a;
	struct store_order o;
	struct store_authz z;
	struct store_cert c;
	struct store_eab e;

	memset(&a, 0, sizeof(a));
	strcpy(a.id, ID1);
	strcpy(a.dir, "default");
	a.status = STORE_ST_VALID;
	a.created = 1700000000;
	a.jwk = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"x\",\"y\":\"y\"}";
	strcpy(a.thumb, THUMB);
	enc_seed("account-minimal", enc_account, &a);
	a.ncontact = 2;
	a.contact = contacts;
	a.tos_agreed = 1700000001;
	a.tos_url = "https://example.com/tos";
	a.eab_kid = FZ_MAC_KID;
	a.eab_jws = "{\"protected\":\"e30\"}";
	a.key_version = 3;
	enc_seed("account-full", enc_account, &a);

	memset(&o, 0, sizeof(o));
	strcpy(o.id, ID2);
	strcpy(o.acct, ID1);
	strcpy(o.dir, "default");
	o.status = STORE_ST_PENDING;
	o.created = 1700000000;
	o.expires = 1700086400;
	o.nident = 2;
	o.ident = idents;
	o.nauthz = 2;
	o.authz = authz;
	enc_seed("order-pending", enc_order, &o);
	o.status = STORE_ST_PROCESSING;
	o.not_before = -5;
	o.not_after = 1800000000;
	o.profile = "shortlived";
	o.replaces = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
	o.csr = der;
	o.csr_len = sizeof(der);
	o.retry_after = 1700000100;
	enc_seed("order-processing", enc_order, &o);
	o.status = STORE_ST_INVALID;
	o.csr = NULL;
	o.csr_len = 0;
	o.error = "{\"type\":\"urn:ietf:params:acme:error:caa\"}";
	enc_seed("order-invalid", enc_order, &o);
	o.status = STORE_ST_VALID;
	o.error = NULL;
	strcpy(o.cert, "0a1b2c3d4e5f");
	enc_seed("order-valid", enc_order, &o);

	memset(&z, 0, sizeof(z));
	strcpy(z.id, ID3);
	strcpy(z.acct, ID1);
	strcpy(z.dir, "default");
	z.ident = idents[0];
	z.status = STORE_ST_PENDING;
	z.created = 1700000000;
	z.expires = 1700003600;
	z.nchall = 3;
	z.chall[0].type = STORE_CH_HTTP01;
	z.chall[0].status = STORE_ST_PENDING;
	strcpy(z.chall[0].token, TOKEN);
	z.chall[1] = z.chall[0];
	z.chall[1].type = STORE_CH_DNS01;
	z.chall[2] = z.chall[0];
	z.chall[2].type = STORE_CH_TLSALPN01;
	enc_seed("authz-pending", enc_authz, &z);
	z.chall[0].status = STORE_ST_PROCESSING;
	z.chall[0].keyauth = KEYAUTH;
	z.chall[0].attempts = 2;
	z.chall[0].error = "{\"type\":\"urn:ietf:params:acme:error:connection\"}";
	z.due = 1700000050;
	z.wildcard = 1;
	enc_seed("authz-processing", enc_authz, &z);
	z.status = STORE_ST_VALID;
	z.chall[0].status = STORE_ST_VALID;
	z.chall[0].validated = 1700000060;
	z.due = 1700000070;
	z.caa_checked = 1700000060;
	z.caa_recheck = 1;
	z.caa_error = "{\"type\":\"urn:ietf:params:acme:error:caa\"}";
	enc_seed("authz-valid-caa", enc_authz, &z);

	memset(&c, 0, sizeof(c));
	strcpy(c.serial, "0a1b2c3d4e5f");
	strcpy(c.acct, ID1);
	strcpy(c.order, ID2);
	strcpy(c.dir, "default");
	c.issued = 1700000000;
	c.not_before = 1700000000;
	c.not_after = 1707776000;
	c.der = der;
	c.der_len = sizeof(der);
	c.reason = -1;
	enc_seed("cert-minimal", enc_cert, &c);
	c.chain = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
	strcpy(c.ari, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	c.revoked = 1;
	c.reason = 4;
	c.revoked_at = 1700001000;
	strcpy(c.replaced_by, ID3);
	c.profile = "tlsserver";
	enc_seed("cert-revoked", enc_cert, &c);
	c.reason = 0;
	enc_seed("cert-reason-0", enc_cert, &c);

	memset(&e, 0, sizeof(e));
	strcpy(e.kid, FZ_MAC_KID);
	strcpy(e.dir, "default");
	memcpy(e.key, fz_mac_key, sizeof(fz_mac_key));
	e.key_len = sizeof(fz_mac_key);
	e.created = 1700000000;
	enc_seed("eab-minimal", enc_eab, &e);
	e.expires = 1800000000;
	e.reusable = 1;
	e.revoked = 1;
	e.uses = 7;
	strcpy(e.account, ID1);
	e.note = "for the fuzzer";
	enc_seed("eab-full", enc_eab, &e);
	/* A header alone, and an unknown tag. */
	seed("store_rec", "header-only", "A\x01", 2);
	seed("store_rec", "unknown-tag", "A\x01\x3f\x02xy\x7f\x81\x01z", 10);
}

static void
seeds_config(void)
{
	seed_str("config", "minimal", "base_url = https://acme.example/\nstate_dir = /srv/acme\n"
	    "[directory default]\nca_cert = ca/i.pem\nca_key = /keys/i.key\n");
	seed_str("config", "full",
	    "# every key once\n"
	    "state_dir = /var/lib/acme\nbase_url = https://acme.example:8443\nlog = syslog\n"
	    "log_level = debug\naudit_log = file:log/audit.log\naudit_sync = no\nworkers = 4\n"
	    "orders_per_page = 50\nmax_body = 65536\nresolver = 127.0.0.1:8053\n"
	    "public_suffix_list = /usr/share/publicsuffix/public_suffix_list.dat\n"
	    "http01_port = 5002\ntlsalpn01_port = 5001\nretry_base = 2s\nretry_cap = 1m\n"
	    "lease = 60s\nvalidator_inflight = 100\nvalidation_connect_timeout = 10s\n"
	    "validation_timeout = 15s\n\n"
	    "[profile shortlived]\ndescription = short\nlifetime = 160h\n"
	    "key_usage = digitalSignature\next_key_usage = serverAuth, clientAuth\nidentifiers = dns\n\n"
	    "[directory default]\nca_cert = ca/c.pem\nca_key = pkcs11:token=t;object=o\n"
	    "pkcs11_module = /usr/lib/softhsm/libsofthsm2.so\npkcs11_pin_file = ca/pin\n"
	    "ca_chain = ca/chain.pem\nca_root = ca/root.pem\n"
	    "terms_of_service = https://acme.example/tos\ntos_required = yes\n"
	    "website = https://acme.example/\ncontact_schemes = mailto tel\n"
	    "caa_identities = acme.example\ncaa_check = yes\ncaa_max_age = 8h\n"
	    "external_account_required = no\ncert_lifetime = 1d\ncert_lifetime_max = 90d\n"
	    "order_lifetime = 1d\nauthz_lifetime = 1h\nauthz_reuse = 30d\nallow_private = no\n"
	    "names_allow = .example.com *.example.org example.net\nnames_deny = bad.example.com\n"
	    "ips_allow = 192.0.2.0/24 2001:db8::/32\nips_deny = 192.0.2.1\nallow_ip = yes\n"
	    "allow_wildcard = no\nmax_identifiers = 10\nchallenges = http-01, dns-01\n"
	    "account_keys = rsa2048-4096 p256 ed25519\ncert_keys = rsa p384\n"
	    "revocation_reasons = 0 1 4 5\nrate_orders_per_account = 300/3h\n"
	    "rate_accounts_per_ip = 10/3h\nrate_certs_per_domain = 50/7d\n"
	    "rate_failed_validations = off\nrate_limit_doc = https://acme.example/limits\n"
	    "crl_lifetime = 7d\ncrl_refresh = 1h\nca_alt_chains = ca/alt1.pem ca/alt2.pem\n"
	    "crl_url = https://acme.example/crl\naia_url = https://acme.example/issuer\n"
	    "profiles = shortlived\ndefault_profile = shortlived\n\n"
	    "[directory other]\nca_cert = /c\nca_key = /k\n");
	seed_str("config", "errors", "workers = 0\nbogus = 1\n[directory Bad]\n[directory a]\n"
	    "cert_lifetime = 5\nnames_allow = -x.example\n[directory a]\n[profile p]\n[profile p]\n");
	seed_str("config", "relative-state", "base_url = http://x\nstate_dir = rel/dir\n"
	    "[directory d]\nca_cert = c\nca_key = k\nprofiles = nope\n");
}

/* DNS seeds: flags, rcode, why, then (kind, 16-bit length, rdata)*. */
struct dbuf {
	unsigned char b[2048];
	size_t n;
};

static void
db_add(struct dbuf *d, const void *p, size_t n)
{
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void
db_rec(struct dbuf *d, unsigned char kind, const void *p, size_t n)
{
	unsigned char h[3] = { kind, (unsigned char)(n >> 8), (unsigned char)n };

	db_add(d, h, 3);
	db_add(d, p, n);
}

static void
seeds_dns(void)
{
	static const unsigned char v4pub[4] = { 93, 184, 216, 34 }, v4lo[4] = { 127, 0, 0, 1 };
	static const unsigned char v6pub[16] = { 0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0, 1, 0x2,
	    0x48, 0x18, 0x93, 0x25, 0xc8, 0x19, 0x46 };
	static const unsigned char v6lo[16] = { [15] = 1 };
	char want[44];
	unsigned char txt[200];
	const char *s;
	struct dbuf d;

	acme_val_dns01_digest(KEYAUTH, want);
	memset(&d, 0, sizeof(d));
	db_add(&d, "\x00\x00\n", 3);           /* both OK */
	db_rec(&d, 0, v4pub, 4);
	db_rec(&d, 0, v4lo, 4);
	db_rec(&d, 1, v6pub, 16);
	db_rec(&d, 1, v6lo, 16);
	db_rec(&d, 0, v6pub, 16);              /* wrong length for A */
	txt[0] = 43;
	memcpy(txt + 1, want, 43);
	db_rec(&d, 2, txt, 44);
	seed("dns", "addresses-and-txt", d.b, d.n);

	memset(&d, 0, sizeof(d));
	db_add(&d, "\x40\x00\n", 3);           /* allow_private */
	db_rec(&d, 0, v4lo, 4);
	db_rec(&d, 1, v6lo, 16);
	seed("dns", "private-allowed", d.b, d.n);

	/* Statuses: bits 0-2 A, bits 3-5 AAAA (0 OK, 1 NODATA, 2 NXDOMAIN, 3
	 * RCODE, 4 BOGUS, 5 TIMEOUT, 6 ERROR). */
	memset(&d, 0, sizeof(d));
	s = "\x22\x02validation failure <x.example. A IN>: no signatures\n";
	db_add(&d, s, strlen(s));
	seed("dns", "nxdomain-and-bogus", d.b, d.n);

	memset(&d, 0, sizeof(d));
	db_add(&d, "\x2b\x05\n", 3);           /* A RCODE 5 (REFUSED), AAAA TIMEOUT */
	seed("dns", "rcode-timeout", d.b, d.n);

	memset(&d, 0, sizeof(d));
	s = "\x36\x02could not send query\n";   /* A ERROR, AAAA ERROR */
	db_add(&d, s, strlen(s));
	seed("dns", "resolver-error", d.b, d.n);

	memset(&d, 0, sizeof(d));
	db_add(&d, "\x00\x00\n", 3);
	/* TXT split into two character-strings, then a truncated one. */
	txt[0] = 20;
	memcpy(txt + 1, want, 20);
	txt[21] = 23;
	memcpy(txt + 22, want + 20, 23);
	db_rec(&d, 2, txt, 45);
	txt[0] = 200;
	db_rec(&d, 2, txt, 10);
	db_rec(&d, 2, "\x00", 1);
	seed("dns", "txt-split", d.b, d.n);
}

static void
caa_rec(struct dbuf *d, unsigned char flags, const char *tag, const char *value)
{
	size_t tl = strlen(tag), vl = strlen(value), n = 2 + tl + vl;
	unsigned char h[4] = { (unsigned char)(n >> 8), (unsigned char)n, flags, (unsigned char)tl };

	db_add(d, h, 4);
	db_add(d, tag, tl);
	db_add(d, value, vl);
}

static void
seeds_caa(void)
{
	struct dbuf d;

	memset(&d, 0, sizeof(d));
	db_add(&d, "\x02", 1);               /* dns-01 */
	caa_rec(&d, 0, "issue", "acme.fuzz.test");
	seed("caa", "issue-ours", d.b, d.n);

	memset(&d, 0, sizeof(d));
	db_add(&d, "\x01", 1);               /* wildcard, http-01 */
	caa_rec(&d, 0, "issue", "other.example");
	caa_rec(&d, 0, "issuewild", " acme.fuzz.test ; accounturi=" FZ_BASE_URL
	    "/acme/default/acct/AAAAAAAAAAAAAAAAAAAAAA; validationmethods=http-01,dns-01");
	caa_rec(&d, 0, "iodef", "mailto:security@example.com");
	seed("caa", "issuewild-params", d.b, d.n);

	memset(&d, 0, sizeof(d));
	db_add(&d, "\x04", 1);               /* tls-alpn-01 */
	caa_rec(&d, 0, "issue", ";");
	caa_rec(&d, 0, "ISSUE", "acme.fuzz.test; validationmethods=dns-01");
	caa_rec(&d, 0, "issue", "acme.fuzz.test; accounturi=a; accounturi=b");
	seed("caa", "forbid-reasons", d.b, d.n);

	memset(&d, 0, sizeof(d));
	db_add(&d, "\x00", 1);
	caa_rec(&d, 128, "tbs", "unknown critical");
	seed("caa", "critical-unknown", d.b, d.n);

	memset(&d, 0, sizeof(d));
	db_add(&d, "\x18", 1);               /* no account URL, no identities */
	caa_rec(&d, 0, "issue", "ca.example;;");
	caa_rec(&d, 1, "issuemail", "x");
	db_add(&d, "\x00\x02\x00\x00", 4);   /* tag length 0 */
	seed("caa", "malformed", d.b, d.n);
}

static void
seeds_http01(void)
{
	static const unsigned char f200[2] = { 0x00, 0x10 }, f404[2] = { 0x03, 0x01 };
	static const unsigned char f302[2] = { 0x05, 0x00 }, fpriv[2] = { 0x19, 0xff };
	char *s;

	seed_f("http01", "good-body", f200, 2,
	    "http://fuzz.example/.well-known/acme-challenge/" TOKEN "\n\n" KEYAUTH " \r\n");
	seed_f("http01", "redirects", f200, 2,
	    "http://fuzz.example/.well-known/acme-challenge/" TOKEN "\n"
	    "/other/path?q=1#frag\nhttps://user:pw@www.fuzz.example/x\nhttp://[2001:db8::1]/y\n"
	    "http://192.0.2.10:80/z\n\n" KEYAUTH);
	seed_f("http01", "redirect-loop", f302, 2,
	    "http://fuzz.example/a\n/b\n/a\n/b\n\n");
	seed_f("http01", "redirect-rules", fpriv, 2,
	    "http://fuzz.example:5002/a\nhttps://fuzz.example:8443/b\nhttp://127.0.0.1/c\n"
	    "ftp://fuzz.example/d\nhttp://[fe80::1%25eth0]/e\nhttp://bad_host!/f\n\n");
	s = tk_printf("http://fuzz.example/a\n/%0*d\n\nnot found", 2100, 0);
	seed_f("http01", "long-path-404", f404, 2, s);
	free(s);
	s = tk_printf("http://fuzz.example/a\n\n%0*d", 400, 0);
	seed_f("http01", "big-body", f200, 2, s);
	free(s);
}

/* A tls-alpn-01 certificate for the SAN san ("DNS:x" / "IP:x") with the
 * acmeIdentifier extension holding SHA-256(keyauth) (critical or not);
 * twice: a duplicate extension. */
static void
alpn_cert(const char *name, const char *san, const char *keyauth, int critical, int twice)
{
	static const unsigned char pre[2] = { 0x04, 0x20 };
	unsigned char val[34], *der = NULL;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *ext;
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	int len, i;

	memcpy(val, pre, 2);
	EVP_Digest(keyauth, strlen(keyauth), val + 2, NULL, EVP_sha256(), NULL);
	ASN1_OCTET_STRING_set(os, val, sizeof(val));
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"acme", -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, fz_key("p256b"));
	if (san != NULL) {
		ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	for (i = 0; i < (twice ? 2 : 1); i++) {
		ext = X509_EXTENSION_create_by_OBJ(NULL, oid, critical, os);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_sign(x, fz_key("p256b"), EVP_sha256());
	if ((len = i2d_X509(x, &der)) <= 0) {
		fprintf(stderr, "make_seeds: certificate\n");
		exit(1);
	}
	seed("tlsalpn", name, der, (size_t)len);
	OPENSSL_free(der);
	X509_NAME_free(nm);
	X509_free(x);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(os);
}

static void
seeds_tlsalpn(void)
{
	alpn_cert("dns-good", "DNS:fuzz.example", KEYAUTH, 1, 0);
	alpn_cert("ip4-good", "IP:192.0.2.10", KEYAUTH, 1, 0);
	alpn_cert("ip6-good", "IP:2001:db8::1", KEYAUTH, 1, 0);
	alpn_cert("not-critical", "DNS:fuzz.example", KEYAUTH, 0, 0);
	alpn_cert("wrong-digest", "DNS:fuzz.example", "other", 1, 0);
	alpn_cert("two-sans", "DNS:fuzz.example,DNS:b.example", KEYAUTH, 1, 0);
	alpn_cert("no-san", NULL, KEYAUTH, 1, 0);
	alpn_cert("duplicate-ext", "DNS:fuzz.example", KEYAUTH, 1, 1);
	alpn_cert("upper-case", "DNS:FUZZ.example", KEYAUTH, 1, 0);
}

static void
seeds_fcgi(void)
{
	static const unsigned char f0[2] = { 0x00, 0x00 }, fclose_early[2] = { 0x02, 0x04 };
	static const unsigned char ferr[2] = { 0x09, 0x00 }, fsmall[2] = { 0xfc, 0x00 };
	char *s;

#define P(m, uri) "FCGI_ROLE=RESPONDER\nREQUEST_METHOD=" m "\nREQUEST_URI=" uri "\n"
	seed_f("fcgi", "get-directory", f0, 2, P("GET", "/acme/default/directory")
	    "HTTP_ACCEPT=application/json\nREMOTE_ADDR=192.0.2.7\nHTTP_ORIGIN=https://x.test\n\n");
	seed_f("fcgi", "head-nonce", f0, 2, P("HEAD", "/acme/default/new-nonce") "\n");
	seed_f("fcgi", "post-jws", fsmall, 2, P("POST", "/acme/default/new-account?x=y")
	    "CONTENT_TYPE=application/jose+json\nCONTENT_LENGTH=62\nQUERY_STRING=x=y\n\n"
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AAAA\"}xxxxxxxxxx");
	seed_f("fcgi", "short-body", f0, 2, P("POST", "/acme/default/new-order")
	    "CONTENT_LENGTH=100\n\n{}");
	seed_f("fcgi", "no-length", f0, 2, P("POST", "/acme/default/new-order") "\n{\"a\":1}");
	seed_f("fcgi", "bad-length", f0, 2, P("POST", "/acme/default/new-order")
	    "CONTENT_LENGTH=+5\n\nabcde");
	seed_f("fcgi", "huge-length", f0, 2, P("POST", "/acme/default/new-order")
	    "CONTENT_LENGTH=9999999999999999999\n\n");
	seed_f("fcgi", "peer-error", ferr, 2, P("POST", "/acme/default/new-order")
	    "CONTENT_LENGTH=10\n\nabc");
	seed_f("fcgi", "reply-fails", fclose_early, 2, P("GET", "/acme/default/directory") "\n");
	seed_f("fcgi", "authorizer", f0, 2, "FCGI_ROLE=AUTHORIZER\nREQUEST_METHOD=GET\n"
	    "REQUEST_URI=/\n\n");
	seed_f("fcgi", "no-uri", f0, 2, "FCGI_ROLE=RESPONDER\nREQUEST_METHOD=GET\n\n");
	seed_f("fcgi", "absolute-uri", f0, 2, P("GET", "http://x/acme/default/directory") "\n");
	seed_f("fcgi", "bad-method", f0, 2, P("GE T", "/acme/default/directory") "\n");
	seed_f("fcgi", "options-cors", f0, 2, P("OPTIONS", "/acme/default/new-order")
	    "HTTP_ORIGIN=https://client.test\n\n");
	s = tk_printf(P("POST", "/acme/default/new-order") "CONTENT_LENGTH=9000\n\n%0*d", 9000, 0);
	seed_f("fcgi", "body-over-max", f0, 2, s);
	free(s);
	s = tk_printf(P("POST", "/acme/default/new-order") "\n%0*d", 9000, 0);
	seed_f("fcgi", "no-length-over-max", f0, 2, s);
	free(s);
#undef P
}

/* fuzz_request: flags f1, f2, then lines (see fuzz_request.c). */
static void
req(const char *name, unsigned f1, unsigned f2, const char *rest)
{
	unsigned char f[2] = { (unsigned char)f1, (unsigned char)f2 };

	seed_f("request", name, f, 2, rest);
}

#define GET 0
#define HEAD 1
#define POST 2
#define SIGN 4
#define JWK 8
#define NONONCE 16
#define ORIGIN 32
#define CTYPE 64
#define TOOBIG 128
#define CERTKEY 32

static void
seeds_request(void)
{
	req("directory", GET, 0, "/acme/default/directory\n");
	req("directory-post", POST | ORIGIN, 0, "/acme/default/directory\n");
	req("new-nonce-head", HEAD, 0, "/acme/default/new-nonce\n");
	req("options", 3 | ORIGIN, 0, "OPTIONS\n/acme/default/new-order\n");
	req("crl", GET, 0, "/acme/default/crl\n");
	req("issuer", GET, 0, "/acme/default/issuer\n");
	req("renewal-info", GET, 0, "/acme/default/renewal-info/@R\n");
	req("renewal-info-bad", GET, 0, "/acme/default/renewal-info/a.b.c\n");
	req("unknown-route", GET, 0, "/acme/default/nothing/here/at/all\n");
	req("unsigned-post", POST | CTYPE, 0, "/acme/default/new-order\napplication/json\n"
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AA\"}");
	req("compact-jws", POST, 0, "/acme/default/new-order\neyJhbGciOiJFUzI1NiJ9.e30.AAAA");
	req("too-big", POST | TOOBIG, 0, "/acme/default/new-order\n{}");
	req("new-account", POST | SIGN | JWK, 0, "/acme/default/new-account\n\n"
	    "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:a@fuzz.example\",\"tel:+1555\"]}");
	req("new-account-existing", POST | SIGN | JWK, 0, "/acme/default/new-account\n\n"
	    "{\"onlyReturnExisting\":true}");
	req("new-account-ed25519", POST | SIGN | JWK, 1, "/acme/default/new-account\n\n"
	    "{\"termsOfServiceAgreed\":true}");
	req("new-account-rsa-pss", POST | SIGN | JWK, 3, "/acme/default/new-account\n\n"
	    "{\"termsOfServiceAgreed\":true}");
	req("new-account-eab", POST | SIGN | JWK, 2, "/acme/default/new-account\n\n"
	    "{\"termsOfServiceAgreed\":true,\"externalAccountBinding\":@E}");
	req("new-account-kid", POST | SIGN, 0, "/acme/default/new-account\n\n{}");
	req("account", POST | SIGN, 0, "/acme/default/acct/@A\n\n");
	req("account-update", POST | SIGN, 0, "/acme/default/acct/@A\n\n"
	    "{\"contact\":[\"mailto:b@fuzz.example\"],\"termsOfServiceAgreed\":true}");
	req("account-deactivate", POST | SIGN, 0, "/acme/default/acct/@A\n\n"
	    "{\"status\":\"deactivated\"}");
	req("orders", POST | SIGN, 0, "/acme/default/orders/@A\n\n");
	req("orders-cursor", POST | SIGN, 0, "/acme/default/orders/@A?cursor=@O\n\n");
	req("new-order", POST | SIGN, 0, "/acme/default/new-order\n\n"
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.fuzz.example\"},"
	    "{\"type\":\"dns\",\"value\":\"*.fuzz.example\"},{\"type\":\"ip\",\"value\":\"9.9.9.9\"}],"
	    "\"profile\":\"tlsserver\"}");
	req("new-order-times", POST | SIGN, 0, "/acme/default/new-order\n\n"
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"t.fuzz.example\"}],"
	    "\"notBefore\":\"2030-01-01T00:00:00Z\",\"notAfter\":\"2030-01-02T00:00:00+01:00\"}");
	req("new-order-replaces", POST | SIGN, 0, "/acme/default/new-order\n\n"
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"fuzz.example\"}],\"replaces\":\"@R\"}");
	req("new-order-denied", POST | SIGN, 0, "/acme/default/new-order\n\n"
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"x.denied.example\"},"
	    "{\"type\":\"ip\",\"value\":\"203.0.113.9\"},{\"type\":\"ip\",\"value\":\"10.0.0.1\"}]}");
	req("new-authz", POST | SIGN, 0, "/acme/default/new-authz\n\n"
	    "{\"identifier\":{\"type\":\"dns\",\"value\":\"pre.fuzz.example\"}}");
	req("order", POST | SIGN, 0, "/acme/default/order/@O\n\n");
	req("authz", POST | SIGN, 0, "/acme/default/authz/@Z\n\n");
	req("authz-deactivate", POST | SIGN, 0, "/acme/default/authz/@Z\n\n"
	    "{\"status\":\"deactivated\"}");
	req("chall", POST | SIGN, 0, "/acme/default/chall/@Z/0\n\n{}");
	req("chall-get", POST | SIGN, 0, "/acme/default/chall/@Z/2\n\n");
	req("finalize", POST | SIGN, 0, "/acme/default/finalize/@O\n\n{\"csr\":\"@V\"}");
	req("finalize-bad-csr", POST | SIGN, 0, "/acme/default/finalize/@O\n\n{\"csr\":\"MIIB\"}");
	req("cert", POST | SIGN, 0, "/acme/default/cert/@S\n\n");
	req("cert-alt", POST | SIGN, 0, "/acme/default/cert/@S/1\n\n");
	req("key-change", POST | SIGN, 0, "/acme/default/key-change\n\n@J");
	req("revoke", POST | SIGN, 0, "/acme/default/revoke-cert\n\n"
	    "{\"certificate\":\"@D\",\"reason\":4}");
	req("revoke-by-cert-key", POST | SIGN | JWK, CERTKEY, "/acme/default/revoke-cert\n\n"
	    "{\"certificate\":\"@D\",\"reason\":1}");
	req("revoke-bad-reason", POST | SIGN | JWK, CERTKEY, "/acme/default/revoke-cert\n\n"
	    "{\"certificate\":\"@D\",\"reason\":7}");
	req("extra-header", POST | SIGN, 0, "/acme/default/order/@O\n\"crit\":[\"x\"],\"b64\":true\n");
	req("own-nonce", POST | SIGN | NONONCE, 0, "/acme/default/order/@O\n\"nonce\":\"@N\"\n");
	req("bad-nonce", POST | SIGN | NONONCE, 0, "/acme/default/order/@O\n\"nonce\":\"AAAA\"\n");
	req("wrong-url", POST | SIGN, 4, "/acme/default/order/@O\n\"url\":\"https://elsewhere/\"\n");
	req("both-kid-jwk", POST | SIGN | JWK, 0, "/acme/default/order/@O\n\"kid\":\"@K\"\n");
	req("bad-alg", POST | SIGN, 16, "/acme/default/order/@O\n\"alg\":\"HS256\"\n");
	req("get-post-route", GET | SIGN, 0, "/acme/default/new-order\n\n{}");
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-seeds DIR (tests/fuzz/corpus)\n");
		return 2;
	}
	root = argv[1];
	mkdirs(root);
	fz_quiet();
	seeds_b64();
	seeds_json();
	seeds_jwk();
	seeds_jws();
	seeds_csr();
	seeds_ident();
	seeds_store();
	seeds_config();
	seeds_dns();
	seeds_caa();
	seeds_http01();
	seeds_tlsalpn();
	seeds_fcgi();
	seeds_request();
	printf("make-seeds: %d seeds written under %s\n", nseeds, root);
	return 0;
}
