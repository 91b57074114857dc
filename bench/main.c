/*
 * acme-bench: options, the runs, and the JSON report.
 *
 *   acme-bench -d DIRECTORY_URL -C CAFILE [-p HTTP01_PORT] -r RUNS [options]
 *
 * RUNS is a comma-separated list of MODE:CONC[:LIMIT] where MODE is flows,
 * nonce or directory, CONC the concurrency and LIMIT either a count (500)
 * or a duration (10s); without it, -n or -s apply. Accounts are created
 * once, before the first run. See bench/README.md.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "bench/bench.h"

#define MAX_RUNS 32

static int cfg_stall_s;

struct run {
	enum bn_phase mode;
	int conc;
	uint64_t count;
	double seconds;
};

static const char *const mode_name[] = {
	[PH_ACCOUNTS] = "accounts",
	[PH_FLOWS] = "flows",
	[PH_NONCE] = "nonce",
	[PH_NONCE_GET] = "nonceget",
	[PH_DIRECTORY] = "directory",
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: acme-bench -d DIRECTORY_URL -C CAFILE -r RUNS [options]\n"
	    "  -r RUNS         MODE:CONC[:COUNT|:SECONDSs],... with MODE flows, nonce (HEAD),\n"
	    "                  nonceget (GET newNonce), directory\n"
	    "  -n COUNT        units per run when RUNS gives no limit (default: use -s)\n"
	    "  -s SECONDS      run length when RUNS gives no limit (default 10)\n"
	    "  -p PORT         http-01 responder port (flows need it)\n"
	    "  -a N            accounts (default: the largest flows concurrency)\n"
	    "  -k N            certificate keys generated up front (default 512)\n"
	    "  -w N            warm-up flows before each flows run (default: its concurrency)\n"
	    "  -t N            client threads (default 1)\n"
	    "  -P MODE         polling: honour (wait Retry-After when given, default) or backoff\n"
	    "  -m MS           first poll delay of the client's backoff (default 2), doubled up to\n"
	    "  -M MS           (default 1000)\n"
	    "  -T SECONDS      per-request and per-flow timeout (default 60)\n"
	    "  -S SECONDS      end a run when nothing was answered for this long while requests\n"
	    "                  are out (a deadlocked server; default 0: never)\n"
	    "  -g NAME=PID     a server process tree to measure (repeatable)\n"
	    "  -x NAME=PID     a process tree measured apart, e.g. the DNS server (repeatable)\n"
	    "  -N DOMAIN       flows ask for names under DOMAIN (default bench.example.com)\n"
	    "  -l LABEL        label in the report\n"
	    "  -o FILE         write the JSON report to FILE (default stdout)\n");
	exit(2);
}

static int
parse_runs(const char *spec, struct run *runs, uint64_t dcount, double dsecs)
{
	char *copy = bn_strdup(spec), *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *m = tok, *c = strchr(tok, ':'), *l = NULL;
		struct run *r = &runs[n];

		if (n == MAX_RUNS || c == NULL)
			bn_die("bad run '%s' (MODE:CONC[:LIMIT])", tok);
		*c++ = '\0';
		if ((l = strchr(c, ':')) != NULL)
			*l++ = '\0';
		if (strcmp(m, "flows") == 0)
			r->mode = PH_FLOWS;
		else if (strcmp(m, "nonce") == 0)
			r->mode = PH_NONCE;
		else if (strcmp(m, "nonceget") == 0)
			r->mode = PH_NONCE_GET;
		else if (strcmp(m, "directory") == 0)
			r->mode = PH_DIRECTORY;
		else
			bn_die("unknown mode '%s'", m);
		r->conc = atoi(c);
		if (r->conc < 1 || r->conc > 4096)
			bn_die("bad concurrency '%s'", c);
		r->count = dcount;
		r->seconds = dcount ? 0 : dsecs;
		if (l != NULL && *l != '\0') {
			size_t ll = strlen(l);

			if (l[ll - 1] == 's') {
				r->count = 0;
				r->seconds = atof(l);
			} else {
				r->count = strtoull(l, NULL, 10);
				r->seconds = 0;
			}
			if (r->count == 0 && r->seconds <= 0)
				bn_die("bad limit '%s'", l);
		}
		n++;
	}
	free(copy);
	return n;
}

static void
parse_group(const char *arg, int aux, struct bn_group *g, int *ng)
{
	const char *eq = strchr(arg, '=');

	if (*ng == BN_MAX_GROUPS || eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(g->name))
		bn_die("bad process group '%s' (NAME=PID)", arg);
	memset(&g[*ng], 0, sizeof(g[*ng]));
	memcpy(g[*ng].name, arg, (size_t)(eq - arg));
	g[*ng].pid = atoi(eq + 1);
	g[*ng].aux = aux;
	if (g[*ng].pid <= 0)
		bn_die("bad pid in '%s'", arg);
	(*ng)++;
}

static double
r3(double v)
{
	return (double)(long long)(v * 1000.0 + (v >= 0 ? 0.5 : -0.5)) / 1000.0;
}

static void
add_d(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(r3(v)));
}

static void
add_i(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* Quantiles of l in milliseconds. */
static struct json_object *
lat_json(struct bn_lat *l)
{
	struct json_object *o = json_object_new_object();

	add_i(o, "n", (int64_t)l->n);
	add_d(o, "mean_ms", bn_lat_mean(l) / 1000.0);
	add_d(o, "p50_ms", bn_lat_q(l, 0.50) / 1000.0);
	add_d(o, "p90_ms", bn_lat_q(l, 0.90) / 1000.0);
	add_d(o, "p99_ms", bn_lat_q(l, 0.99) / 1000.0);
	add_d(o, "max_ms", bn_lat_q(l, 1.0) / 1000.0);
	return o;
}

