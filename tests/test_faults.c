/*
 * Faults during training, through the public API: a NaN or Inf stops an epoch naming its epoch
 * and batch, or with skip_nonfinite skips just that batch; a progress callback that asks to
 * stop (as the CLI's does on SIGINT) leaves a state that, saved, loaded and continued, ends
 * bit-identical to an uninterrupted run, wherever the stop falls. (The mid-epoch checkpoints
 * themselves are attacked in test_hostile.c.)
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

#define COUNT 240 /* 7 batches of 32 and one of 16 */
#define SIDE  8
#define SPEC  "conv 4 k3 p1 relu | maxpool 2 | linear 4"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/cn-test-faults-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static const char *const files[] = {"stop.ck", "k2.ck", "k2.ck.tmp.Xy12Zq"};

static int teardown(void **state)
{
	(void)state;
	char p[256];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	return rmdir(dir);
}

static const char *at(const char *name)
{
	static char p[2][256];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/*
 * Which quadrant holds a bright blob, as in test_train; pixels 0 and 1 are dark except in the
 * images listed in hot[], where they are 255 (a poisoned weight there overflows to Inf).
 */
static struct cn_dataset *make_data(int32_t count, const int32_t *hot, int n_hot)
{
	uint8_t *px = tu_alloc((size_t)count * SIDE * SIDE), *labels = tu_alloc((size_t)count);
	tu_quadrant_images(7, count, SIDE, px, labels);
	for (int32_t i = 0; i < count; i++)
		px[(size_t)i * SIDE * SIDE] = px[i * SIDE * SIDE + 1] = 0;
	for (int h = 0; h < n_hot; h++)
		px[(size_t)hot[h] * SIDE * SIDE] = px[hot[h] * SIDE * SIDE + 1] = 255;
	struct cn_dataset *ds;
	char err[CN_ERR_LEN];
	assert_int_equal(
	    cn_dataset_create(&ds, (struct cn_shape){1, SIDE, SIDE}, count, px, labels, err),
	    CN_OK);
	free(px);
	free(labels);
	return ds;
}

static struct cn_net *new_net(const char *spec)
{
	struct cn_net *net;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_net_create(&net, spec, (struct cn_shape){1, SIDE, SIDE}, 3, err),
	                 CN_OK);
	return net;
}

/* A first linear layer whose unit 0 weighs pixels 0 and 1 by 3e38: 3e38 + 3e38 = Inf. */
static struct cn_net *poisoned_net(void)
{
	struct cn_net *net = new_net("linear 16 relu | linear 4");
	float *w = cn_net_params(net); /* layer 1's w [16, 64] comes first */
	w[0] = w[1] = 3e38f;
	return net;
}

static struct cn_train_opts opts(enum cn_sched_kind sched)
{
	struct cn_train_opts o = cn_train_opts_default();
	o.epochs = 3;
	o.batch = 32;
	o.seed = 5;
	o.optim.kind = CN_OPTIM_MOMENTUM;
	o.optim.momentum = 0.9f;
	/* the loss schedule sets each epoch's rate from the last one's mean loss: a resume must
	 * restore that rate and the running sum exactly (it starts at 0.2, or the 8 steps of
	 * plain SGD leave epoch 1 at chance, which stops it) */
	o.sched = (struct cn_sched){.kind = sched, .lr = 0.02f, .epochs = 3};
	if (sched == CN_SCHED_LOSS) o.optim.kind = CN_OPTIM_SGD, o.sched.lr = 0.2f;
	return o;
}

static int count_steps(void *user, int32_t done, int32_t total, double loss)
{
	(void)done, (void)total, (void)loss;
	++*(int *)user;
	return 0;
}

