/*
 * dropout: the fast version against the reference from the same generator state (the same
 * mask, element by element) over lengths and rates; the share dropped and the mean kept;
 * backward against the reference; a central-difference check with the mask held fixed (the
 * generator replayed before every forward); and through a network: evaluation is the
 * identity, CN_PLAN_INFER always evaluates, masks differ step to step and repeat for a seed.
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
#include "ops/ops.h"
#include "ref/ref.h"
#include "rng.h"
#include "util.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static void compare(size_t len, float p, uint64_t seed, double *worst)
{
	char name[100];
	snprintf(name, sizeof(name), "len %zu, p %g", len, (double)p);
	struct tu_rng r = tu_rng_make(seed);
	float *x = tu_rand_floats(&r, len), *dy = tu_rand_floats(&r, len);
	float *y = tu_nans(len), *yr = tu_nans(len), *mask = tu_nans(len), *maskr = tu_nans(len);
	float *dx = tu_nans(len), *dxr = tu_nans(len);
	struct cn_rng g, gr;
	cn_rng_seed(&g, seed);
	gr = g;
	cn_dropout_forward(len, p, &g, x, y, mask);
	cn_dropout_forward_ref(len, p, &gr, x, yr, maskr);
	assert_memory_equal(&g, &gr, sizeof(g)); /* one draw per element, both */
	for (size_t i = 0; i < len; i++) assert_true((mask[i] == 0) == (maskr[i] == 0));
	tu_track(worst, tu_check_close("y", y, yr, len, 1e-6, name));
	tu_track(worst, tu_check_close("mask", mask, maskr, len, 1e-6, name));
	cn_dropout_backward(len, mask, dy, dx);
	cn_dropout_backward_ref(len, maskr, dy, dxr);
	tu_track(worst, tu_check_close("dx", dx, dxr, len, 1e-6, name));
	float *all[] = {x, dy, y, yr, mask, maskr, dx, dxr};
	for (size_t i = 0; i < LEN(all); i++) free(all[i]);
}

static void test_against_reference(void **state)
{
	(void)state;
	static const size_t lens[] = {1, 2, 7, 100, 625 * 3, 4097};
	static const float rates[] = {0.0f, 0.1f, 0.5f, 0.9f, 0.999f};
	double worst = 0;
	int configs = 0;
	for (size_t i = 0; i < LEN(lens); i++)
		for (size_t k = 0; k < LEN(rates); k++, configs++)
			compare(lens[i], rates[k], 100 + (uint64_t)configs, &worst);
	struct tu_rng r = tu_rng_make(5);
	for (; configs < 130; configs++)
		compare((size_t)tu_int(&r, 1, 3000), tu_uniform(&r, 0, 0.95f), (uint64_t)configs,
		        &worst);
	print_message("dropout: %d configurations against the reference, largest error %.3g\n",
	              configs, worst);
}

/* p = 0 keeps everything as it is; otherwise about p of the elements go and the mean stays. */
static void test_statistics(void **state)
{
	(void)state;
	const size_t len = 200000;
	float *x = tu_floats(len), *y = tu_floats(len), *mask = tu_floats(len);
	for (size_t i = 0; i < len; i++) x[i] = 1.0f;
	struct cn_rng g;
	cn_rng_seed(&g, 9);
	cn_dropout_forward(len, 0.0f, &g, x, y, mask);
	for (size_t i = 0; i < len; i++) assert_true(y[i] == 1.0f);
	static const float rates[] = {0.2f, 0.5f, 0.8f};
	for (size_t k = 0; k < LEN(rates); k++) {
		cn_dropout_forward(len, rates[k], &g, x, y, mask);
		size_t dropped = 0;
		double sum = 0;
		for (size_t i = 0; i < len; i++) dropped += y[i] == 0, sum += y[i];
		double share = (double)dropped / len, mean = sum / len;
		/* binomial: 3 standard deviations are under 0.0027 of len */
		assert_true(fabs(share - rates[k]) < 0.004);
		assert_true(fabs(mean - 1.0) < 0.02);
	}
	/* the hashed stream's elements are independent: neighbours, and the same element in the
	   next forward (a new key), are both dropped about p^2 of the time */
	float *prev = tu_floats(len);
	cn_dropout_forward(len, 0.5f, &g, x, prev, mask);
	cn_dropout_forward(len, 0.5f, &g, x, y, mask);
	size_t pairs = 0, again = 0;
	for (size_t i = 0; i + 1 < len; i++) pairs += y[i] == 0 && y[i + 1] == 0;
	for (size_t i = 0; i < len; i++) again += y[i] == 0 && prev[i] == 0;
	assert_true(fabs((double)pairs / len - 0.25) < 0.004);
	assert_true(fabs((double)again / len - 0.25) < 0.004);
	free(x), free(y), free(mask), free(prev);
}

/* loss = Σ r .* dropout(x) with the generator replayed, so every forward has the same mask. */
struct gc {
	size_t len;
	float p;
	struct cn_rng g0;
	float *x, *y, *mask;
	const double *r;
};

static double loss(void *ctx)
{
	struct gc *c = ctx;
	struct cn_rng g = c->g0;
	cn_dropout_forward(c->len, c->p, &g, c->x, c->y, c->mask);
	double s = 0;
	for (size_t i = 0; i < c->len; i++) s += c->r[i] * c->y[i];
	return s;
}

