#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "validators/curlm.h"

struct val_curlm {
	CURLM *multi;
	struct val_loop *loop;
	struct val_timer timer;
};

static void curlm_check(struct val_curlm *m);

static void
curlm_io(void *arg, int fd, short revents)
{
	struct val_curlm *m = arg;
	int flags = 0, running;

	if (revents & (POLLIN | POLLHUP))
		flags |= CURL_CSELECT_IN;
	if (revents & POLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (POLLERR | POLLNVAL))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(m->multi, fd, flags, &running);
	curlm_check(m);
}

static void
curlm_fire(void *arg)
{
	struct val_curlm *m = arg;
	int running;

	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlm_check(m);
}

/* CURLMOPT_SOCKETFUNCTION: what to watch on s. */
static int
curlm_sock(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct val_curlm *m = userp;
	short ev = 0;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		val_loop_unwatch(m->loop, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= POLLIN;
	if (what & CURL_POLL_OUT)
		ev |= POLLOUT;
	return val_loop_watch(m->loop, s, ev, curlm_io, m) == ACME_OK ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: when to call curl_multi_socket_action next. A
 * zero timeout is run from the loop, never from inside curl. */
static int
curlm_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct val_curlm *m = userp;

	(void)multi;
	if (timeout_ms < 0)
		val_timer_disarm(m->loop, &m->timer);
	else
		val_timer_arm(m->loop, &m->timer, timeout_ms, curlm_fire, m);
	return 0;
}

static void
curlm_check(struct val_curlm *m)
{
	struct val_xfer *x;
	CURLMsg *msg;
	CURLcode rc;
	int left;
	char *priv;

	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		rc = msg->data.result;
		x = (struct val_xfer *)(void *)priv;
		curl_multi_remove_handle(m->multi, msg->easy_handle);
		if (x == NULL)
			continue;
		x->active = 0;
		x->done(x, rc);
	}
}

enum acme_err
val_curlm_new(struct val_loop *l, struct val_curlm **out)
{
	enum acme_err rc = ACME_ENOMEM;
	struct val_curlm *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto out;
	m->loop = l;
	if ((m->multi = curl_multi_init()) == NULL) {
		log_err("curl: curl_multi_init failed");
		goto out;
	}
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, curlm_sock);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, curlm_timer);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	*out = m;
	m = NULL;
	rc = ACME_OK;
out:
	val_curlm_free(m);
	return rc;
}

void
val_curlm_free(struct val_curlm *m)
{
	if (m == NULL)
		return;
	val_timer_disarm(m->loop, &m->timer);
	if (m->multi != NULL)
		curl_multi_cleanup(m->multi);
	free(m);
}

enum acme_err
val_curlm_add(struct val_curlm *m, struct val_xfer *x)
{
	CURLMcode mc;

	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
	if ((mc = curl_multi_add_handle(m->multi, x->easy)) != CURLM_OK) {
		log_err("curl: add handle: %s", curl_multi_strerror(mc));
		return mc == CURLM_OUT_OF_MEMORY ? ACME_ENOMEM : ACME_EIO;
	}
	x->active = 1;
	return ACME_OK;
}

void
val_curlm_remove(struct val_curlm *m, struct val_xfer *x)
{
	if (!x->active)
		return;
	curl_multi_remove_handle(m->multi, x->easy);
	x->active = 0;
}
