/*
 * Optimizers: every update rule pinned by values computed by hand (the arithmetic is in the
 * comments, rounded to 12 digits), then a seeded sweep against a double-precision reference,
 * then options, arguments, step count and state layout.
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
#include "finite.h" /* white-box: the trainer's guard before each step */
#include "util.h"

#define TOL    1e-6 /* relative */
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Fail unless got is want within TOL relative (exactly, when want is 0). */
static void expect(const char *what, double got, double want)
{
	double err = fabs(got - want), lim = TOL * fabs(want);
	if (!(err <= lim)) {
		print_error("%s: got %.12g want %.12g (rel err %.3g > %g)\n", what, got, want,
		            want != 0 ? err / fabs(want) : err, TOL);
		fail();
	}
}

static struct cn_optim *make(enum cn_optim_kind kind, size_t n, float wd, float clip)
{
	struct cn_optim_opts o = cn_optim_opts_default();
	o.kind = kind;
	o.weight_decay = wd;
	o.clip_norm = clip;
	struct cn_optim *opt = NULL;
	char err[CN_ERR_LEN] = "";
	enum cn_status st = cn_optim_create(&opt, &o, n, err);
	if (st != CN_OK) print_error("cn_optim_create: %s\n", err);
	assert_int_equal(st, CN_OK);
	assert_non_null(opt);
	return opt;
}

static void step_ok(struct cn_optim *opt, float *p, const float *g, float lr)
{
	assert_int_equal(cn_optim_step(opt, p, g, lr), CN_OK);
}

static void test_defaults(void **state)
{
	(void)state;
	struct cn_optim_opts o = cn_optim_opts_default();
	assert_int_equal(o.kind, CN_OPTIM_SGD);
	assert_true(o.lr == 0.01f && o.momentum == 0.9f && o.beta1 == 0.9f);
	assert_true(o.beta2 == 0.999f && o.eps == 1e-8f);
	assert_true(o.weight_decay == 0.0f && o.clip_norm == 0.0f);
	cn_optim_free(NULL); /* a no-op */
}

/* p -= lr*g, lr = 0.1: p = [1, -2], g = [0.5, -0.25] -> [0.95, -1.975] -> [0.9, -1.95] */
static void test_sgd(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_SGD, 2, 0, 0);
	float p[2] = {1, -2};
	const float g[2] = {0.5f, -0.25f};
	step_ok(opt, p, g, 0.1f);
	expect("sgd step 1 p0", p[0], 0.95);
	expect("sgd step 1 p1", p[1], -1.975);
	step_ok(opt, p, g, 0.1f);
	expect("sgd step 2 p0", p[0], 0.9);
	expect("sgd step 2 p1", p[1], -1.95);
	/* the lr argument is the one used, not opts.lr (0.01): 0.9 - 0.5*0.5 = 0.65 */
	step_ok(opt, p, g, 0.5f);
	expect("sgd uses the lr argument", p[0], 0.65);
	cn_optim_free(opt);
}

/*
 * Heavy ball, v = mu*v + g; p -= lr*v, with p = 1, lr = 0.1, mu = 0.9:
 *   step 1, g = 0.5:  v = 0.5                      p = 1 - 0.05        = 0.95
 *   step 2, g = 0.5:  v = 0.45 + 0.5   = 0.95      p = 0.95 - 0.095    = 0.855
 *   step 3, g = -1:   v = 0.855 - 1    = -0.145    p = 0.855 + 0.0145  = 0.8695
 */
static void test_momentum(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_MOMENTUM, 1, 0, 0);
	const float *v = cn_optim_state(opt);
	float p = 1, g = 0.5f;
	step_ok(opt, &p, &g, 0.1f);
	expect("momentum step 1 v", v[0], 0.5);
	expect("momentum step 1 p", p, 0.95);
	step_ok(opt, &p, &g, 0.1f);
	expect("momentum step 2 v", v[0], 0.95);
	expect("momentum step 2 p", p, 0.855);
	g = -1;
	step_ok(opt, &p, &g, 0.1f);
	expect("momentum step 3 v", v[0], -0.145);
	expect("momentum step 3 p", p, 0.8695);
	cn_optim_free(opt);
}

/*
 * Nesterov (PyTorch's nesterov=True), v = mu*v + g; p -= lr*(g + mu*v), p = 1, lr = 0.1,
 * mu = 0.9:
 *   step 1, g = 0.5:  v = 0.5     p = 1 - 0.1*(0.5 + 0.45)        = 0.905
 *   step 2, g = 0.5:  v = 0.95    p = 0.905 - 0.1*(0.5 + 0.855)   = 0.7695
 *   step 3, g = -1:   v = -0.145  p = 0.7695 - 0.1*(-1 - 0.1305)  = 0.88255
 * and with weight decay 0.1 the decayed gradient d = g + 0.1 p takes g's place in both.
 */
