/*
 * The speed-run recipe's additions to the epoch loop, kept out of train.c so its hooks stay
 * one line each: augmentation of every gathered batch and an exponential moving average of
 * the weights. Both are planned (their memory reserved) when the trainer is created.
 *
 * The average follows timm's ModelEmaV2 with its warm-up: after update u (0-based),
 *   ema = d*ema + (1 - d)*w,  d = min(ema_decay, (1 + u) / (10 + u)),
 * over the parameters and batchnorm's running statistics alike (so an averaged net is
 * evaluated with statistics that belong to averaged weights, not to the last ones).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "train.h"
#include "util.h"

enum cn_status cn_train_recipe_check(const struct cn_train_opts *o, char *err)
{
	enum cn_status st = cn_augment_check(&o->augment, err);
	if (st) return st;
	if (!(o->label_smoothing >= 0 && o->label_smoothing < 1))
		return cn_err_set(err, CN_ERR_ARG, "label smoothing %g must be in [0, 1)",
		                  (double)o->label_smoothing);
	if (!(o->ema_decay >= 0 && o->ema_decay < 1))
		return cn_err_set(err, CN_ERR_ARG, "EMA decay %g must be in [0, 1)",
		                  (double)o->ema_decay);
	const struct cn_sched *s = &o->sched;
	if (!(s->warmup >= 0 && s->warmup <= 1e6f))
		return cn_err_set(err, CN_ERR_ARG, "warm-up %g epochs must be in [0, 1e6]",
		                  (double)s->warmup);
	if (!(s->peak >= 0 && s->peak < 1))
		return cn_err_set(err, CN_ERR_ARG, "one-cycle peak %g must be in [0, 1)",
		                  (double)s->peak);
	if ((s->kind == CN_SCHED_ONECYCLE || s->kind == CN_SCHED_LINEAR) &&
	    (s->epochs < 1 || !(s->lr_min >= 0 && s->lr_min <= s->lr)))
		return cn_err_set(err, CN_ERR_ARG,
		                  "%s schedule needs epochs >= 1 (got %d) and 0 <= lr_min <= lr",
		                  s->kind == CN_SCHED_LINEAR ? "linear" : "one-cycle", s->epochs);
	return CN_OK;
}

/* The largest team an OpenMP loop in this process may get (1 without OpenMP). */
static int max_threads(void)
{
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}

enum cn_status cn_trainer_recipe_plan(struct cn_trainer *t, char *err)
{
	if (cn_augment_on(&t->opts.augment)) {
		t->aug_len = cn_augment_scratch_len(cn_net_input_shape(t->net), max_threads());
		if (!t->aug_len || !(t->aug_scratch = malloc(t->aug_len * sizeof(float))))
			return cn_err_set(err, CN_ERR_NOMEM, "no memory for augmentation scratch");
	}
	if (t->opts.ema_decay > 0) {
		size_t np = cn_net_param_count(t->net), ns = cn_net_state_count(t->net);
		if (!(t->ema = malloc((np + ns) * sizeof(float))))
			return cn_err_set(err, CN_ERR_NOMEM, "no memory for the weight average");
		memcpy(t->ema, cn_net_params(t->net), np * sizeof(float));
		if (ns) memcpy(t->ema + np, cn_net_state(t->net), ns * sizeof(float));
	}
	return CN_OK;
}

void cn_trainer_recipe_free(struct cn_trainer *t)
{
	free(t->aug_scratch);
	free(t->ema);
}

void cn_trainer_augment(struct cn_trainer *t, int32_t epoch, int64_t first, int32_t n)
{
	if (!t->aug_len) return;
	/* one stream per (run seed, epoch); image k of the epoch is its element k */
	uint64_t key = t->opts.seed * 0x9e3779b97f4a7c15ull + (uint64_t)epoch;
	cn_augment_batch(&t->opts.augment, cn_net_input_shape(t->net), cn_net_input(t->net), n, key,
	                 first, t->aug_scratch, t->aug_len);
}

/* ema = d*ema + (1 - d)*w, element-wise (the same bits on any thread count). */
CN_CLONES static void blend(size_t n, float *restrict ema, const float *restrict w, float d)
{
	float a = 1.0f - d;
	for (size_t i = 0; i < n; i++) ema[i] = d * ema[i] + a * w[i];
}

void cn_trainer_ema_update(struct cn_trainer *t)
{
	if (!t->ema) return;
	double u = (double)t->ema_updates;
	float d = (float)fmin((double)t->opts.ema_decay, (1.0 + u) / (10.0 + u));
	size_t np = cn_net_param_count(t->net), ns = cn_net_state_count(t->net);
	blend(np, t->ema, cn_net_params(t->net), d);
	if (ns) blend(ns, t->ema + np, cn_net_state(t->net), d);
	t->ema_updates++;
}

static void swap(float *a, float *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float x = a[i];
		a[i] = b[i];
		b[i] = x;
	}
}

enum cn_status cn_trainer_use_ema(struct cn_trainer *t, int on)
{
	if (!t) return CN_ERR_ARG;
	if (!t->ema)
		return cn_err_set(t->err, CN_ERR_STATE,
		                  "the trainer keeps no weight average "
		                  "(ema_decay is 0)");
	if ((on != 0) == t->ema_in_net) return CN_OK;
	size_t np = cn_net_param_count(t->net), ns = cn_net_state_count(t->net);
	swap(cn_net_params(t->net), t->ema, np);
	if (ns) swap(cn_net_state(t->net), t->ema + np, ns);
	t->ema_in_net = on != 0;
	return CN_OK;
}

const float *cn_trainer_ema(const struct cn_trainer *t)
{
	return t && t->ema && !t->ema_in_net ? t->ema : NULL;
}