static void nonfinite_stops_naming_the_batch(void **state)
{
	(void)state;
	int32_t hot = 100;
	struct cn_dataset *ds = make_data(COUNT, &hot, 1);
	struct cn_net *net = poisoned_net();
	struct cn_train_opts o = opts(CN_SCHED_CONST);
	o.optim.kind = CN_OPTIM_ADAM;
	struct cn_trainer *t;
	char err[CN_ERR_LEN], want[64];
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	int steps = 0;
	assert_int_equal(cn_trainer_epoch(t, ds, count_steps, &steps, NULL), CN_ERR_NUMERIC);
	snprintf(want, sizeof(want), "epoch 1, batch %d: loss or gradients are not finite",
	         steps + 1);
	print_message("%s\n", cn_trainer_error(t));
	assert_non_null(strstr(cn_trainer_error(t), want));
	assert_int_equal(cn_trainer_epochs_done(t), 0);
	cn_trainer_free(t);

	/* skipped instead: one batch, no update from it, every parameter still finite */
	o.skip_nonfinite = 1;
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	struct cn_epoch_stats s;
	assert_int_equal(cn_trainer_epoch(t, ds, NULL, NULL, &s), CN_OK);
	assert_int_equal(s.skipped, 1);
	assert_int_equal(cn_trainer_epochs_done(t), 1);
	assert_true(isfinite(s.train_loss) && s.train_loss > 0);
	const float *p = cn_net_params(net);
	for (size_t i = 0; i < cn_net_param_count(net); i++) assert_true(isfinite(p[i]));
	assert_true(p[0] == 3e38f && p[1] == 3e38f);
	/* the setter turns it off again on a live trainer */
	cn_trainer_set_skip_nonfinite(t, 0);
	assert_int_equal(cn_trainer_epoch(t, ds, NULL, NULL, &s), CN_ERR_NUMERIC);
	cn_trainer_free(t);
	cn_net_free(net);
	cn_dataset_free(ds);

	/* every batch poisoned: skipping cannot help, and says so */
	int32_t all[COUNT];
	for (int i = 0; i < COUNT; i++) all[i] = i;
	ds = make_data(COUNT, all, COUNT);
	net = poisoned_net();
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	cn_trainer_set_skip_nonfinite(t, 1);
	assert_int_equal(cn_trainer_epoch(t, ds, NULL, NULL, &s), CN_ERR_NUMERIC);
	assert_non_null(strstr(cn_trainer_error(t), "epoch 1: all 8 batches"));
	cn_trainer_free(t);
	cn_net_free(net);
	cn_dataset_free(ds);
}

/* Ask to stop when the callback has run `at` times in all (0: never). */
struct stopper {
	int calls, at;
};

static int stop_at(void *user, int32_t done, int32_t total, double loss)
{
	(void)done, (void)total, (void)loss;
	struct stopper *s = user;
	return ++s->calls == s->at;
}

struct run {
	float *params;
	size_t n;
	double loss[3];
	int stops;
};

/*
 * Train opts(sched) for 3 epochs, stopping at each listed global step; after a stop, save,
 * free everything and load (reload) or just call again. Records the final parameters and the
 * per-epoch training loss.
 */
static struct run train_with_stops(enum cn_sched_kind sched, const int *stops, int n_stops,
                                   bool reload, struct cn_dataset *ds)
{
	struct cn_train_opts o = opts(sched);
	struct cn_net *net = new_net(SPEC);
	struct cn_trainer *t;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	struct stopper st = {0, n_stops ? stops[0] : 0};
	struct run r = {0};
	int next = 1;
	while (cn_trainer_epochs_done(t) < o.epochs) {
		struct cn_epoch_stats s;
		enum cn_status rc = cn_trainer_epoch(t, ds, stop_at, &st, &s);
		if (rc == CN_ERR_STOPPED) {
			r.stops++;
			assert_non_null(strstr(cn_trainer_error(t), "stopped in epoch"));
			st.at = next < n_stops ? stops[next++] : 0;
			if (!reload) continue;
			assert_int_equal(cn_trainer_save(t, at("stop.ck"), err), CN_OK);
			cn_trainer_free(t);
			cn_net_free(net);
			assert_int_equal(cn_trainer_load(&t, &net, at("stop.ck"), err), CN_OK);
			continue;
		}
		assert_int_equal(rc, CN_OK);
		r.loss[s.epoch - 1] = s.train_loss;
	}
	r.n = cn_net_param_count(net);
	r.params = tu_alloc(r.n * sizeof(float));
	memcpy(r.params, cn_net_params(net), r.n * sizeof(float));
	cn_trainer_free(t);
	cn_net_free(net);
	return r;
}

