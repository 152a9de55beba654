/*
 * batchnorm_pool.c, batch norm and its activation with the 2x2 max pool after it as one op,
 * against the two ops it replaces (batchnorm.c's fused activation, then pool_max.c):
 * - forward: pooled output, saved and running statistics bit for bit, training and evaluation;
 * - backward with running statistics: dx bit for bit (its terms do not depend on the sums);
 * - backward with batch statistics: dgamma, dbeta and dx to rounding (the sums add the same
 *   terms in another order);
 * windows full of ties (equal values; relu turning a whole window to 0), one image, odd
 * channel counts; bits that ignore the thread count; and in a network: a training plan fuses
 * the pair, gives the same loss bit for bit as the spec with the activation as a layer of its
 * own (which does not fuse), gradients to rounding, and refuses to show the unkept output;
 * and the convolution before the pair, fed its dx a chunk at a time, as on the whole dx.
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
#include "net.h"
#include "ops/ops.h"
#include "util.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const enum cn_act acts[] = {CN_ACT_IDENTITY, CN_ACT_RELU, CN_ACT_LEAKY_RELU};

struct shape {
	int32_t n, h, w, c;
};

static const struct shape shapes[] = {{1, 2, 2, 1},    {3, 4, 6, 3},  {2, 10, 2, 17}, {5, 8, 8, 16},
                                      {2, 24, 24, 16}, {3, 6, 4, 40}, {1, 14, 14, 32}};

/* One case's inputs: x [N, H, W, C], the pooled gradient dy [N, H/2, W/2, C]. */
struct case_ {
	struct shape s;
	struct cn_geom g;
	size_t xlen, ylen;
	float *x, *dy, *gamma, *beta, *run, *ws;
};

static struct case_ make_case(struct tu_rng *r, struct shape s)
{
	struct case_ k = {.s = s};
	char err[CN_ERR_LEN];
	assert_int_equal(cn_geom_init(&k.g, s.h, s.w, s.c, 2, 2, 2, 2, 0, 0, err), CN_OK);
	k.xlen = (size_t)s.n * s.h * s.w * s.c, k.ylen = k.xlen / 4;
	k.x = tu_rand_floats(r, k.xlen), k.dy = tu_rand_floats(r, k.ylen);
	k.gamma = tu_floats((size_t)s.c), k.beta = tu_floats((size_t)s.c);
	k.run = tu_floats(2 * (size_t)s.c);
	for (int32_t j = 0; j < s.c; j++) {
		/* a negative gamma flips which element of a window wins */
		k.gamma[j] = j % 4 == 1 ? tu_uniform(r, -1.5f, -0.5f) : tu_uniform(r, 0.5f, 1.5f);
		k.beta[j] = j % 3 == 0 ? 0.0f : tu_uniform(r, -0.5f, 0.5f);
		k.run[j] = tu_uniform(r, -0.5f, 0.5f), k.run[s.c + j] = tu_uniform(r, 0.5f, 2);
	}
	/* ties: every 3rd window of a pixel row pair all one value; every 5th far below the
	   mean, where relu makes the whole window 0 */
	const size_t wc = (size_t)s.w * s.c;
	for (size_t q = 0; q < (size_t)s.n * (s.h / 2); q++)
		for (int32_t ox = 0; ox < s.w / 2; ox++)
			for (int32_t j = 0; j < s.c; j++) {
				size_t o = 2 * q * wc + 2 * (size_t)ox * s.c + (size_t)j;
				size_t win = q * (size_t)(s.w / 2) + (size_t)ox;
				float v = win % 3 == 0 ? k.x[o] : win % 5 == 0 ? -40.0f : NAN;
				if (isnan(v)) continue;
				k.x[o] = k.x[o + (size_t)s.c] = k.x[o + wc] =
				    k.x[o + wc + (size_t)s.c] = v;
			}
	k.ws = tu_floats(cn_batchnorm_ws_len(s.c));
	return k;
}

static void free_case(struct case_ *k)
{
	free(k->x), free(k->dy), free(k->gamma), free(k->beta), free(k->run), free(k->ws);
}

struct result {
	float *y, *dx, *saved, *run, *dgb; /* dgb: dgamma then dbeta */
};

static struct result alloc_result(const struct case_ *k)
{
	size_t c = (size_t)k->s.c;
	struct result o = {tu_nans(k->ylen), tu_nans(k->xlen), tu_nans(2 * c),
	                   tu_copy(k->run, 2 * c), tu_floats(2 * c)};
	memset(o.dgb, 0, 2 * c * sizeof(float));
	return o;
}

static void free_result(struct result *o)
{
	free(o->y), free(o->dx), free(o->saved), free(o->run), free(o->dgb);
}

