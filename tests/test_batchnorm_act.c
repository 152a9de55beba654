/*
 * batchnorm with its activation fused: for every activation, training and evaluation, the
 * fused forward and backward give the same bits as batch norm followed by cn_act_forward,
 * and cn_act_backward followed by batch norm's backward (relu and leaky relu recompute their
 * mask from x, and must agree with the mask cn_act_backward reads from y, ties at 0 too);
 * the fused forward is close to the double-precision reference followed by the reference
 * activation; and the fused passes give the same bits on 1 and 2 threads.
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

#ifdef _OPENMP
#include <omp.h>
#endif

#include "colnet.h"
#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const enum cn_act acts[] = {CN_ACT_IDENTITY, CN_ACT_RELU, CN_ACT_LEAKY_RELU, CN_ACT_SIGMOID,
                                   CN_ACT_TANH};

struct shape {
	size_t m;
	int32_t c;
};

/* rows x channels: tails of the 16-channel blocks, one row, rows fewer than the row blocks */
static const struct shape shapes[] = {{1, 3},  {2, 5},   {7, 16},    {13, 17},   {100, 10},
                                      {9, 33}, {50, 64}, {3136, 32}, {2500, 130}};

/* One layer's buffers: inputs, both paths' outputs. */
struct case_ {
	size_t m, len;
	int32_t c;
	float *x, *dy, *g, *b, *run, *ws;
};

static struct case_ make_case(struct tu_rng *r, size_t m, int32_t c)
{
	struct case_ k = {.m = m, .len = m * (size_t)c, .c = c};
	k.x = tu_rand_floats(r, k.len), k.dy = tu_rand_floats(r, k.len);
	k.g = tu_rand_floats(r, (size_t)c), k.b = tu_floats((size_t)c);
	k.run = tu_floats(2 * (size_t)c);
	for (int32_t j = 0; j < c; j++) {
		k.b[j] = j % 3 == 0 ? 0.0f : tu_uniform(r, -1, 1);
		k.run[j] = tu_uniform(r, -0.5f, 0.5f), k.run[c + j] = tu_uniform(r, 0.5f, 2);
	}
	/* ties at 0 before the activation: x at the running mean where beta is 0 (evaluation);
	   one row, whose batch variance is 0, gives y = beta (training) */
	for (size_t i = 0; i < m; i += 5)
		for (int32_t j = 0; j < c; j += 3) k.x[i * (size_t)c + (size_t)j] = k.run[j];
	k.ws = tu_floats(cn_batchnorm_ws_len(c));
	return k;
}

static void free_case(struct case_ *k)
{
	free(k->x), free(k->dy), free(k->g), free(k->b), free(k->run), free(k->ws);
}

/* What a pass of one path produced. */
struct result {
	float *y, *dx, *saved, *run, *dgb; /* dgb: dgamma then dbeta */
};

static struct result alloc_result(const struct case_ *k)
{
	size_t c = (size_t)k->c;
	struct result o = {tu_nans(k->len), tu_nans(k->len), tu_nans(2 * c), tu_copy(k->run, 2 * c),
	                   tu_floats(2 * c)};
	memset(o.dgb, 0, 2 * c * sizeof(float));
	return o;
}

static void free_result(struct result *o)
{
	free(o->y), free(o->dx), free(o->saved), free(o->run), free(o->dgb);
}

/* The fused op, forward then backward; dy is copied (backward may overwrite it). */
static struct result fused(const struct case_ *k, enum cn_act act, bool train)
{
	struct result o = alloc_result(k);
	float *dy = tu_copy(k->dy, k->len);
	if (train)
		cn_batchnorm_forward_train_act(k->m, k->c, act, 0.1f, k->g, k->b, k->x, o.y,
		                               o.saved, o.run, k->ws);
	else
		cn_batchnorm_forward_eval_act(k->m, k->c, act, 0.1f, k->g, k->b, o.run, k->x, o.y,
		                              o.saved, k->ws);
	cn_batchnorm_backward_act(k->m, k->c, train, act, 0.1f, k->g, k->b, o.saved, k->x, o.y, dy,
	                          o.dx, o.dgb, o.dgb + k->c, k->ws);
	free(dy);
	return o;
}

