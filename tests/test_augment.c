/*
 * Augmentation: a whole-pixel shift moves a known image exactly, rotation 0 and scale 1 are
 * the identity, a quarter turn is a quarter turn, colour channels move together, draws repeat
 * for a seed whatever the thread count, the row-copy path of a pure shift gives the general
 * path's bits, and the spec parser refuses what it cannot honour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "colnet.h"
#include "util.h"

#define H 9
#define W 11

static float *scratch(struct cn_shape s, int threads, size_t *len)
{
	*len = cn_augment_scratch_len(s, threads);
	return tu_floats(*len);
}

/* A known image: every pixel distinct and non-zero, so any misplaced value shows. */
static void known_image(float *x, struct cn_shape s)
{
	for (int32_t i = 0; i < s.h * s.w * s.c; i++) x[i] = 1.0f + (float)i / 7.0f;
}

static void warp(const struct cn_augment *a, struct cn_warp w, struct cn_shape s, const float *src,
                 float *dst)
{
	size_t hw = (size_t)s.h * s.w;
	float *dx = tu_floats(hw), *dy = tu_floats(hw), *tmp = tu_floats(hw);
	cn_augment_warp(a, &w, s, src, dst, dx, dy, tmp);
	free(dx);
	free(dy);
	free(tmp);
}

static void shift_by_k_moves_exactly_k(void **state)
{
	(void)state;
	struct cn_augment a = {.shift = 3};
	for (int32_t c = 1; c <= 3; c += 2) {
		struct cn_shape s = {c, H, W};
		size_t len = (size_t)H * W * c;
		float *src = tu_floats(len), *dst = tu_floats(len);
		known_image(src, s);
		for (int k = -3; k <= 3; k++)
			for (int axis = 0; axis < 2; axis++) {
				struct cn_warp w = {.tx = axis ? 0 : (float)k,
				                    .ty = axis ? (float)k : 0,
				                    .scale = 1};
				warp(&a, w, s, src, dst);
				for (int32_t y = 0; y < H; y++)
					for (int32_t x = 0; x < W; x++) {
						int32_t sx = x - (axis ? 0 : k),
						        sy = y - (axis ? k : 0);
						bool in = sx >= 0 && sx < W && sy >= 0 && sy < H;
						for (int32_t ch = 0; ch < c; ch++) {
							float want =
							    in ? src[(sy * W + sx) * c + ch] : 0;
							float got = dst[(y * W + x) * c + ch];
							if (got != want)
								fail_msg("shift %d axis %d c %d at "
								         "(%d, %d): "
								         "%g, want %g",
								         k, axis, c, x, y,
								         (double)got, (double)want);
						}
					}
			}
		free(src);
		free(dst);
	}
}

static void rotation_0_and_scale_1_are_the_identity(void **state)
{
	(void)state;
	struct cn_shape s = {3, H, W};
	size_t len = (size_t)H * W * 3, slen;
	float *x = tu_floats(4 * len), *orig = tu_floats(4 * len);
	known_image(x, (struct cn_shape){3, 4 * H, W});
	memcpy(orig, x, 4 * len * sizeof(float));
	/* switched on but drawn as zero: the batch path too leaves the images alone */
	struct cn_augment a = {.rotate = 0, .scale = 0};
	float *sc = scratch(s, 2, &slen);
	assert_int_equal(cn_augment_batch(&a, s, x, 4, 5, 0, sc, slen), CN_OK);
	assert_memory_equal(x, orig, 4 * len * sizeof(float));
	/* and the warp itself, asked explicitly for angle 0 and scale 1 */
	struct cn_augment on = {.rotate = 30, .scale = 0.2f};
	warp(&on, (struct cn_warp){.angle = 0, .scale = 1}, s, orig, x);
	assert_memory_equal(x, orig, len * sizeof(float));
	free(x);
	free(orig);
	free(sc);
}

/* A quarter turn of a square image moves pixel (x, y) to (y, n-1-x) on screen (counter-
   clockwise), up to rounding in cos(pi/2). */
