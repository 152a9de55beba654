/*
 * Geometry of a sliding window (convolution or pooling) over an NHWC image: kernel, stride,
 * zero padding per axis, input size, and the output size. cn_geom_init is the single place the
 * output-size formula lives and where impossible shapes are refused.
 */
#ifndef CN_GEOM_H
#define CN_GEOM_H

#include <stddef.h>
#include <stdint.h>

#include "colnet.h"

struct cn_geom {
	int32_t kh, kw;     /* kernel */
	int32_t sh, sw;     /* stride */
	int32_t ph, pw;     /* zero padding, each side */
	int32_t hi, wi, ci; /* input image */
	int32_t ho, wo;     /* output image: (hi + 2ph - kh) / sh + 1 */
};

/*
 * Fill g, or refuse with a message in err (CN_ERR_LEN bytes, may be NULL) naming the numbers:
 * non-positive sizes, stride 0, negative padding, padding >= kernel, kernel larger than the
 * padded input, or a lowered row (kh*kw*ci) or image (ho*wo) too large for a BLAS int.
 */
enum cn_status cn_geom_init(struct cn_geom *g, int32_t hi, int32_t wi, int32_t ci, int32_t kh,
                            int32_t kw, int32_t sh, int32_t sw, int32_t ph, int32_t pw, char *err);

/* Columns of the lowered matrix: kh*kw*ci. */
static inline size_t cn_geom_patch_len(const struct cn_geom *g)
{
	return (size_t)g->kh * (size_t)g->kw * (size_t)g->ci;
}

/* Rows of the lowered matrix per image: ho*wo. */
static inline size_t cn_geom_out_pixels(const struct cn_geom *g)
{
	return (size_t)g->ho * (size_t)g->wo;
}

#endif
