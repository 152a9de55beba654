/*
 * Activations: a table of hand-computed values and derivatives (including sigmoid and tanh at
 * ±1e4 and leaky relu with slope 0.001), fast vs reference on a seeded sweep with in-place
 * calls, central-difference gradient checks of every backward, and the fast sigmoid's and
 * tanh's own approximation (no libm) against double libm over every 4093rd float bit pattern,
 * NaN, ±0 and ±inf included, within 4 ulps.
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

#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

#define TOL   1e-4
#define SWEEP 200

static const char *const names[CN_ACT_COUNT] = {"identity", "relu", "leaky", "sigmoid", "tanh"};

struct acase {
	const char *desc;
	enum cn_act act;
	float slope, x;
	double y, dydx; /* expected act(x) and act'(x) */
};

static const struct acase edges[] = {
    {"identity passes through", CN_ACT_IDENTITY, 0, 3.5f, 3.5, 1},
    {"identity at -1e4", CN_ACT_IDENTITY, 0, -1e4f, -1e4, 1},
    {"relu, negative input", CN_ACT_RELU, 0, -2, 0, 0},
    {"relu, positive input", CN_ACT_RELU, 0, 2, 2, 1},
    {"relu at 0: value 0, gradient 0 (y > 0 decides)", CN_ACT_RELU, 0, 0, 0, 0},
    {"relu at 1e4", CN_ACT_RELU, 0, 1e4f, 1e4, 1},
    {"leaky 0.001, negative input", CN_ACT_LEAKY_RELU, 0.001f, -2, -0.002, 0.001},
    {"leaky 0.001, positive input", CN_ACT_LEAKY_RELU, 0.001f, 3, 3, 1},
    {"leaky 0.001 at -1e4", CN_ACT_LEAKY_RELU, 0.001f, -1e4f, -10, 0.001},
    {"leaky 0.01 (the spec default) at -100", CN_ACT_LEAKY_RELU, 0.01f, -100, -1, 0.01},
    {"sigmoid at 0", CN_ACT_SIGMOID, 0, 0, 0.5, 0.25},
    {"sigmoid at 2", CN_ACT_SIGMOID, 0, 2, 0.8807970779778823, 0.1049935854035065},
    {"sigmoid at -2", CN_ACT_SIGMOID, 0, -2, 0.11920292202211755, 0.1049935854035065},
    {"sigmoid at 1e4: exactly 1, no overflow", CN_ACT_SIGMOID, 0, 1e4f, 1, 0},
    {"sigmoid at -1e4: 0, not NaN", CN_ACT_SIGMOID, 0, -1e4f, 0, 0},
    {"sigmoid at -80: tiny but positive", CN_ACT_SIGMOID, 0, -80, 1.8048513878454153e-35,
     1.8048513878454153e-35},
    {"tanh at 0", CN_ACT_TANH, 0, 0, 0, 1},
    {"tanh at 0.5", CN_ACT_TANH, 0, 0.5f, 0.46211715726000974, 0.7864477329659274},
    {"tanh at 1e4", CN_ACT_TANH, 0, 1e4f, 1, 0},
    {"tanh at -1e4", CN_ACT_TANH, 0, -1e4f, -1, 0},
};

static int configs;
static double worst_fwd[CN_ACT_COUNT], worst_bwd[CN_ACT_COUNT], worst_grad[CN_ACT_COUNT];

/* |got - want| within 1e-6 absolute plus 1e-5 relative, and finite */
static void expect(const char *what, const struct acase *c, const char *impl, float got,
                   double want)
{
	if (isfinite(got) && fabs(got - want) <= 1e-6 + 1e-5 * fabs(want)) return;
	print_error("%s %s: %s: got %.9g want %.9g\n", impl, what, c->desc, (double)got, want);
	fail();
}

