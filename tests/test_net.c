/*
 * The network as a whole: shapes refused with the layer and numbers named, a finite-difference
 * check of the entire backward pass through every layer kind, batch independence, two
 * networks in one process, and the API's state errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "colnet.h"
#include "net.h" /* white-box: the gradient check replays the dropout generator */
#include "util.h"

static void create_bad(const char *spec, struct cn_shape in, enum cn_status want,
                       const char *needle)
{
	char err[CN_ERR_LEN] = "";
	struct cn_net *net = (struct cn_net *)1;
	enum cn_status st = cn_net_create(&net, spec, in, 1, err);
	if (st != want || !strstr(err, needle))
		print_error("'%s': status %d (want %d), message '%s' lacks '%s'\n", spec, st, want,
		            err, needle);
	assert_int_equal(st, want);
	assert_null(net);
	assert_non_null(strstr(err, needle));
}

static void impossible_shapes(void **state)
{
	(void)state;
	struct cn_shape mnist = {1, 28, 28};
	create_bad("conv 8 k5 | maxpool 2 | conv 8 k5 | maxpool 2 | conv 8 k5", mnist, CN_ERR_SHAPE,
	           "layer 5 (conv 8 k5x5 s1x1 p0x0) on input 4x4x8: kernel 5x5 "
	           "larger than padded input 4x4");
	create_bad("conv 8 k3 p3", mnist, CN_ERR_SHAPE, "padding 3x3 must be smaller");
	create_bad("conv 0 k3", mnist, CN_ERR_FORMAT, "output count");
	create_bad("conv 4 k3 s0", mnist, CN_ERR_FORMAT, "stride");
	create_bad("linear 10", (struct cn_shape){0, 28, 28}, CN_ERR_SHAPE, "28x28x0 (HxWxC)");
	create_bad("maxpool 30", mnist, CN_ERR_SHAPE,
	           "kernel 30x30 larger than padded input 28x28");
	create_bad("conv 4 k3 | linear", mnist, CN_ERR_FORMAT, "layer 2");
}

/* The gradient check's fixture: a small net through every layer kind, smooth activations. */
struct fixture {
	struct cn_net *net;
	float *x;
	int32_t labels[3];
	int32_t n;
	struct cn_rng rng0; /* every forward draws the same dropout masks from here */
};

static double loss_of(void *ctx)
{
	struct fixture *f = ctx;
	float loss;
	f->net->rng = f->rng0;
	assert_int_equal(cn_net_forward(f->net, f->x, f->n, NULL), CN_OK);
	assert_int_equal(cn_net_loss_xent(f->net, f->labels, &loss, NULL), CN_OK);
	return loss;
}

/*
 * The derivative along random +-1 directions over every parameter at once, against g·v
 * (KANN's trick). It sums all the gradients, so it stands far above the float32 forward's
 * rounding, which swamps element-wise differences of gradients as small as 1e-4. Measured:
 * correct code errs by at most 3.4% here (maxpool kinks within eps), while applying a fused
 * activation twice (a real bug this caught) erred by 6-50%.
 */
static double directional_check(const char *what, struct fixture *f, const float *g, size_t np,
                                struct tu_rng *rng)
{
	const double eps = 1e-3;
	float *p = cn_net_params(f->net), *saved = tu_floats(np), *v = tu_floats(np);
	memcpy(saved, p, np * sizeof(float));
	double worst = 0;
	for (int d = 0; d < 4; d++) {
		double ana = 0;
		for (size_t i = 0; i < np; i++) {
			v[i] = tu_uniform(rng, 0, 1) < 0.5f ? -1.0f : 1.0f;
			ana += (double)g[i] * v[i];
		}
		for (size_t i = 0; i < np; i++) p[i] = (float)(saved[i] + eps * v[i]);
		double up = loss_of(f);
		for (size_t i = 0; i < np; i++) p[i] = (float)(saved[i] - eps * v[i]);
		double down = loss_of(f);
		memcpy(p, saved, np * sizeof(float));
		double num = (up - down) / (2 * eps);
		double err = fabs(num - ana) / fmax(fabs(num), fabs(ana));
		if (err > 5e-2)
			print_error("%s: direction %d: numeric %.9g analytic %.9g (err %.3g)\n",
			            what, d, num, ana, err);
		assert_true(err <= 5e-2);
		if (err > worst) worst = err;
	}
	free(saved);
	free(v);
	return worst;
}

