/*
 * RA mode's job state machine (core/jobs.c) on a real store: one job per
 * order, leasing (a leased job is not leased again; a run that lost its
 * lease writes nothing), retries with backoff that the client sees as
 * Retry-After, failure (the order invalid with the upstream's problem as a
 * subproblem), success (the certificate stored as issued upstream, the order
 * valid, its ARI job queued), the deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/jobs.h"
#include "store/store.h"

#define T0 1700000000   /* before the test certificate expires */

struct env {
	char dir[64], conf[96];
	struct store *s;
	struct acme_config *cfg;
	store_id order;
};

static int
rm_tree(const char *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	return system(cmd);
}

static enum store_err
new_order_txn(struct store_txn *t, void *arg)
{
	struct env *e = arg;
	struct store_order o;
	struct store_ident id = { STORE_IDENT_DNS, (char *)"ra.example.com" };
	unsigned char csr[4] = { 0x30, 0x02, 0x05, 0x00 };
	enum store_err rc;

	memset(&o, 0, sizeof(o));
	memcpy(o.id, e->order, sizeof(o.id));
	memset(o.acct, 'A', STORE_ID_LEN);
	snprintf(o.dir, sizeof(o.dir), "ra");
	o.status = STORE_ST_PROCESSING;
	o.created = T0;
	o.expires = T0 + 86400;
	o.nident = 1;
	o.ident = &id;
	o.csr = csr;
	o.csr_len = sizeof(csr);
	if ((rc = store_order_put(t, &o, STORE_PUT_CREATE)) != STORE_OK)
		return rc;
	if ((rc = acme_job_enqueue(t, STORE_JOB_UPSTREAM_ORDER, "ra", e->order, T0, 0, NULL)) !=
	    STORE_OK)
		return rc;
	/* Once per order: a second enqueue is a no-op. */
	return acme_job_enqueue(t, STORE_JOB_UPSTREAM_ORDER, "ra", e->order, T0, 0, NULL);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char db[96];
	FILE *f;

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/acme-jobs-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/acme.conf", e->dir);
	assert_non_null(f = fopen(e->conf, "w"));
	fprintf(f, "base_url = https://ra.example\nlease = 30s\n[directory ra]\nmode = ra\n"
	    "upstream_url = https://up.example/dir\nupstream_passphrase_file = pass\n"
	    "upstream_timeout = 10s\nupstream_retry_base = 4s\nupstream_retry_cap = 60s\n"
	    "upstream_deadline = 1h\n");
	fclose(f);
	assert_int_equal(acme_config_load(e->conf, &e->cfg), ACME_OK);
	snprintf(db, sizeof(db), "%s/db", e->dir);
	assert_int_equal(store_open(db, STORE_OPEN_CREATE | STORE_OPEN_NOSYNC, &e->s), STORE_OK);
	memset(e->order, 'O', STORE_ID_LEN);
	e->order[STORE_ID_LEN] = '\0';
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RW, new_order_txn, e), STORE_OK);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	store_close(e->s);
	acme_config_free(e->cfg);
	rm_tree(e->dir);
	free(e);
	return 0;
}

struct got {
	const char *id;
	struct store_order o;
	struct store_job j;
	struct store_cert c;
	const char *serial;
	int have_j;
};

static enum store_err
got_txn(struct store_txn *t, void *arg)
{
	struct got *g = arg;
	char jid[STORE_JOB_ID_MAX + 1];
	enum store_err rc;

	store_order_free(&g->o);
	store_job_free(&g->j);
	store_cert_free(&g->c);
	if ((rc = store_order_get(t, g->id, &g->o)) != STORE_OK)
		return rc;
	acme_job_id(STORE_JOB_UPSTREAM_ORDER, g->id, jid);
	if ((rc = store_job_get(t, jid, &g->j)) != STORE_OK)
		return rc;
	if (g->serial != NULL)
		return store_cert_get(t, g->serial, &g->c);
	return STORE_OK;
}

static void
got(struct env *e, struct got *g, const char *serial)
{
	g->id = e->order;
	g->serial = serial;
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, got_txn, g), STORE_OK);
}

static void
got_free(struct got *g)
{
	store_order_free(&g->o);
	store_job_free(&g->j);
	store_cert_free(&g->c);
}

