#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "core/log.h"
#include "core/priv.h"

#if defined(__SANITIZE_ADDRESS__)
#define PRIV_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRIV_SANITIZED 1
#endif
#endif

#define PRIV_SPEC_MAX 256

#ifdef __linux__
/* Empty the bounding set (needs CAP_SETPCAP: before setuid) so that not
 * even an exec of a file with capabilities could bring one back. */
static enum acme_err
priv_bounding_drop(void)
{
	int cap;

	for (cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;          /* past the kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			log_err("priv: dropping capability %d from the bounding set: %s", cap,
			    strerror(errno));
			return ACME_EIO;
		}
	}
	return ACME_OK;
}

/* No capability left in the effective, permitted or inheritable sets. */
static enum acme_err
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
		return ACME_EIO;
	}
	if (d[0].effective | d[1].effective | d[0].permitted | d[1].permitted |
	    d[0].inheritable | d[1].inheritable) {
		log_err("priv: capabilities remain after the drop");
		return ACME_EIO;
	}
	return ACME_OK;
}
#endif

/* "USER" or "USER:GROUP" to ids. */
static enum acme_err
priv_lookup(const char *spec, uid_t *uid, gid_t *gid)
{
	char buf[PRIV_SPEC_MAX];
	const char *group = NULL;
	struct passwd *pw;
	struct group *gr;
	char *colon;

	if (strlen(spec) >= sizeof(buf) || spec[0] == '\0' || spec[0] == ':') {
		log_err("priv: bad user \"%s\" (USER or USER:GROUP)", spec);
		return ACME_EINVAL;
	}
	memcpy(buf, spec, strlen(spec) + 1);
	if ((colon = strchr(buf, ':')) != NULL) {
		*colon = '\0';
		group = colon + 1;
		if (*group == '\0') {
			log_err("priv: bad user \"%s\" (USER or USER:GROUP)", spec);
			return ACME_EINVAL;
		}
	}
	errno = 0;
	if ((pw = getpwnam(buf)) == NULL) {
		log_err("priv: no user %s%s%s", buf, errno ? ": " : "", errno ? strerror(errno) : "");
		return ACME_EINVAL;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group != NULL) {
		errno = 0;
		if ((gr = getgrnam(group)) == NULL) {
			log_err("priv: no group %s%s%s", group, errno ? ": " : "",
			    errno ? strerror(errno) : "");
			return ACME_EINVAL;
		}
		*gid = gr->gr_gid;
	}
	if (*uid == 0 || *gid == 0) {
		log_err("priv: %s: that is root", spec);
		return ACME_EINVAL;
	}
	return ACME_OK;
}

enum acme_err
acme_priv_drop(const char *spec)
{
	uid_t uid, ruid, euid, suid;
	gid_t gid, rgid, egid, sgid;
	enum acme_err rc;

	if (spec == NULL) {
		if (geteuid() == 0)
			log_warn("running as root: -u USER would drop root (docs/security.md)");
		return ACME_OK;
	}
	if ((rc = priv_lookup(spec, &uid, &gid)) != ACME_OK)
		return rc;
	rc = ACME_EIO;
	if (geteuid() != 0) {
		if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
			goto harden;    /* already that user */
		log_err("priv: -u %s needs root", spec);
		return ACME_EINVAL;
	}
	if (setgroups(0, NULL) != 0) {
		log_err("priv: setgroups: %s", strerror(errno));
		goto out;
	}
	if (setresgid(gid, gid, gid) != 0) {
		log_err("priv: setresgid %lu: %s", (unsigned long)gid, strerror(errno));
		goto out;
	}
#ifdef __linux__
	if (priv_bounding_drop() != ACME_OK)
		goto out;
#endif
	if (setresuid(uid, uid, uid) != 0) {
		log_err("priv: setresuid %lu: %s", (unsigned long)uid, strerror(errno));
		goto out;
	}
harden:
	/* Verify rather than trust: every id is the one asked for, root cannot
	 * be taken back. */
	if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0 ||
	    ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid ||
	    setuid(0) == 0 || seteuid(0) == 0) {
		log_err("priv: the switch to %s did not hold", spec);
		goto out;
	}
	if (getgroups(0, NULL) > 1 || (getgroups(0, NULL) == 1 && getegid() != gid)) {
		/* Only when we were that user already: root's groups went above. */
		log_warn("priv: %s keeps its supplementary groups (not started as root)", spec);
	}
#ifdef __linux__
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
		log_err("priv: prctl: %s", strerror(errno));
		goto out;
	}
	if (priv_caps_empty() != ACME_OK)
		goto out;
