/* The shared nonce table: fresh, used and stale; two processes racing for
 * one nonce; the window wrapping; a corrupt file replaced. */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/store/store_test.h"

static char *dir;
static char path[512];

static int
setup(void **state)
{
	(void)state;
	dir = tdir_make();
	snprintf(path, sizeof(path), "%s/nonces", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tdir_remove(dir);
	dir = NULL;
	return 0;
}

static void
test_fresh_used_stale(void **state)
{
	struct store_nonces *n;
	struct stat st;
	uint64_t a, b;

	(void)state;
	assert_int_equal(store_nonces_open(path, &n), STORE_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	a = store_nonces_next(n);
	b = store_nonces_next(n);
	assert_int_equal(b, a + 1);
	assert_int_equal(store_nonces_consume(n, b), STORE_NONCE_FRESH);
	assert_int_equal(store_nonces_consume(n, b), STORE_NONCE_USED);
	assert_int_equal(store_nonces_consume(n, a), STORE_NONCE_FRESH);
	assert_int_equal(store_nonces_consume(n, b + 1), STORE_NONCE_STALE);   /* not issued */
	assert_int_equal(store_nonces_consume(n, UINT64_MAX), STORE_NONCE_STALE);
	store_nonces_close(n);
	store_nonces_close(NULL);
}

/* Another open of the same file shares counter, bitmap, key and epoch. */
static void
test_shared_between_handles(void **state)
{
	struct store_nonces *n1, *n2;
	uint64_t c;

	(void)state;
	assert_int_equal(store_nonces_open(path, &n1), STORE_OK);
	assert_int_equal(store_nonces_open(path, &n2), STORE_OK);
	assert_int_equal(store_nonces_epoch(n1), store_nonces_epoch(n2));
	assert_memory_equal(store_nonces_key(n1), store_nonces_key(n2), 16);
	c = store_nonces_next(n1);
	assert_int_equal(store_nonces_next(n2), c + 1);
	assert_int_equal(store_nonces_consume(n2, c), STORE_NONCE_FRESH);
	assert_int_equal(store_nonces_consume(n1, c), STORE_NONCE_USED);
	store_nonces_close(n1);
	store_nonces_close(n2);
}

#define RACE 20000

/* Two processes consume the same nonces at once: each is fresh once. */
static void
test_two_processes_race(void **state)
{
	struct store_nonces *n;
	uint64_t first, i;
	int p[2][2], k;
	pid_t pid[2];
	unsigned fresh[2];

	(void)state;
	assert_int_equal(store_nonces_open(path, &n), STORE_OK);
	first = store_nonces_next(n);
	for (i = 1; i < RACE; i++)
		store_nonces_next(n);
	for (k = 0; k < 2; k++) {
		assert_int_equal(pipe(p[k]), 0);
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			struct store_nonces *m;
			unsigned f = 0;

			if (store_nonces_open(path, &m) != STORE_OK)
				_exit(10);
			for (i = 0; i < RACE; i++)
				f += store_nonces_consume(m, first + (k ? RACE - 1 - i : i)) ==
				    STORE_NONCE_FRESH;
			if (write(p[k][1], &f, sizeof(f)) != sizeof(f))
				_exit(11);
			_exit(0);
		}
	}
	for (k = 0; k < 2; k++) {
		assert_int_equal(read(p[k][0], &fresh[k], sizeof(fresh[k])), sizeof(fresh[k]));
		assert_int_equal(child_status(pid[k]), 0);
		close(p[k][0]);
		close(p[k][1]);
	}
	assert_int_equal(fresh[0] + fresh[1], RACE);
	for (i = 0; i < RACE; i++)
		assert_int_equal(store_nonces_consume(n, first + i), STORE_NONCE_USED);
	store_nonces_close(n);
}

/* After most of a window of newer nonces an old one is stale; its slot,
 * reused a window later, is fresh again for the new nonce. */
static void
test_window(void **state)
{
	const uint64_t live = STORE_NONCE_WINDOW - STORE_NONCE_WINDOW / 16;
	struct store_nonces *n;
	uint64_t old, keep, reuse, i;

	(void)state;
	assert_int_equal(store_nonces_open(path, &n), STORE_OK);
	old = store_nonces_next(n);
	keep = store_nonces_next(n);
	assert_int_equal(store_nonces_consume(n, old), STORE_NONCE_FRESH);
	/* issue until old is exactly at the edge: counter - old == live */
	for (i = old + 2; i < old + live; i++)
		store_nonces_next(n);
	assert_int_equal(store_nonces_consume(n, old), STORE_NONCE_USED);
	store_nonces_next(n);   /* counter - old == live + 1 */
	assert_int_equal(store_nonces_consume(n, old), STORE_NONCE_STALE);
	assert_int_equal(store_nonces_consume(n, keep), STORE_NONCE_FRESH);
	/* wrap: the nonce one window after old lands in old's slot */
	while ((reuse = store_nonces_next(n)) < old + STORE_NONCE_WINDOW)
		;
	assert_int_equal(reuse, old + STORE_NONCE_WINDOW);
	assert_int_equal(store_nonces_consume(n, reuse), STORE_NONCE_FRESH);
	assert_int_equal(store_nonces_consume(n, reuse), STORE_NONCE_USED);
	assert_int_equal(store_nonces_consume(n, old), STORE_NONCE_STALE);
	store_nonces_close(n);
}

static void
corrupt_and_reopen(void (*damage)(int fd))
{
	struct store_nonces *n;
	uint64_t epoch, c;
	int fd;

	assert_int_equal(store_nonces_open(path, &n), STORE_OK);
	epoch = store_nonces_epoch(n);
	c = store_nonces_next(n);
	store_nonces_close(n);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	damage(fd);
	close(fd);
	assert_int_equal(store_nonces_open(path, &n), STORE_OK);
	assert_true(store_nonces_epoch(n) != epoch);
	assert_int_equal(store_nonces_consume(n, c), STORE_NONCE_STALE);   /* a new table */
	assert_int_equal(store_nonces_next(n), 0);
	store_nonces_close(n);
}

static void
damage_magic(int fd)
{
	assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
}

static void
damage_size(int fd)
{
	assert_int_equal(ftruncate(fd, 4096), 0);
}

static void
damage_empty(int fd)
{
	assert_int_equal(ftruncate(fd, 0), 0);
}

static void
test_corrupt_file_recreated(void **state)
{
	(void)state;
	corrupt_and_reopen(damage_magic);
	corrupt_and_reopen(damage_size);
	corrupt_and_reopen(damage_empty);
}

static void
test_open_errors(void **state)
{
	struct store_nonces *n = NULL;
	char bad[600];

	(void)state;
	assert_int_equal(store_nonces_open(NULL, &n), STORE_INVAL);
	snprintf(bad, sizeof(bad), "%s/no/such/dir/nonces", dir);
	assert_int_not_equal(store_nonces_open(bad, &n), STORE_OK);
	assert_null(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_used_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_between_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
