/*
 * The nonce table: a file mapped MAP_SHARED by every process.
 *
 *   [0, 4096)        header: magic, version, window, epoch, key, counter
 *   [4096, +2 MiB)   bitmap, one bit per slot, slot = counter % WINDOW
 *
 * Issuing takes the next counter value and clears its slot's bit; consuming
 * sets the bit and reports whether it was already set. Both are single
 * atomic operations on the mapping: no lock, no syscall, nothing flushed.
 *
 * The race to guard against: slot s is shared by counters c, c + W, c + 2W...
 * Issuing c + W clears the bit while c might still be presented. So c is
 * accepted only while fewer than W - W/16 nonces were issued after it, and
 * checked again after its bit is set: a consumer would have to stall across
 * W/16 (a million) issues for the reuse to catch it, and then it answers
 * stale rather than fresh.
 *
 * The file is created under a lock file (path.lock) as a temporary, fully
 * allocated (so a full disk is an error now, not SIGBUS later), synced, and
 * renamed into place: no process ever maps a half-written header. A file
 * with the wrong size, magic or version is replaced, with a new epoch.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "store/internal.h"

#define NONCE_MAGIC   UINT32_C(0x4e4f4e43)   /* "NONC" */
#define NONCE_VERSION 1
#define NONCE_HDR     4096
#define NONCE_WORDS   (STORE_NONCE_WINDOW / 64)
#define NONCE_SIZE    ((size_t)NONCE_HDR + (size_t)NONCE_WORDS * 8)
#define NONCE_LIVE    (STORE_NONCE_WINDOW - STORE_NONCE_WINDOW / 16)

#if ATOMIC_LLONG_LOCK_FREE != 2
#error "the nonce table needs lock-free 64-bit atomics (they live in shared memory)"
#endif

struct nonce_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t window;
	uint64_t epoch;
	unsigned char key[16];
	_Atomic uint64_t counter;
};

struct store_nonces {
	unsigned char *map;
	struct nonce_hdr *h;
	_Atomic uint64_t *bits;
	uint64_t epoch;
	unsigned char key[16];
};

/* Map fd and check the header; STORE_OK or STORE_CORRUPT. */
static enum store_err
nonce_map(int fd, struct store_nonces *n)
{
	struct stat st;
	void *m;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != NONCE_SIZE)
		return STORE_CORRUPT;
	m = mmap(NULL, NONCE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return STORE_CORRUPT;
	n->map = m;
	n->h = m;
	n->bits = (_Atomic uint64_t *)(void *)(n->map + NONCE_HDR);
	if (n->h->magic != NONCE_MAGIC || n->h->version != NONCE_VERSION ||
	    n->h->window != STORE_NONCE_WINDOW) {
		(void)munmap(m, NONCE_SIZE);
		n->map = NULL;
		return STORE_CORRUPT;
	}
	n->epoch = n->h->epoch;
	memcpy(n->key, n->h->key, sizeof(n->key));
	return STORE_OK;
}

/* Write a fresh table to a temporary and rename it over path; the open fd. */
static enum store_err
nonce_create(const char *path, int *fd_out)
{
	char tmp[PATH_MAX];
	struct nonce_hdr h;
	int fd = -1, err;
	enum store_err rc = STORE_ERR;

	*fd_out = -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		rc = STORE_INVAL;
		goto out;
	}
	(void)unlink(tmp);
	memset(&h, 0, sizeof(h));
	h.magic = NONCE_MAGIC;
	h.version = NONCE_VERSION;
	h.window = STORE_NONCE_WINDOW;
	atomic_init(&h.counter, 0);
	if (RAND_bytes((unsigned char *)&h.epoch, sizeof(h.epoch)) != 1 ||
	    RAND_bytes(h.key, sizeof(h.key)) != 1) {
		store_log(LOG_ERR, "nonces: RAND_bytes failed");
		goto out;
	}
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		rc = store_dberr(NULL, errno, "nonces: create %s", tmp);
		goto out;
	}
	if ((err = posix_fallocate(fd, 0, (off_t)NONCE_SIZE)) != 0) {
		rc = store_dberr(NULL, err, "nonces: allocate %s", tmp);
		goto out;
	}
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || fsync(fd) != 0 ||
	    rename(tmp, path) != 0) {
		rc = store_dberr(NULL, errno, "nonces: write %s", path);
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	rc = STORE_OK;
out:
	if (fd >= 0) {
		(void)close(fd);
		(void)unlink(tmp);
	}
	explicit_bzero(&h, sizeof(h));
	return rc;
}

