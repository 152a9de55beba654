/*
 * The section version 4 of the checkpoint format adds (checkpoint.c describes the whole
 * file), written only by training runs that use a recipe option, so every other file keeps
 * the bytes older builds read:
 *   4       u32 nesterov (0 or 1)
 *   16      f32 warmup, one-cycle peak, label smoothing, EMA decay
 *   20      i32 shift, f32 rotate, scale, elastic alpha, elastic sigma
 *   with EMA decay > 0:
 *   8       u64 updates folded into the average so far
 *   8 + 4v  u64 v (= parameters + batchnorm state values), f32 trained[v]
 * The file's model blocks then hold the average, so a model-only reader (cn_net_load,
 * `colnet eval`) gets the averaged net, and a resume gets the trained one back from here.
 * The reader checks every option's range, the count against the spec and every value.
 */
#include <math.h>
#include <stdlib.h>

#include "checkpoint.h"
#include "error.h"
#include "finite.h"

bool cn_checkpoint_has_recipe(const struct cn_train_opts *o)
{
	return o->optim.nesterov || o->sched.warmup != 0 || o->sched.peak != 0 ||
	       o->label_smoothing != 0 || o->ema_decay != 0 || cn_augment_on(&o->augment) ||
	       o->sched.kind == CN_SCHED_ONECYCLE || o->sched.kind == CN_SCHED_LINEAR;
}

enum cn_status cn_checkpoint_recipe_ok(const struct cn_checkpoint_train *t, size_t np, size_t ns,
                                       const char *nm, char *err)
{
	if (!(t->opts.ema_decay > 0)) return CN_OK;
	if (!t->avg_params || !t->trained_params || (ns && (!t->avg_state || !t->trained_state)))
		return cn_err_set(err, CN_ERR_ARG, "%s: the weight average is missing", nm);
	if (cn_first_nonfinite(t->avg_params, np) < np ||
	    cn_first_nonfinite(t->trained_params, np) < np ||
	    cn_first_nonfinite(t->avg_state, ns) < ns ||
	    cn_first_nonfinite(t->trained_state, ns) < ns)
		return cn_err_set(err, CN_ERR_NUMERIC,
		                  "%s: not saved: the weight average or the trained weights are "
		                  "not finite",
		                  nm);
	return CN_OK;
}

void cn_checkpoint_put_recipe(struct cn_bytes_out *o, const struct cn_checkpoint_train *t,
                              size_t n_params, size_t n_state)
{
	const struct cn_train_opts *p = &t->opts;
	const struct cn_augment *a = &p->augment;
	cn_bytes_put_u32(o, p->optim.nesterov ? 1u : 0u);
	cn_bytes_put_f32(o, p->sched.warmup);
	cn_bytes_put_f32(o, p->sched.peak);
	cn_bytes_put_f32(o, p->label_smoothing);
	cn_bytes_put_f32(o, p->ema_decay);
	cn_bytes_put_u32(o, (uint32_t)a->shift);
	cn_bytes_put_f32(o, a->rotate);
	cn_bytes_put_f32(o, a->scale);
	cn_bytes_put_f32(o, a->elastic_alpha);
	cn_bytes_put_f32(o, a->elastic_sigma);
	if (!(p->ema_decay > 0)) return;
	cn_bytes_put_u64(o, (uint64_t)t->ema_updates);
	cn_bytes_put_u64(o, n_params + n_state);
	cn_bytes_put_f32s(o, t->trained_params, n_params);
	cn_bytes_put_f32s(o, t->trained_state, n_state);
}

enum cn_status cn_checkpoint_take_recipe(struct cn_bytes_in *r, struct cn_checkpoint_train *t,
                                         size_t n_values, const char *nm, char *err)
{
	struct cn_train_opts *p = &t->opts;
	struct cn_augment *a = &p->augment;
	uint32_t nesterov;
	if (!cn_bytes_take_u32(r, &nesterov) || !cn_bytes_take_f32(r, &p->sched.warmup) ||
	    !cn_bytes_take_f32(r, &p->sched.peak) || !cn_bytes_take_f32(r, &p->label_smoothing) ||
	    !cn_bytes_take_f32(r, &p->ema_decay) || !cn_bytes_take_i32(r, &a->shift) ||
	    !cn_bytes_take_f32(r, &a->rotate) || !cn_bytes_take_f32(r, &a->scale) ||
	    !cn_bytes_take_f32(r, &a->elastic_alpha) || !cn_bytes_take_f32(r, &a->elastic_sigma))
		return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in the recipe options", nm);
	char why[CN_ERR_LEN];
	if (nesterov > 1)
		return cn_err_set(err, CN_ERR_FORMAT, "%s: nesterov flag %u", nm, nesterov);
	p->optim.nesterov = (int)nesterov;
	if (cn_augment_check(a, why)) return cn_err_set(err, CN_ERR_FORMAT, "%s: %s", nm, why);
	if (!(p->sched.warmup >= 0 && p->sched.warmup <= 1e6f) ||
	    !(p->sched.peak >= 0 && p->sched.peak < 1) ||
	    !(p->label_smoothing >= 0 && p->label_smoothing < 1) ||
	    !(p->ema_decay >= 0 && p->ema_decay < 1))
		return cn_err_set(err, CN_ERR_FORMAT,
		                  "%s: a recipe option is out of range (warm-up %g, peak %g, label "
		                  "smoothing %g, EMA decay %g)",
		                  nm, (double)p->sched.warmup, (double)p->sched.peak,
		                  (double)p->label_smoothing, (double)p->ema_decay);
	if (!(p->ema_decay > 0)) return CN_OK;
	uint64_t updates, v;
	if (!cn_bytes_take_u64(r, &updates) || !cn_bytes_take_u64(r, &v))
		return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in the weight average", nm);
	if (updates > INT64_MAX || v != n_values)
		return cn_err_set(err, CN_ERR_FORMAT,
		                  "%s: the trained weights hold %llu values, the spec has %zu", nm,
		                  (unsigned long long)v, n_values);
	if (v > r->left / 4)
		return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in the trained weights", nm);
	if (!(t->trained = malloc((v ? v : 1) * sizeof(float))))
		return cn_err_set(err, CN_ERR_NOMEM, "%s: no memory for the trained weights", nm);
	cn_bytes_take_f32s(r, t->trained, n_values);
	for (size_t i = 0; i < n_values; i++)
		if (!isfinite(t->trained[i]))
			return cn_err_set(err, CN_ERR_FORMAT, "%s: trained weight %zu is %g", nm, i,
			                  (double)t->trained[i]);
	t->ema_updates = (int64_t)updates;
	return CN_OK;
}
