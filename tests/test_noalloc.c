/*
 * Proof that a planned network's training step allocates nothing: this executable is linked
 * with -Wl,--wrap=malloc,... so every allocation colnet's own objects make goes through the
 * counters below. (OpenBLAS's internal buffers live in its shared library, outside both the
 * wrap and the rule.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "colnet.h"
#include "util.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);

static long allocations;

void *__wrap_malloc(size_t size)
{
	allocations++;
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	allocations++;
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	allocations++;
	return __real_realloc(p, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
	allocations++;
	return __real_aligned_alloc(align, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
	allocations++;
	return __real_posix_memalign(p, align, size);
}

static void step_allocates_nothing(void **state)
{
	(void)state;
	static const char *const specs[] = {
	    "conv 8 k3 p1 relu | maxpool 2 | conv 16 k3 p1 relu | maxpool 2 | linear 10",
	    "conv 6 k5 p2 tanh | avgpool 2 | conv 16 k5 tanh | avgpool 2 | linear 12 sigmoid | "
	    "flatten | leaky | linear 10",
	    "conv 4 k1 | maxpool 3 s2 p1 | linear 10",
	    /* the report layers: overlapping max pooling, L^p pooling, radial basis units */
	    "conv 4 k3 sigmoid | maxpool 3 s2 | lppool 2 p=3 tanh | rbf 7 imq | linear 10",
	    "linear 16 sigmoid | rbf 9 gaussian tanh | linear 10",
	    "conv 8 k3 p1 nobias | batchnorm relu | maxpool 2 | dropout 0.25 | linear 12 nobias | "
	    "batchnorm relu | dropout | linear 10",
	};
	for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
		char err[CN_ERR_LEN];
		struct cn_net *net;
		struct cn_shape in = {1, 28, 28};
		assert_int_equal(cn_net_create(&net, specs[s], in, 1, err), CN_OK);
		/* the wrap must see colnet's own allocations, or a zero below proves nothing */
		long before = allocations;
		assert_int_equal(cn_net_plan(net, 16, CN_PLAN_TRAIN), CN_OK);
		assert_true(allocations > before);

		float *x = tu_floats(16 * 28 * 28);
		int32_t labels[16];
		struct tu_rng rng = tu_rng_make(s);
		tu_fill_uniform(&rng, x, 16 * 28 * 28, 0, 1);
		for (int i = 0; i < 16; i++) labels[i] = i % 10;

		before = allocations;
		for (int step = 0; step < 3; step++) {
			float loss;
			int32_t n = step == 1 ? 7 : 16; /* a short last batch too */
			assert_int_equal(cn_net_train_step(net, x, labels, n, &loss), CN_OK);
			const float *y;
			assert_int_equal(cn_net_forward(net, cn_net_input(net), n, &y), CN_OK);
			/* evaluation behaviour (running statistics, no mask) allocates nothing either */
			cn_net_set_training(net, 0);
			assert_int_equal(cn_net_forward(net, cn_net_input(net), n, &y), CN_OK);
			cn_net_set_training(net, 1);
		}
		long during = allocations - before;
		if (during) print_error("'%s': %ld allocations in the step\n", specs[s], during);
		assert_int_equal(during, 0);
		/* nor an inference plan's forward, whose dense nets split the batch among threads */
		assert_int_equal(cn_net_plan(net, 64, CN_PLAN_INFER), CN_OK);
		tu_fill_uniform(&rng, cn_net_input(net), 64 * 28 * 28, 0, 1);
		before = allocations;
		for (int32_t n = 1; n <= 64; n *= 4) {
			const float *y;
			assert_int_equal(cn_net_forward(net, cn_net_input(net), n, &y), CN_OK);
		}
		assert_int_equal(allocations - before, 0);
		free(x);
		cn_net_free(net);
	}
}

/* A trainer's epoch with every recipe option on (augmentation with an elastic field, label
   smoothing, Nesterov, one-cycle with warm-up, the weight average and its swap) allocates
   nothing once its first epoch has sized the shuffle. */
static void recipe_epoch_allocates_nothing(void **state)
{
	(void)state;
	char err[CN_ERR_LEN];
	struct cn_net *net;
	const char *spec = "conv 4 k3 p1 nobias | batchnorm relu | maxpool 2 | linear 4";
	assert_int_equal(cn_net_create(&net, spec, (struct cn_shape){1, 8, 8}, 1, err), CN_OK);
	struct cn_dataset *ds = tu_quadrant_dataset(1, 96, 8);
	struct cn_train_opts o = cn_train_opts_default();
	o.epochs = 3;
	o.batch = 16;
	o.optim.kind = CN_OPTIM_MOMENTUM;
	o.optim.nesterov = 1;
	o.sched =
	    (struct cn_sched){.kind = CN_SCHED_ONECYCLE, .lr = 0.05f, .epochs = 3, .warmup = 0.5f};
	o.augment = (struct cn_augment){
	    .shift = 1, .rotate = 10, .scale = 0.1f, .elastic_alpha = 8, .elastic_sigma = 2};
	o.label_smoothing = 0.1f;
	o.ema_decay = 0.9f;
	struct cn_trainer *t;
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	assert_int_equal(cn_trainer_epoch(t, ds, NULL, NULL, NULL), CN_OK);
	long before = allocations;
	for (int e = 0; e < 2; e++) {
		assert_int_equal(cn_trainer_epoch(t, ds, NULL, NULL, NULL), CN_OK);
		assert_int_equal(cn_trainer_use_ema(t, 1), CN_OK);
	}
	long during = allocations - before;
	if (during) print_error("%ld allocations in two recipe epochs\n", during);
	assert_int_equal(during, 0);
	cn_trainer_free(t);
	cn_net_free(net);
	cn_dataset_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(step_allocates_nothing),
	    cmocka_unit_test(recipe_epoch_allocates_nothing),
	};
	return cmocka_run_group_tests_name("noalloc", tests, NULL, NULL);
}
