/*
 * Learning-rate schedules: values at chosen t for every kind, computed by hand in the
 * comments; the loss rule at and around its boundaries; fields the rule cannot use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "colnet.h"
#include "util.h"

#define TOL    1e-6 /* relative */
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

struct probe {
	double t;
	float loss;
	double want;
};

/* Fail unless every probe's rate is its want within TOL relative. */
static void expect_all(const char *what, const struct cn_sched *s, const struct probe *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double got = cn_sched_lr(s, p[i].t, p[i].loss);
		if (!(fabs(got - p[i].want) <= TOL * fabs(p[i].want))) {
			print_error("%s: t = %g loss = %g: got %.12g want %.12g\n", what, p[i].t,
			            (double)p[i].loss, got, p[i].want);
			fail();
		}
	}
}

/* The base rate whatever t and loss. */
static void test_const(void **state)
{
	(void)state;
	const struct cn_sched s = {.kind = CN_SCHED_CONST, .lr = 0.05f};
	const struct probe p[] = {{0, 2, 0.05}, {3.7, 0.01f, 0.05}, {1e6, NAN, 0.05}};
	expect_all("const", &s, p, LEN(p));
}

/* lr = 0.1, gamma = 0.5, step_epochs = 3: 0.1 * 0.5^floor(t/3) */
static void test_step(void **state)
{
	(void)state;
	const struct cn_sched s = {
	    .kind = CN_SCHED_STEP, .lr = 0.1f, .step_epochs = 3, .gamma = 0.5f};
	const struct probe p[] = {
	    {0, 0, 0.1},            /* 0.5^0 */
	    {2.999, 0, 0.1},        /* floor(0.9997) = 0 */
	    {3, 0, 0.05},           /* 0.5^1 */
	    {5.5, 0, 0.05},         /* floor(1.83) = 1 */
	    {6, 0, 0.025},          /* 0.5^2 */
	    {9.25, 0, 0.0125},      /* 0.5^3 */
	    {30, 0, 0.00009765625}, /* 0.1 * 0.5^10 = 0.1/1024 */
	    {-4, 0, 0.1},           /* t < 0 is t = 0, not a larger rate */
	};
	expect_all("step", &s, p, LEN(p));
}

/*
 * lr = 0.1, lr_min = 0.001, epochs = 10: 0.001 + 0.099*(1 + cos(pi*t/10))/2
 *   t = 0     cos 0 = 1           -> 0.1
 *   t = 2.5   cos(pi/4) = 0.707106781187, (1.707106781187)/2 = 0.853553390593
 *             -> 0.001 + 0.099*0.853553390593 = 0.085501785669
 *   t = 5     cos(pi/2) = 0       -> 0.001 + 0.0495 = 0.0505
 *   t = 7.5   cos(3pi/4) = -0.707106781187 -> 0.001 + 0.099*0.146446609407
 *             = 0.015498214331
 *   t = 10    cos(pi) = -1        -> 0.001
 *   t = 12, 1e9 (beyond the run)  -> 0.001
 */
static void test_cosine(void **state)
{
	(void)state;
	const struct cn_sched s = {
	    .kind = CN_SCHED_COSINE, .lr = 0.1f, .epochs = 10, .lr_min = 0.001f};
	const struct probe p[] = {
	    {0, 0, 0.1},    {2.5, 0, 0.085501785669}, {5, 0, 0.0505},  {7.5, 0, 0.015498214331},
	    {10, 0, 0.001}, {12, 0, 0.001},           {1e9, 0, 0.001}, {-1, 0, 0.1},
	};
	expect_all("cosine", &s, p, LEN(p));
	/* lr_min = 0 decays to exactly 0 at the end */
	const struct cn_sched z = {.kind = CN_SCHED_COSINE, .lr = 0.2f, .epochs = 4};
	assert_true(cn_sched_lr(&z, 4, 0) == 0.0f);
	const struct probe pz[] = {{2, 0, 0.1}}; /* 0.2*(1 + cos(pi/2))/2 */
	expect_all("cosine to 0", &z, pz, LEN(pz));
}

/*
 * 0.2 while loss > 1, 0.1 while > 0.5, 0.05 while > 0.2, else max(0.005, loss/5).
 * A boundary value belongs to the band below it.
 */
static void test_loss(void **state)
{
	(void)state;
	const struct cn_sched s = {.kind = CN_SCHED_LOSS, .lr = 0.7f};
	const struct probe p[] = {
	    {0, 2.3f, 0.2},     {0, 1.0001f, 0.2},  {0, 1.0f, 0.1}, /* not > 1 */
	    {0, 0.7f, 0.1},     {0, 0.5f, 0.05},                    /* not > 0.5 */
	    {0, 0.3f, 0.05},    {0, 0.2f, 0.04},                    /* not > 0.2: 0.2/5 */
	    {0, 0.15f, 0.03},                                       /* 0.15/5 */
	    {0, 0.025f, 0.005}, /* 0.025/5 = 0.005: the floor meets the rule */
	    {0, 0.01f, 0.005},  /* 0.01/5 = 0.002 < 0.005 */
	    {0, 0.0f, 0.005},   {0, INFINITY, 0.2}, {0, NAN, 0.7}, /* no loss yet: the base rate */
	    {5, 0.15f, 0.03},                                      /* t plays no part */
	};
	expect_all("loss", &s, p, LEN(p));
}

