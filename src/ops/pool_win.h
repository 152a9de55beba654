/*
 * Pooling windows, shared by pool.c (max, average) and pool_lp.c (L^p): the window of an
 * output pixel clipped to the image once, so the loops over it need no bounds checks.
 */
#ifndef CN_OPS_POOL_WIN_H
#define CN_OPS_POOL_WIN_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "../geom.h"

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

#endif
