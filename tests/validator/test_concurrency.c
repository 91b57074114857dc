/*
 * Many validations at once on one engine: 200 in flight, 120 of them against
 * a server that accepts and never answers. Every one ends with the right
 * outcome, the good ones end while the silent ones still hold their
 * connections, and the silent ones end at their own deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "tests/validator/vtest.h"

#define N_SILENT   120
#define N_HTTP_IP  50
#define N_HTTP_DNS 15
#define N_DNS01    15
#define N_ALL      (N_SILENT + N_HTTP_IP + N_HTTP_DNS + N_DNS01)
#define SILENT_MS  2500

static struct vt_http srv;
static struct vt_dns dns;
static struct val_loop *loop;
static struct val_engine *eng;

static int
setup(void **state)
{
	(void)state;
	acme_log_level(LOG_WARNING);
	if (vt_http_start(&srv, AF_INET) != 0 || vt_dns_start(&dns) != 0)
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
	vt_http_stop(&srv);
	vt_dns_stop(&dns);
	return 0;
}

static void
dns01_value(const char *token, char out[64])
{
	char ka[160];

	snprintf(ka, sizeof(ka), "%s.%s", token, VT_THUMB);
	acme_val_dns01_digest(ka, out);
}

static void
test_many_in_flight(void **state)
{
	static struct vt_result r[N_ALL];
	struct acme_val_item it;
	struct val_opts o;
	char tok[32], name[64], v[64];
	int i, k = 0, good_done, all;
	int64_t t0, good_ms = 0, worst_good = 0;
	size_t inflight_after_good;
	int conns_after_good;

	(void)state;
	for (i = 0; i < N_DNS01; i++) {
		snprintf(tok, sizeof(tok), "cd%d", i);
		dns01_value(tok, v);
		assert_int_equal(vt_dns_api(&dns, "/set-txt", "{\"host\":\"_acme-challenge.d%d.test.\","
		    "\"value\":\"%s\"}", i, v), 200);
	}
	memset(r, 0, sizeof(r));
	t0 = val_now_ms();
	/* The silent ones first, so they are in flight before the others start. */
	for (i = 0; i < N_SILENT; i++, k++) {
		snprintf(tok, sizeof(tok), "silent%d", i);
		vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", tok);
		vt_opts(&o, srv.port, 0, 1);
		o.total_ms = SILENT_MS;
		r[k].started = t0;
		assert_int_equal(val_start(eng, &it, &o, vt_done, &r[k]), ACME_OK);
	}
	for (i = 0; i < N_HTTP_IP + N_HTTP_DNS + N_DNS01; i++, k++) {
		snprintf(tok, sizeof(tok), "good%d", i);
		if (i < N_HTTP_IP) {
			vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", tok);
		} else if (i < N_HTTP_IP + N_HTTP_DNS) {
			snprintf(name, sizeof(name), "h%d.test", i);
			vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_DNS, name, tok);
		} else {
			snprintf(tok, sizeof(tok), "cd%d", i - N_HTTP_IP - N_HTTP_DNS);
			snprintf(name, sizeof(name), "d%d.test", i - N_HTTP_IP - N_HTTP_DNS);
			vt_item(&it, STORE_CH_DNS01, STORE_IDENT_DNS, name, tok);
		}
		vt_opts(&o, srv.port, 0, 1);
		o.total_ms = 10000;
		r[k].started = t0;
		assert_int_equal(val_start(eng, &it, &o, vt_done, &r[k]), ACME_OK);
	}
	assert_int_equal(val_engine_inflight(eng), N_ALL);

	/* Run until every good one has ended. */
	for (;;) {
		good_done = 0;
		for (i = N_SILENT; i < N_ALL; i++)
			good_done += r[i].done;
		if (good_done == N_ALL - N_SILENT || val_now_ms() - t0 > 8000)
			break;
		val_loop_once(loop, 50);
	}
	good_ms = val_now_ms() - t0;
	inflight_after_good = val_engine_inflight(eng);
	conns_after_good = *srv.conns;
	for (i = N_SILENT; i < N_ALL; i++) {
		if (!r[i].valid)
			print_error("good #%d: %s: %s\n", i, acme_prob_name(r[i].type), r[i].detail);
		assert_true(r[i].valid);
		if (r[i].ms > worst_good)
			worst_good = r[i].ms;
	}
	/* Every good one ended while all the silent ones were still in flight,
	 * holding their connections: the silent ones delayed nobody. (No
	 * timing is asserted; the figure is reported.) */
	assert_int_equal(inflight_after_good, N_SILENT);
	assert_true(conns_after_good >= N_SILENT + N_HTTP_IP + N_HTTP_DNS);
	print_message("# good ones done in %lld ms (worst %lld ms), silent ones still open\n",
	    (long long)good_ms, (long long)worst_good);

	all = vt_run(loop, r, N_ALL, 10000);
	assert_int_equal(all, N_ALL);
	for (i = 0; i < N_SILENT; i++) {
		assert_false(r[i].valid);
		assert_int_equal(r[i].type, PROB_CONNECTION);
		assert_true(r[i].ms >= SILENT_MS - 50);   /* not given up early */
	}
	assert_int_equal(val_engine_inflight(eng), 0);
	fprintf(stderr, "# %d validations in flight; %d good ones done after %lld ms "
	    "(slowest %lld ms) while %zu silent ones were still open; all done after %lld ms\n",
	    N_ALL, N_ALL - N_SILENT, (long long)good_ms, (long long)worst_good,
	    inflight_after_good, (long long)(val_now_ms() - t0));
}

/* Abandoning work in flight (shutdown) frees everything and calls nobody. */
static void
test_abandon(void **state)
{
	struct val_loop *l = NULL;
	struct val_engine *e = NULL;
	struct acme_val_item it;
	struct val_opts o;
	struct vt_result r[20];
	char tok[32];
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	assert_int_equal(val_loop_new(&l), ACME_OK);
	assert_int_equal(val_engine_new(l, dns.resolver, &e), ACME_OK);
	for (i = 0; i < 20; i++) {
		snprintf(tok, sizeof(tok), "silentab%d", i);
		if (i % 2)
			vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_DNS, "ab.test", tok);
		else
			vt_item(&it, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", tok);
		vt_opts(&o, srv.port, 0, 1);
		assert_int_equal(val_start(e, &it, &o, vt_done, &r[i]), ACME_OK);
	}
	for (i = 0; i < 5; i++)
		val_loop_once(l, 20);
	val_engine_free(e);
	val_loop_free(l);
	for (i = 0; i < 20; i++)
		assert_false(r[i].done);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_in_flight),
		cmocka_unit_test(test_abandon),
	};

	return cmocka_run_group_tests_name("concurrency", tests, setup, teardown);
}