static void test_nesterov(void **state)
{
	(void)state;
	struct cn_optim_opts o = cn_optim_opts_default();
	o.kind = CN_OPTIM_MOMENTUM;
	o.nesterov = 1;
	struct cn_optim *opt = NULL;
	assert_int_equal(cn_optim_create(&opt, &o, 1, NULL), CN_OK);
	const float *v = cn_optim_state(opt);
	float p = 1, g = 0.5f;
	step_ok(opt, &p, &g, 0.1f);
	expect("nesterov step 1 v", v[0], 0.5);
	expect("nesterov step 1 p", p, 0.905);
	step_ok(opt, &p, &g, 0.1f);
	expect("nesterov step 2 v", v[0], 0.95);
	expect("nesterov step 2 p", p, 0.7695);
	g = -1;
	step_ok(opt, &p, &g, 0.1f);
	expect("nesterov step 3 v", v[0], -0.145);
	expect("nesterov step 3 p", p, 0.88255);
	cn_optim_free(opt);
	o.weight_decay = 0.1f;
	assert_int_equal(cn_optim_create(&opt, &o, 1, NULL), CN_OK);
	p = 1, g = 0.5f;
	step_ok(opt, &p, &g, 0.1f); /* d = 0.6, v = 0.6, p = 1 - 0.1*(0.6 + 0.54) = 0.886 */
	expect("nesterov decay p", p, 0.886);
	cn_optim_free(opt);
}

/*
 * Moving average, v = beta*v + (1 - beta)*g; p -= lr*v, with p = 1, lr = 0.1, beta = 0.9:
 *   step 1, g = 0.5:  v = 0.05                     p = 1 - 0.005       = 0.995
 *   step 2, g = 0.5:  v = 0.045 + 0.05 = 0.095     p = 0.995 - 0.0095  = 0.9855
 */
static void test_momentum_ema(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_MOMENTUM_EMA, 1, 0, 0);
	const float *v = cn_optim_state(opt);
	float p = 1, g = 0.5f;
	step_ok(opt, &p, &g, 0.1f);
	expect("ema step 1 v", v[0], 0.05);
	expect("ema step 1 p", p, 0.995);
	step_ok(opt, &p, &g, 0.1f);
	expect("ema step 2 v", v[0], 0.095);
	expect("ema step 2 p", p, 0.9855);
	cn_optim_free(opt);
}

/*
 * Adam, lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8; bias corrections
 * bc1 = 1 - 0.9^t (0.1, 0.19), bc2 = 1 - 0.999^t (0.001, 0.001999).
 * Step 1 gives mhat = g, vhat = g^2, so each parameter moves by lr*g/(|g| + eps) ~ lr*sign(g).
 * The options are floats: b2 = 0.999f = 0.999000012875, so 1 - b2 = 0.000999987125 (exact in
 * float) and the stored v is 0.999987125 times the decimal value, 1.3e-5 off; the bias
 * correction 1 - b2^t uses the same b2, so the parameters do not see it. (1 - 0.9f is
 * 0.100000024: within tolerance.) The v checks below use the float b2.
 * p0 = 1, g = 0.5 then 0.25:
 *   t=1  m = 0.05  v = 0.00025  p = 1 - 0.1*0.5/(0.5 + 1e-8) = 0.900000002
 *   t=2  m = 0.045 + 0.025 = 0.07, v = 0.00024975 + 0.0000625 = 0.00031225
 *        mhat = 0.07/0.19 = 0.368421052632, vhat = 0.00031225/0.001999 = 0.156203101551,
 *        sqrt = 0.395225380702; p = 0.900000002 - 0.1*0.368421052632/0.395225380702
 *        = 0.900000002 - 0.093217961523 = 0.806782040477
 * p1 = -1, g = -2 then +1 (the average keeps it moving the first way):
 *   t=1  m = -0.2  v = 0.004  p = -1 + 0.1*2/(2 + 1e-8) = -0.9000000005
 *   t=2  m = -0.18 + 0.1 = -0.08, v = 0.003996 + 0.001 = 0.004996
 *        mhat = -0.421052631579, vhat = 2.49924962481, sqrt = 1.58090152281
 *        p = -0.9000000005 + 0.026633703798 = -0.873366296702
 * p2 = 0.5, g = 1e-3 twice (eps visible: 1e-3/(1e-3 + 1e-8) = 0.99999000010):
 *   t=1  m = 1e-4  v = 1e-9   p = 0.5 - 0.0999990000 = 0.40000099999
 *   t=2  m = 1.9e-4, v = 1.999e-9, mhat = 1e-3, vhat = 1e-6: p = 0.30000199998
 */
