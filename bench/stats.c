/* Latency samples (every sample kept, sorted for quantiles) and error counts. */
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

void
bn_lat_add(struct bn_lat *l, uint64_t us)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = bn_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

void
bn_lat_merge(struct bn_lat *into, const struct bn_lat *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		bn_lat_add(into, from->v[i]);
}

void
bn_lat_free(struct bn_lat *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank quantile. */
double
bn_lat_q(struct bn_lat *l, double q)
{
	size_t i;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_u32);
	i = (size_t)(q * (double)l->n);
	if (i >= l->n)
		i = l->n - 1;
	return l->v[i];
}

double
bn_lat_mean(const struct bn_lat *l)
{
	double s = 0;
	size_t i;

	for (i = 0; i < l->n; i++)
		s += l->v[i];
	return l->n ? s / (double)l->n : 0;
}

void
bn_errs_add(struct bn_errs *e, const char *name, uint64_t count)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->e[i].name, name) == 0) {
			e->e[i].count += count;
			return;
		}
	e->e = bn_realloc(e->e, (e->n + 1) * sizeof(*e->e));
	e->e[e->n].name = bn_strdup(name);
	e->e[e->n].count = count;
	e->n++;
}

void
bn_errs_free(struct bn_errs *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->e[i].name);
	free(e->e);
	memset(e, 0, sizeof(*e));
}

void
bn_stats_merge(struct bn_stats *into, const struct bn_stats *from)
{
	size_t i;

	for (i = 0; i < RQ__N; i++)
		bn_lat_merge(&into->req[i], &from->req[i]);
	bn_lat_merge(&into->flow, &from->flow);
	into->ok += from->ok;
	into->failed += from->failed;
	into->polls_authz += from->polls_authz;
	into->polls_order += from->polls_order;
	into->retry_after_ms += from->retry_after_ms;
	into->retry_after_n += from->retry_after_n;
	into->connections += from->connections;
	into->stalled |= from->stalled;
	for (i = 0; i < from->errs.n; i++)
		bn_errs_add(&into->errs, from->errs.e[i].name, from->errs.e[i].count);
}

void
bn_stats_free(struct bn_stats *s)
{
	size_t i;

	for (i = 0; i < RQ__N; i++)
		bn_lat_free(&s->req[i]);
	bn_lat_free(&s->flow);
	bn_errs_free(&s->errs);
	memset(s, 0, sizeof(*s));
}
