/* Small secret files (see core/secret.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "core/secret.h"

enum acme_err
acme_secret_read(const char *path, const char *what, char *buf, size_t size, size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t l;
	int fd = -1;
	enum acme_err rc = ACME_ECONFIG;

	*len = 0;
	if (size < 2)
		return ACME_EINVAL;
	buf[0] = '\0';
	if (path == NULL) {
		log_err("no file is configured for the %s", what);
		return ACME_ECONFIG;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0) {
		log_err("cannot open the %s file %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		log_err("stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		log_err("the %s file %s must be a regular file that only its owner may read "
		    "(chmod 600)", what, path);
		goto out;
	}
	if ((n = read(fd, buf, size - 1)) < 0) {
		log_err("read %s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	/* The line end among the n bytes read: strcspn would stop at a NUL
	 * byte and take what is before it for the whole line. */
	for (l = 0; l < (size_t)n && buf[l] != '\r' && buf[l] != '\n'; l++)
		;
	if ((size_t)n == size - 1 && l == (size_t)n) {
		log_err("the %s file %s is larger than %zu bytes", what, path, size - 2);
		goto out;
	}
	if (l == 0 || memchr(buf, '\0', l) != NULL) {
		log_err("no %s (or a NUL byte) on the first line of %s", what, path);
		goto out;
	}
	buf[l] = '\0';
	*len = l;
	rc = ACME_OK;
out:
	if (rc != ACME_OK)
		OPENSSL_cleanse(buf, size);
	if (fd >= 0)
		close(fd);
	return rc;
}