static void test_adam(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_ADAM, 3, 0, 0);
	const float *m = cn_optim_state(opt), *v = m + 3;
	float p[3] = {1, -1, 0.5f};
	float g[3] = {0.5f, -2, 1e-3f};
	step_ok(opt, p, g, 0.1f);
	expect("adam t=1 m0", m[0], 0.05);
	expect("adam t=1 v0", v[0], 0.000249996781349); /* 0.000999987125*0.25 */
	expect("adam t=1 m1", m[1], -0.2);
	expect("adam t=1 v1", v[1], 0.00399994850159); /* 0.000999987125*4 */
	expect("adam t=1 p0", p[0], 0.900000002);
	expect("adam t=1 p1", p[1], -0.9000000005);
	expect("adam t=1 p2", p[2], 0.40000099999);
	g[0] = 0.25f;
	g[1] = 1;
	step_ok(opt, p, g, 0.1f);
	expect("adam t=2 m0", m[0], 0.07);
	/* 0.000999987125*(0.999000012875*0.25 + 0.0625) */
	expect("adam t=2 v0", v[0], 0.000312245983124);
	expect("adam t=2 m1", m[1], -0.08);
	/* 0.000999987125*(0.999000012875*4 + 1) */
	expect("adam t=2 v1", v[1], 0.00499593572998);
	expect("adam t=2 p0", p[0], 0.806782040477);
	expect("adam t=2 p1", p[1], -0.873366296702);
	expect("adam t=2 p2", p[2], 0.30000199998);
	cn_optim_free(opt);
}

/*
 * eps goes on the bias-corrected root (PyTorch): with g = 1e-8 = eps, step 1 moves by
 * lr*1e-8/(1e-8 + 1e-8) = lr/2, so p = 0.5 - 0.05 = 0.45. (On the raw root, with
 * m = 1e-9 and sqrt(v) = sqrt(0.001)*1e-8 = 3.16e-10, the move would be
 * (0.1/0.1)*1e-9/(3.16e-10 + 1e-8) = 0.0969.)
 */
static void test_adam_eps(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_ADAM, 1, 0, 0);
	float p = 0.5f, g = 1e-8f;
	step_ok(opt, &p, &g, 0.1f);
	expect("adam eps placement", p, 0.45);
	cn_optim_free(opt);
}

/*
 * L2 decay, d = g + wd*p, before the kind's update; wd = 0.1, lr = 0.1, p = 2, g = 0.5:
 *   SGD       d = 0.5 + 0.2 = 0.7   p = 2 - 0.07 = 1.93
 *             d = 0.5 + 0.193 = 0.693   p = 1.93 - 0.0693 = 1.8607
 *   MOMENTUM  v = 0.7, p = 1.93; then d = 0.693, v = 0.63 + 0.693 = 1.323, p = 1.7977
 *   EMA       v = 0.07, p = 1.993; then d = 0.5 + 0.1993 = 0.6993, v = 0.063 + 0.06993
 *             = 0.13293, p = 1.993 - 0.013293 = 1.979707
 */
static void test_weight_decay(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_SGD, 1, 0.1f, 0);
	float p = 2, g = 0.5f;
	step_ok(opt, &p, &g, 0.1f);
	expect("sgd decay step 1", p, 1.93);
	step_ok(opt, &p, &g, 0.1f);
	expect("sgd decay step 2", p, 1.8607);
	cn_optim_free(opt);

	opt = make(CN_OPTIM_MOMENTUM, 1, 0.1f, 0);
	p = 2;
	step_ok(opt, &p, &g, 0.1f);
	expect("momentum decay step 1", p, 1.93);
	step_ok(opt, &p, &g, 0.1f);
	expect("momentum decay step 2 v", cn_optim_state(opt)[0], 1.323);
	expect("momentum decay step 2", p, 1.7977);
	cn_optim_free(opt);

	opt = make(CN_OPTIM_MOMENTUM_EMA, 1, 0.1f, 0);
	p = 2;
	step_ok(opt, &p, &g, 0.1f);
	expect("ema decay step 1", p, 1.993);
	step_ok(opt, &p, &g, 0.1f);
	expect("ema decay step 2", p, 1.979707);
	cn_optim_free(opt);
}

