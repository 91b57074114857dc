/* The listening socket of acme-fcgi and accepting connections on it. */
#ifndef ACME_FCGI_LISTEN_H
#define ACME_FCGI_LISTEN_H

#include "fcgi/fcgi.h"

/*
 * Open the listening socket and make it non-blocking (the workers poll it).
 *   unix_path != NULL: bind a Unix socket there, mode 0660 (-s);
 *   bind_addr != NULL: bind "IPv4:port" (-b), e.g. "127.0.0.1:9000";
 *   both NULL: use fd 0, the FastCGI convention of spawn-fcgi and lighttpd.
 * On success *fd_out is the socket (the caller closes it) and *created is 1
 * when a socket file was made that the caller should unlink at exit.
 */
enum fcgi_err fcgi_listen_open(const char *unix_path, const char *bind_addr, int *fd_out,
    int *created);

/*
 * Accept one waiting connection. *conn_out is the new connection (blocking,
 * close-on-exec; the caller closes it), or -1 when nothing is waiting:
 * another worker took it, the peer gave up, or the peer is not in
 * FCGI_WEB_SERVER_ADDRS. FCGI_ESYS (logged) when accepting fails in a way
 * that retrying at once will not fix (out of descriptors, ...).
 */
enum fcgi_err fcgi_listen_accept(int lfd, int *conn_out);

#endif
