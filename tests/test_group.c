/*
 * Data-parallel training without MPI: K threads, each a member of a cn_group whose reduce is a
 * barrier and a sum in rank order, train one model as the colnet tool's MPI build does with K
 * processes. The members end bit-identical, and within float reassociation of one trainer
 * alone (batches not divisible by K, a last short batch, members with empty slices); a run
 * stopped by one member resumes alone, and a run stopped alone resumes in a group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "colnet.h"
#include "util.h"

#define COUNT   240
#define SIDE    8
#define SPEC    "conv 4 k3 p1 relu | maxpool 2 | linear 4"
#define MAX_K   4
#define REL_TOL 1e-4

struct team {
	pthread_barrier_t bar;
	int k;
	void *bufs[MAX_K];
};

struct member {
	struct team *team;
	int rank;
	/* the job */
	const struct cn_dataset *train, *test;
	struct cn_train_opts opts;
	const char *spec;   /* the network (NULL: SPEC) */
	const char *resume; /* load this checkpoint instead of a fresh net */
	const char *save;   /* member 0 saves here when stopped */
	int stop_at;        /* > 0: this member's progress asks to stop after that many steps */
	/* results */
	float *params, *state; /* copies at the end: weights, batch norm's running statistics */
	size_t np, ns;
	enum cn_status last;
	double test_loss, test_acc;
	int steps_seen;
};

/* Sum in place across the team, rank 0's buffer collecting in rank order. */
static int team_reduce(void *ctx, void *buf, size_t n, enum cn_reduce_type type)
{
	struct member *m = ctx;
	struct team *tm = m->team;
	tm->bufs[m->rank] = buf;
	pthread_barrier_wait(&tm->bar);
	if (m->rank == 0)
		for (int r = 1; r < tm->k; r++)
			for (size_t i = 0; i < n; i++) {
				if (type == CN_REDUCE_FLOAT)
					((float *)buf)[i] += ((const float *)tm->bufs[r])[i];
				else
					((double *)buf)[i] += ((const double *)tm->bufs[r])[i];
			}
	pthread_barrier_wait(&tm->bar);
	if (m->rank != 0)
		memcpy(buf, tm->bufs[0],
		       n * (type == CN_REDUCE_FLOAT ? sizeof(float) : sizeof(double)));
	pthread_barrier_wait(&tm->bar);
	return 0;
}

static int progress(void *user, int32_t done, int32_t total, double loss)
{
	(void)done, (void)total, (void)loss;
	struct member *m = user;
	return ++m->steps_seen == m->stop_at;
}

static struct cn_dataset *make_data(uint64_t seed, int32_t count)
{
	return tu_quadrant_dataset(seed, count, SIDE);
}

/* One member's whole run (also the lone reference, with team NULL). No cmocka calls here. */
static void *run_member(void *arg)
{
	struct member *m = arg;
	struct cn_net *net = NULL;
	struct cn_trainer *t = NULL;
	char err[CN_ERR_LEN];
	m->last = CN_ERR_STATE;
	if (m->resume) {
		if (cn_trainer_load(&t, &net, m->resume, err)) return NULL;
	} else {
		if (cn_net_create(&net, m->spec ? m->spec : SPEC, (struct cn_shape){1, SIDE, SIDE},
		                  3, err) ||
		    cn_trainer_create(&t, net, &m->opts, err))
			return NULL;
	}
	struct cn_group g = {m->rank, m->team ? m->team->k : 1, team_reduce, m};
	if (m->team && cn_trainer_set_group(t, &g)) goto done;
	enum cn_status st = CN_OK;
	while (!st && cn_trainer_epochs_done(t) < cn_trainer_opts(t)->epochs)
		st = cn_trainer_epoch(t, m->train, m->stop_at ? progress : NULL, m, NULL);
	m->last = st;
	if (st == CN_ERR_STOPPED && m->rank == 0 && m->save && cn_trainer_save(t, m->save, err))
		m->last = CN_ERR_IO;
	if (!st && m->test &&
	    cn_evaluate_group(net, m->test, m->team ? &g : NULL, &m->test_loss, &m->test_acc, NULL))
		m->last = CN_ERR_STATE;
	m->np = cn_net_param_count(net);
	m->params = malloc(m->np * sizeof(float));
	if (m->params) memcpy(m->params, cn_net_params(net), m->np * sizeof(float));
	m->ns = cn_net_state_count(net);
	m->state = malloc(m->ns * sizeof(float) + 1);
	if (m->state) memcpy(m->state, cn_net_state(net), m->ns * sizeof(float));
done:
	cn_trainer_free(t);
	cn_net_free(net);
	return NULL;
}

