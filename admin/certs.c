/*
 * acme-admin certs: list, show, revoke (renew-early is in admin/renew.c).
 *
 * revoke records the revocation with the server's own code (core/revoke_ops.c:
 * revoked, reason, time), then, for a certificate of this server's CA, signs
 * and publishes the directory's CRL, so the serial is on the CRL when the
 * command returns; for a certificate an upstream CA issued (RA mode), the
 * upstream revocation is queued in the same transaction and the validator
 * woken to forward it (the upstream CA publishes its own CRL).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin/out.h"
#include "admin/scan.h"
#include "admin/state.h"
#include "core/audit.h"
#include "core/ca.h"
#include "core/crl.h"
#include "core/revoke_ops.h"

/* The DNS names and IP addresses of the certificate's subjectAltName. */
static struct json_object *
cert_names(const unsigned char *der, size_t len)
{
	struct json_object *a = out_array();
	const unsigned char *p = der;
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *g;
	X509 *x = NULL;
	char ip[INET6_ADDRSTRLEN];
	int i, n;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) == NULL)
		goto out;
	n = sk_GENERAL_NAME_num(gens);
	for (i = 0; i < n; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			out_push(a, json_object_new_string_len(
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName),
			    ASN1_STRING_length(g->d.dNSName)));
		} else if (g->type == GEN_IPADD && (ASN1_STRING_length(g->d.iPAddress) == 4 ||
		    ASN1_STRING_length(g->d.iPAddress) == 16)) {
			if (inet_ntop(ASN1_STRING_length(g->d.iPAddress) == 4 ? AF_INET : AF_INET6,
			    ASN1_STRING_get0_data(g->d.iPAddress), ip, sizeof(ip)) != NULL)
				out_push(a, json_object_new_string(ip));
		}
	}
out:
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return a;
}

static struct json_object *
cert_view(const struct store_cert *c, int64_t now, int full)
{
	struct json_object *v = out_new();

	out_str(v, "serial", c->serial);
	out_str(v, "account", c->acct);
	out_str(v, "directory", c->dir);
	json_object_object_add(v, "names", cert_names(c->der, c->der_len));
	out_time(v, "not_after", c->not_after);
	out_str(v, "status", state_cert(c, now));
	if (c->revoked && c->reason >= 0)
		out_int(v, "reason", c->reason);
	else
		json_object_object_add(v, "reason", NULL);
	out_time(v, "revoked_at", c->revoked_at);
	if (!full)
		return v;
	out_str(v, "order", c->order);
	out_time(v, "issued", c->issued);
	out_time(v, "not_before", c->not_before);
	out_str(v, "profile", c->profile);
	out_str(v, "ari_id", c->ari);
	out_str(v, "replaced_by", c->replaced_by);
	out_time(v, "renew_from", c->renew_start);
	out_time(v, "renew_by", c->renew_start ? c->renew_end : 0);
	out_str(v, "renew_why", c->renew_why);
	return v;
}

/* ------------------------------------------------------------------ */

struct cert_list {
	struct json_object *rows;      /* first: scan_list empties it */
	const char *acct;
	int revoked_only;
	int64_t now;
};

static enum store_err
list_one(struct store_txn *t, const char *serial, void *arg)
{
	struct cert_list *l = arg;
	struct store_cert c;
	enum store_err se;

	if ((se = store_cert_get(t, serial, &c)) != STORE_OK)
		return se;
	if ((l->acct == NULL || strcmp(l->acct, c.acct) == 0) && (!l->revoked_only || c.revoked))
		out_push(l->rows, cert_view(&c, l->now, 0));
	store_cert_free(&c);
	return STORE_OK;
}