/* Fields the rule cannot use give the base rate, never a division by zero or NaN. */
static void test_invalid(void **state)
{
	(void)state;
	const struct probe p[] = {{0, 1, 0.1}, {7.5, 1, 0.1}};
	struct cn_sched s = {.kind = CN_SCHED_STEP, .lr = 0.1f, .step_epochs = 0, .gamma = 0.5f};
	expect_all("step_epochs 0", &s, p, LEN(p));
	s.step_epochs = -3;
	expect_all("step_epochs -3", &s, p, LEN(p));
	s = (struct cn_sched){.kind = CN_SCHED_COSINE, .lr = 0.1f, .epochs = 0, .lr_min = 0.01f};
	expect_all("epochs 0", &s, p, LEN(p));
	s.epochs = -10;
	expect_all("epochs -10", &s, p, LEN(p));
	s.kind = (enum cn_sched_kind)99;
	expect_all("unknown kind", &s, p, LEN(p));
	/* NaN t is t = 0 */
	s = (struct cn_sched){.kind = CN_SCHED_STEP, .lr = 0.1f, .step_epochs = 2, .gamma = 0.5f};
	const struct probe pn[] = {{NAN, 1, 0.1}};
	expect_all("NaN t", &s, pn, LEN(pn));
	/* no schedule: a rate of 0, which cn_optim_step refuses */
	assert_true(cn_sched_lr(NULL, 1, 1) == 0.0f);
}

/*
 * One-cycle over 10 epochs, lr 0.1, lr_min 0.001, peak 0.2 (rises over epochs 0..2):
 *   t 0: 0.1/25 = 0.004;  t 1: 0.004 + 0.096/2 = 0.052;  t 2: 0.1;
 *   t 6: 0.1 - 0.099 * 0.5 = 0.0505;  t 10 and beyond: 0.001.
 * peak 0 means 0.3: t 3 is the top.
 */
static void test_onecycle(void **state)
{
	(void)state;
	struct cn_sched s = {
	    .kind = CN_SCHED_ONECYCLE, .lr = 0.1f, .epochs = 10, .lr_min = 0.001f, .peak = 0.2f};
	const struct probe p[] = {{0, 0, 0.1 / 25}, {1, 0, 0.052},  {2, 0, 0.1},
	                          {6, 0, 0.0505},   {10, 0, 0.001}, {12, 0, 0.001}};
	expect_all("onecycle", &s, p, LEN(p));
	s.peak = 0;
	const struct probe q[] = {{3, 0, 0.1}, {1.5, 0, 0.004 + 0.096 * 0.5}};
	expect_all("onecycle peak 0.3", &s, q, LEN(q));
}

/*
 * Linear decay over 4 epochs from 0.2 to 0.02: t 0: 0.2; t 1: 0.155; t 3: 0.065; t 4: 0.02.
 * Warm-up over 0.5 epochs on top of it: t 0: 0.2 * 0.01 = 0.002; t 0.25: 0.2 * 0.98 * ...
 * precisely base(0.25) = 0.18875 times 0.01 + 0.99 * 0.5 = 0.505 -> 0.09531875; t 0.5: base.
 * Warm-up on a constant rate 0.1 over 2 epochs: t 1: 0.1 * 0.505; the loss rule ignores it.
 */
static void test_linear_and_warmup(void **state)
{
	(void)state;
	struct cn_sched s = {.kind = CN_SCHED_LINEAR, .lr = 0.2f, .epochs = 4, .lr_min = 0.02f};
	const struct probe p[] = {{0, 0, 0.2}, {1, 0, 0.155}, {3, 0, 0.065}, {4, 0, 0.02}};
	expect_all("linear", &s, p, LEN(p));
	s.warmup = 0.5f;
	const struct probe w[] = {
	    {0, 0, 0.002}, {0.25, 0, 0.18875 * 0.505}, {0.5, 0, 0.2 - 0.18 * 0.125}, {3, 0, 0.065}};
	expect_all("linear with warm-up", &s, w, LEN(w));
	struct cn_sched c = {.kind = CN_SCHED_CONST, .lr = 0.1f, .warmup = 2};
	const struct probe cw[] = {{0, 0, 0.001}, {1, 0, 0.0505}, {2, 0, 0.1}, {5, 0, 0.1}};
	expect_all("const with warm-up", &c, cw, LEN(cw));
	struct cn_sched l = {.kind = CN_SCHED_LOSS, .lr = 0.1f, .warmup = 2};
	const struct probe lw[] = {{0, 2.0f, 0.2}};
	expect_all("loss rule ignores warm-up", &l, lw, LEN(lw));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_const),
	    cmocka_unit_test(test_step),
	    cmocka_unit_test(test_cosine),
	    cmocka_unit_test(test_loss),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_onecycle),
	    cmocka_unit_test(test_linear_and_warmup),
	};
	return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
