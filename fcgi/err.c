#include <time.h>

#include "fcgi/fcgi.h"

static const char *const fcgi_err_text[FCGI_ERR__MAX] = {
	[FCGI_OK] = "success",
	[FCGI_ENOMEM] = "out of memory",
	[FCGI_ESYS] = "system call failed",
	[FCGI_EINVAL] = "invalid argument",
	[FCGI_ECONFIG] = "configuration refused",
	[FCGI_EPEER] = "web server connection failed",
	[FCGI_ECORE] = "the core could not start",
};

const char *
fcgi_strerror(enum fcgi_err e)
{
	if ((unsigned)e >= FCGI_ERR__MAX || fcgi_err_text[e] == NULL)
		return "unknown error";
	return fcgi_err_text[e];
}

int64_t
fcgi_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
