/*
 * acme-admin backup DIR, restore DIR --state NEWSTATE.
 *
 * A backup directory holds everything a state directory needs to run:
 *
 *   DIR/acme.conf          the configuration, as it was
 *   DIR/ca/, DIR/tls/      the CA and TLS keys and certificates (mode kept)
 *   DIR/db/                a hot backup of the store (store_backup: databases,
 *                          then logs; consistent only after recovery)
 *   DIR/acme-backup.txt    written last: when, and from which state directory
 *
 * The backup runs while the server runs. Files the configuration names
 * outside the state directory (and keys in an HSM) are not copied; the
 * backup warns about each.
 *
 * restore copies ca/ and tls/ into a new, empty state directory, writes
 * acme.conf with every mention of the old state directory replaced by the
 * new one, restores the store with catastrophic recovery (store_restore),
 * and checks it (store_verify). The server can then start from NEWSTATE.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin/fs.h"
#include "admin/owner.h"
#include "admin/out.h"
#include "core/audit.h"

#define MARKER "acme-backup.txt"
#define CONF_MAX (1024 * 1024)

static int
join(char *out, size_t n, const char *dir, const char *name)
{
	if (snprintf(out, n, "%s/%s", dir, name) >= (int)n) {
		fprintf(stderr, "acme-admin: path too long: %s/%s\n", dir, name);
		return ADMIN_FAIL;
	}
	return ADMIN_OK;
}

/* Warn about each file of directory d that lies outside the state directory. */
static void
warn_outside(const struct acme_config *cfg, const struct acme_dir_config *d)
{
	const char *files[] = { d->ca_cert, d->ca_key, d->ca_chain, d->ca_root };
	size_t i, n = strlen(cfg->state_dir);

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i] == NULL)
			continue;
		if (strncmp(files[i], "pkcs11:", 7) == 0)
			fprintf(stderr, "acme-admin backup: directory %s: its CA key is in a token, not "
			    "in the backup\n", d->name);
		else if (strncmp(files[i], cfg->state_dir, n) != 0 || files[i][n] != '/')
			fprintf(stderr, "acme-admin backup: directory %s: %s is outside the state "
			    "directory, not in the backup\n", d->name, files[i]);
	}
}

/* DIR must be new, empty, or an earlier backup (which is replaced). */
static int
prepare_target(const char *dir)
{
	char path[PATH_MAX];
	const char *old[] = { MARKER, "acme.conf", "ca", "tls" };
	size_t i;

	if (fs_unused(dir)) {
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "acme-admin backup: cannot create %s: %s\n", dir, strerror(errno));
			return ADMIN_FAIL;
		}
		return ADMIN_OK;
	}
	if (join(path, sizeof(path), dir, MARKER) != ADMIN_OK)
		return ADMIN_FAIL;
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "acme-admin backup: %s is neither empty nor a backup\n", dir);
		return ADMIN_EXISTS;
	}
	/* The marker goes first: a backup that fails from here on is not one. */
	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++)
		if (join(path, sizeof(path), dir, old[i]) != ADMIN_OK || fs_remove_tree(path) != ADMIN_OK)
			return ADMIN_FAIL;
	return ADMIN_OK;
}

/* An absolute path for p, which need not exist yet. */
static int
absolute(const char *p, char *out, size_t n)
{
	char cwd[PATH_MAX];

	if (p[0] == '/')
		return snprintf(out, n, "%s", p) < (int)n ? ADMIN_OK : ADMIN_FAIL;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return ADMIN_FAIL;
	return snprintf(out, n, "%s/%s", cwd, p) < (int)n ? ADMIN_OK : ADMIN_FAIL;
}

/* Whether dir is the state directory itself, or in its store. */
static int
inside_store(const char *dir, const char *state)
{
	char db[PATH_MAX];
	size_t n;

	if (join(db, sizeof(db), state, "db") != ADMIN_OK)
		return 1;
	n = strlen(db);
	return strcmp(dir, state) == 0 || (strncmp(dir, db, n) == 0 && (dir[n] == '\0' || dir[n] == '/'));
}

