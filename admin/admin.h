/* acme-admin: the operator's command-line tool. */
#ifndef ACME_ADMIN_H
#define ACME_ADMIN_H

/* Exit codes (documented in acme-admin(8) and README.md). */
enum admin_exit {
	ADMIN_OK = 0,
	ADMIN_FAIL = 1,       /* the operation failed */
	ADMIN_USAGE = 2,      /* bad command line */
	ADMIN_EXISTS = 3,     /* already there: init's state directory, an EAB kid, a
	                         backup or restore target that is not empty */
	ADMIN_NOTFOUND = 4,   /* no such account, order, certificate, EAB key, directory */
	ADMIN_CONFIG = 5,     /* the configuration cannot be read */
	ADMIN_STORE = 6,      /* the store cannot be opened, or a store operation failed */
	ADMIN_UNCLEAN = 7,    /* verify (or restore's check) found disagreements */
	ADMIN_STATE = 8,      /* not in a state that allows it: already revoked, already
	                         deactivated */
};

/* One function per command; argv[0] is the command's name. */
int admin_init(int argc, char **argv);
int admin_directories(int argc, char **argv);
int admin_eab(int argc, char **argv);
int admin_accounts(int argc, char **argv);
int admin_orders(int argc, char **argv);
int admin_certs(int argc, char **argv);
int admin_certs_renew_early(int argc, char **argv);   /* admin/renew.c */
int admin_crl(int argc, char **argv);
int admin_keys(int argc, char **argv);
int admin_backup(int argc, char **argv);
int admin_restore(int argc, char **argv);
int admin_verify(int argc, char **argv);
int admin_stats(int argc, char **argv);
int admin_cleanup(int argc, char **argv);
int admin_ratelimit(int argc, char **argv);
int admin_upstream(int argc, char **argv);
int admin_bench_seed(int argc, char **argv);   /* benchmarks only (bench/run.sh) */

#endif
