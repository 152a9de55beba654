/* Training options and positions: defaults and checks, no behaviour (train_opts.h says why). */
#include <math.h>

#include "error.h"
#include "train_opts.h"
#include "util.h"

struct cn_optim_opts cn_optim_opts_default(void)
{
	return (struct cn_optim_opts){.kind = CN_OPTIM_SGD,
	                              .lr = 0.01f,
	                              .momentum = 0.9f,
	                              .beta1 = 0.9f,
	                              .beta2 = 0.999f,
	                              .eps = 1e-8f,
	                              .weight_decay = 0.0f,
	                              .clip_norm = 0.0f};
}

struct cn_train_opts cn_train_opts_default(void)
{
	struct cn_train_opts o = {
	    .epochs = 10,
	    .batch = 100,
	    .seed = 1,
	    .optim = cn_optim_opts_default(),
	    .sched = {.kind = CN_SCHED_CONST, .lr = 0.001f, .step_epochs = 1, .gamma = 1.0f},
	    .init = CN_INIT_DEFAULT,
	};
	o.optim.kind = CN_OPTIM_ADAM;
	o.optim.lr = 0.001f;
	return o;
}

enum cn_status cn_train_opts_check(const struct cn_train_opts *o, char *err)
{
	if (o->epochs < 1 || o->epochs > 1000000)
		return cn_err_set(err, CN_ERR_ARG, "epochs %d must be in 1..1000000", o->epochs);
	if (o->batch < 1 || o->batch > 1000000)
		return cn_err_set(err, CN_ERR_ARG, "batch %d must be in 1..1000000", o->batch);
	const struct cn_sched *s = &o->sched;
	if ((unsigned)s->kind > CN_SCHED_LINEAR)
		return cn_err_set(err, CN_ERR_ARG, "unknown schedule %d", (int)s->kind);
	if (!(s->lr > 0 && isfinite(s->lr)))
		return cn_err_set(err, CN_ERR_ARG, "learning rate %g must be positive and finite",
		                  (double)s->lr);
	if (s->kind == CN_SCHED_STEP && (s->step_epochs < 1 || !(s->gamma > 0 && s->gamma <= 1)))
		return cn_err_set(
		    err, CN_ERR_ARG,
		    "step schedule needs step_epochs >= 1 (got %d) and gamma in (0, 1] "
		    "(got %g)",
		    s->step_epochs, (double)s->gamma);
	if (s->kind == CN_SCHED_COSINE &&
	    (s->epochs < 1 || !(s->lr_min >= 0 && s->lr_min <= s->lr)))
		return cn_err_set(
		    err, CN_ERR_ARG,
		    "cosine schedule needs epochs >= 1 (got %d) and 0 <= lr_min <= lr", s->epochs);
	return CN_OK;
}

bool cn_train_opts_finite(const struct cn_train_opts *p)
{
	const struct cn_optim_opts *q = &p->optim;
	const float f[] = {q->lr,          q->momentum,     q->beta1,     q->beta2,
	                   q->eps,         q->weight_decay, q->clip_norm, p->sched.lr,
	                   p->sched.gamma, p->sched.lr_min};
	for (size_t i = 0; i < CN_LEN(f); i++)
		if (!isfinite(f[i])) return false;
	return true;
}

bool cn_train_pos_ok(const struct cn_train_pos *p, int32_t batch)
{
	if (batch < 1 || p->count < 1 || p->step < 1) return false;
	int64_t steps = ((int64_t)p->count + batch - 1) / batch;
	int64_t done = (int64_t)p->step * batch < p->count ? (int64_t)p->step * batch : p->count;
	/* a finished epoch is saved as kind 1; counts cannot exceed the images done */
	return p->step < steps && p->skipped >= 0 && p->skipped <= p->step && p->seen >= 0 &&
	       p->seen <= done && p->right >= 0 && p->right <= p->seen && isfinite(p->loss_sum) &&
	       p->loss_sum >= 0 && isfinite(p->seconds) && p->seconds >= 0;
}
