/*
 * No global state: two networks trained at once in two threads of one process end with the
 * same weights, bit for bit, as the same two trained one after the other. Both threads read
 * one shared dataset (the library only reads it). OpenBLAS gets one thread of its own per
 * call, so each result depends only on its own network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "colnet.h"
#include "util.h"

#define COUNT 400
#define SIDE  12

struct job {
	const struct cn_dataset *ds;
	const char *spec;
	uint64_t seed;
	enum cn_optim_kind optim;
	float *params; /* the result, malloc'd */
	size_t n;
	enum cn_status st;
};

static struct cn_dataset *make_data(void)
{
	uint8_t *px = tu_alloc((size_t)COUNT * SIDE * SIDE), labels[COUNT];
	struct tu_rng r = tu_rng_make(11);
	for (int i = 0; i < COUNT; i++) {
		labels[i] = (uint8_t)tu_int(&r, 0, 9);
		for (int p = 0; p < SIDE * SIDE; p++)
			px[i * SIDE * SIDE + p] =
			    (uint8_t)(tu_int(&r, 0, 60) + (p % 10 == labels[i]) * 150);
	}
	struct cn_dataset *ds;
	char err[CN_ERR_LEN];
	assert_int_equal(
	    cn_dataset_create(&ds, (struct cn_shape){1, SIDE, SIDE}, COUNT, px, labels, err),
	    CN_OK);
	free(px);
	return ds;
}

/* A thread body: everything through the public API, no assertions (cmocka's are not
   thread-safe); the status comes back in the job. */
static void *run(void *arg)
{
	struct job *j = arg;
	struct cn_net *net = NULL;
	struct cn_trainer *t = NULL;
	struct cn_train_opts o = cn_train_opts_default();
	o.epochs = 3;
	o.batch = 25;
	o.seed = j->seed;
	o.optim.kind = j->optim;
	o.sched.lr = 0.01f;
	char err[CN_ERR_LEN];
	j->st = cn_net_create(&net, j->spec, (struct cn_shape){1, SIDE, SIDE}, j->seed, err);
	if (!j->st) j->st = cn_trainer_create(&t, net, &o, err);
	while (!j->st && cn_trainer_epochs_done(t) < o.epochs)
		j->st = cn_trainer_epoch(t, j->ds, NULL, NULL, NULL);
	if (!j->st) {
		j->n = cn_net_param_count(net);
		j->params = malloc(j->n * sizeof(float));
		if (j->params)
			memcpy(j->params, cn_net_params(net), j->n * sizeof(float));
		else
			j->st = CN_ERR_NOMEM;
	}
	cn_trainer_free(t);
	cn_net_free(net);
	return NULL;
}

static void two_threads_match_one_after_the_other(void **state)
{
	(void)state;
	assert_int_equal(cn_set_blas_threads(1), CN_OK);
	struct cn_dataset *ds = make_data();
	struct job proto[2] = {
	    {.ds = ds,
	     .spec = "conv 6 k3 p1 relu | maxpool 2 | conv 8 k3 relu | linear 10",
	     .seed = 1,
	     .optim = CN_OPTIM_ADAM},
	    {.ds = ds,
	     .spec = "conv 4 k5 tanh | avgpool 2 | linear 32 sigmoid | linear 10",
	     .seed = 2,
	     .optim = CN_OPTIM_MOMENTUM},
	};
	struct job seq[2], par[2];
	memcpy(seq, proto, sizeof(proto));
	memcpy(par, proto, sizeof(proto));
	for (int i = 0; i < 2; i++) run(&seq[i]);
	pthread_t th[2];
	for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, run, &par[i]), 0);
	for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(seq[i].st, CN_OK);
		assert_int_equal(par[i].st, CN_OK);
		assert_int_equal(seq[i].n, par[i].n);
		assert_memory_equal(seq[i].params, par[i].params, seq[i].n * sizeof(float));
		print_message("net %d: %zu parameters identical after 3 epochs in parallel\n",
		              i + 1, seq[i].n);
		free(seq[i].params);
		free(par[i].params);
	}
	cn_dataset_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(two_threads_match_one_after_the_other),
	};
	return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
