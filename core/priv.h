/*
 * Least privilege for the long-running programs, acme-fcgi and
 * acme-validator (docs/security.md). Started as root (by spawn-fcgi, an
 * init system), each gives root up before it reads anything: no
 * supplementary groups, one group and one user, no capabilities (bounding
 * and ambient sets emptied too), no_new_privs, umask 007 (the store, logs
 * and CRLs are shared by the group). Then a seccomp filter denies the
 * system calls that neither program nor its libraries (OpenSSL, libcurl,
 * libunbound, Berkeley DB, libfcgi) make and that only serve an attacker
 * who already runs code in the process: ptrace and the other ways into
 * another process, mounts and namespaces, kernel modules, kexec, bpf,
 * perf, keyrings, io_uring, clock and host settings. A deny list, not an
 * allow list: the libraries' system calls vary with their versions, and a
 * missing entry in an allow list would kill the server in production.
 * acme-fcgi's workers are also made non-dumpable: they hold the CA keys.
 */
#ifndef ACME_CORE_PRIV_H
#define ACME_CORE_PRIV_H

#include "core/err.h"

/*
 * Become spec: "USER" (the user's primary group) or "USER:GROUP", or NULL.
 * With a spec: we must be root, or already that user and group (nothing
 * to drop; the hardening still applies). Checks afterwards that root
 * cannot be taken back and no capability is left. With NULL: as root, a
 * warning that nothing is dropped; otherwise nothing. Call before any
 * file is opened or any thread exists. ACME_EINVAL for a spec that names
 * no user or group, or root; ACME_EIO when a step fails (logged).
 */
enum acme_err acme_priv_drop(const char *spec);

/*
 * Make this process non-dumpable: no core file, no ptrace or
 * /proc/PID/mem by a process of the same user. In a sanitizer build it
 * does nothing (LeakSanitizer inspects the process with ptrace at exit).
 */
enum acme_err acme_priv_nodump(void);

/*
 * Install the deny-list seccomp filter (sets no_new_privs first). Denied
 * calls fail with EPERM; clone3 fails with ENOSYS so that the C library
 * falls back to clone, whose namespace flags the filter can see and deny;
 * a system call of another ABI (i386 or x32 on x86_64) kills the process.
 * Inherited by children and kept across exec. In a sanitizer build
 * ptrace stays allowed (LeakSanitizer). On an architecture the filter
 * does not know (only x86_64 and aarch64) it logs a warning and returns
 * ACME_OK: the other measures still hold. ACME_EIO when the kernel refuses
 * the filter (logged).
 */
enum acme_err acme_priv_seccomp(void);

#endif
