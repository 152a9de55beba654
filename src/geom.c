/*
 * Sliding-window geometry: the one place the output-size formula lives,
 *   ho = (hi + 2*ph - kh) / sh + 1   (floor; likewise wo),
 * and the one place impossible windows are refused, with the numbers in the message.
 */
#include <limits.h>

#include "error.h"
#include "geom.h"

enum cn_status cn_geom_init(struct cn_geom *g, int32_t hi, int32_t wi, int32_t ci, int32_t kh,
                            int32_t kw, int32_t sh, int32_t sw, int32_t ph, int32_t pw, char *err)
{
	if (hi <= 0 || wi <= 0 || ci <= 0)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "input %dx%dx%d (HxWxC) has a zero or negative size", hi, wi, ci);
	if (kh <= 0 || kw <= 0)
		return cn_err_set(err, CN_ERR_SHAPE, "kernel %dx%d must be at least 1x1", kh, kw);
	if (sh <= 0 || sw <= 0)
		return cn_err_set(err, CN_ERR_SHAPE, "stride %dx%d must be at least 1x1", sh, sw);
	if (ph < 0 || pw < 0)
		return cn_err_set(err, CN_ERR_SHAPE, "padding %dx%d must not be negative", ph, pw);
	/* A window lying wholly in the padding would see only zeros (or nothing, for max). */
	if (ph >= kh || pw >= kw)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "padding %dx%d must be smaller than kernel %dx%d", ph, pw, kh,
		                  kw);
	/* in two steps: each factor can be near 2^31, the product of three overflows 64 bits */
	if ((int64_t)hi * wi > INT32_MAX || (int64_t)hi * wi * ci > INT32_MAX)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "input %dx%dx%d (HxWxC) has over 2^31 elements", hi, wi, ci);
	int64_t hp = (int64_t)hi + 2 * (int64_t)ph, wp = (int64_t)wi + 2 * (int64_t)pw;
	if (kh > hp || kw > wp)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "kernel %dx%d larger than padded input %lldx%lld", kh, kw,
		                  (long long)hp, (long long)wp);
	int64_t ho = (hp - kh) / sh + 1, wo = (wp - kw) / sw + 1;
	/* BLAS dimensions are int: a lowered row and an image's rows must fit. */
	if ((int64_t)kh * kw > INT_MAX || (int64_t)kh * kw * ci > INT_MAX || ho * wo > INT_MAX)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "window %dx%dx%d over output %lldx%lld is too large for BLAS", kh,
		                  kw, ci, (long long)ho, (long long)wo);
	*g = (struct cn_geom){.kh = kh,
	                      .kw = kw,
	                      .sh = sh,
	                      .sw = sw,
	                      .ph = ph,
	                      .pw = pw,
	                      .hi = hi,
	                      .wi = wi,
	                      .ci = ci,
	                      .ho = (int32_t)ho,
	                      .wo = (int32_t)wo};
	return CN_OK;
}
