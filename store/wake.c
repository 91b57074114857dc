/*
 * The validator's wake-up: a unix datagram socket. Workers send one byte
 * after committing work; the daemon drains the socket and scans the due
 * queue. A lost datagram costs only latency (the daemon also polls), so the
 * sender never blocks and ignores every error.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "store/internal.h"

static int
wake_addr(const char *path, struct sockaddr_un *sun)
{
	size_t n;

	if (path == NULL || (n = strlen(path)) == 0 || n >= sizeof(sun->sun_path))
		return -1;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	return 0;
}

enum store_err
store_wake_listen(const char *path, int *fd_out)
{
	struct sockaddr_un sun;
	int fd = -1;
	enum store_err rc = STORE_INVAL;

	if (fd_out == NULL)
		goto out;
	*fd_out = -1;
	if (wake_addr(path, &sun) != 0) {
		store_log(LOG_ERR, "wake: socket path is empty or too long");
		goto out;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		rc = store_dberr(NULL, errno, "wake: socket");
		goto out;
	}
	if (unlink(path) != 0 && errno != ENOENT) {   /* a stale socket from the last run */
		rc = store_dberr(NULL, errno, "wake: unlink %s", path);
		goto out;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || chmod(path, 0660) != 0) {
		rc = store_dberr(NULL, errno, "wake: bind %s", path);
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	rc = STORE_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

int
store_wake_drain(int fd)
{
	char buf[64];
	int n = 0;
	ssize_t r;

	for (;;) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r >= 0) {
			n++;
			continue;
		}
		if (errno != EINTR)
			break;   /* EAGAIN: drained; anything else: nothing more to read */
	}
	return n;
}

/*
 * The sending socket, one per process, kept as pid << 32 | fd in one atomic
 * word: a child that inherited its parent's socket sees a foreign pid and
 * makes its own, and two threads racing to make one keep exactly one.
 */
static _Atomic uint64_t wake_sock;

static int
wake_sender(void)
{
	uint64_t cur = atomic_load(&wake_sock), mine;
	pid_t me = getpid();
	int fd = -1;

	if (cur != 0 && (pid_t)(cur >> 32) == me)
		return (int)(uint32_t)cur;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	mine = (uint64_t)(uint32_t)me << 32 | (uint32_t)fd;
	if (atomic_compare_exchange_strong(&wake_sock, &cur, mine)) {
		if (cur != 0)
			(void)close((int)(uint32_t)cur);   /* the parent's, inherited */
		return fd;
	}
	(void)close(fd);   /* another thread won */
	return (cur != 0 && (pid_t)(cur >> 32) == me) ? (int)(uint32_t)cur : -1;
}

void
store_wake_ring(const char *path)
{
	struct sockaddr_un sun;
	int fd;
	char b = 1;

	if (wake_addr(path, &sun) != 0 || (fd = wake_sender()) < 0)
		return;
	/* EAGAIN (the daemon is behind), ENOENT and ECONNREFUSED (it is not
	 * running) all mean the same: it will poll. */
	(void)sendto(fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sun, sizeof(sun));
}
