/*
 * The embedding API's inference calls: cn_net_predict against forward + softmax + argmax by
 * hand, cn_net_load_mem against cn_net_load of the same bytes, and cn_net_share: four threads
 * predicting at once through their own shares of one loaded model give, bit for bit, what
 * the model gives alone; and a large inference batch, run through the layers in parts, gives
 * what batches of a part give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "colnet.h"
#include "net.h"
#include "util.h"

#define SIDE 10
#define IMG  (SIDE * SIDE * 2)
/* dropout and batchnorm: predict must evaluate, whatever mode the net is in */
#define SPEC                                                                                       \
	"conv 6 k3 p1 | batchnorm relu | maxpool 2 | conv 8 k3 relu | dropout 0.3 | linear 16 "    \
	"tanh | linear 5"

static struct cn_net *new_net(uint64_t seed)
{
	struct cn_net *net;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_net_create(&net, SPEC, (struct cn_shape){2, SIDE, SIDE}, seed, err),
	                 CN_OK);
	/* running statistics away from the identity, so sharing them is seen */
	float *st = cn_net_state(net);
	for (size_t i = 0; i < cn_net_state_count(net); i++) st[i] = 0.5f + 0.1f * (float)(i % 7);
	return net;
}

/* forward in evaluation mode, then softmax and argmax written out here */
static void by_hand(struct cn_net *net, const float *x, int32_t n, float *probs, int32_t *cls)
{
	int training = cn_net_training(net);
	cn_net_set_training(net, 0);
	assert_int_equal(cn_net_plan(net, n, CN_PLAN_INFER), CN_OK);
	const float *y;
	assert_int_equal(cn_net_forward(net, x, n, &y), CN_OK);
	for (int32_t i = 0; i < n; i++) {
		const float *l = y + i * 5;
		double m = l[0], sum = 0;
		cls[i] = 0;
		for (int j = 1; j < 5; j++)
			if (l[j] > m) m = l[j], cls[i] = j;
		for (int j = 0; j < 5; j++) sum += exp(l[j] - m);
		for (int j = 0; j < 5; j++) probs[i * 5 + j] = (float)(exp(l[j] - m) / sum);
	}
	cn_net_set_training(net, training);
}

static void predict_is_softmax_and_argmax(void **state)
{
	(void)state;
	enum { N = 23 };
	struct tu_rng r = tu_rng_make(5);
	float *x = tu_rand_floats(&r, (size_t)N * IMG), want[N * 5], probs[N * 5];
	int32_t want_cls[N], cls[N];
	struct cn_net *net = new_net(3);
	by_hand(net, x, N, want, want_cls);
	/* planned for 4: 23 images run as six slices; the training mode stays on */
	assert_int_equal(cn_net_plan(net, 4, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_predict(net, x, N, probs, cls), CN_OK);
	assert_true(cn_net_training(net));
	tu_check_close("probs", probs, want, N * 5, 1e-5, "planned 4, 23 images");
	assert_memory_equal(cls, want_cls, sizeof(cls));
	for (int i = 0; i < N; i++) {
		double sum = 0;
		for (int j = 0; j < 5; j++) sum += probs[i * 5 + j];
		assert_true(fabs(sum - 1) < 1e-5);
	}
	/* either output may be left out; an unplanned net plans itself */
	struct cn_net *fresh = new_net(3);
	int32_t cls2[N];
	assert_int_equal(cn_net_predict(fresh, x, N, NULL, cls2), CN_OK);
	assert_memory_equal(cls2, want_cls, sizeof(cls2));
	assert_true(cn_net_plan_bytes(fresh) > 0);
	assert_int_equal(cn_net_predict(fresh, x, 1, probs, NULL), CN_OK);
	tu_check_close("probs of one", probs, want, 5, 1e-5, "unplanned");
	print_message("predict: %d images in slices of 4 match forward + softmax + argmax\n", N);
	cn_net_free(fresh);
	cn_net_free(net);
	free(x);
}

static void predict_refuses_bad_calls(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(6);
	float *x = tu_rand_floats(&r, 3 * IMG);
	int32_t cls[3];
	assert_int_equal(cn_net_predict(NULL, x, 3, NULL, cls), CN_ERR_ARG);
	struct cn_net *net = new_net(1);
	assert_int_equal(cn_net_predict(net, NULL, 3, NULL, cls), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "from NULL"));
	assert_int_equal(cn_net_predict(net, x, 0, NULL, cls), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "predict 0 images"));
	/* relu and maxpool may swallow a NaN pixel; a NaN bias of the last layer reaches all */
	cn_net_params(net)[cn_net_param_count(net) - 1] = NAN;
	assert_int_equal(cn_net_predict(net, x, 3, NULL, cls), CN_ERR_NUMERIC);
	assert_non_null(strstr(cn_net_error(net), "image 0's outputs are not finite"));
	cn_net_free(net);
	free(x);
}

