/*
 * Max and average pooling: fast path against the reference on a table of edge cases and a
 * seeded sweep (forward, argmax, backward, dx overwritten), hand-computed cases (padding never
 * wins, ties, overlapping windows add up), and central-difference gradient checks. L^p pooling
 * runs through the same table and sweep (cycling p), plus hand cases (zero windows, p = 1, 100)
 * and its own gradient checks; overlapping max pooling (k3 s2) gets ties and checks of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geom.h"
#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

#define TOL   1e-4
#define SWEEP 200

struct pcase {
	const char *desc;
	int32_t n, h, w, c;
	int32_t kh, kw, sh, sw, ph, pw;
	int32_t ho, wo; /* expected output size; 0 means "not checked" */
};

static const struct pcase edges[] = {
    {"1x1 kernel, stride 1: a copy", 2, 5, 4, 3, 1, 1, 1, 1, 0, 0, 5, 4},
    {"kernel 2 stride 2 (LeNet, tutorial-cnn)", 2, 28, 28, 8, 2, 2, 2, 2, 0, 0, 14, 14},
    {"kernel 2 stride 2 on odd input: last row and column dropped", 1, 7, 7, 3, 2, 2, 2, 2, 0, 0, 3,
     3},
    {"kernel 3 stride 2, overlapping (AlexNet)", 2, 13, 13, 16, 3, 3, 2, 2, 0, 0, 6, 6},
    {"kernel 3 stride 2, overlapping, padding 1", 1, 8, 8, 5, 3, 3, 2, 2, 1, 1, 4, 4},
    {"stride > kernel: gaps never read", 2, 10, 11, 4, 2, 2, 3, 3, 0, 0, 3, 4},
    {"padding 1, 7x7 -> 4x4 (deep-cnn's maxpool 2 p1)", 3, 7, 7, 6, 2, 2, 2, 2, 1, 1, 4, 4},
    {"batch 1, one channel", 1, 6, 6, 1, 2, 2, 2, 2, 0, 0, 3, 3},
    {"odd sizes, odd channels, k3 s1 p1 (same size)", 3, 9, 5, 7, 3, 3, 1, 1, 1, 1, 9, 5},
    {"non-square kernel, stride and padding", 2, 8, 12, 3, 2, 4, 1, 3, 1, 2, 9, 5},
    {"1xk kernel", 2, 6, 9, 5, 1, 3, 1, 2, 0, 1, 6, 5},
    {"kernel = input: global pooling", 2, 5, 5, 10, 5, 5, 1, 1, 0, 0, 1, 1},
    {"1x1 input, padding = kernel - 1", 1, 1, 1, 4, 3, 3, 1, 1, 2, 2, 3, 3},
    {"kernel larger than input, padded", 2, 2, 3, 2, 4, 4, 2, 2, 1, 2, 1, 2},
    {"64 channels (vector width and tail)", 2, 4, 4, 64, 2, 2, 2, 2, 0, 0, 2, 2},
    /* k2 s2 p0 with few channels: pool.c's constant-C loops, one per case of SMALL_C */
    {"k2 s2, 6 channels (sigmoid-cnn, lenet5)", 3, 24, 24, 6, 2, 2, 2, 2, 0, 0, 12, 12},
    {"k2 s2, 12 channels (sigmoid-cnn)", 2, 8, 8, 12, 2, 2, 2, 2, 0, 0, 4, 4},
    {"k2 s2, 4 channels (avgpool-cnn)", 2, 14, 14, 4, 2, 2, 2, 2, 0, 0, 7, 7},
    {"k2 s2, 8 channels", 1, 6, 10, 8, 2, 2, 2, 2, 0, 0, 3, 5},
    {"k2 s2, 16 channels (lenet5)", 2, 10, 10, 16, 2, 2, 2, 2, 0, 0, 5, 5},
    {"k2 s2, 3 channels, odd sizes", 2, 9, 7, 3, 2, 2, 2, 2, 0, 0, 4, 3},
    {"k2 s2, 2 channels", 1, 4, 6, 2, 2, 2, 2, 2, 0, 0, 2, 3},
    {"k2 s2, 1 channel, odd width", 2, 6, 9, 1, 2, 2, 2, 2, 0, 0, 3, 4},
    {"k2 s2, 6 channels, rows wider than the stack row", 1, 4, 420, 6, 2, 2, 2, 2, 0, 0, 2, 210},
    {"k2 s2, 5 channels (no constant-C case)", 2, 6, 6, 5, 2, 2, 2, 2, 0, 0, 3, 3},
};

