/*
 * Losses: softmax cross-entropy on a table of hand-computed cases (including logits of ±1e4,
 * which must give finite, exact-looking losses and gradients), probabilities summing to 1,
 * fast vs reference on a seeded sweep, MSE by hand and by sweep, and central-difference
 * gradient checks of both backwards.
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
#define SWEEP 150

struct xcase {
	const char *desc;
	int32_t n, k;
	float logits[8];   /* [N, K] */
	int32_t labels[2]; /* [N] */
	double loss;
};

/* log(e^1 + e^2 + e^3) - 3 */
#define L123 0.40760596444438034

static const struct xcase edges[] = {
    {"hand case: logits 1 2 3, label 2", 1, 3, {1, 2, 3}, {2}, L123},
    {"hand case: logits 1 2 3, label 0", 1, 3, {1, 2, 3}, {0}, L123 + 2},
    {"batch of two: the mean of both rows", 2, 3, {1, 2, 3, 1, 2, 3}, {2, 0}, L123 + 1},
    {"one class: loss 0, probability 1", 1, 1, {5}, {0}, 0},
    {"equal logits: log k", 1, 4, {7, 7, 7, 7}, {1}, 1.3862943611198906},
    {"huge margin, right class: loss 0", 1, 2, {1e4f, -1e4f}, {0}, 0},
    {"huge margin, wrong class: loss 2e4, not inf", 1, 2, {1e4f, -1e4f}, {1}, 2e4},
    {"tie at 1e4, label below: 2e4 + log 2",
     1,
     3,
     {1e4f, 1e4f, -1e4f},
     {2},
     2e4 + 0.69314718055994531},
    {"all -1e4: log k, no log(0)", 1, 3, {-1e4f, -1e4f, -1e4f}, {2}, 1.0986122886681098},
    {"all +1e4: log k, no overflow", 2, 2, {1e4f, 1e4f, 1e4f, 1e4f}, {0, 1}, 0.69314718055994531},
};

static int xconfigs, mconfigs;
static double xworst_loss, xworst_prob, xworst_grad, mworst_loss, mworst_grad;

static void check_case(const struct xcase *c, int ref)
{
	float prob[8], d[8];
	const char *impl = ref ? "ref" : "fast";
	float loss = (ref ? cn_softmax_xent_forward_ref
	                  : cn_softmax_xent_forward)(c->n, c->k, c->logits, c->labels, prob);
	if (!isfinite(loss) || fabs(loss - c->loss) > 1e-6 + 1e-6 * fabs(c->loss)) {
		print_error("%s xent: %s: loss %.9g want %.9g\n", impl, c->desc, (double)loss,
		            c->loss);
		fail();
	}
	(ref ? cn_softmax_xent_backward_ref : cn_softmax_xent_backward)(c->n, c->k, prob, c->labels,
	                                                                d);
	for (int32_t i = 0; i < c->n; i++) {
		double sum = 0;
		for (int32_t j = 0; j < c->k; j++) {
			size_t o = (size_t)i * c->k + j;
			double want = (prob[o] - (j == c->labels[i])) / c->n;
			assert_true(isfinite(prob[o]) && prob[o] >= 0 && prob[o] <= 1);
			assert_true(isfinite(d[o]) && fabs(d[o] - want) <= 1e-7);
			sum += prob[o];
		}
		if (fabs(sum - 1) > 1e-6) {
			print_error("%s xent: %s: row %d probabilities sum to %.9g\n", impl,
			            c->desc, i, sum);
			fail();
		}
	}
}

static void test_xent_edges(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
		check_case(&edges[i], 0);
		check_case(&edges[i], 1);
		xconfigs++;
	}
	/* the margin cases by value: all of the mass on one class, gradient ±1 */
	float prob[2], d[2];
	const float big[] = {1e4f, -1e4f};
	const int32_t wrong = 1;
	cn_softmax_xent_forward(1, 2, big, &wrong, prob);
	assert_true(prob[0] == 1.0f && prob[1] == 0.0f);
	cn_softmax_xent_backward(1, 2, prob, &wrong, d);
	assert_true(d[0] == 1.0f && d[1] == -1.0f);
	/* backward may write over prob */
	cn_softmax_xent_backward(1, 2, prob, &wrong, prob);
	assert_true(prob[0] == 1.0f && prob[1] == -1.0f);
}