/*
 * Adam's decay is L2 in the gradient (Adam's weight_decay), not decoupled (AdamW):
 * p = 1, g = -0.05, wd = 0.1 gives d = -0.05 + 0.1 = 0.05 > 0, so step 1 moves p down by
 * 0.1*0.05/(0.05 + 1e-8) = 0.09999998 to 0.90000002. (AdamW would move it up, to about 1.09.)
 */
static void test_weight_decay_adam(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_ADAM, 1, 0.1f, 0);
	float p = 1, g = -0.05f;
	step_ok(opt, &p, &g, 0.1f);
	expect("adam decay step 1", p, 0.90000002);
	cn_optim_free(opt);
}

/*
 * Clipping, g = [3, 4] (norm 5), SGD lr = 0.1 from p = [0, 0]:
 *   clip 1  -> g scaled by 1/5 to [0.6, 0.8]: p = [-0.06, -0.08]
 *   clip 4  -> scaled by 4/5 to [2.4, 3.2]:   p = [-0.24, -0.32]
 *   clip 10 -> below the threshold, unscaled: p = [-0.3, -0.4]
 *   clip 5  -> exactly at it, unscaled:      p = [-0.3, -0.4]
 * The caller's gradients are never modified.
 */
static void test_clip(void **state)
{
	(void)state;
	static const struct {
		float clip, p0, p1;
	} cases[] = {
	    {1, -0.06f, -0.08f}, {4, -0.24f, -0.32f}, {10, -0.3f, -0.4f}, {5, -0.3f, -0.4f}};
	for (size_t i = 0; i < LEN(cases); i++) {
		struct cn_optim *opt = make(CN_OPTIM_SGD, 2, 0, cases[i].clip);
		float p[2] = {0, 0};
		const float g[2] = {3, 4};
		step_ok(opt, p, g, 0.1f);
		char what[64];
		snprintf(what, sizeof(what), "clip %g p0", (double)cases[i].clip);
		expect(what, p[0], cases[i].p0);
		snprintf(what, sizeof(what), "clip %g p1", (double)cases[i].clip);
		expect(what, p[1], cases[i].p1);
		assert_true(g[0] == 3 && g[1] == 4);
		cn_optim_free(opt);
	}
}

/*
 * The clip scales the gradient only, and the norm is of the raw gradient (clip_grad_norm_
 * before step): p = [1, 1], g = [3, 4], clip 1, wd 0.5, lr 0.1:
 * d = [0.6 + 0.5, 0.8 + 0.5] = [1.1, 1.3], p = [0.89, 0.87].
 * Heavy ball with the same clip: v = [0.6, 0.8], p = [0.94, 0.92].
 */
static void test_clip_with_decay(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_SGD, 2, 0.5f, 1);
	float p[2] = {1, 1};
	const float g[2] = {3, 4};
	step_ok(opt, p, g, 0.1f);
	expect("clip+decay p0", p[0], 0.89);
	expect("clip+decay p1", p[1], 0.87);
	cn_optim_free(opt);

	opt = make(CN_OPTIM_MOMENTUM, 2, 0, 1);
	p[0] = p[1] = 1;
	step_ok(opt, p, g, 0.1f);
	expect("clip momentum v0", cn_optim_state(opt)[0], 0.6);
	expect("clip momentum p1", p[1], 0.92);
	cn_optim_free(opt);
}

/* A NaN or Inf in the gradients, seen while clipping, is refused before anything is written;
 * all-zero gradients (norm 0) are not divided by. */
static void test_clip_nonfinite(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_ADAM, 2, 0, 1);
	float p[2] = {1, 2};
	float g[2] = {NAN, 1};
	assert_int_equal(cn_optim_step(opt, p, g, 0.1f), CN_ERR_NUMERIC);
	g[0] = INFINITY;
	assert_int_equal(cn_optim_step(opt, p, g, 0.1f), CN_ERR_NUMERIC);
	assert_true(p[0] == 1 && p[1] == 2);
	assert_true(cn_optim_state(opt)[0] == 0 && cn_optim_state(opt)[3] == 0);
	assert_int_equal(cn_optim_step_count(opt), 0);
	g[0] = g[1] = 0;
	step_ok(opt, p, g, 0.1f);
	assert_true(p[0] == 1 && p[1] == 2);
	cn_optim_free(opt);
}

/* The step count is Adam's t: a resumed optimizer (state and count copied, as a checkpoint
 * does) continues bit for bit; with the count left at 0 it would not. */
