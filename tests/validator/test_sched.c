/*
 * The scheduler and the daemon against a real store: a processing challenge
 * queued in the store is leased, validated against the local responder and
 * recorded (valid, or a retry with the problem in the challenge's error);
 * and the acme-validator program itself, woken by a datagram, picks up new
 * work within milliseconds, and exits 0 on SIGTERM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "core/config.h"
#include "validators/sched.h"
#include "tests/validator/vtest.h"

static struct vt_http srv;
static struct vt_dns dns;
static char dir[64];
static char conf[128];
static struct acme_config *cfg;
static struct store *st;
static pid_t daemon_pid;

static int
setup(void **state)
{
	char db[128], logdir[128];
	FILE *f;

	(void)state;
	acme_log_level(LOG_WARNING);
	if (vt_http_start(&srv, AF_INET) != 0 || vt_dns_start(&dns) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/acme-valsched.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/acme.conf", dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f, "base_url = https://acme.test\nstate_dir = %s\nresolver = %s\n"
	    "http01_port = %d\ntlsalpn01_port = %d\nretry_base = 30s\nretry_cap = 60s\n"
	    "lease = 30s\nvalidator_inflight = 64\nlog = stderr\nlog_level = warning\n"
	    "[directory default]\nca_cert = ca.pem\nca_key = ca.key\nallow_private = true\n"
	    "[directory caa]\nca_cert = ca.pem\nca_key = ca.key\nallow_private = true\n"
	    "caa_check = yes\ncaa_identities = ca.test\n",
	    dir, dns.resolver, srv.port, vt_free_port(SOCK_STREAM));
	fclose(f);
	if (acme_config_load(conf, &cfg) != ACME_OK)
		return -1;
	/* The daemon's audit log goes to log/audit.log by default. */
	snprintf(logdir, sizeof(logdir), "%s/log", dir);
	mkdir(logdir, 0700);
	snprintf(db, sizeof(db), "%s/db", dir);
	mkdir(db, 0700);
	if (store_open(db, STORE_OPEN_CREATE | STORE_OPEN_NOSYNC, &st) != STORE_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[160];

	(void)state;
	vt_kill_group(daemon_pid);
	store_close(st);
	acme_config_free(cfg);
	vt_http_stop(&srv);
	vt_dns_stop(&dns);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return 0;
}

struct put {
	struct store_authz z;
};

static enum store_err
put_txn(struct store_txn *t, void *arg)
{
	return store_authz_put(t, arg, STORE_PUT_CREATE);
}

/*
 * Queue an authorization of directory dname for ident, due now: with one
 * processing challenge, or (recheck) valid through that challenge and
 * waiting for a CAA re-check.
 */
static void
queue_in(store_id id, const char *dname, int recheck, int type, int ident_type,
    const char *ident, const char *prefix)
{
	struct store_authz z;
	char ka[160], token[STORE_TOKEN_LEN + 1];
	int64_t now = (int64_t)time(NULL);

	memset(&z, 0, sizeof(z));
	assert_int_equal(store_new_id(z.id), STORE_OK);
	assert_int_equal(store_new_id(z.acct), STORE_OK);
	snprintf(z.dir, sizeof(z.dir), "%s", dname);
	z.ident.type = (uint8_t)ident_type;
	z.ident.value = (char *)ident;
	z.status = recheck ? STORE_ST_VALID : STORE_ST_PENDING;
	z.created = now;
	z.expires = now + 3600;
	z.nchall = 1;
	z.chall[0].type = (uint8_t)type;
	z.chall[0].status = recheck ? STORE_ST_VALID : STORE_ST_PROCESSING;
	z.chall[0].keyauth = ka;
	z.caa_recheck = (uint8_t)recheck;
	z.caa_checked = recheck ? 1 : 0;
	z.due = now;
	vt_token(token, prefix);
	snprintf(z.chall[0].token, sizeof(z.chall[0].token), "%s", token);
	snprintf(ka, sizeof(ka), "%s.%s", token, VT_THUMB);
	assert_int_equal(store_txn_run(st, STORE_TXN_RW, put_txn, &z), STORE_OK);
	memcpy(id, z.id, sizeof(store_id));
}