static void
rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
admin_backup(int argc, char **argv)
{
	const struct cli_cmd cmd = { "backup", "DIR",
	    "copy the store (hot: the server may run), the configuration, ca/ and tls/ into DIR",
	    1, 1, NULL, CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	static const char *const trees[] = { "ca", "tls" };
	char dir[PATH_MAX], path[PATH_MAX], src[PATH_MAX], when[32], marker[PATH_MAX + 128];
	struct json_object *res = NULL;
	struct cli c;
	enum store_err se;
	size_t i;
	int rc;

	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rc = ADMIN_FAIL;
	if (absolute(c.pos[0], dir, sizeof(dir)) != ADMIN_OK)
		goto out;
	if (inside_store(dir, c.cfg->state_dir)) {
		fprintf(stderr, "acme-admin backup: %s is the state directory or inside the store\n", dir);
		rc = ADMIN_USAGE;
		goto out;
	}
	if ((rc = prepare_target(dir)) != ADMIN_OK)
		goto out;
	rc = ADMIN_FAIL;
	for (i = 0; i < c.cfg->ndir; i++)
		warn_outside(c.cfg, &c.cfg->dir[i]);
	if (join(path, sizeof(path), dir, "db") != ADMIN_OK)
		goto out;
	if ((se = store_backup(c.store, path)) != STORE_OK) {
		fprintf(stderr, "acme-admin backup: the store: %s\n", store_strerror(se));
		rc = cli_store_exit(se);
		goto out;
	}
	if (join(path, sizeof(path), dir, "acme.conf") != ADMIN_OK ||
	    fs_copy_file(c.cfg->path, path, 0640) != ADMIN_OK)
		goto out;
	for (i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		if (join(src, sizeof(src), c.cfg->state_dir, trees[i]) != ADMIN_OK ||
		    join(path, sizeof(path), dir, trees[i]) != ADMIN_OK)
			goto out;
		if (access(src, F_OK) == 0 && fs_copy_tree(src, path) != ADMIN_OK)
			goto out;
	}
	rfc3339(c.now, when);
	snprintf(marker, sizeof(marker), "# acme-server backup: restore with acme-admin restore\n"
	    "format = 1\ncreated = %s\nstate_dir = %s\n", when, c.cfg->state_dir);
	if (join(path, sizeof(path), dir, MARKER) != ADMIN_OK ||
	    fs_write_atomic(path, marker, 0600) != ADMIN_OK)
		goto out;
	acme_audit("backup", "*", "ss", "to", dir, "by", "acme-admin");
	res = out_new();
	out_str(res, "backup", dir);
	out_str(res, "state_dir", c.cfg->state_dir);
	out_time(res, "created", c.now);
	out_object(&c, res);
	rc = ADMIN_OK;
out:
	json_object_put(res);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */
/* restore */

/* The state_dir recorded in the backup's marker. */
static int
read_marker(const char *dir, char *old, size_t n)
{
	char path[PATH_MAX], line[PATH_MAX + 32];
	FILE *f = NULL;
	size_t len;
	int rc = ADMIN_NOTFOUND;

	old[0] = '\0';
	if (join(path, sizeof(path), dir, MARKER) != ADMIN_OK)
		return ADMIN_FAIL;
	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "acme-admin restore: %s is not a complete backup (no %s)\n", dir, MARKER);
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		len = strcspn(line, "\n");
		line[len] = '\0';
		if (strncmp(line, "state_dir = ", 12) == 0 && len - 12 < n)
			memcpy(old, line + 12, len - 12 + 1);
	}
	if (old[0] != '/') {
		fprintf(stderr, "acme-admin restore: %s/%s names no state directory\n", dir, MARKER);
		goto out;
	}
	rc = ADMIN_OK;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

/* The text of file path (at most CONF_MAX bytes); caller frees. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;

	if (f == NULL || (buf = malloc(CONF_MAX + 1)) == NULL) {
		fprintf(stderr, "acme-admin restore: cannot read %s\n", path);
		goto out;
	}
	n = fread(buf, 1, CONF_MAX, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "acme-admin restore: cannot read %s (or larger than %d bytes)\n", path,
		    CONF_MAX);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
out:
	if (f != NULL)
		fclose(f);
	return buf;
}

/* The configuration with the state directory moved from old to new: its
 * state_dir line, and every path under old. Caller frees. */
static char *
move_config(const char *text, const char *old, const char *new)
{
	size_t olen = strlen(old), nlen = strlen(new), cap, len = 0;
	const char *p = text, *eol;
	char *out, c;

	/* each match of old takes olen >= 1 characters and gives nlen */
	cap = strlen(text) + (strlen(text) / (olen ? olen : 1) + 1) * nlen + 64;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	while (*p != '\0') {
		eol = p + strcspn(p, "\n");
		if (strncmp(p + strspn(p, " \t"), "state_dir", 9) == 0 &&
		    strchr(" \t=", p[strspn(p, " \t") + 9]) != NULL) {
			len += (size_t)snprintf(out + len, cap - len, "state_dir = %s", new);
			p = eol;
		}
		for (; p < eol; p++) {
			c = p[olen];
			if (strncmp(p, old, olen) == 0 && (c == '/' || c == '\n' || c == '\0' ||
			    c == ' ' || c == '\t')) {
				memcpy(out + len, new, nlen);
				len += nlen;
				p += olen - 1;
			} else {
				out[len++] = *p;
			}
		}
		if (*p == '\n')
			out[len++] = *p++;
	}
	out[len] = '\0';
	return out;
}

/* The new state directory, with the subdirectories acme-admin init makes. */
static int
make_state(const char *state)
{
	static const struct { const char *name; mode_t mode; } sub[] = {
		{ "ca", 0700 }, { "tls", 0750 }, { "run", 0755 }, { "log", 0750 },
	};
	char path[PATH_MAX];
	size_t i;

	if (!fs_unused(state)) {
		fprintf(stderr, "acme-admin restore: %s exists and is not empty\n", state);
		return ADMIN_EXISTS;
	}
	if (mkdir(state, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "acme-admin restore: cannot create %s: %s\n", state, strerror(errno));
		return ADMIN_FAIL;
	}
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (join(path, sizeof(path), state, sub[i].name) != ADMIN_OK)
			return ADMIN_FAIL;
		if (mkdir(path, sub[i].mode) < 0) {
			fprintf(stderr, "acme-admin restore: cannot create %s: %s\n", path, strerror(errno));
			return ADMIN_FAIL;
		}
	}
	return ADMIN_OK;
}