static void quarter_turn_turns(void **state)
{
	(void)state;
	enum { N = 7 };
	struct cn_shape s = {1, N, N};
	float src[N * N], dst[N * N];
	known_image(src, s);
	struct cn_augment a = {.rotate = 90};
	warp(&a, (struct cn_warp){.angle = 1.57079632679489662f, .scale = 1}, s, src, dst);
	for (int y = 0; y < N; y++)
		for (int x = 0; x < N; x++) {
			float want = src[x * N + (N - 1 - y)]; /* dst(x, y) = src(N-1-y, x) */
			assert_true(fabsf(dst[y * N + x] - want) < 1e-4f * want);
		}
	/* scale 2 about the centre: the centre pixel stays, its neighbour comes from half-way */
	warp(&a, (struct cn_warp){.angle = 0, .scale = 2}, s, src, dst);
	int c = N / 2;
	assert_true(fabsf(dst[c * N + c] - src[c * N + c]) < 1e-6f);
	float half = 0.5f * (src[c * N + c] + src[c * N + c + 1]);
	assert_true(fabsf(dst[c * N + c + 1] - half) < 1e-5f);
}

static void draws_repeat_for_a_seed_and_any_thread_count(void **state)
{
	(void)state;
	struct cn_shape s = {1, 28, 28};
	struct cn_augment a;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_augment_parse("shift:2,rotate:10,scale:0.1,elastic:34:4", &a, err),
	                 CN_OK);
	enum { N = 9 };
	size_t len = (size_t)N * 28 * 28, l1, l2;
	struct tu_rng r = tu_rng_make(7);
	float *orig = tu_floats(len);
	tu_fill_uniform(&r, orig, len, 0, 1);
	float *x1 = tu_copy(orig, len), *x2 = tu_copy(orig, len), *x3 = tu_copy(orig, len);
	float *s1 = scratch(s, 1, &l1), *s2 = scratch(s, 3, &l2);
	assert_int_equal(cn_augment_batch(&a, s, x1, N, 42, 100, s1, l1), CN_OK);
	assert_int_equal(cn_augment_batch(&a, s, x2, N, 42, 100, s2, l2), CN_OK);
	assert_memory_equal(x1, x2, len * sizeof(float));
	/* the images changed, and each is image first + i of the stream: a batch split in two
	   gives the same pixels */
	assert_true(memcmp(x1, orig, len * sizeof(float)) != 0);
	assert_int_equal(cn_augment_batch(&a, s, x3, 4, 42, 100, s1, l1), CN_OK);
	assert_int_equal(cn_augment_batch(&a, s, x3 + 4 * 784, N - 4, 42, 104, s1, l1), CN_OK);
	assert_memory_equal(x1, x3, len * sizeof(float));
	/* another seed, other images */
	memcpy(x2, orig, len * sizeof(float));
	assert_int_equal(cn_augment_batch(&a, s, x2, N, 43, 100, s1, l1), CN_OK);
	assert_true(memcmp(x1, x2, len * sizeof(float)) != 0);
	for (size_t i = 0; i < len; i++) assert_true(isfinite(x1[i]));
	free(orig);
	free(x1);
	free(x2);
	free(x3);
	free(s1);
	free(s2);
}

/* The elastic field alone is smooth and of the size alpha and sigma give, and its draws are
   independent of the others (turning elastic on leaves the shift drawn the same). */