static void whole_net_gradcheck(void **state)
{
	(void)state;
	static const char *const specs[] = {
	    "conv 3 k3 p1 tanh | maxpool 2 | conv 4 k2x3 s1x2 p1x1 sigmoid | avgpool 2 | linear "
	    "5 tanh | linear 3",
	    "conv 2 k1 | conv 3 k3 s2 leaky=0.1 | flatten | sigmoid | linear 3 nobias",
	    "maxpool 3 s2 p1 | conv 4 k1x3 p0x1 tanh | avgpool 2 s1 | linear 3",
	    /* L^p pooling under an activation (backward recomputes its y), radial basis units */
	    "conv 3 k3 p1 tanh | lppool 3 s2 p1 p=3 tanh | rbf 5 gaussian | linear 3",
	    "rbf 4 imq sigmoid | linear 3",
	    "conv 3 k3 p1 nobias | batchnorm tanh | dropout 0.3 | avgpool 2 | linear 6 nobias | "
	    "batchnorm sigmoid | dropout 0.5 | linear 3",
	    /* batch norm and the max pool after it as one op (8x8 windows tile: plan_fusion) */
	    "conv 3 k2x3 p0x1 nobias | batchnorm relu | maxpool 2 | linear 3",
	    "conv 4 k2x3 p0x1 nobias | batchnorm leaky=0.2 | maxpool 2 | linear 3",
	};
	struct tu_rng rng = tu_rng_make(7);
	double worst = 0;
	for (size_t s = 0; s < (sizeof(specs) / sizeof(specs[0])); s++) {
		struct fixture f = {.n = 3, .labels = {0, 2, 1}};
		char err[CN_ERR_LEN];
		struct cn_shape in = {2, 9, 8};
		enum cn_status st = cn_net_create(&f.net, specs[s], in, 42 + s, err);
		if (st) print_error("'%s': %s\n", specs[s], err);
		assert_int_equal(st, CN_OK);
		assert_int_equal(cn_net_plan(f.net, 4, CN_PLAN_TRAIN), CN_OK);
		if (strstr(specs[s], "k2x3 p0x1 nobias | batchnorm"))
			assert_true(
			    f.net->layers[1].pools_next); /* the fused pair is what is checked */
		f.rng0 = f.net->rng;
		size_t in_len = (size_t)f.n * 2 * 9 * 8;
		f.x = tu_floats(in_len);
		tu_fill_uniform(&rng, f.x, in_len, -1, 1);
		cn_net_zero_grad(f.net);
		loss_of(&f);
		assert_int_equal(cn_net_backward(f.net), CN_OK);
		size_t np = cn_net_param_count(f.net);
		float *g = tu_floats(np);
		memcpy(g, cn_net_grads(f.net), np * sizeof(float));
		tu_track(&worst, directional_check(specs[s], &f, g, np, &rng));
		free(g);
		free(f.x);
		cn_net_free(f.net);
	}
	print_message("whole-net gradient check: %zu networks, largest error %.3g\n",
	              (sizeof(specs) / sizeof(specs[0])), worst);
}

