/*
 * acme-admin certs renew-early: move the ARI renewal window (RFC 9773) of
 * certificates to now, so that clients that ask renewalInfo renew them at
 * once, or spread over --within. This is the tool for an incident (a
 * profile or CA key to retire, a mis-issuance): the fleet replaces its
 * certificates before the old ones are revoked. renewalInfo then serves
 * the window and, with --explanation, the URL of a page that says why
 * (explanationURL). Orders that replace such a certificate are inside its
 * window, so rate limits do not hold them back (RFC 9773 section 5).
 *
 * One SERIAL, or every certificate of --directory that is neither revoked
 * nor expired (with --issued-before, only those issued before then). The
 * serials are found with a read-only scan and changed in transactions of
 * RENEW_BATCH certificates, each certificate checked again inside, so the
 * server's workers wait on one short transaction at most.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "core/audit.h"
#include "core/json.h"

#define RENEW_BATCH 64
#define RENEW_URL_MAX 512

/* The certificates to change: fixed-size serials in one growing block. */
struct serials {
	char (*v)[STORE_SERIAL_MAX + 1];
	size_t n, cap;
};

struct renew {
	const char *dir;             /* --directory, or NULL (one serial) */
	int64_t issued_before;       /* 0 = any */
	int64_t now, start, end;
	const char *why;             /* --explanation, or NULL */
	const char *one;             /* the SERIAL given, or NULL */
	char one_dir[STORE_NAME_MAX + 1];   /* its directory */
	struct serials s;
	size_t done;                 /* changed so far */
};

/* Whether c is one to change: live, and in the selection. */
static int
wanted(const struct renew *r, const struct store_cert *c)
{
	if (c->revoked || c->not_after <= r->now)
		return 0;
	if (r->dir != NULL && strcmp(c->dir, r->dir) != 0)
		return 0;
	return r->issued_before == 0 || c->issued < r->issued_before;
}

static void
find_reset(void *arg)
{
	struct renew *r = arg;

	r->s.n = 0;
}

/* Keep c's serial when c is wanted. */
static enum store_err
consider(struct renew *r, const struct store_cert *c)
{
	void *nv;

	if (r->one != NULL)
		snprintf(r->one_dir, sizeof(r->one_dir), "%s", c->dir);
	if (!wanted(r, c))
		return STORE_OK;
	if (r->s.n == r->s.cap) {
		r->s.cap = r->s.cap ? r->s.cap * 2 : 1024;
		if ((nv = realloc(r->s.v, r->s.cap * sizeof(*r->s.v))) == NULL)
			return STORE_NOMEM;
		r->s.v = nv;
	}
	snprintf(r->s.v[r->s.n++], sizeof(*r->s.v), "%s", c->serial);
	return STORE_OK;
}

static enum store_err
find_one(struct store_txn *t, const char *serial, void *arg)
{
	struct renew *r = arg;
	struct store_cert c;
	enum store_err se;

	if ((se = store_cert_get(t, serial, &c)) == STORE_OK)
		se = consider(r, &c);
	else if (se == STORE_CORRUPT)
		se = STORE_OK;   /* acme-admin verify reports those */
	store_cert_free(&c);
	return se;
}

/* Set the window of serials [from, to): one transaction. */
struct batch {
	struct renew *r;
	size_t from, to, changed;
};

static enum store_err
batch_txn(struct store_txn *t, void *arg)
{
	struct batch *b = arg;
	struct renew *r = b->r;
	struct store_cert c;
	enum store_err se = STORE_OK;
	size_t i;

	b->changed = 0;
	for (i = b->from; i < b->to && se == STORE_OK; i++) {
		if ((se = store_cert_get(t, r->s.v[i], &c)) == STORE_OK && wanted(r, &c)) {
			c.renew_start = r->start;
			c.renew_end = r->end;
			free(c.renew_why);
			c.renew_why = NULL;
			if (r->why != NULL && (c.renew_why = strdup(r->why)) == NULL)
				se = STORE_NOMEM;
			else if ((se = store_cert_put(t, &c, 0)) == STORE_OK)
				b->changed++;
		} else if (se == STORE_NOTFOUND) {
			se = STORE_OK;
		}
		store_cert_free(&c);
	}
	return se;
}

static int
url_ok(const char *u)
{
	const char *p;

	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return 0;
	if (strlen(u) > RENEW_URL_MAX || strlen(u) < 10)
		return 0;
	for (p = u; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '"' ||
		    *p == '<' || *p == '>' || *p == '\\')
			return 0;
	return 1;
}

