#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "validators/loop.h"

/* Watches are indexed by descriptor: small integers, and at most a few
 * hundred of them in use. gen tells a watch from an earlier one on the
 * same (closed and reused) descriptor. */
struct val_watch {
	val_io_fn fn;
	void *arg;
	short events;
	uint32_t gen;
};

struct val_loop {
	struct val_watch *w;           /* indexed by fd; fn == NULL: free */
	size_t cap;
	uint32_t gen;
	struct pollfd *pfd;            /* scratch for one turn */
	uint32_t *pgen;
	size_t pcap;
	struct val_timer *timers;      /* unsorted: few enough to scan */
};

int64_t
val_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum acme_err
val_loop_new(struct val_loop **out)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL) {
		log_err("loop: %s", strerror(errno));
		return ACME_ENOMEM;
	}
	return ACME_OK;
}

void
val_loop_free(struct val_loop *l)
{
	struct val_timer *t, *next;

	if (l == NULL)
		return;
	for (t = l->timers; t != NULL; t = next) {
		next = t->next;
		t->at = 0;
		t->prev = t->next = NULL;
	}
	free(l->w);
	free(l->pfd);
	free(l->pgen);
	free(l);
}

enum acme_err
val_loop_watch(struct val_loop *l, int fd, short events, val_io_fn fn, void *arg)
{
	struct val_watch *w;
	size_t cap;

	if (fd < 0 || fn == NULL)
		return ACME_EINVAL;
	if ((size_t)fd >= l->cap) {
		cap = l->cap ? l->cap : 64;
		while (cap <= (size_t)fd)
			cap *= 2;
		if ((w = realloc(l->w, cap * sizeof(*w))) == NULL) {
			log_err("loop: %s", strerror(errno));
			return ACME_ENOMEM;
		}
		memset(w + l->cap, 0, (cap - l->cap) * sizeof(*w));
		l->w = w;
		l->cap = cap;
	}
	w = &l->w[fd];
	if (w->fn == NULL)
		w->gen = ++l->gen;
	w->fn = fn;
	w->arg = arg;
	w->events = events;
	return ACME_OK;
}

void
val_loop_unwatch(struct val_loop *l, int fd)
{
	if (fd >= 0 && (size_t)fd < l->cap)
		memset(&l->w[fd], 0, sizeof(l->w[fd]));
}

void
val_timer_disarm(struct val_loop *l, struct val_timer *t)
{
	if (t->at == 0)
		return;
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		l->timers = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	t->at = 0;
	t->prev = t->next = NULL;
}

void
val_timer_arm(struct val_loop *l, struct val_timer *t, int64_t delay_ms, val_timer_fn fn,
    void *arg)
{
	val_timer_disarm(l, t);
	if (delay_ms < 0)
		delay_ms = 0;
	t->at = val_now_ms() + delay_ms;
	if (t->at == 0)
		t->at = 1;
	t->fn = fn;
	t->arg = arg;
	t->prev = NULL;
	t->next = l->timers;
	if (l->timers != NULL)
		l->timers->prev = t;
	l->timers = t;
}

/* Milliseconds until the first timer (0 if one is due), or -1 if none. */
static int64_t
loop_next_timer(const struct val_loop *l, int64_t now)
{
	const struct val_timer *t;
	int64_t best = -1;

	for (t = l->timers; t != NULL; t = t->next)
		if (best < 0 || t->at < best)
			best = t->at;
	if (best < 0)
		return -1;
	return best <= now ? 0 : best - now;
}

static void
loop_run_timers(struct val_loop *l)
{
	struct val_timer *t, *due;
	int64_t now = val_now_ms();

	/* Fire one at a time and rescan: a callback may disarm or arm others. */
	for (;;) {
		due = NULL;
		for (t = l->timers; t != NULL; t = t->next)
			if (t->at <= now && (due == NULL || t->at < due->at))
				due = t;
		if (due == NULL)
			break;
		val_timer_disarm(l, due);
		due->fn(due->arg);
	}
}

static enum acme_err
loop_grow_scratch(struct val_loop *l, size_t n)
{
	struct pollfd *p;
	uint32_t *g;
	size_t cap;

	if (n <= l->pcap)
		return ACME_OK;
	cap = l->pcap ? l->pcap : 64;
	while (cap < n)
		cap *= 2;
	if ((p = realloc(l->pfd, cap * sizeof(*p))) == NULL)
		goto nomem;
	l->pfd = p;
	if ((g = realloc(l->pgen, cap * sizeof(*g))) == NULL)
		goto nomem;
	l->pgen = g;
	l->pcap = cap;
	return ACME_OK;
nomem:
	log_err("loop: %s", strerror(errno));
	return ACME_ENOMEM;
}

enum acme_err
val_loop_once(struct val_loop *l, int max_ms)
{
	enum acme_err rc = ACME_EIO;
	struct val_watch *w;
	size_t i, n = 0;
	int64_t wait, next;
	int r, fd;

	for (i = 0; i < l->cap; i++)
		if (l->w[i].fn != NULL)
			n++;
	if ((rc = loop_grow_scratch(l, n)) != ACME_OK)
		goto out;
	n = 0;
	for (i = 0; i < l->cap; i++) {
		if (l->w[i].fn == NULL)
			continue;
		l->pfd[n].fd = (int)i;
		l->pfd[n].events = l->w[i].events;
		l->pfd[n].revents = 0;
		l->pgen[n] = l->w[i].gen;
		n++;
	}
	wait = max_ms;
	next = loop_next_timer(l, val_now_ms());
	if (next >= 0 && (wait < 0 || next < wait))
		wait = next;
	if (wait > 60000)
		wait = 60000;
	r = poll(l->pfd, n, (int)wait);
	if (r < 0 && errno != EINTR) {
		log_err("loop: poll: %s", strerror(errno));
		rc = ACME_EIO;
		goto out;
	}
	for (i = 0; r > 0 && i < n; i++) {
		if (l->pfd[i].revents == 0)
			continue;
		fd = l->pfd[i].fd;
		w = (size_t)fd < l->cap ? &l->w[fd] : NULL;
		if (w == NULL || w->fn == NULL || w->gen != l->pgen[i])
			continue;
		w->fn(w->arg, fd, l->pfd[i].revents);
	}
	loop_run_timers(l);
	rc = ACME_OK;
out:
	return rc;
}
