/*
 * The section a kind-2 checkpoint adds (checkpoint.c describes the whole file): where a
 * training epoch stood when the caller stopped it, so a resume finishes that epoch exactly as
 * an uninterrupted run would have. The epoch's order is not stored: the file's generator is
 * the one from before the epoch's shuffle, and the trainer shuffles again from it.
 */
#include <math.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"

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

void cn_ckpt_put_pos(struct cn_bytes_out *o, const struct cn_train_pos *p)
{
	cn_bytes_put_u32(o, (uint32_t)p->step);
	cn_bytes_put_u32(o, (uint32_t)p->count);
	cn_bytes_put_u32(o, (uint32_t)p->seen);
	cn_bytes_put_u32(o, (uint32_t)p->skipped);
	put_f64(o, p->loss_sum);
	cn_bytes_put_u64(o, (uint64_t)p->right);
	put_f64(o, p->seconds);
}

bool cn_ckpt_pos_ok(const struct cn_train_pos *p, int32_t batch)
{
	if (batch < 1 || p->count < 1 || p->step < 1) return false;
	int64_t steps = ((int64_t)p->count + batch - 1) / batch;
	int64_t done = (int64_t)p->step * batch < p->count ? (int64_t)p->step * batch : p->count;
	/* a finished epoch is saved as kind 1; counts cannot exceed the images done */
	return p->step < steps && p->skipped >= 0 && p->skipped <= p->step && p->seen >= 0 &&
	       p->seen <= done && p->right >= 0 && p->right <= p->seen && isfinite(p->loss_sum) &&
	       p->loss_sum >= 0 && isfinite(p->seconds) && p->seconds >= 0;
}

enum cn_status cn_ckpt_take_pos(struct cn_bytes_in *in, int32_t batch, const char *nm,
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
	if (!cn_ckpt_pos_ok(p, batch))
		return cn_err_set(
		    err, CN_ERR_FORMAT,
		    "%s: stopped epoch's position is impossible (batch %d of %d images "
		    "at batch size %d, %d counted, %d skipped)",
		    nm, p->step, p->count, batch, p->seen, p->skipped);
	return CN_OK;
}
