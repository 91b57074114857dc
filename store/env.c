/*
 * The environment: opened once per process, after fork, with DB_REGISTER so
 * the next opener notices a process that died holding it, and DB_RECOVER so
 * that opener then runs recovery (the survivors get STORE_RECOVER and
 * reopen). store_maintain runs failchk, which cleans up after a dead process
 * without recovery when it can.
 *
 * Not DB_FAILCHK at open: with it, libdb 5.3.28's DB_REGISTER path attaches
 * to the regions before it becomes the failchk thread, and when the dead
 * process held the environment region mutex (most kills during a commit)
 * the opener spins forever in is_alive (__envreg_register ->
 * __env_attach_regions -> __env_set_state -> __db_pthread_mutex_lock).
 * tests/store/test_crash kills a committing process to hold us to that.
 *
 * Everything is configured here in code; a DB_CONFIG file in the directory
 * would silently override it, so do not ship one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "store/internal.h"

/*
 * failchk asks whether the owner of a thread slot, lock or transaction is
 * alive. A thread of this process is alive while we run (we cannot probe
 * it); another process is alive if it exists. A zombie still exists: a
 * parent must reap a dead child before failchk can clean up after it.
 */
static int
env_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	(void)env;
	(void)tid;
	(void)flags;   /* DB_MUTEX_PROCESS_ONLY: we only ever check the process */
	if (pid <= 0 || pid == getpid())
		return 1;   /* unknown owner (kill(0) would probe our group): assume alive */
	return kill(pid, 0) == 0 || errno == EPERM;
}

static void
env_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	store_log(LOG_ERR, "bdb: %s", msg);
}

/* Informational messages (failchk's "Freeing read locks ..."); by default
 * BDB prints them on stdout. */
static void
env_msgcall(const DB_ENV *env, const char *msg)
{
	(void)env;
	store_log(LOG_INFO, "bdb: %s", msg);
}

static void
env_event(DB_ENV *env, u_int32_t event, void *info)
{
	struct store *s = env->app_private;

	(void)info;
	switch (event) {
	case DB_EVENT_PANIC:
	case DB_EVENT_REG_PANIC:
		if (s != NULL)
			atomic_store(&s->panicked, 1);
		store_log(LOG_ERR, "environment panic: every call now returns STORE_RECOVER");
		break;
	case DB_EVENT_WRITE_FAILED:
		store_log(LOG_ERR, "a write to the environment failed");
		break;
	default:
		break;
	}
}

/* Create and configure an environment handle; 0 or a BDB error. */
static int
env_create(struct store *s, DB_ENV **out)
{
	DB_ENV *env = NULL;
	int ret;

	*out = NULL;
	if ((ret = db_env_create(&env, 0)) != 0)
		goto out;
	env->app_private = s;
	env->set_errcall(env, env_errcall);
	env->set_msgcall(env, env_msgcall);
	if ((ret = env->set_event_notify(env, env_event)) != 0 ||
	    (ret = env->set_thread_count(env, ST_THREADS)) != 0 ||
	    (ret = env->set_isalive(env, env_isalive)) != 0 ||
	    (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (ret = env->set_timeout(env, ST_LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT)) != 0 ||
	    (ret = env->set_timeout(env, ST_TXN_TIMEOUT_US, DB_SET_TXN_TIMEOUT)) != 0 ||
	    (ret = env->set_timeout(env, ST_REG_TIMEOUT_US, DB_SET_REG_TIMEOUT)) != 0 ||
	    (ret = env->set_cachesize(env, 0, ST_CACHE_BYTES, 1)) != 0 ||
	    (ret = env->set_lg_bsize(env, ST_LOG_BUF_BYTES)) != 0 ||
	    (ret = env->set_lg_max(env, ST_LOG_FILE_BYTES)) != 0 ||
	    (ret = env->set_lk_max_locks(env, ST_LOCKS)) != 0 ||
	    (ret = env->set_lk_max_objects(env, ST_LOCKS)) != 0 ||
	    (ret = env->set_lk_max_lockers(env, ST_LOCKERS)) != 0 ||
	    (ret = env->set_tx_max(env, ST_TXNS)) != 0)
		goto out;
	if ((s->flags & STORE_OPEN_NOSYNC) &&
	    (ret = env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1)) != 0)
		goto out;
	*out = env;
	env = NULL;
out:
	if (env != NULL)
		(void)env->close(env, 0);
	return ret;
}

