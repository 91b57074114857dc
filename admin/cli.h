/*
 * What every acme-admin command shares: the command-line grammar (the
 * common -c/--config, --json and --help plus each command's own options),
 * loading the configuration, opening the store, sub-command dispatch, and
 * parsing of the values operators type (durations, serials, ids).
 */
#ifndef ACME_ADMIN_CLI_H
#define ACME_ADMIN_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "admin/admin.h"
#include "core/config.h"
#include "store/store.h"

#define CLI_MAX_POS 4
#define CLI_DEFAULT_CONFIG "./var/acme.conf"

enum cli_kind {
	CLI_FLAG,        /* --name: *flag = 1 */
	CLI_STR,         /* --name VALUE: *str = VALUE */
};

/* One option of a command. Lists end with a NULL name. */
struct cli_opt {
	const char *name;        /* the long name, without "--" */
	enum cli_kind kind;
	const char *arg;         /* CLI_STR: the value's name in the usage ("ID") */
	const char *help;
	const char **str;
	int *flag;
};

enum cli_needs {
	CLI_NEED_CONFIG = 1 << 0,   /* load -c CONFIG */
	CLI_NEED_STORE  = 1 << 1,   /* and open its store */
	CLI_NEED_AUDIT  = 1 << 2,   /* and open its audit log (commands that change things) */
};

/* A command: its grammar and what it needs before it runs. */
struct cli_cmd {
	const char *name;        /* "eab new" */
	const char *args;        /* positional arguments in the usage ("SERIAL"), or NULL */
	const char *about;
	size_t npos_min, npos_max;
	const struct cli_opt *opts;   /* NULL, or a list ending with a NULL name */
	unsigned needs;          /* enum cli_needs */
};

/* The state of one run of a command. */
struct cli {
	const struct cli_cmd *cmd;
	const char *config_path;
	int json;
	struct acme_config *cfg;     /* owned; NULL unless CLI_NEED_CONFIG */
	struct store *store;         /* owned; NULL unless CLI_NEED_STORE */
	const char *pos[CLI_MAX_POS];
	size_t npos;
	int64_t now;                 /* UTC seconds when the command started */
};

/*
 * Parse argv (argv[0] is the command's last word) against cmd, then load
 * and open what cmd needs. ADMIN_OK to go on; anything else is the exit
 * code to return through cli_done (usage errors print the usage; --help
 * prints it on stdout and ends with ADMIN_OK through ADMIN__HELP).
 */
#define ADMIN__HELP (-1)
int cli_start(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);

/* Options given before the command name ("acme-admin -c FILE --json
 * accounts list"): defaults for the command's own. */
void cli_global(const char *config, int json);

/* Release what cli_start took and map rc to the exit code. */
int cli_done(struct cli *c, int rc);

/* A family of commands ("eab new|list|revoke"): run the one argv[1] names. */
struct cli_sub {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *about;
};
int cli_dispatch(const char *family, const struct cli_sub *subs, size_t n, int argc, char **argv);

/* The exit code for a store error (messages are the caller's). */
int cli_store_exit(enum store_err e);

/* The configured directory called name, or NULL with a message. */
const struct acme_dir_config *cli_dir(const struct cli *c, const char *name);

/* Load directory d's issuing CA as the server does (the key may be in a
 * PKCS#11 token). ADMIN_OK, *ca freed with ca_free(); else ADMIN_FAIL with
 * a message. */
struct acme_ca;
int cli_ca(const struct acme_dir_config *d, struct acme_ca **ca);

/* --- values typed by operators --- */

/* A duration ("30m", "24h", "7d", "15s", "0") into *out. ADMIN_OK or
 * ADMIN_USAGE (with a message naming what). */
int cli_duration(const char *what, const char *s, int64_t *out);
/* A certificate serial as hex, any case, colons allowed, into out
 * (lowercase, no colons). ADMIN_OK or ADMIN_USAGE (with a message). */
int cli_serial(const char *s, char out[STORE_SERIAL_MAX + 1]);
/* A record id (22 characters of base64url). ADMIN_OK or ADMIN_USAGE. */
int cli_id(const char *what, const char *s);
/* A non-negative integer in [lo, hi]. ADMIN_OK or ADMIN_USAGE. */
int cli_int(const char *what, const char *s, int64_t lo, int64_t hi, int64_t *out);

#endif
