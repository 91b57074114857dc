#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "core/log.h"
#include "validators/super.h"

#define SUPER_TICK_MS        200
#define SUPER_START_MIN_MS   120000
#define SUPER_QUICK_DEATH_MS 5000
#define SUPER_BACKOFF_MS     100
#define SUPER_BACKOFF_MAX_MS 10000
/* After a stop signal: the child's drain (3 s) and its store close. */
#define SUPER_STOP_GRACE_MS  20000

/* Shared with the child (an anonymous shared mapping made before the first
 * fork). CLOCK_MONOTONIC milliseconds: the same clock in every process. */
struct super_beat {
	_Atomic int64_t beat_ms;
	_Atomic int ready;
};

static struct super_beat *super_shared;     /* in the child: NULL when unsupervised */

static int64_t
super_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
super_nop(int sig)
{
	(void)sig;
}

static const int super_sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD };

/* The parent waits for its signals with sigtimedwait(): blocked, with a
 * no-op handler so that none is discarded as ignored. */
static int
super_signals(sigset_t *set)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigemptyset(set);
	sa.sa_handler = super_nop;
	for (i = 0; i < sizeof(super_sigs) / sizeof(super_sigs[0]); i++) {
		sigaddset(set, super_sigs[i]);
		if (sigaction(super_sigs[i], &sa, NULL) != 0)
			goto fail;
	}
	if (sigprocmask(SIG_BLOCK, set, NULL) != 0)
		goto fail;
	return 0;
fail:
	log_err("supervisor: signal setup: %s", strerror(errno));
	return -1;
}

/* In a new child: the parent's signal setup undone; gone with the parent. */
static int
super_child_setup(pid_t parent)
{
	struct sigaction sa;
	sigset_t none;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(super_sigs) / sizeof(super_sigs[0]); i++)
		(void)sigaction(super_sigs[i], &sa, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		return -1;
#ifdef __linux__
	/* The supervisor SIGKILLed: so is the daemon, as it would have been
	 * without a supervisor; whoever restarts the supervisor gets one
	 * daemon, not two. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		return -1;
#else
	(void)parent;
#endif
	return 0;
}

/* Fork a child: 0 in the child, the pid in the parent, -1 on failure. */
static pid_t
super_fork(pid_t self)
{
	pid_t pid;

	atomic_store(&super_shared->ready, 0);
	atomic_store(&super_shared->beat_ms, super_now_ms());
	pid = fork();
	if (pid < 0) {
		log_err("supervisor: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (super_child_setup(self) != 0)
			_exit(1);
		return 0;
	}
	log_debug("supervisor: validator process %d started", (int)pid);
	return pid;
}

int
val_super_start(int watchdog_s, int *status)
{
	struct timespec tick = { 0, SUPER_TICK_MS * 1000000L };
	int64_t now, started = 0, respawn_at = 0, stop_deadline = 0, limit, start_limit, delay;
	int st, sig, ever_ready = 0, stopping = 0, killed = 0, child_ready;
	unsigned fails = 0;
	char how[96];
	siginfo_t si;
	sigset_t set;
	pid_t self = getpid(), child = -1, w;

	*status = 1;
	limit = (int64_t)watchdog_s * 1000;
	start_limit = 4 * limit > SUPER_START_MIN_MS ? 4 * limit : SUPER_START_MIN_MS;
	super_shared = mmap(NULL, sizeof(*super_shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (super_shared == MAP_FAILED) {
		super_shared = NULL;
		log_err("supervisor: mmap: %s", strerror(errno));
		return -1;
	}
	if (super_signals(&set) != 0)
		return -1;
	if ((child = super_fork(self)) == 0)
		return 0;
	if (child < 0)
		return -1;
	started = super_now_ms();
	for (;;) {
		now = super_now_ms();
		while (child > 0 && (w = waitpid(child, &st, WNOHANG)) == child) {
			child_ready = atomic_load(&super_shared->ready);
			ever_ready |= child_ready;
			acme_log_wait_status(st, how, sizeof(how));
			child = -1;
			if (stopping) {
				*status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
				goto done;
			}
			if (!ever_ready) {
				/* The first start failed (configuration, store, socket): the
				 * child said why; whoever started us hears of it. */
				log_err("supervisor: the validator process %s before it was ready; "
				    "giving up", how);
				*status = WIFEXITED(st) && WEXITSTATUS(st) != 0 ? WEXITSTATUS(st) : 1;
				goto done;
			}
			if (!killed)
				log_err("supervisor: validator process %s%s; starting another", how,
				    child_ready ? "" : " before it was ready");
			fails = !child_ready || now - started < SUPER_QUICK_DEATH_MS ? fails + 1 : 0;
			delay = 0;
			if (fails > 0) {
				delay = (int64_t)SUPER_BACKOFF_MS << (fails - 1 < 7 ? fails - 1 : 7);
				if (delay > SUPER_BACKOFF_MAX_MS)
					delay = SUPER_BACKOFF_MAX_MS;
			}
			respawn_at = now + delay;
			killed = 0;
		}
		if (child < 0 && stopping) {
			*status = 0;
			goto done;
		}
		if (child < 0 && now >= respawn_at) {
			child = super_fork(self);
			if (child == 0)
				return 0;
			if (child < 0) {
				child = -1;
				respawn_at = now + 1000;
			} else {
				started = now;
			}
		}
		if (child > 0 && !killed && !stopping) {
			child_ready = atomic_load(&super_shared->ready);
			if (child_ready && now - atomic_load(&super_shared->beat_ms) > limit) {
				log_err("supervisor: validator process %d has not gone round its loop "
				    "for %llds (stuck on a lock?): killing it", (int)child,
				    (long long)((now - atomic_load(&super_shared->beat_ms)) / 1000));
				killed = 1;
			} else if (!child_ready && now - started > start_limit) {
				log_err("supervisor: validator process %d has been starting for %llds: "
				    "killing it", (int)child, (long long)((now - started) / 1000));
				killed = 1;
			}
			if (killed)
				kill(child, SIGKILL);
		}
		if (stopping && child > 0 && now >= stop_deadline && !killed) {
			log_err("supervisor: validator process %d still running %ds after the stop "
			    "signal: killing it", (int)child, SUPER_STOP_GRACE_MS / 1000);
			kill(child, SIGKILL);
			killed = 1;
		}
		sig = sigtimedwait(&set, &si, &tick);
		if ((sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) && !stopping) {
			stopping = 1;
			stop_deadline = super_now_ms() + SUPER_STOP_GRACE_MS;
			if (child > 0)
				kill(child, SIGTERM);
		} else if (sig == SIGHUP && child > 0 && !stopping) {
			kill(child, SIGHUP);
		}
	}
done:
	munmap(super_shared, sizeof(*super_shared));
	super_shared = NULL;
	return 1;
}

void
val_super_ready(void)
{
	if (super_shared == NULL)
		return;
	atomic_store(&super_shared->beat_ms, super_now_ms());
	atomic_store(&super_shared->ready, 1);
}

void
val_super_beat(void)
{
	if (super_shared != NULL)
		atomic_store(&super_shared->beat_ms, super_now_ms());
}
