/*
 * The FastCGI front (fcgi/request.c, fcgi_request_serve): what it makes of
 * the web server's parameters (FCGI_ROLE, REQUEST_METHOD, REQUEST_URI,
 * CONTENT_LENGTH, CONTENT_TYPE, ...) and of the body on stdin (a
 * Content-Length longer or shorter than what arrives, a body over
 * max_body, the web server going away mid-body or mid-reply), and the
 * CGI-style reply it writes. libfcgi's streams are replaced by memory
 * streams (their struct is public), so no socket is involved; the core
 * behind it is the real one (tests/fuzz/fuzzstate.c), its store put back
 * before each input that follows one that wrote to it.
 *
 * The reply must be well formed whatever came in: a "Status: NNN reason"
 * line, header lines without control characters, the blank line, then
 * (unless HEAD or a bodiless status) a body of exactly Content-Length
 * bytes; the outcome's status is the one sent.
 *
 * Input: flags (bit 0 stdin ends with an error, bit 1 the reply's
 * connection fails after 16 * the next byte bytes, bits 2-7 the size of
 * the stdin records), that byte, then parameters "NAME=value" one per line
 * up to an empty line, then stdin.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "core/acme.h"
#include "core/config.h"
#include "fcgi/request.h"
#include "tests/fuzz/fuzzlib.h"

#define MAXPARAMS 32

static struct fz_state *st;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	st = fz_state_open(NULL);
	fz_state_snapshot();
	return 0;
}

/* stdin: records of chunk bytes, then the end (or an error). */
struct memin {
	const unsigned char *p;
	size_t n, chunk;
	int fail;
};

static void
in_fill(FCGX_Stream *s)
{
	struct memin *m = s->data;
	size_t k;

	if (m->n == 0) {
		if (m->fail)
			s->FCGI_errno = FCGX_PROTOCOL_ERROR;
		s->isClosed = 1;
		return;
	}
	k = m->n < m->chunk ? m->n : m->chunk;
	s->rdNext = s->stopUnget = (unsigned char *)(uintptr_t)m->p;
	s->stop = s->wrNext = s->rdNext + k;
	m->p += k;
	m->n -= k;
}

/* stdout: a small buffer emptied into acc, failing past limit. */
struct memout {
	unsigned char buf[64];
	char *acc;
	size_t len, cap, limit;
};

static void
out_empty(FCGX_Stream *s, int doClose)
{
	struct memout *m = s->data;
	size_t k = (size_t)(s->wrNext - m->buf);

	(void)doClose;
	if (m->len + k > m->limit) {
		s->isClosed = 1;
		s->FCGI_errno = EPIPE;       /* as libfcgi reports a failed write */
		return;
	}
	if (m->len + k + 1 > m->cap) {
		m->cap = (m->len + k + 1) * 2;
		m->acc = realloc(m->acc, m->cap);
		FZ_CHECK(m->acc != NULL);
	}
	memcpy(m->acc + m->len, m->buf, k);
	m->len += k;
	m->acc[m->len] = '\0';
	s->wrNext = m->buf;
	s->stop = m->buf + sizeof(m->buf);
}

static const char *
env(char **envp, const char *name)
{
	return FCGX_GetParam(name, envp);
}