static struct result fused(const struct case_ *k, enum cn_act act, bool train)
{
	struct result o = alloc_result(k);
	int32_t c = k->s.c;
	assert_true(cn_batchnorm_pool_fits(&k->g, act));
	cn_batchnorm_pool_forward(&k->g, k->s.n, train, act, 0.1f, k->gamma, k->beta, k->x, o.y,
	                          o.saved, o.run, k->ws);
	cn_batchnorm_pool_backward(&k->g, k->s.n, train, act, 0.1f, k->gamma, k->beta, o.saved,
	                           k->x, k->dy, o.dx, o.dgb, o.dgb + c, k->ws);
	return o;
}

/* batchnorm.c with the activation, then pool_max.c, and back */
static struct result separate(const struct case_ *k, enum cn_act act, bool train)
{
	struct result o = alloc_result(k);
	const size_t m = k->xlen / (size_t)k->s.c;
	int32_t c = k->s.c;
	float *z = tu_floats(k->xlen), *dz = tu_floats(k->xlen);
	int32_t *am = malloc(k->ylen * sizeof(int32_t));
	struct cn_tensor tz = {.data = z, .n = k->s.n, .h = k->s.h, .w = k->s.w, .c = c};
	struct cn_tensor ty = {.data = o.y, .n = k->s.n, .h = k->s.h / 2, .w = k->s.w / 2, .c = c};
	struct cn_tensor tdy = ty, tdz = tz;
	tdy.data = k->dy, tdz.data = dz;
	if (train)
		cn_batchnorm_forward_train_act(m, c, act, 0.1f, k->gamma, k->beta, k->x, z, o.saved,
		                               o.run, k->ws);
	else
		cn_batchnorm_forward_eval_act(m, c, act, 0.1f, k->gamma, k->beta, o.run, k->x, z,
		                              o.saved, k->ws);
	cn_maxpool2d_forward(&k->g, &tz, &ty, am);
	cn_maxpool2d_backward(&k->g, &tdy, am, &tdz);
	cn_batchnorm_backward_act(m, c, train, act, 0.1f, k->gamma, k->beta, o.saved, k->x, z, dz,
	                          o.dx, o.dgb, o.dgb + c, k->ws);
	free(z), free(dz), free(am);
	return o;
}

static double max_abs(const float *a, size_t len)
{
	double m = 0;
	for (size_t i = 0; i < len; i++)
		if (fabs((double)a[i]) > m) m = fabs((double)a[i]);
	return m;
}

/* b to a's rounding: within 1e-5 of the largest magnitude, elementwise */
static double assert_close(const float *a, const float *b, size_t len)
{
	double scale = fmax(max_abs(a, len), 1e-30), worst = 0;
	for (size_t i = 0; i < len; i++) {
		double e = fabs((double)a[i] - b[i]) / scale;
		if (e > 1e-5) print_error("element %zu: %.9g against %.9g\n", i, a[i], b[i]);
		assert_true(e <= 1e-5);
		if (e > worst) worst = e; /* not fmax: aarch64 GCC 12 crashed vectorizing it here */
	}
	return worst;
}

static void test_fused_against_separate(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(51);
	int cases = 0;
	double worst = 0;
	for (size_t s = 0; s < LEN(shapes); s++) {
		struct case_ k = make_case(&r, shapes[s]);
		size_t c = (size_t)k.s.c;
		for (size_t a = 0; a < LEN(acts); a++)
			for (int train = 0; train < 2; train++) {
				struct result f = fused(&k, acts[a], train),
				              p = separate(&k, acts[a], train);
				assert_memory_equal(f.y, p.y, k.ylen * sizeof(float));
				assert_memory_equal(f.saved, p.saved, 2 * c * sizeof(float));
				assert_memory_equal(f.run, p.run, 2 * c * sizeof(float));
				if (!train) /* no sums in dx: the same bits */
					assert_memory_equal(f.dx, p.dx, k.xlen * sizeof(float));
				worst = fmax(worst, assert_close(p.dx, f.dx, k.xlen));
				worst = fmax(worst, assert_close(p.dgb, f.dgb, 2 * c));
				free_result(&f), free_result(&p);
				cases++;
			}
		free_case(&k);
	}
	printf("batchnorm+maxpool fused against the two ops: %d cases, forward bit for bit, "
	       "gradients within %.3g of the largest\n",
	       cases, worst);
}

/* Only the winner of a window carries its gradient: a window whose one element stands out
   gives dx there and the batch-mean terms elsewhere, in evaluation (no batch terms) 0. */