static void stop_and_resume_is_exact(void **state)
{
	(void)state;
	struct cn_dataset *ds = make_data(COUNT, NULL, 0);
	static const int cases[][3] = {
	    {1, 0, 0},   /* after the first step */
	    {4, 0, 0},   /* mid-epoch 1 */
	    {8, 0, 0},   /* on the last step of epoch 1: the epoch just completes */
	    {12, 0, 0},  /* mid-epoch 2 */
	    {3, 5, 0},   /* twice in one epoch */
	    {7, 10, 23}, /* once in every epoch */
	};
	int tried = 0;
	for (int k = 0; k < 2; k++) {
		enum cn_sched_kind sched = k ? CN_SCHED_LOSS : CN_SCHED_COSINE;
		struct run ref = train_with_stops(sched, NULL, 0, false, ds);
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			int n = cases[c][1] ? cases[c][2] ? 3 : 2 : 1;
			for (int reload = 0; reload < 2; reload++, tried++) {
				struct run r = train_with_stops(sched, cases[c], n, reload, ds);
				assert_int_equal(r.stops, cases[c][0] == 8 ? 0 : n);
				assert_int_equal(r.n, ref.n);
				assert_memory_equal(r.params, ref.params, r.n * sizeof(float));
				for (int e = 0; e < 3; e++) assert_true(r.loss[e] == ref.loss[e]);
				free(r.params);
			}
		}
		free(ref.params);
	}
	print_message("%d interrupted runs (stopped, saved, loaded, continued) match the "
	              "uninterrupted ones bit for bit\n",
	              tried);
	cn_dataset_free(ds);
}

/* A stopped epoch continues only on data of the same size; a model-only load still works. */
static void stopped_state_checks(void **state)
{
	(void)state;
	struct cn_dataset *ds = make_data(COUNT, NULL, 0), *small = make_data(COUNT / 2, NULL, 0);
	struct cn_net *net = new_net(SPEC), *back;
	struct cn_train_opts o = opts(CN_SCHED_CONST);
	struct cn_trainer *t;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	struct stopper st = {0, 3};
	assert_int_equal(cn_trainer_epoch(t, ds, stop_at, &st, NULL), CN_ERR_STOPPED);
	assert_non_null(strstr(cn_trainer_error(t), "stopped in epoch 1 after batch 3 of 8"));
	assert_int_equal(cn_trainer_epochs_done(t), 0);
	assert_int_equal(cn_trainer_save(t, at("k2.ck"), err), CN_OK);
	assert_int_equal(cn_trainer_epoch(t, small, NULL, NULL, NULL), CN_ERR_ARG);
	assert_non_null(strstr(cn_trainer_error(t), "needs the same data, not 120 images"));
	assert_int_equal(cn_trainer_epoch(t, ds, NULL, NULL, NULL), CN_OK);
	assert_int_equal(cn_trainer_epochs_done(t), 1);
	/* the file says kind 2, and loads as a plain model too */
	FILE *f = fopen(at("k2.ck"), "rb");
	uint8_t head[16];
	assert_int_equal(fread(head, 1, 16, f), 16);
	fclose(f);
	assert_int_equal(head[12], 2);
	assert_int_equal(cn_net_load(&back, at("k2.ck"), err), CN_OK);
	cn_net_free(back);
	/* a temporary file left by a killed save is never what gets loaded */
	f = fopen(at("k2.ck.tmp.Xy12Zq"), "wb");
	fputs("half a checkpoint", f);
	fclose(f);
	struct cn_trainer *t2;
	enum cn_status rc = cn_trainer_load(&t2, &back, at("k2.ck"), err);
	if (rc) print_error("%s\n", err);
	assert_int_equal(rc, CN_OK);
	cn_trainer_free(t2);
	cn_net_free(back);
	cn_trainer_free(t);
	cn_net_free(net);
	cn_dataset_free(ds);
	cn_dataset_free(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(nonfinite_stops_naming_the_batch),
	    cmocka_unit_test(stop_and_resume_is_exact),
	    cmocka_unit_test(stopped_state_checks),
	};
	return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}
