/*
 * rbf: the GEMM version against the definition-following reference, forward and backward, both
 * kernels, over a table of hand-picked shapes (batch 1, D = 1, K = 1) and a seeded sweep;
 * backward semantics (dmu/dlg accumulate, dx overwritten, dx NULL skipped); the clamp at 0
 * when x = μ; values by hand; central-difference gradient checks of x, μ and log γ.
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

#include "colnet.h"
#include "gemm.h"
#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

/* the thread count a plan made now would give the op */
#define THREADS cn_gemm_threads()

#define TOL      1e-4
#define NEAR_TOL 1e-5
#define SWEEP    120
#define LEN(a)   (sizeof(a) / sizeof((a)[0]))

struct cfg {
	const char *desc;
	int32_t n, d, k;
};

static const struct cfg edges[] = {
    {"1 unit, 1 feature, batch 1", 1, 1, 1},
    {"batch 1", 1, 17, 9},
    {"one feature (D = 1)", 6, 1, 5},
    {"one unit (K = 1)", 5, 12, 1},
    {"odd sizes", 7, 33, 17},
    {"cnn-rbf's 192 features to 100 units", 4, 192, 100},
    {"many units, few features", 3, 2, 130},
    {"large batch, tiny layer", 257, 3, 2},
    {"GEMM columns and rows shared among threads", 333, 20, 101},
};

struct stats {
	int configs;
	double y, dx, dmu, dlg;
};

static const char *kname(enum cn_rbf_kind kind)
{
	return kind == CN_RBF_GAUSSIAN ? "gaussian" : "imq";
}

/*
 * Fast vs reference for one shape and kernel. Inputs in [-1, 1), log γ in [-3, 0) so r spans
 * small and large values; dmu/dlg start nonzero (must accumulate), y/dx start NaN (must be
 * overwritten). Backward runs again with dx = NULL: the parameter gradients must not change.
 */
static void run(const struct cfg *c, enum cn_rbf_kind kind, struct stats *st)
{
	char name[200];
	snprintf(name, sizeof(name), "%s: n%d d%d k%d %s", c->desc, c->n, c->d, c->k, kname(kind));
	const size_t xl = (size_t)c->n * c->d, yl = (size_t)c->n * c->k, ml = (size_t)c->k * c->d;
	struct tu_rng r = tu_rng_make(900 + (uint64_t)st->configs);
	float *x = tu_rand_floats(&r, xl), *mu = tu_rand_floats(&r, ml),
	      *dy = tu_rand_floats(&r, yl);
	float *lg = tu_floats((size_t)c->k);
	tu_fill_uniform(&r, lg, (size_t)c->k, -3.0f, 0.0f);
	float *y = tu_nans(yl), *yr = tu_nans(yl), *rc = tu_nans(yl), *e = tu_nans(yl);
	float *dx = tu_nans(xl), *dxr = tu_nans(xl), *ws = tu_nans(cn_rbf_ws_len(c->k));
	float *dmu = tu_rand_floats(&r, ml), *dmur = tu_copy(dmu, ml), *dmu2 = tu_copy(dmu, ml);
	float *dlg = tu_rand_floats(&r, (size_t)c->k), *dlgr = tu_copy(dlg, (size_t)c->k),
	      *dlg2 = tu_copy(dlg, (size_t)c->k);

	cn_rbf_forward(kind, THREADS, c->n, c->d, c->k, mu, lg, x, y, rc, ws);
	cn_rbf_forward_ref(kind, c->n, c->d, c->k, mu, lg, x, yr);
	tu_track(&st->y, tu_check_close("y", y, yr, yl, TOL, name));
	for (size_t i = 0; i < yl; i++) assert_true(rc[i] >= 0.0f && isfinite(rc[i]));

	cn_rbf_backward(kind, THREADS, c->n, c->d, c->k, mu, lg, x, rc, dy, dx, dmu, dlg, e, ws);
	cn_rbf_backward(kind, THREADS, c->n, c->d, c->k, mu, lg, x, rc, dy, NULL, dmu2, dlg2, e,
	                ws);
	cn_rbf_backward_ref(kind, c->n, c->d, c->k, mu, lg, x, dy, dxr, dmur, dlgr);
	tu_track(&st->dx, tu_check_close("dx", dx, dxr, xl, TOL, name));
	tu_track(&st->dmu, tu_check_close("dmu", dmu, dmur, ml, TOL, name));
	tu_track(&st->dmu, tu_check_close("dmu (dx NULL)", dmu2, dmur, ml, TOL, name));
	tu_track(&st->dlg, tu_check_close("dlg", dlg, dlgr, (size_t)c->k, TOL, name));
	tu_track(&st->dlg, tu_check_close("dlg (dx NULL)", dlg2, dlgr, (size_t)c->k, TOL, name));
	st->configs++;
	free(x), free(mu), free(dy), free(lg), free(y), free(yr), free(rc), free(e), free(dx);
	free(dxr), free(ws), free(dmu), free(dmur), free(dmu2), free(dlg), free(dlgr), free(dlg2);
}