/* Per-op statistics the lead reports: configurations run and the largest error seen. */
static int configs;
static double max_fwd, max_bwd, avg_fwd, avg_bwd, lp_fwd, lp_bwd;

/* L^p exponents the table and sweep cycle through: the norm's ends, the default, odd ones */
static const float lp_ps[] = {2.0f, 1.0f, 3.0f, 7.5f, 1.5f, 100.0f};

static void fill_nan(float *a, size_t len)
{
	for (size_t i = 0; i < len; i++) a[i] = NAN;
}

/*
 * Fast vs reference for one configuration, both ops. quantize draws x from {-2..2} so ties
 * are everywhere and the shared tie rule (first maximum in ky, kx order) is exercised.
 */
static void run_case(const struct pcase *pc, struct tu_rng *r, bool quantize)
{
	char cfg[256];
	snprintf(cfg, sizeof cfg, "%s: n%d %dx%dx%d k%dx%d s%dx%d p%dx%d%s", pc->desc, pc->n, pc->h,
	         pc->w, pc->c, pc->kh, pc->kw, pc->sh, pc->sw, pc->ph, pc->pw,
	         quantize ? " ties" : "");
	struct cn_geom g;
	char err[CN_ERR_LEN];
	enum cn_status st = cn_geom_init(&g, pc->h, pc->w, pc->c, pc->kh, pc->kw, pc->sh, pc->sw,
	                                 pc->ph, pc->pw, err);
	if (st != CN_OK) print_error("%s: %s\n", cfg, err);
	assert_int_equal(st, CN_OK);
	if (pc->ho) {
		assert_int_equal(g.ho, pc->ho);
		assert_int_equal(g.wo, pc->wo);
	}
	size_t xl = (size_t)pc->n * pc->h * pc->w * pc->c;
	size_t yl = (size_t)pc->n * g.ho * g.wo * pc->c;
	size_t img = (size_t)pc->h * pc->w * pc->c;
	float *xd = tu_floats(xl), *dx = tu_floats(xl), *dxr = tu_floats(xl);
	float *y = tu_floats(yl), *yr = tu_floats(yl), *dyd = tu_floats(yl);
	int32_t *am = tu_alloc(yl * sizeof(int32_t)), *amr = tu_alloc(yl * sizeof(int32_t));
	tu_fill_uniform(r, xd, xl, -1, 1);
	if (quantize)
		for (size_t i = 0; i < xl; i++) xd[i] = (float)tu_int(r, -2, 2);
	tu_fill_uniform(r, dyd, yl, -1, 1);
	struct cn_tensor x = cn_tensor_make(xd, pc->n, pc->h, pc->w, pc->c);
	struct cn_tensor ty = cn_tensor_make(y, pc->n, g.ho, g.wo, pc->c);
	struct cn_tensor tyr = cn_tensor_make(yr, pc->n, g.ho, g.wo, pc->c);
	struct cn_tensor dy = cn_tensor_make(dyd, pc->n, g.ho, g.wo, pc->c);
	struct cn_tensor tdx = cn_tensor_make(dx, pc->n, pc->h, pc->w, pc->c);
	struct cn_tensor tdxr = cn_tensor_make(dxr, pc->n, pc->h, pc->w, pc->c);

	/* max: outputs and dx start as garbage, so anything not written shows up as NaN */
	fill_nan(y, yl);
	fill_nan(yr, yl);
	memset(am, 0x5a, yl * sizeof(int32_t));
	memset(amr, 0xa5, yl * sizeof(int32_t));
	cn_maxpool2d_forward(&g, &x, &ty, am);
	cn_maxpool2d_forward_ref(&g, &x, &tyr, amr);
	tu_track(&max_fwd, tu_check_close("maxpool forward", y, yr, yl, TOL, cfg));
	for (size_t i = 0; i < yl; i++) {
		size_t n = i / ((size_t)g.ho * g.wo * pc->c);
		bool ok = am[i] == amr[i] && am[i] >= 0 && (size_t)am[i] < img &&
		          xd[n * img + (size_t)am[i]] == y[i];
		if (!ok) {
			print_error("maxpool argmax [%zu]: got %d want %d (%s)\n", i, am[i], amr[i],
			            cfg);
			fail();
		}
	}
	fill_nan(dx, xl);
	fill_nan(dxr, xl);
	cn_maxpool2d_backward(&g, &dy, am, &tdx);
	cn_maxpool2d_backward_ref(&g, &dy, amr, &tdxr);
	tu_track(&max_bwd, tu_check_close("maxpool backward", dx, dxr, xl, TOL, cfg));

	/* avg */
	fill_nan(y, yl);
	fill_nan(yr, yl);
	cn_avgpool2d_forward(&g, &x, &ty);
	cn_avgpool2d_forward_ref(&g, &x, &tyr);
	tu_track(&avg_fwd, tu_check_close("avgpool forward", y, yr, yl, TOL, cfg));
	fill_nan(dx, xl);
	fill_nan(dxr, xl);
	cn_avgpool2d_backward(&g, &dy, &tdx);
	cn_avgpool2d_backward_ref(&g, &dy, &tdxr);
	tu_track(&avg_bwd, tu_check_close("avgpool backward", dx, dxr, xl, TOL, cfg));

	/* L^p: quantized inputs give all-zero windows (y = 0, no gradient) and zero elements */
	float p = lp_ps[configs % (int)(sizeof lp_ps / sizeof lp_ps[0])];
	char lcfg[300];
	snprintf(lcfg, sizeof lcfg, "%s p=%g", cfg, (double)p);
	fill_nan(y, yl);
	fill_nan(yr, yl);
	cn_lppool2d_forward(&g, p, &x, &ty);
	cn_lppool2d_forward_ref(&g, p, &x, &tyr);
	tu_track(&lp_fwd, tu_check_close("lppool forward", y, yr, yl, TOL, lcfg));
	fill_nan(dx, xl);
	fill_nan(dxr, xl);
	cn_lppool2d_backward(&g, p, &x, &dy, &tdx);
	cn_lppool2d_backward_ref(&g, p, &x, &dy, &tdxr);
	/* (|x|/y)^(p-1) multiplies y's float rounding by p - 1: at p = 100 that is ~1e-4 */
	double lp_tol = p > 10.0f ? TOL * p / 10.0 : TOL;
	tu_track(&lp_bwd, tu_check_close("lppool backward", dx, dxr, xl, lp_tol, lcfg));
	configs++;
	free(xd), free(dx), free(dxr), free(y), free(yr), free(dyd), free(am), free(amr);
}

