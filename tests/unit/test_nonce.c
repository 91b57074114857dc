/* Replay nonces as the core makes and checks them (core/nonce.c over the
 * shared table in store/nonces.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "core/log.h"

static char dir[] = "/tmp/acme-nonce-test-XXXXXX";
static struct acme_config cfg;
static struct acme_ctx ctx;

static int
setup(void **state)
{
	char run[128];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(run, sizeof(run), "%s/run", dir);
	mkdir(run, 0700);
	cfg.state_dir = dir;
	ctx.cfg = &cfg;
	return acme_nonce_init(&ctx) == ACME_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[160];

	(void)state;
	acme_nonce_fini(&ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
check(const char *nonce, enum acme_prob *type)
{
	struct acme_problem p;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = acme_nonce_check(&ctx, nonce, &p);
	*type = p.type;
	acme_problem_clear(&p);
	return rc;
}

static void
test_fresh_then_used(void **state)
{
	char n[24];
	enum acme_prob t;

	(void)state;
	assert_int_equal(acme_nonce_new(&ctx, n), ACME_OK);
	assert_int_equal(strlen(n), 22);
	assert_int_equal(strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 22);
	assert_int_equal(check(n, &t), 0);
	assert_int_equal(check(n, &t), -1);
	assert_int_equal(t, PROB_BAD_NONCE);
}

static void
test_unique(void **state)
{
	enum { N = 20000 };
	char (*n)[24] = calloc(N, 24);
	size_t i;

	(void)state;
	assert_non_null(n);
	for (i = 0; i < N; i++)
		assert_int_equal(acme_nonce_new(&ctx, n[i]), ACME_OK);
	qsort(n, N, 24, (int (*)(const void *, const void *))strcmp);
	for (i = 1; i < N; i++)
		assert_true(strcmp(n[i - 1], n[i]) != 0);
	free(n);
}

static void
test_forged_and_malformed(void **state)
{
	static const char *bad[] = {
		"AAAAAAAAAAAAAAAAAAAAAA", "a+b/=", "", "AAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAA",
	};
	enum acme_prob t;
	char n[24];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(check(bad[i], &t), -1);
		assert_int_equal(t, PROB_BAD_NONCE);
	}
	/* One character changed: decrypts to garbage, so it is refused. */
	assert_int_equal(acme_nonce_new(&ctx, n), ACME_OK);
	n[3] = n[3] == 'A' ? 'B' : 'A';
	assert_int_equal(check(n, &t), -1);
	assert_int_equal(t, PROB_BAD_NONCE);
}

static void
test_shared_across_processes(void **state)
{
	char n[24];
	enum acme_prob t;
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(acme_nonce_new(&ctx, n), ACME_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Another process with its own mapping of the same table. */
		struct acme_ctx other;
		memset(&other, 0, sizeof(other));
		other.cfg = &cfg;
		if (acme_nonce_init(&other) != ACME_OK)
			_exit(2);
		_exit(check(n, &t) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Consumed by the child: refused here. */
	assert_int_equal(check(n, &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_then_used),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_forged_and_malformed),
		cmocka_unit_test(test_shared_across_processes),
	};
	acme_log_level(LOG_CRIT);
	return cmocka_run_group_tests(tests, setup, teardown);
}