static void test_step_count(void **state)
{
	(void)state;
	const float g1[2] = {0.5f, -2}, g2[2] = {0.25f, 1};
	struct cn_optim *a = make(CN_OPTIM_ADAM, 2, 0, 0);
	float pa[2] = {1, -1};
	assert_int_equal(cn_optim_step_count(a), 0);
	step_ok(a, pa, g1, 0.1f);
	assert_int_equal(cn_optim_step_count(a), 1);
	float pb[2] = {pa[0], pa[1]};
	float saved[4];
	memcpy(saved, cn_optim_state(a), sizeof(saved));
	step_ok(a, pa, g2, 0.1f);
	assert_int_equal(cn_optim_step_count(a), 2);

	struct cn_optim *b = make(CN_OPTIM_ADAM, 2, 0, 0);
	assert_int_equal(cn_optim_state_len(b), 4);
	memcpy(cn_optim_state(b), saved, sizeof(saved));
	cn_optim_set_step_count(b, 1);
	assert_int_equal(cn_optim_step_count(b), 1);
	step_ok(b, pb, g2, 0.1f);
	assert_true(pb[0] == pa[0] && pb[1] == pa[1]);
	assert_memory_equal(cn_optim_state(b), cn_optim_state(a), sizeof(saved));

	/* the same resume without the count: t = 1 again, mhat = 0.07/0.1 = 0.7 instead of
	 * 0.368 -- a different step */
	memcpy(cn_optim_state(b), saved, sizeof(saved));
	cn_optim_set_step_count(b, 0);
	pb[0] = 0.900000002f;
	step_ok(b, pb, g2, 0.1f);
	assert_true(fabs((double)pb[0] - 0.806782040477) > 1e-3);

	cn_optim_set_step_count(b, 123456789012345);
	assert_true(cn_optim_step_count(b) == 123456789012345);
	cn_optim_set_step_count(b, -5); /* clamped: a negative t has no meaning */
	assert_int_equal(cn_optim_step_count(b), 0);
	assert_int_equal(cn_optim_step_count(NULL), 0);
	cn_optim_set_step_count(NULL, 3); /* a no-op */

	/* every kind counts its steps */
	struct cn_optim *s = make(CN_OPTIM_SGD, 2, 0, 0);
	step_ok(s, pa, g1, 0.1f);
	step_ok(s, pa, g1, 0.1f);
	assert_int_equal(cn_optim_step_count(s), 2);
	cn_optim_free(s);
	cn_optim_free(a);
	cn_optim_free(b);
}

/* State length 0 / n / n / 2n, zero at start; Adam's block is m [n] then v [n]. */
static void test_state_layout(void **state)
{
	(void)state;
	static const struct {
		enum cn_optim_kind kind;
		size_t per;
	} kinds[] = {{CN_OPTIM_SGD, 0},
	             {CN_OPTIM_MOMENTUM, 1},
	             {CN_OPTIM_MOMENTUM_EMA, 1},
	             {CN_OPTIM_ADAM, 2}};
	const size_t n = 5;
	for (size_t k = 0; k < LEN(kinds); k++) {
		struct cn_optim *opt = make(kinds[k].kind, n, 0, 0);
		assert_int_equal(cn_optim_state_len(opt), kinds[k].per * n);
		const float *st = cn_optim_state(opt);
		if (kinds[k].per == 0) assert_null(st);
		for (size_t i = 0; i < kinds[k].per * n; i++) assert_true(st[i] == 0.0f);
		cn_optim_free(opt);
	}
	assert_int_equal(cn_optim_state_len(NULL), 0);
	assert_null(cn_optim_state(NULL));

	/* after one Adam step from g = i + 1: m_i = 0.1*(i+1), v_i = (1 - 0.999f)*(i+1)^2 with
	 * 1 - 0.999f = 0.000999987125 (see test_adam) */
	struct cn_optim *opt = make(CN_OPTIM_ADAM, n, 0, 0);
	float p[5] = {0}, g[5];
	for (size_t i = 0; i < n; i++) g[i] = (float)(i + 1);
	step_ok(opt, p, g, 0.1f);
	const float *st = cn_optim_state(opt);
	for (size_t i = 0; i < n; i++) {
		expect("adam m block", st[i], 0.1 * (i + 1));
		expect("adam v block", st[n + i], 0.000999987125397 * (i + 1) * (i + 1));
	}
	cn_optim_free(opt);
}

