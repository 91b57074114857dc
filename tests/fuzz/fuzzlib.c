#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "core/log.h"
#include "tests/fuzz/fuzzlib.h"

void
fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz: %s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

/* Test keys, generated once with openssl genpkey; they protect nothing. */
static const struct {
	const char *name;
	const char *pem;
} fz_pems[] = {
	{ "p256",
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2eeO9slQqtRf3j53\n"
	    "6AQAq80NPwY5sz5NcIHXtbS3i5yhRANCAAStdaGAgSpWhiGfvsL8d2g4zSqdH+FM\n"
	    "lS6EANHZAppZUaDsmv7+k5UwVQA0Zo4mUZztpH8AYNLzTdtkMlVYwKgd\n"
	    "-----END PRIVATE KEY-----\n" },
	{ "p256b",
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgm3CzTOvkyKFsSFMH\n"
	    "1aE342rfTYFgqE954kLySimJCE6hRANCAAQsMeALjblMZFrqrWSvGvu5gphF2Uxc\n"
	    "qlRS9Tt0Tvu1dzAtViSCNF9tOpk70rY6t+v7wu4l+vHq0COX6J94oPsV\n"
	    "-----END PRIVATE KEY-----\n" },
	{ "ed25519",
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MC4CAQAwBQYDK2VwBCIEINjPSRngNQxGKB/pkSZbVtnFA+3Ql6y4z7hOEr5MDnf2\n"
	    "-----END PRIVATE KEY-----\n" },
	{ "rsa2048",
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDJfwER/U/Rj/QG\n"
	    "2eeZ8y5ZAzddctBjFueBLF7m1E1dP93eJZWlfRPNFqPsD0rkabVOIvYVzAOp5wWh\n"
	    "Bk30rRORyALTKbY658EMU2tGXJ7A16SKu6tmfI79mzHneiD2v6CoNx9kmSxtge7F\n"
	    "gtYDoW65+b6Roax1uTv8UF+8cU2eYPAIjbAJg6ITVEvVUBjepm3q2e1IvBMtkuDo\n"
	    "vE1W4T3DggnUeNYZaByVCHYolwPXQ7Yv7U0Oqo842xvDczqeFZZbvI+Alrde4+Om\n"
	    "o7jJIVtp3o1qOzX2mTnJys5GFSbu0FZOzTFfL0afTm54MG6NxVRenXuoh1vH/DOT\n"
	    "pgSyAEs1AgMBAAECggEADp6TYk3Bw8+xAeo/fpEBVN4B31rcOcRIqbuhaxgOQOzI\n"
	    "WTza3bX0gNXasN7vLSFqUTACMNSrk2E6rFM7xrvkBpi/c7i8CwwTmqRWzTUdI5rB\n"
	    "ynsRVY9GBKqE9WmMCLsgmfPd6Dug2JUr0NLMWlkVIpM3O3PCgowdCRJ/z7lcy1fW\n"
	    "PPdd3uvQME+iZbbRaT6jQDHY+KCDQPllV+Koz8XDfLkwoAXvroJgnnJsFtTV1Yao\n"
	    "aTllNE5YnQK/t+qZBfXegiKwmqXt5Muvo1kN4gw0WpBsoq5YyqvgGaBHa9SoFSG8\n"
	    "V9Y87lkVXTueeMKzKUVVJSNZCxV4bQdVMhzuPSSowQKBgQDlpaDegFZjaMFbwV9s\n"
	    "oQg1MkRbTA4VIzhg97JQ3tRyvRy/es9nkDo3h6g0iG1YFsh3uZFaJDgmq3safQaW\n"
	    "MJ7iaGSxWL5N8N0UhWvo6pWRhOljcq4QRbYma3QJe5v1y52VLxh+GlyoQnjDwehm\n"
	    "5gSAG2jEXxuCxwDFc0D+6WBhkQKBgQDgnmIxup35zPxsGh6ylxgjWzlIay7jGF7K\n"
	    "K0qpezII92RpBsZb1H7cO3WMH7WPaeIhxeNvrLgGfnE/bBgQ4ZkiUX7Ohj+k4b9J\n"
	    "7rwGnf1Pv41aeCvj5l27J556fQzSEiQxSqMpW6Y3uvHJRYkEQ9tnG4Av6idyJXGJ\n"
	    "79Ns7vZ9ZQKBgBEqn2rihxKpSwLz4pE5PGbVmhyFA+x6lIVTHsZC0fi9wD9kC8r/\n"
	    "EgsCngVHSX0zPssMWRw25uelG++v9uUVP1tHWHeVXaxv2+bjzlw75PBa0iN3+CEJ\n"
	    "RQN8NtFapx7pmJ8FRTxv9gsx5NslTJ0chquY4O0E+wZ8n8cixXIIugaxAoGBANUy\n"
	    "4CctZ5bcD1eYLzz6FyowAx4OxjE9R3ODRdm6GlLSZpcdnBc7ibIGKdt3mYBnUwEV\n"
	    "cHvmJ8HaMCmvsuQLDau6SK9EU5Jvx34oQIXTXcVdHpEZcSde1+a1g0HmAc4+8+Vp\n"
	    "X5b467sIEUkmXBgVRGIIg1J3YTuB+NOhND+4TXPVAoGBAJud7CWECPUpNno2l0S9\n"
	    "82FOc/V9cl0u10yeo+GXkJkDNdcTNI7OgifkA9YrChWeLKRNSvgh2EEH1ycCwWYN\n"
	    "TAAousQpHvc4EskB1RruP1crGCbVizpKR8ZYxmc6Ylh0SCRjzWyI67hdL/4fRh4d\n"
	    "Z0CO4Y/mEm8DRya3ovljglac\n"
	    "-----END PRIVATE KEY-----\n" },
};
#define FZ_NKEYS (sizeof(fz_pems) / sizeof(fz_pems[0]))

