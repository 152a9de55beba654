/*
 * The trainer through the public API on a synthetic dataset: it learns, evaluation counts
 * add up, bad combinations are refused, and a run saved after k epochs and resumed gives
 * bit-identical weights to an uninterrupted run with the same seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "colnet.h"
#include "util.h"

#define COUNT 240
#define SIDE  8
#define SPEC  "conv 4 k3 p1 relu | maxpool 2 | linear 4"
/* dropout draws from the net's generator, batchnorm keeps running statistics: both must
   survive a save and load for a resumed run to end bit-identical */
#define SPEC_NORM                                                                                  \
	"conv 4 k3 p1 nobias | batchnorm relu | maxpool 2 | dropout 0.3 | linear 6 nobias | "      \
	"batchnorm relu | dropout | linear 4"

static struct cn_dataset *make_data(uint64_t seed, int32_t count)
{
	return tu_quadrant_dataset(seed, count, SIDE);
}

static struct cn_train_opts opts_for_test(void)
{
	struct cn_train_opts o = cn_train_opts_default();
	o.epochs = 4;
	o.batch = 32; /* 240 = 7 full batches and a short one */
	o.seed = 99;
	o.optim.kind = CN_OPTIM_ADAM;
	o.sched = (struct cn_sched){.kind = CN_SCHED_COSINE, .lr = 0.01f, .epochs = 4};
	return o;
}

static struct cn_net *new_net_of(const char *spec)
{
	struct cn_net *net;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_net_create(&net, spec, (struct cn_shape){1, SIDE, SIDE}, 3, err),
	                 CN_OK);
	return net;
}

static struct cn_net *new_net(void)
{
	return new_net_of(SPEC);
}

static void learns_and_evaluates(void **state)
{
	(void)state;
	struct cn_dataset *train = make_data(1, COUNT), *test = make_data(2, 100);
	struct cn_net *net = new_net();
	struct cn_train_opts o = opts_for_test();
	struct cn_trainer *t;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	struct cn_epoch_stats first, s;
	for (int e = 0; e < o.epochs; e++) {
		assert_int_equal(cn_trainer_epoch(t, train, NULL, NULL, e ? &s : &first), CN_OK);
		if (!e) s = first;
	}
	assert_int_equal(s.epoch, 4);
	assert_int_equal(cn_trainer_epochs_done(t), 4);
	assert_true(s.train_loss < first.train_loss);
	double loss, acc;
	int64_t confusion[16];
	assert_int_equal(cn_evaluate(net, test, &loss, &acc, confusion), CN_OK);
	int64_t sum = 0, diag = 0;
	for (int i = 0; i < 16; i++) sum += confusion[i];
	for (int i = 0; i < 4; i++) diag += confusion[i * 5];
	print_message("train loss %.3f -> %.3f, test accuracy %.3f\n", first.train_loss,
	              s.train_loss, acc);
	assert_int_equal(sum, 100);
	assert_int_equal(diag, (int64_t)(acc * 100 + 0.5));
	assert_true(acc > 0.9);
	cn_trainer_free(t);
	cn_net_free(net);
	cn_dataset_free(train);
	cn_dataset_free(test);
}

static void refuses_bad_combinations(void **state)
{
	(void)state;
	struct cn_dataset *small = make_data(1, 20);
	struct cn_net *net = new_net();
	struct cn_train_opts o = opts_for_test();
	struct cn_trainer *t;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_trainer_epoch(NULL, small, NULL, NULL, NULL), CN_ERR_ARG);
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	assert_int_equal(cn_trainer_epoch(t, small, NULL, NULL, NULL), CN_ERR_ARG);
	assert_non_null(strstr(cn_trainer_error(t), "batch 32 is larger than the 20 examples"));
	cn_trainer_free(t);

	o.epochs = 0;
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_ERR_ARG);
	assert_non_null(strstr(err, "epochs 0"));
	o = opts_for_test();
	o.sched.lr = 0.0f / 0.0f;
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_ERR_ARG);
	assert_non_null(strstr(err, "learning rate"));

	/* data of another shape */
	struct cn_net *wide;
	assert_int_equal(cn_net_create(&wide, "linear 4", (struct cn_shape){1, 9, 9}, 1, err),
	                 CN_OK);
	o = opts_for_test();
	o.batch = 10;
	assert_int_equal(cn_trainer_create(&t, wide, &o, err), CN_OK);
	assert_int_equal(cn_trainer_epoch(t, small, NULL, NULL, NULL), CN_ERR_SHAPE);
	assert_non_null(strstr(cn_trainer_error(t), "8x8x1 (HxWxC) but the model takes 9x9x1"));
	cn_trainer_free(t);
	cn_net_free(wide);
	cn_net_free(net);
	cn_dataset_free(small);
}

