/* Small helpers: fatal errors, allocation that cannot fail, buffers, base64url. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"

void
bn_die(const char *fmt, ...)
{
	va_list ap;

	fputs("acme-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void *
bn_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		bn_die("out of memory (%zu bytes)", n);
	return p;
}

void *
bn_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		bn_die("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
bn_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		bn_die("out of memory (%zu bytes)", n);
	return q;
}

char *
bn_strdup(const char *s)
{
	return bn_strndup(s, strlen(s));
}

char *
bn_strndup(const char *s, size_t n)
{
	char *p = bn_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

uint64_t
bn_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
bn_buf_reserve(struct bn_buf *b, size_t more)
{
	size_t want = b->len + more + 1;

	if (want <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 256;
	while (b->cap < want)
		b->cap *= 2;
	b->p = bn_realloc(b->p, b->cap);
}

void
bn_buf_add(struct bn_buf *b, const void *p, size_t n)
{
	bn_buf_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
bn_buf_adds(struct bn_buf *b, const char *s)
{
	bn_buf_add(b, s, strlen(s));
}

void
bn_buf_printf(struct bn_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	bn_buf_reserve(b, 128);
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		bn_die("vsnprintf failed");
	if ((size_t)n >= b->cap - b->len) {
		bn_buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
bn_buf_reset(struct bn_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
bn_buf_free(struct bn_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
bn_b64u(struct bn_buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *o;
	size_t i;

	bn_buf_reserve(b, (n + 2) / 3 * 4);
	o = b->p + b->len;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
	}
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
}
