/*
 * One block of memory for everything a plan needs, reserved in two passes: first every buffer
 * asks for its bytes (cn_arena_reserve returns its offset), then one allocation (commit), then
 * views are bound to base + offset. The training step never allocates; this is why.
 */
#ifndef CN_ARENA_H
#define CN_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include "colnet.h"

struct cn_arena {
	size_t bytes;  /* reserved so far, a multiple of CN_ALIGN */
	bool overflow; /* a reservation overflowed size_t: commit will refuse */
	void *base;    /* NULL until committed */
};

/* Reserve bytes aligned to CN_ALIGN; returns the offset. Overflow is sticky (see commit). */
size_t cn_arena_reserve(struct cn_arena *a, size_t bytes);

/* Reserve len elements of size elem (overflow-checked). */
size_t cn_arena_reserve_array(struct cn_arena *a, size_t len, size_t elem);

/* Allocate and zero the reserved bytes. CN_ERR_NOMEM on overflow or allocation failure. */
enum cn_status cn_arena_commit(struct cn_arena *a);

/* Address of a reserved offset (after commit). */
static inline void *cn_arena_at(const struct cn_arena *a, size_t offset)
{
	return (char *)a->base + offset;
}

/* Free the block and forget every reservation. */
void cn_arena_release(struct cn_arena *a);

#endif
