/*
 * Ownership and modes of a state directory run by an unprivileged service
 * user (docs/security.md): the layout acme-admin init --user makes, and
 * acme-admin restore --user gives a restored state directory.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/owner.h"
#include "core/log.h"

/* chown and chmod one path; no symbolic link is followed. */
static int
own_path(const char *state, const char *rel, uid_t uid, gid_t gid, mode_t mode)
{
	char path[PATH_MAX + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", state, rel);
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;       /* not made in this setup (a key in a token) */
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode) || lchown(path, uid, gid) < 0 || chmod(path, mode) < 0) {
		log_err("setting the owner and mode of %s: %s", path,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : strerror(errno));
		return -1;
	}
	return 0;
}

/* Every file directly in dir (db/ after its creation): owner, mode. */
static int
own_files(const char *state, const char *dir, uid_t uid, gid_t gid, mode_t mode)
{
	char rel[PATH_MAX];
	struct dirent *e;
	DIR *d = NULL;
	int rc = -1;

	snprintf(rel, sizeof(rel), "%s/%s", state, dir);
	if ((d = opendir(rel)) == NULL) {
		log_err("%s: %s", rel, strerror(errno));
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "%s/%s", dir, e->d_name);
		if (own_path(state, rel, uid, gid, mode) < 0)
			goto out;
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	return rc;
}

int
admin_own_state(const char *state, const char *user, const char *who)
{
	static const char *const shared[] = { "db", "log", "crl" };
	struct passwd *pw;
	char path[PATH_MAX + 8];
	uid_t uid;
	gid_t gid;
	size_t i;

	if (geteuid() != 0) {
		log_err("%s: --user needs root", who);
		return -1;
	}
	if ((pw = getpwnam(user)) == NULL || pw->pw_uid == 0) {
		log_err("%s: --user %s: no such user, or root", who, user);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	snprintf(path, sizeof(path), "%s/crl", state);
	if (mkdir(path, 02770) < 0 && errno != EEXIST) {
		log_err("%s: mkdir %s: %s", who, path, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		if (own_path(state, shared[i], uid, gid, 02770) < 0 ||
		    own_files(state, shared[i], uid, gid, 0660) < 0)
			return -1;
	if (own_path(state, ".", 0, gid, 0751) < 0 ||
	    own_path(state, "acme.conf", 0, gid, 0640) < 0 ||
	    own_path(state, "run", uid, gid, 02771) < 0 ||
	    own_files(state, "run", uid, gid, 0660) < 0 ||
	    own_path(state, "ca", 0, gid, 0750) < 0 ||
	    own_path(state, "ca/intermediate.pem", 0, gid, 0644) < 0 ||
	    own_path(state, "ca/chain.pem", 0, gid, 0644) < 0 ||
	    own_path(state, "ca/root.pem", 0, gid, 0644) < 0 ||
	    own_path(state, "ca/intermediate.key", uid, gid, 0400) < 0 ||
	    own_path(state, "ca/pkcs11.pin", uid, gid, 0400) < 0 ||
	    own_path(state, "ca/root.key", 0, 0, 0600) < 0 ||
	    own_path(state, "tls", 0, 0, 0750) < 0 ||
	    own_files(state, "tls", 0, 0, 0640) < 0)
		return -1;
	return 0;
}