/*
 * Give every region file (__db.NNN) the blocks of its whole mapping. libdb
 * maps a region at its largest size but grows the file only as it uses
 * the region, and a file grown that way, or a sparse one, has no block
 * behind the pages it has not written yet. When the disk is full, the
 * first touch of such a page is SIGBUS, inside libdb, with its mutexes
 * held: the process dies and every other process blocks on those mutexes
 * (tests/integration/faults_disk.sh found it). With the blocks reserved
 * here, a full disk is an ENOSPC from a write instead (a 503).
 *
 * The mappings are read from /proc/self/maps. fallocate() and never
 * posix_fallocate(): glibc's fallback for file systems without fallocate
 * writes zero bytes, which could overwrite what another process has just
 * put in the shared region. Where fallocate is not supported nothing is
 * reserved. STORE_OK, or the error (STORE_NOSPACE on a full disk).
 */
static enum store_err
env_reserve_regions(const char *dir)
{
	char line[PATH_MAX + 256], real[PATH_MAX], prefix[PATH_MAX + 8], *path;
	unsigned long lo, hi, off;
	enum store_err rc = STORE_OK;
	size_t plen;
	FILE *f = NULL;
	int fd, n;

	if (realpath(dir, real) == NULL)
		return STORE_OK;        /* open succeeded: nothing to reserve then */
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s/__db.", real);
	if (plen >= sizeof(prefix) || (f = fopen("/proc/self/maps", "re")) == NULL)
		return STORE_OK;
	while (rc == STORE_OK && fgets(line, sizeof(line), f) != NULL) {
		n = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &off, &n) < 3 || n == 0)
			continue;
		path = line + n;
		path[strcspn(path, "\n")] = '\0';
		if (strncmp(path, prefix, plen) != 0 || hi <= lo)
			continue;
		if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
			continue;
		if (fallocate(fd, 0, 0, (off_t)(off + (hi - lo))) != 0 &&
		    errno != EOPNOTSUPP && errno != ENOSYS)
			rc = store_dberr(NULL, errno, "reserving the blocks of %s", path);
		(void)close(fd);
	}
	(void)fclose(f);
	return rc;
}

/* Open s->env on dir; 0 or a BDB error (s->env stays NULL on error). */
static int
env_open(struct store *s, const char *dir)
{
	DB_ENV *env = NULL;
	int ret;

	if ((ret = env_create(s, &env)) != 0)
		goto out;
	ret = env->open(env, dir, DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
	    DB_INIT_TXN | DB_REGISTER | DB_RECOVER | DB_THREAD, ST_FILE_MODE);
	if (ret != 0)
		goto out;
	s->env = env;
	env = NULL;
out:
	if (env != NULL)
		(void)env->close(env, 0);
	return ret;
}

int
st_db_open(struct store *s, DB **out, const char *file, uint32_t pagesize, int dupsort,
    uint32_t oflags)
{
	DB *db = NULL;
	int ret;

	*out = NULL;
	if ((ret = db_create(&db, s->env, 0)) != 0)
		goto out;
	if ((ret = db->set_pagesize(db, pagesize)) != 0 ||
	    (dupsort && (ret = db->set_flags(db, DB_DUPSORT)) != 0))
		goto out;
	ret = db->open(db, NULL, file, NULL, DB_BTREE, oflags | DB_AUTO_COMMIT | DB_THREAD,
	    ST_FILE_MODE);
	if (ret != 0)
		goto out;
	*out = db;
	db = NULL;
out:
	if (db != NULL)
		(void)db->close(db, DB_NOSYNC);
	return ret;
}

static void
close_db(DB **db)
{
	if (*db != NULL)
		(void)(*db)->close(*db, DB_NOSYNC);   /* the log has it; checkpoints flush */
	*db = NULL;
}

/*
 * The stores whose environment had panicked when they were closed. libdb
 * frees nothing of a panicked environment: DB->close and DB_ENV->close
 * only close the file descriptors and return DB_RUNRECOVERY. Such a process
 * is on its way out for recovery anyway; the handles are kept here,
 * reachable, so that a leak checker (LeakSanitizer, valgrind) does not
 * count libdb's abandoned memory as a leak of ours.
 */
static pthread_mutex_t st_abandoned_mu = PTHREAD_MUTEX_INITIALIZER;
static struct store *st_abandoned;

void
store_close(struct store *s)
{
	size_t i;

	/* A child of the opener must not close the parent's handles: that
	 * would unregister the parent from the environment. */
	if (s != NULL && s->pid == getpid() && s->env != NULL) {
		for (i = 0; i < IDX__N; i++) {
			close_db(&s->ridx[i]);
			close_db(&s->sidx[i]);
		}
		for (i = 0; i < TBL__N; i++)
			close_db(&s->db[i]);
		if ((s->flags & STORE_OPEN_DAEMON) && !atomic_load(&s->panicked))
			(void)s->env->txn_checkpoint(s->env, 0, 0, 0);
		if (s->env->close(s->env, 0) == DB_RUNRECOVERY) {
			pthread_mutex_lock(&st_abandoned_mu);
			s->abandoned_next = st_abandoned;
			st_abandoned = s;
			pthread_mutex_unlock(&st_abandoned_mu);
			return;
		}
	}
	free(s);
}

