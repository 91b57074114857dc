/*
 * CPU time and memory of the servers under test, from /proc.
 *
 * A group is a root pid (nginx master, acme-fcgi master, acme-validator,
 * pebble, ...) and all its descendants at the time of the snapshot. CPU is
 * each process's own (utime+stime, measured exactly through its threads'
 * schedstat when the kernel has it) plus cutime+cstime (its children that
 * exited and were reaped), so a worker replaced during a run still counts.
 * Memory is VmRSS and VmHWM from /proc/PID/status and Pss from
 * /proc/PID/smaps_rollup (shared pages divided among the processes that map
 * them: the Berkeley DB region files and the binaries' text are shared by
 * the workers, and RSS counts them once per process).
 */
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define MAXP 4096

struct pinfo {
	int pid;
	int ppid;
};

static int
read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (int)n;
}

/* Every process's pid and ppid. Returns the count. */
static int
list_procs(struct pinfo *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[64], buf[512], *p;
	int n = 0;

	if (d == NULL)
		bn_die("cannot open /proc");
	while ((de = readdir(d)) != NULL && n < max) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/stat", de->d_name);
		if (read_file(path, buf, sizeof(buf)) <= 0 || (p = strrchr(buf, ')')) == NULL)
			continue;
		out[n].pid = atoi(de->d_name);
		/* ") S ppid ..." */
		if (sscanf(p + 2, "%*c %d", &out[n].ppid) != 1)
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/* The pids of root's tree into tree (root first). Returns the count (0 when
 * root is gone). */
static int
tree_of(int root, const struct pinfo *all, int nall, int *tree, int max)
{
	int n = 0, i, j, found = 0;

	for (i = 0; i < nall; i++)
		if (all[i].pid == root)
			found = 1;
	if (!found)
		return 0;
	tree[n++] = root;
	for (j = 0; j < n && n < max; j++)
		for (i = 0; i < nall && n < max; i++)
			if (all[i].ppid == tree[j])
				tree[n++] = all[i].pid;
	return n;
}

/* CPU time of pid's live threads from schedstat (ns on the CPU, exact), or
 * -1 when the kernel has no schedstat. */
static double
tasks_cpu_ms(int pid)
{
	char path[96], buf[128];
	struct dirent *de;
	unsigned long long ns, sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", pid, de->d_name);
		if (read_file(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%llu", &ns) != 1) {
			closedir(d);
			return -1;
		}
		sum += ns;
	}
	closedir(d);
	return (double)sum / 1e6;
}

/*
 * A process's CPU time: its live threads' from schedstat when the kernel
 * has it (/proc/PID/stat's utime and stime are in 10 ms ticks, too coarse
 * for short runs), else utime + stime; plus cutime + cstime, its reaped
 * children (ticks), which schedstat does not have.
 */
static double
proc_cpu_ms(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long long cut, cst;
	double tasks;
	static long hz;

	if (hz == 0)
		hz = sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0 || (p = strrchr(buf, ')')) == NULL)
		return 0;
	/* Fields 3.. after the name: state ppid pgrp session tty tpgid flags
	 * minflt cminflt majflt cmajflt utime stime cutime cstime. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
	    &ut, &st, &cut, &cst) != 4)
		return 0;
	if ((tasks = tasks_cpu_ms(pid)) < 0)
		tasks = (double)(ut + st) * 1000.0 / (double)hz;
	return tasks + (double)((unsigned long long)cut + (unsigned long long)cst) * 1000.0 /
	    (double)hz;
}

static uint64_t
status_kb(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p != NULL ? strtoull(p + strlen(key), NULL, 10) : 0;
}

void
bn_procs_snap(const struct bn_group *g, int ng, int pss, struct bn_proc_snap *out)
{
	static struct pinfo all[MAXP];
	int tree[256], nall, i, j, n;
	char path[64], buf[4096];

	memset(out, 0, sizeof(*out));
	nall = list_procs(all, MAXP);
	for (i = 0; i < ng && i < BN_MAX_GROUPS; i++) {
		n = tree_of(g[i].pid, all, nall, tree, 256);
		out->nprocs[i] = n;
		for (j = 0; j < n; j++) {
			out->cpu_ms[i] += proc_cpu_ms(tree[j]);
			snprintf(path, sizeof(path), "/proc/%d/status", tree[j]);
			if (read_file(path, buf, sizeof(buf)) > 0) {
				out->rss_kb[i] += status_kb(buf, "VmRSS:");
				out->hwm_kb[i] += status_kb(buf, "VmHWM:");
			}
			if (pss) {
				snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", tree[j]);
				if (read_file(path, buf, sizeof(buf)) > 0)
					out->pss_kb[i] += status_kb(buf, "\nPss:");
			}
		}
	}
}

/*
 * The RSS sampler: a thread that sums the resident pages (statm) of the
 * non-aux groups' processes; the process trees are listed again every
 * tenth sample. Its own CPU time is kept apart from the client's.
 */
static pthread_t sthr;
static atomic_int srun;
static uint64_t speak;
static double scpu_ms;
static const struct bn_group *sg;
static int sng, sint_ms;

static void *
sampler(void *arg)
{
	static struct pinfo all[MAXP];
	int pids[1024], npids = 0, i, j, n, round = 0, tree[256];
	long pagekb = sysconf(_SC_PAGESIZE) / 1024;
	struct timespec ts;
	char path[64], buf[256];
	uint64_t sum;

	(void)arg;
	while (atomic_load(&srun)) {
		if (round++ % 10 == 0) {
			int nall = list_procs(all, MAXP);

			npids = 0;
			for (i = 0; i < sng; i++) {
				if (sg[i].aux)
					continue;
				n = tree_of(sg[i].pid, all, nall, tree, 256);
				for (j = 0; j < n && npids < 1024; j++)
					pids[npids++] = tree[j];
			}
		}
		for (sum = 0, i = 0; i < npids; i++) {
			unsigned long long size, res;

			snprintf(path, sizeof(path), "/proc/%d/statm", pids[i]);
			if (read_file(path, buf, sizeof(buf)) > 0 &&
			    sscanf(buf, "%llu %llu", &size, &res) == 2)
				sum += res * (uint64_t)pagekb;
		}
		if (sum > speak)
			speak = sum;
		ts.tv_sec = sint_ms / 1000;
		ts.tv_nsec = (long)(sint_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	scpu_ms = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
	return NULL;
}

void
bn_procs_sample_start(const struct bn_group *g, int ng, int interval_ms)
{
	sg = g;
	sng = ng;
	sint_ms = interval_ms;
	speak = 0;
	scpu_ms = 0;
	if (ng == 0)
		return;
	atomic_store(&srun, 1);
	if (pthread_create(&sthr, NULL, sampler, NULL) != 0)
		bn_die("pthread_create failed");
}

uint64_t
bn_procs_sample_stop(double *cpu_ms)
{
	*cpu_ms = 0;
	if (sng == 0)
		return 0;
	atomic_store(&srun, 0);
	pthread_join(sthr, NULL);
	*cpu_ms = scpu_ms;
	return speak;
}

double
bn_self_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec * 1000.0 + (double)ru.ru_utime.tv_usec / 1000.0 +
	    (double)ru.ru_stime.tv_sec * 1000.0 + (double)ru.ru_stime.tv_usec / 1000.0;
}

double
bn_machine_busy_ms(void)
{
	char buf[512];
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);

	if (read_file("/proc/stat", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	    &v[4], &v[5], &v[6], &v[7]) < 4)
		return 0;
	/* user nice system idle iowait irq softirq steal: all but idle and iowait */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1000.0 / (double)hz;
}
