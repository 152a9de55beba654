/* The plan's memory: reserve, commit once, bind. The only malloc of run-time buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "util.h"

size_t cn_arena_reserve(struct cn_arena *a, size_t bytes)
{
	size_t offset = a->bytes;
	size_t rounded;
	if (!cn_add_ok(bytes, CN_ALIGN - 1, &rounded) ||
	    !cn_add_ok(a->bytes, rounded & ~(size_t)(CN_ALIGN - 1), &a->bytes)) {
		a->overflow = true;
		return 0;
	}
	return offset;
}

size_t cn_arena_reserve_array(struct cn_arena *a, size_t len, size_t elem)
{
	size_t bytes;
	if (!cn_mul_ok(len, elem, &bytes)) {
		a->overflow = true;
		return 0;
	}
	return cn_arena_reserve(a, bytes);
}

enum cn_status cn_arena_commit(struct cn_arena *a)
{
	if (a->overflow || a->base) return CN_ERR_NOMEM;
	/* aligned_alloc wants a size that is a multiple of the alignment: bytes always is */
	a->base = aligned_alloc(CN_ALIGN, a->bytes ? a->bytes : CN_ALIGN);
	if (!a->base) return CN_ERR_NOMEM;
	memset(a->base, 0, a->bytes);
	return CN_OK;
}

void cn_arena_release(struct cn_arena *a)
{
	free(a->base);
	*a = (struct cn_arena){0};
}
