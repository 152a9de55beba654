/* Arena: alignment of every reservation, overflow is sticky and refused, commit zeroes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arena.h"
#include "../src/util.h" /* CN_ALIGN */

static void offsets_are_aligned(void **state)
{
	(void)state;
	struct cn_arena a = {0};
	size_t o1 = cn_arena_reserve(&a, 1);
	size_t o2 = cn_arena_reserve(&a, 65);
	size_t o3 = cn_arena_reserve_array(&a, 3, sizeof(float));
	size_t o4 = cn_arena_reserve(&a, 0);
	assert_int_equal(o1, 0);
	assert_int_equal(o2, 64);
	assert_int_equal(o3, 64 + 128);
	assert_int_equal(o4, 64 + 128 + 64);
	assert_int_equal(a.bytes % CN_ALIGN, 0);
	assert_int_equal(cn_arena_commit(&a), CN_OK);
	assert_int_equal((uintptr_t)cn_arena_at(&a, o2) % CN_ALIGN, 0);
	const unsigned char *p = a.base;
	for (size_t i = 0; i < a.bytes; i++) assert_int_equal(p[i], 0);
	cn_arena_release(&a);
	assert_null(a.base);
	assert_int_equal(a.bytes, 0);
}

static void overflow_is_refused(void **state)
{
	(void)state;
	struct cn_arena a = {0};
	cn_arena_reserve(&a, 100);
	cn_arena_reserve_array(&a, SIZE_MAX / 2, 4);
	cn_arena_reserve(&a, 8); /* later reservations do not clear the flag */
	assert_true(a.overflow);
	assert_int_equal(cn_arena_commit(&a), CN_ERR_NOMEM);
	cn_arena_release(&a);

	struct cn_arena b = {0};
	cn_arena_reserve(&b, SIZE_MAX - 10); /* rounding up to the alignment overflows */
	assert_true(b.overflow);
	assert_int_equal(cn_arena_commit(&b), CN_ERR_NOMEM);
}

static void huge_but_representable_fails_cleanly(void **state)
{
	(void)state;
	struct cn_arena a = {0};
	cn_arena_reserve(&a, (size_t)1 << 60);
	assert_false(a.overflow);
	assert_int_equal(cn_arena_commit(&a), CN_ERR_NOMEM);
	cn_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(offsets_are_aligned),
	    cmocka_unit_test(overflow_is_refused),
	    cmocka_unit_test(huge_but_representable_fails_cleanly),
	};
	return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
