/* The command-line grammar and set-up every acme-admin command shares. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/cli.h"
#include "core/audit.h"
#include "core/ca.h"
#include "core/log.h"

#define CLI_MAX_OPTS 24
#define OPT_BASE 256   /* getopt values of a command's own options: OPT_BASE + index */

static void
usage(FILE *f, const struct cli_cmd *cmd)
{
	const struct cli_opt *o;
	char left[64];

	fprintf(f, "usage: acme-admin %s [options]%s%s\n  %s\n\noptions:\n", cmd->name,
	    cmd->args ? " " : "", cmd->args ? cmd->args : "", cmd->about);
	for (o = cmd->opts; o != NULL && o->name != NULL; o++) {
		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->kind == CLI_STR ? " " : "",
		    o->kind == CLI_STR ? o->arg : "");
		fprintf(f, "  %-26s %s\n", left, o->help);
	}
	if (cmd->needs & CLI_NEED_CONFIG)
		fprintf(f, "  %-26s %s\n", "-c, --config FILE",
		    "the configuration (default $ACME_CONFIG, else " CLI_DEFAULT_CONFIG ")");
	fprintf(f, "  %-26s %s\n  %-26s %s\n", "--json", "print JSON instead of text",
	    "-h, --help", "this text");
}

/* Defaults set by options given before the command (main.c). */
static const char *global_config;
static int global_json;

void
cli_global(const char *config, int json)
{
	if (config != NULL)
		global_config = config;
	global_json |= json;
}

/* Whether the long option arg ("--name", not "--name=v") takes a value. */
static int
takes_value(const struct cli_cmd *cmd, const char *arg)
{
	const struct cli_opt *o;

	if (strcmp(arg, "--config") == 0 && (cmd->needs & CLI_NEED_CONFIG))
		return 1;
	for (o = cmd->opts; o != NULL && o->name != NULL; o++)
		if (o->kind == CLI_STR && strcmp(arg + 2, o->name) == 0)
			return 1;
	return 0;
}

/*
 * Ids are base64url, so one may begin with '-'. Every argument that begins
 * with a single '-' and is longer than a short option ("-c", "-h") is a
 * positional argument, as is everything after "--": they go after one "--"
 * at the end, where getopt leaves them alone. args has argc + 2 slots.
 */
static int
protect_ids(const struct cli_cmd *cmd, int argc, char **argv, char **args, char **tail)
{
	int i, n = 0, ntail = 0, value = 0, rest = 0;

	args[n++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (rest || (!value && argv[i][0] == '-' && argv[i][1] != '-' && strlen(argv[i]) > 2)) {
			tail[ntail++] = argv[i];
		} else if (!value && strcmp(argv[i], "--") == 0) {
			rest = 1;
		} else {
			args[n++] = argv[i];
			value = !value && (strcmp(argv[i], "-c") == 0 ||
			    (strncmp(argv[i], "--", 2) == 0 && takes_value(cmd, argv[i])));
		}
	}
	args[n++] = (char *)"--";
	for (i = 0; i < ntail; i++)
		args[n++] = tail[i];
	args[n] = NULL;
	return n;
}

/* getopt_long permutes argv: options may come before or after the
 * positional arguments, which end up at argv[optind..]. */
static int
parse(struct cli *c, int argc, char **argv)
{
	struct option lo[CLI_MAX_OPTS + 4];
	const struct cli_opt *opts = c->cmd->opts;
	char **args = NULL, **tail = NULL;
	size_t n = 0, i;
	int ch, rc;

	for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
		if (n == CLI_MAX_OPTS) {
			rc = ADMIN_FAIL;   /* a command with too many options: a bug */
			goto out;
		}
		lo[n++] = (struct option){ opts[i].name,
		    opts[i].kind == CLI_STR ? required_argument : no_argument, NULL, OPT_BASE + (int)i };
	}
	if (c->cmd->needs & CLI_NEED_CONFIG)
		lo[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	lo[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	if ((args = calloc((size_t)argc + 2, sizeof(*args))) == NULL ||
	    (tail = calloc((size_t)argc + 1, sizeof(*tail))) == NULL) {
		rc = ADMIN_FAIL;
		goto out;
	}
	argc = protect_ids(c->cmd, argc, argv, args, tail);
	argv = args;
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, (c->cmd->needs & CLI_NEED_CONFIG) ? "c:h" : "h", lo,
	    NULL)) != -1) {
		if (ch >= OPT_BASE) {
			i = (size_t)(ch - OPT_BASE);
			if (opts[i].kind == CLI_STR)
				*opts[i].str = optarg;
			else
				*opts[i].flag = 1;
			continue;
		}
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'j': c->json = 1; break;
		case 'h': rc = ADMIN__HELP; goto out;
		default: rc = ADMIN_USAGE; goto out;
		}
	}
	for (; optind < argc; optind++) {
		if (c->npos == CLI_MAX_POS || c->npos == c->cmd->npos_max) {
			fprintf(stderr, "acme-admin %s: unexpected argument '%s'\n", c->cmd->name,
			    argv[optind]);
			rc = ADMIN_USAGE;
			goto out;
		}
		c->pos[c->npos++] = argv[optind];
	}
	if (c->npos < c->cmd->npos_min) {
		fprintf(stderr, "acme-admin %s: missing %s\n", c->cmd->name,
		    c->cmd->args ? c->cmd->args : "arguments");
		rc = ADMIN_USAGE;
		goto out;
	}
	rc = ADMIN_OK;
out:
	free(args);
	free(tail);
	return rc;
}