static void test_gradcheck(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(31);
	double worst = 0;
	static const size_t lens[] = {1, 5, 64, 333};
	for (size_t k = 0; k < LEN(lens); k++) {
		struct gc c = {.len = lens[k], .p = 0.4f};
		cn_rng_seed(&c.g0, 40 + k);
		c.x = tu_rand_floats(&r, c.len), c.y = tu_floats(c.len), c.mask = tu_floats(c.len);
		float *dy = tu_rand_floats(&r, c.len), *dx = tu_floats(c.len);
		double *rr = tu_alloc(c.len * sizeof(double));
		for (size_t i = 0; i < c.len; i++) rr[i] = dy[i];
		c.r = rr;
		if (c.len == 1) c.p = 0.0f; /* one element: make sure it is kept */
		loss(&c);
		cn_dropout_backward(c.len, c.mask, dy, dx);
		tu_track(&worst, tu_gradcheck("dx", loss, &c, c.x, c.len, dx, 0.05, 1e-3, 200));
		free(c.x), free(c.y), free(c.mask), free(dy), free(dx), free(rr);
	}
	print_message("dropout gradcheck (fixed mask): largest error %.3g\n", worst);
}

static struct cn_net *net_of(const char *spec, uint64_t seed)
{
	char err[CN_ERR_LEN];
	struct cn_net *net;
	enum cn_status st = cn_net_create(&net, spec, (struct cn_shape){1, 4, 4}, seed, err);
	if (st) print_error("%s: %s\n", spec, err);
	assert_int_equal(st, CN_OK);
	return net;
}

static void test_net_modes(void **state)
{
	(void)state;
	const char *spec = "dropout 0.5";
	struct tu_rng r = tu_rng_make(8);
	float *x = tu_rand_floats(&r, 3 * 16), *first = tu_floats(3 * 16);
	const float *y;
	struct cn_net *a = net_of(spec, 1), *b = net_of(spec, 1);
	/* training: a mask per forward, the same sequence for the same seed */
	assert_int_equal(cn_net_plan(a, 3, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_plan(b, 3, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_forward(a, x, 3, &y), CN_OK);
	memcpy(first, y, sizeof(float) * 48);
	int zeros = 0;
	for (int i = 0; i < 48; i++) {
		assert_true(first[i] == 0 || first[i] == 2 * x[i]);
		zeros += first[i] == 0;
	}
	assert_true(zeros > 0 && zeros < 48);
	assert_int_equal(cn_net_forward(b, x, 3, &y), CN_OK);
	assert_memory_equal(y, first, sizeof(float) * 48);
	assert_int_equal(cn_net_forward(a, x, 3, &y), CN_OK);
	assert_true(memcmp(y, first, sizeof(float) * 48) != 0);
	/* cn_net_init reseeds the generator: the first mask again */
	assert_int_equal(cn_net_init(a, CN_INIT_DEFAULT, 0, 1), CN_OK);
	assert_int_equal(cn_net_forward(a, x, 3, &y), CN_OK);
	assert_memory_equal(y, first, sizeof(float) * 48);
	/* evaluation mode: the identity */
	cn_net_set_training(a, 0);
	assert_false(cn_net_training(a));
	assert_int_equal(cn_net_forward(a, x, 3, &y), CN_OK);
	assert_memory_equal(y, x, sizeof(float) * 48);
	/* an inference plan: the identity in training mode too */
	cn_net_set_training(b, 1);
	assert_int_equal(cn_net_plan(b, 3, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_forward(b, x, 3, &y), CN_OK);
	assert_memory_equal(y, x, sizeof(float) * 48);
	cn_net_free(a);
	cn_net_free(b);
	free(x), free(first);
}

/* The spec: the rate is the probability of dropping, [0, 1), default 0.5. */
static void test_spec(void **state)
{
	(void)state;
	char err[CN_ERR_LEN], buf[128];
	struct cn_net *net = net_of("dropout | dropout 0.25 relu | dropout .1", 1);
	assert_int_equal(cn_net_layer_describe(net, 0, buf, sizeof(buf)), CN_OK);
	assert_non_null(strstr(buf, "dropout 0.5 "));
	assert_int_equal(cn_net_layer_describe(net, 1, buf, sizeof(buf)), CN_OK);
	assert_non_null(strstr(buf, "dropout 0.25 relu"));
	assert_int_equal(cn_net_param_count(net), 0);
	cn_net_free(net);
	static const char *const bad[] = {"dropout 1", "dropout -0.1", "dropout 0.5 0.2",
	                                  "dropout x", "dropout 0.5x", "dropout nan"};
	for (size_t i = 0; i < LEN(bad); i++) {
		assert_int_equal(cn_net_create(&net, bad[i], (struct cn_shape){1, 4, 4}, 1, err),
		                 CN_ERR_FORMAT);
		assert_non_null(strstr(err, "layer 1"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_against_reference),
	    cmocka_unit_test(test_statistics),
	    cmocka_unit_test(test_gradcheck),
	    cmocka_unit_test(test_net_modes),
	    cmocka_unit_test(test_spec),
	};
	return cmocka_run_group_tests_name("dropout", tests, NULL, NULL);
}