static void test_edges(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
		const struct acase *c = &edges[i];
		for (int ref = 0; ref < 2; ref++) {
			float y = NAN, dx = NAN, one = 1;
			const char *impl = ref ? "ref" : "fast";
			(ref ? cn_act_forward_ref : cn_act_forward)(c->act, c->slope, &c->x, &y, 1);
			expect("forward", c, impl, y, c->y);
			(ref ? cn_act_backward_ref : cn_act_backward)(c->act, c->slope, &y, &one,
			                                              &dx, 1);
			expect("backward", c, impl, dx, c->dydx);
		}
	}
	/* the limits the header promises: within [0, 1] and exact at the saturated ends */
	const float big[] = {1e4f, -1e4f, 88.8f, -88.8f, 1e30f, -1e30f, INFINITY, -INFINITY};
	float y[8];
	cn_act_forward(CN_ACT_SIGMOID, 0, big, y, 8);
	for (int i = 0; i < 8; i++) assert_true(y[i] >= 0.0f && y[i] <= 1.0f);
	assert_true(y[0] == 1.0f && y[1] == 0.0f && y[4] == 1.0f && y[5] == 0.0f);
	assert_true(y[6] == 1.0f && y[7] == 0.0f);
	configs += (int)(sizeof edges / sizeof edges[0]);
}

static void fill_nan(float *a, size_t len)
{
	for (size_t i = 0; i < len; i++) a[i] = NAN;
}

static void test_sweep(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(3);
	const float scales[] = {1, 5, 100, 1e4f};
	for (int t = 0; t < SWEEP; t++) {
		enum cn_act act = (enum cn_act)(t % CN_ACT_COUNT);
		/* short lengths exercise vector tails, long ones the vector body */
		size_t len = (size_t)(t % 4 ? tu_int(&r, 1, 4000) : tu_int(&r, 1, 17));
		float slope = act == CN_ACT_LEAKY_RELU ? tu_uniform(&r, 0, 0.3f) : 0;
		float s = scales[tu_int(&r, 0, 3)];
		char cfg[96];
		snprintf(cfg, sizeof cfg, "%s slope %g len %zu scale %g", names[act], (double)slope,
		         len, (double)s);
		float *x = tu_floats(len), *y = tu_floats(len), *yr = tu_floats(len);
		float *dy = tu_floats(len), *dx = tu_floats(len), *dxr = tu_floats(len);
		float *z = tu_floats(len);
		tu_fill_uniform(&r, x, len, -s, s);
		tu_fill_uniform(&r, dy, len, -1, 1);
		fill_nan(y, len), fill_nan(yr, len), fill_nan(dx, len), fill_nan(dxr, len);

		cn_act_forward(act, slope, x, y, len);
		cn_act_forward_ref(act, slope, x, yr, len);
		tu_track(&worst_fwd[act], tu_check_close("act forward", y, yr, len, TOL, cfg));
		/*
		 * Both backwards read the same y: act' from y is ill-conditioned near sigmoid's
		 * 1 (1 - y spans a few ulps), so one ulp of y apart would be a 2x gap in dx.
		 */
		cn_act_backward(act, slope, y, dy, dx, len);
		cn_act_backward_ref(act, slope, y, dy, dxr, len);
		tu_track(&worst_bwd[act], tu_check_close("act backward", dx, dxr, len, TOL, cfg));

		/* in place: y over x, then dx over dy, give the same bits */
		memcpy(z, x, len * sizeof(float));
		cn_act_forward(act, slope, z, z, len);
		tu_check_close("act forward in place", z, y, len, 0, cfg);
		memcpy(z, dy, len * sizeof(float));
		cn_act_backward(act, slope, y, z, z, len);
		tu_check_close("act backward in place", z, dx, len, 0, cfg);
		configs++;
		free(x), free(y), free(yr), free(dy), free(dx), free(dxr), free(z);
	}
	print_message("act: %d configurations (%zu table rows + sweep of %d); largest rel err "
	              "fwd/bwd:",
	              configs, sizeof edges / sizeof edges[0], SWEEP);
	for (int a = 0; a < CN_ACT_COUNT; a++)
		print_message(" %s %.3g/%.3g", names[a], worst_fwd[a], worst_bwd[a]);
	print_message("\n");
}