static void resume_is_exact_for(const char *spec)
{
	char dir[] = "/tmp/colnet-test-train-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/run.ckpt", dir);
	struct cn_dataset *train = make_data(1, COUNT);
	struct cn_train_opts o = opts_for_test();
	char err[CN_ERR_LEN];

	/* uninterrupted: 4 epochs */
	struct cn_net *a = new_net_of(spec);
	struct cn_trainer *ta;
	assert_int_equal(cn_trainer_create(&ta, a, &o, err), CN_OK);
	for (int e = 0; e < 4; e++)
		assert_int_equal(cn_trainer_epoch(ta, train, NULL, NULL, NULL), CN_OK);

	/* interrupted: 2 epochs, save, drop everything, load, 2 more */
	struct cn_net *b = new_net_of(spec);
	struct cn_trainer *tb;
	assert_int_equal(cn_trainer_create(&tb, b, &o, err), CN_OK);
	for (int e = 0; e < 2; e++)
		assert_int_equal(cn_trainer_epoch(tb, train, NULL, NULL, NULL), CN_OK);
	assert_int_equal(cn_trainer_save(tb, path, err), CN_OK);
	cn_trainer_free(tb);
	cn_net_free(b);
	struct cn_net *c;
	struct cn_trainer *tc;
	enum cn_status st = cn_trainer_load(&tc, &c, path, err);
	if (st) print_error("load: %s\n", err);
	assert_int_equal(st, CN_OK);
	assert_int_equal(cn_trainer_epochs_done(tc), 2);
	while (cn_trainer_epochs_done(tc) < 4)
		assert_int_equal(cn_trainer_epoch(tc, train, NULL, NULL, NULL), CN_OK);

	assert_int_equal(cn_net_param_count(a), cn_net_param_count(c));
	assert_memory_equal(cn_net_params(a), cn_net_params(c),
	                    cn_net_param_count(a) * sizeof(float));
	assert_int_equal(cn_net_state_count(a), cn_net_state_count(c));
	assert_memory_equal(cn_net_state(a), cn_net_state(c),
	                    cn_net_state_count(a) * sizeof(float));
	cn_trainer_free(ta);
	cn_net_free(a);
	cn_trainer_free(tc); /* then its net: the trainer only borrows it */
	cn_net_free(c);
	cn_dataset_free(train);
	unlink(path);
	rmdir(dir);
}

static void resume_is_exact(void **state)
{
	(void)state;
	resume_is_exact_for(SPEC);
	resume_is_exact_for(SPEC_NORM);
}

/* With dropout and batchnorm the network still learns, and evaluates with running statistics. */
static void learns_with_dropout_and_batchnorm(void **state)
{
	(void)state;
	struct cn_dataset *train = make_data(1, COUNT), *test = make_data(2, 120);
	struct cn_train_opts o = opts_for_test();
	char err[CN_ERR_LEN];
	struct cn_net *net = new_net_of(SPEC_NORM);
	struct cn_trainer *t;
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	for (int e = 0; e < 4; e++)
		assert_int_equal(cn_trainer_epoch(t, train, NULL, NULL, NULL), CN_OK);
	float *st = cn_net_state(net), *before = tu_copy(st, cn_net_state_count(net));
	double loss, acc;
	assert_int_equal(cn_evaluate(net, test, &loss, &acc, NULL), CN_OK);
	print_message("dropout + batchnorm net: test accuracy %.3f, loss %.3f\n", acc, loss);
	assert_true(acc > 0.6); /* measured 0.817; chance is 0.25 (6 units, half dropped) */
	assert_true(cn_net_training(net)); /* cn_evaluate leaves the mode as it was */
	assert_memory_equal(st, before, cn_net_state_count(net) * sizeof(float));
	free(before);
	cn_trainer_free(t);
	cn_net_free(net);
	cn_dataset_free(train);
	cn_dataset_free(test);
}

/*
 * Evaluating between epochs changes nothing in what training does next: train, evaluate, train
 * gives the parameters, running statistics and generator of train, train, bit for bit (the
 * evaluation draws no dropout mask and moves no statistic, and the trainer switches training
 * behaviour back on).
 */