static void test_xent_sweep(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(5);
	const float scales[] = {0.1f, 1, 10, 100, 1e4f};
	for (int t = 0; t < SWEEP; t++) {
		int32_t n = tu_int(&r, 1, 32), k = tu_int(&r, 1, t % 5 ? 20 : 1000);
		float s = scales[tu_int(&r, 0, 4)];
		size_t len = (size_t)n * k;
		char cfg[64];
		snprintf(cfg, sizeof cfg, "n %d k %d scale %g", n, k, (double)s);
		float *l = tu_floats(len), *p = tu_floats(len), *pr = tu_floats(len);
		float *d = tu_floats(len), *dr = tu_floats(len);
		int32_t *lab = tu_alloc((size_t)n * sizeof(int32_t));
		tu_fill_uniform(&r, l, len, -s, s);
		for (int32_t i = 0; i < n; i++) lab[i] = tu_int(&r, 0, k - 1);
		float loss = cn_softmax_xent_forward(n, k, l, lab, p);
		float lossr = cn_softmax_xent_forward_ref(n, k, l, lab, pr);
		assert_true(isfinite(loss));
		tu_track(&xworst_loss, tu_check_close("xent loss", &loss, &lossr, 1, TOL, cfg));
		tu_track(&xworst_prob, tu_check_close("xent prob", p, pr, len, TOL, cfg));
		cn_softmax_xent_backward(n, k, p, lab, d);
		cn_softmax_xent_backward_ref(n, k, pr, lab, dr);
		tu_track(&xworst_grad, tu_check_close("xent dlogits", d, dr, len, TOL, cfg));
		xconfigs++;
		free(l), free(p), free(pr), free(d), free(dr), free(lab);
	}
	print_message("softmax xent: %d configurations (%zu table rows + sweep of %d); largest "
	              "rel err: loss %.3g prob %.3g dlogits %.3g\n",
	              xconfigs, sizeof edges / sizeof edges[0], SWEEP, xworst_loss, xworst_prob,
	              xworst_grad);
}

static void test_mse(void **state)
{
	(void)state;
	/* hand case: errors 0 2 3 -> (0 + 4 + 9) / 3; gradient 2 (y - t) / 3 */
	const float y[] = {1, 2, 3}, t[] = {1, 0, 0}, want_d[] = {0, 4.f / 3, 2};
	float d[3];
	for (int ref = 0; ref < 2; ref++) {
		float loss = (ref ? cn_mse_forward_ref : cn_mse_forward)(3, y, t);
		assert_true(fabs(loss - 13.0 / 3) < 1e-6);
		(ref ? cn_mse_backward_ref : cn_mse_backward)(3, y, t, d);
		tu_check_close("mse hand dy", d, want_d, 3, 1e-6, ref ? "ref" : "fast");
	}
	mconfigs++;
	struct tu_rng r = tu_rng_make(6);
	for (int i = 0; i < SWEEP; i++) {
		size_t len = (size_t)tu_int(&r, 1, i % 3 ? 5000 : 9);
		float s = i % 2 ? 1.0f : 1e3f;
		char cfg[48];
		snprintf(cfg, sizeof cfg, "len %zu scale %g", len, (double)s);
		float *yv = tu_floats(len), *tv = tu_floats(len), *dv = tu_floats(len);
		float *dr = tu_floats(len);
		tu_fill_uniform(&r, yv, len, -s, s);
		tu_fill_uniform(&r, tv, len, -s, s);
		float loss = cn_mse_forward(len, yv, tv), lossr = cn_mse_forward_ref(len, yv, tv);
		tu_track(&mworst_loss, tu_check_close("mse loss", &loss, &lossr, 1, TOL, cfg));
		cn_mse_backward(len, yv, tv, dv);
		cn_mse_backward_ref(len, yv, tv, dr);
		tu_track(&mworst_grad, tu_check_close("mse dy", dv, dr, len, TOL, cfg));
		mconfigs++;
		free(yv), free(tv), free(dv), free(dr);
	}
	print_message("mse: %d configurations (hand case + sweep of %d); largest rel err: loss "
	              "%.3g dy %.3g\n",
	              mconfigs, SWEEP, mworst_loss, mworst_grad);
}

struct gctx {
	int32_t n, k;
	const float *x, *t; /* logits [N, K] or y [len]; t: mse target */
	const int32_t *labels;
	float *prob;
};

static double xloss(void *p)
{
	struct gctx *c = p;
	return cn_softmax_xent_forward(c->n, c->k, c->x, c->labels, c->prob);
}

static double mloss(void *p)
{
	struct gctx *c = p;
	return cn_mse_forward((size_t)c->n, c->x, c->t);
}