static void test_edges(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(1);
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
		run_case(&edges[i], &r, false);
		run_case(&edges[i], &r, true);
	}
}

static void test_sweep(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(2);
	for (int t = 0; t < SWEEP; t++) {
		struct pcase pc = {.desc = "sweep",
		                   .n = tu_int(&r, 1, 4),
		                   .h = tu_int(&r, 1, 20),
		                   .w = tu_int(&r, 1, 20),
		                   .c = tu_int(&r, 1, 64)};
		/* draw until the window fits its padded input */
		do {
			pc.kh = tu_int(&r, 1, 5), pc.kw = tu_int(&r, 1, 5);
			pc.ph = tu_int(&r, 0, pc.kh - 1), pc.pw = tu_int(&r, 0, pc.kw - 1);
		} while (pc.kh > pc.h + 2 * pc.ph || pc.kw > pc.w + 2 * pc.pw);
		pc.sh = tu_int(&r, 1, 3), pc.sw = tu_int(&r, 1, 3);
		run_case(&pc, &r, t % 3 == 0);
	}
	print_message("pool: %d configurations (edge table x2 + sweep of %d); largest rel err: "
	              "maxpool fwd %.3g bwd %.3g, avgpool fwd %.3g bwd %.3g, lppool fwd %.3g bwd "
	              "%.3g\n",
	              configs, SWEEP, max_fwd, max_bwd, avg_fwd, avg_bwd, lp_fwd, lp_bwd);
}

