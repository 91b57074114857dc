/*
 * A running core for the request harnesses (fuzz_request, fuzz_fcgi): what
 * acme-admin init and a worker's start-up would do, in a scratch directory.
 *
 * Reproducibility: a harness takes a snapshot of the store once it has set
 * up what it needs (fz_state_snapshot), and puts it back before each input
 * (fz_state_restore), so an input sees the same store whatever ran before
 * it, and a crash replays from its file alone. The snapshot is every
 * record of every table, kept in memory; a restore is one transaction that
 * empties the tables and puts those records back (the indexes follow, as
 * they are associated), then forgets the keys the context cached and the
 * CRL files. Closing and reopening the environment instead costs 20 ms a
 * time. Only inputs that wrote (the log moved on) pay for a restore.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ca.h"
#include "core/config.h"
#include "core/internal.h"
#include "store/internal.h"
#include "tests/fuzz/fuzzlib.h"

static struct fz_state fz_st;
static int fz_st_open;

/* Where the log ended right after the snapshot or the last restore
 * (fz_log_end), and how many restores there were. */
static char fz_log_at_restore[48];
static unsigned long fz_restores;

static void fz_snap_free(void);

static void
fz_state_close(void)
{
	acme_ctx_free(fz_st.ctx);
	acme_config_free(fz_st.cfg);
	free(fz_st.dir);
	fz_snap_free();
	memset(&fz_st, 0, sizeof(fz_st));
	fz_st_open = 0;
}

static char *
fz_path(const char *dir, const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		fz_fail(__FILE__, __LINE__, "out of memory");
	return p;
}

static void
fz_mkdir(const char *dir, const char *rel)
{
	char *p = fz_path(dir, rel);

	if (mkdir(p, 0700) != 0)
		fz_fail(__FILE__, __LINE__, "mkdir");
	free(p);
}

static enum store_err
fz_eab_txn(struct store_txn *t, void *arg)
{
	struct store_eab e;

	(void)arg;
	memset(&e, 0, sizeof(e));
	snprintf(e.kid, sizeof(e.kid), "%s", FZ_MAC_KID);
	snprintf(e.dir, sizeof(e.dir), "default");
	memcpy(e.key, fz_mac_key, sizeof(fz_mac_key));
	e.key_len = sizeof(fz_mac_key);
	e.created = store_txn_now(t);
	e.reusable = 1;
	return store_eab_put(t, &e, STORE_PUT_CREATE);
}

