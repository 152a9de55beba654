/*
 * The public header's three rules, call by call: every function takes a NULL handle without
 * crashing (status calls return CN_ERR_ARG, getters 0 or NULL); every failed call on a handle
 * leaves a message in it; the trainer borrows its net whether created or loaded. And float
 * data through cn_dataset_create_f32 and the trainer.
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

static void null_handles_never_crash(void **state)
{
	(void)state;
	float f[4] = {0};
	int32_t i32[4] = {0};
	const float *cy;
	size_t len;
	struct cn_shape s;
	char buf[CN_ERR_LEN];
	/* the network */
	cn_net_free(NULL);
	cn_net_zero_grad(NULL);
	assert_non_null(strstr(cn_net_error(NULL), "NULL"));
	assert_int_equal(cn_net_plan(NULL, 1, CN_PLAN_INFER), CN_ERR_ARG);
	assert_int_equal(cn_net_plan_bytes(NULL), 0);
	assert_int_equal(cn_net_layer_chunks(NULL, 0, i32, i32 + 1), CN_ERR_ARG);
	assert_int_equal(cn_net_forward_split(NULL, i32, i32 + 1), CN_ERR_ARG);
	assert_int_equal(cn_net_pin_chunks(NULL, 1), CN_ERR_ARG);
	assert_int_equal(cn_net_param_count(NULL), 0);
	assert_null(cn_net_params(NULL));
	assert_null(cn_net_grads(NULL));
	s = cn_net_input_shape(NULL);
	assert_true(s.c == 0 && s.h == 0 && s.w == 0);
	assert_int_equal(cn_net_output_len(NULL), 0);
	assert_null(cn_net_input(NULL));
	assert_int_equal(cn_net_forward(NULL, f, 1, &cy), CN_ERR_ARG);
	assert_int_equal(cn_net_predict(NULL, f, 1, f, i32), CN_ERR_ARG);
	assert_int_equal(cn_net_loss_xent(NULL, i32, f, &cy), CN_ERR_ARG);
	assert_int_equal(cn_net_loss_mse(NULL, f, f), CN_ERR_ARG);
	assert_int_equal(cn_net_backward(NULL), CN_ERR_ARG);
	assert_int_equal(cn_net_set_training(NULL, 1), CN_ERR_ARG);
	assert_int_equal(cn_net_training(NULL), 0);
	assert_int_equal(cn_net_state_count(NULL), 0);
	assert_null(cn_net_state(NULL));
	assert_int_equal(cn_net_train_step(NULL, f, i32, 1, f), CN_ERR_ARG);
	assert_int_equal(cn_net_init(NULL, CN_INIT_DEFAULT, 0, 1), CN_ERR_ARG);
	assert_int_equal(cn_net_layer_flops(NULL, 0), -1);
	assert_int_equal(cn_net_layer_count(NULL), 0);
	assert_int_equal(cn_net_layer_describe(NULL, 0, buf, sizeof(buf)), CN_ERR_ARG);
	assert_int_equal(cn_net_layer_output(NULL, 0, &cy, &s, i32), CN_ERR_ARG);
	assert_int_equal(cn_net_layer_params(NULL, 0, &cy, &len, &cy, &len, &s), CN_ERR_ARG);
	assert_int_equal(cn_net_set_class_names(NULL, NULL, 0), CN_ERR_ARG);
	assert_null(cn_net_class_name(NULL, 0));
	assert_null(cn_net_spec(NULL));
	assert_int_equal(cn_net_save(NULL, "/nonexistent/x", buf), CN_ERR_ARG);
	/* optimizer, dataset, trainer */
	cn_optim_free(NULL);
	assert_int_equal(cn_optim_step(NULL, f, f + 2, 0.1f), CN_ERR_ARG);
	assert_non_null(strstr(cn_optim_error(NULL), "NULL"));
	assert_int_equal(cn_optim_step_count(NULL), 0);
	cn_optim_set_step_count(NULL, 3);
	assert_int_equal(cn_optim_state_len(NULL), 0);
	assert_null(cn_optim_state(NULL));
	cn_dataset_free(NULL);
	assert_non_null(strstr(cn_dataset_error(NULL), "NULL"));
	assert_int_equal(cn_dataset_count(NULL), 0);
	assert_int_equal(cn_dataset_classes(NULL), 0);
	assert_null(cn_dataset_pixels(NULL));
	assert_null(cn_dataset_labels(NULL));
	s = cn_dataset_shape(NULL);
	assert_true(s.c == 0 && s.h == 0 && s.w == 0);
	assert_int_equal(cn_dataset_truncate(NULL, 1), CN_ERR_ARG);
	assert_int_equal(cn_dataset_gather(NULL, i32, 1, f, i32), CN_ERR_ARG);
	cn_trainer_free(NULL);
	assert_non_null(strstr(cn_trainer_error(NULL), "NULL"));
	assert_int_equal(cn_trainer_epochs_done(NULL), 0);
	assert_null(cn_trainer_opts(NULL));
	assert_int_equal(cn_trainer_set_epochs(NULL, 3), CN_ERR_ARG);
	cn_trainer_set_skip_nonfinite(NULL, 1);
	assert_int_equal(cn_trainer_set_group(NULL, NULL), CN_ERR_ARG);
	assert_int_equal(cn_trainer_epoch(NULL, NULL, NULL, NULL, NULL), CN_ERR_ARG);
	assert_int_equal(cn_trainer_save(NULL, "/nonexistent/x", buf), CN_ERR_ARG);
	assert_int_equal(cn_evaluate(NULL, NULL, NULL, NULL, NULL), CN_ERR_ARG);
	/* constructors: a NULL output is refused with a message, never written through */
	assert_int_equal(cn_net_create(NULL, "linear 2", (struct cn_shape){1, 1, 2}, 1, buf),
	                 CN_ERR_ARG);
	assert_non_null(strstr(buf, "NULL"));
	struct cn_net *net = (struct cn_net *)buf;
	assert_int_equal(cn_net_create(&net, NULL, (struct cn_shape){1, 1, 2}, 1, buf), CN_ERR_ARG);
	assert_null(net);
}