/* one unit in the last place of a float of magnitude |v| (the subnormal spacing below 2^-126) */
static double ulp_of(double v)
{
	int e;
	frexp(fabs(v), &e);
	double u = ldexp(1.0, e - 24);
	return u < 0x1p-149 ? 0x1p-149 : u;
}

static void test_ulps(void **state)
{
	(void)state;
	enum { STRIDE = 4093 }; /* odd and prime: every exponent, varied mantissas */
	size_t n = 0, cap = (size_t)(((uint64_t)1 << 32) / STRIDE + 8);
	float *x = tu_floats(cap), *y = tu_floats(cap);
	for (uint64_t b = 0; b < ((uint64_t)1 << 32); b += STRIDE) {
		uint32_t u = (uint32_t)b;
		memcpy(&x[n++], &u, sizeof u);
	}
	const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN};
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) x[n++] = special[i];
	const enum cn_act acts[] = {CN_ACT_SIGMOID, CN_ACT_TANH};
	for (int k = 0; k < 2; k++) {
		enum cn_act act = acts[k];
		fill_nan(y, n);
		cn_act_forward(act, 0, x, y, n);
		double worst = 0, worst_x = 0;
		for (size_t i = 0; i < n; i++) {
			double xi = x[i], want;
			if (isnan(xi)) {
				if (!isnan(y[i])) {
					print_error("%s(NaN) = %g, not NaN\n", names[act],
					            (double)y[i]);
					fail();
				}
				continue;
			}
			if (act == CN_ACT_SIGMOID)
				want = xi >= 0 ? 1 / (1 + exp(-xi)) : exp(xi) / (1 + exp(xi));
			else
				want = tanh(xi);
			double u = fabs((double)y[i] - want) / ulp_of(want);
			if (!(u <= worst)) worst = u, worst_x = xi;
			/* tanh is odd: tanh(-0) = -0 */
			if (act == CN_ACT_TANH && !signbit(y[i]) != !signbit(x[i])) {
				print_error("tanh(%g) = %g has the wrong sign\n", xi, (double)y[i]);
				fail();
			}
		}
		print_message("%s: %zu floats, largest error %.3f ulp (at x = %.9g)\n", names[act],
		              n, worst, worst_x);
		if (!(worst <= 4)) fail_msg("%s: %.3f ulp > 4", names[act], worst);
	}
	free(x), free(y);
}

struct gctx {
	enum cn_act act;
	float slope;
	const float *x, *r; /* [len] */
	float *y;           /* [len] */
	size_t len;
};

/* sum(r .* act(x)) through the fast forward */
static double gloss(void *p)
{
	struct gctx *c = p;
	cn_act_forward(c->act, c->slope, c->x, c->y, c->len);
	double s = 0;
	for (size_t i = 0; i < c->len; i++) s += (double)c->r[i] * c->y[i];
	return s;
}

static void test_gradcheck(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(4);
	enum { LEN = 64 };
	float x[LEN], y[LEN], rv[LEN], dx[LEN];
	for (int a = 0; a < CN_ACT_COUNT; a++) {
		/* |x| >= 0.2, far from relu's kink at 0 compared with eps */
		for (int i = 0; i < LEN; i++)
			x[i] = tu_uniform(&r, 0.2f, 2.5f) * (tu_int(&r, 0, 1) ? 1 : -1);
		tu_fill_uniform(&r, rv, LEN, -1, 1);
		/* slope 0.1: a backward that lost a 0.001 slope would pass the tolerance */
		struct gctx c = {(enum cn_act)a, 0.1f, x, rv, y, LEN};
		gloss(&c);
		cn_act_backward(c.act, c.slope, y, rv, dx, LEN);
		worst_grad[a] = tu_gradcheck(names[a], gloss, &c, x, LEN, dx, 1e-3, 1e-3, LEN);
	}
	print_message("act gradcheck (%d elements each): largest error", LEN);
	for (int a = 0; a < CN_ACT_COUNT; a++) print_message(" %s %.3g", names[a], worst_grad[a]);
	print_message("\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_sweep),
	    cmocka_unit_test(test_gradcheck),
	    cmocka_unit_test(test_ulps),
	};
	return cmocka_run_group_tests_name("act", tests, NULL, NULL);
}