static void test_edges_and_sweep(void **state)
{
	(void)state;
	struct stats st = {0};
	for (int kind = 0; kind < CN_RBF_COUNT; kind++)
		for (size_t i = 0; i < LEN(edges); i++) run(&edges[i], (enum cn_rbf_kind)kind, &st);
	struct tu_rng r = tu_rng_make(77);
	for (int t = 0; t < SWEEP; t++) {
		struct cfg c = {"sweep", tu_int(&r, 1, 9), tu_int(&r, 1, 40), tu_int(&r, 1, 30)};
		run(&c, (enum cn_rbf_kind)(t % 2), &st);
	}
	print_message("rbf: %d configurations; largest rel err y %.3g dx %.3g dmu %.3g dlg %.3g\n",
	              st.configs, st.y, st.dx, st.dmu, st.dlg);
}

/* Values by hand: x = (1, 2), μ = (1, 0), γ = 0.5: ‖x − μ‖² = 4, r = 2. */
static void test_hand(void **state)
{
	(void)state;
	const float x[] = {1, 2}, mu[] = {1, 0}, lg[] = {logf(0.5f)};
	float y, r, ws[3];
	cn_rbf_forward(CN_RBF_GAUSSIAN, THREADS, 1, 2, 1, mu, lg, x, &y, &r, ws);
	assert_true(fabsf(r - 2.0f) < 1e-5f && fabsf(y - expf(-2.0f)) < 1e-6f);
	cn_rbf_forward(CN_RBF_IMQ, THREADS, 1, 2, 1, mu, lg, x, &y, &r, ws);
	assert_true(fabsf(y - 1.0f / sqrtf(3.0f)) < 1e-6f);
}

/*
 * x = μ far from the origin: ‖x‖² − 2x·μ + ‖μ‖² cancels to a rounding error of either sign.
 * The clamp keeps r >= 0, so y <= 1 (a Gaussian above 1 would be no distance at all).
 */
static void test_clamp(void **state)
{
	(void)state;
	enum { D = 37 };
	float x[D], mu[2 * D], lg[2] = {3.0f, 3.0f}, y[2], r[2], ws[6];
	for (int i = 0; i < D; i++) {
		x[i] = 300.0f + 0.37f * (float)i;
		mu[i] = x[i];
		mu[D + i] = x[i] + (i == 0 ? 1e-3f : 0.0f);
	}
	for (int kind = 0; kind < CN_RBF_COUNT; kind++) {
		cn_rbf_forward((enum cn_rbf_kind)kind, THREADS, 1, D, 2, mu, lg, x, y, r, ws);
		for (int j = 0; j < 2; j++)
			assert_true(r[j] >= 0.0f && isfinite(r[j]) && y[j] <= 1.0f && y[j] > 0.0f);
	}
}

/*
 * Huge distances: γ‖x−μ‖² overflows float to Inf (here 5e21 · 1e20), the unit answers 0 and
 * every gradient must be 0 as in the reference (r·f'(r) → 0 as r → ∞), not 0·Inf = NaN in
 * dlg, which would poison the parameters on the next step.
 */