/* Run k members (k 0: one trainer with no group at all) from the template tmpl. */
static void run_team(int k, const struct member *tmpl, struct member *out)
{
	if (k == 0) {
		out[0] = *tmpl;
		run_member(&out[0]);
		assert_non_null(out[0].params);
		return;
	}
	struct team tm = {.k = k};
	assert_int_equal(pthread_barrier_init(&tm.bar, NULL, (unsigned)k), 0);
	pthread_t th[MAX_K];
	for (int r = 0; r < k; r++) {
		out[r] = *tmpl;
		out[r].team = &tm;
		out[r].rank = r;
		if (tmpl->stop_at && r != k - 1) out[r].stop_at = 0; /* only the last one asks */
		assert_int_equal(pthread_create(&th[r], NULL, run_member, &out[r]), 0);
	}
	for (int r = 0; r < k; r++) pthread_join(th[r], NULL);
	pthread_barrier_destroy(&tm.bar);
	for (int r = 0; r < k; r++) {
		assert_non_null(out[r].params);
		assert_int_equal(out[r].last, out[0].last);
		assert_memory_equal(out[r].params, out[0].params, out[0].np * sizeof(float));
		assert_non_null(out[r].state);
		assert_int_equal(out[r].ns, out[0].ns);
		assert_memory_equal(out[r].state, out[0].state, out[0].ns * sizeof(float));
	}
}

static struct cn_train_opts sgd_opts(int32_t batch, int32_t epochs)
{
	struct cn_train_opts o = cn_train_opts_default();
	o.epochs = epochs;
	o.batch = batch;
	o.seed = 7;
	o.optim.kind = CN_OPTIM_SGD;
	o.sched = (struct cn_sched){.kind = CN_SCHED_CONST, .lr = 0.05f};
	return o;
}

static void free_team(struct member *m, int k)
{
	for (int r = 0; r < (k ? k : 1); r++) free(m[r].params), free(m[r].state);
}

/* K members against one trainer alone: same weights up to reassociation, same test figures. */
static void members_match_one_trainer(void **state)
{
	(void)state;
	struct cn_dataset *train = make_data(1, COUNT), *test = make_data(2, 101);
	/* batch 32: 8 steps with a short last one; batch 7 with K 3: slices of 2, 2, 3, and the
	 * last batch (240 = 34 * 7 + 2) leaves member 0 empty; batch 2 with K 4: two empty */
	const struct {
		int32_t batch;
		int k;
	} cases[] = {{32, 2}, {32, 3}, {7, 3}, {2, 4}, {32, 1}};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct member tmpl = {
		    .train = train, .test = test, .opts = sgd_opts(cases[c].batch, 2)};
		struct member ref[1], team[MAX_K];
		run_team(0, &tmpl, ref);
		assert_int_equal(ref[0].last, CN_OK);
		run_team(cases[c].k, &tmpl, team);
		assert_int_equal(team[0].last, CN_OK);
		char cfg[64];
		snprintf(cfg, sizeof(cfg), "batch %d, %d members", cases[c].batch, cases[c].k);
		double e = tu_check_close("weights", team[0].params, ref[0].params, ref[0].np,
		                          REL_TOL, cfg);
		printf("# %s: largest relative weight difference %.2e\n", cfg, e);
		for (int r = 0; r < cases[c].k; r++) {
			assert_true(team[r].test_acc == ref[0].test_acc);
			assert_float_equal(team[r].test_loss, ref[0].test_loss, 1e-5);
		}
		free_team(ref, 0);
		free_team(team, cases[c].k);
	}
	cn_dataset_free(train);
	cn_dataset_free(test);
}