static void test_gradcheck(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(7);
	enum { N = 3, K = 5, LEN = N * K };
	float x[LEN], t[LEN], prob[LEN], d[LEN];
	int32_t labels[N] = {4, 0, 2};
	double wx = 0, wm = 0;
	for (int rep = 0; rep < 3; rep++) {
		tu_fill_uniform(&r, x, LEN, -3, 3);
		struct gctx c = {N, K, x, NULL, labels, prob};
		xloss(&c);
		cn_softmax_xent_backward(N, K, prob, labels, d);
		tu_track(&wx, tu_gradcheck("xent grad", xloss, &c, x, LEN, d, 1e-2, 1e-2, LEN));

		tu_fill_uniform(&r, x, LEN, -2, 2);
		tu_fill_uniform(&r, t, LEN, -2, 2);
		struct gctx m = {LEN, 0, x, t, NULL, NULL};
		cn_mse_backward(LEN, x, t, d);
		tu_track(&wm, tu_gradcheck("mse grad", mloss, &m, x, LEN, d, 1e-2, 1e-2, LEN));
	}
	print_message("loss gradcheck (3 draws of %d elements): largest error xent %.3g mse %.3g\n",
	              LEN, wx, wm);
}

/*
 * Label smoothing: the fast loss and gradient against the naive formula -sum q log p and
 * (p - q)/n, a central-difference check of the gradient, eps 0 equal to the plain loss, and
 * a hand-computed case: logits (1, 2, 3), label 2, eps 0.3, K = 3: q = (0.1, 0.1, 0.8),
 * loss = lse - sum q l = (3 + L123) - (0.1 + 0.2 + 2.4) = 0.3 + L123.
 */
struct sctx {
	int32_t n, k;
	float *x;
	const int32_t *labels;
	float eps, *prob;
};

/* The loss in double, straight from -sum q log p, so the finite differences see no float
   rounding of the returned mean. */
static double sloss(void *p)
{
	struct sctx *c = p;
	double total = 0;
	for (int32_t i = 0; i < c->n; i++) {
		const float *l = c->x + (size_t)i * c->k;
		double m = l[0], s = 0;
		/* a compare, not fmax: GCC 12.2 for aarch64 crashes vectorizing an fmax reduction at -O3 */
		for (int32_t j = 1; j < c->k; j++) m = l[j] > m ? l[j] : m;
		for (int32_t j = 0; j < c->k; j++) s += exp(l[j] - m);
		for (int32_t j = 0; j < c->k; j++) {
			double q = (j == c->labels[i] ? 1.0 - c->eps : 0.0) + (double)c->eps / c->k;
			total -= q * (l[j] - m - log(s));
		}
	}
	return total / c->n;
}

static void test_label_smoothing(void **state)
{
	(void)state;
	float l3[3] = {1, 2, 3}, p3[3];
	int32_t lab3 = 2;
	double got = cn_softmax_xent_smooth_forward(1, 3, l3, &lab3, 0.3f, p3);
	assert_true(fabs(got - (0.3 + L123)) < 1e-6);
	struct tu_rng r = tu_rng_make(11);
	enum { N = 4, K = 7, LEN = N * K };
	float x[LEN], prob[LEN], pref[LEN], d[LEN], dref[LEN];
	int32_t labels[N] = {6, 0, 3, 3};
	double worst = 0;
	const float epss[] = {0.0f, 0.05f, 0.1f, 0.5f, 0.9f};
	for (size_t e = 0; e < sizeof(epss) / sizeof(epss[0]); e++) {
		float eps = epss[e];
		tu_fill_uniform(&r, x, LEN, -4, 4);
		struct sctx c = {N, K, x, labels, eps, prob};
		double fast = cn_softmax_xent_smooth_forward(N, K, x, labels, eps, prob);
		assert_true(fabs(fast - sloss(&c)) <= 1e-5 * fabs(fast));
		double ref = cn_softmax_xent_smooth_forward_ref(N, K, x, labels, eps, pref);
		assert_true(fabs(fast - ref) <= 1e-5 * fabs(ref));
		cn_softmax_xent_smooth_backward(N, K, prob, labels, eps, d);
		cn_softmax_xent_smooth_backward_ref(N, K, pref, labels, eps, dref);
		tu_check_close("smoothed xent grad vs ref", d, dref, LEN, 1e-5, "label smoothing");
		tu_track(&worst,
		         tu_gradcheck("smoothed xent grad", sloss, &c, x, LEN, d, 1e-2, 1e-2, LEN));
		if (eps == 0) {
			float plain[LEN];
			double p0 = cn_softmax_xent_forward(N, K, x, labels, plain);
			assert_true(fabs(fast - p0) <= 1e-6 * fabs(p0));
		}
	}
	print_message("label smoothing gradcheck: largest error %.3g\n", worst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xent_edges),
	    cmocka_unit_test(test_xent_sweep),
	    cmocka_unit_test(test_mse),
	    cmocka_unit_test(test_gradcheck),
	    cmocka_unit_test(test_label_smoothing),
	};
	return cmocka_run_group_tests_name("loss", tests, NULL, NULL);
}