enum store_err
store_nonces_open(const char *path, struct store_nonces **out)
{
	char lockpath[PATH_MAX];
	struct store_nonces *n = NULL;
	int lfd = -1, fd = -1;
	enum store_err rc = STORE_INVAL;

	if (path == NULL || out == NULL)
		goto out;
	*out = NULL;
	if (snprintf(lockpath, sizeof(lockpath), "%s.lock", path) >= (int)sizeof(lockpath))
		goto out;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		rc = STORE_NOMEM;
		goto out;
	}
	if ((lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(lfd, LOCK_EX) != 0) {
		rc = store_dberr(NULL, errno, "nonces: lock %s", lockpath);
		goto out;
	}
	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) >= 0 &&
	    (rc = nonce_map(fd, n)) != STORE_OK) {
		store_log(LOG_WARNING, "nonces: %s is not a nonce table: recreating it", path);
		(void)close(fd);
		fd = -1;
	} else if (fd < 0 && errno != ENOENT) {
		rc = store_dberr(NULL, errno, "nonces: open %s", path);
		goto out;
	}
	if (fd < 0) {
		if ((rc = nonce_create(path, &fd)) != STORE_OK)
			goto out;
		if ((rc = nonce_map(fd, n)) != STORE_OK) {
			store_log(LOG_ERR, "nonces: %s does not map after creation", path);
			goto out;
		}
	}
	*out = n;
	n = NULL;
	rc = STORE_OK;
out:
	if (fd >= 0)
		(void)close(fd);   /* the mapping stays */
	if (lfd >= 0)
		(void)close(lfd);  /* and the flock goes */
	store_nonces_close(n);
	return rc;
}

void
store_nonces_close(struct store_nonces *n)
{
	if (n == NULL)
		return;
	if (n->map != NULL)
		(void)munmap(n->map, NONCE_SIZE);
	explicit_bzero(n, sizeof(*n));
	free(n);
}

const unsigned char *
store_nonces_key(const struct store_nonces *n)
{
	return n->key;
}

uint64_t
store_nonces_epoch(const struct store_nonces *n)
{
	return n->epoch;
}

uint64_t
store_nonces_next(struct store_nonces *n)
{
	uint64_t c = atomic_fetch_add(&n->h->counter, 1);
	uint64_t slot = c % STORE_NONCE_WINDOW;

	atomic_fetch_and(&n->bits[slot / 64], ~(UINT64_C(1) << (slot % 64)));
	return c;
}

enum store_nonce_result
store_nonces_consume(struct store_nonces *n, uint64_t ctr)
{
	uint64_t slot = ctr % STORE_NONCE_WINDOW, bit = UINT64_C(1) << (slot % 64), prev, cur;
	enum store_nonce_result r = STORE_NONCE_STALE;

	cur = atomic_load(&n->h->counter);
	if (ctr >= cur || cur - ctr > NONCE_LIVE)
		goto out;   /* never issued, or too old */
	prev = atomic_fetch_or(&n->bits[slot / 64], bit);
	cur = atomic_load(&n->h->counter);
	if (cur - ctr > NONCE_LIVE)
		goto out;   /* aged out while we looked: the slot may be reused */
	r = (prev & bit) ? STORE_NONCE_USED : STORE_NONCE_FRESH;
out:
	return r;
}
