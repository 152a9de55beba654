/*
 * The recipe options through the trainer: augmentation leaves the data and labels alone and
 * the net still learns; a run with augmentation, label smoothing, Nesterov, one-cycle with
 * warm-up and a weight average, stopped mid-epoch, saved, loaded and finished, ends
 * bit-identical to an uninterrupted one; the average's arithmetic is the documented one; the
 * checkpoint's model is the average; runs without recipe options keep the old file version.
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

#include "colnet.h"
#include "util.h"

#define COUNT 240
#define SIDE  8
#define SPEC  "conv 4 k3 p1 nobias | batchnorm relu | maxpool 2 | linear 4"

static struct cn_net *new_net(void)
{
	struct cn_net *net;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_net_create(&net, SPEC, (struct cn_shape){1, SIDE, SIDE}, 3, err),
	                 CN_OK);
	return net;
}

static struct cn_train_opts recipe_opts(void)
{
	struct cn_train_opts o = cn_train_opts_default();
	o.epochs = 3;
	o.batch = 32;
	o.seed = 5;
	o.optim.kind = CN_OPTIM_MOMENTUM;
	o.optim.momentum = 0.9f;
	o.optim.nesterov = 1;
	o.sched = (struct cn_sched){
	    .kind = CN_SCHED_ONECYCLE, .lr = 0.05f, .epochs = 3, .warmup = 0.5f, .peak = 0.25f};
	o.augment = (struct cn_augment){
	    .shift = 1, .rotate = 8, .scale = 0.1f, .elastic_alpha = 8, .elastic_sigma = 2};
	o.label_smoothing = 0.1f;
	o.ema_decay = 0.9f;
	return o;
}

static void data_and_labels_untouched_and_it_learns(void **state)
{
	(void)state;
	struct cn_dataset *ds = tu_quadrant_dataset(1, COUNT, SIDE);
	size_t bytes = (size_t)COUNT * SIDE * SIDE;
	uint8_t *pix = tu_alloc(bytes), *lab = tu_alloc(COUNT);
	memcpy(pix, cn_dataset_pixels(ds), bytes);
	memcpy(lab, cn_dataset_labels(ds), COUNT);
	struct cn_train_opts o = recipe_opts();
	o.epochs = 6;
	o.sched.epochs = 6;
	o.augment = (struct cn_augment){.shift = 1, .rotate = 5};
	struct cn_net *net = new_net();
	struct cn_trainer *t;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	struct cn_epoch_stats s;
	for (int e = 0; e < 6; e++)
		assert_int_equal(cn_trainer_epoch(t, ds, NULL, NULL, &s), CN_OK);
	assert_memory_equal(pix, cn_dataset_pixels(ds), bytes);
	assert_memory_equal(lab, cn_dataset_labels(ds), COUNT);
	double loss, acc;
	assert_int_equal(cn_trainer_use_ema(t, 1), CN_OK);
	assert_int_equal(cn_evaluate(net, ds, &loss, &acc, NULL), CN_OK);
	if (acc < 0.9) fail_msg("accuracy %.3f after 6 augmented epochs", acc);
	cn_trainer_free(t);
	cn_net_free(net);
	cn_dataset_free(ds);
	free(pix);
	free(lab);
}

/* Stops the epoch after `at` steps. */
static int stop_at(void *user, int32_t done, int32_t total, double loss)
{
	(void)total;
	(void)loss;
	return done == *(int32_t *)user;
}