static void test_gradient_goes_to_the_winner(void **state)
{
	(void)state;
	struct shape s = {1, 2, 4, 1};
	struct tu_rng r = tu_rng_make(52);
	struct case_ k = make_case(&r, s);
	const float x[8] = {0.1f, 0.2f, 0.3f, 0.9f, 0.5f, 0.4f, 0.2f, 0.1f};
	memcpy(k.x, x, sizeof x);
	k.gamma[0] = 2.0f, k.beta[0] = 0.0f, k.run[0] = 0.0f, k.run[1] = 1.0f - CN_BN_EPS;
	k.dy[0] = 3.0f, k.dy[1] = 5.0f;
	struct result f = fused(&k, CN_ACT_IDENTITY, false);
	/* istd 1: y = 2x; windows {0.1, 0.2, 0.5, 0.4} -> 0.5 (index 4), {0.3, 0.9, 0.2, 0.1}
	   -> 0.9 (index 3) */
	assert_float_equal(f.y[0], 1.0f, 1e-6);
	assert_float_equal(f.y[1], 1.8f, 1e-6);
	for (int i = 0; i < 8; i++)
		assert_float_equal(f.dx[i], i == 4 ? 6.0f : i == 3 ? 10.0f : 0.0f, 1e-5);
	free_result(&f);
	free_case(&k);
}

static void test_thread_count_independent(void **state)
{
	(void)state;
#ifdef _OPENMP
	struct tu_rng r = tu_rng_make(53);
	struct case_ k = make_case(&r, (struct shape){50, 24, 24, 16});
	for (size_t a = 0; a < LEN(acts); a++) {
		omp_set_num_threads(1);
		struct result one = fused(&k, acts[a], true);
		omp_set_num_threads(2);
		struct result two = fused(&k, acts[a], true);
		assert_memory_equal(one.y, two.y, k.ylen * sizeof(float));
		assert_memory_equal(one.dx, two.dx, k.xlen * sizeof(float));
		assert_memory_equal(one.dgb, two.dgb, 2 * (size_t)k.s.c * sizeof(float));
		free_result(&one), free_result(&two);
	}
	free_case(&k);
#else
	skip();
#endif
}

/* A training step of spec on fixed inputs: loss, and a copy of the gradients. */
static float *step(const char *spec, bool expect_fused, float *loss, size_t *n_params)
{
	struct cn_net *net;
	char err[CN_ERR_LEN];
	struct tu_rng r = tu_rng_make(54);
	struct cn_shape in = {1, 12, 12};
	assert_int_equal(cn_net_create(&net, spec, in, 9, err), CN_OK);
	assert_int_equal(cn_net_plan(net, 5, CN_PLAN_TRAIN), CN_OK);
	assert_int_equal(net->layers[1].pools_next, expect_fused);
	float *x = tu_rand_floats(&r, 5 * 144);
	int32_t labels[5] = {0, 2, 1, 1, 0};
	assert_int_equal(cn_net_train_step(net, x, labels, 5, loss), CN_OK);
	if (expect_fused) {
		const float *y;
		assert_int_equal(cn_net_layer_output(net, 1, &y, NULL, NULL), CN_ERR_STATE);
		assert_non_null(strstr(cn_net_error(net), "not kept"));
		assert_int_equal(cn_net_layer_output(net, 2, &y, NULL, NULL), CN_OK);
	}
	*n_params = cn_net_param_count(net);
	float *grads = tu_copy(cn_net_grads(net), *n_params);
	free(x);
	cn_net_free(net);
	return grads;
}

static void test_network_fuses_the_pair(void **state)
{
	(void)state;
	const char *acts_[] = {"relu", "leaky=0.2"};
	for (size_t a = 0; a < LEN(acts_); a++) {
		char fusedspec[128], apart[128];
		snprintf(fusedspec, sizeof fusedspec,
		         "conv 4 k3 p1 nobias | batchnorm %s | maxpool 2 | linear 3", acts_[a]);
		snprintf(apart, sizeof apart,
		         "conv 4 k3 p1 nobias | batchnorm | %s | maxpool 2 | linear 3", acts_[a]);
		float lf, lp;
		size_t nf, np;
		float *gf = step(fusedspec, true, &lf, &nf), *gp = step(apart, false, &lp, &np);
		assert_int_equal(nf, np);
		assert_memory_equal(&lf, &lp, sizeof lf);
		assert_close(gp, gf, nf);
		free(gf), free(gp);
	}
}

/* The conv before the pair, fed dx a chunk at a time (cn_conv2d_backward_fed), against its
   backward on the whole dx the pair writes: dw, db and the conv's dx bit for bit. */
struct feed {
	const struct case_ *k;
	enum cn_act act;
	const float *saved, *ws;
};

static void feed_chunk(const void *ctx, int32_t first, int32_t count, float *dy)
{
	const struct feed *f = ctx;
	cn_batchnorm_pool_backward_dx(&f->k->g, first, count, f->act, 0.1f, f->k->beta, f->saved,
	                              f->k->x, f->k->dy, dy, f->ws);
}