/* Each failure below used to come back as a bare code; now each says why, in its handle. */
static void failures_say_why(void **state)
{
	(void)state;
	char err[CN_ERR_LEN];
	struct cn_net *net;
	assert_int_equal(
	    cn_net_create(&net, "conv 2 k3 | linear 3", (struct cn_shape){1, 6, 6}, 1, err), CN_OK);
	char buf[80];
	int32_t a, b;
	const float *w;
	assert_int_equal(cn_net_layer_describe(net, 7, buf, sizeof(buf)), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "layer 7 is outside 0..1"));
	assert_int_equal(cn_net_layer_describe(net, 0, NULL, 0), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "no buffer"));
	assert_int_equal(cn_net_layer_chunks(net, 1, &a, &b), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "not a convolution"));
	assert_int_equal(cn_net_layer_chunks(net, 0, &a, &b), CN_ERR_STATE);
	assert_non_null(strstr(cn_net_error(net), "before cn_net_plan"));
	assert_int_equal(cn_net_forward_split(net, &a, &b), CN_ERR_STATE);
	assert_non_null(strstr(cn_net_error(net), "before cn_net_plan"));
	assert_int_equal(cn_net_layer_output(net, 0, &w, NULL, NULL), CN_ERR_STATE);
	assert_non_null(strstr(cn_net_error(net), "no forward"));
	assert_int_equal(cn_net_layer_params(net, -1, &w, NULL, NULL, NULL, NULL), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "layer -1 is outside"));

	/* the optimizer keeps its own message (examples/xor.c printed the net's before) */
	struct cn_optim *opt;
	struct cn_optim_opts oo = cn_optim_opts_default();
	oo.clip_norm = 1;
	size_t n = cn_net_param_count(net);
	assert_int_equal(cn_optim_create(&opt, &oo, n, err), CN_OK);
	assert_int_equal(cn_optim_step(opt, cn_net_params(net), cn_net_grads(net), -1), CN_ERR_ARG);
	assert_non_null(strstr(cn_optim_error(opt), "learning rate -1"));
	assert_int_equal(cn_optim_step(opt, cn_net_params(net), cn_net_params(net), 0.1f),
	                 CN_ERR_ARG);
	assert_non_null(strstr(cn_optim_error(opt), "overlap"));
	assert_int_equal(cn_optim_step(opt, NULL, cn_net_grads(net), 0.1f), CN_ERR_ARG);
	assert_non_null(strstr(cn_optim_error(opt), "NULL"));
	cn_net_grads(net)[0] = INFINITY;
	assert_int_equal(cn_optim_step(opt, cn_net_params(net), cn_net_grads(net), 0.1f),
	                 CN_ERR_NUMERIC);
	assert_non_null(strstr(cn_optim_error(opt), "gradient norm is inf"));
	cn_optim_free(opt);
	assert_int_equal(cn_optim_create(&opt, &oo, 0, err), CN_ERR_ARG);
	assert_non_null(strstr(err, "n_params 0"));

	/* the dataset too */
	uint8_t px[2 * 36] = {0}, labels[2] = {0, 2};
	struct cn_dataset *ds;
	assert_int_equal(cn_dataset_create(&ds, (struct cn_shape){1, 6, 6}, 2, px, labels, err),
	                 CN_OK);
	assert_int_equal(cn_dataset_truncate(ds, 5), CN_ERR_ARG);
	assert_non_null(strstr(cn_dataset_error(ds), "must be in 1..2"));
	int32_t idx[2] = {1, 9}, got[2];
	float x[2 * 36];
	assert_int_equal(cn_dataset_gather(ds, idx, 2, x, got), CN_ERR_ARG);
	assert_non_null(strstr(cn_dataset_error(ds), "index 9 (entry 1)"));
	assert_int_equal(cn_evaluate(net, NULL, NULL, NULL, NULL), CN_ERR_ARG);
	assert_non_null(strstr(cn_net_error(net), "dataset is NULL"));
	struct cn_trainer *t;
	struct cn_train_opts to = cn_train_opts_default();
	to.batch = 2;
	assert_int_equal(cn_trainer_create(&t, net, &to, err), CN_OK);
	assert_int_equal(cn_trainer_epoch(t, NULL, NULL, NULL, NULL), CN_ERR_ARG);
	assert_non_null(strstr(cn_trainer_error(t), "dataset is NULL"));
	assert_int_equal(cn_trainer_set_epochs(t, 0), CN_ERR_ARG);
	assert_non_null(strstr(cn_trainer_error(t), "epochs 0"));
	cn_trainer_free(t);
	cn_dataset_free(ds);
	cn_net_free(net);
}