static void test_huge_distance(void **state)
{
	(void)state;
	/* unit 0: r = Inf; unit 1 (γ = 1): r = 1e20, finite */
	const float x[] = {1e10f, 0.5f}, mu[] = {0.0f, 0.5f, 0.0f, 0.0f}, lg[] = {50.0f, 0.0f};
	for (int kind = 0; kind < CN_RBF_COUNT; kind++) {
		float y[2], r[2], ws[6], e[2], dx[2], dmu[4] = {0}, dlg[2] = {0};
		float yr[2], dxr[2], dmur[4] = {0}, dlgr[2] = {0};
		const float dy[] = {1.0f, 1.0f};
		cn_rbf_forward((enum cn_rbf_kind)kind, THREADS, 1, 2, 2, mu, lg, x, y, r, ws);
		cn_rbf_backward((enum cn_rbf_kind)kind, THREADS, 1, 2, 2, mu, lg, x, r, dy, dx, dmu,
		                dlg, e, ws);
		cn_rbf_forward_ref((enum cn_rbf_kind)kind, 1, 2, 2, mu, lg, x, yr);
		cn_rbf_backward_ref((enum cn_rbf_kind)kind, 1, 2, 2, mu, lg, x, dy, dxr, dmur,
		                    dlgr);
		const char *k = kname((enum cn_rbf_kind)kind);
		tu_check_close("huge y", y, yr, 2, TOL, k);
		tu_check_close("huge dx", dx, dxr, 2, TOL, k);
		tu_check_close("huge dmu", dmu, dmur, 4, TOL, k);
		tu_check_close("huge dlg", dlg, dlgr, 2, TOL, k);
		for (int i = 0; i < 2; i++)
			if (!isfinite(dlg[i])) fail_msg("%s: dlg[%d] = %g", k, i, (double)dlg[i]);
	}
}

struct gctx {
	enum cn_rbf_kind kind;
	int32_t n, d, k;
	const float *x, *mu, *lg, *w; /* w [N, K]: loss = Σ w·y */
	float *y, *ws;
};

static double gloss(void *p)
{
	struct gctx *c = p;
	cn_rbf_forward(c->kind, THREADS, c->n, c->d, c->k, c->mu, c->lg, c->x, c->y, NULL, c->ws);
	double s = 0;
	for (size_t i = 0; i < (size_t)c->n * c->k; i++) s += (double)c->w[i] * c->y[i];
	return s;
}

/*
 * x, μ, log γ each against central differences, through the fast forward. The step is 0.03:
 * the loss is smooth, and at 0.003 float rounding of the loss swamps the tiny log γ gradient
 * of a 1x1x1 case (8% apparent error).
 */
static void gradcheck(enum cn_rbf_kind kind, int32_t n, int32_t d, int32_t k, uint64_t seed,
                      double *worst)
{
	struct tu_rng r = tu_rng_make(seed);
	const size_t xl = (size_t)n * d, yl = (size_t)n * k, ml = (size_t)k * d;
	float *x = tu_rand_floats(&r, xl), *mu = tu_rand_floats(&r, ml),
	      *w = tu_rand_floats(&r, yl);
	float *lg = tu_floats((size_t)k);
	tu_fill_uniform(&r, lg, (size_t)k, -1.5f, 0.0f);
	float *y = tu_floats(yl), *rc = tu_floats(yl), *e = tu_floats(yl);
	float *ws = tu_floats(cn_rbf_ws_len(k)), *dx = tu_floats(xl);
	float *dmu = tu_floats(ml), *dlg = tu_floats((size_t)k);
	memset(dmu, 0, ml * sizeof(float));
	memset(dlg, 0, (size_t)k * sizeof(float));
	cn_rbf_forward(kind, THREADS, n, d, k, mu, lg, x, y, rc, ws);
	cn_rbf_backward(kind, THREADS, n, d, k, mu, lg, x, rc, w, dx, dmu, dlg, e, ws);
	struct gctx c = {kind, n, d, k, x, mu, lg, w, y, ws};
	char what[64];
	snprintf(what, sizeof what, "%s n%d d%d k%d dx", kname(kind), n, d, k);
	tu_track(worst, tu_gradcheck(what, gloss, &c, x, xl, dx, 3e-2, 2e-2, 512));
	snprintf(what, sizeof what, "%s n%d d%d k%d dmu", kname(kind), n, d, k);
	tu_track(worst, tu_gradcheck(what, gloss, &c, mu, ml, dmu, 3e-2, 2e-2, 512));
	snprintf(what, sizeof what, "%s n%d d%d k%d dlg", kname(kind), n, d, k);
	tu_track(worst, tu_gradcheck(what, gloss, &c, lg, (size_t)k, dlg, 3e-2, 2e-2, 512));
	free(x), free(mu), free(w), free(lg), free(y), free(rc), free(e), free(ws), free(dx);
	free(dmu), free(dlg);
}

