/*
 * Lowering of a chunk of n NHWC images to the column matrix and back.
 *   col[(i*ho + oy)*wo + ox, (ky*kw + kx)*ci + c] = x[i, oy*sh - ph + ky, ox*sw - pw + kx, c]
 * (zero where the index falls in the padding). col2im is its exact adjoint: it overwrites x
 * with zero and then adds every column entry back to the pixel it came from, so
 * <im2col(x), c> = <x, col2im(c)>.
 */
#ifndef CN_IM2COL_H
#define CN_IM2COL_H

#include <stdint.h>

#include "geom.h"

/* x: [N, HI, WI, CI] -> col: [N*HO*WO, KH*KW*CI] */
void cn_im2col(const struct cn_geom *g, int32_t n, const float *x, float *col);

/* col: [N*HO*WO, KH*KW*CI] -> x: [N, HI, WI, CI] (overwritten, not accumulated) */
void cn_col2im(const struct cn_geom *g, int32_t n, const float *col, float *x);

#endif