static void elastic_field_is_smooth_and_separate(void **state)
{
	(void)state;
	struct cn_augment a = {.shift = 2},
	                  b = {.shift = 2, .elastic_alpha = 34, .elastic_sigma = 4};
	for (int64_t i = 0; i < 50; i++) {
		struct cn_warp wa = cn_augment_draw(&a, 9, i), wb = cn_augment_draw(&b, 9, i);
		assert_true(wa.tx == wb.tx && wa.ty == wb.ty);
		assert_true(wa.tx >= -2 && wa.tx <= 2 && wa.tx == floorf(wa.tx));
		assert_true(wa.field_key == 0 && wb.field_key != 0);
	}
	/* a constant image away from its border stays constant under a smooth small field */
	struct cn_shape s = {1, 40, 40};
	float src[1600], dst[1600];
	for (int i = 0; i < 1600; i++) src[i] = 0.5f;
	struct cn_warp w = cn_augment_draw(&b, 9, 3);
	w.tx = w.ty = 0;
	warp(&b, w, s, src, dst);
	double moved = 0;
	for (int y = 15; y < 25; y++)
		for (int x = 15; x < 25; x++) moved += fabs(dst[y * 40 + x] - 0.5);
	assert_true(moved < 1e-4);
}

/* dst from both paths, each over its own stale bytes (so a pixel either leaves unwritten
   shows); fails with the place of the first difference. */
static void both_paths(const struct cn_augment *a, struct cn_warp w, struct cn_shape s,
                       const float *src, float *fast, float *slow, float *f3, const char *what)
{
	size_t len = (size_t)s.h * s.w * s.c, hw = (size_t)s.h * s.w;
	if (!cn_augment_shift_only(&w))
		fail_msg("%s: shift (%g, %g) not taken as a shift", what, (double)w.tx,
		         (double)w.ty);
	memset(fast, 0xff, len * sizeof(float));
	memset(slow, 0x7f, len * sizeof(float));
	cn_augment_warp(a, &w, s, src, fast, f3, f3 + hw, f3 + 2 * hw);
	cn_augment_warp_general(a, &w, s, src, slow, f3, f3 + hw, f3 + 2 * hw);
	for (size_t i = 0; i < len; i++)
		if (memcmp(&fast[i], &slow[i], sizeof(float)) != 0)
			fail_msg("%s: shape %dx%dx%d shift (%g, %g): element %zu is %a, general %a",
			         what, s.h, s.w, s.c, (double)w.tx, (double)w.ty, i,
			         (double)fast[i], (double)slow[i]);
}

/* The row-copy path gives the per-pixel path's bits: every draw of shift specs 0, 1, 2 and the
   largest (64) over many seeds, and every shift in and just past the image, on odd and square
   shapes, grey and colour, with -0 in the image (which 0 + 1·v turns into +0). */
static void shift_path_matches_general_path(void **state)
{
	(void)state;
	static const struct cn_shape shapes[] = {{1, 1, 1},   {1, 5, 7},  {3, 9, 11},
	                                         {1, 28, 28}, {3, 13, 6}, {3, 32, 32}};
	static const int32_t shifts[] = {0, 1, 2, 64};
	struct tu_rng r = tu_rng_make(11);
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		struct cn_shape s = shapes[k];
		size_t len = (size_t)s.h * s.w * s.c;
		float *src = tu_floats(len), *fast = tu_floats(len), *slow = tu_floats(len);
		float *f3 = tu_floats(3 * (size_t)s.h * s.w);
		for (uint64_t seed = 1; seed <= 40; seed++) {
			tu_fill_uniform(&r, src, len, -2, 2);
			for (size_t i = seed % 5; i < len; i += 5) src[i] = -0.0f;
			for (size_t j = 0; j < sizeof(shifts) / sizeof(shifts[0]); j++) {
				struct cn_augment a = {.shift = shifts[j]};
				for (int64_t i = 0; i < 6; i++)
					both_paths(&a, cn_augment_draw(&a, seed, i), s, src, fast,
					           slow, f3, "draw");
			}
		}
		struct cn_augment a = {.shift = 64};
		for (int32_t ty = -s.h - 1; ty <= s.h + 1; ty++)
			for (int32_t tx = -s.w - 1; tx <= s.w + 1; tx++)
				both_paths(
				    &a,
				    (struct cn_warp){.tx = (float)tx, .ty = (float)ty, .scale = 1},
				    s, src, fast, slow, f3, "sweep");
		both_paths(&a, (struct cn_warp){.tx = 64, .ty = -64, .scale = 1}, s, src, fast,
		           slow, f3, "max");
		free(src);
		free(fast);
		free(slow);
		free(f3);
	}
	/* anything more than a whole-pixel shift stays on the general path */
	struct cn_augment more[] = {{.shift = 2, .rotate = 10},
	                            {.shift = 2, .scale = 0.1f},
	                            {.shift = 2, .elastic_alpha = 34, .elastic_sigma = 4}};
	for (size_t j = 0; j < sizeof(more) / sizeof(more[0]); j++)
		for (int64_t i = 0; i < 20; i++) {
			struct cn_warp w = cn_augment_draw(&more[j], 3, i);
			assert_false(cn_augment_shift_only(&w));
		}
	assert_false(cn_augment_shift_only(&(struct cn_warp){.tx = 0.5f, .scale = 1}));
	assert_false(cn_augment_shift_only(&(struct cn_warp){.tx = NAN, .scale = 1}));
}

