/*
 * Least privilege for acme-fcgi (docs/security.md). Started as root (by
 * spawn-fcgi, an init system), acme-fcgi gives root up before it reads
 * anything: no supplementary groups, the user's group and user, no
 * capabilities (bounding and ambient sets emptied too), no_new_privs, and
 * umask 007 (the store, logs and CRLs are shared with acme-validator, a
 * second user of the same group). Workers also become non-dumpable: they
 * hold the CA keys, and a process of the same user (acme-validator when
 * one user runs both) must not read them with ptrace or /proc/PID/mem.
 */
#ifndef ACME_FCGI_PRIV_H
#define ACME_FCGI_PRIV_H

#include "fcgi/fcgi.h"

/*
 * Become user (a name, or NULL). With a name: we must be root, or already
 * that user (nothing to do). Checks afterwards that root cannot be taken
 * back. With NULL: as root, a warning that nothing is dropped; otherwise
 * nothing. Call before any file is opened or any thread exists.
 */
enum fcgi_err fcgi_priv_drop(const char *user);

/* Make this process non-dumpable (no core file, no ptrace or
 * /proc/PID/mem by the same user). A worker calls it before it loads its
 * keys. In a sanitizer build it does nothing: LeakSanitizer inspects the
 * process with ptrace at exit. */
enum fcgi_err fcgi_priv_nodump(void);

#endif
