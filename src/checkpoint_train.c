/*
 * The training section of a checkpoint (checkpoint.c describes the whole file): epochs done,
 * the shuffling generator, the options, the optimizer's step count and state, and for kind 2
 * where a stopped epoch stood, so a resume finishes it exactly as an uninterrupted run would
 * have. The epoch's order is not stored: the generator saved is the one from before the
 * epoch's shuffle, and the trainer shuffles again from it. The options' fields are listed
 * once, in file order, for the writer and the reader alike.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "checkpoint_parse.h"
#include "error.h"
#include "finite.h"
#include "util.h"

/* Floats of optimizer state kind k keeps for n parameters. */
static size_t state_len(uint32_t k, size_t n)
{
	return k == CN_OPTIM_ADAM ? 2 * n : k == CN_OPTIM_SGD ? 0 : n;
}

/* The options as stored: a 4-byte field (i32, u32 or f32 alike) or an 8-byte u64. */
#define OPT(field, bytes)                                                                          \
	{                                                                                          \
		offsetof(struct cn_train_opts, field), bytes                                       \
	}
static const struct {
	size_t off, bytes;
} opt_fields[] = {
    OPT(epochs, 4),
    OPT(batch, 4),
    OPT(seed, 8),
    OPT(optim.kind, 4),
    OPT(optim.lr, 4),
    OPT(optim.momentum, 4),
    OPT(optim.beta1, 4),
    OPT(optim.beta2, 4),
    OPT(optim.eps, 4),
    OPT(optim.weight_decay, 4),
    OPT(optim.clip_norm, 4),
    OPT(sched.kind, 4),
    OPT(sched.lr, 4),
    OPT(sched.step_epochs, 4),
    OPT(sched.gamma, 4),
    OPT(sched.epochs, 4),
    OPT(sched.lr_min, 4),
};
_Static_assert(sizeof(enum cn_optim_kind) == 4 && sizeof(enum cn_sched_kind) == 4,
               "option kinds are stored as u32");

static void put_f64(struct cn_bytes_out *o, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	cn_bytes_put_u64(o, u);
}

static bool take_f64(struct cn_bytes_in *in, double *v)
{
	uint64_t u;
	if (!cn_bytes_take_u64(in, &u)) return false;
	memcpy(v, &u, 8);
	return true;
}

bool cn_checkpoint_train_ok(const struct cn_checkpoint_train *t, size_t n_params)
{
	return (unsigned)t->opts.optim.kind <= CN_OPTIM_ADAM &&
	       t->optim_state_len == state_len(t->opts.optim.kind, n_params) &&
	       (!t->optim_state_len || t->optim_state) && t->epochs_done >= 0 &&
	       t->optim_steps >= 0 && t->opts.epochs >= 1 && t->opts.batch >= 1 &&
	       cn_train_opts_finite(&t->opts) &&
	       (t->rng.s[0] | t->rng.s[1] | t->rng.s[2] | t->rng.s[3]) &&
	       (!t->pos.step || cn_train_pos_ok(&t->pos, t->opts.batch));
}

void cn_checkpoint_put_train(struct cn_bytes_out *o, const struct cn_checkpoint_train *t)
{
	cn_bytes_put_u32(o, (uint32_t)t->epochs_done);
	for (int i = 0; i < 4; i++) cn_bytes_put_u64(o, t->rng.s[i]);
	for (size_t i = 0; i < CN_LEN(opt_fields); i++) {
		const char *f = (const char *)&t->opts + opt_fields[i].off;
		uint32_t u32;
		uint64_t u64;
		if (opt_fields[i].bytes == 8)
			memcpy(&u64, f, 8), cn_bytes_put_u64(o, u64);
		else
			memcpy(&u32, f, 4), cn_bytes_put_u32(o, u32);
	}
	cn_bytes_put_u64(o, (uint64_t)t->optim_steps);
	cn_bytes_put_u64(o, t->optim_state_len);
	cn_bytes_put_f32s(o, t->optim_state, t->optim_state_len);
	if (!t->pos.step) return;
	const struct cn_train_pos *p = &t->pos;
	cn_bytes_put_u32(o, (uint32_t)p->step);
	cn_bytes_put_u32(o, (uint32_t)p->count);
	cn_bytes_put_u32(o, (uint32_t)p->seen);
	cn_bytes_put_u32(o, (uint32_t)p->skipped);
	put_f64(o, p->loss_sum);
	cn_bytes_put_u64(o, (uint64_t)p->right);
	put_f64(o, p->seconds);
}