/* One 1-image, 1-channel case with known outputs; want_am/want_dx may be NULL. */
static void hand(const char *what, bool maxp, int32_t h, int32_t w, int32_t kh, int32_t kw,
                 int32_t s, int32_t p, const float *xv, const float *want_y, const int32_t *want_am,
                 const float *dyv, const float *want_dx)
{
	struct cn_geom g;
	assert_int_equal(cn_geom_init(&g, h, w, 1, kh, kw, s, s, p, p, NULL), CN_OK);
	size_t yl = (size_t)g.ho * g.wo, xl = (size_t)h * w;
	float y[64], dx[64];
	int32_t am[64];
	assert_true(yl <= 64 && xl <= 64);
	struct cn_tensor x = cn_tensor_make((float *)xv, 1, h, w, 1);
	struct cn_tensor ty = cn_tensor_make(y, 1, g.ho, g.wo, 1);
	struct cn_tensor dy = cn_tensor_make((float *)dyv, 1, g.ho, g.wo, 1);
	struct cn_tensor tdx = cn_tensor_make(dx, 1, h, w, 1);
	for (int ref = 0; ref < 2; ref++) {
		char cfg[96];
		snprintf(cfg, sizeof cfg, "%s (%s)", what, ref ? "ref" : "fast");
		fill_nan(dx, xl);
		if (maxp) {
			(ref ? cn_maxpool2d_forward_ref : cn_maxpool2d_forward)(&g, &x, &ty, am);
			if (want_am)
				for (size_t i = 0; i < yl; i++) assert_int_equal(am[i], want_am[i]);
			if (dyv)
				(ref ? cn_maxpool2d_backward_ref : cn_maxpool2d_backward)(&g, &dy,
				                                                          am, &tdx);
		} else {
			(ref ? cn_avgpool2d_forward_ref : cn_avgpool2d_forward)(&g, &x, &ty);
			if (dyv)
				(ref ? cn_avgpool2d_backward_ref : cn_avgpool2d_backward)(&g, &dy,
				                                                          &tdx);
		}
		tu_check_close("hand y", y, want_y, yl, 1e-6, cfg);
		if (dyv) tu_check_close("hand dx", dx, want_dx, xl, 1e-6, cfg);
	}
}

static void test_hand(void **state)
{
	(void)state;
	float x16[16];
	for (int i = 0; i < 16; i++) x16[i] = (float)(i + 1);
	const float mx[] = {6, 8, 14, 16}, av[] = {3.5f, 5.5f, 11.5f, 13.5f}, dy4[] = {1, 2, 3, 4};
	const int32_t am4[] = {5, 7, 13, 15};
	const float dmx[] = {0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4};
	const float dav[] = {.25f, .25f, .5f, .5f, .25f, .25f, .5f, .5f,
	                     .75f, .75f, 1,   1,   .75f, .75f, 1,   1};
	hand("4x4 k2 s2 max", true, 4, 4, 2, 2, 2, 0, x16, mx, am4, dy4, dmx);
	hand("4x4 k2 s2 avg", false, 4, 4, 2, 2, 2, 0, x16, av, NULL, dy4, dav);

	/* all -1 with padding 1: a zero pad would win a max; an avg counts it as a zero */
	float neg[9];
	for (int i = 0; i < 9; i++) neg[i] = -1;
	const float c = -4.f / 9, e = -6.f / 9;
	const float negavg[] = {c, e, c, e, -1, e, c, e, c};
	hand("all -1, k3 s1 p1 max: padding never wins", true, 3, 3, 3, 3, 1, 1, neg, neg, NULL,
	     NULL, NULL);
	hand("all -1, k3 s1 p1 avg: padding counts as zero", false, 3, 3, 3, 3, 1, 1, neg, negavg,
	     NULL, NULL, NULL);

	/* overlapping windows [0..2] and [2..4] both pick element 2: backward adds 1 + 2 */
	const float row[] = {0, 1, 5, 1, 0}, row_y[] = {5, 5}, row_dy[] = {1, 2};
	const float row_dx[] = {0, 0, 3, 0, 0};
	const int32_t row_am[] = {2, 2};
	hand("1x5 k1x3 s2: overlapping windows add", true, 1, 5, 1, 3, 2, 0, row, row_y, row_am,
	     row_dy, row_dx);

	/* ties: every window's first in-image element in (ky, kx) order is (0, 0) */
	const float tie[] = {3, 3, 3, 3}, tie_y[] = {3, 3, 3, 3};
	const int32_t tie_am[] = {0, 0, 0, 0};
	hand("2x2 all equal, k3 s1 p1: first maximum wins", true, 2, 2, 3, 3, 1, 1, tie, tie_y,
	     tie_am, NULL, NULL);
}