static void evaluation_between_epochs_is_invisible(void **state)
{
	(void)state;
	struct cn_dataset *train = make_data(1, COUNT), *test = make_data(2, 120);
	struct cn_train_opts o = opts_for_test();
	char err[CN_ERR_LEN];
	struct cn_net *a = new_net_of(SPEC_NORM), *b = new_net_of(SPEC_NORM);
	struct cn_trainer *ta, *tb;
	assert_int_equal(cn_trainer_create(&ta, a, &o, err), CN_OK);
	assert_int_equal(cn_trainer_create(&tb, b, &o, err), CN_OK);
	for (int e = 0; e < 2; e++) {
		assert_int_equal(cn_trainer_epoch(ta, train, NULL, NULL, NULL), CN_OK);
		assert_int_equal(cn_trainer_epoch(tb, train, NULL, NULL, NULL), CN_OK);
		cn_net_set_training(b, 0); /* a caller's choice the trainer must override */
		assert_int_equal(cn_evaluate(b, test, NULL, NULL, NULL), CN_OK);
	}
	assert_int_equal(cn_trainer_epoch(ta, train, NULL, NULL, NULL), CN_OK);
	assert_int_equal(cn_trainer_epoch(tb, train, NULL, NULL, NULL), CN_OK);
	assert_memory_equal(cn_net_params(a), cn_net_params(b),
	                    cn_net_param_count(a) * sizeof(float));
	assert_memory_equal(cn_net_state(a), cn_net_state(b),
	                    cn_net_state_count(a) * sizeof(float));
	cn_trainer_free(ta);
	cn_trainer_free(tb);
	cn_net_free(a);
	cn_net_free(b);
	cn_dataset_free(train);
	cn_dataset_free(test);
}

/*
 * A network at chance for a whole epoch: all weights 0, so every ReLU is dead and only the
 * last bias learns (one class for every image). Any schedule flags the epoch (at_chance);
 * the loss-driven rate, which would go on at 0.2, stops with a message instead and does not
 * count the epoch. A network that learns is not flagged, and the loss rule runs its first
 * epoch at lr, then at the rule of that epoch's mean training loss.
 */
static void chance_is_flagged_and_stops_the_loss_rule(void **state)
{
	(void)state;
	struct cn_dataset *train = make_data(1, COUNT);
	struct cn_train_opts o = opts_for_test();
	o.optim.kind = CN_OPTIM_MOMENTUM;
	char err[CN_ERR_LEN];
	for (int loss_rule = 0; loss_rule < 2; loss_rule++) {
		o.sched = (struct cn_sched){.kind = loss_rule ? CN_SCHED_LOSS : CN_SCHED_CONST,
		                            .lr = 0.1f};
		struct cn_net *net = new_net();
		memset(cn_net_params(net), 0, cn_net_param_count(net) * sizeof(float));
		struct cn_trainer *t;
		assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
		struct cn_epoch_stats s = {0};
		enum cn_status st = cn_trainer_epoch(t, train, NULL, NULL, &s);
		if (loss_rule) {
			assert_int_equal(st, CN_ERR_NUMERIC);
			assert_non_null(strstr(cn_trainer_error(t), "epoch 1: training accuracy"));
			assert_non_null(
			    strstr(cn_trainer_error(t), "at chance level for 4 classes"));
			assert_int_equal(cn_trainer_epochs_done(t), 0);
		} else {
			assert_int_equal(st, CN_OK);
			assert_true(s.at_chance && s.train_acc < 0.375);
		}
		cn_trainer_free(t);
		cn_net_free(net); /* the trainer only borrowed it */

		net = new_net(); /* a live one */
		assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
		struct cn_epoch_stats first;
		assert_int_equal(cn_trainer_epoch(t, train, NULL, NULL, &first), CN_OK);
		assert_int_equal(cn_trainer_epoch(t, train, NULL, NULL, &s), CN_OK);
		assert_false(first.at_chance || s.at_chance);
		if (loss_rule) { /* epoch 1 at lr, epoch 2 at the rule of epoch 1's mean loss */
			float want = cn_sched_lr(&o.sched, 1, (float)first.train_loss);
			assert_true(first.lr == 0.1f && s.lr == want && want != 0.1f);
			print_message("loss rule: epoch 1 at %g (loss %.3f), epoch 2 at %g\n",
			              (double)first.lr, first.train_loss, (double)s.lr);
		}
		cn_trainer_free(t);
		cn_net_free(net);
	}
	cn_dataset_free(train);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(learns_and_evaluates),
	    cmocka_unit_test(refuses_bad_combinations),
	    cmocka_unit_test(resume_is_exact),
	    cmocka_unit_test(learns_with_dropout_and_batchnorm),
	    cmocka_unit_test(evaluation_between_epochs_is_invisible),
	    cmocka_unit_test(chance_is_flagged_and_stops_the_loss_rule),
	};
	return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