static void test_gradcheck(void **state)
{
	(void)state;
	double worst = 0;
	for (int kind = 0; kind < CN_RBF_COUNT; kind++) {
		gradcheck((enum cn_rbf_kind)kind, 1, 1, 1, 30, &worst);
		gradcheck((enum cn_rbf_kind)kind, 3, 5, 4, 31, &worst);
		gradcheck((enum cn_rbf_kind)kind, 2, 1, 6, 32, &worst);
		gradcheck((enum cn_rbf_kind)kind, 4, 9, 1, 33, &worst);
	}
	print_message("rbf gradcheck: 4 shapes x 2 kernels, x, mu and log gamma; largest error "
	              "%.3g\n",
	              worst);
}

/*
 * Forward shares rows out among threads past CN_PAR_MIN_LEN elements: the same bits from
 * one thread and from two, for both kernels. D is small so that OpenBLAS keeps the GEMM on
 * one thread either way (its own threading may change the GEMM's bits).
 */
static void test_threads_same_bits(void **state)
{
	(void)state;
	enum { N = 400, D = 3, K = 97 };
	struct tu_rng r = tu_rng_make(5);
	float *x = tu_rand_floats(&r, (size_t)N * D), *mu = tu_rand_floats(&r, (size_t)K * D);
	float *lg = tu_floats(K), *ws = tu_floats(cn_rbf_ws_len(K));
	tu_fill_uniform(&r, lg, K, -3.0f, 0.0f);
	float *y1 = tu_nans((size_t)N * K), *y2 = tu_nans((size_t)N * K);
	float *r1 = tu_nans((size_t)N * K), *r2 = tu_nans((size_t)N * K);
	for (int kind = 0; kind < CN_RBF_COUNT; kind++) {
		assert_int_equal(cn_set_blas_threads(1), CN_OK);
		cn_rbf_forward((enum cn_rbf_kind)kind, 1, N, D, K, mu, lg, x, y1, r1, ws);
		assert_int_equal(cn_set_blas_threads(2), CN_OK);
		cn_rbf_forward((enum cn_rbf_kind)kind, 2, N, D, K, mu, lg, x, y2, r2, ws);
		assert_memory_equal(y1, y2, (size_t)N * K * sizeof(float));
		assert_memory_equal(r1, r2, (size_t)N * K * sizeof(float));
	}
	free(x), free(mu), free(lg), free(ws), free(y1), free(y2), free(r1), free(r2);
}

/*
 * Centres near their inputs (issue 21): rbf 7 gaussian | linear 4 on 3x9x11 inputs, batch 7,
 * centre j within 0.01 of input j in every element. ‖x‖² ≈ 99 while ‖x − μ‖² ≈ 0.03, so
 * ‖x‖² − 2x·μ + ‖μ‖² in float keeps about three digits (2.8e-3 relative before the fix).
 * Outputs, the linear layer's outputs and every gradient within 1e-5 of the float64
 * reference, both kernels.
 */
