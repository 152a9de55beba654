/*
 * batchnorm: the row-major fast version against the per-channel reference, training and
 * evaluation forwards and both backwards, over a table of shapes and a seeded sweep; the
 * running statistics (momentum 0.1, unbiased variance) worked out by hand; the degenerate
 * single row; central-difference checks of dx, dgamma and dbeta with batch and with running
 * statistics; and through a network: evaluation uses the running statistics, CN_PLAN_INFER
 * always evaluates, cn_evaluate leaves the mode alone, and checkpoints keep the state.
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
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bytes.h"
#include "colnet.h"
#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

#define TOL    1e-4
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

struct cfg {
	const char *desc;
	int32_t n, h, w, c; /* rows M = n*h*w */
};

static const struct cfg edges[] = {
    {"after linear, batch 2", 2, 1, 1, 5},
    {"after linear, batch 100, 625 features", 100, 1, 1, 625},
    {"conv output, batch 1 (M = H*W)", 1, 5, 7, 3},
    {"one channel", 4, 6, 6, 1},
    {"odd sizes", 3, 7, 5, 13},
    {"wide channels, tiny image", 2, 1, 2, 130},
    {"28x28x32 at batch 2", 2, 28, 28, 32},
};

struct stats {
	int configs;
	double y, dx, dg, run;
};

/* Random activations with a per-channel offset and scale, as a real layer's would have. */
static float *activations(struct tu_rng *r, size_t m, int32_t c)
{
	float *x = tu_floats(m * c), off[256], sc[256];
	for (int32_t j = 0; j < c && j < 256; j++) off[j] = tu_uniform(r, -3, 3);
	for (int32_t j = 0; j < c && j < 256; j++) sc[j] = tu_uniform(r, 0.2f, 4);
	for (size_t i = 0; i < m * c; i++)
		x[i] = off[i % c % 256] + sc[i % c % 256] * tu_uniform(r, -1, 1);
	return x;
}

static void run(const struct cfg *c, struct stats *st)
{
	char name[200];
	snprintf(name, sizeof(name), "%s: %dx%dx%dx%d", c->desc, c->n, c->h, c->w, c->c);
	const size_t m = (size_t)c->n * c->h * c->w, len = m * c->c, cl = (size_t)c->c;
	struct tu_rng r = tu_rng_make(900 + (uint64_t)st->configs);
	float *x = activations(&r, m, c->c), *dy = tu_rand_floats(&r, len);
	float *g = tu_rand_floats(&r, cl), *b = tu_rand_floats(&r, cl);
	float *run = tu_floats(2 * cl), *ws = tu_floats(cn_batchnorm_ws_len(c->c));
	for (size_t j = 0; j < cl; j++)
		run[j] = tu_uniform(&r, -1, 1), run[cl + j] = tu_uniform(&r, 0.5f, 2);
	float *runr = tu_copy(run, 2 * cl), *run0 = tu_copy(run, 2 * cl);
	float *y = tu_nans(len), *yr = tu_nans(len), *sv = tu_nans(2 * cl), *svr = tu_nans(2 * cl);
	float *dx = tu_nans(len), *dxr = tu_nans(len);
	float *dg = tu_rand_floats(&r, cl), *db = tu_rand_floats(&r, cl);
	float *dgr = tu_copy(dg, cl), *dbr = tu_copy(db, cl);

	/* training: batch statistics, running ones updated */
	cn_batchnorm_forward_train(m, c->c, g, b, x, y, sv, run, ws);
	cn_batchnorm_forward_train_ref(m, c->c, g, b, x, yr, svr, runr);
	tu_track(&st->y, tu_check_close("y (train)", y, yr, len, TOL, name));
	tu_track(&st->run, tu_check_close("saved (train)", sv, svr, 2 * cl, TOL, name));
	tu_track(&st->run, tu_check_close("running stats", run, runr, 2 * cl, TOL, name));
	cn_batchnorm_backward(m, c->c, true, g, sv, x, dy, dx, dg, db, ws);
	cn_batchnorm_backward_ref(m, c->c, true, g, svr, x, dy, dxr, dgr, dbr);
	tu_track(&st->dx, tu_check_close("dx (train)", dx, dxr, len, 1e-3, name));
	tu_track(&st->dg, tu_check_close("dgamma (train)", dg, dgr, cl, TOL, name));
	tu_track(&st->dg, tu_check_close("dbeta (train)", db, dbr, cl, TOL, name));

	/* evaluation: the running statistics (the ones before this batch) */
	cn_batchnorm_forward_eval(m, c->c, g, b, run0, x, y, sv, ws);
	cn_batchnorm_forward_eval_ref(m, c->c, g, b, run0, x, yr, svr);
	tu_track(&st->y, tu_check_close("y (eval)", y, yr, len, TOL, name));
	cn_batchnorm_backward(m, c->c, false, g, sv, x, dy, dx, dg, db, ws);
	cn_batchnorm_backward_ref(m, c->c, false, g, svr, x, dy, dxr, dgr, dbr);
	tu_track(&st->dx, tu_check_close("dx (eval)", dx, dxr, len, TOL, name));
	tu_track(&st->dg, tu_check_close("dgamma (both)", dg, dgr, cl, TOL, name));
	/* dx NULL: the parameter gradients still accumulate */
	cn_batchnorm_backward(m, c->c, false, g, sv, x, dy, NULL, dg, db, ws);
	cn_batchnorm_backward_ref(m, c->c, false, g, svr, x, dy, NULL, dgr, dbr);
	tu_track(&st->dg, tu_check_close("dbeta (dx NULL)", db, dbr, cl, TOL, name));
	st->configs++;
	float *all[] = {x,  dy, g,   b,  run, ws, runr, run0, y,
	                yr, sv, svr, dx, dxr, dg, db,   dgr,  dbr};
	for (size_t i = 0; i < LEN(all); i++) free(all[i]);
}

