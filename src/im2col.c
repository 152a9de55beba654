/*
 * im2col / col2im over NHWC with Caffe's loop order: the column matrix is walked strictly
 * sequentially, one output pixel (one row of col) at a time. In NHWC, kernel row ky of a
 * window is a contiguous run of kw*ci floats of image row iy, so each (pixel, ky) costs at most
 * three bulk operations: zeros for the part left of the image, one memcpy of the in-image part,
 * zeros for the part right of it (a whole run of zeros above or below the image). No branch
 * runs per element. col2im is the mirror image: zero x, then add every in-image run back,
 * which makes it the exact adjoint of im2col.
 */
#include <string.h>

#include "im2col.h"

/*
 * Kernel columns [*lo, *hi) of a window whose left edge is image column ix0 that fall inside
 * the image (wi columns). Clamped so that lo <= hi even when the window misses the image.
 */
static void span(int32_t ix0, int32_t kw, int32_t wi, int32_t *lo, int32_t *hi)
{
	int32_t l = -ix0, h = wi - ix0;
	l = l < 0 ? 0 : l > kw ? kw : l;
	h = h < l ? l : h > kw ? kw : h;
	*lo = l;
	*hi = h;
}

/* dst[j] += src[j]: restrict lets the compiler vectorize the run. */
static void add(float *restrict dst, const float *restrict src, size_t len)
{
	for (size_t j = 0; j < len; j++) dst[j] += src[j];
}

void cn_im2col(const struct cn_geom *g, int32_t n, const float *x, float *col)
{
	const size_t ci = (size_t)g->ci;
	const size_t run = (size_t)g->kw * ci; /* one kernel row: kw*ci floats */
	const size_t img = (size_t)g->hi * (size_t)g->wi * ci;
	for (int32_t i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * img; /* [HI, WI, CI] */
		for (int32_t oy = 0; oy < g->ho; oy++) {
			for (int32_t ox = 0; ox < g->wo; ox++) {
				int32_t ix0 = ox * g->sw - g->pw, lo, hi;
				span(ix0, g->kw, g->wi, &lo, &hi);
				const size_t left = (size_t)lo * ci, mid = (size_t)(hi - lo) * ci;
				for (int32_t ky = 0; ky < g->kh; ky++, col += run) {
					int32_t iy = oy * g->sh - g->ph + ky;
					/* one unsigned compare covers iy < 0 and iy >= hi */
					if ((uint32_t)iy >= (uint32_t)g->hi) {
						memset(col, 0, run * sizeof(*col));
						continue;
					}
					if (left) memset(col, 0, left * sizeof(*col));
					/* cn_geom_init's padding < kernel means every window meets
					 * the image, but a window that missed it must not index x */
					if (mid)
						memcpy(col + left,
						       xi + ((size_t)iy * (size_t)g->wi +
						             (size_t)(ix0 + lo)) *
						                ci,
						       mid * sizeof(*col));
					if (left + mid < run)
						memset(col + left + mid, 0,
						       (run - left - mid) * sizeof(*col));
				}
			}
		}
	}
}

void cn_col2im(const struct cn_geom *g, int32_t n, const float *col, float *x)
{
	const size_t ci = (size_t)g->ci;
	const size_t run = (size_t)g->kw * ci;
	const size_t img = (size_t)g->hi * (size_t)g->wi * ci;
	/* overwrite, not accumulate: the padding entries of col have nowhere to go */
	memset(x, 0, (size_t)n * img * sizeof(*x));
	for (int32_t i = 0; i < n; i++) {
		float *xi = x + (size_t)i * img; /* [HI, WI, CI] */
		for (int32_t oy = 0; oy < g->ho; oy++) {
			for (int32_t ox = 0; ox < g->wo; ox++) {
				int32_t ix0 = ox * g->sw - g->pw, lo, hi;
				span(ix0, g->kw, g->wi, &lo, &hi);
				const size_t left = (size_t)lo * ci, mid = (size_t)(hi - lo) * ci;
				for (int32_t ky = 0; ky < g->kh; ky++, col += run) {
					int32_t iy = oy * g->sh - g->ph + ky;
					if ((uint32_t)iy >= (uint32_t)g->hi || !mid) continue;
					float *dst =
					    xi +
					    ((size_t)iy * (size_t)g->wi + (size_t)(ix0 + lo)) * ci;
					add(dst, col + left, mid);
				}
			}
		}
	}
}