static void smaller_batches_match(void **state)
{
	(void)state;
	const char *spec = "conv 4 k3 p1 relu | maxpool 2 | linear 5";
	struct cn_shape in = {1, 6, 6};
	char err[CN_ERR_LEN];
	struct cn_net *net;
	assert_int_equal(cn_net_create(&net, spec, in, 3, err), CN_OK);
	assert_int_equal(cn_net_plan(net, 5, CN_PLAN_INFER), CN_OK);
	struct tu_rng rng = tu_rng_make(9);
	float x[5 * 36], all[5 * 5];
	tu_fill_uniform(&rng, x, (sizeof(x) / sizeof(x[0])), 0, 1);
	const float *y;
	assert_int_equal(cn_net_forward(net, x, 5, &y), CN_OK);
	memcpy(all, y, sizeof(all));
	for (int i = 0; i < 5; i++) {
		assert_int_equal(cn_net_forward(net, x + i * 36, 1, &y), CN_OK);
		tu_check_close("image alone vs in batch", y, all + i * 5, 5, 1e-5, "");
	}
	/* forward in an inference plan has no loss */
	float loss;
	int32_t labels[5] = {0};
	assert_int_equal(cn_net_loss_xent(net, labels, &loss, NULL), CN_ERR_STATE);
	assert_int_equal(cn_net_forward(net, x, 6, &y), CN_ERR_ARG);
	assert_int_equal(cn_net_forward(net, x, 0, &y), CN_ERR_ARG);
	assert_int_equal(cn_net_forward(net, NULL, 1, &y), CN_ERR_ARG);
	cn_net_free(net);
}

/*
 * The batch's gradient is the mean of its images' gradients, on a layer big enough that the
 * plan lowers fewer images per backward GEMM than per forward GEMM (white-box: the test checks
 * that it does), so the backward's own chunking and workspace are exercised: batch 12 against
 * twelve batches of one.
 */