/* A shift-only batch is image by image the general warp of draw first + i. */
static void shift_batch_is_the_general_warp(void **state)
{
	(void)state;
	struct cn_shape s = {3, 9, 11};
	enum { N = 7 };
	size_t img = (size_t)9 * 11 * 3, hw = (size_t)9 * 11, slen;
	struct tu_rng r = tu_rng_make(5);
	float *x = tu_floats(N * img), *want = tu_floats(N * img), *f3 = tu_floats(3 * hw);
	tu_fill_uniform(&r, x, N * img, -1, 1);
	struct cn_augment a = {.shift = 2};
	for (int32_t i = 0; i < N; i++) {
		struct cn_warp w = cn_augment_draw(&a, 77, 30 + i);
		cn_augment_warp_general(&a, &w, s, x + i * img, want + i * img, f3, f3 + hw,
		                        f3 + 2 * hw);
	}
	float *sc = scratch(s, 2, &slen);
	assert_int_equal(cn_augment_batch(&a, s, x, N, 77, 30, sc, slen), CN_OK);
	assert_memory_equal(x, want, N * img * sizeof(float));
	free(x);
	free(want);
	free(f3);
	free(sc);
}

static void parse_accepts_and_refuses(void **state)
{
	(void)state;
	struct cn_augment a;
	char err[CN_ERR_LEN], buf[128];
	assert_int_equal(cn_augment_parse("elastic:34:4,shift:2,rotate:10", &a, err), CN_OK);
	assert_int_equal(a.shift, 2);
	assert_true(a.rotate == 10 && a.elastic_alpha == 34 && a.elastic_sigma == 4);
	cn_augment_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "shift:2,rotate:10,elastic:34:4");
	assert_int_equal(cn_augment_parse("none", &a, err), CN_OK);
	assert_false(cn_augment_on(&a));
	const char *bad[] = {
	    "",        "shift",      "shift:1.5",    "shift:-1", "rotate:nan", "rotate:400",
	    "scale:2", "elastic:34", "elastic:34:0", "blur:3",   "shift:2,,x", "rotate:1e999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (cn_augment_parse(bad[i], &a, err) != CN_ERR_ARG)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(strlen(err) > 0);
	}
	struct cn_shape s = {1, 4, 4};
	float x[16] = {0};
	a = (struct cn_augment){.shift = 1};
	assert_int_equal(cn_augment_batch(&a, s, x, 1, 1, 0, NULL, 0), CN_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shift_by_k_moves_exactly_k),
	    cmocka_unit_test(rotation_0_and_scale_1_are_the_identity),
	    cmocka_unit_test(quarter_turn_turns),
	    cmocka_unit_test(draws_repeat_for_a_seed_and_any_thread_count),
	    cmocka_unit_test(elastic_field_is_smooth_and_separate),
	    cmocka_unit_test(shift_path_matches_general_path),
	    cmocka_unit_test(shift_batch_is_the_general_warp),
	    cmocka_unit_test(parse_accepts_and_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