/* One 1-image, 1-channel L^p case with known y and dx (dy = 1 everywhere), fast and ref. */
static void hand_lp(const char *what, float p, int32_t h, int32_t w, int32_t kh, int32_t kw,
                    int32_t s, const float *xv, const float *want_y, const float *want_dx)
{
	struct cn_geom g;
	assert_int_equal(cn_geom_init(&g, h, w, 1, kh, kw, s, s, 0, 0, NULL), CN_OK);
	size_t yl = (size_t)g.ho * g.wo, xl = (size_t)h * w;
	float y[16], dx[16], ones[16];
	assert_true(yl <= 16 && xl <= 16);
	for (int i = 0; i < 16; i++) ones[i] = 1.0f;
	struct cn_tensor x = cn_tensor_make((float *)xv, 1, h, w, 1);
	struct cn_tensor ty = cn_tensor_make(y, 1, g.ho, g.wo, 1);
	struct cn_tensor dy = cn_tensor_make(ones, 1, g.ho, g.wo, 1);
	struct cn_tensor tdx = cn_tensor_make(dx, 1, h, w, 1);
	for (int ref = 0; ref < 2; ref++) {
		char cfg[96];
		snprintf(cfg, sizeof cfg, "%s (%s)", what, ref ? "ref" : "fast");
		fill_nan(y, yl);
		fill_nan(dx, xl);
		(ref ? cn_lppool2d_forward_ref : cn_lppool2d_forward)(&g, p, &x, &ty);
		(ref ? cn_lppool2d_backward_ref : cn_lppool2d_backward)(&g, p, &x, &dy, &tdx);
		tu_check_close("hand y", y, want_y, yl, 1e-5, cfg);
		tu_check_close("hand dx", dx, want_dx, xl, 1e-5, cfg);
	}
}

static void test_hand_lppool(void **state)
{
	(void)state;
	/* windows {3, -4, 0, 0} and {0, 0, 0, 0}: the first has a zero element (gradient 0
	   there, not NaN), the second is all zero: y = 0 and, by definition, no gradient */
	const float x[] = {3, -4, 0, 0, 0, 0, 0, 0}; /* 2x4: two 2x2 windows */
	const float y2[] = {5, 0}, dx2[] = {.6f, -.8f, 0, 0, 0, 0, 0, 0};
	hand_lp("p=2 (Euclidean), a zero window", 2.0f, 2, 4, 2, 2, 2, x, y2, dx2);
	const float y1[] = {7, 0}, dx1[] = {1, -1, 0, 0, 0, 0, 0, 0};
	hand_lp("p=1 (sum of |x|): sign(x), 0 at 0", 1.0f, 2, 4, 2, 2, 2, x, y1, dx1);
	/* p=3 on {1, 2}: y = 9^(1/3); dx = sign·(|x|/y)^2 */
	const float xr[] = {1, -2}, c = cbrtf(9.0f);
	const float y3[] = {c}, dx3[] = {1 / (c * c), -4 / (c * c)};
	hand_lp("p=3, 1x2 window", 3.0f, 1, 2, 1, 2, 1, xr, y3, dx3);
	/* p=100 on four equal 1000s: 1000·4^0.01 with no overflow, each gets 4^-0.99 */
	const float big[] = {1000, -1000, 1000, 1000};
	const float yb[] = {1000.0f * powf(4.0f, 0.01f)};
	const float g = powf(4.0f, -0.99f), dxb[] = {g, -g, g, g};
	hand_lp("p=100, large values: no overflow", 100.0f, 2, 2, 2, 2, 2, big, yb, dxb);
	/* overlapping windows k2 s1 on a 1x3 row {3, 4, 0}: the middle element is in both */
	const float row[] = {3, 4, 0}, yrow[] = {5, 4}, dxrow[] = {.6f, .8f + 1.0f, 0};
	hand_lp("p=2, overlapping 1x2 windows s1 add up", 2.0f, 1, 3, 1, 2, 1, row, yrow, dxrow);
}

