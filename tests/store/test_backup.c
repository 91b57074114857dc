/* Hot backup and restore: a copy taken while another process writes
 * restores to a consistent store holding every transaction committed
 * before the backup began; log archiving waits for a running backup;
 * restore refuses a target that is not empty and a source that is not a
 * backup. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tests/store/store_test.h"

static enum store_err
put_fn(struct store_txn *t, void *arg)
{
	unsigned *i = arg;
	struct store_account a;
	struct store_eab k;
	struct store_cert c;
	enum store_err rc;

	fx_account(&a, *i, 1);
	fx_cert(&c, *i, NULL, 1);
	memset(&k, 0, sizeof(k));
	snprintf(k.kid, sizeof(k.kid), "kid%u", *i);
	strcpy(k.dir, "default");
	k.key_len = 32;
	memset(k.key, 0x5a, k.key_len);
	k.created = 1700000000;
	if ((rc = store_account_put(t, &a, 0)) != STORE_OK || (rc = store_cert_put(t, &c, 0)) != STORE_OK ||
	    (rc = store_eab_put(t, &k, 0)) != STORE_OK)
		return rc;
	return store_counter_set(t, "crl/default", (int64_t)*i);
}

struct has {
	unsigned i;
	int account, cert, eab;
	int64_t crl;
};

static enum store_err
has_fn(struct store_txn *t, void *arg)
{
	struct has *h = arg;
	struct store_account a;
	struct store_cert c;
	struct store_eab k;
	char kid[32], serial[STORE_SERIAL_MAX + 1];
	store_id id;
	enum store_err rc;

	fx_account(&a, h->i, 0);
	memcpy(id, a.id, sizeof(id));
	rc = store_account_get(t, id, &a);
	h->account = rc == STORE_OK;
	store_account_free(&a);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return rc;
	fx_cert(&c, h->i, NULL, 0);
	snprintf(serial, sizeof(serial), "%s", c.serial);
	rc = store_cert_get(t, serial, &c);
	h->cert = rc == STORE_OK;
	store_cert_free(&c);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return rc;
	snprintf(kid, sizeof(kid), "kid%u", h->i);
	rc = store_eab_get(t, kid, &k);
	h->eab = rc == STORE_OK;
	store_eab_free(&k);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return rc;
	rc = store_counter_get(t, "crl/default", &h->crl);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

static struct has
has(struct store *s, unsigned i)
{
	struct has h;

	memset(&h, 0, sizeof(h));
	h.i = i;
	assert_int_equal(store_txn_run(s, STORE_TXN_RO, has_fn, &h), STORE_OK);
	return h;
}

static char *
sub(const char *dir, const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void
test_backup_restore(void **state)
{
	struct tenv e;
	struct store *r = NULL;
	char *bk, *to;
	unsigned i;
	size_t bad = 1;
	struct has h;

	(void)state;
	tenv_open(&e, 1);
	bk = sub(e.dir, "backup");
	to = sub(e.dir, "restored");
	for (i = 0; i < 20; i++)
		assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, put_fn, &i), STORE_OK);
	assert_int_equal(store_backup(e.s, bk), STORE_OK);
	/* written after the backup: not in it */
	i = 20;
	assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, put_fn, &i), STORE_OK);
	assert_int_equal(store_restore(bk, to), STORE_OK);
	assert_int_equal(store_open(to, 0, &r), STORE_OK);
	for (i = 0; i < 20; i++) {
		h = has(r, i);
		assert_true(h.account && h.cert && h.eab);
	}
	h = has(r, 20);
	assert_false(h.account || h.cert || h.eab);
	assert_int_equal(h.crl, 19);
	assert_int_equal(store_verify(r, &bad), STORE_OK);
	assert_int_equal(bad, 0);
	/* the restored store takes writes */
	assert_int_equal(store_txn_run(r, STORE_TXN_RW, put_fn, &i), STORE_OK);
	store_close(r);
	/* a second backup into the same directory replaces the first */
	assert_int_equal(store_backup(e.s, bk), STORE_OK);
	free(to);
	to = sub(e.dir, "restored2");
	assert_int_equal(store_restore(bk, to), STORE_OK);
	assert_int_equal(store_open(to, 0, &r), STORE_OK);
	h = has(r, 20);
	assert_true(h.account && h.cert && h.eab);
	store_close(r);
	free(bk);
	free(to);
	tenv_close(&e);
}