static void batch_gradient_is_mean_of_images(void **state)
{
	(void)state;
	const char *spec = "conv 32 k3 p1 relu | maxpool 2 | linear 4";
	struct cn_shape in = {1, 28, 28};
	enum { B = 12, PIX = 28 * 28 };
	char err[CN_ERR_LEN];
	struct cn_net *net, *one;
	assert_int_equal(cn_net_create(&net, spec, in, 5, err), CN_OK);
	assert_int_equal(cn_net_create(&one, spec, in, 5, err), CN_OK);
	assert_int_equal(cn_net_plan(net, B, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_plan(one, 1, CN_PLAN_TRAIN), CN_OK);
	const struct cn_layer *conv = &net->layers[0];
	assert_true(conv->conv_back.chunk < conv->conv.chunk);
	struct tu_rng rng = tu_rng_make(11);
	float *x = tu_floats(B * PIX);
	tu_fill_uniform(&rng, x, B * PIX, 0, 1);
	int32_t labels[B];
	for (int i = 0; i < B; i++) labels[i] = i % 4;
	float loss;
	cn_net_zero_grad(net);
	assert_int_equal(cn_net_forward(net, x, B, NULL), CN_OK);
	assert_int_equal(cn_net_loss_xent(net, labels, &loss, NULL), CN_OK);
	assert_int_equal(cn_net_backward(net), CN_OK);
	size_t np = cn_net_param_count(one);
	double *mean = calloc(np, sizeof(double));
	assert_non_null(mean);
	for (int i = 0; i < B; i++) {
		cn_net_zero_grad(one);
		assert_int_equal(cn_net_forward(one, x + i * PIX, 1, NULL), CN_OK);
		assert_int_equal(cn_net_loss_xent(one, labels + i, &loss, NULL), CN_OK);
		assert_int_equal(cn_net_backward(one), CN_OK);
		for (size_t j = 0; j < np; j++) mean[j] += cn_net_grads(one)[j] / (double)B;
	}
	float *want = tu_floats(np);
	for (size_t j = 0; j < np; j++) want[j] = (float)mean[j];
	tu_check_close("batch gradient vs mean of images", cn_net_grads(net), want, np, 1e-4, "");
	free(want);
	free(mean);
	free(x);
	cn_net_free(one);
	cn_net_free(net);
}

/*
 * cn_net_layer_chunks reports the plan and cn_net_pin_chunks overrides it at once, forward and
 * backward; a pinned net computes what the rule's net computes, up to rounding.
 */
static void pinned_chunks(void **state)
{
	(void)state;
	const char *spec = "conv 6 k3 p1 relu | maxpool 2 | conv 4 k3 tanh | linear 3";
	struct cn_shape in = {2, 10, 9};
	enum { B = 7, LEN = 2 * 10 * 9 };
	char err[CN_ERR_LEN];
	struct cn_net *net, *pin;
	int32_t f, b;
	assert_int_equal(cn_net_create(&net, spec, in, 3, err), CN_OK);
	assert_int_equal(cn_net_create(&pin, spec, in, 3, err), CN_OK);
	assert_int_equal(cn_net_layer_chunks(net, 0, &f, &b), CN_ERR_STATE);
	assert_int_equal(cn_net_pin_chunks(pin, -1), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(pin), "-1"));
	assert_int_equal(cn_net_pin_chunks(pin, 2), CN_OK); /* before a plan: kept for it */
	assert_int_equal(cn_net_plan(net, B, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_plan(pin, B, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_layer_chunks(net, 1, &f, &b), CN_ERR_ARG); /* maxpool */
	assert_int_equal(cn_net_layer_chunks(net, 3, &f, &b), CN_ERR_ARG); /* linear */
	assert_int_equal(cn_net_layer_chunks(net, 4, &f, &b), CN_ERR_ARG);
	assert_int_equal(cn_net_layer_chunks(net, 0, NULL, &b), CN_ERR_ARG);
	assert_int_equal(cn_net_layer_chunks(net, 0, &f, &b), CN_OK);
	assert_true(f >= 3 && b >= 3); /* tiny images: the rule lowers a whole share at once */
	for (int32_t i = 0; i < 3; i += 2) {
		assert_int_equal(cn_net_layer_chunks(pin, i, &f, &b), CN_OK);
		assert_int_equal(f, 2);
		assert_int_equal(b, 2);
	}
	struct tu_rng rng = tu_rng_make(4);
	float x[B * LEN];
	int32_t labels[B] = {0, 1, 2, 0, 1, 2, 0};
	tu_fill_uniform(&rng, x, B * LEN, -1, 1);
	const float *y, *yp;
	float loss;
	struct cn_net *nets[2] = {net, pin};
	for (int k = 0; k < 2; k++) {
		cn_net_zero_grad(nets[k]);
		assert_int_equal(cn_net_forward(nets[k], x, B, k ? &yp : &y), CN_OK);
		assert_int_equal(cn_net_loss_xent(nets[k], labels, &loss, NULL), CN_OK);
		assert_int_equal(cn_net_backward(nets[k]), CN_OK);
	}
	tu_check_close("pinned forward", yp, y, B * 3, 1e-5, "");
	tu_check_close("pinned gradients", cn_net_grads(pin), cn_net_grads(net),
	               cn_net_param_count(net), 1e-5, "");
	/* pinning a planned net re-plans it; an inference plan has no backward */
	assert_int_equal(cn_net_pin_chunks(net, 1), CN_OK);
	assert_int_equal(cn_net_layer_chunks(net, 2, &f, &b), CN_OK);
	assert_int_equal(f, 1);
	assert_int_equal(b, 1);
	assert_int_equal(cn_net_plan(net, B, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_layer_chunks(net, 0, &f, &b), CN_OK);
	assert_int_equal(f, 1);
	assert_int_equal(b, 0);
	assert_int_equal(cn_net_pin_chunks(net, 0), CN_OK); /* the rule again */
	assert_int_equal(cn_net_layer_chunks(net, 0, &f, &b), CN_OK);
	assert_true(f >= 3);
	cn_net_free(pin);
	cn_net_free(net);
}

/*
 * The report layers in both plans: an inference plan reserves no rbf cache (forward writes no
 * r) and must still give what a training plan gives, image by image or batched.
 */
static void rbf_lppool_infer_matches_train(void **state)
{
	(void)state;
	const char *spec = "conv 3 k3 sigmoid | lppool 3 s2 p=2.5 | rbf 6 imq | linear 4";
	struct cn_shape in = {2, 9, 9};
	char err[CN_ERR_LEN];
	struct cn_net *net;
	assert_int_equal(cn_net_create(&net, spec, in, 5, err), CN_OK);
	struct tu_rng rng = tu_rng_make(11);
	float x[3 * 162], train[3 * 4];
	tu_fill_uniform(&rng, x, sizeof(x) / sizeof(x[0]), 0, 1);
	const float *y;
	assert_int_equal(cn_net_plan(net, 3, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_forward(net, x, 3, &y), CN_OK);
	memcpy(train, y, sizeof(train));
	assert_int_equal(cn_net_plan(net, 3, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_forward(net, x, 3, &y), CN_OK);
	tu_check_close("infer vs train plan", y, train, 12, 1e-6, spec);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cn_net_forward(net, x + i * 162, 1, &y), CN_OK);
		tu_check_close("image alone vs in batch", y, train + i * 4, 4, 1e-5, spec);
	}
	cn_net_free(net);
}

/*
 * An inference plan of row-wise layers on 2 threads runs a large enough batch as one slice a
 * thread through the whole network (cn_net_forward_split says so: from 32 images here, by
 * the weights-vs-inputs rule, 2010 / 88 = 23, and at least 16 a thread); the outputs match a
 * training plan's evaluation forward and each image run alone, for an odd batch (slices of
 * 18 and 19 images) and an even one. Convolutions and batch norm keep the layers' own split.
 */
static void inference_split_by_images(void **state)
{
	(void)state;
	const char *spec = "flatten | linear 40 tanh | dropout 0.3 | rbf 30 imq | relu | linear 3";
	struct cn_shape in = {2, 3, 3};
	char err[CN_ERR_LEN];
	struct cn_net *net;
	assert_int_equal(cn_set_blas_threads(2), CN_OK);
	assert_int_equal(cn_net_create(&net, spec, in, 13, err), CN_OK);
	enum { N = 64, IMG = 18, OUT = 3 };
	float *x = tu_floats((size_t)N * IMG), want[N * OUT], got[N * OUT];
	struct tu_rng rng = tu_rng_make(17);
	tu_fill_uniform(&rng, x, (size_t)N * IMG, -1, 1);
	const float *y;
	assert_int_equal(cn_net_plan(net, N, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_set_training(net, 0), CN_OK);
	int32_t threads, min_images;
	assert_int_equal(cn_net_forward_split(net, &threads, &min_images), CN_OK);
	assert_int_equal(threads, 1); /* training plans never split */
	assert_int_equal(cn_net_forward(net, x, N, &y), CN_OK);
	memcpy(want, y, sizeof(want));
	assert_int_equal(cn_net_plan(net, N, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_forward_split(net, &threads, &min_images), CN_OK);
	/* a CN_NAIVE_GEMM build plans for one thread: the split is not taken, the outputs hold */
	bool naive = strcmp(cn_blas_core(), "naive") == 0;
	assert_int_equal(threads, naive ? 1 : 2);
	if (!naive) assert_true(min_images >= 32 && min_images <= 37); /* >= 16 a thread */
	int32_t batches[] = {37, N};
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		assert_int_equal(cn_net_forward(net, x, batches[b], &y), CN_OK);
		tu_check_close("split batch vs training plan", y, want, (size_t)batches[b] * OUT,
		               1e-5, spec);
	}
	memcpy(got, y, sizeof(got));
	for (int i = 0; i < N; i++) {
		assert_int_equal(cn_net_forward(net, x + i * IMG, 1, &y), CN_OK);
		tu_check_close("image alone vs split batch", y, got + i * OUT, OUT, 1e-5, spec);
	}
	cn_net_free(net);
	const char *whole[] = {"conv 2 k1 | linear 3", "linear 8 | batchnorm relu | linear 3"};
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		assert_int_equal(cn_net_create(&net, whole[i], in, 13, err), CN_OK);
		assert_int_equal(cn_net_forward_split(net, &threads, &min_images), CN_ERR_STATE);
		assert_int_equal(cn_net_plan(net, N, CN_PLAN_INFER), CN_OK);
		assert_int_equal(cn_net_forward_split(net, &threads, &min_images), CN_OK);
		assert_int_equal(threads, 1);
		assert_int_equal(min_images, 0);
		cn_net_free(net);
	}
	free(x);
}

static void two_nets_are_independent(void **state)
{
	(void)state;
	const char *spec = "conv 4 k3 relu | linear 3";
	struct cn_shape in = {1, 5, 5};
	char err[CN_ERR_LEN];
	struct cn_net *a, *b;
	assert_int_equal(cn_net_create(&a, spec, in, 11, err), CN_OK);
	assert_int_equal(cn_net_create(&b, spec, in, 11, err), CN_OK);
	assert_memory_equal(cn_net_params(a), cn_net_params(b),
	                    cn_net_param_count(a) * sizeof(float));
	assert_int_equal(cn_net_plan(a, 2, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_plan(b, 2, CN_PLAN_TRAIN), CN_OK);
	float x[50];
	int32_t labels[2] = {1, 2};
	struct tu_rng rng = tu_rng_make(5);
	tu_fill_uniform(&rng, x, 50, 0, 1);
	float la, lb;
	assert_int_equal(cn_net_train_step(a, x, labels, 2, &la), CN_OK);
	/* a second network stepping in between must not disturb the first's results */
	assert_int_equal(cn_net_train_step(b, x + 25, labels, 1, &lb), CN_OK);
	assert_int_equal(cn_net_train_step(b, x, labels, 2, &lb), CN_OK);
	assert_float_equal(la, lb, 0);
	assert_memory_equal(cn_net_grads(a), cn_net_grads(b),
	                    cn_net_param_count(a) * sizeof(float));
	cn_net_free(a);
	cn_net_free(b);
}

static void state_and_argument_errors(void **state)
{
	(void)state;
	char err[CN_ERR_LEN];
	struct cn_net *net;
	assert_int_equal(cn_net_create(&net, "linear 3", (struct cn_shape){1, 2, 2}, 1, err),
	                 CN_OK);
	float x[4] = {1, 2, 3, 4}, loss;
	int32_t bad_label = 3, nan_label = 0;
	assert_int_equal(cn_net_forward(net, x, 1, NULL), CN_ERR_STATE);
	assert_non_null(strstr(cn_net_error(net), "before cn_net_plan"));
	assert_int_equal(cn_net_plan(net, 0, CN_PLAN_TRAIN), CN_ERR_ARG);
	assert_int_equal(cn_net_plan(net, 1, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(cn_net_backward(net), CN_ERR_STATE);
	assert_int_equal(cn_net_train_step(net, x, &bad_label, 1, &loss), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "label 3 of image 0 is outside 0..2"));
	x[0] = NAN;
	assert_int_equal(cn_net_train_step(net, x, &nan_label, 1, &loss), CN_ERR_NUMERIC);
	assert_int_not_equal(cn_net_plan_bytes(net), 0);
	char line[128];
	assert_int_equal(cn_net_layer_describe(net, 0, line, sizeof(line)), CN_OK);
	assert_non_null(strstr(line, "linear 3"));
	assert_non_null(strstr(line, "15 params"));
	assert_int_equal(cn_net_layer_describe(net, 1, line, sizeof(line)), CN_ERR_ARG);
	cn_net_free(net);
	cn_net_free(NULL);
}

static void zoo_entries_build(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		size_t params; /* counted by hand from the layer list */
		int32_t layers;
	} zoo[] = {
	    {"tutorial-cnn", 50186, 5}, {"deep-cnn", 1379557, 9},   {"deep-cnn-bn", 1380406, 13},
	    {"lenet5", 61706, 7},       {"sigmoid-cnn", 3898, 5},   {"mlp", 203530, 2},
	    {"avgpool-cnn", 2158, 5},   {"rbf", 57750, 3},          {"cnn-rbf", 22278, 6},
	    {"mnist-fast", 9946, 7},    {"mnist-best", 113386, 10},
	};
	int listed = 0;
	while (cn_zoo_name(listed)) listed++;
	assert_int_equal(listed, sizeof(zoo) / sizeof(zoo[0]));
	for (size_t i = 0; i < sizeof(zoo) / sizeof(zoo[0]); i++) {
		const char *spec = cn_zoo_spec(zoo[i].name);
		assert_non_null(spec);
		char err[CN_ERR_LEN];
		struct cn_net *net;
		enum cn_status st = cn_net_create(&net, spec, (struct cn_shape){1, 28, 28}, 1, err);
		if (st) print_error("%s: %s\n", zoo[i].name, err);
		assert_int_equal(st, CN_OK);
		assert_int_equal(cn_net_param_count(net), zoo[i].params);
		assert_int_equal(cn_net_layer_count(net), zoo[i].layers);
		assert_int_equal(cn_net_output_len(net), 10);
		struct cn_train_opts o;
		assert_int_equal(cn_zoo_train_opts(zoo[i].name, &o), CN_OK);
		assert_int_equal(cn_net_plan(net, 100, CN_PLAN_TRAIN), CN_OK);
		cn_net_free(net);
	}
	assert_null(cn_zoo_spec("no-such-model"));
	struct cn_train_opts o;
	assert_int_equal(cn_zoo_train_opts("no-such-model", &o), CN_ERR_ARG);
}

/*
 * The inspection views: a conv layer's output read through cn_net_layer_output equals the
 * convolution recomputed here from the weights cn_net_layer_params hands out (so both views
 * and their documented layouts agree), and class names are copied, checked and cleared.
 */
/* Output channel o at (r, c) of relu(conv 3x3, padding 1) over one 4x4 single-channel image. */
static float conv_relu_at(const float *w, const float *b, const float *x, int r, int c, int o)
{
	double acc = b[o];
	for (int u = 0; u < 3; u++)
		for (int v = 0; v < 3; v++) {
			int rr = r + u - 1, cc = c + v - 1;
			if (rr >= 0 && rr < 4 && cc >= 0 && cc < 4)
				acc += w[(o * 3 + u) * 3 + v] * x[rr * 4 + cc];
		}
	return acc > 0 ? (float)acc : 0.0f;
}

static void layer_views_and_class_names(void **state)
{
	(void)state;
	char err[CN_ERR_LEN];
	struct cn_net *net;
	assert_int_equal(cn_net_create(&net, "conv 2 k3 p1 relu | maxpool 2 | linear 3",
	                               (struct cn_shape){1, 4, 4}, 5, err),
	                 CN_OK);
	const float *y = (const float *)1, *w, *b;
	struct cn_shape s, f;
	int32_t n;
	size_t w_len, b_len;
	assert_int_equal(cn_net_layer_output(net, 0, &y, &s, &n), CN_ERR_STATE);
	assert_null(y);
	assert_true(s.c == 2 && s.h == 4 && s.w == 4);
	assert_int_equal(cn_net_layer_output(net, 3, &y, &s, &n), CN_ERR_ARG);
	assert_int_equal(cn_net_layer_output(net, -1, NULL, NULL, NULL), CN_ERR_ARG);

	assert_int_equal(cn_net_layer_params(net, 0, &w, &w_len, &b, &b_len, &f), CN_OK);
	assert_ptr_equal(w, cn_net_params(net));
	assert_true(w_len == 18 && b_len == 2 && b == w + 18);
	assert_true(f.c == 1 && f.h == 3 && f.w == 3);
	assert_int_equal(cn_net_layer_params(net, 1, &w, &w_len, &b, &b_len, &f), CN_OK);
	assert_true(!w && !w_len && !b && !b_len && !f.c && !f.h && !f.w);
	assert_int_equal(cn_net_layer_params(net, 2, &w, &w_len, &b, &b_len, &f), CN_OK);
	assert_ptr_equal(w, cn_net_params(net) + 20);
	assert_true(w_len == 24 && b_len == 3 && f.c == 8 && f.h == 1 && f.w == 1);
	assert_int_equal(cn_net_layer_params(net, 3, NULL, NULL, NULL, NULL, NULL), CN_ERR_ARG);

	float x[2 * 16];
	struct tu_rng rng = tu_rng_make(13);
	tu_fill_uniform(&rng, x, 32, -1, 1);
	const float *out;
	assert_int_equal(cn_net_plan(net, 3, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_layer_output(net, 0, &y, NULL, NULL), CN_ERR_STATE);
	assert_int_equal(cn_net_forward(net, x, 2, &out), CN_OK);
	assert_int_equal(cn_net_layer_output(net, 0, &y, &s, &n), CN_OK);
	assert_int_equal(n, 2);
	/* y [N, H, W, CO] against relu(conv) by hand from w [CO, KH, KW, CI] and b [CO] */
	const float *cw = cn_net_params(net);
	for (int k = 0; k < 2 * 4 * 4 * 2; k++) {
		int o = k % 2, c = k / 2 % 4, r = k / 8 % 4, i = k / 32;
		assert_float_equal(y[k], conv_relu_at(cw, cw + 18, x + i * 16, r, c, o), 1e-5);
	}
	assert_int_equal(cn_net_layer_output(net, 2, &y, &s, &n), CN_OK);
	assert_ptr_equal(y, out);
	assert_true(s.c == 3 && s.h == 1 && s.w == 1);

	const char *names[] = {"cat", "dog", "bird"}, *bad[] = {"cat", "do\ng", "bird"};
	char long_name[CN_CLASS_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	const char *too_long[] = {"cat", long_name, "bird"};
	assert_null(cn_net_class_name(net, 0));
	assert_int_equal(cn_net_set_class_names(net, names, 2), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "2 class names for a network with 3 outputs"));
	assert_int_equal(cn_net_set_class_names(net, bad, 3), CN_ERR_ARG);
	assert_int_equal(cn_net_set_class_names(net, too_long, 3), CN_ERR_ARG);
	assert_null(cn_net_class_name(net, 0));
	char mutable[] = "bird";
	names[2] = mutable;
	assert_int_equal(cn_net_set_class_names(net, names, 3), CN_OK);
	mutable[0] = 'w'; /* the net keeps its own copy */
	assert_string_equal(cn_net_class_name(net, 2), "bird");
	assert_string_equal(cn_net_class_name(net, 0), "cat");
	assert_null(cn_net_class_name(net, 3));
	assert_null(cn_net_class_name(net, -1));
	assert_int_equal(cn_net_set_class_names(net, NULL, 0), CN_OK);
	assert_null(cn_net_class_name(net, 1));
	cn_net_free(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(impossible_shapes),
	    cmocka_unit_test(whole_net_gradcheck),
	    cmocka_unit_test(smaller_batches_match),
	    cmocka_unit_test(batch_gradient_is_mean_of_images),
	    cmocka_unit_test(pinned_chunks),
	    cmocka_unit_test(rbf_lppool_infer_matches_train),
	    cmocka_unit_test(inference_split_by_images),
	    cmocka_unit_test(two_nets_are_independent),
	    cmocka_unit_test(state_and_argument_errors),
	    cmocka_unit_test(zoo_entries_build),
	    cmocka_unit_test(layer_views_and_class_names),
	};
	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