static void test_near_centres(void **state)
{
	(void)state;
	enum { N = 7, D = 3 * 9 * 11, K = 7, OUT = 4 };
	struct tu_rng r = tu_rng_make(21);
	float *x = tu_rand_floats(&r, (size_t)N * D), *mu = tu_floats((size_t)K * D);
	for (size_t j = 0; j < (size_t)K * D; j++)
		mu[j] = x[j] + (tu_int(&r, 0, 1) ? 0.01f : -0.01f);
	float lg[K], w[OUT * K], dz[N * OUT];
	for (int j = 0; j < K; j++) lg[j] = logf(75.0f / D); /* the layer's initial width */
	tu_fill_uniform(&r, w, OUT * K, -1.0f, 1.0f);
	tu_fill_uniform(&r, dz, N * OUT, -1.0f, 1.0f);
	float dy[N * K]; /* the linear layer's dx, the rbf layer's dy */
	for (int i = 0; i < N; i++)
		for (int j = 0; j < K; j++) {
			double s = 0;
			for (int o = 0; o < OUT; o++) s += (double)dz[i * OUT + o] * w[o * K + j];
			dy[i * K + j] = (float)s;
		}
	double worst = 0;
	for (int kind = 0; kind < CN_RBF_COUNT; kind++) {
		const char *kn = kname((enum cn_rbf_kind)kind);
		float y[N * K], yr[N * K], rc[N * K], e[N * K], z[N * OUT], zr[N * OUT];
		float *ws = tu_floats(cn_rbf_ws_len(K)), *dx = tu_floats((size_t)N * D),
		      *dxr = tu_floats((size_t)N * D), *dmu = tu_floats((size_t)K * D),
		      *dmur = tu_floats((size_t)K * D);
		memset(dmu, 0, (size_t)K * D * sizeof(float));
		memset(dmur, 0, (size_t)K * D * sizeof(float));
		float dlg[K] = {0}, dlgr[K] = {0};
		cn_rbf_forward((enum cn_rbf_kind)kind, THREADS, N, D, K, mu, lg, x, y, rc, ws);
		cn_rbf_forward_ref((enum cn_rbf_kind)kind, N, D, K, mu, lg, x, yr);
		float rr[N * K]; /* γ‖x − μ‖², in double */
		for (int i = 0; i < N; i++)
			for (int j = 0; j < K; j++) {
				double s = 0;
				for (int t = 0; t < D; t++) {
					double v = (double)x[i * D + t] - mu[j * D + t];
					s += v * v;
				}
				rr[i * K + j] = (float)(exp(lg[j]) * s);
			}
		cn_linear_forward_ref(N, K, OUT, w, NULL, y, z);
		cn_linear_forward_ref(N, K, OUT, w, NULL, yr, zr);
		cn_rbf_backward((enum cn_rbf_kind)kind, THREADS, N, D, K, mu, lg, x, rc, dy, dx,
		                dmu, dlg, e, ws);
		cn_rbf_backward_ref((enum cn_rbf_kind)kind, N, D, K, mu, lg, x, dy, dxr, dmur,
		                    dlgr);
		/* r of the near pairs (i = j) on their own scale, not the far pairs' */
		float rd[N], rrd[N];
		for (int i = 0; i < N; i++) rd[i] = rc[i * K + i], rrd[i] = rr[i * K + i];
		double er = tu_check_close("near r", rd, rrd, N, NEAR_TOL, kn);
		double ey = tu_check_close("near y", y, yr, N * K, NEAR_TOL, kn);
		double ez = tu_check_close("near linear outputs", z, zr, N * OUT, NEAR_TOL, kn);
		double ex = tu_check_close("near dx", dx, dxr, (size_t)N * D, NEAR_TOL, kn);
		double em = tu_check_close("near dmu", dmu, dmur, (size_t)K * D, NEAR_TOL, kn);
		double el = tu_check_close("near dlg", dlg, dlgr, K, NEAR_TOL, kn);
		print_message(
		    "rbf near centres, %s: relative error r %.3g, y %.3g, linear outputs %.3g, dx "
		    "%.3g, dmu %.3g, dlg %.3g\n",
		    kn, er, ey, ez, ex, em, el);
		tu_track(&worst, er), tu_track(&worst, ey), tu_track(&worst, ex),
		    tu_track(&worst, em);
		free(ws), free(dx), free(dxr), free(dmu), free(dmur);
	}
	free(x), free(mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hand),          cmocka_unit_test(test_clamp),
	    cmocka_unit_test(test_huge_distance), cmocka_unit_test(test_edges_and_sweep),
	    cmocka_unit_test(test_gradcheck),     cmocka_unit_test(test_threads_same_bits),
	    cmocka_unit_test(test_near_centres),
	};
	return cmocka_run_group_tests_name("rbf", tests, NULL, NULL);
}
