/* The validator's wake-up socket. */
#include <poll.h>
#include <sys/stat.h>
#include <time.h>

#include "tests/store/store_test.h"

static char *dir;
static char path[512];

static int
setup(void **state)
{
	(void)state;
	dir = tdir_make();
	snprintf(path, sizeof(path), "%s/wake.sock", dir);
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

/* Drain until n wake-ups have arrived or a second has passed. */
static int
drain_n(int fd, int n)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int got = 0, i;

	for (i = 0; i < 100 && got < n; i++) {
		(void)poll(&p, 1, 10);
		got += store_wake_drain(fd);
	}
	return got;
}

static void
test_ring_from_other_processes(void **state)
{
	struct stat st;
	pid_t pid;
	int fd, k;

	(void)state;
	assert_int_equal(store_wake_listen(path, &fd), STORE_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(store_wake_drain(fd), 0);
	store_wake_ring(path);   /* this process's socket, made lazily */
	assert_int_equal(drain_n(fd, 1), 1);
	for (k = 0; k < 2; k++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			/* a child has its own sending socket, not the parent's */
			store_wake_ring(path);
			store_wake_ring(path);
			store_wake_ring(path);
			_exit(0);
		}
		assert_int_equal(child_status(pid), 0);
	}
	assert_int_equal(drain_n(fd, 6), 6);
	store_wake_ring(path);   /* the parent's socket still works */
	assert_int_equal(drain_n(fd, 1), 1);
	assert_int_equal(store_wake_drain(fd), 0);
	close(fd);
}

/* A stale socket file from an earlier run is replaced. */
static void
test_listen_replaces_stale(void **state)
{
	int fd1, fd2;

	(void)state;
	assert_int_equal(store_wake_listen(path, &fd1), STORE_OK);
	close(fd1);
	assert_int_equal(store_wake_listen(path, &fd2), STORE_OK);
	store_wake_ring(path);
	assert_int_equal(drain_n(fd2, 1), 1);
	close(fd2);
}

/* Ringing never blocks and never fails loudly: nobody listening, a full
 * socket buffer, a path that cannot be one. */
static void
test_ring_never_blocks(void **state)
{
	char longpath[200];
	struct timespec t0, t1;
	int fd, i, got;

	(void)state;
	store_wake_ring(path);   /* ENOENT */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	store_wake_ring(longpath);
	store_wake_ring("");
	store_wake_ring(NULL);
	assert_int_equal(store_wake_listen(longpath, &fd), STORE_INVAL);
	assert_int_equal(fd, -1);

	assert_int_equal(store_wake_listen(path, &fd), STORE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 20000; i++)
		store_wake_ring(path);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	got = store_wake_drain(fd);
	assert_true(got > 0 && got <= 20000);
	close(fd);
	store_wake_ring(path);   /* ECONNREFUSED: bound file, nobody on it */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ring_from_other_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_replaces_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_never_blocks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