struct fz_state *
fz_state_open(const char *extra_dir)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct store *s = NULL;
	char *p, *conf = NULL;

	if (fz_st_open)
		return &fz_st;
	fz_quiet();
	fz_st.dir = fz_tmpdir("state");
	fz_mkdir(fz_st.dir, "ca");
	fz_mkdir(fz_st.dir, "run");
	fz_mkdir(fz_st.dir, "log");

	/* A root that issues directly: enough for the core. */
	if (ca_gen_key("p256", &key) != ACME_OK ||
	    ca_make_root(key, "acme-server fuzz CA", 3650, &cert) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "cannot make the CA");
	p = fz_path(fz_st.dir, "ca/ca.key");
	if (ca_write_key(p, key) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "cannot write the CA key");
	free(p);
	p = fz_path(fz_st.dir, "ca/ca.pem");
	if (ca_write_certs(p, &cert, 1) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "cannot write the CA certificate");
	free(p);
	EVP_PKEY_free(key);
	X509_free(cert);

	if (asprintf(&conf,
	    "state_dir = %s\n"
	    "base_url = " FZ_BASE_URL "\n"
	    "audit_log = off\n"
	    "max_body = 8192\n"
	    "\n"
	    "[profile shortlived]\n"
	    "description = short-lived\n"
	    "lifetime = 160h\n"
	    "\n"
	    "[profile tlsserver]\n"
	    "lifetime = 90d\n"
	    "ext_key_usage = serverAuth clientAuth\n"
	    "\n"
	    "[directory default]\n"
	    "ca_cert = ca/ca.pem\n"
	    "ca_key = ca/ca.key\n"
	    "terms_of_service = " FZ_BASE_URL "/terms\n"
	    "website = " FZ_BASE_URL "/\n"
	    "caa_identities = acme.fuzz.test\n"
	    "contact_schemes = mailto tel\n"
	    "profiles = shortlived tlsserver\n"
	    "default_profile = shortlived\n"
	    "crl_url = " FZ_BASE_URL "/acme/default/crl\n"
	    "aia_url = " FZ_BASE_URL "/acme/default/issuer\n"
	    "names_deny = .denied.example\n"
	    "ips_deny = 203.0.113.0/24\n"
	    "%s\n",
	    fz_st.dir, extra_dir != NULL ? extra_dir : "") < 0)
		fz_fail(__FILE__, __LINE__, "out of memory");
	p = fz_path(fz_st.dir, "acme.conf");
	fz_write_file(p, conf, strlen(conf));
	free(conf);
	if (acme_config_load(p, &fz_st.cfg) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "the fuzz configuration does not load");
	free(p);

	/* What acme-admin init does: create the environment and its files. */
	p = fz_path(fz_st.dir, "db");
	if (store_open(p, STORE_OPEN_CREATE | STORE_OPEN_NOSYNC, &s) != STORE_OK)
		fz_fail(__FILE__, __LINE__, "cannot create the store");
	store_close(s);
	free(p);
	if (acme_ctx_new(fz_st.cfg, &fz_st.ctx) != ACME_OK)
		fz_fail(__FILE__, __LINE__, "cannot open the core");
	if (store_txn_run(fz_st.ctx->store, STORE_TXN_RW, fz_eab_txn, NULL) != STORE_OK)
		fz_fail(__FILE__, __LINE__, "cannot add the EAB key");
	fz_st_open = 1;
	atexit(fz_state_close);
	return &fz_st;
}

/* ------------------------------------------------------------------ */
/* Snapshots */

/* Every record of every table, as the snapshot took them. */
struct fz_rec {
	DBT k, d;
};
static struct fz_rec *fz_snap[TBL__N];
static size_t fz_nsnap[TBL__N];

static void
fz_snap_free(void)
{
	size_t t, i;

	for (t = 0; t < TBL__N; t++) {
		for (i = 0; i < fz_nsnap[t]; i++) {
			free(fz_snap[t][i].k.data);
			free(fz_snap[t][i].d.data);
		}
		free(fz_snap[t]);
		fz_snap[t] = NULL;
		fz_nsnap[t] = 0;
	}
}

static void
fz_dup_dbt(DBT *to, const DBT *from)
{
	memset(to, 0, sizeof(*to));
	to->data = fz_strndup(from->data, from->size);
	to->size = from->size;
}

/* Where the environment's log ends: every write (a transaction that
 * changed something, a checkpoint) moves it; reads do not. */
static void
fz_log_end(char *out, size_t cap)
{
	DB_ENV *env = fz_st.ctx->store->env;
	DB_LOG_STAT *ls = NULL;

	if (env->log_stat(env, &ls, 0) != 0)
		fz_fail(__FILE__, __LINE__, "log_stat");
	snprintf(out, cap, "%lu:%lu", (unsigned long)ls->st_cur_file,
	    (unsigned long)ls->st_cur_offset);
	free(ls);
}

