/*
 * im2col / col2im: hand-computed small cases checked exactly, every case of an edge table and a
 * random sweep against a one-element-at-a-time lowering written from im2col.h's formula, the
 * adjoint identity <im2col(x), c> = <x, col2im(c)>, and col2im overwriting x.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geom.h"
#include "im2col.h"
#include "util.h"

#define LEN(a)    (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

struct cfg {
	const char *desc;
	int32_t n, hi, wi, ci, kh, kw, sh, sw, ph, pw;
};

static const struct cfg edges[] = {
    {"1x1 kernel, stride 1", 2, 4, 5, 3, 1, 1, 1, 1, 0, 0},
    {"1x1 kernel, stride 2 (skips pixels)", 1, 5, 6, 2, 1, 1, 2, 2, 0, 0},
    {"1x3 kernel (1-D along width)", 2, 1, 9, 4, 1, 3, 1, 1, 0, 1},
    {"3x1 kernel (1-D along height)", 2, 9, 1, 4, 3, 1, 1, 1, 1, 0},
    {"stride > kernel (k2 s3)", 2, 8, 8, 2, 2, 2, 3, 3, 0, 0},
    {"stride > kernel with padding (k2 s3 p1)", 1, 7, 9, 3, 2, 2, 3, 3, 1, 1},
    {"padding = k-1 (k3 p2)", 1, 4, 4, 2, 3, 3, 1, 1, 2, 2},
    {"padding = k-1 (k5 p4) on a 3x3 image", 2, 3, 3, 1, 5, 5, 1, 1, 4, 4},
    {"1x1 image, 3x3 kernel, padding 1", 3, 1, 1, 5, 3, 3, 1, 1, 1, 1},
    {"kernel covers the whole image", 2, 5, 4, 3, 5, 4, 1, 1, 0, 0},
    {"non-square stride 1x2, padding 2x0", 2, 7, 8, 3, 3, 3, 1, 2, 2, 0},
    {"non-square kernel 2x5, stride 2x1, padding 1x3", 1, 6, 7, 2, 2, 5, 2, 1, 1, 3},
    {"7x7 stride 2 padding 3", 2, 11, 12, 3, 7, 7, 2, 2, 3, 3},
    {"odd sizes, one channel", 3, 7, 5, 1, 3, 3, 2, 2, 1, 1},
    {"many channels", 1, 5, 5, 64, 3, 3, 1, 1, 1, 1},
    /* the run lengths (kw*ci) im2col.c inlines, with padding so borders cut runs short */
    {"run 3: k3 ci1 p1", 2, 9, 8, 1, 3, 3, 1, 1, 1, 1},
    {"run 5: k5 ci1 p2", 2, 9, 10, 1, 5, 5, 1, 1, 2, 2},
    {"run 12: k3 ci4 p1 s2", 2, 7, 8, 4, 3, 3, 2, 2, 1, 1},
    {"run 18: k3 ci6 p1", 1, 6, 7, 6, 3, 3, 1, 1, 1, 1},
    {"run 30: k5 ci6 p2", 2, 8, 7, 6, 5, 5, 1, 1, 2, 2},
    /* the zoo's one-channel first layers: cn_im2col_t's constant widths 24 and 28, and an
     * unpadded image lowered from x itself */
    {"sigmoid-cnn's first layer: k5 p0 on 28x28, WO 24", 2, 28, 28, 1, 5, 5, 1, 1, 0, 0},
    {"lenet5's first layer: k5 p2 on 28x28, WO 28", 2, 28, 28, 1, 5, 5, 1, 1, 2, 2},
    {"avgpool-cnn's first layer: k3 p1 on 28x28, WO 28", 1, 28, 28, 1, 3, 3, 1, 1, 1, 1},
    /* padded copy over im2col.c's PAD_MAX (8192 floats): the clipping path */
    {"large, clipping path: k3 ci6 p1 on 40x40", 1, 40, 40, 6, 3, 3, 1, 1, 1, 1},
    {"large, clipping path, run 5: k5 ci1 p2 s2 on 95x97", 1, 95, 97, 1, 5, 5, 2, 2, 2, 2},
};

static void make_geom(const struct cfg *c, struct cn_geom *g)
{
	char err[CN_ERR_LEN] = "";
	enum cn_status s =
	    cn_geom_init(g, c->hi, c->wi, c->ci, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw, err);
	if (s != CN_OK) print_error("%s: %s\n", c->desc, err);
	assert_int_equal(s, CN_OK);
}

/*
 * The header's formula, one element at a time: the oracle for both directions. With back
 * set it is col2im (x += col entry, after x = 0), else im2col.
 */
