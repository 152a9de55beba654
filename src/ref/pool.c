/*
 * Reference max and average pooling: one output element at a time, every kernel position
 * visited and bounds-checked, sums in double. x, dx [N, HI, WI, C]; y, dy, argmax [N, HO, WO, C].
 * Max tie rule (shared with ops/pool.c): the first in-image maximum in scan order (ky, then kx)
 * wins; padding never does. Avg divides by kh*kw, padding counting as zeros. L^p pooling sums
 * |x|^p over the in-image window (no division) and takes the p-th root.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ref.h"

/* Offset of x[n, iy, ix, ch] in [N, H, W, C]. */
static size_t at4(int32_t h, int32_t w, int32_t c, int32_t n, int32_t iy, int32_t ix, int32_t ch)
{
	return (((size_t)n * h + iy) * w + ix) * c + ch;
}

static int inside(const struct cn_geom *g, int32_t iy, int32_t ix)
{
	return iy >= 0 && iy < g->hi && ix >= 0 && ix < g->wi;
}

void cn_maxpool2d_forward_ref(const struct cn_geom *g, const struct cn_tensor *x,
                              struct cn_tensor *y, int32_t *argmax)
{
	const int32_t c = g->ci;
	for (int32_t n = 0; n < x->n; n++)
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t ch = 0; ch < c; ch++) {
					float best = 0.0f;
					int32_t am = -1; /* no in-image element seen yet */
					for (int32_t ky = 0; ky < g->kh; ky++)
						for (int32_t kx = 0; kx < g->kw; kx++) {
							int32_t iy = oy * g->sh - g->ph + ky;
							int32_t ix = ox * g->sw - g->pw + kx;
							if (!inside(g, iy, ix)) continue;
							float v = x->data[at4(g->hi, g->wi, c, n,
							                      iy, ix, ch)];
							if (am < 0 || v > best) {
								best = v;
								am = (iy * g->wi + ix) * c + ch;
							}
						}
					size_t o = at4(g->ho, g->wo, c, n, oy, ox, ch);
					y->data[o] = best;
					argmax[o] = am;
				}
}

void cn_maxpool2d_backward_ref(const struct cn_geom *g, const struct cn_tensor *dy,
                               const int32_t *argmax, struct cn_tensor *dx)
{
	if (!dx || !dx->data) return;
	const int32_t c = g->ci;
	for (size_t i = 0; i < cn_tensor_len(dx); i++) dx->data[i] = 0.0f;
	for (int32_t n = 0; n < dy->n; n++)
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t ch = 0; ch < c; ch++) {
					size_t o = at4(g->ho, g->wo, c, n, oy, ox, ch);
					dx->data[(size_t)n * cn_tensor_image_len(dx) + argmax[o]] +=
					    dy->data[o];
				}
}

void cn_avgpool2d_forward_ref(const struct cn_geom *g, const struct cn_tensor *x,
                              struct cn_tensor *y)
{
	const int32_t c = g->ci;
	for (int32_t n = 0; n < x->n; n++)
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t ch = 0; ch < c; ch++) {
					double sum = 0.0;
					for (int32_t ky = 0; ky < g->kh; ky++)
						for (int32_t kx = 0; kx < g->kw; kx++) {
							int32_t iy = oy * g->sh - g->ph + ky;
							int32_t ix = ox * g->sw - g->pw + kx;
							if (!inside(g, iy, ix)) continue;
							sum += x->data[at4(g->hi, g->wi, c, n, iy,
							                   ix, ch)];
						}
					y->data[at4(g->ho, g->wo, c, n, oy, ox, ch)] =
					    (float)(sum / ((double)g->kh * g->kw));
				}
}