/* Walk table t in txn: take each record (take) or delete it. */
static void
fz_walk(DB_TXN *txn, size_t t, int take)
{
	struct store *s = fz_st.ctx->store;
	DBC *c = NULL;
	DBT k, d;
	int ret;

	if (s->db[t]->cursor(s->db[t], txn, &c, 0) != 0)
		fz_fail(__FILE__, __LINE__, "cursor");
	for (;;) {
		memset(&k, 0, sizeof(k));
		memset(&d, 0, sizeof(d));
		if ((ret = c->get(c, &k, &d, DB_NEXT)) == DB_NOTFOUND)
			break;
		if (ret != 0)
			fz_fail(__FILE__, __LINE__, "cursor get");
		if (!take) {
			if (c->del(c, 0) != 0)
				fz_fail(__FILE__, __LINE__, "cursor del");
			continue;
		}
		fz_snap[t] = realloc(fz_snap[t], (fz_nsnap[t] + 1) * sizeof(*fz_snap[t]));
		FZ_CHECK(fz_snap[t] != NULL);
		fz_dup_dbt(&fz_snap[t][fz_nsnap[t]].k, &k);
		fz_dup_dbt(&fz_snap[t][fz_nsnap[t]].d, &d);
		fz_nsnap[t]++;
	}
	if (c->close(c) != 0)
		fz_fail(__FILE__, __LINE__, "cursor close");
}

/* The CRL files (STATE/crl/<dir>.crl): signed again when next asked for,
 * from the store's revocations. */
static void
fz_clear_crls(void)
{
	char *dir = fz_path(fz_st.dir, "crl"), *p;
	struct dirent *e;
	size_t n;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		FZ_CHECK(errno == ENOENT);
		free(dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 4, ".crl") != 0)
			continue;
		p = fz_path(dir, e->d_name);
		FZ_CHECK(unlink(p) == 0);
		free(p);
	}
	closedir(d);
	free(dir);
}

/* A context caches account keys by account and key version; the store
 * going back in time makes those stale (a real store never does). */
static void
fz_forget_cache(void)
{
	size_t i;

	for (i = 0; i < ACME_KEYCACHE_SIZE; i++)
		EVP_PKEY_free(fz_st.ctx->keycache[i].pkey);
	memset(fz_st.ctx->keycache, 0, sizeof(fz_st.ctx->keycache));
}

void
fz_state_snapshot(void)
{
	DB_ENV *env;
	DB_TXN *txn = NULL;
	size_t t;

	FZ_CHECK(fz_st_open);
	env = fz_st.ctx->store->env;
	fz_snap_free();
	if (env->txn_begin(env, NULL, &txn, 0) != 0)
		fz_fail(__FILE__, __LINE__, "txn_begin");
	for (t = 0; t < TBL__N; t++)
		fz_walk(txn, t, 1);
	if (txn->commit(txn, 0) != 0)
		fz_fail(__FILE__, __LINE__, "txn commit");
	/* Checkpoint and drop old logs, as the validator daemon would. */
	(void)store_maintain(fz_st.ctx->store);
	fz_clear_crls();
	fz_log_end(fz_log_at_restore, sizeof(fz_log_at_restore));
}

int
fz_state_restore(void)
{
	char now[sizeof(fz_log_at_restore)];
	DB_ENV *env;
	DB_TXN *txn = NULL;
	DB *db;
	size_t t, i;

	FZ_CHECK(fz_st_open);
	fz_log_end(now, sizeof(now));
	if (strcmp(now, fz_log_at_restore) == 0)
		return 0;
	env = fz_st.ctx->store->env;
	if (env->txn_begin(env, NULL, &txn, 0) != 0)
		fz_fail(__FILE__, __LINE__, "txn_begin");
	for (t = 0; t < TBL__N; t++) {
		fz_walk(txn, t, 0);
		db = fz_st.ctx->store->db[t];
		for (i = 0; i < fz_nsnap[t]; i++)
			if (db->put(db, txn, &fz_snap[t][i].k, &fz_snap[t][i].d, 0) != 0)
				fz_fail(__FILE__, __LINE__, "put (restore)");
	}
	if (txn->commit(txn, 0) != 0)
		fz_fail(__FILE__, __LINE__, "txn commit (restore)");
	fz_forget_cache();
	/* The CRLs are files: the next request signs them again. */
	fz_clear_crls();
	/* Each restore logs its deletes and puts: checkpoint now and then so
	 * that old log files go. */
	if (++fz_restores % 1000 == 0)
		(void)store_maintain(fz_st.ctx->store);
	fz_log_end(fz_log_at_restore, sizeof(fz_log_at_restore));
	return 1;
}