static int
certs_list(int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "SERIAL", "serial" }, { "ACCOUNT", "account" }, { "STATUS", "status" },
		{ "NOT AFTER", "not_after" }, { "REASON", "reason" }, { "NAMES", "names" },
		{ NULL, NULL },
	};
	const char *acct = NULL;
	int revoked = 0;
	const struct cli_opt opts[] = {
		{ "account", CLI_STR, "ID", "only the certificates of this account", &acct, NULL },
		{ "revoked", CLI_FLAG, NULL, "only revoked certificates", NULL, &revoked },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "certs list", NULL,
	    "list certificates: serial, account, names, not after, revocation", 0, 0, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct cert_list l;
	struct cli c;
	int rc;

	memset(&l, 0, sizeof(l));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	if (acct != NULL && (rc = cli_id("an account", acct)) != ADMIN_OK)
		goto out;
	l.acct = acct;
	l.revoked_only = revoked;
	l.now = c.now;
	rc = scan_list(&c, STORE_T_CERT, list_one, &l, cols);
out:
	json_object_put(l.rows);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */

struct cert_get {
	const char *serial;
	struct store_cert c;
};

static enum store_err
get_txn(struct store_txn *t, void *arg)
{
	struct cert_get *g = arg;

	store_cert_free(&g->c);
	return store_cert_get(t, g->serial, &g->c);
}

static int
report(const struct cli *c, const char *serial, enum store_err se)
{
	fprintf(stderr, "acme-admin %s: %s: %s\n", c->cmd->name, serial,
	    se == STORE_NOTFOUND ? "no such certificate" : store_strerror(se));
	return cli_store_exit(se);
}

static int
certs_show(int argc, char **argv)
{
	int pem = 0;
	const struct cli_opt opts[] = {
		{ "pem", CLI_FLAG, NULL, "also the certificate and its chain in PEM", NULL, &pem },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "certs show", "SERIAL", "show one certificate", 1, 1, opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE };
	char serial[STORE_SERIAL_MAX + 1], *text = NULL;
	struct json_object *v = NULL;
	struct cert_get g;
	struct cli c;
	enum store_err se;
	int rc;

	memset(&g, 0, sizeof(g));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK ||
	    (rc = cli_serial(c.pos[0], serial)) != ADMIN_OK)
		goto out;
	g.serial = serial;
	if ((se = store_txn_run(c.store, STORE_TXN_RO, get_txn, &g)) != STORE_OK) {
		rc = report(&c, serial, se);
		goto out;
	}
	v = cert_view(&g.c, c.now, 1);
	if (pem && (text = ca_der_to_pem(g.c.der, g.c.der_len)) == NULL) {
		rc = ADMIN_FAIL;
		goto out;
	}
	if (pem && c.json) {
		out_str(v, "pem", text);
		out_str(v, "chain", g.c.chain);
	}
	out_object(&c, v);
	if (pem && !c.json)
		printf("%s%s", text, g.c.chain != NULL ? g.c.chain : "");
out:
	free(text);
	json_object_put(v);
	store_cert_free(&g.c);
	return cli_done(&c, rc);
}

/* ------------------------------------------------------------------ */

struct cert_revoke {
	const char *serial;
	int reason;
	int64_t now;
	int was_revoked;
	int upstream;                 /* issued by the directory's upstream CA (RA) */
	int queued;                   /* its upstream revocation was queued */
	char dir[STORE_NAME_MAX + 1];
};

static enum store_err
revoke_txn(struct store_txn *t, void *arg)
{
	struct cert_revoke *r = arg;
	struct store_cert c;
	enum store_err se;

	r->was_revoked = 0;
	r->queued = 0;
	if ((se = store_cert_get(t, r->serial, &c)) != STORE_OK)
		return se;
	snprintf(r->dir, sizeof(r->dir), "%s", c.dir);
	r->upstream = c.upstream;
	if (c.revoked)
		r->was_revoked = 1;
	else
		se = acme_revoke_record(t, &c, r->reason, r->now, &r->queued);
	store_cert_free(&c);
	return se;
}

/* RFC 5280 reason codes an operator may give: 7 is unused, 8
 * (removeFromCRL) belongs to delta CRLs. */