void cn_avgpool2d_backward_ref(const struct cn_geom *g, const struct cn_tensor *dy,
                               struct cn_tensor *dx)
{
	if (!dx || !dx->data) return;
	const int32_t c = g->ci;
	for (size_t i = 0; i < cn_tensor_len(dx); i++) dx->data[i] = 0.0f;
	for (int32_t n = 0; n < dy->n; n++)
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t ch = 0; ch < c; ch++) {
					double d = dy->data[at4(g->ho, g->wo, c, n, oy, ox, ch)] /
					           ((double)g->kh * g->kw);
					for (int32_t ky = 0; ky < g->kh; ky++)
						for (int32_t kx = 0; kx < g->kw; kx++) {
							int32_t iy = oy * g->sh - g->ph + ky;
							int32_t ix = ox * g->sw - g->pw + kx;
							if (!inside(g, iy, ix)) continue;
							dx->data[at4(g->hi, g->wi, c, n, iy, ix,
							             ch)] += (float)d;
						}
				}
}

/*
 * (Σ over the in-image window of |x|^p)^(1/p) in double, for output (n, oy, ox, ch), as
 * m·(Σ (|x|/m)^p)^(1/p) with m the largest |x|: at p = 100 even double underflows 0.001^p.
 * A NaN in the window gives NaN, else an Inf gives Inf (the sum's own value).
 */
static double lp_window(const struct cn_geom *g, double p, const struct cn_tensor *x, int32_t n,
                        int32_t oy, int32_t ox, int32_t ch)
{
	double m = 0.0, sum = 0.0;
	for (int pass = 0; pass < 2; pass++)
		for (int32_t ky = 0; ky < g->kh; ky++)
			for (int32_t kx = 0; kx < g->kw; kx++) {
				int32_t iy = oy * g->sh - g->ph + ky, ix = ox * g->sw - g->pw + kx;
				if (!inside(g, iy, ix)) continue;
				double v = fabs(x->data[at4(g->hi, g->wi, g->ci, n, iy, ix, ch)]);
				if (pass == 0)
					m = v > m || v != v ? v : m; /* a NaN sticks */
				else
					sum += pow(v / m, p);
			}
	if (!(m < HUGE_VAL)) return m; /* NaN or Inf */
	return m > 0.0 ? m * pow(sum, 1.0 / p) : 0.0;
}

void cn_lppool2d_forward_ref(const struct cn_geom *g, float p, const struct cn_tensor *x,
                             struct cn_tensor *y)
{
	for (int32_t n = 0; n < x->n; n++)
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t ch = 0; ch < g->ci; ch++)
					y->data[at4(g->ho, g->wo, g->ci, n, oy, ox, ch)] =
					    (float)lp_window(g, p, x, n, oy, ox, ch);
}

/* dx[i] += dy·sign(x_i)·|x_i|^(p-1) / y^(p-1); an all-zero window (y = 0) passes nothing. */
void cn_lppool2d_backward_ref(const struct cn_geom *g, float p, const struct cn_tensor *x,
                              const struct cn_tensor *dy, struct cn_tensor *dx)
{
	if (!dx || !dx->data) return;
	const int32_t c = g->ci;
	for (size_t i = 0; i < cn_tensor_len(dx); i++) dx->data[i] = 0.0f;
	for (int32_t n = 0; n < dy->n; n++)
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t ch = 0; ch < c; ch++) {
					double yv = lp_window(g, p, x, n, oy, ox, ch);
					if (yv == 0.0) continue;
					double d = dy->data[at4(g->ho, g->wo, c, n, oy, ox, ch)];
					for (int32_t ky = 0; ky < g->kh; ky++)
						for (int32_t kx = 0; kx < g->kw; kx++) {
							int32_t iy = oy * g->sh - g->ph + ky;
							int32_t ix = ox * g->sw - g->pw + kx;
							if (!inside(g, iy, ix)) continue;
							size_t at =
							    at4(g->hi, g->wi, c, n, iy, ix, ch);
							double v = x->data[at];
							double s = v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0;
							dx->data[at] +=
							    (float)(d * s *
							            pow(fabs(v) / yv, p - 1.0));
						}
				}
}
