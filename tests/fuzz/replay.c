/*
 * A harness without libFuzzer: linked with one tests/fuzz/fuzz_NAME.c as
 * $(BUILD)/tests/fuzz/test_fuzz_NAME by the ordinary build (gcc, and ASan
 * and UBSan under SAN=1), and run by `make check` (tests/run.sh, group
 * fuzz). It feeds LLVMFuzzerTestOneInput every file of
 * tests/fuzz/regress/NAME/ (the inputs that once found a bug: they must
 * stay fixed) and of tests/fuzz/corpus/NAME/ (the seeds), in name order,
 * from the top of the tree; or the files and directories given as
 * arguments.
 *
 * TAP: one line per directory. A harness reports a failed invariant or a
 * sanitizer error by aborting, so the failure is the exit status; the line
 * "# replaying FILE" before each input names the one that did it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzzlib.h"

/* The harness's name: the program's, without test_fuzz_ (or fuzz_). */
static const char *name;

/* The contents of path, malloc'd (never NULL), its length in *len. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, k;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((buf = realloc(buf, cap)) == NULL)
				fz_fail(__FILE__, __LINE__, "out of memory");
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
	} while (k > 0);
	if (ferror(f)) {
		fprintf(stderr, "replay: reading %s failed\n", path);
		exit(1);
	}
	fclose(f);
	*len = n;
	return buf;
}

static void
replay_file(const char *path)
{
	unsigned char *data;
	size_t len;

	printf("# replaying %s\n", path);
	fflush(stdout);
	data = slurp(path, &len);
	(void)LLVMFuzzerTestOneInput(data, len);
	free(data);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; the number of them, or -1 if
 * dir does not exist. */
static long
replay_dir(const char *dir)
{
	struct dirent *e;
	char **names = NULL, *p;
	size_t n = 0, i;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return -1;
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((names = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (names[n++] = strdup(e->d_name)) == NULL)
			fz_fail(__FILE__, __LINE__, "out of memory");
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		if (asprintf(&p, "%s/%s", dir, names[i]) < 0)
			fz_fail(__FILE__, __LINE__, "out of memory");
		replay_file(p);
		free(p);
		free(names[i]);
	}
	free(names);
	return (long)n;
}

int
main(int argc, char **argv)
{
	char *dirs[2];
	struct stat sb;
	long n;
	int i, t = 0;

	name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strncmp(name, "test_", 5) == 0)
		name += 5;
	if (strncmp(name, "fuzz_", 5) == 0)
		name += 5;
	if (asprintf(&dirs[0], "tests/fuzz/regress/%s", name) < 0 ||
	    asprintf(&dirs[1], "tests/fuzz/corpus/%s", name) < 0)
		fz_fail(__FILE__, __LINE__, "out of memory");

	if (LLVMFuzzerInitialize(&argc, &argv) != 0)
		fz_fail(__FILE__, __LINE__, "LLVMFuzzerInitialize");
	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
				n = replay_dir(argv[i]);
			else {
				replay_file(argv[i]);
				n = 1;
			}
			printf("ok %d - fuzz_%s: %s (%ld inputs)\n", ++t, name, argv[i], n);
		}
	} else {
		for (i = 0; i < 2; i++) {
			if ((n = replay_dir(dirs[i])) < 0 && i == 0)
				printf("ok %d - fuzz_%s: %s # SKIP none\n", ++t, name, dirs[i]);
			else if (n <= 0)      /* every harness has seeds */
				printf("not ok %d - fuzz_%s: %s has no inputs\n", ++t, name, dirs[i]);
			else
				printf("ok %d - fuzz_%s: %s (%ld inputs)\n", ++t, name, dirs[i], n);
		}
	}
	printf("1..%d\n", t);
	free(dirs[0]);
	free(dirs[1]);
	return 0;
}