static int
reason_ok(int64_t r)
{
	return r >= 0 && r <= 10 && r != 7 && r != 8;
}

static int
certs_revoke(int argc, char **argv)
{
	const char *reason_s = NULL;
	const struct cli_opt opts[] = {
		{ "reason", CLI_STR, "N", "RFC 5280 reason code: 0 unspecified, 1 keyCompromise, "
		    "3 affiliationChanged, 4 superseded, 5 cessationOfOperation, ... (default: none)",
		    &reason_s, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "certs revoke", "SERIAL",
	    "revoke a certificate and publish the directory's CRL (RA: forward it upstream)", 1, 1,
	    opts,
	    CLI_NEED_CONFIG | CLI_NEED_STORE | CLI_NEED_AUDIT };
	const struct acme_dir_config *dc;
	char serial[STORE_SERIAL_MAX + 1], *wake = NULL;
	struct json_object *res = NULL;
	struct acme_ca *ca = NULL;
	struct cert_revoke r;
	struct cli c;
	int64_t reason = -1;
	enum store_err se;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK ||
	    (rc = cli_serial(c.pos[0], serial)) != ADMIN_OK)
		goto out;
	if (reason_s != NULL && (rc = cli_int("--reason", reason_s, 0, 10, &reason)) != ADMIN_OK)
		goto out;
	if (reason_s != NULL && !reason_ok(reason)) {
		fprintf(stderr, "acme-admin certs revoke: reason %s is not one to give (0-6, 9, 10)\n",
		    reason_s);
		rc = ADMIN_USAGE;
		goto out;
	}
	r.serial = serial;
	r.reason = (int)reason;
	r.now = c.now;
	if ((se = store_txn_run(c.store, STORE_TXN_RW, revoke_txn, &r)) != STORE_OK) {
		rc = report(&c, serial, se);
		goto out;
	}
	if (r.was_revoked) {
		fprintf(stderr, "acme-admin certs revoke: %s was already revoked\n", serial);
		rc = ADMIN_STATE;
		goto out;
	}
	acme_audit("cert.revoke", r.dir, "sis", "serial", serial, "reason", reason, "by",
	    "acme-admin");
	res = out_new();
	out_str(res, "serial", serial);
	out_str(res, "status", "revoked");
	if (reason >= 0)
		out_int(res, "reason", reason);
	out_str(res, "directory", r.dir);
	if (r.upstream) {
		/* RA: no CRL of ours; the validator forwards it (and retries). */
		if (r.queued && (wake = acme_state_file(c.cfg, "run/validator.sock")) != NULL)
			store_wake_ring(wake);
		out_bool(res, "crl_published", 0);
		out_str(res, "upstream_revocation", "queued");
		out_object(&c, res);
		rc = ADMIN_OK;
		goto out;
	}
	/* Revoked now; the CRL follows. Without it, the server signs the
	 * revocation into the next CRL it serves. */
	rc = ADMIN_FAIL;
	if ((dc = cli_dir(&c, r.dir)) == NULL || cli_ca(dc, &ca) != ADMIN_OK ||
	    acme_crl_publish(c.store, c.cfg, dc, ca, c.now) != ACME_OK) {
		fprintf(stderr, "acme-admin certs revoke: %s is revoked, but the CRL was not published "
		    "(run acme-admin crl)\n", serial);
		goto out;
	}
	out_bool(res, "crl_published", 1);
	out_object(&c, res);
	rc = ADMIN_OK;
out:
	free(wake);
	ca_free(ca);
	json_object_put(res);
	return cli_done(&c, rc);
}

int
admin_certs(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list", certs_list, "list certificates" },
		{ "show", certs_show, "show one certificate (--pem: with its PEM)" },
		{ "revoke", certs_revoke, "revoke a certificate and publish the CRL" },
		{ "renew-early", admin_certs_renew_early,
		    "ask ARI clients to renew now or within a window (an incident)" },
	};

	return cli_dispatch("certs", subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}