static void mid_epoch_resume_is_exact_with_augmentation(void **state)
{
	(void)state;
	char dir[] = "/tmp/colnet-test-recipe-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/run.ckpt", dir);
	struct cn_dataset *ds = tu_quadrant_dataset(2, COUNT, SIDE);
	struct cn_train_opts o = recipe_opts();
	char err[CN_ERR_LEN];

	struct cn_net *a = new_net();
	struct cn_trainer *ta;
	assert_int_equal(cn_trainer_create(&ta, a, &o, err), CN_OK);
	for (int e = 0; e < 3; e++) {
		assert_int_equal(cn_trainer_epoch(ta, ds, NULL, NULL, NULL), CN_OK);
		/* evaluating the average between epochs changes nothing of the run */
		assert_int_equal(cn_trainer_use_ema(ta, 1), CN_OK);
	}
	assert_int_equal(cn_trainer_use_ema(ta, 0), CN_OK);

	struct cn_net *b = new_net();
	struct cn_trainer *tb;
	assert_int_equal(cn_trainer_create(&tb, b, &o, err), CN_OK);
	assert_int_equal(cn_trainer_epoch(tb, ds, NULL, NULL, NULL), CN_OK);
	int32_t at = 96; /* 3 of the 8 batches of epoch 2 */
	assert_int_equal(cn_trainer_epoch(tb, ds, stop_at, &at, NULL), CN_ERR_STOPPED);
	assert_int_equal(cn_trainer_save(tb, path, err), CN_OK);
	cn_trainer_free(tb);
	cn_net_free(b);
	struct cn_net *c;
	struct cn_trainer *tc;
	enum cn_status st = cn_trainer_load(&tc, &c, path, err);
	if (st) fail_msg("load: %s", err);
	const struct cn_train_opts *lo = cn_trainer_opts(tc);
	assert_int_equal(lo->augment.shift, 1);
	assert_true(lo->label_smoothing == 0.1f && lo->ema_decay == 0.9f && lo->optim.nesterov);
	assert_true(lo->sched.kind == CN_SCHED_ONECYCLE && lo->sched.warmup == 0.5f &&
	            lo->sched.peak == 0.25f);
	while (cn_trainer_epochs_done(tc) < 3)
		assert_int_equal(cn_trainer_epoch(tc, ds, NULL, NULL, NULL), CN_OK);

	size_t np = cn_net_param_count(a), ns = cn_net_state_count(a);
	assert_memory_equal(cn_net_params(a), cn_net_params(c), np * sizeof(float));
	assert_memory_equal(cn_net_state(a), cn_net_state(c), ns * sizeof(float));
	assert_memory_equal(cn_trainer_ema(ta), cn_trainer_ema(tc), np * sizeof(float));

	/* the file's model is the average: what cn_net_load and colnet eval see */
	assert_int_equal(cn_trainer_save(tc, path, err), CN_OK);
	struct cn_net *m;
	assert_int_equal(cn_net_load(&m, path, err), CN_OK);
	assert_memory_equal(cn_net_params(m), cn_trainer_ema(tc), np * sizeof(float));
	assert_int_equal(cn_trainer_use_ema(tc, 1), CN_OK);
	assert_memory_equal(cn_net_state(m), cn_net_state(c), ns * sizeof(float));
	/* saving while the average is in the net writes the same file */
	struct cn_net *m2;
	assert_int_equal(cn_trainer_save(tc, path, err), CN_OK);
	assert_int_equal(cn_net_load(&m2, path, err), CN_OK);
	assert_memory_equal(cn_net_params(m2), cn_net_params(m), np * sizeof(float));
	cn_net_free(m);
	cn_net_free(m2);
	cn_trainer_free(ta);
	cn_net_free(a);
	cn_trainer_free(tc);
	cn_net_free(c);
	cn_dataset_free(ds);
	unlink(path);
	rmdir(dir);
}

struct ema_check {
	struct cn_trainer *t;
	struct cn_net *net;
	float *want;
	int64_t u;
	float decay;
};

/* After every step: fold the net's weights into our own average and compare. */
static int check_ema(void *user, int32_t done, int32_t total, double loss)
{
	(void)done;
	(void)total;
	(void)loss;
	struct ema_check *c = user;
	size_t np = cn_net_param_count(c->net);
	double u = (double)c->u;
	float d = (float)fmin((double)c->decay, (1.0 + u) / (10.0 + u));
	const float *p = cn_net_params(c->net), *got = cn_trainer_ema(c->t);
	for (size_t i = 0; i < np; i++) {
		c->want[i] = d * c->want[i] + (1.0f - d) * p[i];
		if (fabsf(got[i] - c->want[i]) > 1e-6f * (fabsf(c->want[i]) + 1e-3f))
			fail_msg("update %lld, weight %zu: %g, want %g", (long long)c->u, i,
			         (double)got[i], (double)c->want[i]);
	}
	c->u++;
	return 0;
}

