/* acme-admin: the operator's command-line tool. */
#ifndef ACME_ADMIN_H
#define ACME_ADMIN_H

/* Exit codes (documented in acme-admin(8)). */
enum admin_exit {
	ADMIN_OK = 0,
	ADMIN_FAIL = 1,       /* the operation failed */
	ADMIN_USAGE = 2,      /* bad command line */
	ADMIN_EXISTS = 3,     /* init: the state directory is already initialised */
	ADMIN_NOTFOUND = 4,   /* no such account, order, certificate, ... */
};

int admin_init(int argc, char **argv);

#endif