/* Open the restored store and check it. */
static int
check_restored(const char *state, const char *conf, struct json_object *res)
{
	struct acme_config *cfg = NULL;
	struct store *s = NULL;
	char path[PATH_MAX];
	size_t bad = 0;
	enum store_err se;
	int rc = ADMIN_CONFIG;

	if (acme_config_load(conf, &cfg) != ACME_OK) {
		fprintf(stderr, "acme-admin restore: the restored %s does not load\n", conf);
		goto out;
	}
	rc = ADMIN_STORE;
	if (join(path, sizeof(path), state, "db") != ADMIN_OK)
		goto out;
	if ((se = store_open(path, 0, &s)) != STORE_OK || (se = store_verify(s, &bad)) != STORE_OK) {
		fprintf(stderr, "acme-admin restore: the restored store: %s\n", store_strerror(se));
		goto out;
	}
	out_int(res, "problems", (int64_t)bad);
	rc = bad == 0 ? ADMIN_OK : ADMIN_UNCLEAN;
out:
	store_close(s);
	acme_config_free(cfg);
	return rc;
}

int
admin_restore(int argc, char **argv)
{
	const char *state_arg = NULL, *user = NULL;
	const struct cli_opt opts[] = {
		{ "state", CLI_STR, "NEWSTATE", "the state directory to create (must not exist, or be "
		    "empty; required)", &state_arg, NULL },
		{ "user", CLI_STR, "USER", "(as root) the server runs as USER: ownership and modes "
		    "as acme-admin init --user gives them", &user, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "restore", "DIR",
	    "restore the backup DIR into a new state directory and check it", 1, 1, opts, 0 };
	static const char *const trees[] = { "ca", "tls" };
	char old[PATH_MAX], state[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
	char *text = NULL, *moved = NULL;
	struct json_object *res = NULL;
	struct cli c;
	enum store_err se;
	size_t i;
	int rc;

	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rc = ADMIN_USAGE;
	if (state_arg == NULL) {
		fprintf(stderr, "acme-admin restore: --state NEWSTATE is required\n");
		goto out;
	}
	if ((rc = read_marker(c.pos[0], old, sizeof(old))) != ADMIN_OK)
		goto out;
	rc = ADMIN_FAIL;
	if (absolute(state_arg, state, sizeof(state)) != ADMIN_OK)
		goto out;
	if ((rc = make_state(state)) != ADMIN_OK)
		goto out;
	rc = ADMIN_FAIL;
	for (i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		if (join(src, sizeof(src), c.pos[0], trees[i]) != ADMIN_OK ||
		    join(dst, sizeof(dst), state, trees[i]) != ADMIN_OK)
			goto out;
		if (access(src, F_OK) == 0 && fs_copy_tree(src, dst) != ADMIN_OK)
			goto out;
	}
	if (join(src, sizeof(src), c.pos[0], "acme.conf") != ADMIN_OK ||
	    join(dst, sizeof(dst), state, "acme.conf") != ADMIN_OK ||
	    (text = slurp(src)) == NULL || (moved = move_config(text, old, state)) == NULL ||
	    fs_write_atomic(dst, moved, 0640) != ADMIN_OK)
		goto out;
	if (join(src, sizeof(src), c.pos[0], "db") != ADMIN_OK ||
	    join(dst, sizeof(dst), state, "db") != ADMIN_OK)
		goto out;
	if ((se = store_restore(src, dst)) != STORE_OK) {
		fprintf(stderr, "acme-admin restore: the store: %s\n", store_strerror(se));
		rc = cli_store_exit(se);
		goto out;
	}
	res = out_new();
	out_str(res, "state_dir", state);
	out_str(res, "from", old);
	join(dst, sizeof(dst), state, "acme.conf");
	out_str(res, "config", dst);
	rc = check_restored(state, dst, res);
	/* after the check, which opened the store as root: its region files too */
	if (user != NULL && admin_own_state(state, user, "acme-admin restore") < 0)
		rc = ADMIN_FAIL;
	out_bool(res, "clean", rc == ADMIN_OK);
	out_object(&c, res);
out:
	free(text);
	free(moved);
	json_object_put(res);
	return cli_done(&c, rc);
}