/* The options, checked; ADMIN_OK or the exit code after a message. */
static int
parse_opts(struct cli *c, struct renew *r, const char *within, const char *before, int one)
{
	int64_t w = 0;
	int rc;

	if (one == (r->dir != NULL)) {
		fprintf(stderr, "acme-admin certs renew-early: give a SERIAL or --directory, not both\n");
		return ADMIN_USAGE;
	}
	if (r->dir != NULL && cli_dir(c, r->dir) == NULL)
		return ADMIN_NOTFOUND;
	if (before != NULL && (acme_parse_rfc3339(before, &r->issued_before) < 0 ||
	    r->issued_before <= 0)) {
		fprintf(stderr, "acme-admin certs renew-early: --issued-before takes an RFC 3339 "
		    "time (2026-01-02T03:04:05Z)\n");
		return ADMIN_USAGE;
	}
	if (before != NULL && one) {
		fprintf(stderr, "acme-admin certs renew-early: --issued-before goes with --directory\n");
		return ADMIN_USAGE;
	}
	if (within != NULL && (rc = cli_duration("--within", within, &w)) != ADMIN_OK)
		return rc;
	if (r->why != NULL && !url_ok(r->why)) {
		fprintf(stderr, "acme-admin certs renew-early: --explanation must be an absolute "
		    "http or https URL\n");
		return ADMIN_USAGE;
	}
	r->now = c->now;
	r->start = c->now;
	r->end = c->now + w;
	return ADMIN_OK;
}

static int
run(struct cli *c, struct renew *r, int dry_run)
{
	struct batch b;
	enum store_err se;
	const char *dir = r->dir != NULL ? r->dir : r->one_dir;

	memset(&b, 0, sizeof(b));
	for (b.r = r, b.from = 0; b.from < r->s.n && !dry_run; b.from = b.to) {
		b.to = b.from + RENEW_BATCH < r->s.n ? b.from + RENEW_BATCH : r->s.n;
		if ((se = store_txn_run(c->store, STORE_TXN_RW, batch_txn, &b)) != STORE_OK) {
			fprintf(stderr, "acme-admin certs renew-early: %s (%zu of %zu changed)\n",
			    store_strerror(se), r->done, r->s.n);
			return cli_store_exit(se);
		}
		r->done += b.changed;
	}
	if (!dry_run && r->done > 0)
		acme_audit("cert.renew_early", dir, "siiiss", "serial", r->one, "certificates", (int64_t)r->done,
		    "start", r->start, "end", r->end, "explanation", r->why, "by", "acme-admin");
	return ADMIN_OK;
}

/* The SERIAL given: found (else STORE_NOTFOUND), kept when live. */
static enum store_err
one_txn(struct store_txn *t, void *arg)
{
	struct renew *r = arg;
	struct store_cert c;
	enum store_err se;

	r->s.n = 0;
	if ((se = store_cert_get(t, r->one, &c)) == STORE_OK)
		se = consider(r, &c);
	store_cert_free(&c);
	return se;
}

int
admin_certs_renew_early(int argc, char **argv)
{
	const char *dir = NULL, *within = NULL, *before = NULL, *why = NULL;
	int dry_run = 0;
	const struct cli_opt opts[] = {
		{ "directory", CLI_STR, "NAME", "every live certificate of this directory", &dir,
		    NULL },
		{ "issued-before", CLI_STR, "TIME", "with --directory: only those issued before TIME "
		    "(RFC 3339)", &before, NULL },
		{ "within", CLI_STR, "DURATION", "the window: renew within this from now (default 0: "
		    "at once)", &within, NULL },
		{ "explanation", CLI_STR, "URL", "a page that says why (ARI explanationURL)", &why,
		    NULL },
		{ "dry-run", CLI_FLAG, NULL, "only say which certificates it would change", NULL,
		    &dry_run },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "certs renew-early", "[SERIAL]",
	    "ask ARI clients to renew certificates now (or within a window), saying why", 0, 1,
	    opts, CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	char serial[STORE_SERIAL_MAX + 1];
	struct json_object *res = NULL, *list;
	struct renew r;
	struct cli c;
	enum store_err se;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	r.dir = dir;
	r.why = why;
	if ((rc = parse_opts(&c, &r, within, before, c.npos == 1)) != ADMIN_OK)
		goto out;
	if (c.npos == 1) {
		if ((rc = cli_serial(c.pos[0], serial)) != ADMIN_OK)
			goto out;
		r.one = serial;
		se = store_txn_run(c.store, STORE_TXN_RO, one_txn, &r);
	} else {
		se = scan_table(c.store, STORE_T_CERT, find_one, find_reset, &r);
	}
	if (se != STORE_OK) {
		fprintf(stderr, "acme-admin certs renew-early: %s: %s\n", c.npos ? serial : dir,
		    se == STORE_NOTFOUND ? "no such certificate" : store_strerror(se));
		rc = cli_store_exit(se);
		goto out;
	}
	if (c.npos == 1 && r.s.n == 0) {
		fprintf(stderr, "acme-admin certs renew-early: %s is revoked or expired\n", serial);
		rc = ADMIN_STATE;
		goto out;
	}
	if ((rc = run(&c, &r, dry_run)) != ADMIN_OK)
		goto out;
	res = out_new();
	out_bool(res, "dry_run", dry_run);
	out_int(res, "certificates", dry_run ? (int64_t)r.s.n : (int64_t)r.done);
	out_time(res, "start", r.start);
	out_time(res, "end", r.end);
	out_str(res, "explanation", r.why);
	list = out_array();
	for (i = 0; i < r.s.n; i++)
		json_object_array_add(list, json_object_new_string(r.s.v[i]));
	json_object_object_add(res, "serials", list);
	out_object(&c, res);
out:
	free(r.s.v);
	json_object_put(res);
	return cli_done(&c, rc);
}