int
cli_start(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
	char *dbdir = NULL;
	const char *env;
	enum store_err se;
	int rc;

	memset(c, 0, sizeof(c[0]));
	c->cmd = cmd;
	c->now = (int64_t)time(NULL);
	c->json = global_json;
	if (global_config != NULL)
		c->config_path = global_config;
	else if ((env = getenv("ACME_CONFIG")) != NULL && *env != '\0')
		c->config_path = env;
	else
		c->config_path = CLI_DEFAULT_CONFIG;
	if ((rc = parse(c, argc, argv)) != ADMIN_OK)
		goto out;
	rc = ADMIN_CONFIG;
	if ((cmd->needs & CLI_NEED_CONFIG) && acme_config_load(c->config_path, &c->cfg) != ACME_OK) {
		fprintf(stderr, "acme-admin: cannot use the configuration %s\n", c->config_path);
		goto out;
	}
	if ((cmd->needs & CLI_NEED_AUDIT) && acme_audit_open(c->cfg) != ACME_OK) {
		fprintf(stderr, "acme-admin: cannot open the audit log of %s\n", c->config_path);
		goto out;
	}
	rc = ADMIN_STORE;
	if (cmd->needs & CLI_NEED_STORE) {
		if ((dbdir = acme_state_file(c->cfg, "db")) == NULL)
			goto out;
		if ((se = store_open(dbdir, 0, &c->store)) != STORE_OK) {
			fprintf(stderr, "acme-admin: cannot open the store %s: %s\n", dbdir,
			    store_strerror(se));
			goto out;
		}
	}
	rc = ADMIN_OK;
out:
	free(dbdir);
	return rc;
}

int
cli_done(struct cli *c, int rc)
{
	if (rc == ADMIN__HELP) {
		usage(stdout, c->cmd);
		rc = ADMIN_OK;
	} else if (rc == ADMIN_USAGE) {
		usage(stderr, c->cmd);
	}
	store_close(c->store);
	c->store = NULL;
	acme_audit_close();
	acme_config_free(c->cfg);
	c->cfg = NULL;
	return rc;
}

int
cli_dispatch(const char *family, const struct cli_sub *subs, size_t n, int argc, char **argv)
{
	FILE *f = stderr;
	size_t i;
	int rc = ADMIN_USAGE;

	if (argc >= 2) {
		for (i = 0; i < n; i++)
			if (strcmp(argv[1], subs[i].name) == 0)
				return subs[i].fn(argc - 1, argv + 1);
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
			f = stdout;
			rc = ADMIN_OK;
		} else {
			fprintf(stderr, "acme-admin %s: unknown command '%s'\n", family, argv[1]);
		}
	}
	fprintf(f, "usage: acme-admin %s COMMAND [options]\n\ncommands:\n", family);
	for (i = 0; i < n; i++)
		fprintf(f, "  %-12s %s\n", subs[i].name, subs[i].about);
	fprintf(f, "\n'acme-admin %s COMMAND --help' describes a command's options.\n", family);
	return rc;
}

int
cli_store_exit(enum store_err e)
{
	switch (e) {
	case STORE_OK:
		return ADMIN_OK;
	case STORE_NOTFOUND:
		return ADMIN_NOTFOUND;
	case STORE_EXISTS:
		return ADMIN_EXISTS;
	default:
		return ADMIN_STORE;
	}
}

const struct acme_dir_config *
cli_dir(const struct cli *c, const char *name)
{
	const struct acme_dir_config *d = acme_config_dir(c->cfg, name);

	if (d == NULL)
		fprintf(stderr, "acme-admin %s: no directory '%s' in %s\n", c->cmd->name, name,
		    c->config_path);
	return d;
}

int
cli_ca(const struct acme_dir_config *d, struct acme_ca **ca)
{
	struct ca_key_opts kopts;
	enum acme_err e;

	*ca = NULL;
	if (d->ra) {
		fprintf(stderr, "acme-admin: directory %s is in RA mode: it has no CA of its own "
		    "(its upstream CA signs and publishes revocations)\n", d->name);
		return ADMIN_STATE;
	}
	kopts.pkcs11_module = d->pkcs11_module;
	kopts.pkcs11_pin_file = d->pkcs11_pin_file;
	if ((e = ca_load_opts(d->ca_cert, d->ca_key, d->ca_chain, &kopts, ca)) != ACME_OK) {
		fprintf(stderr, "acme-admin: cannot load the CA of directory %s: %s\n", d->name,
		    acme_strerror(e));
		return ADMIN_FAIL;
	}
	return ADMIN_OK;
}

int
cli_duration(const char *what, const char *s, int64_t *out)
{
	if ((*out = acme_parse_duration(s)) < 0) {
		fprintf(stderr, "acme-admin: %s '%s' is not a duration (30m, 24h, 7d, 15s or 0)\n",
		    what, s);
		return ADMIN_USAGE;
	}
	return ADMIN_OK;
}

int
cli_serial(const char *s, char out[STORE_SERIAL_MAX + 1])
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s) || n == STORE_SERIAL_MAX)
			goto bad;
		out[n++] = (char)tolower((unsigned char)*s);
	}
	if (n == 0)
		goto bad;
	out[n] = '\0';
	return ADMIN_OK;
bad:
	fprintf(stderr, "acme-admin: a serial number is 1 to %d hex digits\n", STORE_SERIAL_MAX);
	return ADMIN_USAGE;
}

int
cli_id(const char *what, const char *s)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			break;
	if (n == STORE_ID_LEN && i == n)
		return ADMIN_OK;
	fprintf(stderr, "acme-admin: '%s' is not %s id (%d characters of A-Z a-z 0-9 - _)\n", s,
	    what, STORE_ID_LEN);
	return ADMIN_USAGE;
}

int
cli_int(const char *what, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "acme-admin: %s must be an integer from %lld to %lld\n", what,
		    (long long)lo, (long long)hi);
		return ADMIN_USAGE;
	}
	*out = v;
	return ADMIN_OK;
}