static struct acme_job_item *
lease1(struct env *e, int64_t now, size_t *n)
{
	struct acme_job_item *items = NULL;

	assert_int_equal(acme_job_lease(e->s, e->cfg, now, 8, &items, n), ACME_OK);
	return items;
}

static void
items_free(struct acme_job_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		acme_job_item_free(&items[i]);
	free(items);
}

static void
test_lease_retry_fail(void **state)
{
	struct env *e = *state;
	struct acme_job_item *it, *again;
	struct acme_job_result r;
	struct got g;
	size_t n = 0, m = 0;
	int64_t next = 0;
	char *prob;

	memset(&g, 0, sizeof(g));
	it = lease1(e, T0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(it[0].kind, STORE_JOB_UPSTREAM_ORDER);
	assert_string_equal(it[0].ref, e->order);
	assert_int_equal(it[0].order.csr_len, 4);
	assert_null(it[0].progress);
	/* Leased: not handed out again until the lease (30 + 10 s) ends. */
	again = lease1(e, T0 + 39, &m);
	assert_int_equal(m, 0);
	items_free(again, m);
	/* Progress is kept and extends the lease. */
	assert_int_equal(acme_job_progress(e->s, e->cfg, &it[0], "{\"order\":\"https://up/o/1\"}",
	    T0 + 30), ACME_OK);
	got(e, &g, NULL);
	assert_string_equal(g.j.progress, "{\"order\":\"https://up/o/1\"}");
	assert_int_equal(g.j.due, T0 + 30 + 40);
	/* A transient failure: again after Retry-After, which the client sees. */
	memset(&r, 0, sizeof(r));
	r.outcome = ACME_JOB_RETRY;
	r.retry_after = 7;
	r.problem = "{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}";
	assert_int_equal(acme_job_finish(e->s, e->cfg, &it[0], &r, T0 + 31, &next), ACME_OK);
	assert_int_equal(next, T0 + 38);
	got(e, &g, NULL);
	assert_int_equal(g.j.attempts, 1);
	assert_int_equal(g.o.status, STORE_ST_PROCESSING);
	assert_int_equal(g.o.retry_after, T0 + 38);
	/* The old holder's lease is gone: its writes are refused. */
	again = lease1(e, T0 + 38, &m);
	assert_int_equal(m, 1);
	assert_int_equal(again[0].lease, it[0].lease + 1);
	assert_string_equal(again[0].progress, "{\"order\":\"https://up/o/1\"}");  /* resumes */
	assert_int_equal(acme_job_progress(e->s, e->cfg, &it[0], "{}", T0 + 39), ACME_EBUSY);
	assert_int_equal(acme_job_finish(e->s, e->cfg, &it[0], &r, T0 + 39, &next), ACME_EBUSY);
	/* Refused for good: the order is invalid, the upstream's problem a subproblem. */
	prob = acme_upstream_problem(PROB_REJECTED_IDENTIFIER, "the upstream CA refused",
	    "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"no\","
	    "\"status\":400,\"secret\":\"dropped\"}");
	assert_non_null(prob);
	r.outcome = ACME_JOB_FAIL;
	r.problem = prob;
	assert_int_equal(acme_job_finish(e->s, e->cfg, &again[0], &r, T0 + 40, &next), ACME_OK);
	assert_int_equal(next, 0);
	got(e, &g, NULL);
	assert_int_equal(g.o.status, STORE_ST_INVALID);
	assert_null(g.o.csr);
	assert_non_null(strstr(g.o.error, "\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:"
	    "rejectedIdentifier\",\"detail\":\"no\",\"status\":400}]"));
	assert_int_equal(g.j.state, STORE_JOB_FAILED);
	assert_int_equal(g.j.due, 0);
	/* Nothing left to lease. */
	items_free(lease1(e, T0 + 10000, &m), m);
	assert_int_equal(m, 0);
	free(prob);
	got_free(&g);
	items_free(again, 1);
	items_free(it, n);
}

/* A certificate as an upstream would issue it (with an AKI). */
static unsigned char *
upstream_cert(size_t *len)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	unsigned char *der = NULL;
	int n;

	assert_non_null(k);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"up", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_free(x);
	EVP_PKEY_free(k);
	return der;
}

