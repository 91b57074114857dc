/*
 * acme-fcgi -c CONFIG [-w WORKERS] [-t SECONDS] [-u USER] [-f] [-s PATH | -b ADDRESS:PORT]
 *
 * The FastCGI front of the ACME server. By default the listening socket is
 * fd 0, as spawn-fcgi and lighttpd's bin-path pass it:
 *
 *   spawn-fcgi -n -s /run/acme/fcgi.sock -M 0660 -- acme-fcgi -c acme.conf -w 4
 *
 * -s and -b open the socket here instead (standalone use). -w overrides the
 * configuration's `workers`. -t is the watchdog limit in seconds: a worker
 * on one request for longer is killed and replaced (default 30). -f runs one
 * worker in this process, with no master and logging to stderr (debugging,
 * gdb, valgrind). -u USER[:GROUP]: started as root, run as USER (its group
 * or GROUP, no supplementary groups, no capabilities, no_new_privs;
 * core/priv.h) from before the configuration is read; the socket is opened
 * first. In every case a seccomp filter denies the system calls no worker
 * needs (core/priv.h), and the processes are not dumpable (they hold the
 * CA keys).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/priv.h"
#include "fcgi/listen.h"
#include "fcgi/master.h"
#include "fcgi/worker.h"

/* Each worker allocates a body buffer of this size up front. */
#define MAX_BODY_LIMIT (16u * 1024 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: acme-fcgi -c CONFIG [-w WORKERS] [-t SECONDS] [-u USER[:GROUP]] [-f] "
	    "[-s PATH | -b ADDRESS:PORT]\n");
}

/* A decimal in [lo, hi], digits only. */
static enum fcgi_err
parse_int(const char *s, int lo, int hi, int *out)
{
	long v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return FCGI_EINVAL;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > hi)
			return FCGI_EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (v < lo || v > hi)
		return FCGI_EINVAL;
	*out = (int)v;
	return FCGI_OK;
}

int
main(int argc, char **argv)
{
	struct acme_config *cfg = NULL;
	struct fcgi_master_opts mo;
	const char *unix_path = NULL, *bind_addr = NULL, *user = NULL;
	int single = 0, created = 0, lfd = -1, status = 2, c;

	memset(&mo, 0, sizeof(mo));
	mo.watchdog = FCGI_WATCHDOG_DEFAULT;
	mo.lfd = -1;
	while ((c = getopt(argc, argv, "b:c:fhs:t:u:w:")) != -1) {
		switch (c) {
		case 'b':
			bind_addr = optarg;
			break;
		case 'c':
			mo.config_path = optarg;
			break;
		case 'f':
			single = 1;
			break;
		case 's':
			unix_path = optarg;
			break;
		case 't':
			if (parse_int(optarg, 1, 3600, &mo.watchdog) != FCGI_OK) {
				fprintf(stderr, "acme-fcgi: -t takes seconds, 1 to 3600\n");
				goto out;
			}
			break;
		case 'u':
			user = optarg;
			break;
		case 'w':
			if (parse_int(optarg, 1, FCGI_MAX_WORKERS, &mo.workers) != FCGI_OK) {
				fprintf(stderr, "acme-fcgi: -w takes 1 to %d workers\n",
				    FCGI_MAX_WORKERS);
				goto out;
			}
			break;
		case 'h':
			usage();
			status = 0;
			goto out;
		default:
			usage();
			goto out;
		}
	}
	if (optind != argc || mo.config_path == NULL || (unix_path != NULL && bind_addr != NULL)) {
		usage();
		goto out;
	}

	status = 1;
	acme_log_open("acme-fcgi", "stderr");
	/* The socket first (a path or port only root may bind), then root goes,
	 * before any file is read or created. */
	if (fcgi_listen_open(unix_path, bind_addr, &lfd, &created) != FCGI_OK)
		goto out;
	mo.lfd = lfd;
	if (acme_priv_drop(user) != ACME_OK || acme_priv_nodump() != ACME_OK ||
	    acme_priv_seccomp() != ACME_OK)
		goto out;
	if (acme_config_load(mo.config_path, &cfg) != ACME_OK) {
		log_err("%s: configuration refused", mo.config_path);
		goto out;
	}
	if (cfg->max_body > MAX_BODY_LIMIT) {
		log_err("%s: max_body %zu is over acme-fcgi's limit of %u bytes", mo.config_path,
		    cfg->max_body, MAX_BODY_LIMIT);
		goto out;
	}
	if (!single) {
		if (acme_log_open("acme-fcgi", cfg->log) != 0)
			goto out;
		acme_log_level(cfg->log_level);
	}
	if (single) {
		status = fcgi_worker_run(cfg, lfd, NULL, 0, 0);
	} else {
		status = fcgi_master_run(cfg, &mo);
		cfg = NULL;     /* the master owns it */
	}
out:
	if (created && unix_path != NULL && unlink(unix_path) != 0)
		log_warn("unlink %s: %s", unix_path, strerror(errno));
	if (lfd > 0)
		close(lfd);
	acme_config_free(cfg);
	return status;
}
