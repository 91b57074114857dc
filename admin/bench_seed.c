/*
 * acme-admin bench-seed N: grow the store by N finished issuances, for the
 * store-size runs of bench/run.sh (BENCH_SCALE). Benchmarks only.
 *
 * Issuing a million certificates through the protocol takes an hour on a
 * small machine; this writes the records an issuance leaves behind, through
 * the store API and outside the server, the way the server writes them: per
 * issuance a valid authorization (http-01 valid, dns-01 and tls-alpn-01
 * pending, each with its own token), a valid order naming it, and a
 * certificate signed by the directory's CA with the default profile (same
 * extensions, serial and ARI id as finalize). Orders are spread over one
 * account per 100 issuances (real P-256 keys). The audit log is not written.
 * One transaction per SEED_BATCH issuances, with durable commits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "admin/admin.h"
#include "admin/cli.h"
#include "core/b64.h"
#include "core/ca.h"
#include "core/jwk.h"

#define SEED_BATCH 100
#define SEED_PER_ACCOUNT 100
#define SEED_CERT_KEYS 16

struct seed {
	const struct acme_dir_config *d;
	const struct acme_ca *ca;
	const struct acme_profile *prof;
	EVP_PKEY **keys;            /* subject keys, used in turn */
	char (*acct)[STORE_ID_LEN + 1];
	char (*thumb)[44];
	size_t naccts;
	uint64_t done, n;
	unsigned char tag[4];       /* random: names of this run are fresh */
};

static enum store_err
token(char out[STORE_TOKEN_LEN + 1])
{
	unsigned char r[32];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return STORE_ERR;
	b64u_encode_buf(r, sizeof(r), out);
	return STORE_OK;
}

/* One issuance's authorization, order and certificate in t. */
static enum store_err
seed_one(struct store_txn *t, struct seed *s, uint64_t i)
{
	const struct acme_dir_config *d = s->d;
	struct store_authz z;
	struct store_order o;
	struct store_cert c;
	struct store_ident id;
	struct ca_issue_params ip;
	struct ca_name nm;
	unsigned char serial[16], *der = NULL;
	const unsigned char *kid;
	char name[128], ka[STORE_TOKEN_LEN + 48], a[64], b[32];
	size_t k, kidlen = 0, ai = (size_t)(i / SEED_PER_ACCOUNT) % s->naccts;
	int64_t now = store_txn_now(t);
	enum store_err e = STORE_ERR;

	memset(&z, 0, sizeof(z));
	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	memset(&ip, 0, sizeof(ip));
	memset(&nm, 0, sizeof(nm));
	snprintf(name, sizeof(name), "s%02x%02x%02x%02x-%llu.seed.example.com", s->tag[0], s->tag[1],
	    s->tag[2], s->tag[3], (unsigned long long)i);
	id.type = STORE_IDENT_DNS;
	id.value = name;

	if (store_new_id(z.id) != STORE_OK || store_new_id(o.id) != STORE_OK)
		goto out;
	memcpy(z.acct, s->acct[ai], sizeof(z.acct));
	snprintf(z.dir, sizeof(z.dir), "%s", d->name);
	z.ident = id;
	z.status = STORE_ST_VALID;
	z.created = now;
	z.expires = now + d->authz_reuse;
	z.caa_checked = now;
	z.nchall = 3;
	z.chall[0].type = STORE_CH_HTTP01;
	z.chall[1].type = STORE_CH_DNS01;
	z.chall[2].type = STORE_CH_TLSALPN01;
	for (k = 0; k < z.nchall; k++) {
		z.chall[k].status = STORE_ST_PENDING;
		if ((e = token(z.chall[k].token)) != STORE_OK)
			goto out;
	}
	z.chall[0].status = STORE_ST_VALID;
	z.chall[0].validated = now;
	z.chall[0].attempts = 1;
	snprintf(ka, sizeof(ka), "%s.%s", z.chall[0].token, s->thumb[ai]);
	z.chall[0].keyauth = ka;
	if ((e = store_authz_put(t, &z, STORE_PUT_CREATE)) != STORE_OK)
		goto out;

	e = STORE_ERR;
	if (ca_new_serial(serial) != ACME_OK)
		goto out;
	nm.dns = name;
	ip.pubkey = s->keys[i % SEED_CERT_KEYS];
	ip.nname = 1;
	ip.name = &nm;
	ip.not_before = now - 60;
	ip.not_after = now + s->prof->lifetime;
	ip.key_usage = (s->prof->key_usage & PROFILE_KU_DIGITAL_SIGNATURE) ? CA_KU_DIGITAL_SIGNATURE : 0;
	ip.ext_key_usage = ((s->prof->ext_key_usage & PROFILE_EKU_SERVER_AUTH) ? CA_EKU_SERVER_AUTH : 0) |
	    ((s->prof->ext_key_usage & PROFILE_EKU_CLIENT_AUTH) ? CA_EKU_CLIENT_AUTH : 0);
	ip.crl_url = d->crl_url;
	ip.aia_issuer_url = d->aia_url;
	ip.serial = serial;
	ip.serial_len = sizeof(serial);
	if (ca_issue(s->ca, &ip, &der, &c.der_len) != ACME_OK)
		goto out;
	c.der = der;
	for (k = 0; k < sizeof(serial); k++)
		snprintf(c.serial + 2 * k, 3, "%02x", serial[k]);
	memcpy(c.acct, s->acct[ai], sizeof(c.acct));
	memcpy(c.order, o.id, sizeof(c.order));
	snprintf(c.dir, sizeof(c.dir), "%s", d->name);
	c.issued = now;
	c.not_before = ip.not_before;
	c.not_after = ip.not_after;
	c.chain = (char *)ca_chain_pem(s->ca);
	kid = ca_key_id(s->ca, &kidlen);
	if (kidlen > 40)
		goto out;
	b64u_encode_buf(kid, kidlen, a);
	b64u_encode_buf(serial, sizeof(serial), b);
	snprintf(c.ari, sizeof(c.ari), "%s.%s", a, b);
	c.reason = -1;
	c.profile = (char *)(s->prof->name[0] ? s->prof->name : NULL);
	if ((e = store_cert_put(t, &c, STORE_PUT_CREATE)) != STORE_OK)
		goto out;

	memcpy(o.acct, s->acct[ai], sizeof(o.acct));
	snprintf(o.dir, sizeof(o.dir), "%s", d->name);
	o.status = STORE_ST_VALID;
	o.created = now;
	o.expires = now + d->order_lifetime;
	o.nident = 1;
	o.ident = &id;
	o.nauthz = 1;
	o.authz = &z.id;
	o.profile = c.profile;
	snprintf(o.cert, sizeof(o.cert), "%s", c.serial);
	e = store_order_put(t, &o, STORE_PUT_CREATE);
out:
	free(der);
	return e;
}

