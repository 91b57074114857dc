/*
 * The validator's event loop: one poll() over every descriptor the daemon
 * waits on (wake-up socket, signal pipe, libunbound, libcurl's sockets, the
 * tls-alpn-01 connections) plus one-shot timers on CLOCK_MONOTONIC.
 *
 * Single-threaded. Callbacks may watch, unwatch, arm and disarm anything,
 * including their own descriptor or timer; a descriptor that is unwatched (or
 * closed and reused by a new watch) during a turn is not reported for events
 * polled before that.
 */
#ifndef VAL_LOOP_H
#define VAL_LOOP_H

#include <poll.h>
#include <stdint.h>

#include "core/err.h"

struct val_loop;

typedef void (*val_io_fn)(void *arg, int fd, short revents);
typedef void (*val_timer_fn)(void *arg);

/* A timer lives inside its owner's struct; zero-initialised means disarmed. */
struct val_timer {
	int64_t at;                    /* monotonic ms when armed, 0 when not */
	val_timer_fn fn;
	void *arg;
	struct val_timer *prev, *next;
};

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t val_now_ms(void);

/* A new loop; the caller frees it with val_loop_free(). */
enum acme_err val_loop_new(struct val_loop **out);
/* Frees the loop. Watches and timers still registered are forgotten, not called. */
void val_loop_free(struct val_loop *l);

/*
 * Watch fd for events (POLLIN, POLLOUT); watching an fd again changes its
 * events and callback. The loop does not own fd: unwatch it before closing it.
 */
enum acme_err val_loop_watch(struct val_loop *l, int fd, short events, val_io_fn fn, void *arg);
void val_loop_unwatch(struct val_loop *l, int fd);

/* Arm t to call fn(arg) once, delay_ms from now (re-arming moves it). */
void val_timer_arm(struct val_loop *l, struct val_timer *t, int64_t delay_ms, val_timer_fn fn,
    void *arg);
void val_timer_disarm(struct val_loop *l, struct val_timer *t);

/*
 * One turn: wait up to max_ms (-1: until an event or timer) for events, then
 * run the callbacks of ready descriptors and expired timers. Returns ACME_OK
 * (also when interrupted by a signal) or ACME_EIO if poll() fails.
 */
enum acme_err val_loop_once(struct val_loop *l, int max_ms);

#endif