static void naive(const struct cn_geom *g, int32_t n, float *x, float *col, bool back)
{
	size_t p = 0;
	if (back) memset(x, 0, (size_t)n * g->hi * g->wi * g->ci * sizeof(*x));
	for (int32_t i = 0; i < n; i++)
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t ky = 0; ky < g->kh; ky++)
					for (int32_t kx = 0; kx < g->kw; kx++)
						for (int32_t c = 0; c < g->ci; c++, p++) {
							int32_t iy = oy * g->sh - g->ph + ky;
							int32_t ix = ox * g->sw - g->pw + kx;
							bool in = iy >= 0 && iy < g->hi &&
							          ix >= 0 && ix < g->wi;
							size_t at =
							    (((size_t)i * g->hi + (size_t)iy) *
							         g->wi +
							     (size_t)ix) *
							        g->ci +
							    (size_t)c;
							if (back && in) x[at] += col[p];
							if (!back) col[p] = in ? x[at] : 0.0f;
						}
}

static int configs, transposed;
static double worst_adjoint;

/*
 * x and c hold small integers in the first pass, so every sum is exact in float and the two
 * inner products must agree bit for bit; the second pass uses uniform data and a tolerance.
 */
static void check(const struct cfg *c)
{
	struct cn_geom g;
	make_geom(c, &g);
	char name[256];
	snprintf(name, sizeof(name), "%s: n%d %dx%dx%d k%dx%d s%dx%d p%dx%d", c->desc, c->n, c->hi,
	         c->wi, c->ci, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw);
	size_t xl = (size_t)c->n * c->hi * c->wi * c->ci;
	size_t cl = (size_t)c->n * cn_geom_out_pixels(&g) * cn_geom_patch_len(&g);
	float *x = tu_floats(xl), *col = tu_floats(cl), *want = tu_floats(cl);
	float *cv = tu_floats(cl), *xb = tu_floats(xl), *xbw = tu_floats(xl);
	float *ct = tu_floats(cl), *ctt = tu_floats(cl);
	struct tu_rng r = tu_rng_make((uint64_t)configs + 77);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < xl; i++)
			x[i] = pass ? tu_uniform(&r, -1, 1) : (float)tu_int(&r, -8, 8);
		for (size_t i = 0; i < cl; i++)
			cv[i] = pass ? tu_uniform(&r, -1, 1) : (float)tu_int(&r, -8, 8);
		for (size_t i = 0; i < cl; i++) col[i] = NAN; /* every entry must be written */
		cn_im2col(&g, c->n, x, col);
		naive(&g, c->n, x, want, false);
		tu_check_close("im2col", col, want, cl, 0.0, name);

		if (cn_im2col_t_fits(&g)) { /* the transposed lowering: colt[q, r] = col[r, q] */
			const size_t rows = (size_t)c->n * cn_geom_out_pixels(&g);
			const size_t k = cn_geom_patch_len(&g);
			for (size_t i = 0; i < cl; i++) ct[i] = NAN;
			cn_im2col_t(&g, c->n, x, ct);
			for (size_t rr = 0; rr < rows; rr++)
				for (size_t q = 0; q < k; q++) ctt[rr * k + q] = ct[q * rows + rr];
			tu_check_close("im2col_t", ctt, want, cl, 0.0, name);
			transposed++;
		}
		naive(&g, c->n, xbw, cv, true);
		for (size_t i = 0; i < xl; i++) xb[i] = NAN; /* overwrite, not accumulate */
		cn_col2im(&g, c->n, cv, xb);
		tu_check_close("col2im", xb, xbw, xl, pass ? 1e-5 : 0.0, name);

		double lhs = 0, rhs = 0, mag = 0;
		for (size_t i = 0; i < cl; i++) {
			lhs += (double)col[i] * cv[i];
			mag += fabs((double)col[i] * cv[i]);
		}
		for (size_t i = 0; i < xl; i++) rhs += (double)x[i] * xb[i];
		double e = fabs(lhs - rhs) / (mag > 0 ? mag : 1);
		if (pass == 0 ? lhs != rhs : e > 1e-6) {
			print_error(
			    "adjoint: <im2col(x), c> = %.17g, <x, col2im(c)> = %.17g (%s)\n", lhs,
			    rhs, name);
			fail();
		}
		if (pass) tu_track(&worst_adjoint, e);
	}
	configs++;
	free(x);
	free(col);
	free(want);
	free(cv);
	free(xb);
	free(ct);
	free(ctt);
	free(xbw);
}