/* A stop asked by one member stops all at the same step; the checkpoint resumes alone. */
static void group_checkpoint_resumes_alone_and_back(void **state)
{
	(void)state;
	struct cn_dataset *train = make_data(3, COUNT);
	char dir[] = "/tmp/cn_group_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char a[64], b[64];
	snprintf(a, sizeof(a), "%s/a.ckpt", dir);
	snprintf(b, sizeof(b), "%s/b.ckpt", dir);
	struct member tmpl = {.train = train, .opts = sgd_opts(16, 2)};
	struct member ref[1], team[MAX_K], solo[1];
	run_team(0, &tmpl, ref);

	/* 2 members, stopped by member 1 in epoch 1 after 5 steps; resumed by one trainer */
	struct member stop = tmpl;
	stop.stop_at = 5;
	stop.save = a;
	run_team(2, &stop, team);
	assert_int_equal(team[0].last, CN_ERR_STOPPED);
	struct member res = {.train = train, .resume = a};
	run_team(0, &res, solo);
	assert_int_equal(solo[0].last, CN_OK);
	tu_check_close("2 members then 1", solo[0].params, ref[0].params, ref[0].np, REL_TOL,
	               "stopped after 5 steps");
	free_team(team, 2);
	free_team(solo, 0);

	/* one trainer stopped after 20 steps (in epoch 2); resumed by 3 members */
	stop.stop_at = 20;
	stop.save = b;
	run_team(0, &stop, solo);
	assert_int_equal(solo[0].last, CN_ERR_STOPPED);
	res.resume = b;
	run_team(3, &res, team);
	assert_int_equal(team[0].last, CN_OK);
	tu_check_close("1 then 3 members", team[0].params, ref[0].params, ref[0].np, REL_TOL,
	               "stopped after 20 steps");
	free_team(team, 3);
	free_team(solo, 0);
	free_team(ref, 0);
	tu_rm_rf(dir);
	cn_dataset_free(train);
}

/*
 * Batch norm normalizes each member's own slice (statistics per member, as DDP by default), so
 * a group does not repeat one trainer; but the running statistics are averaged at every
 * epoch's end and stop, so all members (and whatever rank 0 saves) hold the same ones: run_team
 * asserts the members' statistics bit-identical. Without the averaging they differ.
 */
static void batchnorm_statistics_agree_across_members(void **state)
{
	(void)state;
	struct cn_dataset *train = make_data(1, COUNT), *test = make_data(2, 101);
	struct member tmpl = {.train = train,
	                      .test = test,
	                      .opts = sgd_opts(32, 2),
	                      .spec =
	                          "conv 4 k3 p1 nobias | batchnorm relu | maxpool 2 | linear 4"};
	struct member team[MAX_K];
	run_team(3, &tmpl, team);
	assert_int_equal(team[0].last, CN_OK);
	assert_int_equal(team[0].ns, 8); /* running mean and variance of 4 channels */
	for (size_t i = 0; i < team[0].ns; i++) assert_true(team[0].state[i] == team[0].state[i]);
	assert_true(team[0].state[4] != 1.0f); /* the variances moved from their start */
	free_team(team, 3);
	cn_dataset_free(train);
	cn_dataset_free(test);
}

static void bad_groups_are_refused(void **state)
{
	(void)state;
	struct cn_net *net;
	struct cn_trainer *t;
	char err[CN_ERR_LEN];
	struct cn_train_opts o = sgd_opts(8, 1);
	assert_int_equal(cn_net_create(&net, SPEC, (struct cn_shape){1, SIDE, SIDE}, 3, err),
	                 CN_OK);
	assert_int_equal(cn_trainer_create(&t, net, &o, err), CN_OK);
	struct cn_group g = {2, 2, team_reduce, NULL};
	assert_int_equal(cn_trainer_set_group(t, &g), CN_ERR_ARG);
	g = (struct cn_group){0, 2, NULL, NULL};
	assert_int_equal(cn_trainer_set_group(t, &g), CN_ERR_ARG);
	assert_non_null(strstr(cn_trainer_error(t), "rank"));
	assert_int_equal(cn_trainer_set_group(t, NULL), CN_OK);
	cn_trainer_free(t);
	cn_net_free(net);
}

int main(void)
{
	cn_set_blas_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(members_match_one_trainer),
	    cmocka_unit_test(group_checkpoint_resumes_alone_and_back),
	    cmocka_unit_test(batchnorm_statistics_agree_across_members),
	    cmocka_unit_test(bad_groups_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
