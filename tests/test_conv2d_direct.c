/*
 * conv2d_direct: the direct one-channel kernels against the lowered path they replace
 * (cn_im2col_t / cn_im2col + cn_gemm, which runs gemm_small's tt_small / tn_small for these
 * shapes), bit for bit at every vector width this CPU runs, over a seeded sweep of channels,
 * kernels, strides, paddings, sizes and batches; the forward against the naive reference too;
 * and cn_conv2d_backward's dw through the direct kernel, on 1 and 2 threads, against the
 * lowered GEMMs summed in the same chunks and thread order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "geom.h"
#include "im2col.h"
#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const int widths[] = {16, 8, 4};

struct shape {
	int32_t n, hi, wi, co, kh, kw, sh, sw, ph, pw;
};

static void name_of(const struct shape *s, char *name, size_t size)
{
	snprintf(name, size, "n%d %dx%d co%d k%dx%d s%dx%d p%dx%d", s->n, s->hi, s->wi, s->co,
	         s->kh, s->kw, s->sh, s->sw, s->ph, s->pw);
}

/* The i-th shape of the sweep (seeded), or false if its geometry is invalid. */
static bool shape_of(struct tu_rng *r, struct shape *s, struct cn_geom *g)
{
	static const int32_t cos[] = {1, 2, 3, 4, 6, 8, 10, 12, 16};
	static const int32_t ks[][2] = {{3, 3}, {5, 5}, {3, 5}, {5, 3}};
	static const int32_t ns[] = {1, 3, 17};
	const int kk = tu_int(r, 0, 3);
	*s = (struct shape){.n = ns[tu_int(r, 0, 2)],
	                    .hi = tu_int(r, 5, 29),
	                    .wi = tu_int(r, 5, 29),
	                    .co = cos[tu_int(r, 0, 8)],
	                    .kh = ks[kk][0],
	                    .kw = ks[kk][1],
	                    .sh = tu_int(r, 1, 2),
	                    .sw = tu_int(r, 1, 2),
	                    .ph = tu_int(r, 0, 2),
	                    .pw = tu_int(r, 0, 2)};
	return cn_geom_init(g, s->hi, s->wi, 1, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, NULL) ==
	       CN_OK;
}

/* y as conv2d.c's lowered forward computes it: bias rows, then colᵀᵀ·Wᵀ with beta 1 */
static void lowered_forward(const struct cn_geom *g, const struct shape *s, const float *x,
                            const float *w, const float *b, float *y)
{
	const size_t rows = (size_t)s->n * cn_geom_out_pixels(g), k = cn_geom_patch_len(g);
	float *col = tu_floats(rows * k);
	cn_im2col_t(g, s->n, x, col);
	if (b)
		for (size_t i = 0; i < rows; i++)
			memcpy(y + i * (size_t)s->co, b, (size_t)s->co * 4);
	cn_gemm(true, true, (int)rows, s->co, (int)k, 1.0f, col, w, b ? 1.0f : 0.0f, y);
	free(col);
}

/* dw += dYᵀ·col as conv2d.c's lowered backward computes it for one chunk */
static void lowered_dw(const struct cn_geom *g, int32_t n, int32_t co, const float *x,
                       const float *dy, float *dw)
{
	const size_t rows = (size_t)n * cn_geom_out_pixels(g), k = cn_geom_patch_len(g);
	float *col = tu_floats(rows * k);
	cn_im2col(g, n, x, col);
	cn_gemm(true, false, co, (int)k, (int)rows, 1.0f, dy, col, 1.0f, dw);
	free(col);
}

static void test_sweep(void **state)
{
	(void)state;
#ifdef CN_NAIVE_GEMM
	skip(); /* a naive-GEMM build runs the lowered path only (cn_conv2d_direct_fits) */
#endif
	struct tu_rng r = tu_rng_make(42);
	int fw = 0, dw = 0, tried = 0;
	for (int i = 0; i < 600; i++) {
		struct shape s;
		struct cn_geom g;
		if (!shape_of(&r, &s, &g)) continue;
		tried++;
		char name[160];
		name_of(&s, name, sizeof name);
		const size_t rows = (size_t)s.n * cn_geom_out_pixels(&g), k = cn_geom_patch_len(&g);
		const size_t xl = (size_t)s.n * (size_t)(s.hi * s.wi), yl = rows * (size_t)s.co;
		const size_t wl = (size_t)s.co * k;
		float *x = tu_rand_floats(&r, xl), *w = tu_rand_floats(&r, wl);
		float *b = tu_rand_floats(&r, (size_t)s.co), *dy = tu_rand_floats(&r, yl);
		float *dw0 = tu_rand_floats(&r, wl), *want = tu_nans(yl), *got = tu_nans(yl);
		float *dww = tu_copy(dw0, wl), *dwg = tu_floats(wl);
		const float *bias = i % 3 ? b : NULL;
		if (cn_conv2d_direct_fits(&g, s.co, rows, false)) {
			fw++;
			lowered_forward(&g, &s, x, w, bias, want);
			for (size_t j = 0; j < LEN(widths); j++) {
				memset(got, 0xff,
				       yl * sizeof(float)); /* NaN: all must be written */
				cn_conv2d_direct_forward(widths[j], &g, s.co, s.n, x, w, bias, got);
				if (memcmp(got, want, yl * sizeof(float))) {
					print_error("forward width %d: %s\n", widths[j], name);
					fail();
				}
			}
			struct cn_tensor xt = cn_tensor_make(x, s.n, s.hi, s.wi, 1);
			struct cn_tensor yt = cn_tensor_make(want, s.n, g.ho, g.wo, s.co);
			cn_conv2d_forward_ref(&g, s.co, w, bias, &xt, &yt);
			tu_check_close("y (reference)", got, want, yl, 1e-4, name);
		}
		if (cn_conv2d_direct_fits(&g, s.co, rows, true)) {
			dw++;
			lowered_dw(&g, s.n, s.co, x, dy, dww);
			for (size_t j = 0; j < LEN(widths); j++) {
				memcpy(dwg, dw0, wl * sizeof(float));
				cn_conv2d_direct_dw(widths[j], &g, s.co, s.n, x, dy, dwg);
				if (memcmp(dwg, dww, wl * sizeof(float))) {
					print_error("dw width %d: %s\n", widths[j], name);
					fail();
				}
			}
		}
		float *all[] = {x, w, b, dy, dw0, want, got, dww, dwg};
		for (size_t j = 0; j < LEN(all); j++) free(all[j]);
	}
	print_message("conv2d direct: %d shapes, %d forward and %d dw bit for bit at every width\n",
	              tried, fw, dw);
	assert_true(fw > 100 && dw > 80);
}