/* 3x3 image 1..9, 2x2 kernel, padding 1, stride 1: 4x4 windows, each row written by hand. */
static void test_hand_pad1(void **state)
{
	(void)state;
	const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	const float want[16][4] = {
	    {0, 0, 0, 1}, {0, 0, 1, 2}, {0, 0, 2, 3}, {0, 0, 3, 0}, {0, 1, 0, 4}, {1, 2, 4, 5},
	    {2, 3, 5, 6}, {3, 0, 6, 0}, {0, 4, 0, 7}, {4, 5, 7, 8}, {5, 6, 8, 9}, {6, 0, 9, 0},
	    {0, 7, 0, 0}, {7, 8, 0, 0}, {8, 9, 0, 0}, {9, 0, 0, 0},
	};
	struct cn_geom g;
	assert_int_equal(cn_geom_init(&g, 3, 3, 1, 2, 2, 1, 1, 1, 1, NULL), CN_OK);
	assert_int_equal(g.ho, 4);
	assert_int_equal(g.wo, 4);
	float col[64];
	cn_im2col(&g, 1, x, col);
	for (int i = 0; i < 64; i++) assert_true(col[i] == want[i / 4][i % 4]);
	/* every pixel of the image lies in exactly four 2x2 windows */
	float ones[64], back[9];
	for (int i = 0; i < 64; i++) ones[i] = 1;
	cn_col2im(&g, 1, ones, back);
	for (int i = 0; i < 9; i++) assert_true(back[i] == 4);
}

/* Stride 2 with padding 1 tiles the 3x3 image: each pixel in exactly one window. */
static void test_hand_stride2(void **state)
{
	(void)state;
	const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	const float want[16] = {0, 0, 0, 1, 0, 0, 2, 3, 0, 4, 0, 7, 5, 6, 8, 9};
	struct cn_geom g;
	assert_int_equal(cn_geom_init(&g, 3, 3, 1, 2, 2, 2, 2, 1, 1, NULL), CN_OK);
	float col[16], back[9] = {7, 7, 7, 7, 7, 7, 7, 7, 7};
	cn_im2col(&g, 1, x, col);
	for (int i = 0; i < 16; i++) assert_true(col[i] == want[i]);
	cn_col2im(&g, 1, col, back);
	for (int i = 0; i < 9; i++) assert_true(back[i] == x[i]);
}

/* Two channels, no padding, 2x2 kernel over 3x3: col2im counts the windows per pixel. */
static void test_hand_counts(void **state)
{
	(void)state;
	const float want[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
	struct cn_geom g;
	assert_int_equal(cn_geom_init(&g, 3, 3, 2, 2, 2, 1, 1, 0, 0, NULL), CN_OK);
	float ones[4 * 8], back[18];
	for (int i = 0; i < 32; i++) ones[i] = 1;
	for (int i = 0; i < 18; i++) back[i] = NAN;
	cn_col2im(&g, 1, ones, back);
	for (int i = 0; i < 18; i++) assert_true(back[i] == want[i / 2]);
}

static void test_edges(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(edges); i++) check(&edges[i]);
}

static void test_random_sweep(void **state)
{
	(void)state;
	static const int32_t ks[][2] = {{1, 1}, {1, 3}, {3, 1}, {2, 2}, {3, 3}, {5, 5}, {7, 7}};
	struct tu_rng r = tu_rng_make(11);
	int done = 0;
	while (done < 120) {
		const int32_t *k = ks[tu_int(&r, 0, (int)LEN(ks) - 1)];
		struct cfg c = {"random",
		                tu_int(&r, 0, 2) ? tu_int(&r, 1, 3) : 1,
		                tu_int(&r, 1, 14),
		                tu_int(&r, 1, 14),
		                tu_int(&r, 1, 8),
		                k[0],
		                k[1],
		                tu_int(&r, 1, 4),
		                tu_int(&r, 1, 4),
		                0,
		                0};
		c.ph = tu_int(&r, 0, MIN(2, c.kh - 1));
		c.pw = tu_int(&r, 0, MIN(2, c.kw - 1));
		struct cn_geom g;
		if (cn_geom_init(&g, c.hi, c.wi, c.ci, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw, NULL))
			continue;
		check(&c);
		done++;
	}
	print_message("im2col: %d configurations (table + random), largest adjoint error %.3g\n",
	              configs, worst_adjoint);
	/* one-channel cases fitting the padded buffer also checked cn_im2col_t */
	print_message("im2col_t: %d configurations\n", transposed);
	assert_true(transposed >= 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hand_pad1),    cmocka_unit_test(test_hand_stride2),
	    cmocka_unit_test(test_hand_counts),  cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_random_sweep),
	};
	return cmocka_run_group_tests_name("im2col", tests, NULL, NULL);
}
