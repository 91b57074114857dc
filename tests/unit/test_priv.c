/*
 * core/priv.c: the drop of root and the seccomp filter. Each case runs in a
 * child process (both are for good) that reports through its exit status:
 * 0 when every check held, else the number of the first that failed.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "core/priv.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

/* The value of field name in /proc/self/status, or -1. Hex for Cap*. */
static long long
status_field(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	long long v = -1;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtoll(line + n + 1, NULL, strncmp(name, "Cap", 3) == 0 ? 16 : 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Run fn in a child; its exit status. */
static int
in_child(int (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* errno of a system call that must fail. */
#define FAILS_WITH(call, err) ((call) == -1 && errno == (err))

static void *
thread_fn(void *arg)
{
	return arg;
}

static int
seccomp_child(void)
{
	static int token;
	pthread_t t;
	void *ret = NULL;
	pid_t pid;
	int st, p[2];

	if (acme_priv_seccomp() != ACME_OK)
		return 1;
	if (status_field("Seccomp") != 2 || status_field("NoNewPrivs") != 1)
		return 2;
	/* Without the filter these fail with EINVAL or EFAULT (or succeed as
	 * root): EPERM is the filter's answer. */
	if (!FAILS_WITH(syscall(SYS_bpf, -1, NULL, 0), EPERM))
		return 3;
	if (!FAILS_WITH(syscall(SYS_io_uring_setup, 0, NULL), EPERM))
		return 4;
	if (!FAILS_WITH(unshare(CLONE_NEWUSER), EPERM))
		return 5;
	if (!FAILS_WITH(syscall(SYS_keyctl, -1, 0, 0, 0, 0), EPERM))
		return 6;
	if (!FAILS_WITH(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM))
		return 7;
#ifndef SANITIZED
	if (!FAILS_WITH(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0), EPERM))
		return 8;
#endif
	if (!FAILS_WITH(syscall(SYS_clone3, NULL, 0), ENOSYS))
		return 9;
	if (!FAILS_WITH(syscall(SYS_process_vm_readv, getppid(), NULL, 0, NULL, 0, 0), EPERM))
		return 10;
	/* What the programs do still works: threads (clone3 refused, clone
	 * without namespace flags), fork, pipes, files, memory. */
	if (pthread_create(&t, NULL, thread_fn, &token) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != (void *)&token)
		return 11;
	if ((pid = fork()) < 0)
		return 12;
	if (pid == 0)
		_exit(7);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		return 13;
	if (pipe(p) != 0 || write(p[1], "x", 1) != 1 || close(p[0]) != 0 || close(p[1]) != 0)
		return 14;
	if (mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
		return 15;
	/* A second filter stacks on the first. */
	if (acme_priv_seccomp() != ACME_OK || status_field("Seccomp_filters") < 2)
		return 16;
	return 0;
}

static void
test_seccomp(void **state)
{
	(void)state;
	assert_int_equal(in_child(seccomp_child), 0);
}

static int
drop_child(void)
{
	long long caps;

	if (acme_priv_drop("nobody") != ACME_OK)
		return 1;
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0)
		return 2;
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		return 3;
	if (getgroups(0, NULL) > 1)
		return 4;
	if (status_field("NoNewPrivs") != 1)
		return 5;
	caps = status_field("CapEff") | status_field("CapPrm") | status_field("CapInh") |
	    status_field("CapBnd") | status_field("CapAmb");
	if (caps != 0)
		return 6;
	if ((umask(0) & 0777) != 007)
		return 7;
	/* Already that user: nothing to drop, still fine. */
	if (acme_priv_drop("nobody") != ACME_OK)
		return 8;
	/* Another user: refused without root. */
	if (acme_priv_drop("daemon") != ACME_EINVAL)
		return 9;
	return 0;
}

static void
test_drop(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		print_message("# not root: the drop is not tested\n");
		skip();
	}
	assert_int_equal(in_child(drop_child), 0);
}

static int
group_child(void)
{
	struct group *gr;
	gid_t want;

	/* USER:GROUP takes the group named, not the user's own. */
	if ((gr = getgrnam("daemon")) == NULL)
		return 1;
	want = gr->gr_gid;
	if (acme_priv_drop("nobody:daemon") != ACME_OK)
		return 2;
	if (getgid() != want || getegid() != want || geteuid() == 0)
		return 3;
	return 0;
}

static void
test_drop_group(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_child(group_child), 0);
}

static void
test_drop_refused(void **state)
{
	uid_t euid = geteuid();

	(void)state;
	assert_int_equal(acme_priv_drop("root"), ACME_EINVAL);
	assert_int_equal(acme_priv_drop("no-such-user-acme-test"), ACME_EINVAL);
	assert_int_equal(acme_priv_drop(""), ACME_EINVAL);
	assert_int_equal(acme_priv_drop("nobody:"), ACME_EINVAL);
	assert_int_equal(acme_priv_drop(":nobody"), ACME_EINVAL);
	assert_int_equal(acme_priv_drop("nobody:no-such-group-acme-test"), ACME_EINVAL);
	assert_int_equal(acme_priv_drop("nobody:root"), ACME_EINVAL);
	/* Nothing changed here. */
	assert_int_equal(geteuid(), euid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_refused),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_drop_group),
	};

	acme_log_open("test_priv", "stderr");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
