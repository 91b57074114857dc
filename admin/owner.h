#ifndef ACME_ADMIN_OWNER_H
#define ACME_ADMIN_OWNER_H

/*
 * As root: give the state directory state the layout of the comment at the
 * top of admin/init.c for the service user user (its group is shared with
 * acme-validator); acme-admin and the web server's TLS files stay root's.
 * Paths that do not exist (a CA key in a token) are skipped. who names the
 * command in messages. 0, or -1 (logged).
 */
int admin_own_state(const char *state, const char *user, const char *who);

#endif
