/*
 * The pieces compose: a small conv -> relu -> maxpool -> linear -> softmax-xent network,
 * trained by plain full-batch gradient descent on a synthetic separable problem (which
 * quadrant of an 8x8 image holds a bright blob), reaches 100% training accuracy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "colnet.h"
#include "util.h"

#define N    64
#define SIDE 8

static void make_data(float *x, int32_t *labels)
{
	struct tu_rng rng = tu_rng_make(2024);
	for (int i = 0; i < N; i++) {
		int q = i % 4;
		labels[i] = q;
		float *img = x + i * SIDE * SIDE;
		tu_fill_uniform(&rng, img, SIDE * SIDE, 0.0f, 0.3f);
		int oy = (q / 2) * 4 + tu_int(&rng, 0, 2), ox = (q % 2) * 4 + tu_int(&rng, 0, 2);
		for (int dy = 0; dy < 2; dy++)
			for (int dx = 0; dx < 2; dx++) img[(oy + dy) * SIDE + ox + dx] = 1.0f;
	}
}

static int accuracy(struct cn_net *net, const float *x, const int32_t *labels)
{
	const float *y;
	assert_int_equal(cn_net_forward(net, x, N, &y), CN_OK);
	int right = 0;
	for (int i = 0; i < N; i++) {
		int best = 0;
		for (int k = 1; k < 4; k++)
			if (y[i * 4 + k] > y[i * 4 + best]) best = k;
		right += best == labels[i];
	}
	return right;
}

static void reaches_full_accuracy(void **state)
{
	(void)state;
	float *x = tu_floats(N * SIDE * SIDE);
	int32_t labels[N];
	make_data(x, labels);
	char err[CN_ERR_LEN];
	struct cn_net *net;
	assert_int_equal(cn_net_create(&net, "conv 4 k3 p1 relu | maxpool 2 | linear 4",
	                               (struct cn_shape){1, SIDE, SIDE}, 5, err),
	                 CN_OK);
	assert_int_equal(cn_net_plan(net, N, CN_PLAN_TRAIN), CN_OK);
	int start = accuracy(net, x, labels);
	float first = 0, loss = 0;
	int steps = 0;
	for (; steps < 2000 && accuracy(net, x, labels) < N; steps++) {
		assert_int_equal(cn_net_train_step(net, x, labels, N, &loss), CN_OK);
		if (steps == 0) first = loss;
		float *p = cn_net_params(net);
		const float *g = cn_net_grads(net);
		for (size_t i = 0; i < cn_net_param_count(net); i++) p[i] -= 0.5f * g[i];
	}
	int end = accuracy(net, x, labels);
	print_message("accuracy %d/%d -> %d/%d after %d steps, loss %.4f -> %.4f\n", start, N, end,
	              N, steps, (double)first, (double)loss);
	assert_true(start < N);
	assert_int_equal(end, N);
	assert_true(loss < first);
	cn_net_free(net);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reaches_full_accuracy),
	};
	return cmocka_run_group_tests_name("train_tiny", tests, NULL, NULL);
}
