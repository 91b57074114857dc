/*
 * libcurl's multi interface driven by the validator's loop: curl tells us
 * which sockets to watch and when to wake it (CURLMOPT_SOCKETFUNCTION,
 * CURLMOPT_TIMERFUNCTION); we call curl_multi_socket_action() and report
 * each finished transfer.
 */
#ifndef VAL_CURLM_H
#define VAL_CURLM_H

#include <curl/curl.h>

#include "core/err.h"
#include "validators/loop.h"

struct val_curlm;

/* One transfer; lives in its owner's struct. */
struct val_xfer {
	CURL *easy;                    /* the owner's; set before val_curlm_add() */
	/* Called from the loop when the transfer ends; easy is already out of
	 * the multi handle, the owner may clean it up or reuse it. */
	void (*done)(struct val_xfer *x, CURLcode rc);
	int active;
};

/* Caller frees with val_curlm_free() (after removing every transfer). */
enum acme_err val_curlm_new(struct val_loop *l, struct val_curlm **out);
void val_curlm_free(struct val_curlm *m);

/* Start x (x->easy configured). Sets CURLOPT_PRIVATE to x. */
enum acme_err val_curlm_add(struct val_curlm *m, struct val_xfer *x);
/* Stop x if active; no callback. */
void val_curlm_remove(struct val_curlm *m, struct val_xfer *x);

#endif
