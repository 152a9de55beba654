/*
 * What the pooling files share (pool_max.c, pool_avg.c, pool_lp.c): the window of an output
 * pixel clipped to the image once, so the loops over it need no bounds checks, and the
 * shapes that have fast paths.
 */
#ifndef CN_OPS_POOL_WIN_H
#define CN_OPS_POOL_WIN_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../geom.h"
#include "../util.h"

/* The in-image part of one window: kernel rows [ky0, ky1), columns [kx0, kx1). */
struct win {
	int32_t iy0, ix0; /* top-left corner in image coordinates (negative inside padding) */
	int32_t ky0, ky1, kx0, kx1;
};

/* Clip the window of output pixel (oy, ox) once, so the loops over it need no bounds checks. */
static inline struct win window(const struct cn_geom *g, int32_t oy, int32_t ox)
{
	struct win w = {.iy0 = oy * g->sh - g->ph, .ix0 = ox * g->sw - g->pw};
	w.ky0 = w.iy0 < 0 ? -w.iy0 : 0;
	w.ky1 = w.iy0 + g->kh > g->hi ? g->hi - w.iy0 : g->kh;
	w.kx0 = w.ix0 < 0 ? -w.ix0 : 0;
	w.kx1 = w.ix0 + g->kw > g->wi ? g->wi - w.ix0 : g->kw;
	/* geom's padding < kernel rule: no window is empty */
	assert(w.ky0 < w.ky1 && w.kx0 < w.kx1);
	return w;
}

/* Offset inside the image of channel 0 at kernel position (ky, kx) of window w. */
static inline size_t pix(const struct cn_geom *g, const struct win *w, int32_t ky, int32_t kx)
{
	return ((size_t)(w->iy0 + ky) * g->wi + (size_t)(w->ix0 + kx)) * g->ci;
}

/*
 * Floats below which a pooling stays on one thread. Max and average pooling now run at a few
 * floats per nanosecond, and waking a passive OpenMP thread costs tens of microseconds here,
 * more than a small layer's whole pass (sigmoid-cnn's second maxpool: 77 K floats in 6 us):
 * from 8x the element-wise threshold, avgpool-cnn trained 87-100 K -> 110-113 K images/s on
 * 2 threads (batch 100).
 */
#define POOL_PAR_MIN_LEN (8 * (size_t)CN_PAR_MIN_LEN)

/* k2 s2 p0: every window is an unclipped 2x2, and consecutive ones do not overlap */
static inline bool pool2(const struct cn_geom *g)
{
	return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0;
}

/*
 * A few channels (up to one AVX-512 vector): runs of C floats are too short for the channel
 * loop to vectorize, and its loop overhead and scalar tail cost more than the compares
 * (maxpool_image was 9% of sigmoid-cnn's training at C = 6). These loops make C a constant per
 * case of the switches below, so the channel loop disappears into straight-line code.
 */
#define SMALL_C(f, c, ...)                                                                         \
	switch (c) {                                                                               \
	case 1:                                                                                    \
		f(__VA_ARGS__, 1);                                                                 \
		return true;                                                                       \
	case 2:                                                                                    \
		f(__VA_ARGS__, 2);                                                                 \
		return true;                                                                       \
	case 3:                                                                                    \
		f(__VA_ARGS__, 3);                                                                 \
		return true;                                                                       \
	case 4:                                                                                    \
		f(__VA_ARGS__, 4);                                                                 \
		return true;                                                                       \
	case 6:                                                                                    \
		f(__VA_ARGS__, 6);                                                                 \
		return true;                                                                       \
	case 8:                                                                                    \
		f(__VA_ARGS__, 8);                                                                 \
		return true;                                                                       \
	case 12:                                                                                   \
		f(__VA_ARGS__, 12);                                                                \
		return true;                                                                       \
	case 16:                                                                                   \
		f(__VA_ARGS__, 16);                                                                \
		return true;                                                                       \
	default:                                                                                   \
		return false;                                                                      \
	}

/*
 * Windows that tile the image exactly (stride = kernel, no padding, nothing left over, as the
 * zoo's 2x2 pools on even sizes): each element of x is in one window, so dx is written once,
 * in order, dx = dy(window) / (kh*kw), with no zeroing pass and no read-modify-write.
 */
static inline bool tiles(const struct cn_geom *g)
{
	return g->sh == g->kh && g->sw == g->kw && g->ph == 0 && g->pw == 0 &&
	       g->ho * g->sh == g->hi && g->wo * g->sw == g->wi;
}

#endif