#endif
	(void)umask(007);
	rc = ACME_OK;
out:
	return rc;
}

enum acme_err
acme_priv_nodump(void)
{
#if defined(__linux__) && !defined(PRIV_SANITIZED)
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_err("priv: PR_SET_DUMPABLE: %s", strerror(errno));
		return ACME_EIO;
	}
#elif defined(__linux__)
	/* setuid() cleared the flag; LeakSanitizer needs it back. */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return ACME_OK;
}

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))

#if defined(__x86_64__)
#define PRIV_AUDIT_ARCH AUDIT_ARCH_X86_64
#else
#define PRIV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* The denied system calls. Those an architecture lacks are left out by
 * their #ifdef. */
static const int priv_denied[] = {
#if !defined(PRIV_SANITIZED) && defined(__NR_ptrace)
	__NR_ptrace,
#endif
	/* into other processes */
	__NR_process_vm_readv, __NR_process_vm_writev,
#ifdef __NR_pidfd_getfd
	__NR_pidfd_getfd,
#endif
#ifdef __NR_kcmp
	__NR_kcmp,
#endif
	/* file systems, mounts, namespaces */
	__NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_unshare, __NR_setns,
#ifdef __NR_open_tree
	__NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
#endif
#ifdef __NR_mount_setattr
	__NR_mount_setattr,
#endif
	__NR_open_by_handle_at, __NR_name_to_handle_at,
	__NR_swapon, __NR_swapoff, __NR_quotactl,
#ifdef __NR_quotactl_fd
	__NR_quotactl_fd,
#endif
	__NR_acct,
	/* the kernel itself */
	__NR_reboot, __NR_kexec_load,
#ifdef __NR_kexec_file_load
	__NR_kexec_file_load,
#endif
	__NR_init_module, __NR_finit_module, __NR_delete_module,
	__NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_syslog,
	__NR_keyctl, __NR_add_key, __NR_request_key,
	__NR_fanotify_init, __NR_lookup_dcookie, __NR_vhangup,
#ifdef __NR_io_uring_setup
	/* io_uring runs operations that no seccomp filter sees */
	__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#endif
	/* the host's clock and names */
	__NR_settimeofday, __NR_clock_settime, __NR_clock_adjtime, __NR_adjtimex,
	__NR_sethostname, __NR_setdomainname,
#if defined(__x86_64__)
	__NR_iopl, __NR_ioperm, __NR_modify_ldt, __NR_uselib,
#endif
};

#define PRIV_NDENIED (sizeof(priv_denied) / sizeof(priv_denied[0]))
/* Loads, arch check, the x32 check, one jump per denied call, clone and
 * clone3, and the six instructions of the tail. */
#define PRIV_NFILTER (5 + PRIV_NDENIED + 2 + 6)

#define PRIV_CLONE_NS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
	CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

enum acme_err
acme_priv_seccomp(void)
{
	struct sock_filter f[PRIV_NFILTER];
	struct sock_fprog prog;
	size_t n = 0, i, t_allow, t_clone, t_deny, t_enosys;

	/* The tail, after the checks: allow; clone's flags; deny; enosys. */
	t_allow = 5 + PRIV_NDENIED + 2;
	t_clone = t_allow + 1;
	t_deny = t_allow + 4;
	t_enosys = t_allow + 5;
#define JUMP(to) ((unsigned char)((to) - (n + 1)))
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PRIV_AUDIT_ARCH, 1, 0);
	n++;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 system calls: the same arch, numbers with bit 30 set. */
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, JUMP(t_deny), 0);
#else
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
#endif
	n++;
	for (i = 0; i < PRIV_NDENIED; i++) {
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (unsigned)priv_denied[i], JUMP(t_deny), 0);
		n++;
	}
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, JUMP(t_enosys), 0);
	n++;
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, JUMP(t_clone), 0);
	n++;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* clone: flags are the first argument on both architectures; the low
	 * word (little-endian) holds every CLONE_NEW* flag. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, args[0]));
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PRIV_CLONE_NS, 1, 0);
	n++;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
#undef JUMP
	if (n != PRIV_NFILTER || t_deny != n - 2 || t_enosys != n - 1) {
		log_err("priv: seccomp filter built wrong (%zu instructions)", n);
		return ACME_EIO;
	}
	memset(&prog, 0, sizeof(prog));
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
		log_err("priv: seccomp filter: %s", strerror(errno));
		return ACME_EIO;
	}
	return ACME_OK;
}

#else

enum acme_err
acme_priv_seccomp(void)
{
	log_warn("priv: no seccomp filter for this system (x86_64 and aarch64 Linux only)");
	return ACME_OK;
}

#endif