static void report(const char *what, const struct stats *st)
{
	print_message("batchnorm %s: %d configurations; largest relative error y %.3g, dx %.3g, "
	              "dgamma/dbeta %.3g, statistics %.3g\n",
	              what, st->configs, st->y, st->dx, st->dg, st->run);
}

static void test_edges(void **state)
{
	(void)state;
	struct stats st = {0};
	for (size_t i = 0; i < LEN(edges); i++) run(&edges[i], &st);
	report("edge table", &st);
}

static void test_random_sweep(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(77);
	struct stats st = {0};
	while (st.configs < 120) {
		struct cfg c = {"random", tu_int(&r, 1, 9), tu_int(&r, 1, 9), tu_int(&r, 1, 9),
		                tu_int(&r, 1, 70)};
		if (c.n * c.h * c.w < 2) c.n = 2;
		run(&c, &st);
	}
	report("random sweep", &st);
}

/* Two channels, four rows worked out by hand, from running mean 0 and variance 1. */
static void test_running_stats_by_hand(void **state)
{
	(void)state;
	const float x[] = {1, 10, 2, 10, 3, 10, 4, 10}, g[] = {2, 1}, b[] = {0.5f, -1};
	float y[8], sv[4], run[4] = {0, 0, 1, 1};
	_Alignas(double) float ws[(4 * CN_BN_CHUNKS + 6) * 2];
	cn_batchnorm_forward_train(4, 2, g, b, x, y, sv, run, ws);
	/* channel 0: mean 2.5, biased var 1.25, unbiased 5/3; channel 1: constant 10 */
	assert_float_equal(run[0], 0.25f, 1e-6);
	assert_float_equal(run[1], 1.0f, 1e-6);
	assert_float_equal(run[2], 0.9f + 0.1f * 5.0f / 3.0f, 1e-6);
	assert_float_equal(run[3], 0.9f, 1e-6);
	double istd = 1 / sqrt(1.25 + 1e-5);
	for (int i = 0; i < 4; i++) {
		assert_float_equal(y[2 * i], 2 * (x[2 * i] - 2.5) * istd + 0.5, 1e-5);
		assert_float_equal(y[2 * i + 1], -1.0f, 1e-6); /* zero deviation: beta */
	}
	/* evaluation with those running statistics */
	cn_batchnorm_forward_eval(4, 2, g, b, run, x, y, sv, ws);
	assert_float_equal(y[0], 2 * (1 - 0.25) / sqrt(run[2] + 1e-5) + 0.5, 1e-5);
	assert_float_equal(y[1], (10 - 1) / sqrt(0.9 + 1e-5) - 1, 1e-4);
}

/*
 * One row (batch 1 after a linear layer): the batch variance is 0, so y = beta and dx = 0;
 * the running mean moves, the running variance (no unbiased estimate from one value) stays.
 */