static void weight_average_arithmetic(void **state)
{
	(void)state;
	struct cn_dataset *ds = tu_quadrant_dataset(3, COUNT, SIDE);
	struct cn_train_opts o = cn_train_opts_default();
	o.epochs = 2;
	o.batch = 40;
	o.ema_decay = 0.75f; /* reached by the warm-up ramp at update 26: both regimes run */
	struct cn_net *net = new_net();
	struct cn_trainer *t;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	size_t np = cn_net_param_count(net);
	struct ema_check c = {t, net, tu_copy(cn_net_params(net), np), 0, o.ema_decay};
	assert_memory_equal(cn_trainer_ema(t), c.want, np * sizeof(float)); /* starts as the net */
	for (int e = 0; e < 2; e++)
		assert_int_equal(cn_trainer_epoch(t, ds, check_ema, &c, NULL), CN_OK);
	assert_int_equal(c.u, 12);
	/* the swap puts the average in the net and back, bit for bit */
	float *trained = tu_copy(cn_net_params(net), np);
	assert_int_equal(cn_trainer_use_ema(t, 1), CN_OK);
	assert_null(cn_trainer_ema(t));
	assert_true(fabsf(cn_net_params(net)[0] - c.want[0]) <= 1e-6f * (fabsf(c.want[0]) + 1e-3f));
	assert_int_equal(cn_trainer_use_ema(t, 0), CN_OK);
	assert_memory_equal(cn_net_params(net), trained, np * sizeof(float));
	free(trained);
	free(c.want);
	cn_trainer_free(t);
	cn_net_free(net);
	/* without an average there is nothing to swap */
	struct cn_net *n2 = new_net();
	o.ema_decay = 0;
	assert_int_equal(cn_trainer_create(&t, n2, &o, err), CN_OK);
	assert_int_equal(cn_trainer_use_ema(t, 1), CN_ERR_STATE);
	assert_null(cn_trainer_ema(t));
	cn_trainer_free(t);
	cn_net_free(n2);
	cn_dataset_free(ds);
}

/* Version of the file at path (bytes 8..11, little-endian). */
static uint32_t file_version(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t b[12];
	assert_int_equal(fread(b, 1, 12, f), 12);
	fclose(f);
	return b[8] | b[9] << 8 | b[10] << 16 | (uint32_t)b[11] << 24;
}

static void old_versions_unless_a_recipe_option_is_used(void **state)
{
	(void)state;
	char path[] = "/tmp/colnet-test-recipe-v-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char err[CN_ERR_LEN];
	struct cn_train_opts o = cn_train_opts_default();
	struct cn_net *net = new_net();
	struct cn_trainer *t;
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	assert_int_equal(cn_trainer_save(t, path, err), CN_OK);
	assert_int_equal(file_version(path), 3); /* batchnorm's version, as before */
	cn_trainer_free(t);
	o.label_smoothing = 0.1f;
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	assert_int_equal(cn_trainer_save(t, path, err), CN_OK);
	assert_int_equal(file_version(path), 4);
	cn_trainer_free(t);
	/* bad recipe options are refused with a message */
	struct cn_train_opts bad[4] = {o, o, o, o};
	bad[0].label_smoothing = 1;
	bad[1].ema_decay = -0.5f;
	bad[2].augment.rotate = NAN;
	bad[3].sched.peak = 1;
	for (int i = 0; i < 4; i++) {
		err[0] = '\0';
		assert_int_equal(cn_trainer_create(&t, net, &bad[i], err), CN_ERR_ARG);
		assert_true(strlen(err) > 0);
	}
	cn_net_free(net);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(data_and_labels_untouched_and_it_learns),
	    cmocka_unit_test(mid_epoch_resume_is_exact_with_augmentation),
	    cmocka_unit_test(weight_average_arithmetic),
	    cmocka_unit_test(old_versions_unless_a_recipe_option_is_used),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