static void
queue_authz(store_id id, int type, int ident_type, const char *ident, const char *prefix)
{
	queue_in(id, "default", 0, type, ident_type, ident, prefix);
}

struct get {
	const char *id;
	struct store_authz z;
};

static enum store_err
get_txn(struct store_txn *t, void *arg)
{
	struct get *g = arg;

	store_authz_free(&g->z);
	return store_authz_get(t, g->id, &g->z);
}

static void
get_authz(const char *id, struct store_authz *out)
{
	struct get g;

	memset(&g, 0, sizeof(g));
	g.id = id;
	assert_int_equal(store_txn_run(st, STORE_TXN_RO, get_txn, &g), STORE_OK);
	*out = g.z;
}

/* Run the scheduler until authz id has an attempt recorded (or, for a CAA
 * re-check, is no longer waiting for one) or max_ms pass. */
static void
sched_until(struct val_loop *l, struct val_sched *s, const char *id, int max_ms,
    struct store_authz *out)
{
	int64_t end = val_now_ms() + max_ms;
	int wait;

	memset(out, 0, sizeof(*out));
	for (;;) {
		store_authz_free(out);
		get_authz(id, out);
		if (out->status == STORE_ST_VALID ? !out->caa_recheck : out->chall[0].attempts > 0)
			return;
		if (val_now_ms() > end)
			return;
		wait = val_sched_tick(s);
		val_loop_once(l, wait < 20 ? wait : 20);
	}
}