/*
 * Non-finite input reaches the output, fast and ref, for every p: a NaN (even among zeros) gives
 * NaN, an Inf gives Inf, and backward passes NaN on. The fast version once scaled by 1/max|x|,
 * which is 0 for an Inf, and its max dropped NaNs: both windows came out 0, a diverged input
 * hidden from the loss.
 */
static void test_lppool_nonfinite(void **state)
{
	(void)state;
	/* 2x6: three 2x2 windows {0, NaN, 0, 0}, {1, Inf, 2, 0} and {NaN, -Inf, 3, 0} */
	const float x[] = {0, NAN, 1, INFINITY, NAN, -INFINITY, 0, 0, 2, 0, 3, 0};
	struct cn_geom g;
	assert_int_equal(cn_geom_init(&g, 2, 6, 1, 2, 2, 2, 2, 0, 0, NULL), CN_OK);
	float y[3], dx[12], ones[3] = {1, 1, 1};
	struct cn_tensor tx = cn_tensor_make((float *)x, 1, 2, 6, 1);
	struct cn_tensor ty = cn_tensor_make(y, 1, 1, 3, 1), dy = cn_tensor_make(ones, 1, 1, 3, 1);
	struct cn_tensor tdx = cn_tensor_make(dx, 1, 2, 6, 1);
	for (size_t k = 0; k < sizeof(lp_ps) / sizeof(lp_ps[0]); k++)
		for (int ref = 0; ref < 2; ref++) {
			float p = lp_ps[k];
			(ref ? cn_lppool2d_forward_ref : cn_lppool2d_forward)(&g, p, &tx, &ty);
			if (!isnan(y[0]) || !(isinf(y[1]) && y[1] > 0) || !isnan(y[2]))
				fail_msg("lppool p=%g (%s): y = %g %g %g, want nan inf nan",
				         (double)p, ref ? "ref" : "fast", (double)y[0],
				         (double)y[1], (double)y[2]);
			(ref ? cn_lppool2d_backward_ref : cn_lppool2d_backward)(&g, p, &tx, &dy,
			                                                        &tdx);
			if (p != 1.0f && !isnan(dx[1])) /* at p = 1, |x|^0 is 1 even for NaN */
				fail_msg("lppool p=%g (%s): dx at the NaN is %g", (double)p,
				         ref ? "ref" : "fast", (double)dx[1]);
		}
}

struct gctx {
	const struct cn_geom *g;
	struct cn_tensor x, y;
	int32_t *am;
	const float *r; /* [N, HO, WO, C] */
	bool maxp;
};

/* sum(r .* pool(x)) through the fast forward */
static double gloss(void *p)
{
	struct gctx *c = p;
	if (c->maxp)
		cn_maxpool2d_forward(c->g, &c->x, &c->y, c->am);
	else
		cn_avgpool2d_forward(c->g, &c->x, &c->y);
	double s = 0;
	for (size_t i = 0; i < cn_tensor_len(&c->y); i++) s += (double)c->r[i] * c->y.data[i];
	return s;
}