/* XOR as two classes of float points, through the trainer: what examples/xor.c does. */
static void float_dataset_trains(void **state)
{
	(void)state;
	const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
	const uint8_t labels[4] = {0, 1, 1, 0};
	char err[CN_ERR_LEN];
	struct cn_dataset *ds;
	struct cn_shape shape = {2, 1, 1};
	assert_int_equal(cn_dataset_create_f32(&ds, shape, 4, &x[0][0], labels, err), CN_OK);
	assert_int_equal(cn_dataset_classes(ds), 2);
	assert_null(cn_dataset_pixels(ds));
	/* gather copies the floats as they are, not as bytes / 255 */
	int32_t idx[2] = {3, 1}, got[2];
	float g[4];
	assert_int_equal(cn_dataset_gather(ds, idx, 2, g, got), CN_OK);
	const float want[4] = {1, 1, 0, 1};
	assert_memory_equal(g, want, sizeof(want));
	assert_true(got[0] == 0 && got[1] == 1);

	struct cn_net *net;
	assert_int_equal(cn_net_create(&net, "linear 8 tanh | linear 2", shape, 3, err), CN_OK);
	struct cn_train_opts o = cn_train_opts_default();
	o.epochs = 300;
	o.batch = 4;
	o.sched.lr = 0.05f;
	struct cn_trainer *t;
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	while (cn_trainer_epochs_done(t) < o.epochs)
		assert_int_equal(cn_trainer_epoch(t, ds, NULL, NULL, NULL), CN_OK);
	double loss, acc;
	assert_int_equal(cn_evaluate(net, ds, &loss, &acc, NULL), CN_OK);
	assert_true(acc == 1.0);
	int32_t cls[4];
	assert_int_equal(cn_net_predict(net, &x[0][0], 4, NULL, cls), CN_OK);
	for (int i = 0; i < 4; i++) assert_int_equal(cls[i], labels[i]);
	print_message("float XOR through the trainer: loss %.4f, 4/4 right\n", loss);
	cn_trainer_free(t);
	cn_net_free(net);
	cn_dataset_free(ds);

	/* refused: NaN data (named), bad shape, NULL */
	float bad[4] = {0, 1, NAN, 0};
	assert_int_equal(cn_dataset_create_f32(&ds, shape, 2, bad, labels, err), CN_ERR_NUMERIC);
	assert_non_null(strstr(err, "example 1, value 0 is nan"));
	assert_null(ds);
	assert_int_equal(
	    cn_dataset_create_f32(&ds, (struct cn_shape){0, 1, 1}, 2, bad, labels, err),
	    CN_ERR_SHAPE);
	assert_int_equal(cn_dataset_create_f32(&ds, shape, 2, NULL, labels, err), CN_ERR_ARG);
	assert_int_equal(cn_dataset_create_f32(&ds, shape, 0, bad, labels, err), CN_ERR_ARG);
}

/* One ownership rule: a loaded trainer borrows its net as a created one does. */
static void trainer_borrows_its_net_either_way(void **state)
{
	(void)state;
	char err[CN_ERR_LEN], path[64];
	snprintf(path, sizeof(path), "/tmp/cn-test-api-%ld.ck", (long)getpid());
	struct cn_net *net, *loaded;
	struct cn_trainer *t, *tl;
	struct cn_train_opts o = cn_train_opts_default();
	o.batch = 2;
	assert_int_equal(cn_net_create(&net, "linear 3", (struct cn_shape){1, 2, 2}, 1, err),
	                 CN_OK);
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	assert_int_equal(cn_trainer_save(t, path, err), CN_OK);
	assert_int_equal(cn_trainer_load(&tl, &loaded, path, err), CN_OK);
	unlink(path);
	cn_trainer_free(tl);
	cn_trainer_free(t);
	/* both nets outlive their trainers (ASan would see a use after free here) */
	assert_int_equal(cn_net_plan(loaded, 1, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_param_count(loaded), cn_net_param_count(net));
	assert_memory_equal(cn_net_params(loaded), cn_net_params(net),
	                    cn_net_param_count(net) * sizeof(float));
	cn_net_free(loaded);
	cn_net_free(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(null_handles_never_crash),
	    cmocka_unit_test(failures_say_why),
	    cmocka_unit_test(float_dataset_trains),
	    cmocka_unit_test(trainer_borrows_its_net_either_way),
	};
	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