static void
test_sched_valid_and_retry(void **state)
{
	struct val_loop *l = NULL;
	struct val_engine *e = NULL;
	struct val_sched *s = NULL;
	struct store_authz z;
	store_id good, bad, dns01;
	char ka[160], d[64], tok[STORE_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(val_loop_new(&l), ACME_OK);
	assert_int_equal(val_engine_new(l, cfg->resolver, &e), ACME_OK);
	assert_int_equal(val_sched_new(e, &s), ACME_OK);
	val_sched_use(s, st, cfg);

	vt_token(tok, "tokdns");
	snprintf(ka, sizeof(ka), "%s.%s", tok, VT_THUMB);
	acme_val_dns01_digest(ka, d);
	assert_int_equal(vt_dns_api(&dns, "/set-txt", "{\"host\":\"_acme-challenge.sched.test.\","
	    "\"value\":\"%s\"}", d), 200);
	queue_authz(good, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", "goodsched");
	queue_authz(bad, STORE_CH_HTTP01, STORE_IDENT_DNS, "bad.test", "wrongsched");
	queue_authz(dns01, STORE_CH_DNS01, STORE_IDENT_DNS, "sched.test", "tokdns");

	sched_until(l, s, good, 5000, &z);
	assert_int_equal(z.status, STORE_ST_VALID);
	assert_int_equal(z.chall[0].status, STORE_ST_VALID);
	assert_int_equal(z.due, 0);
	store_authz_free(&z);

	sched_until(l, s, dns01, 5000, &z);
	assert_int_equal(z.status, STORE_ST_VALID);
	store_authz_free(&z);

	/* A failed attempt: still processing, the problem kept, a retry queued. */
	sched_until(l, s, bad, 5000, &z);
	assert_int_equal(z.status, STORE_ST_PENDING);
	assert_int_equal(z.chall[0].status, STORE_ST_PROCESSING);
	assert_int_equal(z.chall[0].attempts, 1);
	assert_non_null(z.chall[0].error);
	assert_non_null(strstr(z.chall[0].error, "urn:ietf:params:acme:error:unauthorized"));
	assert_non_null(strstr(z.chall[0].error, "did not match"));
	assert_true(z.due > (int64_t)time(NULL) + 20);
	store_authz_free(&z);

	assert_int_equal(val_sched_stats(s)->valid, 2);
	assert_int_equal(val_sched_stats(s)->failed, 1);
	val_engine_free(e);
	val_sched_free(s);
	val_loop_free(l);
}

static void
set_caa(const char *host, const char *value)
{
	assert_int_equal(vt_dns_api(&dns, "/add-caa", "{\"host\":\"%s.\",\"policies\":"
	    "[{\"tag\":\"issue\",\"value\":\"%s\"}]}", host, value), 200);
}

/*
 * CAA through the scheduler and the store: after a challenge passes in a
 * directory that checks CAA, the check runs and its time is recorded, or
 * the caa problem is the attempt's; a re-check of a valid authorization
 * records a fresh check or the caa error that fails its orders.
 */
static void
test_sched_caa(void **state)
{
	struct val_loop *l = NULL;
	struct val_engine *e = NULL;
	struct val_sched *s = NULL;
	struct store_authz z;
	store_id ok, no, rok, rno, plain;
	int64_t t0 = (int64_t)time(NULL);

	(void)state;
	assert_int_equal(val_loop_new(&l), ACME_OK);
	assert_int_equal(val_engine_new(l, cfg->resolver, &e), ACME_OK);
	assert_int_equal(val_sched_new(e, &s), ACME_OK);
	val_sched_use(s, st, cfg);
	set_caa("caa-ok.test", "ca.test; accounturi=https://acme.test/acme/caa/acct/x");
	set_caa("caa-ok.test", "ca.test; validationmethods=http-01");
	set_caa("caa-no.test", "other.ca");
	set_caa("recheck-ok.test", "ca.test");
	set_caa("recheck-no.test", "ca.test; validationmethods=dns-01");
	queue_in(ok, "caa", 0, STORE_CH_HTTP01, STORE_IDENT_DNS, "caa-ok.test", "goodcaa");
	queue_in(no, "caa", 0, STORE_CH_HTTP01, STORE_IDENT_DNS, "caa-no.test", "goodcaano");
	queue_in(plain, "default", 0, STORE_CH_HTTP01, STORE_IDENT_DNS, "caa-no.test", "goodplain");
	queue_in(rok, "caa", 1, STORE_CH_HTTP01, STORE_IDENT_DNS, "recheck-ok.test", "wrongrok");
	queue_in(rno, "caa", 1, STORE_CH_HTTP01, STORE_IDENT_DNS, "recheck-no.test", "wrongrno");

	sched_until(l, s, ok, 5000, &z);
	assert_int_equal(z.status, STORE_ST_VALID);
	assert_true(z.caa_checked >= t0);
	store_authz_free(&z);

	/* A CAA refusal is final at once: no retry. */
	sched_until(l, s, no, 5000, &z);
	assert_int_equal(z.status, STORE_ST_INVALID);
	assert_int_equal(z.chall[0].status, STORE_ST_INVALID);
	assert_non_null(z.chall[0].error);
	assert_non_null(strstr(z.chall[0].error, "urn:ietf:params:acme:error:caa"));
	assert_non_null(strstr(z.chall[0].error, "CAA record for caa-no.test"));
	assert_int_equal(z.caa_checked, 0);
	store_authz_free(&z);

	/* The same name in a directory that does not check CAA. */
	sched_until(l, s, plain, 5000, &z);
	assert_int_equal(z.status, STORE_ST_VALID);
	assert_int_equal(z.caa_checked, 0);
	store_authz_free(&z);

	/* Re-checks: the challenge ("wrong...") is not fetched again. */
	sched_until(l, s, rok, 5000, &z);
	assert_int_equal(z.status, STORE_ST_VALID);
	assert_int_equal(z.caa_recheck, 0);
	assert_true(z.caa_checked >= t0);
	assert_null(z.caa_error);
	store_authz_free(&z);

	sched_until(l, s, rno, 5000, &z);
	assert_int_equal(z.caa_recheck, 0);
	assert_int_equal(z.caa_checked, 1);
	assert_non_null(z.caa_error);
	assert_non_null(strstr(z.caa_error, "urn:ietf:params:acme:error:caa"));
	assert_non_null(strstr(z.caa_error, "validated with http-01"));
	store_authz_free(&z);

	val_engine_free(e);
	val_sched_free(s);
	val_loop_free(l);
}

/* The daemon: started idle, woken by a datagram per new challenge. */
static void
test_daemon_wakeup(void **state)
{
	char prog[256], sock[160];
	const char *build = getenv("BUILD");
	struct store_authz z;
	struct stat sb;
	store_id id;
	char tok[32];
	int64_t t0, lat, worst = 0, total = 0;
	pid_t pid;
	int i, status, rounds = 5;

	(void)state;
	snprintf(prog, sizeof(prog), "%s/acme-validator", build ? build : "build");
	if (access(prog, X_OK) != 0) {
		print_message("# %s not built: skipped\n", prog);
		skip();
	}
	snprintf(sock, sizeof(sock), "%s/run/validator.sock", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		execl(prog, prog, "-c", conf, "-f", (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	daemon_pid = pid;
	for (i = 0; i < 200 && stat(sock, &sb) != 0; i++)
		usleep(20000);
	assert_int_equal(stat(sock, &sb), 0);
	usleep(1500000);   /* idle: past its first poll */

	for (i = 0; i < rounds; i++) {
		snprintf(tok, sizeof(tok), "goodwake%d", i);
		queue_authz(id, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", tok);
		t0 = val_now_ms();
		store_wake_ring(sock);
		for (;;) {
			get_authz(id, &z);
			if (z.status != STORE_ST_PENDING || val_now_ms() - t0 > 5000)
				break;
			store_authz_free(&z);
			usleep(2000);
		}
		lat = val_now_ms() - t0;
		assert_int_equal(z.status, STORE_ST_VALID);
		store_authz_free(&z);
		total += lat;
		if (lat > worst)
			worst = lat;
		usleep(300000 + 137000 * (useconds_t)i);   /* land at different poll phases */
	}
	fprintf(stderr, "# wake-up to valid: mean %lld ms, worst %lld ms over %d rounds\n",
	    (long long)(total / rounds), (long long)worst, rounds);
	/* The 1 s poll alone would average 500 ms. */
	assert_true(worst < 300);

	/* SIGHUP reloads the configuration; the daemon goes on working. */
	kill(pid, SIGHUP);
	usleep(200000);
	queue_authz(id, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", "goodhup");
	store_wake_ring(sock);
	t0 = val_now_ms();
	for (;;) {
		get_authz(id, &z);
		if (z.status != STORE_ST_PENDING || val_now_ms() - t0 > 5000)
			break;
		store_authz_free(&z);
		usleep(2000);
	}
	assert_int_equal(z.status, STORE_ST_VALID);
	store_authz_free(&z);

	/* SIGTERM with a validation in flight against a silent server: the
	 * daemon gives it a short grace, abandons it and exits 0; nothing is
	 * recorded for it, its lease just runs out. */
	queue_authz(id, STORE_CH_HTTP01, STORE_IDENT_IP, "127.0.0.1", "silentterm");
	store_wake_ring(sock);
	usleep(300000);
	t0 = val_now_ms();
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	daemon_pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(val_now_ms() - t0 < 30000);
	get_authz(id, &z);
	assert_int_equal(z.status, STORE_ST_PENDING);
	assert_int_equal(z.chall[0].status, STORE_ST_PROCESSING);
	assert_int_equal(z.chall[0].attempts, 0);
	assert_true(z.due > (int64_t)time(NULL));   /* leased */
	store_authz_free(&z);
	assert_int_equal(stat(sock, &sb), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched_valid_and_retry),
		cmocka_unit_test(test_sched_caa),
		cmocka_unit_test(test_daemon_wakeup),
	};

	return cmocka_run_group_tests_name("sched", tests, setup, teardown);
}