static void gradcheck(bool maxp, int32_t n, int32_t h, int32_t w, int32_t ch, int32_t k, int32_t s,
                      int32_t p, uint64_t seed, double *worst)
{
	struct tu_rng r = tu_rng_make(seed);
	struct cn_geom g;
	assert_int_equal(cn_geom_init(&g, h, w, ch, k, k, s, s, p, p, NULL), CN_OK);
	size_t xl = (size_t)n * h * w * ch, yl = (size_t)n * g.ho * g.wo * ch;
	float *xd = tu_floats(xl), *dx = tu_floats(xl), *y = tu_floats(yl), *rv = tu_floats(yl);
	int32_t *am = tu_alloc(yl * sizeof(int32_t));
	/* distinct values 0.05 apart in random order: no tie, and eps = 0.01 cannot reorder them */
	for (size_t i = 0; i < xl; i++) xd[i] = 0.05f * (float)i - 1.0f;
	for (size_t i = xl - 1; i > 0; i--) {
		size_t j = (size_t)tu_int(&r, 0, (int)i);
		float t = xd[i];
		xd[i] = xd[j], xd[j] = t;
	}
	tu_fill_uniform(&r, rv, yl, -1, 1);
	struct gctx c = {.g = &g, .am = am, .r = rv, .maxp = maxp};
	c.x = cn_tensor_make(xd, n, h, w, ch);
	c.y = cn_tensor_make(y, n, g.ho, g.wo, ch);
	struct cn_tensor dy = cn_tensor_make(rv, n, g.ho, g.wo, ch);
	struct cn_tensor tdx = cn_tensor_make(dx, n, h, w, ch);
	gloss(&c);
	if (maxp)
		cn_maxpool2d_backward(&g, &dy, am, &tdx);
	else
		cn_avgpool2d_backward(&g, &dy, &tdx);
	tu_track(worst, tu_gradcheck(maxp ? "maxpool grad" : "avgpool grad", gloss, &c, xd, xl, dx,
	                             1e-2, 1e-2, 4096));
	free(xd), free(dx), free(y), free(rv), free(am);
}

/* sum(r .* lppool(x)) through the fast forward */
struct lpctx {
	const struct cn_geom *g;
	float p;
	struct cn_tensor x, y;
	const float *r; /* [N, HO, WO, C] */
};

static double lploss(void *q)
{
	struct lpctx *c = q;
	cn_lppool2d_forward(c->g, c->p, &c->x, &c->y);
	double s = 0;
	for (size_t i = 0; i < cn_tensor_len(&c->y); i++) s += (double)c->r[i] * c->y.data[i];
	return s;
}

/* |x| in [0.2, 1] with random signs: central differences never straddle the kink at 0 */
static void lp_gradcheck(float p, int32_t n, int32_t h, int32_t w, int32_t ch, int32_t k, int32_t s,
                         int32_t pad, uint64_t seed, double *worst)
{
	struct tu_rng r = tu_rng_make(seed);
	struct cn_geom g;
	assert_int_equal(cn_geom_init(&g, h, w, ch, k, k, s, s, pad, pad, NULL), CN_OK);
	size_t xl = (size_t)n * h * w * ch, yl = (size_t)n * g.ho * g.wo * ch;
	float *xd = tu_floats(xl), *dx = tu_floats(xl), *y = tu_floats(yl), *rv = tu_floats(yl);
	for (size_t i = 0; i < xl; i++)
		xd[i] = tu_uniform(&r, 0.2f, 1.0f) * (tu_int(&r, 0, 1) ? 1.0f : -1.0f);
	tu_fill_uniform(&r, rv, yl, -1, 1);
	struct lpctx c = {.g = &g, .p = p, .r = rv};
	c.x = cn_tensor_make(xd, n, h, w, ch);
	c.y = cn_tensor_make(y, n, g.ho, g.wo, ch);
	struct cn_tensor dy = cn_tensor_make(rv, n, g.ho, g.wo, ch);
	struct cn_tensor tdx = cn_tensor_make(dx, n, h, w, ch);
	cn_lppool2d_backward(&g, p, &c.x, &dy, &tdx);
	char what[64];
	snprintf(what, sizeof what, "lppool p=%g k%d s%d p%d grad", (double)p, k, s, pad);
	tu_track(worst, tu_gradcheck(what, lploss, &c, xd, xl, dx, 1e-2, 2e-2, 4096));
	free(xd), free(dx), free(y), free(rv);
}