/* The kind-2 position, checked against the run's batch size. */
static enum cn_status take_pos(struct cn_bytes_in *in, int32_t batch, const char *nm,
                               struct cn_train_pos *p, char *err)
{
	uint64_t right;
	if (!cn_bytes_take_i32(in, &p->step) || !cn_bytes_take_i32(in, &p->count) ||
	    !cn_bytes_take_i32(in, &p->seen) || !cn_bytes_take_i32(in, &p->skipped) ||
	    !take_f64(in, &p->loss_sum) || !cn_bytes_take_u64(in, &right) ||
	    !take_f64(in, &p->seconds))
		return cn_err_set(err, CN_ERR_FORMAT,
		                  "%s: truncated in the stopped epoch's position", nm);
	p->right = right <= INT64_MAX ? (int64_t)right : -1;
	if (!cn_train_pos_ok(p, batch))
		return cn_err_set(
		    err, CN_ERR_FORMAT,
		    "%s: stopped epoch's position is impossible (batch %d of %d images "
		    "at batch size %d, %d counted, %d skipped)",
		    nm, p->step, p->count, batch, p->seen, p->skipped);
	return CN_OK;
}

/* Options lo..hi-1 of opt_fields, in file order; false if the bytes run out. */
static bool take_opts(struct cn_bytes_in *r, struct cn_train_opts *p, size_t lo, size_t hi)
{
	for (size_t i = lo; i < hi; i++) {
		char *f = (char *)p + opt_fields[i].off;
		uint32_t u32;
		uint64_t u64;
		if (opt_fields[i].bytes == 8) {
			if (!cn_bytes_take_u64(r, &u64)) return false;
			memcpy(f, &u64, 8);
		} else {
			if (!cn_bytes_take_u32(r, &u32)) return false;
			memcpy(f, &u32, 4);
		}
	}
	return true;
}

enum cn_status cn_checkpoint_take_train(struct cn_bytes_in *r, uint32_t kind, size_t n_params,
                                        const char *nm, struct cn_checkpoint_train *t, char *err)
{
	enum cn_status st = CN_OK;
	struct cn_train_opts *p = &t->opts;
	uint64_t steps, m;
	*p = cn_train_opts_default(); /* init and init_scale are not stored */
	NEED(cn_bytes_take_i32(r, &t->epochs_done), "epochs done");
	for (int i = 0; i < 4; i++) NEED(cn_bytes_take_u64(r, &t->rng.s[i]), "generator state");
	NEED(take_opts(r, p, 0, 3), "options");
	NEED(take_opts(r, p, 3, 11), "optimizer options");
	NEED(take_opts(r, p, 11, CN_LEN(opt_fields)), "schedule");
	NEED(cn_bytes_take_u64(r, &steps) && cn_bytes_take_u64(r, &m), "optimizer state");
	uint32_t qk = (uint32_t)p->optim.kind, sk = (uint32_t)p->sched.kind;
	if (qk > CN_OPTIM_ADAM) BAD("%s: optimizer kind %u is unknown", nm, qk);
	if (sk > CN_SCHED_LINEAR) BAD("%s: schedule kind %u is unknown", nm, sk);
	if (!cn_train_opts_finite(p)) BAD("%s: training options hold NaN or Inf", nm);
	if (t->epochs_done < 0 || p->epochs < 1 || p->batch < 1 || steps > INT64_MAX)
		BAD("%s: training counters out of range (epochs done %d, epochs %d, batch %d)", nm,
		    t->epochs_done, p->epochs, p->batch);
	if (!(t->rng.s[0] | t->rng.s[1] | t->rng.s[2] | t->rng.s[3]))
		BAD("%s: generator state is all zero", nm);
	t->optim_steps = (int64_t)steps;
	if (m != state_len(qk, n_params))
		BAD("%s: optimizer state has %llu values, expected %zu", nm, (unsigned long long)m,
		    state_len(qk, n_params));
	NEED(m <= r->left / 4, "optimizer state"); /* so the allocation is backed by the file */
	t->optim_state_len = (size_t)m;
	if (m && !(t->optim_state = malloc((size_t)m * sizeof(float))))
		return cn_err_set(err, CN_ERR_NOMEM, "%s: no memory for optimizer state", nm);
	cn_bytes_take_f32s(r, t->optim_state, t->optim_state_len);
	size_t bad = cn_first_nonfinite(t->optim_state, t->optim_state_len);
	if (bad < t->optim_state_len)
		BAD("%s: optimizer state %zu is %g", nm, bad, (double)t->optim_state[bad]);
	if (kind == 2 && (st = take_pos(r, p->batch, nm, &t->pos, err))) goto fail;
	return CN_OK;
fail:
	free(t->optim_state);
	t->optim_state = NULL;
	return st;
}