static void test_single_row(void **state)
{
	(void)state;
	const float x[] = {3, -2, 7}, g[] = {1.5f, 2, -1}, b[] = {0.1f, 0.2f, 0.3f},
	            dy[] = {1, -1, 2};
	float y[3], sv[6], run[6] = {0, 0, 0, 2, 2, 2}, dx[3], dg[3] = {0}, db[3] = {0};
	_Alignas(double) float ws[(4 * CN_BN_CHUNKS + 6) * 3];
	float runr[6] = {0, 0, 0, 2, 2, 2}, yr[3], svr[6];
	cn_batchnorm_forward_train(1, 3, g, b, x, y, sv, run, ws);
	cn_batchnorm_forward_train_ref(1, 3, g, b, x, yr, svr, runr);
	for (int j = 0; j < 3; j++) {
		assert_float_equal(y[j], b[j], 1e-6);
		assert_float_equal(yr[j], b[j], 1e-6);
		assert_float_equal(run[j], 0.1f * x[j], 1e-6);
		assert_true(run[3 + j] == 2.0f && runr[3 + j] == 2.0f);
	}
	cn_batchnorm_backward(1, 3, true, g, sv, x, dy, dx, dg, db, ws);
	for (int j = 0; j < 3; j++) {
		assert_float_equal(dx[j], 0, 1e-6);
		assert_float_equal(db[j], dy[j], 1e-6);
		assert_float_equal(dg[j], 0, 1e-6); /* xhat is 0 */
	}
}

/* Threads split channels (reductions) and rows (element-wise): bit-identical for 1 and 2. */
static void test_thread_count_independent(void **state)
{
	(void)state;
#ifdef _OPENMP
	const size_t m = 4 * 28 * 28, c = 32, len = m * c;
	struct tu_rng r = tu_rng_make(12);
	float *x = activations(&r, m, (int32_t)c), *dy = tu_rand_floats(&r, len);
	float *g = tu_rand_floats(&r, c), *b = tu_rand_floats(&r, c),
	      *ws = tu_floats(cn_batchnorm_ws_len((int32_t)c));
	float *out[2][5];
	for (int t = 0; t < 2; t++) {
		omp_set_num_threads(t + 1);
		float *y = tu_floats(len), *dx = tu_floats(len), *sv = tu_floats(2 * c),
		      *run = tu_floats(2 * c), *dg = tu_floats(2 * c);
		memset(run, 0, 2 * c * sizeof(float));
		memset(dg, 0, 2 * c * sizeof(float));
		cn_batchnorm_forward_train(m, (int32_t)c, g, b, x, y, sv, run, ws);
		cn_batchnorm_backward(m, (int32_t)c, true, g, sv, x, dy, dx, dg, dg + c, ws);
		out[t][0] = y, out[t][1] = dx, out[t][2] = sv, out[t][3] = run, out[t][4] = dg;
	}
	omp_set_num_threads(2);
	const size_t lens[5] = {len, len, 2 * c, 2 * c, 2 * c};
	for (int k = 0; k < 5; k++) {
		assert_memory_equal(out[0][k], out[1][k], lens[k] * sizeof(float));
		free(out[0][k]), free(out[1][k]);
	}
	free(x), free(dy), free(g), free(b), free(ws);
#endif
}

/* A NaN or Inf in the batch leaves that channel's running statistics as they were. */
static void test_nonfinite_batch(void **state)
{
	(void)state;
	const float x[] = {1, 2, NAN, 4, 5, INFINITY}, g[] = {1, 1}, b[] = {0, 0};
	float y[6], sv[4], run[4] = {0.5f, 0.5f, 2, 2}, runr[4] = {0.5f, 0.5f, 2, 2};
	_Alignas(double) float ws[(4 * CN_BN_CHUNKS + 6) * 2];
	cn_batchnorm_forward_train(3, 2, g, b, x, y, sv, run, ws);
	cn_batchnorm_forward_train_ref(3, 2, g, b, x, y, sv, runr);
	for (int j = 0; j < 4; j++) assert_true(run[j] == runr[j]);
	assert_true(run[0] == 0.5f && run[1] == 0.5f && run[2] == 2 && run[3] == 2);
}

/* loss = Σ r .* y, r fixed, y from a training (batch statistics) or evaluation forward */
struct gc {
	size_t m;
	int32_t c;
	bool train;
	float *x, *g, *b, *y, *sv, *run, *ws;
	const double *r;
};