/* Each bad field is refused with CN_ERR_ARG, no handle, and a message naming the field. */
static void test_invalid_opts(void **state)
{
	(void)state;
	static const struct {
		const char *field;
		int which; /* 0 lr 1 momentum 2 beta1 3 beta2 4 eps 5 weight_decay 6 clip_norm */
		float value;
		const char *value_text;
	} cases[] = {
	    {"lr", 0, 0.0f, "0"},
	    {"lr", 0, -0.5f, "-0.5"},
	    {"lr", 0, NAN, "nan"},
	    {"lr", 0, INFINITY, "inf"},
	    {"momentum", 1, 1.0f, "1"},
	    {"momentum", 1, -0.25f, "-0.25"},
	    {"momentum", 1, NAN, "nan"},
	    {"beta1", 2, 1.0f, "1"},
	    {"beta1", 2, -0.5f, "-0.5"},
	    {"beta2", 3, 1.0f, "1"},
	    {"beta2", 3, 1.5f, "1.5"},
	    {"beta2", 3, -0.01f, "-0.01"},
	    {"beta2", 3, NAN, "nan"},
	    {"eps", 4, 0.0f, "0"},
	    {"eps", 4, INFINITY, "inf"},
	    {"eps", 4, -1e-8f, "-1e-08"},
	    {"weight_decay", 5, -1.0f, "-1"},
	    {"weight_decay", 5, INFINITY, "inf"},
	    {"weight_decay", 5, NAN, "nan"},
	    {"clip_norm", 6, -2.0f, "-2"},
	    {"clip_norm", 6, NAN, "nan"},
	    {"clip_norm", 6, INFINITY, "inf"},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		struct cn_optim_opts o = cn_optim_opts_default();
		float *f[] = {&o.lr,  &o.momentum,     &o.beta1,    &o.beta2,
		              &o.eps, &o.weight_decay, &o.clip_norm};
		*f[cases[i].which] = cases[i].value;
		static max_align_t sentinel;
		struct cn_optim *opt = (struct cn_optim *)&sentinel; /* must become NULL */
		char err[CN_ERR_LEN] = "";
		enum cn_status st = cn_optim_create(&opt, &o, 4, err);
		if (st != CN_ERR_ARG || opt || !strstr(err, cases[i].field) ||
		    !strstr(err, cases[i].value_text)) {
			print_error("%s = %s: status %d, message \"%s\"\n", cases[i].field,
			            cases[i].value_text, (int)st, err);
			fail();
		}
		assert_int_equal(cn_optim_create(&opt, &o, 4, NULL), CN_ERR_ARG); /* err optional */
	}

	struct cn_optim_opts o = cn_optim_opts_default();
	struct cn_optim *opt = NULL;
	char err[CN_ERR_LEN] = "";
	o.kind = (enum cn_optim_kind)42;
	assert_int_equal(cn_optim_create(&opt, &o, 4, err), CN_ERR_ARG);
	assert_non_null(strstr(err, "kind"));
	assert_non_null(strstr(err, "42"));
	o = cn_optim_opts_default();
	assert_int_equal(cn_optim_create(&opt, &o, 0, err), CN_ERR_ARG);
	assert_non_null(strstr(err, "n_params"));
	assert_int_equal(cn_optim_create(&opt, NULL, 4, err), CN_ERR_ARG);
	assert_int_equal(cn_optim_create(NULL, &o, 4, err), CN_ERR_ARG);
	assert_null(opt);

	/* an Adam state of 2n floats, or any n floats, that overflows size_t */
	o.kind = CN_OPTIM_ADAM;
	assert_int_equal(cn_optim_create(&opt, &o, SIZE_MAX / 2 + 1, err), CN_ERR_NOMEM);
	assert_non_null(strstr(err, "n_params"));
	o.kind = CN_OPTIM_MOMENTUM;
	assert_int_equal(cn_optim_create(&opt, &o, SIZE_MAX / 2, err), CN_ERR_NOMEM);
	o.kind = CN_OPTIM_SGD;
	assert_int_equal(cn_optim_create(&opt, &o, SIZE_MAX / 2, err), CN_ERR_NOMEM);
	assert_null(opt);

	/* the limits themselves are accepted */
	o = cn_optim_opts_default();
	o.momentum = 0;
	o.beta1 = 0;
	o.beta2 = 0;
	o.weight_decay = 0;
	o.clip_norm = 0;
	assert_int_equal(cn_optim_create(&opt, &o, 1, err), CN_OK);
	cn_optim_free(opt);
}