static const char *tmp_path(void)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/cn-test-predict-%ld.ck", (long)getpid());
	return path;
}

static void load_mem_matches_load(void **state)
{
	(void)state;
	char err[CN_ERR_LEN];
	struct cn_net *net = new_net(9), *from_file, *from_mem;
	const char *names[] = {"a", "b", "c", "d", "e"};
	assert_int_equal(cn_net_set_class_names(net, names, 5), CN_OK);
	assert_int_equal(cn_net_save(net, tmp_path(), err), CN_OK);
	size_t len;
	uint8_t *buf = tu_read_file(tmp_path(), &len);
	assert_int_equal(cn_net_load(&from_file, tmp_path(), err), CN_OK);
	assert_int_equal(cn_net_load_mem(&from_mem, buf, len, err), CN_OK);
	unlink(tmp_path());
	size_t n = cn_net_param_count(net);
	assert_int_equal(cn_net_param_count(from_mem), n);
	assert_memory_equal(cn_net_params(from_mem), cn_net_params(from_file), n * sizeof(float));
	assert_memory_equal(cn_net_state(from_mem), cn_net_state(net),
	                    cn_net_state_count(net) * sizeof(float));
	assert_string_equal(cn_net_spec(from_mem), SPEC);
	assert_string_equal(cn_net_class_name(from_mem, 4), "e");
	cn_net_free(from_file);
	/* the same checks as a file: a cut or flipped buffer is refused with a reason */
	assert_int_equal(cn_net_load_mem(&from_file, buf, len / 2, err), CN_ERR_FORMAT);
	assert_null(from_file);
	assert_non_null(strstr(err, "checkpoint in memory"));
	buf[len / 3] ^= 0x10;
	assert_int_equal(cn_net_load_mem(&from_file, buf, len, err), CN_ERR_FORMAT);
	assert_int_equal(cn_net_load_mem(&from_file, buf, 0, err), CN_ERR_FORMAT);
	assert_int_equal(cn_net_load_mem(&from_file, NULL, len, err), CN_ERR_ARG);
	assert_non_null(strstr(err, "buffer is NULL"));
	assert_int_equal(cn_net_load_mem(NULL, buf, len, err), CN_ERR_ARG);
	free(buf);
	cn_net_free(from_mem);
	cn_net_free(net);
}

/* ---- one model, four threads ---- */

enum { THREADS = 4, PER = 41, SHARE_BATCH = 8 };

struct worker {
	const struct cn_net *model;
	const float *x; /* [PER, IMG] */
	float probs[PER * 5];
	int32_t cls[PER];
	enum cn_status st;
	char err[CN_ERR_LEN];
};

/* no cmocka assertions off the main thread: the status comes back in the worker */
static void *serve(void *arg)
{
	struct worker *w = arg;
	struct cn_net *mine = NULL;
	w->st = cn_net_share(&mine, w->model, w->err);
	if (!w->st) w->st = cn_net_plan(mine, SHARE_BATCH, CN_PLAN_INFER);
	for (int round = 0; round < 20 && !w->st; round++)
		w->st = cn_net_predict(mine, w->x, PER, w->probs, w->cls);
	if (w->st && mine) snprintf(w->err, sizeof(w->err), "%s", cn_net_error(mine));
	cn_net_free(mine);
	return NULL;
}