static void
test_done(void **state)
{
	struct env *e = *state;
	struct acme_job_item *it;
	struct acme_job_result r;
	struct got g;
	size_t n = 0;
	int64_t next = 0;
	unsigned char *der;
	size_t dlen = 0;

	memset(&g, 0, sizeof(g));
	it = lease1(e, T0, &n);
	assert_int_equal(n, 1);
	der = upstream_cert(&dlen);
	memset(&r, 0, sizeof(r));
	r.outcome = ACME_JOB_DONE;
	r.cert_der = der;
	r.cert_der_len = dlen;
	r.chain_pem = "-----BEGIN CERTIFICATE-----\n(chain)\n-----END CERTIFICATE-----\n";
	assert_int_equal(acme_job_finish(e->s, e->cfg, &it[0], &r, T0 + 5, &next), ACME_OK);
	got(e, &g, "01234567");
	assert_int_equal(g.o.status, STORE_ST_VALID);
	assert_string_equal(g.o.cert, "01234567");
	assert_null(g.o.csr);
	assert_int_equal(g.j.state, STORE_JOB_DONE);
	assert_int_equal(g.c.upstream, 1);
	assert_string_equal(g.c.acct, g.o.acct);
	assert_string_equal(g.c.chain, r.chain_pem);
	assert_memory_equal(g.c.der, der, dlen);
	/* The ARI CertID of the upstream certificate: AKI keyid "." serial. */
	assert_non_null(strchr(g.c.ari, '.'));
	assert_string_equal(strchr(g.c.ari, '.') + 1, "ASNFZw");
	items_free(it, n);
	/* Its ARI job is next in the queue. */
	it = lease1(e, T0 + 6, &n);
	assert_int_equal(n, 1);
	assert_int_equal(it[0].kind, STORE_JOB_ARI_FETCH);
	assert_string_equal(it[0].cert.serial, "01234567");
	memset(&r, 0, sizeof(r));
	r.outcome = ACME_JOB_DONE;
	r.ari_start = T0 + 1000;
	r.ari_end = T0 + 2000;
	r.ari_next = T0 + 6 + 7200;
	assert_int_equal(acme_job_finish(e->s, e->cfg, &it[0], &r, T0 + 6, &next), ACME_OK);
	assert_int_equal(next, T0 + 6 + 7200);    /* asked again while the certificate lives */
	got(e, &g, "01234567");
	assert_int_equal(g.c.ari_start, T0 + 1000);
	assert_int_equal(g.c.ari_end, T0 + 2000);
	items_free(it, n);
	OPENSSL_free(der);
	got_free(&g);
}

static void
test_deadline(void **state)
{
	struct env *e = *state;
	struct acme_job_item *it;
	struct acme_job_result r;
	struct got g;
	size_t n = 0;
	int64_t next = 0;

	memset(&g, 0, sizeof(g));
	it = lease1(e, T0 + 3500, &n);
	assert_int_equal(n, 1);
	memset(&r, 0, sizeof(r));
	r.outcome = ACME_JOB_RETRY;
	r.problem = "{\"type\":\"urn:ietf:params:acme:error:serverInternal\",\"detail\":\"503\"}";
	/* The backoff would end past created + upstream_deadline (1 h): failed. */
	assert_int_equal(acme_job_finish(e->s, e->cfg, &it[0], &r, T0 + 3599, &next), ACME_OK);
	assert_int_equal(next, 0);
	got(e, &g, NULL);
	assert_int_equal(g.o.status, STORE_ST_INVALID);
	assert_non_null(strstr(g.o.error, "deadline"));
	assert_non_null(strstr(g.o.error, "\"detail\":\"503\""));
	items_free(it, n);
	got_free(&g);
}

/* The job's state, by its id. */
static enum store_err
tls_job_txn(struct store_txn *t, void *arg)
{
	struct store_job *j = arg;
	char jid[STORE_JOB_ID_MAX + 1];

	store_job_free(j);
	acme_job_id(STORE_JOB_TLS_RENEW, ACME_TLS_JOB_REF, jid);
	return store_job_get(t, jid, j);
}

/*
 * Self-service TLS: the renewal is queued once (not again while it runs,
 * nor within min_gap after it ended, unless asked with no gap), leased
 * under the pseudo-directory with the tls_* settings, and closed when the
 * configuration no longer has self-service TLS.
 */