/* Databases must exist unless we may create them. */
static enum store_err
check_exists(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, store_tbls[TBL_ACCOUNT].file) >=
	    (int)sizeof(path))
		return STORE_INVAL;
	if (stat(path, &st) != 0) {
		store_log(LOG_ERR, "%s: %s (initialise the store first)", path, strerror(errno));
		return STORE_NOTFOUND;
	}
	return STORE_OK;
}

enum store_err
store_open(const char *dir, unsigned flags, struct store **out)
{
	struct store *s = NULL;
	uint32_t oflags = (flags & STORE_OPEN_CREATE) ? DB_CREATE : 0;
	enum store_err rc = STORE_INVAL;
	mode_t mask;
	size_t i;
	int ret;

	if (out == NULL || dir == NULL || *dir == '\0')
		goto out;
	*out = NULL;
	if ((flags & STORE_OPEN_CREATE) && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = store_dberr(NULL, errno, "mkdir %s", dir);
		goto out;
	}
	if (!(flags & STORE_OPEN_CREATE) && (rc = check_exists(dir)) != STORE_OK)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = STORE_NOMEM;
		goto out;
	}
	s->flags = flags;
	s->pid = getpid();
	/* What Berkeley DB creates from now on (region files, log files, the
	 * region files a recovery recreates, whichever process runs it) must be
	 * group read-write whatever our umask, or the next process of the group,
	 * running as another user, cannot attach: the umask's group bits go.
	 * Others stay masked. Process-wide, but harmless: every file the store
	 * creates has an explicit mode. */
	mask = umask(0);
	(void)umask(mask & ~(mode_t)0060);
	if ((ret = env_open(s, dir)) != 0) {
		rc = store_dberr(NULL, ret, "open environment %s", dir);
		goto out;
	}
	if ((rc = env_reserve_regions(dir)) != STORE_OK)
		goto out;
	/* A panic seen while opening is one the open recovered from: with
	 * DB_REGISTER|DB_RECOVER, attaching to a panicked region (everyone who
	 * saw the panic has closed) runs recovery (tests/store/test_tables). */
	atomic_store(&s->panicked, 0);
	/* The store exists (check_exists): a table added by a later version
	 * (eab.db) is created on first open. Indexes are not: a new index on
	 * existing records needs a rebuild (see st_idx_open). */
	for (i = 0; i < TBL__N; i++) {
		ret = st_db_open(s, &s->db[i], store_tbls[i].file, store_tbls[i].pagesize, 0,
		    oflags | DB_CREATE);
		if (ret != 0) {
			rc = store_dberr(s, ret, "open %s", store_tbls[i].file);
			goto out;
		}
	}
	if ((ret = st_idx_open(s, oflags)) != 0) {
		rc = store_dberr(s, ret, "open indexes");
		goto out;
	}
	*out = s;
	s = NULL;
	rc = STORE_OK;
out:
	store_close(s);
	return rc;
}

enum store_err
store_maintain(struct store *s)
{
	enum store_err rc = STORE_INVAL;
	int ret;

	if (s == NULL)
		goto out;
	rc = STORE_RECOVER;
	if (atomic_load(&s->panicked))
		goto out;
	/* failchk first: a dead process's transaction would hold back the
	 * checkpoint and keep its log files. */
	if ((ret = s->env->failchk(s->env, 0)) != 0) {
		(void)store_dberr(s, ret, "failchk");
		atomic_store(&s->panicked, 1);
		goto out;
	}
	ret = s->env->txn_checkpoint(s->env, ST_CKP_KBYTES, ST_CKP_MINUTES, 0);
	if (ret != 0 && (rc = store_dberr(s, ret, "checkpoint")) != STORE_OK)
		goto out;
	/* A hot backup in progress needs every log file until it is done. */
	ret = st_backup_running(s) ? 0 : s->env->log_archive(s->env, NULL, DB_ARCH_REMOVE);
	if (ret != 0 && (rc = store_dberr(s, ret, "log_archive")) != STORE_OK)
		goto out;
	rc = STORE_OK;
out:
	return rc;
}

void
st_test_panic(struct store *s)
{
	(void)s->env->set_flags(s->env, DB_PANIC_ENVIRONMENT, 1);
}