static uint64_t
sum_main(const uint64_t *v, const struct bn_group *g, int ng)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < ng; i++)
		if (!g[i].aux)
			s += v[i];
	return s;
}

/* A snapshot as JSON: per group and the non-aux sum. */
static struct json_object *
snap_json(const struct bn_proc_snap *s, const struct bn_group *g, int ng)
{
	struct json_object *o = json_object_new_object(), *gs = json_object_new_object();
	int i;

	for (i = 0; i < ng; i++) {
		struct json_object *x = json_object_new_object();

		add_i(x, "procs", s->nprocs[i]);
		add_i(x, "rss_kb", (int64_t)s->rss_kb[i]);
		add_i(x, "pss_kb", (int64_t)s->pss_kb[i]);
		add_i(x, "hwm_kb", (int64_t)s->hwm_kb[i]);
		add_d(x, "cpu_ms_total", s->cpu_ms[i]);
		json_object_object_add(gs, g[i].name, x);
	}
	add_i(o, "rss_kb", (int64_t)sum_main(s->rss_kb, g, ng));
	add_i(o, "pss_kb", (int64_t)sum_main(s->pss_kb, g, ng));
	add_i(o, "hwm_kb", (int64_t)sum_main(s->hwm_kb, g, ng));
	json_object_object_add(o, "groups", gs);
	return o;
}