static enum store_err
seed_batch(struct store_txn *t, void *arg)
{
	struct seed *s = arg;
	uint64_t i, end = s->done + SEED_BATCH < s->n ? s->done + SEED_BATCH : s->n;
	enum store_err e = STORE_OK;

	for (i = s->done; i < end && e == STORE_OK; i++)
		e = seed_one(t, s, i);
	return e;
}

struct acct_batch {
	struct seed *s;
	size_t from, to;
	struct acme_jwk *jwk;
};

static enum store_err
seed_accounts(struct store_txn *t, void *arg)
{
	struct acct_batch *ab = arg;
	struct store_account a;
	size_t i;
	enum store_err e = STORE_OK;

	for (i = ab->from; i < ab->to && e == STORE_OK; i++) {
		memset(&a, 0, sizeof(a));
		memcpy(a.id, ab->s->acct[i], sizeof(a.id));
		snprintf(a.dir, sizeof(a.dir), "%s", ab->s->d->name);
		a.status = STORE_ST_VALID;
		a.created = store_txn_now(t);
		a.jwk = ab->jwk[i].canon;
		memcpy(a.thumb, ab->jwk[i].thumb, sizeof(a.thumb));
		a.tos_agreed = a.created;
		e = store_account_put(t, &a, STORE_PUT_CREATE);
	}
	return e;
}