/* A bad step argument is refused with nothing changed: params, state and count. */
static void test_step_bad_args(void **state)
{
	(void)state;
	struct cn_optim *opt = make(CN_OPTIM_MOMENTUM, 2, 0, 0);
	float p[2] = {1, 2};
	const float g[2] = {0.5f, 0.5f};
	const float bad_lr[] = {NAN, 0.0f, -0.1f, INFINITY, -INFINITY};
	for (size_t i = 0; i < LEN(bad_lr); i++)
		assert_int_equal(cn_optim_step(opt, p, g, bad_lr[i]), CN_ERR_ARG);
	assert_int_equal(cn_optim_step(NULL, p, g, 0.1f), CN_ERR_ARG);
	assert_int_equal(cn_optim_step(opt, NULL, g, 0.1f), CN_ERR_ARG);
	assert_int_equal(cn_optim_step(opt, p, NULL, 0.1f), CN_ERR_ARG);
	/* params and grads overlapping (the loops are restrict-qualified) */
	assert_int_equal(cn_optim_step(opt, p, p, 0.1f), CN_ERR_ARG);
	float pg[3] = {1, 2, 3};
	assert_int_equal(cn_optim_step(opt, pg, pg + 1, 0.1f), CN_ERR_ARG);
	assert_true(p[0] == 1 && p[1] == 2);
	assert_true(pg[0] == 1 && pg[1] == 2 && pg[2] == 3);
	assert_true(cn_optim_state(opt)[0] == 0 && cn_optim_state(opt)[1] == 0);
	assert_int_equal(cn_optim_step_count(opt), 0);
	cn_optim_free(opt);
}

/* The same rules in double, written as the file head states them, for the sweep. */
static void ref_step(enum cn_optim_kind kind, size_t n, double *p, const float *g, double *m,
                     double *v, double lr, double wd, double clip, int64_t t)
{
	const double mu = 0.9, b1 = 0.9, b2 = 0.999, eps = 1e-8;
	double ss = 0, s = 1;
	for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
	if (clip > 0 && sqrt(ss) > clip) s = clip / sqrt(ss);
	for (size_t i = 0; i < n; i++) {
		double d = s * g[i] + wd * p[i];
		switch (kind) {
		case CN_OPTIM_SGD:
			p[i] -= lr * d;
			break;
		case CN_OPTIM_MOMENTUM:
			v[i] = mu * v[i] + d;
			p[i] -= lr * v[i];
			break;
		case CN_OPTIM_MOMENTUM_EMA:
			v[i] = mu * v[i] + (1 - mu) * d;
			p[i] -= lr * v[i];
			break;
		case CN_OPTIM_ADAM:
			m[i] = b1 * m[i] + (1 - b1) * d;
			v[i] = b2 * v[i] + (1 - b2) * d * d;
			p[i] -= lr * (m[i] / (1 - pow(b1, (double)t))) /
			        (sqrt(v[i] / (1 - pow(b2, (double)t))) + eps);
			break;
		}
	}
}

/* Seeded sweep: every kind, with and without decay and clipping, over an odd length and
 * several steps of random gradients, against ref_step. */
static void test_sweep(void **state)
{
	(void)state;
	enum { N = 1037, STEPS = 6 };
	struct tu_rng r = tu_rng_make(42);
	float *p = tu_floats(N), *g = tu_floats(N), *pr = tu_floats(N);
	double *pd = malloc(N * sizeof(double)), *m = malloc(N * sizeof(double)),
	       *v = malloc(N * sizeof(double));
	assert_true(pd && m && v);
	const float wds[] = {0, 0.01f}, clips[] = {0, 0.5f, 1000};
	for (int kind = CN_OPTIM_SGD; kind <= CN_OPTIM_ADAM; kind++) {
		for (size_t w = 0; w < LEN(wds); w++) {
			for (size_t c = 0; c < LEN(clips); c++) {
				struct cn_optim *opt = make(kind, N, wds[w], clips[c]);
				tu_fill_uniform(&r, p, N, -1, 1);
				for (size_t i = 0; i < N; i++) pd[i] = p[i], m[i] = v[i] = 0;
				for (int t = 1; t <= STEPS; t++) {
					tu_fill_uniform(&r, g, N, -0.1f, 0.1f);
					step_ok(opt, p, g, 0.01f);
					ref_step(kind, N, pd, g, m, v, 0.01f, wds[w], clips[c], t);
				}
				for (size_t i = 0; i < N; i++) pr[i] = (float)pd[i];
				char cfg[96];
				snprintf(cfg, sizeof(cfg), "kind %d wd %g clip %g", kind,
				         (double)wds[w], (double)clips[c]);
				tu_check_close("sweep params", p, pr, N, 1e-5, cfg);
				cn_optim_free(opt);
			}
		}
	}
	free(p), free(g), free(pr), free(pd), free(m), free(v);
}

