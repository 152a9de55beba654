/*
 * Reference convolution: the definition written out as loops, in double, no lowering.
 *   y[n, oy, ox, co] = b[co] + Σ_{ky, kx, ci} x[n, oy*sh - ph + ky, ox*sw - pw + kx, ci]
 *                                           * w[co, ky, kx, ci]     (x = 0 in the padding)
 * Each gradient is the same sum taken with respect to one factor; dx gathers, for every input
 * pixel, the outputs whose window covers it, so no quantity is ever scattered or reused.
 */
#include <stddef.h>

#include "ref.h"

/* Offsets of x[n, iy, ix, c], w[co, ky, kx, c] and y[n, oy, ox, o] (y has co channels). */
static size_t xat(const struct cn_geom *g, int32_t n, int32_t iy, int32_t ix, int32_t c)
{
	return (((size_t)n * g->hi + (size_t)iy) * g->wi + (size_t)ix) * g->ci + (size_t)c;
}

static size_t wat(const struct cn_geom *g, int32_t co, int32_t ky, int32_t kx, int32_t c)
{
	return (((size_t)co * g->kh + (size_t)ky) * g->kw + (size_t)kx) * g->ci + (size_t)c;
}

static size_t yat(const struct cn_geom *g, int32_t co, int32_t n, int32_t oy, int32_t ox, int32_t o)
{
	return (((size_t)n * g->ho + (size_t)oy) * g->wo + (size_t)ox) * co + (size_t)o;
}

static int inside(const struct cn_geom *g, int32_t iy, int32_t ix)
{
	return iy >= 0 && iy < g->hi && ix >= 0 && ix < g->wi;
}

void cn_conv2d_forward_ref(const struct cn_geom *g, int32_t co, const float *w, const float *b,
                           const struct cn_tensor *x, struct cn_tensor *y)
{
	for (int32_t n = 0; n < x->n; n++)
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t o = 0; o < co; o++) {
					double acc = b ? b[o] : 0.0;
					for (int32_t ky = 0; ky < g->kh; ky++)
						for (int32_t kx = 0; kx < g->kw; kx++) {
							int32_t iy = oy * g->sh - g->ph + ky;
							int32_t ix = ox * g->sw - g->pw + kx;
							if (!inside(g, iy, ix)) continue;
							for (int32_t c = 0; c < g->ci; c++)
								acc += (double)x->data[xat(g, n, iy,
								                           ix, c)] *
								       w[wat(g, o, ky, kx, c)];
						}
					y->data[yat(g, co, n, oy, ox, o)] = (float)acc;
				}
}

void cn_conv2d_backward_ref(const struct cn_geom *g, int32_t co, const float *w,
                            const struct cn_tensor *x, const struct cn_tensor *dy,
                            struct cn_tensor *dx, float *dw, float *db)
{
	/* dw[o, ky, kx, c] += Σ_{n, oy, ox} dy[n, oy, ox, o] * x[n, iy, ix, c] (dw NULL: skipped) */
	for (int32_t o = 0; dw && o < co; o++)
		for (int32_t ky = 0; ky < g->kh; ky++)
			for (int32_t kx = 0; kx < g->kw; kx++)
				for (int32_t c = 0; c < g->ci; c++) {
					double acc = 0;
					for (int32_t n = 0; n < x->n; n++)
						for (int32_t oy = 0; oy < g->ho; oy++)
							for (int32_t ox = 0; ox < g->wo; ox++) {
								int32_t iy =
								    oy * g->sh - g->ph + ky;
								int32_t ix =
								    ox * g->sw - g->pw + kx;
								if (!inside(g, iy, ix)) continue;
								acc +=
								    (double)dy->data[yat(
								        g, co, n, oy, ox, o)] *
								    x->data[xat(g, n, iy, ix, c)];
							}
					dw[wat(g, o, ky, kx, c)] += (float)acc;
				}
	/* db[o] += Σ_{n, oy, ox} dy[n, oy, ox, o] */
	for (int32_t o = 0; db && o < co; o++) {
		double acc = 0;
		for (int32_t n = 0; n < x->n; n++)
			for (int32_t oy = 0; oy < g->ho; oy++)
				for (int32_t ox = 0; ox < g->wo; ox++)
					acc += dy->data[yat(g, co, n, oy, ox, o)];
		db[o] += (float)acc;
	}
	if (!dx) return;
	/* dx[n, iy, ix, c] = Σ over (ky, kx, o) with iy = oy*sh - ph + ky (likewise ix) for a
	 * whole output pixel (oy, ox): dy[n, oy, ox, o] * w[o, ky, kx, c] */
	for (int32_t n = 0; n < x->n; n++)
		for (int32_t iy = 0; iy < g->hi; iy++)
			for (int32_t ix = 0; ix < g->wi; ix++)
				for (int32_t c = 0; c < g->ci; c++) {
					double acc = 0;
					for (int32_t ky = 0; ky < g->kh; ky++)
						for (int32_t kx = 0; kx < g->kw; kx++) {
							int32_t ty = iy + g->ph - ky,
							        tx = ix + g->pw - kx;
							if (ty < 0 || tx < 0 || ty % g->sh ||
							    tx % g->sw)
								continue;
							int32_t oy = ty / g->sh, ox = tx / g->sw;
							if (oy >= g->ho || ox >= g->wo) continue;
							for (int32_t o = 0; o < co; o++)
								acc += (double)dy->data[yat(
								           g, co, n, oy, ox, o)] *
								       w[wat(g, o, ky, kx, c)];
						}
					dx->data[xat(g, n, iy, ix, c)] = (float)acc;
				}
}