static void test_gradcheck_lppool(void **state)
{
	(void)state;
	double worst = 0;
	const float ps[] = {1.0f, 2.0f, 3.0f, 7.5f};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
		lp_gradcheck(ps[i], 2, 5, 5, 3, 3, 2, 1, 20 + i, &worst); /* overlapping, padded */
		lp_gradcheck(ps[i], 1, 4, 6, 2, 2, 2, 0, 30 + i, &worst); /* tiling */
		lp_gradcheck(ps[i], 1, 5, 4, 3, 2, 3, 0, 40 + i, &worst); /* stride > kernel */
	}
	print_message("lppool gradcheck: 3 shapes x p in {1, 2, 3, 7.5}; largest error %.3g\n",
	              worst);
}

/*
 * Overlapping max pooling as AlexNet has it (kernel 3, stride 2): ties inside and across the
 * shared rows and columns go to the first maximum of each window, and an element two windows
 * pick receives both gradients.
 */
static void test_overlapping_max(void **state)
{
	(void)state;
	/* 5x5 of ones but a 9 at the centre (2,2), which all four 3x3 windows s2 contain */
	float x[25], ones[25];
	for (int i = 0; i < 25; i++) x[i] = 1.0f;
	x[12] = 9.0f;
	const float y9[] = {9, 9, 9, 9}, dy[] = {1, 2, 3, 4};
	const int32_t am9[] = {12, 12, 12, 12};
	float dx9[25] = {0};
	dx9[12] = 10.0f;
	hand("5x5 k3 s2: the shared centre wins every window", true, 5, 5, 3, 3, 2, 0, x, y9, am9,
	     dy, dx9);
	/* all ones: each window's first element (its top-left) wins, shared or not */
	for (int i = 0; i < 25; i++) ones[i] = 1.0f;
	const float y1[] = {1, 1, 1, 1};
	const int32_t am1[] = {0, 2, 10, 12};
	float dx1[25] = {0};
	dx1[0] = 1, dx1[2] = 2, dx1[10] = 3, dx1[12] = 4;
	hand("5x5 k3 s2 all equal: first maximum of each window", true, 5, 5, 3, 3, 2, 0, ones, y1,
	     am1, dy, dx1);
	double worst = 0;
	gradcheck(true, 2, 13, 13, 3, 3, 2, 0, 14, &worst); /* AlexNet's 13x13 -> 6x6 */
	gradcheck(true, 1, 7, 9, 2, 3, 2, 1, 15, &worst);
}

static void test_gradcheck(void **state)
{
	(void)state;
	double wm = 0, wa = 0;
	for (int m = 0; m < 2; m++) {
		double *w = m ? &wm : &wa;
		gradcheck(m, 2, 5, 5, 3, 3, 2, 1, 10, w); /* overlapping, padded */
		gradcheck(m, 1, 4, 6, 2, 2, 2, 0, 11, w); /* tiling */
		gradcheck(m, 2, 7, 7, 2, 2, 2, 1, 12, w); /* deep-cnn's maxpool 2 p1 */
		gradcheck(m, 1, 5, 4, 3, 2, 3, 0, 13, w); /* stride > kernel */
	}
	print_message("pool gradcheck: 4 shapes per op; largest error: maxpool %.3g avgpool "
	              "%.3g\n",
	              wm, wa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hand),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_sweep),
	    cmocka_unit_test(test_gradcheck),
	    cmocka_unit_test(test_hand_lppool),
	    cmocka_unit_test(test_gradcheck_lppool),
	    cmocka_unit_test(test_lppool_nonfinite),
	    cmocka_unit_test(test_overlapping_max),
	};
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