static void four_threads_share_one_model(void **state)
{
	(void)state;
	char err[CN_ERR_LEN];
	struct cn_net *trained = new_net(4), *model;
	/* the model as an embedder has it: loaded from bytes */
	assert_int_equal(cn_net_save(trained, tmp_path(), err), CN_OK);
	assert_int_equal(cn_net_load(&model, tmp_path(), err), CN_OK);
	unlink(tmp_path());
	size_t np = cn_net_param_count(model);
	float *before = tu_copy(cn_net_params(model), np);
	struct tu_rng r = tu_rng_make(8);
	float *x = tu_rand_floats(&r, (size_t)THREADS * PER * IMG);
	struct worker w[THREADS] = {0};
	/* single-thread answers first, through a share planned as the workers plan */
	float want[THREADS][PER * 5];
	int32_t want_cls[THREADS][PER];
	struct cn_net *one;
	assert_int_equal(cn_net_share(&one, model, err), CN_OK);
	assert_int_equal(cn_net_plan(one, SHARE_BATCH, CN_PLAN_INFER), CN_OK);
	for (int t = 0; t < THREADS; t++) {
		w[t].model = model;
		w[t].x = x + (size_t)t * PER * IMG;
		assert_int_equal(cn_net_predict(one, w[t].x, PER, want[t], want_cls[t]), CN_OK);
	}
	/* the model itself answers the same */
	float probs[PER * 5];
	assert_int_equal(cn_net_plan(model, SHARE_BATCH, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_predict(model, w[0].x, PER, probs, NULL), CN_OK);
	assert_memory_equal(probs, want[0], sizeof(probs));
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, serve, &w[t]), 0);
	for (int t = 0; t < THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < THREADS; t++) {
		if (w[t].st) print_error("thread %d: %s\n", t, w[t].err);
		assert_int_equal(w[t].st, CN_OK);
		assert_memory_equal(w[t].probs, want[t], sizeof(w[t].probs));
		assert_memory_equal(w[t].cls, want_cls[t], sizeof(w[t].cls));
	}
	/* nothing wrote the shared weights */
	assert_memory_equal(cn_net_params(model), before, np * sizeof(float));
	print_message("4 threads x 20 rounds x %d images: bit-identical to one thread\n", PER);
	/* a share only infers */
	assert_int_equal(cn_net_plan(one, 4, CN_PLAN_TRAIN), CN_ERR_STATE);
	assert_non_null(strstr(cn_net_error(one), "inference only"));
	assert_int_equal(cn_net_init(one, CN_INIT_HE_UNIFORM, 0, 1), CN_ERR_STATE);
	assert_null(cn_net_grads(one));
	cn_net_zero_grad(one);
	assert_ptr_equal(cn_net_params(one), cn_net_params(model));
	cn_net_free(one);
	assert_int_equal(cn_net_share(&one, NULL, err), CN_ERR_ARG);
	assert_null(one);
	assert_non_null(strstr(err, "model is NULL"));
	free(before);
	free(x);
	cn_net_free(model);
	cn_net_free(trained);
}

/*
 * An inference plan runs a batch whose widest layer outgrows PASS_BYTES in parts (net_plan.c):
 * 300 images of 28x28 through a 64-channel conv and its batch norm run as 8 parts, the last
 * smaller. Each part gives, bit for bit, what a plan for a batch of its size gives those
 * images, and the whole batch repeats its bits.
 */
static void inference_in_parts_matches_batches_of_a_part(void **state)
{
	(void)state;
	enum { N = 300, K = 5, PIX = 28 * 28 };
	struct cn_net *net;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_net_create(&net,
	                               "conv 64 k3 p1 | batchnorm relu | maxpool 2 | linear 5",
	                               (struct cn_shape){1, 28, 28}, 3, err),
	                 CN_OK);
	struct tu_rng r = tu_rng_make(8);
	float *x = tu_rand_floats(&r, (size_t)N * PIX), *all = tu_floats((size_t)N * K);
	const float *y;
	assert_int_equal(cn_net_plan(net, N, CN_PLAN_INFER), CN_OK);
	const int32_t part = net->pass;
	assert_true(part > 1 && part < N); /* the forward below runs in parts */
	assert_int_equal(cn_net_forward(net, x, N, &y), CN_OK);
	memcpy(all, y, sizeof(float) * N * K);
	assert_int_equal(cn_net_forward(net, x, N, &y), CN_OK);
	assert_memory_equal(all, y, sizeof(float) * N * K);
	assert_int_equal(cn_net_plan(net, part, CN_PLAN_INFER), CN_OK);
	assert_int_equal(net->pass, part); /* a batch of one part runs whole */
	for (int32_t lo = 0; lo < N; lo += part) {
		int32_t n = N - lo < part ? N - lo : part;
		assert_int_equal(cn_net_forward(net, x + (size_t)lo * PIX, n, &y), CN_OK);
		assert_memory_equal(all + (size_t)lo * K, y, sizeof(float) * (size_t)n * K);
	}
	printf("inference of %d images in parts of %d: bit-identical to batches of %d\n", N, part,
	       part);
	free(x), free(all);
	cn_net_free(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(predict_is_softmax_and_argmax),
	    cmocka_unit_test(predict_refuses_bad_calls),
	    cmocka_unit_test(load_mem_matches_load),
	    cmocka_unit_test(four_threads_share_one_model),
	    cmocka_unit_test(inference_in_parts_matches_batches_of_a_part),
	};
	return cmocka_run_group_tests_name("predict", tests, NULL, NULL);
}
