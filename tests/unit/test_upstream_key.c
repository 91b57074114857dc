/*
 * RA mode: the upstream account key at rest (core/upstream_key.c): sealed
 * and opened again, refused with a wrong passphrase, for another
 * directory, and after any change to the sealed bytes; secret files must be
 * private to their owner; new keys of each configured type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "core/jwk.h"
#include "core/upstream_key.h"

static const char pass[] = "correct horse battery staple";

static void
seal(EVP_PKEY *k, unsigned char **blob, size_t *len)
{
	assert_int_equal(acme_upstream_seal(k, pass, strlen(pass), "ra", blob, len), ACME_OK);
	assert_true(*len > 29 + 16);
}

static void
test_round_trip(void **state)
{
	EVP_PKEY *k = NULL, *back = NULL;
	unsigned char *blob = NULL;
	size_t len = 0;
	char t1[44], t2[44];

	(void)state;
	assert_int_equal(acme_upstream_keygen("p256", &k), ACME_OK);
	seal(k, &blob, &len);
	assert_memory_equal(blob, "AUK1", 4);
	assert_int_equal(blob[4], 15);                  /* N = 2^15 */
	assert_int_equal(acme_upstream_open(blob, len, pass, strlen(pass), "ra", &back), ACME_OK);
	assert_int_equal(jwk_thumbprint_pkey(k, t1), ACME_OK);
	assert_int_equal(jwk_thumbprint_pkey(back, t2), ACME_OK);
	assert_string_equal(t1, t2);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	free(blob);
	EVP_PKEY_free(k);
}

static void
test_refusals(void **state)
{
	EVP_PKEY *k = NULL, *back = NULL;
	unsigned char *blob = NULL;
	size_t len = 0, i;

	(void)state;
	acme_upstream_scrypt_log2n = 10;      /* many opens below: keep them quick */
	assert_int_equal(acme_upstream_keygen("p384", &k), ACME_OK);
	seal(k, &blob, &len);
	assert_int_equal(acme_upstream_open(blob, len, "wrong", 5, "ra", &back), ACME_EBADSIG);
	assert_null(back);
	assert_int_equal(acme_upstream_open(blob, len, pass, strlen(pass), "other", &back),
	    ACME_EBADSIG);
	/* Any byte changed, header (salt, nonce), ciphertext or tag: refused. */
	for (i = 7; i < len; i += (i < 40 ? 1 : 17)) {
		blob[i] ^= 0x01;
		assert_int_not_equal(acme_upstream_open(blob, len, pass, strlen(pass), "ra", &back),
		    ACME_OK);
		assert_null(back);
		blob[i] ^= 0x01;
	}
	/* Truncated, a wrong magic, an absurd cost. */
	assert_int_equal(acme_upstream_open(blob, 20, pass, strlen(pass), "ra", &back), ACME_EINVAL);
	blob[0] = 'X';
	assert_int_equal(acme_upstream_open(blob, len, pass, strlen(pass), "ra", &back), ACME_EINVAL);
	blob[0] = 'A';
	blob[4] = 40;
	assert_int_equal(acme_upstream_open(blob, len, pass, strlen(pass), "ra", &back), ACME_EINVAL);
	blob[4] = 10;
	assert_int_equal(acme_upstream_open(blob, len, pass, strlen(pass), "ra", &back), ACME_OK);
	EVP_PKEY_free(back);
	free(blob);
	EVP_PKEY_free(k);
	acme_upstream_scrypt_log2n = 15;
}

static void
test_key_types(void **state)
{
	static const char *const ok[] = { "p256", "p384", "rsa2048" };
	EVP_PKEY *k = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(acme_upstream_keygen(ok[i], &k), ACME_OK);
		EVP_PKEY_free(k);
	}
	assert_int_equal(acme_upstream_keygen("ed25519", &k), ACME_EUNSUPPORTED);
	assert_null(k);
}

static void
test_secret_file(void **state)
{
	char path[] = "/tmp/acme-secret-XXXXXX", buf[64];
	size_t len = 0;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\nsecond line\n", 19), 19);
	close(fd);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(acme_secret_read(path, "test secret", buf, sizeof(buf), &len), ACME_OK);
	assert_string_equal(buf, "s3cret");
	assert_int_equal(len, 6);
	assert_int_equal(chmod(path, 0640), 0);           /* the group may read: refused */
	assert_int_equal(acme_secret_read(path, "test secret", buf, sizeof(buf), &len), ACME_ECONFIG);
	assert_int_equal(buf[0], '\0');
	unlink(path);
	assert_int_equal(acme_secret_read(path, "test secret", buf, sizeof(buf), &len), ACME_ECONFIG);
	assert_int_equal(acme_secret_read(NULL, "test secret", buf, sizeof(buf), &len), ACME_ECONFIG);
	assert_int_equal(acme_secret_read(path, "test secret", buf, 1, &len), ACME_EINVAL);
}

/* What a secret file must not be: each is refused with the buffer wiped. */
static void
put_secret(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_secret_refusals(void **state)
{
	char dir[] = "/tmp/acme-secret-XXXXXX", path[64], link[64], buf[16], big[32];
	size_t len = 99;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	/* A symbolic link to a good file: not followed. */
	put_secret(path, "good\n", 5, 0600);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(acme_secret_read(link, "t", buf, sizeof(buf), &len), ACME_ECONFIG);
	assert_int_equal(len, 0);
	unlink(link);
	/* Others may read it. */
	put_secret(path, "good\n", 5, 0604);
	assert_int_equal(acme_secret_read(path, "t", buf, sizeof(buf), &len), ACME_ECONFIG);
	/* An empty first line, a NUL byte in it. */
	put_secret(path, "\nsecond\n", 8, 0600);
	assert_int_equal(acme_secret_read(path, "t", buf, sizeof(buf), &len), ACME_ECONFIG);
	put_secret(path, "ab\0cd\n", 6, 0600);
	assert_int_equal(acme_secret_read(path, "t", buf, sizeof(buf), &len), ACME_ECONFIG);
	assert_int_equal(buf[0], '\0');
	/* Longer than the buffer without a line end; one that fits is fine, CRLF too. */
	memset(big, 'x', sizeof(big));
	put_secret(path, big, sizeof(big), 0600);
	assert_int_equal(acme_secret_read(path, "t", buf, sizeof(buf), &len), ACME_ECONFIG);
	put_secret(path, "0123456789abc\r\n", 15, 0400);
	assert_int_equal(acme_secret_read(path, "t", buf, sizeof(buf), &len), ACME_OK);
	assert_string_equal(buf, "0123456789abc");
	assert_int_equal(len, 13);
	/* A directory. */
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(acme_secret_read(dir, "t", buf, sizeof(buf), &len), ACME_ECONFIG);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_secret_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
