/*
 * A program run on the daemon's loop without a shell: the RA's DNS hook and
 * self-service TLS's reload command. fork + execv of an argument vector
 * (no PATH search), stdin and stdout on /dev/null, stderr into a pipe that
 * the loop reads (the first bytes kept for the log line), reaped with
 * waitpid(WNOHANG) once the pipe closes (or polled), killed with SIGKILL at
 * its deadline. The daemon keeps no SIGCHLD handler: every child is reaped
 * here, or killed and reaped when its owner cancels it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "validators/upstream.h"

#define EXEC_ERR_MAX 200         /* stderr bytes kept for the reason */
#define EXEC_POLL_MS 50          /* reaping poll once stderr is closed */

struct ups_exec {
	struct val_loop *loop;
	struct val_timer timer;
	ups_exec_fn cb;
	void *arg;
	int64_t deadline;              /* monotonic ms */
	pid_t pid;
	int fd;                        /* stderr pipe, -1 once closed */
	char errbuf[EXEC_ERR_MAX + 1];
	size_t errlen;
	char what[200];
};

static void
exec_free(struct ups_exec *x)
{
	if (x == NULL)
		return;
	val_timer_disarm(x->loop, &x->timer);
	if (x->fd >= 0) {
		val_loop_unwatch(x->loop, x->fd);
		close(x->fd);
	}
	if (x->pid > 0) {
		kill(x->pid, SIGKILL);
		(void)waitpid(x->pid, NULL, 0);
	}
	free(x);
}

/* Report and free: the callback may start the next step. */
static void
exec_end(struct ups_exec *x, int status, const char *err)
{
	ups_exec_fn cb = x->cb;
	void *arg = x->arg;
	char e[480];

	if (err != NULL)
		snprintf(e, sizeof(e), "%s", err);
	exec_free(x);
	cb(arg, status, err != NULL ? e : NULL);
}

static void
exec_reap(void *arg)
{
	struct ups_exec *x = arg;
	char e[480];
	int st = 0;
	pid_t r;
	size_t i;

	r = waitpid(x->pid, &st, WNOHANG);
	if (r == 0) {
		if (val_now_ms() >= x->deadline) {
			snprintf(e, sizeof(e), "%s did not finish in time", x->what);
			exec_end(x, -1, e);      /* kills it */
			return;
		}
		val_timer_arm(x->loop, &x->timer, x->fd >= 0 ? x->deadline - val_now_ms() :
		    EXEC_POLL_MS, exec_reap, x);
		return;
	}
	x->pid = -1;
	if (r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		exec_end(x, 0, NULL);
		return;
	}
	/* One line for the log and the problem document. */
	for (i = 0; i < x->errlen; i++)
		if (x->errbuf[i] == '\n' || x->errbuf[i] == '\r' || x->errbuf[i] == '"' ||
		    (unsigned char)x->errbuf[i] < ' ')
			x->errbuf[i] = ' ';
	while (x->errlen > 0 && x->errbuf[x->errlen - 1] == ' ')
		x->errbuf[--x->errlen] = '\0';
	if (r > 0 && WIFEXITED(st))
		snprintf(e, sizeof(e), "%.180s failed: exit status %d%s%.200s", x->what, WEXITSTATUS(st),
		    x->errlen ? ": " : "", x->errbuf);
	else if (r > 0 && WIFSIGNALED(st))
		snprintf(e, sizeof(e), "%s failed: killed by signal %d", x->what, WTERMSIG(st));
	else
		snprintf(e, sizeof(e), "%s failed: waitpid: %s", x->what, strerror(errno));
	exec_end(x, r > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, e);
}

static void
exec_io(void *arg, int fd, short revents)
{
	struct ups_exec *x = arg;
	char buf[256];
	size_t k;
	ssize_t n;

	(void)revents;
	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		k = (size_t)n < EXEC_ERR_MAX - x->errlen ? (size_t)n : EXEC_ERR_MAX - x->errlen;
		memcpy(x->errbuf + x->errlen, buf, k);
		x->errlen += k;
		x->errbuf[x->errlen] = '\0';
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF: the program closed its stderr (it exits, or did). */
	val_loop_unwatch(x->loop, fd);
	close(fd);
	x->fd = -1;
	exec_reap(x);
}

enum acme_err
ups_exec_start(struct val_loop *l, char *const argv[], int timeout_ms, const char *what,
    ups_exec_fn cb, void *arg, struct ups_exec **out)
{
	struct ups_exec *x = NULL;
	int p[2] = { -1, -1 }, devnull;
	enum acme_err rc = ACME_EIO;
	pid_t pid;

	*out = NULL;
	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/')
		return ACME_EINVAL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return ACME_ENOMEM;
	x->loop = l;
	x->cb = cb;
	x->arg = arg;
	x->fd = -1;
	x->pid = -1;
	x->deadline = val_now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
	snprintf(x->what, sizeof(x->what), "%s", what);
	if (pipe2(p, O_CLOEXEC) != 0) {
		log_err("%s: pipe: %s", what, strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		log_err("%s: fork: %s", what, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* The child: only async-signal-safe calls until execv. */
		if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		dup2(p[1], 2);
		closefrom(3);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	x->pid = pid;
	x->fd = p[0];
	p[0] = -1;
	fcntl(x->fd, F_SETFL, O_NONBLOCK);
	if ((rc = val_loop_watch(l, x->fd, POLLIN, exec_io, x)) != ACME_OK)
		goto out;
	val_timer_arm(l, &x->timer, timeout_ms > 0 ? timeout_ms : 30000, exec_reap, x);
	*out = x;
	x = NULL;
	rc = ACME_OK;
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	exec_free(x);
	return rc;
}

void
ups_exec_cancel(struct ups_exec *x)
{
	exec_free(x);
}