static struct json_object *
do_run(const struct run *r, const struct bn_group *g, int ng, int warm)
{
	struct bn_stats st, wst;
	struct bn_proc_snap a, b;
	struct json_object *o = json_object_new_object(), *req, *errs, *srv, *aux, *cli, *grp;
	double wall = 0, c0, c1, ops, srv_ms = 0, aux_ms = 0, samp_ms, m0, m1, el_ms;
	uint64_t e0;
	uint64_t peak, h0, miss0, h1, miss1, nreq = 0;
	size_t i;
	int k;

	memset(&st, 0, sizeof(st));
	if (r->mode == PH_FLOWS && warm > 0) {
		memset(&wst, 0, sizeof(wst));
		bn_run_phase(PH_FLOWS, (uint64_t)warm, 0, r->conc, &wst, NULL);
		bn_stats_free(&wst);
	}
	bn_procs_snap(g, ng, 1, &a);
	bn_resp_counts(&h0, &miss0);
	bn_procs_sample_start(g, ng, 100);
	c0 = bn_self_cpu_ms();
	m0 = bn_machine_busy_ms();
	e0 = bn_now_us();
	bn_run_phase(r->mode, r->count, r->seconds, r->conc, &st, &wall);
	/* Utilisation over the whole phase (wall stops at a stall). */
	el_ms = (double)(bn_now_us() - e0) / 1000.0;
	if (el_ms < 1)
		el_ms = 1;
	peak = bn_procs_sample_stop(&samp_ms);
	m1 = bn_machine_busy_ms();
	c1 = bn_self_cpu_ms() - samp_ms;
	bn_resp_counts(&h1, &miss1);
	bn_procs_snap(g, ng, 1, &b);

	ops = st.ok > 0 ? (double)st.ok : 1;
	json_object_object_add(o, "mode", json_object_new_string(mode_name[r->mode]));
	add_i(o, "concurrency", r->conc);
	add_i(o, "ok", (int64_t)st.ok);
	add_i(o, "failed", (int64_t)st.failed);
	add_d(o, "wall_s", wall);
	json_object_object_add(o, "stalled", json_object_new_boolean(st.stalled));
	add_d(o, "rate", (double)st.ok / (wall > 0 ? wall : 1));
	if (r->mode == PH_FLOWS)
		json_object_object_add(o, "flow", lat_json(&st.flow));
	req = json_object_new_object();
	for (i = 0; i < RQ__N; i++) {
		nreq += st.req[i].n;
		if (st.req[i].n > 0)
			json_object_object_add(req, bn_req_name[i], lat_json(&st.req[i]));
	}
	json_object_object_add(o, "requests", req);
	add_i(o, "requests_total", (int64_t)nreq);
	add_d(o, "requests_per_op", (double)nreq / ops);
	if (r->mode == PH_FLOWS) {
		add_i(o, "polls_authz", (int64_t)st.polls_authz);
		add_i(o, "polls_order", (int64_t)st.polls_order);
		add_i(o, "retry_after_waits", (int64_t)st.retry_after_n);
		add_d(o, "retry_after_s", (double)st.retry_after_ms / 1000.0);
		add_i(o, "responder_hits", (int64_t)(h1 - h0));
		add_i(o, "responder_misses", (int64_t)(miss1 - miss0));
	}
	add_i(o, "connections", (int64_t)st.connections);
	errs = json_object_new_object();
	for (i = 0; i < st.errs.n; i++)
		add_i(errs, st.errs.e[i].name, (int64_t)st.errs.e[i].count);
	json_object_object_add(o, "errors", errs);

	srv = json_object_new_object();
	aux = json_object_new_object();
	grp = json_object_new_object();
	for (k = 0; k < ng; k++) {
		struct json_object *x = json_object_new_object();
		double d = b.cpu_ms[k] - a.cpu_ms[k];

		add_d(x, "cpu_ms", d);
		add_d(x, "cpu_ms_per_op", d / ops);
		add_i(x, "procs", b.nprocs[k]);
		add_i(x, "rss_kb_end", (int64_t)b.rss_kb[k]);
		add_i(x, "pss_kb_end", (int64_t)b.pss_kb[k]);
		add_i(x, "hwm_kb_end", (int64_t)b.hwm_kb[k]);
		if (g[k].aux) {
			aux_ms += d;
			json_object_object_add(aux, g[k].name, x);
		} else {
			srv_ms += d;
			json_object_object_add(grp, g[k].name, x);
		}
	}
	add_d(srv, "cpu_ms", srv_ms);
	add_d(srv, "cpu_ms_per_op", srv_ms / ops);
	add_d(srv, "cpu_util", srv_ms / el_ms);
	add_i(srv, "rss_kb_before", (int64_t)sum_main(a.rss_kb, g, ng));
	add_i(srv, "rss_kb_peak", (int64_t)(peak > sum_main(b.rss_kb, g, ng) ? peak :
	    sum_main(b.rss_kb, g, ng)));
	add_i(srv, "rss_kb_end", (int64_t)sum_main(b.rss_kb, g, ng));
	add_i(srv, "pss_kb_before", (int64_t)sum_main(a.pss_kb, g, ng));
	add_i(srv, "pss_kb_end", (int64_t)sum_main(b.pss_kb, g, ng));
	add_i(srv, "hwm_kb_end", (int64_t)sum_main(b.hwm_kb, g, ng));
	json_object_object_add(srv, "groups", grp);
	json_object_object_add(o, "server", srv);
	json_object_object_add(o, "aux", aux);
	cli = json_object_new_object();
	add_d(cli, "cpu_ms", c1 - c0);
	add_d(cli, "cpu_ms_per_op", (c1 - c0) / ops);
	add_d(cli, "cpu_util", (c1 - c0) / el_ms);
	json_object_object_add(o, "client", cli);
	/* Everything else the machine did meanwhile (other jobs disturb the
	 * figures; the sampler is counted here too). */
	cli = json_object_new_object();
	add_d(cli, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
	add_d(cli, "busy_ms", m1 - m0);
	add_d(cli, "other_ms", (m1 - m0) - srv_ms - aux_ms - (c1 - c0));
	add_d(cli, "other_util", ((m1 - m0) - srv_ms - aux_ms - (c1 - c0)) /
	    el_ms);
	json_object_object_add(o, "machine", cli);

	fprintf(stderr, "acme-bench: %s c=%d: %llu ok, %llu failed in %.2f s = %.1f/s",
	    mode_name[r->mode], r->conc, (unsigned long long)st.ok, (unsigned long long)st.failed,
	    wall, (double)st.ok / (wall > 0 ? wall : 1));
	if (st.stalled)
		fprintf(stderr, " (STALLED: no answer for %d s; rate over the time before)",
		    cfg_stall_s);
	if (r->mode == PH_FLOWS)
		fprintf(stderr, ", flow p50 %.1f ms", bn_lat_q(&st.flow, 0.5) / 1000.0);
	if (ng > 0)
		fprintf(stderr, ", server %.3f ms CPU/op", srv_ms / ops);
	fprintf(stderr, ", client %.3f ms CPU/op", (c1 - c0) / ops);
	if (el_ms >= 1000)   /* /proc/stat counts in 10 ms ticks: meaningless sooner */
		fprintf(stderr, ", other load %.2f CPUs", ((m1 - m0) - srv_ms - aux_ms - (c1 - c0)) /
		    el_ms);
	fputc('\n', stderr);
	for (i = 0; i < st.errs.n; i++)
		fprintf(stderr, "acme-bench:   error %s: %llu\n", st.errs.e[i].name,
		    (unsigned long long)st.errs.e[i].count);
	bn_stats_free(&st);
	return o;
}

int
main(int argc, char **argv)
{
	struct bn_cfg cfg;
	struct run runs[MAX_RUNS];
	struct bn_group groups[BN_MAX_GROUPS];
	struct bn_account *accts = NULL;
	struct bn_key *certkeys = NULL;
	struct bn_proc_snap idle;
	struct bn_stats ast;
	struct json_object *top, *arr, *acj;
	const char *runspec = NULL, *label = "", *outfile = NULL;
	uint64_t dcount = 0;
	double dsecs = 10, awall = 0;
	int nruns, ng = 0, port = 0, naccts = 0, ncert = 512, warm = -1, ch, i, maxc = 0, flows = 0;
	unsigned char rnd[4];
	FILE *out;

	memset(&cfg, 0, sizeof(cfg));
	cfg.threads = 1;
	cfg.poll_honour = 1;
	cfg.poll_min_ms = 2;
	cfg.poll_max_ms = 1000;
	cfg.timeout_s = 60;
	snprintf(cfg.name_domain, sizeof(cfg.name_domain), "bench.example.com");
	while ((ch = getopt(argc, argv, "d:C:r:n:s:p:a:k:w:t:P:m:M:T:S:g:x:N:l:o:h")) != -1) {
		switch (ch) {
		case 'd': cfg.dir_url = optarg; break;
		case 'C': cfg.cafile = optarg; break;
		case 'r': runspec = optarg; break;
		case 'n': dcount = strtoull(optarg, NULL, 10); break;
		case 's': dsecs = atof(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'a': naccts = atoi(optarg); break;
		case 'k': ncert = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 't': cfg.threads = atoi(optarg); break;
		case 'P':
			if (strcmp(optarg, "honour") == 0 || strcmp(optarg, "honor") == 0)
				cfg.poll_honour = 1;
			else if (strcmp(optarg, "backoff") == 0)
				cfg.poll_honour = 0;
			else
				usage();
			break;
		case 'm': cfg.poll_min_ms = atoi(optarg); break;
		case 'M': cfg.poll_max_ms = atoi(optarg); break;
		case 'T': cfg.timeout_s = atoi(optarg); break;
		case 'S': cfg.stall_s = atoi(optarg); break;
		case 'g': parse_group(optarg, 0, groups, &ng); break;
		case 'x': parse_group(optarg, 1, groups, &ng); break;
		case 'N': snprintf(cfg.name_domain, sizeof(cfg.name_domain), "%s", optarg); break;
		case 'l': label = optarg; break;
		case 'o': outfile = optarg; break;
		default: usage();
		}
	}
	if (cfg.dir_url == NULL || cfg.cafile == NULL || runspec == NULL || optind != argc)
		usage();
	if (cfg.threads < 1 || cfg.poll_min_ms < 0 || cfg.poll_max_ms < cfg.poll_min_ms ||
	    cfg.timeout_s < 1 || ncert < 1)
		usage();
	cfg_stall_s = cfg.stall_s;
	nruns = parse_runs(runspec, runs, dcount, dsecs);
	for (i = 0; i < nruns; i++)
		if (runs[i].mode == PH_FLOWS) {
			flows = 1;
			if (runs[i].conc > maxc)
				maxc = runs[i].conc;
		}
	if (flows && port <= 0)
		bn_die("flows need the http-01 responder port (-p)");
	signal(SIGPIPE, SIG_IGN);

	/* Names nobody asked for before: a random prefix per invocation. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		bn_die("RAND_bytes failed");
	snprintf(cfg.name_prefix, sizeof(cfg.name_prefix), "b%02x%02x%02x%02x-", rnd[0], rnd[1],
	    rnd[2], rnd[3]);

	top = json_object_new_object();
	json_object_object_add(top, "label", json_object_new_string(label));
	json_object_object_add(top, "directory", json_object_new_string(cfg.dir_url));
	json_object_object_add(top, "poll", json_object_new_string(cfg.poll_honour ? "honour" :
	    "backoff"));
	add_i(top, "threads", cfg.threads);
	add_i(top, "unix_time", (int64_t)time(NULL));
	bn_procs_snap(groups, ng, 1, &idle);
	json_object_object_add(top, "idle", snap_json(&idle, groups, ng));

	bn_setup(&cfg);
	if (port > 0)
		bn_resp_start(port);
	if (flows) {
		if (naccts <= 0)
			naccts = maxc;
		accts = bn_calloc((size_t)naccts, sizeof(*accts));
		for (i = 0; i < naccts; i++)
			bn_key_gen(&accts[i].key);
		certkeys = bn_calloc((size_t)ncert, sizeof(*certkeys));
		for (i = 0; i < ncert; i++)
			bn_key_gen(&certkeys[i]);
		bn_set_keys(accts, (size_t)naccts, certkeys, (size_t)ncert);
		memset(&ast, 0, sizeof(ast));
		bn_run_phase(PH_ACCOUNTS, (uint64_t)naccts, 0, naccts < 32 ? naccts : 32, &ast, &awall);
		if (ast.ok != (uint64_t)naccts)
			bn_die("could create only %llu of %d accounts (%s)", (unsigned long long)ast.ok,
			    naccts, ast.errs.n ? ast.errs.e[0].name : "?");
		acj = json_object_new_object();
		add_i(acj, "n", naccts);
		add_d(acj, "wall_s", awall);
		json_object_object_add(acj, "newAccount", lat_json(&ast.req[RQ_NEWACCOUNT]));
		json_object_object_add(top, "accounts", acj);
		bn_stats_free(&ast);
	}

	arr = json_object_new_array();
	for (i = 0; i < nruns; i++)
		json_object_array_add(arr, do_run(&runs[i], groups, ng,
		    warm >= 0 ? warm : runs[i].conc));
	json_object_object_add(top, "runs", arr);

	if (outfile != NULL) {
		if ((out = fopen(outfile, "w")) == NULL)
			bn_die("cannot write %s", outfile);
	} else {
		out = stdout;
	}
	fprintf(out, "%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	if (out != stdout && fclose(out) != 0)
		bn_die("cannot write %s", outfile);
	json_object_put(top);
	bn_resp_stop();
	for (i = 0; i < naccts; i++) {
		bn_key_free(&accts[i].key);
		free(accts[i].kid);
	}
	free(accts);
	for (i = 0; certkeys != NULL && i < ncert; i++)
		bn_key_free(&certkeys[i]);
	free(certkeys);
	return 0;
}