static EVP_PKEY *fz_keys[FZ_NKEYS];

const unsigned char fz_mac_key[32] = {
	0x8a, 0x1f, 0x3c, 0x55, 0x02, 0x9e, 0x77, 0xd4, 0x61, 0x0b, 0xe2, 0x4a, 0x93, 0x5d, 0xc8, 0x36,
	0x1e, 0xf0, 0x7b, 0x24, 0xa9, 0x68, 0x0d, 0xbf, 0x52, 0xe6, 0x3a, 0x87, 0xcd, 0x19, 0x44, 0x70,
};

static void
fz_keys_free(void)
{
	size_t i;

	for (i = 0; i < FZ_NKEYS; i++) {
		EVP_PKEY_free(fz_keys[i]);
		fz_keys[i] = NULL;
	}
}

EVP_PKEY *
fz_key(const char *name)
{
	static int registered;
	BIO *b;
	size_t i;

	for (i = 0; i < FZ_NKEYS && strcmp(fz_pems[i].name, name) != 0; i++)
		;
	if (i == FZ_NKEYS)
		fz_fail(__FILE__, __LINE__, "unknown key name");
	if (fz_keys[i] == NULL) {
		if ((b = BIO_new_mem_buf(fz_pems[i].pem, -1)) == NULL ||
		    (fz_keys[i] = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
			fz_fail(__FILE__, __LINE__, "cannot load a test key");
		BIO_free(b);
		if (!registered) {
			atexit(fz_keys_free);
			registered = 1;
		}
	}
	return fz_keys[i];
}

void
fz_quiet(void)
{
	const char *v = getenv("FUZZ_LOG");

	(void)acme_log_open("fuzz", v != NULL && strcmp(v, "stderr") == 0 ? "stderr" :
	    "file:/dev/null");
	acme_log_level(LOG_DEBUG);
}

/* ------------------------------------------------------------------ */
/* Scratch directories */

#define FZ_MAXTMP 8
static char *fz_tmps[FZ_MAXTMP];
static pid_t fz_tmp_owner;

static int
fz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void
fz_tmp_cleanup(void)
{
	size_t i;

	/* A child that inherited the handler leaves the directories alone. */
	if (getpid() != fz_tmp_owner)
		return;
	for (i = 0; i < FZ_MAXTMP; i++) {
		if (fz_tmps[i] == NULL)
			continue;
		(void)nftw(fz_tmps[i], fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(fz_tmps[i]);
		fz_tmps[i] = NULL;
	}
}

/* Remove what earlier runs that crashed (and so never ran their atexit
 * handlers) left in base: acme-fuzz-<tag>-<pid>-XXXXXX of dead pids. */
static void
fz_tmp_sweep(const char *base)
{
	struct dirent *e;
	char path[PATH_MAX], *p;
	DIR *d;
	long pid;

	if ((d = opendir(base)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "acme-fuzz-", 10) != 0 ||
		    (p = strchr(e->d_name + 10, '-')) == NULL)
			continue;
		pid = strtol(p + 1, &p, 10);
		if (*p != '-' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		(void)nftw(path, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

char *
fz_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	struct statvfs vfs;
	char *path;
	size_t i;

	/* tmpfs makes the store's fsyncs free; containers often give /dev/shm
	 * only 64 MiB, too little for a store and its logs. */
	if (access("/dev/shm", W_OK) == 0 && statvfs("/dev/shm", &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize >= (UINT64_C(1) << 30))
		base = "/dev/shm";
	else if (base == NULL || *base == '\0')
		base = "/tmp";
	fz_tmp_sweep(base);
	if (asprintf(&path, "%s/acme-fuzz-%s-%ld-XXXXXX", base, tag, (long)getpid()) < 0 ||
	    mkdtemp(path) == NULL)
		fz_fail(__FILE__, __LINE__, "cannot make a scratch directory");
	for (i = 0; i < FZ_MAXTMP && fz_tmps[i] != NULL; i++)
		;
	if (i == FZ_MAXTMP)
		fz_fail(__FILE__, __LINE__, "too many scratch directories");
	if ((fz_tmps[i] = strdup(path)) == NULL)
		fz_fail(__FILE__, __LINE__, "out of memory");
	if (fz_tmp_owner == 0) {
		fz_tmp_owner = getpid();
		atexit(fz_tmp_cleanup);
	}
	return path;
}

void
fz_write_file(const char *path, const void *data, size_t len)
{
	FILE *f;

	if ((f = fopen(path, "we")) == NULL || (len > 0 && fwrite(data, 1, len, f) != len) ||
	    fclose(f) != 0)
		fz_fail(__FILE__, __LINE__, "cannot write a file");
}

char *
fz_strndup(const void *p, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		fz_fail(__FILE__, __LINE__, "out of memory");
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* ------------------------------------------------------------------ */
/* Structured input */

uint8_t
fz_byte(struct fz_in *in)
{
	uint8_t b;

	if (in->n == 0)
		return 0;
	b = in->p[0];
	in->p++;
	in->n--;
	return b;
}

uint16_t
fz_u16(struct fz_in *in)
{
	uint16_t hi = fz_byte(in);

	return (uint16_t)(hi << 8 | fz_byte(in));
}

char *
fz_field(struct fz_in *in, uint8_t sep, size_t *len)
{
	const uint8_t *e = in->n > 0 ? memchr(in->p, sep, in->n) : NULL;
	size_t n = e != NULL ? (size_t)(e - in->p) : in->n;
	char *s = fz_strndup(in->p, n);

	in->p += n;
	in->n -= n;
	if (e != NULL) {
		in->p++;
		in->n--;
	}
	if (len != NULL)
		*len = n;
	return s;
}

char *
fz_rest(struct fz_in *in, size_t *len)
{
	char *s = fz_strndup(in->p, in->n);

	if (len != NULL)
		*len = in->n;
	in->p += in->n;
	in->n = 0;
	return s;
}

char *
fz_b64u(const void *p, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *in = p;
	char *out, *o;
	unsigned long v;
	size_t i;

	if ((out = o = malloc(n / 3 * 4 + 5)) == NULL)
		fz_fail(__FILE__, __LINE__, "out of memory");
	for (i = 0; i < n; i += 3) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*o++ = a[v >> 18 & 63];
		*o++ = a[v >> 12 & 63];
		if (i + 1 < n)
			*o++ = a[v >> 6 & 63];
		if (i + 2 < n)
			*o++ = a[v & 63];
	}
	*o = '\0';
	return out;
}