/*
 * Past CN_PAR_MIN_LEN (32768) parameters the update is shared out among threads: every kind
 * gives the same bits on one thread and on two, and matches the reference.
 */
static void test_threads_same_bits(void **state)
{
	(void)state;
	enum { N = 100003, STEPS = 3 };
	struct tu_rng r = tu_rng_make(43);
	float *p1 = tu_floats(N), *p2 = tu_floats(N), *g = tu_floats(N), *pr = tu_floats(N);
	double *pd = malloc(N * sizeof(double)), *m = malloc(N * sizeof(double)),
	       *v = malloc(N * sizeof(double));
	assert_true(pd && m && v);
	for (int kind = CN_OPTIM_SGD; kind <= CN_OPTIM_ADAM; kind++) {
		struct cn_optim *o1 = make(kind, N, 0.01f, 0.5f), *o2 = make(kind, N, 0.01f, 0.5f);
		tu_fill_uniform(&r, p1, N, -1, 1);
		memcpy(p2, p1, N * sizeof(float));
		for (size_t i = 0; i < N; i++) pd[i] = p1[i], m[i] = v[i] = 0;
		for (int t = 1; t <= STEPS; t++) {
			tu_fill_uniform(&r, g, N, -0.1f, 0.1f);
			assert_int_equal(cn_set_blas_threads(1), CN_OK);
			step_ok(o1, p1, g, 0.01f);
			assert_int_equal(cn_set_blas_threads(2), CN_OK);
			step_ok(o2, p2, g, 0.01f);
			ref_step(kind, N, pd, g, m, v, 0.01f, 0.01f, 0.5f, t);
		}
		assert_memory_equal(p1, p2, N * sizeof(float));
		assert_int_equal(cn_optim_state_len(o1), cn_optim_state_len(o2));
		if (cn_optim_state_len(o1))
			assert_memory_equal(cn_optim_state(o1), cn_optim_state(o2),
			                    cn_optim_state_len(o1) * sizeof(float));
		for (size_t i = 0; i < N; i++) pr[i] = (float)pd[i];
		tu_check_close("threads params", p2, pr, N, 1e-5, "2 threads");
		cn_optim_free(o1);
		cn_optim_free(o2);
	}
	free(p1), free(p2), free(g), free(pr), free(pd), free(m), free(v);
}

/*
 * cn_all_finite: one NaN, +Inf or -Inf anywhere (first, last, inside the 16-float lanes, in
 * the tail, in either thread's half past 2^18) makes the block non-finite; the largest finite
 * floats and signed zeros do not.
 */
static void test_all_finite(void **state)
{
	(void)state;
	static const size_t lens[] = {1, 15, 16, 17, 33, 1000, 262143, 262144, 300001};
	const float bad[] = {NAN, INFINITY, -INFINITY};
	for (size_t l = 0; l < LEN(lens); l++) {
		size_t len = lens[l];
		float *a = tu_floats(len);
		for (size_t i = 0; i < len; i++) a[i] = i % 3 ? 3.4e38f : -0.0f;
		assert_true(cn_all_finite(a, len));
		size_t at[] = {0, len / 2, len - 1, len / 2 + len / 4, len > 16 ? 16 : 0};
		for (size_t k = 0; k < LEN(at); k++)
			for (size_t b = 0; b < LEN(bad); b++) {
				float keep = a[at[k]];
				a[at[k]] = bad[b];
				if (cn_all_finite(a, len))
					print_error("len %zu: %g at %zu not seen\n", len,
					            (double)bad[b], at[k]);
				assert_false(cn_all_finite(a, len));
				a[at[k]] = keep;
			}
		free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),          cmocka_unit_test(test_sgd),
	    cmocka_unit_test(test_momentum),          cmocka_unit_test(test_momentum_ema),
	    cmocka_unit_test(test_nesterov),          cmocka_unit_test(test_adam),
	    cmocka_unit_test(test_adam_eps),          cmocka_unit_test(test_weight_decay),
	    cmocka_unit_test(test_weight_decay_adam), cmocka_unit_test(test_clip),
	    cmocka_unit_test(test_all_finite),        cmocka_unit_test(test_clip_with_decay),
	    cmocka_unit_test(test_clip_nonfinite),    cmocka_unit_test(test_step_count),
	    cmocka_unit_test(test_state_layout),      cmocka_unit_test(test_invalid_opts),
	    cmocka_unit_test(test_step_bad_args),     cmocka_unit_test(test_sweep),
	    cmocka_unit_test(test_threads_same_bits),
	};
	return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
