/*
 * Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c) and the seed
 * generator: fixed test keys, quiet logging, scratch directories, reading
 * structured input, and the state of a running core (fuzzstate.c).
 *
 * Harnesses abort() when an invariant fails (FZ_CHECK): libFuzzer and the
 * sanitizers turn that into a crash report with the input saved.
 */
#ifndef ACME_TESTS_FUZZLIB_H
#define ACME_TESTS_FUZZLIB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct acme_config;
struct acme_ctx;

/* libFuzzer's entry points (prototypes for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: abort with a message if it fails. */
#define FZ_CHECK(cond) \
	do { if (!(cond)) fz_fail(__FILE__, __LINE__, #cond); } while (0)
void fz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/*
 * A fixed key, the same in every run and in make_seeds (so that committed
 * seeds verify): "p256", "p256b" (a second P-256 key), "ed25519", "rsa2048".
 * Borrowed; aborts on an unknown name.
 */
EVP_PKEY *fz_key(const char *name);

/* The HMAC key of the fixed EAB credential, and its kid. */
extern const unsigned char fz_mac_key[32];
#define FZ_MAC_KID "fuzz-eab-kid"

/*
 * Core and store log lines go to /dev/null at debug level, so that every
 * format string runs on fuzzed data without filling the terminal.
 * FUZZ_LOG=stderr in the environment keeps them (to debug a harness).
 */
void fz_quiet(void);

/* A new empty directory (under /dev/shm when it has 1 GiB free, else
 * $TMPDIR or /tmp), removed with its contents at exit. Caller frees the
 * path. */
char *fz_tmpdir(const char *tag);

/* Write len bytes to path (aborts on failure). */
void fz_write_file(const char *path, const void *data, size_t len);

/* A copy of n bytes with a NUL after them (aborts on ENOMEM). */
char *fz_strndup(const void *p, size_t n);

/* Structured input: a cursor over the fuzzer's bytes. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

/* The next byte, 0 once the input is used up. */
uint8_t fz_byte(struct fz_in *in);
/* The next 2 bytes, big-endian; 0 past the end. */
uint16_t fz_u16(struct fz_in *in);
/* The bytes up to the next sep (which is consumed) or the end: a malloc'd
 * NUL-terminated copy, its length in *len (it may hold NULs). */
char *fz_field(struct fz_in *in, uint8_t sep, size_t *len);
/* Everything left, as fz_field. */
char *fz_rest(struct fz_in *in, size_t *len);

/* base64url without padding of n bytes; malloc'd. */
char *fz_b64u(const void *p, size_t n);

/* ------------------------------------------------------------------ */
/* A running core (fuzzstate.c): a state directory with a CA, a
 * configuration with one directory ("default"), the store created, and a
 * context opened on it, as a worker has after start-up.               */

struct fz_state {
	char *dir;                     /* the state directory */
	struct acme_config *cfg;
	struct acme_ctx *ctx;
};

/* Set up once per process (aborts on failure); freed at exit. extra_dir is
 * appended to the [directory default] section (NULL for nothing). */
struct fz_state *fz_state_open(const char *extra_dir);

/* Keep the store (and the CRLs) as they are now; st->ctx is replaced. */
void fz_state_snapshot(void);

/* Before each input: put the store back as it was at the snapshot when an
 * earlier input wrote to it, with a new st->ctx (no cache carried over).
 * 1 when it did, 0 when nothing had changed. */
int fz_state_restore(void);

#define FZ_BASE_URL "https://acme.fuzz.test"
#define FZ_DIR_PREFIX "/acme/default/"

#endif
