/*
 * Hot backup and restore of the environment (acme-admin backup, restore).
 *
 * Backup is libdb 5.3's DB_ENV->backup: every database file is copied
 * through the buffer pool, page by page, while the server runs; then the
 * log is flushed and every log file is copied. The copy is fuzzy (pages
 * from different moments) until catastrophic recovery replays the copied
 * log over it, which store_restore does: the result holds every
 * transaction committed before the log copy, and none that was not.
 *
 * That needs every log file written since the database copy began, so no
 * log file may be removed between the two steps. The backup holds an
 * exclusive flock(2) on backup.lock in the environment directory while it
 * runs; store_maintain, the only place log files are removed, skips
 * archiving while anyone holds it. (backup.lock is not a database, so the
 * backup itself leaves it out.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "store/internal.h"

#define BACKUP_LOCK "backup.lock"

/* "<home>/backup.lock" of s's environment into path. */
static enum store_err
lock_path(struct store *s, char *path, size_t n)
{
	const char *home = NULL;
	int ret;

	if ((ret = s->env->get_home(s->env, &home)) != 0 || home == NULL)
		return store_dberr(s, ret != 0 ? ret : EINVAL, "environment home");
	if (snprintf(path, n, "%s/%s", home, BACKUP_LOCK) >= (int)n) {
		store_log(LOG_ERR, "backup: environment path too long");
		return STORE_INVAL;
	}
	return STORE_OK;
}

int
st_backup_running(struct store *s)
{
	char path[PATH_MAX];
	int fd = -1, busy = 0;

	if (lock_path(s, path, sizeof(path)) != STORE_OK)
		goto out;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		/* Missing: no backup ever ran here. Unreadable (made by another
		 * user): a backup may be running; keeping log files is the safe
		 * side. */
		if (errno != ENOENT) {
			store_log(LOG_WARNING, "%s: %s: log files are kept until it is readable", path,
			    strerror(errno));
			busy = 1;
		}
		goto out;
	}
	busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
out:
	if (fd >= 0)
		close(fd);   /* drops the shared lock, if taken */
	return busy;
}

/*
 * The backup waits for a store_maintain that is archiving right now (it
 * holds the shared lock only while it does), then keeps archiving off
 * until it is done.
 */
enum store_err
store_backup(struct store *s, const char *dir)
{
	char path[PATH_MAX];
	int fd = -1, ret;
	enum store_err rc = STORE_INVAL;

	if (s == NULL || dir == NULL || *dir == '\0')
		goto out;
	rc = STORE_RECOVER;
	if (atomic_load(&s->panicked))
		goto out;
	if ((rc = lock_path(s, path, sizeof(path))) != STORE_OK)
		goto out;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, ST_FILE_MODE)) < 0 ||
	    flock(fd, LOCK_EX) < 0) {
		rc = store_dberr(s, errno, "backup: lock %s", path);
		goto out;
	}
	ret = s->env->backup(s->env, dir, DB_CREATE | DB_BACKUP_CLEAN);
	rc = store_dberr(s, ret, "backup to %s", dir);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Restore */

/* Database and log files of a backup: not regions, nor the lock. */
static int
backup_file(const char *name)
{
	return name[0] != '.' && strncmp(name, "__db", 4) != 0 && strcmp(name, BACKUP_LOCK) != 0;
}

/* Copy file from into to (created, mode 0600), flushed to disk. */
static enum store_err
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n, w, off;
	int in = -1, out = -1;
	enum store_err rc = STORE_ERR;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = store_dberr(NULL, errno, "restore: open %s", from);
		goto done;
	}
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, ST_FILE_MODE)) < 0) {
		rc = store_dberr(NULL, errno, "restore: create %s", to);
		goto done;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += w) {
			if ((w = write(out, buf + off, (size_t)(n - off))) < 0) {
				rc = store_dberr(NULL, errno, "restore: write %s", to);
				goto done;
			}
		}
	}
	if (n < 0) {
		rc = store_dberr(NULL, errno, "restore: read %s", from);
		goto done;
	}
	if (fsync(out) < 0) {
		rc = store_dberr(NULL, errno, "restore: fsync %s", to);
		goto done;
	}
	rc = STORE_OK;
done:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && rc == STORE_OK)
		rc = store_dberr(NULL, errno, "restore: close %s", to);
	return rc;
}

/* to must not exist (it is created) or be an empty directory. */
static enum store_err
fresh_dir(const char *to)
{
	DIR *d = NULL;
	struct dirent *de;
	enum store_err rc = STORE_OK;

	if (mkdir(to, 0700) == 0)
		goto out;
	if (errno != EEXIST) {
		rc = store_dberr(NULL, errno, "restore: mkdir %s", to);
		goto out;
	}
	if ((d = opendir(to)) == NULL) {
		rc = store_dberr(NULL, errno, "restore: %s", to);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			store_log(LOG_ERR, "restore: %s is not empty", to);
			rc = STORE_EXISTS;
			goto out;
		}
	}
out:
	if (d != NULL)
		closedir(d);
	return rc;
}

static enum store_err
copy_backup(const char *from, const char *to, size_t *nfiles)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	enum store_err rc = STORE_OK;

	*nfiles = 0;
	if ((d = opendir(from)) == NULL) {
		rc = store_dberr(NULL, errno, "restore: %s", from);
		goto out;
	}
	while (rc == STORE_OK && (de = readdir(d)) != NULL) {
		if (!backup_file(de->d_name))
			continue;
		if (snprintf(src, sizeof(src), "%s/%s", from, de->d_name) >= (int)sizeof(src) ||
		    snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name) >= (int)sizeof(dst)) {
			store_log(LOG_ERR, "restore: path too long");
			rc = STORE_INVAL;
			goto out;
		}
		if (stat(src, &st) < 0) {
			rc = store_dberr(NULL, errno, "restore: %s", src);
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if ((rc = copy_file(src, dst)) == STORE_OK)
			(*nfiles)++;
	}
out:
	if (d != NULL)
		closedir(d);
	return rc;
}

static void
restore_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	store_log(LOG_ERR, "bdb: %s", msg);
}

/* Catastrophic recovery of dir in a private environment that is gone
 * afterwards (no region files are left behind). */
static enum store_err
recover_fatal(const char *dir)
{
	DB_ENV *env = NULL;
	int ret;
	enum store_err rc;

	if ((ret = db_env_create(&env, 0)) != 0) {
		env = NULL;
		rc = store_dberr(NULL, ret, "restore: db_env_create");
		goto out;
	}
	env->set_errcall(env, restore_errcall);
	if ((ret = env->set_lg_max(env, ST_LOG_FILE_BYTES)) != 0 ||
	    (ret = env->set_cachesize(env, 0, ST_CACHE_BYTES, 1)) != 0) {
		rc = store_dberr(NULL, ret, "restore: configure");
		goto out;
	}
	ret = env->open(env, dir, DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
	    DB_INIT_TXN | DB_PRIVATE | DB_RECOVER_FATAL, ST_FILE_MODE);
	rc = store_dberr(NULL, ret, "restore: catastrophic recovery of %s", dir);
out:
	if (env != NULL && (ret = env->close(env, 0)) != 0 && rc == STORE_OK)
		rc = store_dberr(NULL, ret, "restore: close %s", dir);
	return rc;
}

enum store_err
store_restore(const char *from, const char *to)
{
	char probe[PATH_MAX];
	struct stat st;
	size_t n = 0;
	enum store_err rc = STORE_INVAL;

	if (from == NULL || to == NULL || *from == '\0' || *to == '\0')
		goto out;
	if (snprintf(probe, sizeof(probe), "%s/%s", from, store_tbls[TBL_ACCOUNT].file) >=
	    (int)sizeof(probe))
		goto out;
	if (stat(probe, &st) != 0) {
		store_log(LOG_ERR, "restore: %s is not a backup of a store (%s: %s)", from, probe,
		    strerror(errno));
		rc = STORE_NOTFOUND;
		goto out;
	}
	if ((rc = fresh_dir(to)) != STORE_OK || (rc = copy_backup(from, to, &n)) != STORE_OK)
		goto out;
	if ((rc = recover_fatal(to)) != STORE_OK)
		goto out;
	store_log(LOG_INFO, "restore: %zu files from %s recovered into %s", n, from, to);
out:
	return rc;
}