static void
test_tls_request(void **state)
{
	struct env *e = *state;
	struct acme_config *tc = NULL;
	struct acme_job_item *items = NULL;
	struct acme_job_result r;
	struct store_job j;
	char conf[128];
	size_t n = 0, i, tls = 0;
	int64_t next = 0;
	int q = -1;
	FILE *f;

	memset(&j, 0, sizeof(j));
	snprintf(conf, sizeof(conf), "%s/tls.conf", e->dir);
	assert_non_null(f = fopen(conf, "w"));
	fprintf(f, "base_url = https://ra.example\nlease = 30s\n"
	    "tls_acme_url = https://up.example/dir\ntls_names = ra.example www.ra.example\n"
	    "tls_passphrase_file = pass\ntls_dns_hook = /bin/true\ntls_retry_base = 2s\n"
	    "[directory ra]\nmode = ra\nupstream_url = https://up.example/dir\n"
	    "upstream_passphrase_file = pass\n");
	fclose(f);
	assert_int_equal(acme_config_load(conf, &tc), ACME_OK);
	assert_true(tc->tls.enabled);
	assert_non_null(acme_job_dir(tc, STORE_JOB_TLS_RENEW, ACME_TLS_SELF));
	assert_null(acme_job_dir(e->cfg, STORE_JOB_TLS_RENEW, ACME_TLS_SELF));
	assert_null(acme_job_dir(tc, STORE_JOB_UPSTREAM_ORDER, ACME_TLS_SELF));

	assert_int_equal(acme_job_tls_request(e->s, T0, 1800, &q), ACME_OK);
	assert_int_equal(q, 1);
	assert_int_equal(acme_job_tls_request(e->s, T0 + 1, 0, &q), ACME_OK);
	assert_int_equal(q, 0);                     /* queued already */
	assert_int_equal(acme_job_lease(e->s, tc, T0 + 1, 8, &items, &n), ACME_OK);
	for (i = 0; i < n; i++)
		if (items[i].kind == STORE_JOB_TLS_RENEW)
			tls = i + 1;
	assert_true(tls > 0);
	assert_string_equal(items[tls - 1].dir, ACME_TLS_SELF);
	assert_string_equal(items[tls - 1].ref, ACME_TLS_JOB_REF);
	/* A retry: again after the tls_retry_base backoff. */
	memset(&r, 0, sizeof(r));
	r.outcome = ACME_JOB_RETRY;
	assert_int_equal(acme_job_finish(e->s, tc, &items[tls - 1], &r, T0 + 2, &next), ACME_OK);
	assert_true(next >= T0 + 3 && next <= T0 + 5);
	items_free(items, n);
	assert_int_equal(acme_job_lease(e->s, tc, next, 8, &items, &n), ACME_OK);
	for (i = 0, tls = 0; i < n; i++)
		if (items[i].kind == STORE_JOB_TLS_RENEW)
			tls = i + 1;
	assert_true(tls > 0);
	assert_int_equal(items[tls - 1].attempts, 1);
	r.outcome = ACME_JOB_DONE;
	assert_int_equal(acme_job_finish(e->s, tc, &items[tls - 1], &r, next, &next), ACME_OK);
	assert_int_equal(next, 0);
	items_free(items, n);
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, tls_job_txn, &j), STORE_OK);
	assert_int_equal(j.state, STORE_JOB_DONE);

	/* Ended just now: the periodic check waits, a check asked for does not. */
	assert_int_equal(acme_job_tls_request(e->s, T0 + 60, 1800, &q), ACME_OK);
	assert_int_equal(q, 0);
	assert_int_equal(acme_job_tls_request(e->s, T0 + 3600, 1800, &q), ACME_OK);
	assert_int_equal(q, 1);
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, tls_job_txn, &j), STORE_OK);
	assert_int_equal(j.state, STORE_JOB_QUEUED);
	assert_int_equal(j.attempts, 0);              /* a fresh start */

	/* Self-service TLS turned off: the queued job is closed, not run. */
	assert_int_equal(acme_job_lease(e->s, e->cfg, T0 + 3600, 8, &items, &n), ACME_OK);
	for (i = 0; i < n; i++)
		assert_int_not_equal(items[i].kind, STORE_JOB_TLS_RENEW);
	items_free(items, n);
	assert_int_equal(store_txn_run(e->s, STORE_TXN_RO, tls_job_txn, &j), STORE_OK);
	assert_int_equal(j.state, STORE_JOB_DONE);
	assert_int_equal(j.due, 0);
	store_job_free(&j);
	acme_config_free(tc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lease_retry_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_request, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