static double loss(void *p)
{
	struct gc *c = p;
	if (c->train)
		cn_batchnorm_forward_train(c->m, c->c, c->g, c->b, c->x, c->y, c->sv, c->run,
		                           c->ws);
	else
		cn_batchnorm_forward_eval(c->m, c->c, c->g, c->b, c->run, c->x, c->y, c->sv, c->ws);
	double s = 0;
	for (size_t i = 0; i < c->m * c->c; i++) s += c->r[i] * c->y[i];
	return s;
}

static void test_gradcheck(void **state)
{
	(void)state;
	static const int32_t shapes[][2] = {{3, 1}, {3, 4}, {7, 3}, {20, 2}, {5, 9}};
	struct tu_rng r = tu_rng_make(19);
	double worst[2][3] = {{0}};
	for (int train = 0; train < 2; train++)
		for (size_t s = 0; s < LEN(shapes); s++) {
			struct gc c = {
			    .m = (size_t)shapes[s][0], .c = shapes[s][1], .train = train};
			const size_t len = c.m * c.c, cl = (size_t)c.c;
			c.x = activations(&r, c.m, c.c), c.g = tu_rand_floats(&r, cl);
			c.b = tu_rand_floats(&r, cl), c.y = tu_floats(len);
			c.sv = tu_floats(2 * cl), c.ws = tu_floats(cn_batchnorm_ws_len(c.c));
			c.run = tu_floats(2 * cl);
			for (size_t j = 0; j < cl; j++) c.run[j] = 0.3f, c.run[cl + j] = 1.7f;
			float *dy = tu_rand_floats(&r, len);
			double *rr = tu_alloc(len * sizeof(double));
			for (size_t i = 0; i < len; i++) rr[i] = dy[i];
			c.r = rr;
			float *dx = tu_floats(len), *dg = tu_floats(cl), *db = tu_floats(cl);
			memset(dg, 0, cl * sizeof(float));
			memset(db, 0, cl * sizeof(float));
			loss(&c); /* fills saved for backward */
			cn_batchnorm_backward(c.m, c.c, train, c.g, c.sv, c.x, dy, dx, dg, db,
			                      c.ws);
			const char *what[] = {"dx (eval)", "dx (train)"};
			tu_track(&worst[train][0], tu_gradcheck(what[train], loss, &c, c.x, len, dx,
			                                        1e-2, 2e-2, 200));
			tu_track(&worst[train][1],
			         tu_gradcheck("dgamma", loss, &c, c.g, cl, dg, 1e-2, 2e-2, 200));
			tu_track(&worst[train][2],
			         tu_gradcheck("dbeta", loss, &c, c.b, cl, db, 1e-2, 2e-2, 200));
			float *all[] = {c.x, c.g, c.b, c.y, c.sv, c.ws, c.run, dy, dx, dg, db};
			for (size_t i = 0; i < LEN(all); i++) free(all[i]);
			free(rr);
		}
	print_message("batchnorm gradcheck: batch statistics dx %.3g dgamma %.3g dbeta %.3g; "
	              "running statistics dx %.3g dgamma %.3g dbeta %.3g\n",
	              worst[1][0], worst[1][1], worst[1][2], worst[0][0], worst[0][1], worst[0][2]);
}

