#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/log.h"
#include "fcgi/board.h"

/* A single 64-bit word holds (since_ms << 2 | phase), so the master never
 * reads a phase with the time of another phase. One cache line per slot:
 * workers write their own slot on every request. */
struct fcgi_board_slot {
	_Atomic uint64_t word;
	char pad[64 - sizeof(_Atomic uint64_t)];
};

struct fcgi_board {
	struct fcgi_board_slot *slot;   /* MAP_SHARED, shared with the workers */
	size_t len;
	unsigned n;
};

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the scoreboard needs lock-free 64-bit atomics");

enum fcgi_err
fcgi_board_new(unsigned nslots, struct fcgi_board **out)
{
	struct fcgi_board *b = NULL;
	enum fcgi_err rc = FCGI_ENOMEM;
	void *p;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		goto out;
	b->len = (size_t)nslots * sizeof(struct fcgi_board_slot);
	p = mmap(NULL, b->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_err("scoreboard: mmap %zu bytes: %s", b->len, strerror(errno));
		rc = FCGI_ESYS;
		goto out;
	}
	b->slot = p;      /* anonymous mappings start zeroed: every slot idle */
	b->n = nslots;
	*out = b;
	b = NULL;
	rc = FCGI_OK;
out:
	free(b);
	return rc;
}

void
fcgi_board_free(struct fcgi_board *b)
{
	if (b == NULL)
		return;
	if (b->slot != NULL)
		munmap(b->slot, b->len);
	free(b);
}

void
fcgi_board_set(struct fcgi_board *b, unsigned slot, enum fcgi_phase ph)
{
	uint64_t w;

	if (b == NULL || slot >= b->n)
		return;
	w = ((uint64_t)fcgi_now_ms() << 2) | (uint64_t)ph;
	atomic_store_explicit(&b->slot[slot].word, w, memory_order_release);
}

enum fcgi_phase
fcgi_board_get(const struct fcgi_board *b, unsigned slot, int64_t *since_ms)
{
	uint64_t w;

	*since_ms = 0;
	if (b == NULL || slot >= b->n)
		return FCGI_PH_IDLE;
	w = atomic_load_explicit(&b->slot[slot].word, memory_order_acquire);
	*since_ms = (int64_t)(w >> 2);
	return (enum fcgi_phase)(w & 3);
}