/*
 * cn_conv2d_forward and cn_conv2d_backward on 1 and 2 threads (chunks of the plan) against the
 * lowered kernels: y over the whole batch, dw summed chunk by chunk, thread 1's into zeros
 * added after thread 0's, as conv2d.c's thread_share and backward do.
 */
static void test_op(void **state)
{
	(void)state;
#ifdef CN_NAIVE_GEMM
	skip(); /* as test_sweep */
#endif
	static const struct shape shapes[] = {
	    {40, 28, 28, 16, 5, 5, 1, 1, 0, 0}, /* mnist-fast */
	    {23, 28, 28, 6, 5, 5, 1, 1, 2, 2},  /* lenet5, odd batch */
	    {17, 28, 28, 4, 3, 3, 1, 1, 1, 1},  /* avgpool-cnn */
	    {9, 27, 25, 12, 3, 5, 2, 1, 1, 2},
	};
	struct tu_rng r = tu_rng_make(9);
	for (size_t si = 0; si < LEN(shapes); si++)
		for (int32_t threads = 1; threads <= 2; threads++) {
			const struct shape *s = &shapes[si];
			struct cn_geom g;
			char name[160];
			name_of(s, name, sizeof name);
			assert_int_equal(cn_geom_init(&g, s->hi, s->wi, 1, s->kh, s->kw, s->sh,
			                              s->sw, s->ph, s->pw, NULL),
			                 CN_OK);
			const struct cn_conv2d_plan p = {.chunk = 4, .threads = threads};
			const size_t pix = cn_geom_out_pixels(&g), k = cn_geom_patch_len(&g);
			const size_t xl = (size_t)s->n * (size_t)(s->hi * s->wi);
			const size_t yl = (size_t)s->n * pix * (size_t)s->co,
			             wl = (size_t)s->co * k;
			float *x = tu_rand_floats(&r, xl), *w = tu_rand_floats(&r, wl);
			float *dy = tu_rand_floats(&r, yl), *dw = tu_rand_floats(&r, wl);
			float *want = tu_copy(dw, wl), *part = tu_floats(wl), *y = tu_nans(yl);
			float *yw = tu_nans(yl);
			float *ws = tu_floats(cn_conv2d_ws_len(&g, s->co, &p, true));
			assert_true(cn_conv2d_direct_fits(&g, s->co, 4 * pix, false));
			struct cn_tensor xt = cn_tensor_make(x, s->n, s->hi, s->wi, 1);
			struct cn_tensor yt = cn_tensor_make(y, s->n, g.ho, g.wo, s->co);
			struct cn_tensor dyt = cn_tensor_make(dy, s->n, g.ho, g.wo, s->co);
			cn_conv2d_forward(&g, s->co, &p, w, NULL, &xt, &yt, ws);
			lowered_forward(&g, s, x, w, NULL, yw);
			if (memcmp(y, yw, yl * sizeof(float))) {
				print_error("forward, %d threads: %s\n", threads, name);
				fail();
			}
			cn_conv2d_backward(&g, s->co, &p, w, &xt, &dyt, NULL, dw, NULL, ws);
			for (int32_t t = 0; t < threads; t++) {
				/* util.h's cn_share */
				const int32_t lo = s->n * t / threads,
				              hi = s->n * (t + 1) / threads;
				const int32_t pieces = (hi - lo + p.chunk - 1) / p.chunk;
				/* one thread: the plan's chunk as is, no share */
				const int32_t chunk =
				    threads == 1 ? p.chunk : (hi - lo + pieces - 1) / pieces;
				float *acc = t ? part : want;
				if (t) memset(part, 0, wl * sizeof(float));
				for (int32_t i = lo; i < hi; i += chunk)
					lowered_dw(&g, hi - i < chunk ? hi - i : chunk, s->co,
					           x + (size_t)i * (size_t)(s->hi * s->wi),
					           dy + (size_t)i * pix * (size_t)s->co, acc);
				if (t)
					for (size_t j = 0; j < wl; j++) want[j] += part[j];
			}
			if (memcmp(dw, want, wl * sizeof(float))) {
				print_error("dw, %d threads: %s\n", threads, name);
				fail();
			}
			float *all[] = {x, w, dy, dw, want, part, y, yw, ws};
			for (size_t j = 0; j < LEN(all); j++) free(all[j]);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sweep),
	    cmocka_unit_test(test_op),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
