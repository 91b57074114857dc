/*
 * Helpers shared by the store tests: a scratch directory, record fixtures
 * and deep comparisons. Header-only (each test file is one program).
 */
#ifndef ACME_TESTS_STORE_TEST_H
#define ACME_TESTS_STORE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/internal.h"

#define UNUSED __attribute__((unused))

/* Store log lines as TAP comments, so they cannot pass for results. */
static void
tap_log(int prio, const char *line)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "# store(%d): %s\n", prio, line);

	if (n > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

__attribute__((constructor)) static void
tap_log_init(void)
{
	store_set_log(tap_log);
}

UNUSED static char *
tdir_make(void)
{
	char tmpl[] = "/tmp/acme-store-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

UNUSED static int
tdir_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

UNUSED static void
tdir_remove(char *d)
{
	if (d == NULL)
		return;
	(void)nftw(d, tdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

/* "<prefix><n>" padded with 'x' to exactly len characters. */
UNUSED static void
fixed_id(char *out, size_t len, const char *prefix, unsigned n)
{
	int k = snprintf(out, len + 1, "%s%u", prefix, n);

	assert_true(k > 0 && (size_t)k <= len);
	memset(out + k, 'x', len - (size_t)k);
	out[len] = '\0';
}

/* ---- fixtures: pointers to literals, never freed ---- */

static char *contacts2[] = { (char *)"mailto:a@example.org", (char *)"mailto:b@example.org" };

UNUSED static void
fx_account(struct store_account *a, unsigned n, int full)
{
	memset(a, 0, sizeof(*a));
	fixed_id(a->id, STORE_ID_LEN, "acct", n);
	strcpy(a->dir, "default");
	a->status = STORE_ST_VALID;
	a->created = 1700000000 + n;
	a->jwk = (char *)"{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"abc\",\"y\":\"def\"}";
	fixed_id(a->thumb, STORE_THUMB_LEN, "thumb", n);
	if (!full)
		return;
	a->ncontact = 2;
	a->contact = contacts2;
	a->tos_agreed = 1700000001;
	a->tos_url = (char *)"https://example.org/tos";
	a->eab_kid = (char *)"kid-1";
	a->eab_jws = (char *)"{\"protected\":\"x\"}";
	a->key_version = 3;
}

static struct store_ident idents2[] = {
	{ STORE_IDENT_DNS, (char *)"www.example.org" },
	{ STORE_IDENT_IP, (char *)"192.0.2.1" },
};
static unsigned char csr_bytes[] = { 0x30, 0x82, 0x00, 0x00, 0x01, 0x00, 0xff };

UNUSED static void
fx_order(struct store_order *o, unsigned n, unsigned acct, int64_t created, int full)
{
	static store_id authz2[2];

	memset(o, 0, sizeof(*o));
	fixed_id(o->id, STORE_ID_LEN, "order", n);
	fixed_id(o->acct, STORE_ID_LEN, "acct", acct);
	strcpy(o->dir, "default");
	o->status = STORE_ST_PENDING;
	o->created = created;
	o->expires = created + 86400;
	if (!full)
		return;
	fixed_id(authz2[0], STORE_ID_LEN, "authz", 1);
	fixed_id(authz2[1], STORE_ID_LEN, "authz", 2);
	o->not_before = -5;
	o->not_after = created + 90 * 86400;
	o->nident = 2;
	o->ident = idents2;
	o->nauthz = 2;
	o->authz = authz2;
	o->profile = (char *)"tlsserver";
	o->error = (char *)"{\"type\":\"urn:ietf:params:acme:error:caa\"}";
	strcpy(o->cert, "00ab12cd");
	o->replaces = (char *)"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
	o->csr = csr_bytes;
	o->csr_len = sizeof(csr_bytes);
	o->retry_after = created + 5;
}

UNUSED static void
fx_authz(struct store_authz *z, unsigned n, unsigned acct, const char *name, int64_t created,
    int64_t due, int full)
{
	unsigned i;

	memset(z, 0, sizeof(*z));
	fixed_id(z->id, STORE_ID_LEN, "authz", n);
	fixed_id(z->acct, STORE_ID_LEN, "acct", acct);
	strcpy(z->dir, "default");
	z->ident.type = STORE_IDENT_DNS;
	z->ident.value = (char *)name;
	z->status = STORE_ST_PENDING;
	z->created = created;
	z->expires = created + 7 * 86400;
	z->due = due;
	z->nchall = 1;
	z->chall[0].type = STORE_CH_HTTP01;
	z->chall[0].status = STORE_ST_PENDING;
	fixed_id(z->chall[0].token, STORE_TOKEN_LEN, "tok", n);
	if (!full)
		return;
	z->wildcard = 1;
	z->caa_checked = created + 1;
	z->nchall = STORE_MAX_CHALL;
	for (i = 0; i < STORE_MAX_CHALL; i++) {
		z->chall[i].type = (uint8_t)(1 + i % 3);
		z->chall[i].status = STORE_ST_PROCESSING;
		fixed_id(z->chall[i].token, STORE_TOKEN_LEN, "tok", n * 10 + i);
		z->chall[i].validated = created + i;
		z->chall[i].keyauth = (char *)"token.thumbprint";
		z->chall[i].error = i == 2 ? NULL : (char *)"{\"detail\":\"timeout\"}";
		z->chall[i].attempts = i + 1;
	}
}

static unsigned char der_bytes[] = { 0x30, 0x82, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x01 };

UNUSED static void
fx_cert(struct store_cert *c, unsigned n, const char *ari, int full)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%08x", 0xab000000u + n);
	fixed_id(c->acct, STORE_ID_LEN, "acct", 1);
	fixed_id(c->order, STORE_ID_LEN, "order", n);
	strcpy(c->dir, "default");
	c->issued = 1700000000;
	c->not_before = 1700000000;
	c->not_after = 1700000000 + 90 * 86400;
	c->der = der_bytes;
	c->der_len = sizeof(der_bytes);
	c->reason = -1;
	if (ari != NULL)
		snprintf(c->ari, sizeof(c->ari), "%s", ari);
	if (!full)
		return;
	c->chain = (char *)"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	c->revoked = 1;
	c->reason = 0;
	c->revoked_at = 1700000500;
	fixed_id(c->replaced_by, STORE_ID_LEN, "order", n + 1);
	c->profile = (char *)"shortlived";
}

/* ---- deep comparisons ---- */

UNUSED static void
eq_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

UNUSED static void
eq_blob(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	assert_int_equal(an, bn);
	if (an > 0)
		assert_memory_equal(a, b, an);
}

UNUSED static void
eq_account(const struct store_account *a, const struct store_account *b)
{
	size_t i;

	assert_string_equal(a->id, b->id);
	assert_string_equal(a->dir, b->dir);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->created, b->created);
	eq_str(a->jwk, b->jwk);
	assert_string_equal(a->thumb, b->thumb);
	assert_int_equal(a->ncontact, b->ncontact);
	for (i = 0; i < a->ncontact; i++)
		eq_str(a->contact[i], b->contact[i]);
	assert_int_equal(a->tos_agreed, b->tos_agreed);
	eq_str(a->tos_url, b->tos_url);
	eq_str(a->eab_kid, b->eab_kid);
	eq_str(a->eab_jws, b->eab_jws);
	assert_int_equal(a->key_version, b->key_version);
}

UNUSED static void
eq_order(const struct store_order *a, const struct store_order *b)
{
	size_t i;

	assert_string_equal(a->id, b->id);
	assert_string_equal(a->acct, b->acct);
	assert_string_equal(a->dir, b->dir);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	assert_int_equal(a->nident, b->nident);
	for (i = 0; i < a->nident; i++) {
		assert_int_equal(a->ident[i].type, b->ident[i].type);
		eq_str(a->ident[i].value, b->ident[i].value);
	}
	assert_int_equal(a->nauthz, b->nauthz);
	for (i = 0; i < a->nauthz; i++)
		assert_string_equal(a->authz[i], b->authz[i]);
	eq_str(a->profile, b->profile);
	eq_str(a->error, b->error);
	assert_string_equal(a->cert, b->cert);
	eq_str(a->replaces, b->replaces);
	eq_blob(a->csr, a->csr_len, b->csr, b->csr_len);
	assert_int_equal(a->retry_after, b->retry_after);
}

UNUSED static void
eq_authz(const struct store_authz *a, const struct store_authz *b)
{
	size_t i;

	assert_string_equal(a->id, b->id);
	assert_string_equal(a->acct, b->acct);
	assert_string_equal(a->dir, b->dir);
	assert_int_equal(a->ident.type, b->ident.type);
	eq_str(a->ident.value, b->ident.value);
	assert_int_equal(a->wildcard, b->wildcard);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->nchall, b->nchall);
	for (i = 0; i < a->nchall; i++) {
		assert_int_equal(a->chall[i].type, b->chall[i].type);
		assert_int_equal(a->chall[i].status, b->chall[i].status);
		assert_string_equal(a->chall[i].token, b->chall[i].token);
		assert_int_equal(a->chall[i].validated, b->chall[i].validated);
		eq_str(a->chall[i].keyauth, b->chall[i].keyauth);
		eq_str(a->chall[i].error, b->chall[i].error);
		assert_int_equal(a->chall[i].attempts, b->chall[i].attempts);
	}
	assert_int_equal(a->due, b->due);
	assert_int_equal(a->caa_checked, b->caa_checked);
}

UNUSED static void
eq_cert(const struct store_cert *a, const struct store_cert *b)
{
	assert_string_equal(a->serial, b->serial);
	assert_string_equal(a->acct, b->acct);
	assert_string_equal(a->order, b->order);
	assert_string_equal(a->dir, b->dir);
	assert_int_equal(a->issued, b->issued);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	eq_blob(a->der, a->der_len, b->der, b->der_len);
	eq_str(a->chain, b->chain);
	assert_string_equal(a->ari, b->ari);
	assert_int_equal(a->revoked, b->revoked);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->revoked_at, b->revoked_at);
	assert_string_equal(a->replaced_by, b->replaced_by);
	eq_str(a->profile, b->profile);
}

/* ---- running bodies in transactions ---- */

/* An environment in a fresh directory, opened with NOSYNC unless sync. */
struct tenv {
	char *dir;
	struct store *s;
};

UNUSED static void
tenv_open(struct tenv *e, int sync)
{
	e->dir = tdir_make();
	assert_int_equal(store_open(e->dir, STORE_OPEN_CREATE | (sync ? 0 : STORE_OPEN_NOSYNC), &e->s),
	    STORE_OK);
}

UNUSED static void
tenv_close(struct tenv *e)
{
	store_close(e->s);
	e->s = NULL;
	tdir_remove(e->dir);
	e->dir = NULL;
}

/* Collect ids from a listing callback. */
struct idv {
	size_t n;
	char ids[64][STORE_SERIAL_MAX + 1];
	size_t stop_after;   /* 0: never stop early */
};

UNUSED static int
idv_add(const char *id, void *arg)
{
	struct idv *v = arg;

	if (v->n < 64)
		snprintf(v->ids[v->n], sizeof(v->ids[0]), "%s", id);
	v->n++;
	return v->stop_after != 0 && v->n >= v->stop_after;
}

/* Wait for a child; its exit status, or 128 + signal. */
UNUSED static int
child_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