/* Through a network: the modes, the inference plan, cn_evaluate and checkpoints. */
static void test_net_modes_and_checkpoint(void **state)
{
	(void)state;
	const char *spec = "conv 3 k3 p1 nobias | batchnorm relu | linear 4 nobias | batchnorm | "
	                   "linear 3";
	struct cn_shape in = {1, 5, 5};
	char err[CN_ERR_LEN];
	struct cn_net *net, *back;
	assert_int_equal(cn_net_create(&net, spec, in, 5, err), CN_OK);
	assert_int_equal(cn_net_state_count(net), 2 * 3 + 2 * 4);
	float *st = cn_net_state(net);
	assert_true(st[0] == 0 && st[3] == 1 && st[6] == 0 && st[10] == 1); /* fresh: 0 and 1 */
	assert_true(cn_net_training(net));
	const float *gw, *gb; /* gamma and beta are layer 2's w and b: fresh, 1 and 0 */
	size_t gwl, gbl;
	struct cn_shape filt;
	assert_int_equal(cn_net_layer_params(net, 1, &gw, &gwl, &gb, &gbl, &filt), CN_OK);
	assert_true(gwl == 3 && gbl == 3 && gw[2] == 1 && gb[2] == 0);
	assert_true(filt.c == 0 && filt.h == 0 && filt.w == 0);
	struct tu_rng r = tu_rng_make(3);
	float *x = tu_rand_floats(&r, 6 * 25), *yeval = tu_floats(6 * 3),
	      *yinfer = tu_floats(6 * 3);
	const float *y;

	assert_int_equal(cn_net_plan(net, 6, CN_PLAN_TRAIN), CN_OK);
	for (int i = 0; i < 5; i++) assert_int_equal(cn_net_forward(net, x, 6, &y), CN_OK);
	float *moved = tu_copy(st, cn_net_state_count(net));
	assert_true(moved[0] != 0 || moved[1] != 0 || moved[2] != 0);
	/* evaluation mode: running statistics, and nothing moves */
	assert_int_equal(cn_net_set_training(net, 0), CN_OK);
	assert_int_equal(cn_net_forward(net, x, 6, &y), CN_OK);
	memcpy(yeval, y, 6 * 3 * sizeof(float));
	assert_memory_equal(st, moved, cn_net_state_count(net) * sizeof(float));
	/* one image evaluates alone as it does in a batch (no batch statistics) */
	assert_int_equal(cn_net_forward(net, x + 25, 1, &y), CN_OK);
	tu_check_close("eval, one image", y, yeval + 3, 3, 1e-5, spec);
	/* an inference plan evaluates whatever the mode */
	assert_int_equal(cn_net_set_training(net, 1), CN_OK);
	assert_int_equal(cn_net_plan(net, 6, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_forward(net, x, 6, &y), CN_OK);
	memcpy(yinfer, y, 6 * 3 * sizeof(float));
	tu_check_close("infer plan vs eval mode", yinfer, yeval, 18, 1e-6, spec);
	assert_memory_equal(st, moved, cn_net_state_count(net) * sizeof(float));

	/* the state survives a checkpoint, and the reloaded net evaluates the same */
	char path[] = "/tmp/colnet-bn-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cn_net_save(net, path, err), CN_OK);
	assert_int_equal(cn_net_load(&back, path, err), CN_OK);
	assert_int_equal(cn_net_state_count(back), cn_net_state_count(net));
	assert_memory_equal(cn_net_state(back), moved, cn_net_state_count(net) * sizeof(float));
	assert_int_equal(cn_net_plan(back, 6, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_forward(back, x, 6, &y), CN_OK);
	assert_memory_equal(y, yinfer, 18 * sizeof(float));

	/* a running variance that is negative (or NaN) is refused on load */
	size_t len;
	uint8_t *buf = tu_read_file(path, &len);
	assert_true(len > 100);
	assert_int_equal(buf[8], 3); /* version 3 */
	const float bad[] = {-1.0f, NAN};
	for (int k = 0; k < 2; k++) {
		/* the last float before the CRC is the last layer's last running variance */
		uint32_t bits, crc;
		memcpy(&bits, &bad[k], 4);
		for (int i = 0; i < 4; i++) buf[len - 8 + i] = (unsigned char)(bits >> (8 * i));
		crc = cn_bytes_crc32(0, buf, len - 4);
		for (int i = 0; i < 4; i++) buf[len - 4 + i] = (unsigned char)(crc >> (8 * i));
		tu_write_file(path, buf, len);
		struct cn_net *worse = (struct cn_net *)1;
		assert_int_equal(cn_net_load(&worse, path, err), CN_ERR_FORMAT);
		assert_null(worse);
		if (!strstr(err, "running variance 3")) print_error("message: %s\n", err);
		assert_non_null(strstr(err, "running variance 3"));
	}
	cn_net_free(back);
	unlink(path);
	cn_net_free(net);
	free(x), free(yeval), free(yinfer), free(moved), free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_random_sweep),
	    cmocka_unit_test(test_running_stats_by_hand),
	    cmocka_unit_test(test_single_row),
	    cmocka_unit_test(test_thread_count_independent),
	    cmocka_unit_test(test_nonfinite_batch),
	    cmocka_unit_test(test_gradcheck),
	    cmocka_unit_test(test_net_modes_and_checkpoint),
	};
	return cmocka_run_group_tests_name("batchnorm", tests, NULL, NULL);
}
