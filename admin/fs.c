/* Copying and removing file trees for backup and restore. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/fs.h"

static int
fail(const char *what, const char *path)
{
	fprintf(stderr, "acme-admin: %s %s: %s\n", what, path, strerror(errno));
	return ADMIN_FAIL;
}

/* Write all of buf (n bytes) to fd. */
static int
write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, buf, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int
fs_copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in = -1, out = -1, rc = ADMIN_FAIL;

	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = fail("cannot read", src);
		goto done;
	}
	if ((out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 07777)) < 0 ||
	    fchmod(out, mode & 07777) < 0) {
		rc = fail("cannot write", dst);
		goto done;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write_all(out, buf, (size_t)n) < 0) {
			rc = fail("cannot write", dst);
			goto done;
		}
	}
	if (n < 0) {
		rc = fail("cannot read", src);
		goto done;
	}
	if (fsync(out) < 0) {
		rc = fail("cannot flush", dst);
		goto done;
	}
	rc = ADMIN_OK;
done:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && rc == ADMIN_OK)
		rc = fail("cannot write", dst);
	return rc;
}

int
fs_copy_tree(const char *src, const char *dst)
{
	char s[PATH_MAX], d[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	int rc = ADMIN_FAIL;

	if (lstat(src, &st) < 0 || !S_ISDIR(st.st_mode)) {
		errno = errno ? errno : ENOTDIR;
		return fail("cannot copy", src);
	}
	if (mkdir(dst, st.st_mode & 07777) < 0 && errno != EEXIST)
		return fail("cannot create", dst);
	if (chmod(dst, st.st_mode & 07777) < 0)
		return fail("cannot set the mode of", dst);
	if ((dir = opendir(src)) == NULL)
		return fail("cannot read", src);
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(s, sizeof(s), "%s/%s", src, de->d_name) >= (int)sizeof(s) ||
		    snprintf(d, sizeof(d), "%s/%s", dst, de->d_name) >= (int)sizeof(d)) {
			errno = ENAMETOOLONG;
			rc = fail("cannot copy", src);
			goto out;
		}
		if (lstat(s, &st) < 0) {
			rc = fail("cannot copy", s);
			goto out;
		}
		if (S_ISDIR(st.st_mode))
			rc = fs_copy_tree(s, d);
		else if (S_ISREG(st.st_mode))
			rc = fs_copy_file(s, d, st.st_mode);
		else {
			fprintf(stderr, "acme-admin: %s is not a file or directory: not copied\n", s);
			rc = ADMIN_FAIL;
		}
		if (rc != ADMIN_OK)
			goto out;
	}
	rc = ADMIN_OK;
out:
	closedir(dir);
	return rc;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int
fs_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0 && errno == ENOENT)
		return ADMIN_OK;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return fail("cannot remove", path);
	return ADMIN_OK;
}

int
fs_unused(const char *path)
{
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if ((d = opendir(path)) == NULL)
		return errno == ENOENT;
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

int
fs_write_atomic(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd = -1, rc = ADMIN_FAIL;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return fail("cannot write", path);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0 ||
	    write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		rc = fail("cannot write", tmp);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = fail("cannot write", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = fail("cannot write", path);
		goto out;
	}
	rc = ADMIN_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc != ADMIN_OK)
		unlink(tmp);
	return rc;
}