static void
test_restore_refuses(void **state)
{
	struct tenv e;
	char *bk, *to, *junk;
	int fd;

	(void)state;
	tenv_open(&e, 0);
	bk = sub(e.dir, "backup");
	to = sub(e.dir, "target");
	junk = sub(to, "junk");
	/* not a backup */
	assert_int_equal(store_restore(to, bk), STORE_NOTFOUND);
	assert_int_equal(store_backup(e.s, bk), STORE_OK);
	/* a target that is not empty */
	assert_int_equal(mkdir(to, 0700), 0);
	assert_true((fd = open(junk, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	assert_int_equal(store_restore(bk, to), STORE_EXISTS);
	/* an empty one is fine */
	assert_int_equal(unlink(junk), 0);
	assert_int_equal(store_restore(bk, to), STORE_OK);
	assert_int_equal(store_restore(NULL, to), STORE_INVAL);
	assert_int_equal(store_backup(NULL, bk), STORE_INVAL);
	assert_int_equal(store_backup(e.s, ""), STORE_INVAL);
	free(bk);
	free(to);
	free(junk);
	tenv_close(&e);
}

static int
count_logs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "log.", 4) == 0;
	closedir(d);
	return n;
}

static enum store_err
big_fn(struct store_txn *t, void *arg)
{
	static char chain[8192];
	unsigned *i = arg;
	struct store_cert c;
	enum store_err rc = STORE_OK;
	unsigned k;

	memset(chain, 'A', sizeof(chain) - 1);
	for (k = 0; k < 100 && rc == STORE_OK; k++) {
		fx_cert(&c, (*i)++, NULL, 0);
		c.chain = chain;
		rc = store_cert_put(t, &c, 0);
	}
	return rc;
}

/* While a backup holds its lock, maintenance checkpoints but keeps every
 * log file; afterwards it removes them as usual. */
static void
test_archive_waits(void **state)
{
	struct tenv e;
	char *lock;
	unsigned i = 0, k;
	int fd, before;

	(void)state;
	tenv_open(&e, 0);
	lock = sub(e.dir, "backup.lock");
	assert_false(st_backup_running(e.s));
	for (k = 0; k < 30; k++)
		assert_int_equal(store_txn_run(e.s, STORE_TXN_RW, big_fn, &i), STORE_OK);
	before = count_logs(e.dir);
	assert_true(before >= 2);
	assert_true((fd = open(lock, O_CREAT | O_RDWR, 0600)) >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_true(st_backup_running(e.s));
	assert_int_equal(store_maintain(e.s), STORE_OK);
	assert_int_equal(store_maintain(e.s), STORE_OK);
	assert_int_equal(count_logs(e.dir), before);
	close(fd);
	assert_false(st_backup_running(e.s));
	assert_int_equal(store_maintain(e.s), STORE_OK);
	assert_true(count_logs(e.dir) < before);
	free(lock);
	tenv_close(&e);
}

/* ---- a backup taken while another process writes ---- */

struct shared {
	volatile unsigned committed;   /* writes the child has committed */
	volatile int stop;
	volatile int failed;
};

static void
writer(const char *dir, struct shared *sh)
{
	struct store *s = NULL;
	unsigned i = 0, big = 100000;
	int rc = 1;

	if (store_open(dir, 0, &s) != STORE_OK)
		goto out;
	while (!sh->stop) {
		if (store_txn_run(s, STORE_TXN_RW, put_fn, &i) != STORE_OK)
			goto out;
		__atomic_store_n(&sh->committed, ++i, __ATOMIC_SEQ_CST);
		/* bulk to roll log files over, and maintenance that would
		 * archive them were no backup running */
		if (i % 16 == 0 && (store_txn_run(s, STORE_TXN_RW, big_fn, &big) != STORE_OK ||
		    store_maintain(s) != STORE_OK))
			goto out;
	}
	rc = 0;
out:
	sh->failed = rc;
	store_close(s);
	_exit(rc);
}

static void
test_hot_backup(void **state)
{
	struct tenv e;
	struct shared *sh;
	struct store *r = NULL;
	char *bk, *to;
	unsigned before, after, k, i;
	size_t bad = 1;
	pid_t pid;
	struct has h;

	(void)state;
	tenv_open(&e, 0);
	bk = sub(e.dir, "backup");
	to = sub(e.dir, "restored");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		writer(e.dir, sh);
	while (__atomic_load_n(&sh->committed, __ATOMIC_SEQ_CST) < 300 && !sh->failed)
		usleep(1000);
	before = __atomic_load_n(&sh->committed, __ATOMIC_SEQ_CST);
	assert_int_equal(store_backup(e.s, bk), STORE_OK);
	after = __atomic_load_n(&sh->committed, __ATOMIC_SEQ_CST);
	/* keep writing (and archiving) a while after the backup */
	while (__atomic_load_n(&sh->committed, __ATOMIC_SEQ_CST) < after + 50 && !sh->failed)
		usleep(1000);
	sh->stop = 1;
	assert_int_equal(child_status(pid), 0);
	assert_int_equal(store_restore(bk, to), STORE_OK);
	assert_int_equal(store_open(to, 0, &r), STORE_OK);
	assert_int_equal(store_verify(r, &bad), STORE_OK);
	assert_int_equal(bad, 0);
	/* a prefix of the writes, at least those committed before the backup
	 * began, at most those committed by the time it ended (+1: one commit
	 * may land between the copy of the log and the read of the counter) */
	for (k = 0; k <= after + 1; k++) {
		h = has(r, k);
		if (!h.account)
			break;
		assert_true(h.cert && h.eab);
	}
	assert_true(k >= before);
	assert_true(k <= after + 1);
	for (i = k; i <= after + 1; i++) {
		h = has(r, i);
		assert_false(h.account || h.cert || h.eab);
	}
	h = has(r, 0);
	assert_int_equal(h.crl, (int64_t)k - 1);
	print_message("# %u committed before the backup, %u after it, %u in the copy\n", before,
	    after, k);
	store_close(r);
	munmap(sh, sizeof(*sh));
	free(bk);
	free(to);
	tenv_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_restore),
		cmocka_unit_test(test_restore_refuses),
		cmocka_unit_test(test_archive_waits),
		cmocka_unit_test(test_hot_backup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
