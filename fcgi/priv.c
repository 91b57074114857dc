#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "core/log.h"
#include "fcgi/priv.h"

#if defined(__SANITIZE_ADDRESS__)
#define PRIV_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRIV_SANITIZED 1
#endif
#endif

#ifdef __linux__
/* Empty the bounding set (needs CAP_SETPCAP: before setuid) so that not
 * even an exec of a file with capabilities could bring one back. */
static enum fcgi_err
priv_bounding_drop(void)
{
	int cap;

	for (cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;          /* past the kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			log_err("priv: dropping capability %d from the bounding set: %s", cap,
			    strerror(errno));
			return FCGI_ESYS;
		}
	}
	return FCGI_OK;
}

/* No capability left in the effective, permitted or inheritable sets. */
static enum fcgi_err
priv_caps_empty(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2];

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = 0;
	if (syscall(SYS_capget, &h, d) != 0) {
		log_err("priv: capget: %s", strerror(errno));
		return FCGI_ESYS;
	}
	if (d[0].effective | d[1].effective | d[0].permitted | d[1].permitted |
	    d[0].inheritable | d[1].inheritable) {
		log_err("priv: capabilities remain after the drop");
		return FCGI_ESYS;
	}
	return FCGI_OK;
}
#endif

enum fcgi_err
fcgi_priv_drop(const char *user)
{
	struct passwd *pw;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	enum fcgi_err rc = FCGI_ESYS;

	if (user == NULL) {
		if (geteuid() == 0)
			log_warn("running as root: -u USER would run acme-fcgi as USER "
			    "(docs/security.md)");
		return FCGI_OK;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_err("priv: no user %s%s%s", user, errno ? ": " : "", errno ? strerror(errno) : "");
		return FCGI_EINVAL;
	}
	if (geteuid() != 0) {
		if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
			goto harden;    /* already that user */
		log_err("priv: -u %s needs root", user);
		return FCGI_EINVAL;
	}
	if (pw->pw_uid == 0) {
		log_err("priv: -u %s: that is root", user);
		return FCGI_EINVAL;
	}
	if (setgroups(0, NULL) != 0) {
		log_err("priv: setgroups: %s", strerror(errno));
		goto out;
	}
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0) {
		log_err("priv: setresgid %lu: %s", (unsigned long)pw->pw_gid, strerror(errno));
		goto out;
	}
#ifdef __linux__
	if (priv_bounding_drop() != FCGI_OK)
		goto out;
#endif
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_err("priv: setresuid %lu: %s", (unsigned long)pw->pw_uid, strerror(errno));
		goto out;
	}
harden:
	/* Verify rather than trust: every id is the user's, root cannot be
	 * taken back, no group is left over. */
	if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0 ||
	    ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid ||
	    rgid != pw->pw_gid || egid != pw->pw_gid || sgid != pw->pw_gid ||
	    (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))) {
		log_err("priv: the switch to %s did not hold", user);
		goto out;
	}
	if (getgroups(0, NULL) > 1 || (getgroups(0, NULL) == 1 && getegid() != pw->pw_gid)) {
		/* Only when we were that user already: root's groups went above. */
		log_warn("priv: %s keeps its supplementary groups (not started as root)", user);
	}
#ifdef __linux__
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
		log_err("priv: prctl: %s", strerror(errno));
		goto out;
	}
	if (priv_caps_empty() != FCGI_OK)
		goto out;
#endif
	(void)umask(007);
	rc = FCGI_OK;
out:
	return rc;
}

enum fcgi_err
fcgi_priv_nodump(void)
{
#if defined(__linux__) && !defined(PRIV_SANITIZED)
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_err("priv: PR_SET_DUMPABLE: %s", strerror(errno));
		return FCGI_ESYS;
	}
#elif defined(__linux__)
	/* setuid() cleared the flag; LeakSanitizer needs it back. */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return FCGI_OK;
}
