/*
 * The scoreboard: one word per worker slot in an anonymous shared mapping,
 * created by the master before it forks. A worker stores its phase and the
 * monotonic time the phase began; the master reads it to see when a new
 * worker is ready and to kill one that is stuck on a request (a lock that
 * is never released, a web server that stops sending).
 */
#ifndef ACME_FCGI_BOARD_H
#define ACME_FCGI_BOARD_H

#include <stdint.h>

#include "fcgi/fcgi.h"

enum fcgi_phase {
	FCGI_PH_IDLE = 0,       /* waiting for a request */
	FCGI_PH_STARTING = 1,   /* forked, opening the core */
	FCGI_PH_BUSY = 2,       /* reading, handling or answering a request */
};

struct fcgi_board;

/* Map a board of nslots slots, all idle. *out freed with fcgi_board_free(). */
enum fcgi_err fcgi_board_new(unsigned nslots, struct fcgi_board **out);
void fcgi_board_free(struct fcgi_board *b);

/* Publish phase ph for slot, stamped with the current time. b may be NULL
 * (single-process mode): then nothing happens. */
void fcgi_board_set(struct fcgi_board *b, unsigned slot, enum fcgi_phase ph);

/* The phase of slot and, in *since_ms, when it began. */
enum fcgi_phase fcgi_board_get(const struct fcgi_board *b, unsigned slot, int64_t *since_ms);

#endif
