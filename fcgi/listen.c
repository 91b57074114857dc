#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "core/log.h"
#include "fcgi/listen.h"

#define LISTEN_BACKLOG 1024

/* fd must be a listening stream socket. */
static enum fcgi_err
listen_check(int fd, const char *what)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0 || v == 0) {
		log_err("%s is not a listening socket: start acme-fcgi under spawn-fcgi or "
		    "lighttpd, or give -s PATH or -b ADDRESS:PORT", what);
		return FCGI_EINVAL;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0 || v != SOCK_STREAM) {
		log_err("%s is not a stream socket", what);
		return FCGI_EINVAL;
	}
	return FCGI_OK;
}

/* Refuse to take over a socket path another server still answers on. */
static enum fcgi_err
listen_path_free(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("socket: %s", strerror(errno));
		return FCGI_ESYS;
	}
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0) {
		log_err("%s: another server is listening on this socket", path);
		return FCGI_EINVAL;
	}
	return FCGI_OK;
}

static enum fcgi_err
listen_unix(const char *path, int *fd_out)
{
	struct sockaddr_un sun;
	enum fcgi_err rc;
	mode_t old;
	int fd;

	/* libfcgi reads "host:port" as TCP, and copies into a sockaddr_un. */
	if (path[0] != '/' || strchr(path, ':') != NULL ||
	    strlen(path) >= sizeof(sun.sun_path)) {
		log_err("-s %s: need an absolute path without ':' of at most %zu bytes", path,
		    sizeof(sun.sun_path) - 1);
		return FCGI_EINVAL;
	}
	rc = listen_path_free(path);
	if (rc != FCGI_OK)
		return rc;
	old = umask(0117);      /* socket file mode 0660: the web server's group */
	fd = FCGX_OpenSocket(path, LISTEN_BACKLOG);
	umask(old);
	if (fd < 0) {
		log_err("-s %s: cannot bind or listen: %s", path, strerror(errno));
		return FCGI_ESYS;
	}
	*fd_out = fd;
	return FCGI_OK;
}

static enum fcgi_err
listen_inet(const char *addr, int *fd_out)
{
	char host[INET_ADDRSTRLEN];
	struct in_addr ia;
	const char *colon = strrchr(addr, ':');
	const char *p;
	size_t hlen;
	long port = 0;
	int fd;

	if (colon == NULL || colon[1] == '\0')
		goto bad;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			goto bad;
		port = port * 10 + (*p - '0');
	}
	hlen = (size_t)(colon - addr);
	if (port < 1 || port > 65535 || hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &ia) != 1)
		goto bad;
	if ((ntohl(ia.s_addr) >> 24) != 127 && getenv("FCGI_WEB_SERVER_ADDRS") == NULL)
		log_warn("-b %s: not a loopback address and FCGI_WEB_SERVER_ADDRS is not set: "
		    "anyone who can reach it can talk FastCGI to acme-fcgi", addr);
	fd = FCGX_OpenSocket(addr, LISTEN_BACKLOG);
	if (fd < 0) {
		log_err("-b %s: cannot bind or listen: %s", addr, strerror(errno));
		return FCGI_ESYS;
	}
	*fd_out = fd;
	return FCGI_OK;
bad:
	log_err("-b %s: expected IPv4-ADDRESS:PORT, e.g. 127.0.0.1:9000", addr);
	return FCGI_EINVAL;
}

enum fcgi_err
fcgi_listen_open(const char *unix_path, const char *bind_addr, int *fd_out, int *created)
{
	enum fcgi_err rc;
	int fd = -1, fl;

	*fd_out = -1;
	*created = 0;
	if (unix_path != NULL)
		rc = listen_unix(unix_path, &fd);
	else if (bind_addr != NULL)
		rc = listen_inet(bind_addr, &fd);
	else {
		fd = 0;
		rc = listen_check(fd, "fd 0");
	}
	if (rc != FCGI_OK)
		goto out;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_err("listening socket: fcntl O_NONBLOCK: %s", strerror(errno));
		rc = FCGI_ESYS;
		goto out;
	}
	*created = unix_path != NULL;
	*fd_out = fd;
	fd = -1;
out:
	if (fd > 0)
		close(fd);
	return rc;
}

/* FCGI_WEB_SERVER_ADDRS, as libfcgi reads it: a comma-separated list of
 * addresses allowed to connect over TCP. Unset or empty: anyone. */
static int
listen_peer_allowed(const struct sockaddr_storage *ss)
{
	const char *list = getenv("FCGI_WEB_SERVER_ADDRS");
	char item[INET6_ADDRSTRLEN];
	unsigned char a[sizeof(struct in6_addr)];
	const char *p, *e;
	size_t n;
	int fam;

	if (list == NULL || *list == '\0')
		return 1;
	for (p = list; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		if (n == 0 || n >= sizeof(item))
			continue;
		memcpy(item, p, n);
		item[n] = '\0';
		fam = strchr(item, ':') != NULL ? AF_INET6 : AF_INET;
		if (fam != ss->ss_family || inet_pton(fam, item, a) != 1)
			continue;
		if (fam == AF_INET &&
		    memcmp(a, &((const struct sockaddr_in *)ss)->sin_addr, 4) == 0)
			return 1;
		if (fam == AF_INET6 &&
		    memcmp(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16) == 0)
			return 1;
	}
	return 0;
}

enum fcgi_err
fcgi_listen_accept(int lfd, int *conn_out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, one = 1;

	*conn_out = -1;
	memset(&ss, 0, sizeof(ss));
	fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0) {
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM:
			return FCGI_OK;
		default:
			log_err("accept: %s", strerror(errno));
			return FCGI_ESYS;
		}
	}
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
		if (!listen_peer_allowed(&ss)) {
			log_warn("refused a FastCGI connection from an address not in "
			    "FCGI_WEB_SERVER_ADDRS");
			close(fd);
			return FCGI_OK;
		}
		/* Replies go out in one piece; Nagle would only delay them. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	*conn_out = fd;
	return FCGI_OK;
}