int
admin_bench_seed(int argc, char **argv)
{
	static const char *dir;
	static const struct cli_opt opts[] = {
		{ "directory", CLI_STR, "D", "the directory to seed (default: default)", &dir, NULL },
		{ NULL, 0, NULL, NULL, NULL, NULL },
	};
	const struct cli_cmd cmd = { "bench-seed", "N",
	    "benchmarks only: add N finished issuances (account, authorization, order, "
	    "certificate) to the store", 1, 1, opts, CLI_NEED_CONFIG | CLI_NEED_STORE };
	struct seed s;
	struct acct_batch ab;
	struct acme_jwk *jwk = NULL;
	struct acme_ca *ca = NULL;
	struct cli c;
	struct timespec t0, t1;
	char *end;
	size_t i;
	int rc;
	enum store_err e;

	memset(&s, 0, sizeof(s));
	memset(&ab, 0, sizeof(ab));
	if ((rc = cli_start(&c, &cmd, argc, argv)) != ADMIN_OK)
		goto out;
	rc = ADMIN_USAGE;
	s.n = strtoull(c.pos[0], &end, 10);
	if (*end != '\0' || s.n == 0 || s.n > 100000000) {
		fprintf(stderr, "acme-admin bench-seed: N must be 1..100000000\n");
		goto out;
	}
	rc = ADMIN_NOTFOUND;
	if ((s.d = cli_dir(&c, dir != NULL ? dir : "default")) == NULL)
		goto out;
	if ((rc = cli_ca(s.d, &ca)) != ADMIN_OK)
		goto out;
	s.ca = ca;
	s.prof = s.d->default_profile != NULL ? s.d->default_profile : &s.d->implicit;
	rc = ADMIN_FAIL;
	s.naccts = (size_t)((s.n + SEED_PER_ACCOUNT - 1) / SEED_PER_ACCOUNT);
	if ((s.keys = calloc(SEED_CERT_KEYS, sizeof(*s.keys))) == NULL ||
	    (s.acct = calloc(s.naccts, sizeof(*s.acct))) == NULL ||
	    (s.thumb = calloc(s.naccts, sizeof(*s.thumb))) == NULL ||
	    (jwk = calloc(s.naccts, sizeof(*jwk))) == NULL || RAND_bytes(s.tag, sizeof(s.tag)) != 1)
		goto out;
	for (i = 0; i < SEED_CERT_KEYS; i++)
		if ((s.keys[i] = EVP_EC_gen("P-256")) == NULL)
			goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < s.naccts; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");

		if (k == NULL || jwk_from_pkey(k, &jwk[i]) != ACME_OK ||
		    store_new_id(s.acct[i]) != STORE_OK) {
			EVP_PKEY_free(k);
			goto out;
		}
		EVP_PKEY_free(k);
		memcpy(s.thumb[i], jwk[i].thumb, sizeof(s.thumb[i]));
	}
	ab.s = &s;
	ab.jwk = jwk;
	for (ab.from = 0; ab.from < s.naccts; ab.from = ab.to) {
		ab.to = ab.from + SEED_BATCH < s.naccts ? ab.from + SEED_BATCH : s.naccts;
		if ((e = store_txn_run(c.store, STORE_TXN_RW, seed_accounts, &ab)) != STORE_OK) {
			fprintf(stderr, "acme-admin bench-seed: accounts: %s\n", store_strerror(e));
			goto out;
		}
	}
	while (s.done < s.n) {
		if ((e = store_txn_run(c.store, STORE_TXN_RW, seed_batch, &s)) != STORE_OK) {
			fprintf(stderr, "acme-admin bench-seed: after %llu: %s\n",
			    (unsigned long long)s.done, store_strerror(e));
			goto out;
		}
		s.done = s.done + SEED_BATCH < s.n ? s.done + SEED_BATCH : s.n;
		if (s.done % 100000 == 0 || s.done == s.n) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			fprintf(stderr, "acme-admin bench-seed: %llu/%llu issuances, %.0f s\n",
			    (unsigned long long)s.done, (unsigned long long)s.n,
			    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		}
		/* The validator's maintenance checkpoints and trims the log meanwhile. */
	}
	printf("%llu issuances in %zu accounts added to directory %s\n", (unsigned long long)s.n,
	    s.naccts, s.d->name);
	rc = ADMIN_OK;
out:
	for (i = 0; jwk != NULL && i < s.naccts; i++)
		jwk_clear(&jwk[i]);
	free(jwk);
	for (i = 0; s.keys != NULL && i < SEED_CERT_KEYS; i++)
		EVP_PKEY_free(s.keys[i]);
	free(s.keys);
	free(s.acct);
	free(s.thumb);
	ca_free(ca);
	return cli_done(&c, rc);
}