/* The reply as the web server would parse it. */
static void
check_reply(const struct memout *m, char **envp, const struct fcgi_outcome *res)
{
	const char *p = m->acc, *eol, *end = m->acc + m->len, *colon, *method;
	long clen = -1;
	int status, first = 1, head;

	method = env(envp, "REQUEST_METHOD");
	head = method != NULL && strcmp(method, "HEAD") == 0;
	for (;;) {
		eol = p < end ? strstr(p, "\r\n") : NULL;
		FZ_CHECK(eol != NULL);
		if (eol == p)
			break;                  /* the blank line */
		for (const char *c = p; c < eol; c++)
			FZ_CHECK((unsigned char)*c >= 0x20 || *c == '\t');
		if (first) {
			FZ_CHECK(sscanf(p, "Status: %d", &status) == 1);
			FZ_CHECK(status >= 100 && status <= 599 && status == res->status);
			first = 0;
		} else {
			colon = memchr(p, ':', (size_t)(eol - p));
			FZ_CHECK(colon != NULL && colon > p && colon[1] == ' ');
			for (const char *c = p; c < colon; c++)
				FZ_CHECK(isgraph((unsigned char)*c));
			if (strncmp(p, "Content-Length: ", 16) == 0) {
				FZ_CHECK(clen == -1);
				clen = strtol(p + 16, NULL, 10);
			}
		}
		p = eol + 2;
	}
	FZ_CHECK(!first);
	p += 2;
	if (head || status < 200 || status == 204 || status == 304)
		FZ_CHECK(p == end);
	else
		FZ_CHECK(clen >= 0 && clen == end - p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t flags = fz_byte(&in), limit = fz_byte(&in);
	char *params[MAXPARAMS + 1], *line, *clv;
	FCGX_Stream sin, sout;
	FCGX_Request r;
	struct memin mi;
	struct memout mo;
	struct fcgi_outcome res;
	unsigned char *body_buf;
	size_t np = 0, len, i, max_body = st->cfg->max_body;
	uint64_t clen = 0, ref;
	enum fcgi_err rc;
	int present = 0;

	(void)fz_state_restore();
	for (;;) {
		line = fz_field(&in, '\n', &len);
		if (len == 0 || np == MAXPARAMS) {
			free(line);
			break;
		}
		params[np++] = line;
	}
	params[np] = NULL;

	/* CONTENT_LENGTH alone: 1 to 19 digits, nothing else. */
	if ((clv = (char *)env(params, "CONTENT_LENGTH")) != NULL) {
		rc = fcgi_parse_length(clv, &present, &clen);
		len = strlen(clv);
		if (len == 0)
			FZ_CHECK(rc == FCGI_OK && !present);
		else if (len <= 19 && strspn(clv, "0123456789") == len) {
			ref = strtoull(clv, NULL, 10);
			FZ_CHECK(rc == FCGI_OK && present && clen == ref);
		} else
			FZ_CHECK(rc == FCGI_EINVAL);
	}

	memset(&mi, 0, sizeof(mi));
	mi.p = in.p;
	mi.n = in.n;
	mi.chunk = (size_t)(flags >> 2) * 37 + 1;
	mi.fail = flags & 1;
	memset(&sin, 0, sizeof(sin));
	sin.isReader = 1;
	sin.fillBuffProc = in_fill;
	sin.data = &mi;

	memset(&mo, 0, sizeof(mo));
	mo.limit = (flags & 2) ? (size_t)limit * 16 : (size_t)-1;
	memset(&sout, 0, sizeof(sout));
	sout.wrNext = mo.buf;
	sout.stop = mo.buf + sizeof(mo.buf);
	sout.emptyBuffProc = out_empty;
	sout.data = &mo;

	memset(&r, 0, sizeof(r));
	r.in = &sin;
	r.out = &sout;
	r.envp = params;
	r.ipcFd = -1;

	body_buf = malloc(max_body + 1);
	FZ_CHECK(body_buf != NULL);
	rc = fcgi_request_serve(st->ctx, &r, body_buf, max_body, &res);
	FZ_CHECK(rc == FCGI_OK || rc == FCGI_EPEER);
	FZ_CHECK(!res.fatal);
	if (!sout.isClosed)
		out_empty(&sout, 1);            /* what FCGX_Finish_r would flush */
	if (rc == FCGI_OK && !sout.isClosed) {
		FZ_CHECK(mo.acc != NULL);
		check_reply(&mo, params, &res);
		FZ_CHECK(res.status != 500 || env(params, "FCGI_ROLE") == NULL ||
		    strcmp(env(params, "FCGI_ROLE"), "RESPONDER") != 0 ||
		    env(params, "REQUEST_URI") == NULL || env(params, "REQUEST_METHOD") == NULL ||
		    strstr(mo.acc, "web server misconfigured") != NULL);
	}
	if (rc == FCGI_EPEER)
		FZ_CHECK(res.close);
	free(body_buf);
	free(mo.acc);
	for (i = 0; i < np; i++)
		free(params[i]);
	return 0;
}