static void test_conv_fed_equals_conv_on_dx(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(55);
	/* conv input shapes {n, h, w, ci}, kernel k, padding p, channels co, chunk, threads */
	const struct {
		int32_t n, h, w, ci, k, p, co, chunk, threads;
	} convs[] = {{5, 28, 28, 1, 5, 2, 16, 2, 2},
	             {3, 10, 10, 3, 3, 1, 6, 1, 2},
	             {4, 9, 9, 2, 2, 0, 5, 3, 1},
	             {1, 12, 12, 1, 5, 0, 16, 1, 1}};
	for (size_t v = 0; v < LEN(convs); v++) {
		char err[CN_ERR_LEN];
		struct cn_geom cg;
		assert_int_equal(cn_geom_init(&cg, convs[v].h, convs[v].w, convs[v].ci, convs[v].k,
		                              convs[v].k, 1, 1, convs[v].p, convs[v].p, err),
		                 CN_OK);
		struct case_ k =
		    make_case(&r, (struct shape){convs[v].n, cg.ho, cg.wo, convs[v].co});
		struct cn_conv2d_plan p = {.chunk = convs[v].chunk, .threads = convs[v].threads};
		const size_t xlen = (size_t)convs[v].n * convs[v].h * convs[v].w * convs[v].ci;
		const size_t wlen = (size_t)convs[v].co * convs[v].k * convs[v].k * convs[v].ci;
		float *cx = tu_rand_floats(&r, xlen), *w = tu_rand_floats(&r, wlen);
		struct cn_tensor tx = {.data = cx,
		                       .n = convs[v].n,
		                       .h = convs[v].h,
		                       .w = convs[v].w,
		                       .c = convs[v].ci};
		for (size_t a = 0; a < LEN(acts); a++) {
			struct result f = alloc_result(&k);
			float *y = tu_floats(k.ylen), *dz = tu_floats(k.xlen);
			float *dws[2] = {tu_floats(wlen + (size_t)k.s.c),
			                 tu_floats(wlen + (size_t)k.s.c)};
			float *dxs[2] = {tu_nans(xlen), tu_nans(xlen)};
			float *ws = tu_floats(cn_conv2d_ws_len_fed(&cg, k.s.c, &p));
			memset(dws[0], 0, (wlen + (size_t)k.s.c) * sizeof(float));
			memset(dws[1], 0, (wlen + (size_t)k.s.c) * sizeof(float));
			cn_batchnorm_pool_forward(&k.g, k.s.n, true, acts[a], 0.1f, k.gamma, k.beta,
			                          k.x, y, f.saved, f.run, k.ws);
			/* the whole dx, then the conv's backward on it */
			cn_batchnorm_pool_backward(&k.g, k.s.n, true, acts[a], 0.1f, k.gamma,
			                           k.beta, f.saved, k.x, k.dy, dz, f.dgb,
			                           f.dgb + k.s.c, k.ws);
			struct cn_tensor tdz = {
			    .data = dz, .n = k.s.n, .h = cg.ho, .w = cg.wo, .c = k.s.c};
			struct cn_tensor tdx = tx;
			tdx.data = dxs[0];
			cn_conv2d_backward(&cg, k.s.c, &p, w, &tx, &tdz, &tdx, dws[0],
			                   dws[0] + wlen, ws);
			/* fed */
			float *dgb = tu_floats(2 * (size_t)k.s.c);
			memset(dgb, 0, 2 * (size_t)k.s.c * sizeof(float));
			cn_batchnorm_pool_backward_sums(&k.g, k.s.n, true, acts[a], 0.1f, k.gamma,
			                                k.beta, f.saved, k.x, k.dy, dgb,
			                                dgb + k.s.c, k.ws);
			struct feed fd = {.k = &k, .act = acts[a], .saved = f.saved, .ws = k.ws};
			struct cn_conv2d_dy_source src = {.fill = feed_chunk, .ctx = &fd};
			tdx.data = dxs[1];
			cn_conv2d_backward_fed(&cg, k.s.c, &p, w, &tx, &src, &tdx, dws[1],
			                       dws[1] + wlen, ws);
			assert_memory_equal(dgb, f.dgb, 2 * (size_t)k.s.c * sizeof(float));
			assert_memory_equal(dws[0], dws[1], (wlen + (size_t)k.s.c) * sizeof(float));
			assert_memory_equal(dxs[0], dxs[1], xlen * sizeof(float));
			free(y), free(dz), free(dws[0]), free(dws[1]), free(dxs[0]), free(dxs[1]);
			free(ws), free(dgb);
			free_result(&f);
		}
		free(cx), free(w);
		free_case(&k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fused_against_separate),
	    cmocka_unit_test(test_gradient_goes_to_the_winner),
	    cmocka_unit_test(test_thread_count_independent),
	    cmocka_unit_test(test_network_fuses_the_pair),
	    cmocka_unit_test(test_conv_fed_equals_conv_on_dx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
