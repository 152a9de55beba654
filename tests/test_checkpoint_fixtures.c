/*
 * Checkpoints written by earlier builds still load (tests/fixtures/checkpoints): each fixture
 * is read and compared with what fixtures.h says it holds (parameters bit for bit against a
 * fresh cn_net_create of the same spec and seed, names, batchnorm statistics, the network's
 * generator, every training field), and written again by this build: the bytes must be the
 * file's own, so today's writer still writes what older readers read.
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

#include "checkpoint.h"
#include "fixtures/checkpoints/fixtures.h"
#include "net.h"
#include "util.h"

#define DIR "tests/fixtures/checkpoints/"

static void check_train(const struct fx *x, const struct cn_net *net,
                        const struct cn_checkpoint_train *t)
{
	struct cn_train_opts want = fx_opts(x->optim);
	assert_int_equal(t->epochs_done, FX_EPOCHS_DONE);
	assert_int_equal(t->opts.epochs, want.epochs);
	assert_int_equal(t->opts.batch, want.batch);
	assert_int_equal(t->opts.seed, want.seed);
	assert_memory_equal(&t->opts.optim, &want.optim, sizeof(want.optim));
	assert_memory_equal(&t->opts.sched, &want.sched, sizeof(want.sched));
	struct cn_rng r;
	cn_rng_seed(&r, FX_RNG_SEED);
	assert_memory_equal(&t->rng, &r, sizeof(r));
	assert_int_equal(t->optim_steps, FX_STEPS);
	size_t m = x->optim == CN_OPTIM_ADAM ? 2 * net->n_params : net->n_params;
	assert_int_equal(t->optim_state_len, m);
	for (size_t i = 0; i < m; i++) assert_true(t->optim_state[i] == fx_optim(i));
	struct cn_train_pos pos =
	    x->kind == 2 ? (struct cn_train_pos)FX_POS : (struct cn_train_pos){0};
	assert_memory_equal(&t->pos, &pos, sizeof(pos));
}

static void test_fixtures_load(void **state)
{
	(void)state;
	for (size_t f = 0; f < sizeof(fx_table) / sizeof(fx_table[0]); f++) {
		const struct fx *x = &fx_table[f];
		char path[256], again[64], err[CN_ERR_LEN];
		snprintf(path, sizeof(path), DIR "%s", x->file);
		print_message("%s: version %u, kind %u\n", x->file, x->version, x->kind);
		size_t len;
		uint8_t *file = tu_read_file(path, &len);
		assert_true(len > 16);
		assert_int_equal(file[8], x->version);
		assert_int_equal(file[12], x->kind);

		/* the model, as any program loads it */
		struct cn_net *net = NULL, *fresh = NULL;
		enum cn_status st = cn_net_load(&net, path, err);
		if (st) print_message("%s\n", err);
		assert_int_equal(st, CN_OK);
		assert_int_equal(cn_net_create(&fresh, x->spec, FX_IN, FX_SEED, err), CN_OK);
		assert_string_equal(cn_net_spec(net), x->spec);
		assert_int_equal(net->n_params, fresh->n_params);
		assert_memory_equal(net->params, fresh->params, net->n_params * sizeof(float));
		for (size_t i = 0; i < net->n_state; i++)
			assert_true(net->state[i] == fx_state(i, net->n_state));
		if (x->version == 3) assert_memory_equal(&net->rng, &fresh->rng, sizeof(net->rng));
		for (int32_t k = 0; k < 3; k++) {
			const char *name = cn_net_class_name(net, k);
			if (x->names)
				assert_string_equal(name, fx_names[k]);
			else
				assert_null(name);
		}

		/* the training state, and the same bytes written again */
		struct cn_checkpoint_train t = {0};
		struct cn_net *tnet = NULL;
		if (x->kind) {
			assert_int_equal(cn_checkpoint_read(path, &tnet, &t, err), CN_OK);
			assert_memory_equal(tnet->params, fresh->params,
			                    net->n_params * sizeof(float));
			check_train(x, tnet, &t);
		}
		snprintf(again, sizeof(again), "/tmp/cn-fixture-%ld.ck", (long)getpid());
		assert_int_equal(
		    cn_checkpoint_write(again, x->kind ? tnet : net, x->kind ? &t : NULL, err),
		    CN_OK);
		size_t len2;
		uint8_t *file2 = tu_read_file(again, &len2);
		unlink(again);
		assert_int_equal(len2, len);
		assert_memory_equal(file2, file, len);
		free(file2);
		free(t.optim_state);
		cn_net_free(tnet);
		cn_net_free(fresh);
		cn_net_free(net);
		free(file);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixtures_load),
	};
	return cmocka_run_group_tests_name("checkpoint_fixtures", tests, NULL, NULL);
}