/* Batch norm alone, then the activation's own passes. */
static struct result composed(const struct case_ *k, enum cn_act act, bool train)
{
	struct result o = alloc_result(k);
	float *g = tu_floats(k->len);
	if (train)
		cn_batchnorm_forward_train(k->m, k->c, k->g, k->b, k->x, o.y, o.saved, o.run,
		                           k->ws);
	else
		cn_batchnorm_forward_eval(k->m, k->c, k->g, k->b, o.run, k->x, o.y, o.saved, k->ws);
	cn_act_forward(act, 0.1f, o.y, o.y, k->len);
	cn_act_backward(act, 0.1f, o.y, k->dy, g, k->len);
	cn_batchnorm_backward(k->m, k->c, train, k->g, o.saved, k->x, g, o.dx, o.dgb, o.dgb + k->c,
	                      k->ws);
	free(g);
	return o;
}

static void assert_same(const struct case_ *k, const struct result *a, const struct result *b)
{
	size_t c = (size_t)k->c;
	assert_memory_equal(a->y, b->y, k->len * sizeof(float));
	assert_memory_equal(a->dx, b->dx, k->len * sizeof(float));
	assert_memory_equal(a->saved, b->saved, 2 * c * sizeof(float));
	assert_memory_equal(a->run, b->run, 2 * c * sizeof(float));
	assert_memory_equal(a->dgb, b->dgb, 2 * c * sizeof(float));
}

static void test_fused_equals_composed(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(41);
	int cases = 0;
	for (size_t s = 0; s < LEN(shapes); s++) {
		struct case_ k = make_case(&r, shapes[s].m, shapes[s].c);
		for (size_t a = 0; a < LEN(acts); a++)
			for (int train = 0; train < 2; train++) {
				struct result f = fused(&k, acts[a], train),
				              p = composed(&k, acts[a], train);
				assert_same(&k, &f, &p);
				free_result(&f), free_result(&p);
				cases++;
			}
		free_case(&k);
	}
	printf("fused batchnorm+act equals batchnorm then act, bit for bit: %d cases\n", cases);
}

/* The fused training forward against the reference batch norm and reference activation. */
static void test_fused_forward_against_reference(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(42);
	double worst = 0;
	for (size_t s = 0; s < LEN(shapes); s++) {
		struct case_ k = make_case(&r, shapes[s].m, shapes[s].c);
		size_t c = (size_t)k.c;
		for (size_t a = 0; a < LEN(acts); a++) {
			float *y = tu_nans(k.len), *yr = tu_nans(k.len), *sv = tu_nans(2 * c),
			      *svr = tu_nans(2 * c), *run = tu_copy(k.run, 2 * c),
			      *runr = tu_copy(k.run, 2 * c);
			cn_batchnorm_forward_train_act(k.m, k.c, acts[a], 0.1f, k.g, k.b, k.x, y,
			                               sv, run, k.ws);
			cn_batchnorm_forward_train_ref(k.m, k.c, k.g, k.b, k.x, yr, svr, runr);
			cn_act_forward_ref(acts[a], 0.1f, yr, yr, k.len);
			/* absolute: a value near 0 before relu has no useful relative error */
			for (size_t i = 0; i < k.len; i++) {
				double e = fabs((double)y[i] - yr[i]);
				tu_track(&worst, e);
				assert_true(e < 1e-4);
			}
			assert_true(tu_max_rel_err(run, runr, 2 * c, NULL) < 1e-5);
			free(y), free(yr), free(sv), free(svr), free(run), free(runr);
		}
		free_case(&k);
	}
	printf("fused batchnorm+act forward against the reference: largest error %.3g\n", worst);
}

/* The fused passes split rows and fixed row blocks over threads: bits ignore the count. */
static void test_fused_thread_count_independent(void **state)
{
	(void)state;
#ifdef _OPENMP
	struct tu_rng r = tu_rng_make(43);
	struct case_ k = make_case(&r, 4 * 28 * 28, 32);
	for (size_t a = 0; a < LEN(acts); a++) {
		omp_set_num_threads(1);
		struct result one = fused(&k, acts[a], true);
		omp_set_num_threads(2);
		struct result two = fused(&k, acts[a], true);
		assert_same(&k, &one, &two);
		free_result(&one), free_result(&two);
	}
	free_case(&k);
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fused_equals_composed),
	    cmocka_unit_test(test_fused_forward_against_reference),
	    cmocka_unit_test(test_fused_thread_count_independent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
