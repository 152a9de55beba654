/*
 * Lowering of a chunk of n NHWC images to the column matrix and back.
 *   col[(i*ho + oy)*wo + ox, (ky*kw + kx)*ci + c] = x[i, oy*sh - ph + ky, ox*sw - pw + kx, c]
 * (zero where the index falls in the padding). col2im is its exact adjoint: it overwrites x
 * with zero and then adds every column entry back to the pixel it came from, so
 * <im2col(x), c> = <x, col2im(c)>.
 */
#ifndef CN_IM2COL_H
#define CN_IM2COL_H

#include <stdbool.h>
#include <stdint.h>

#include "geom.h"

/* x: [N, HI, WI, CI] -> col: [N*HO*WO, KH*KW*CI] */
void cn_im2col(const struct cn_geom *g, int32_t n, const float *x, float *col);

/*
 * The same lowering transposed, for one-channel images whose padded copy fits im2col.c's stack
 * buffer (cn_im2col_t_fits): colt [KH*KW, N*HO*WO], colt[p, r] = col[r, p]. Each of its rows
 * is the image itself shifted, copied in runs of WO floats rather than KW-float ones.
 */
bool cn_im2col_t_fits(const struct cn_geom *g);
void cn_im2col_t(const struct cn_geom *g, int32_t n, const float *x, float *colt);

/* col: [N*HO*WO, KH*KW*CI] -> x: [N, HI, WI, CI] (overwritten, not accumulated) */
void cn_col2im(const struct cn_geom *g, int32_t n, const float *col, float *x);

#endif
