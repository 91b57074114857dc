/* acme-admin: dispatch to one command per file. */
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/cli.h"
#include "core/log.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "init", admin_init, "create a state directory: CA, TLS certificate, store, configuration" },
	{ "directories", admin_directories, "the configured ACME directories" },
	{ "eab", admin_eab, "External Account Binding keys: new, list, revoke" },
	{ "accounts", admin_accounts, "accounts: list, show, deactivate, delete" },
	{ "orders", admin_orders, "orders: list, show" },
	{ "certs", admin_certs, "certificates: list, show, revoke, renew-early" },
	{ "crl", admin_crl, "sign and publish the CRLs now" },
	{ "keys", admin_keys, "keys blocked as compromised: list, unblock" },
	{ "backup", admin_backup, "hot backup of the store, configuration and keys" },
	{ "restore", admin_restore, "restore a backup into a new state directory" },
	{ "verify", admin_verify, "check every record and index of the store" },
	{ "stats", admin_stats, "counts per table and the store's size" },
	{ "cleanup", admin_cleanup, "remove finished orders, authorizations and rate state" },
	{ "ratelimit", admin_ratelimit, "per-account rate-limit overrides: set, show, clear" },
	{ "upstream", admin_upstream, "RA directories' upstream accounts: show, check" },
	{ "bench-seed", admin_bench_seed, "benchmarks only: add N finished issuances to the store" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: acme-admin [-c CONFIG] [--json] COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'acme-admin COMMAND --help' describes a command's options.\n"
	    "Exit status: 0 done, 1 failed, 2 usage, 3 exists, 4 not found, 5 configuration,\n"
	    "6 store, 7 verify found problems, 8 not in a state that allows it.\n");
}

/*
 * Options before the command ("acme-admin -c FILE --json accounts list")
 * become the command's defaults. Returns how many arguments they took, or
 * -1 for a usage error.
 */
static int
global_options(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			cli_global(NULL, 1);
		} else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			cli_global(argv[++i], 0);
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			cli_global(argv[i] + 9, 0);
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			break;
		} else {
			return -1;
		}
	}
	return i - 1;
}

int
main(int argc, char **argv)
{
	size_t i;
	int skip;

	acme_log_open("acme-admin", "stderr");
	if ((skip = global_options(argc, argv)) < 0) {
		fprintf(stderr, "acme-admin: unknown option '%s' before the command\n", argv[1]);
		usage(stderr);
		return ADMIN_USAGE;
	}
	argc -= skip;
	argv += skip;
	if (argc < 2) {
		usage(stderr);
		return ADMIN_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return ADMIN_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "acme-admin: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return ADMIN_USAGE;
}
