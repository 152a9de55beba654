/*
 * Data augmentation: every image of a batch gets its own random warp — translation, rotation,
 * scaling and the elastic distortion of Simard, Steinkraus and Platt (2003), any combination —
 * resampled bilinearly in place in the gathered float batch, every channel alike.
 *
 * Reproducibility without state: image `index` of a stream draws from a generator seeded by
 * (seed, index) alone, and its elastic field from a counter-based hash of that draw. The
 * trainer keys the stream by (run seed, epoch) and indexes it by the image's position in the
 * epoch, so the images depend neither on the thread count nor on where a run was stopped and
 * resumed, and nothing needs saving beyond the options.
 *
 * Geometry, in pixel-centred coordinates (the image centre is 0): output pixel p samples the
 * source at q = M⁻¹((p + d(p)) − t), where t is the translation, M = scale · rotation and d
 * the elastic field (alpha times the Gaussian-smoothed U(−1, 1) field). With no rotation or
 * scaling M⁻¹ is the identity exactly, so a whole-pixel shift moves every pixel exactly.
 * Such a warp (no rotation, scaling or field) takes a path of row copies with the same bits:
 * per 28×28 image the per-pixel resampling runs 170k instructions, the copies 3.7k (callgrind).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "error.h"
#include "rng.h"
#include "util.h"

#define PI         3.14159265358979323846
#define MAX_SHIFT  64
#define MAX_ROTATE 180.0f
#define MAX_SCALE  0.9f
#define MAX_ALPHA  1000.0f
#define MAX_SIGMA  16.0f /* the smoothing kernel's radius is ceil(3 sigma) <= 48 */
#define MAX_RADIUS 48

int cn_augment_on(const struct cn_augment *a)
{
	return a && (a->shift > 0 || a->rotate > 0 || a->scale > 0 || a->elastic_alpha > 0);
}

enum cn_status cn_augment_check(const struct cn_augment *a, char err[CN_ERR_LEN])
{
	if (!a) return cn_err_set(err, CN_ERR_ARG, "augmentation: NULL options");
	if (a->shift < 0 || a->shift > MAX_SHIFT)
		return cn_err_set(err, CN_ERR_ARG, "augmentation: shift %d must be in 0..%d",
		                  a->shift, MAX_SHIFT);
	if (!(a->rotate >= 0 && a->rotate <= MAX_ROTATE))
		return cn_err_set(err, CN_ERR_ARG,
		                  "augmentation: rotate %g must be in 0..%g degrees",
		                  (double)a->rotate, (double)MAX_ROTATE);
	if (!(a->scale >= 0 && a->scale <= MAX_SCALE))
		return cn_err_set(err, CN_ERR_ARG, "augmentation: scale %g must be in 0..%g",
		                  (double)a->scale, (double)MAX_SCALE);
	if (!(a->elastic_alpha >= 0 && a->elastic_alpha <= MAX_ALPHA))
		return cn_err_set(err, CN_ERR_ARG,
		                  "augmentation: elastic alpha %g must be in 0..%g",
		                  (double)a->elastic_alpha, (double)MAX_ALPHA);
	if (a->elastic_alpha > 0 && !(a->elastic_sigma > 0 && a->elastic_sigma <= MAX_SIGMA))
		return cn_err_set(err, CN_ERR_ARG,
		                  "augmentation: elastic sigma %g must be in (0, %g] pixels",
		                  (double)a->elastic_sigma, (double)MAX_SIGMA);
	return CN_OK;
}

/* One "NAME:V[:V2]" item of a spec into a; 0, or non-zero after a message in err. */
static enum cn_status parse_item(char *item, struct cn_augment *a, char *err)
{
	char *v1 = strchr(item, ':'), *v2 = NULL, *end1 = NULL, *end2 = NULL;
	if (v1) *v1++ = '\0';
	if (v1 && (v2 = strchr(v1, ':'))) *v2++ = '\0';
	bool two = strcmp(item, "elastic") == 0;
	if (!v1 || !*v1 || (two != (v2 != NULL)) || (v2 && !*v2))
		return cn_err_set(err, CN_ERR_ARG,
		                  "augmentation: '%s' needs %s (shift:PIXELS, rotate:DEGREES, "
		                  "scale:FRACTION, elastic:ALPHA:SIGMA)",
		                  item, two ? "two values" : "one value");
	double x = strtod(v1, &end1), y = v2 ? strtod(v2, &end2) : 0;
	if (*end1 || (v2 && *end2) || !isfinite(x) || !isfinite(y))
		return cn_err_set(err, CN_ERR_ARG,
		                  "augmentation: '%s' has a value that is not a number", item);
	if (strcmp(item, "shift") == 0) {
		if (x != floor(x) || x < 0 || x > MAX_SHIFT)
			return cn_err_set(err, CN_ERR_ARG,
			                  "augmentation: shift %g must be a whole number of pixels "
			                  "in 0..%d",
			                  x, MAX_SHIFT);
		a->shift = (int32_t)x;
	} else if (strcmp(item, "rotate") == 0) {
		a->rotate = (float)x;
	} else if (strcmp(item, "scale") == 0) {
		a->scale = (float)x;
	} else if (two) {
		a->elastic_alpha = (float)x;
		a->elastic_sigma = (float)y;
	} else {
		return cn_err_set(err, CN_ERR_ARG,
		                  "augmentation: unknown '%s' (shift, rotate, scale, elastic)",
		                  item);
	}
	return CN_OK;
}

enum cn_status cn_augment_parse(const char *text, struct cn_augment *a, char err[CN_ERR_LEN])
{
	if (!text || !a) return cn_err_set(err, CN_ERR_ARG, "augmentation: NULL argument");
	struct cn_augment r = {0};
	char buf[256];
	if (strlen(text) >= sizeof(buf))
		return cn_err_set(err, CN_ERR_ARG, "augmentation: spec longer than %zu bytes",
		                  sizeof(buf) - 1);
	strcpy(buf, text);
	if (strcmp(buf, "none") != 0) {
		char *save = NULL;
		int items = 0;
		for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
			enum cn_status st = parse_item(it, &r, err);
			if (st) return st;
			items++;
		}
		if (!items)
			return cn_err_set(err, CN_ERR_ARG,
			                  "augmentation: empty spec (say none, or e.g. "
			                  "shift:2,rotate:10,elastic:34:4)");
	}
	enum cn_status st = cn_augment_check(&r, err);
	if (st) return st;
	*a = r;
	return CN_OK;
}

void cn_augment_format(const struct cn_augment *a, char *buf, size_t len)
{
	if (!buf || !len) return;
	buf[0] = '\0';
	if (!cn_augment_on(a)) {
		snprintf(buf, len, "none");
		return;
	}
	size_t at = 0;
	const char *sep = "";
#define PUT(...)                                                                                   \
	do {                                                                                       \
		int k = snprintf(buf + at, len - at, __VA_ARGS__);                                 \
		if (k > 0) at = CN_MIN(len - 1, at + (size_t)k);                                   \
		sep = ",";                                                                         \
	} while (0)
	if (a->shift > 0) PUT("%sshift:%d", sep, a->shift);
	if (a->rotate > 0) PUT("%srotate:%g", sep, (double)a->rotate);
	if (a->scale > 0) PUT("%sscale:%g", sep, (double)a->scale);
	if (a->elastic_alpha > 0)
		PUT("%selastic:%g:%g", sep, (double)a->elastic_alpha, (double)a->elastic_sigma);
#undef PUT
}

/* Floats of scratch one thread needs: a copy of the image, two fields and a blur buffer. */
static size_t per_thread(struct cn_shape s)
{
	return cn_mul4((size_t)s.h, (size_t)s.w, (size_t)s.c + 3, 1);
}

size_t cn_augment_scratch_len(struct cn_shape s, int32_t threads)
{
	if (s.c < 1 || s.h < 1 || s.w < 1 || threads < 1) return 0;
	return cn_mul4(per_thread(s), (size_t)threads, 1, 1);
}

/* splitmix64's finalizer: a well-mixed 64-bit key from (seed, index). */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct cn_warp cn_augment_draw(const struct cn_augment *a, uint64_t seed, int64_t index)
{
	struct cn_rng r;
	cn_rng_seed(&r, mix(seed) ^ mix((uint64_t)index + 0x9e3779b97f4a7c15ull));
	/* every draw is taken whatever is on, so turning one kind on leaves the others' alone */
	uint32_t sx = cn_rng_below(&r, 2u * (uint32_t)a->shift + 1);
	uint32_t sy = cn_rng_below(&r, 2u * (uint32_t)a->shift + 1);
	double ua = cn_rng_uniform(&r), us = cn_rng_uniform(&r);
	uint64_t key = cn_rng_next(&r);
	struct cn_warp w = {
	    .tx = (float)((int32_t)sx - a->shift),
	    .ty = (float)((int32_t)sy - a->shift),
	    .angle = (float)((2 * ua - 1) * a->rotate * PI / 180.0),
	    .scale = (float)(1.0 + (2 * us - 1) * a->scale),
	    .field_key = a->elastic_alpha > 0 ? (key ? key : 1) : 0,
	};
	return w;
}

/* Separable Gaussian blur of f [h, w] in place (zero outside), through tmp [h, w]. */
static void blur(float *f, float *tmp, int32_t h, int32_t w, float sigma)
{
	float k[2 * MAX_RADIUS + 1];
	int32_t r = (int32_t)ceilf(3 * sigma);
	if (r < 1) r = 1;
	if (r > MAX_RADIUS) r = MAX_RADIUS;
	double sum = 0;
	for (int32_t i = -r; i <= r; i++)
		sum += k[i + r] = expf(-(float)(i * i) / (2 * sigma * sigma));
	for (int32_t i = 0; i <= 2 * r; i++) k[i] = (float)(k[i] / sum);
	for (int32_t y = 0; y < h; y++)
		for (int32_t x = 0; x < w; x++) {
			float acc = 0;
			for (int32_t j = CN_MAX(-r, -x); j <= CN_MIN(r, w - 1 - x); j++)
				acc += k[j + r] * f[y * w + x + j];
			tmp[y * w + x] = acc;
		}
	for (int32_t y = 0; y < h; y++)
		for (int32_t x = 0; x < w; x++) {
			float acc = 0;
			for (int32_t j = CN_MAX(-r, -y); j <= CN_MIN(r, h - 1 - y); j++)
				acc += k[j + r] * tmp[(y + j) * w + x];
			f[y * w + x] = acc;
		}
}

/* The elastic field: dx, dy [h, w] = alpha · blur(U(−1, 1) per pixel). */
static void elastic_field(const struct cn_augment *a, uint64_t key, int32_t h, int32_t w, float *dx,
                          float *dy, float *tmp)
{
	uint32_t hw = (uint32_t)(h * w);
	for (uint32_t i = 0; i < hw; i++) {
		dx[i] = (float)cn_rng_hash(key, 2 * i) * (2.0f / 4294967296.0f) - 1.0f;
		dy[i] = (float)cn_rng_hash(key, 2 * i + 1) * (2.0f / 4294967296.0f) - 1.0f;
	}
	blur(dx, tmp, h, w, a->elastic_sigma);
	blur(dy, tmp, h, w, a->elastic_sigma);
	for (uint32_t i = 0; i < hw; i++) {
		dx[i] *= a->elastic_alpha;
		dy[i] *= a->elastic_alpha;
	}
}

void cn_augment_warp_general(const struct cn_augment *a, const struct cn_warp *w, struct cn_shape s,
                             const float *src, float *dst, float *dx, float *dy, float *tmp)
{
	int32_t h = s.h, wd = s.w, c = s.c;
	bool field = w->field_key != 0;
	if (field) elastic_field(a, w->field_key, h, wd, dx, dy, tmp);
	/* M⁻¹ = rotation(−angle) / scale; exactly the identity without rotation or scaling */
	float m00 = 1, m01 = 0, m10 = 0, m11 = 1;
	if (w->angle != 0 || w->scale != 1) {
		float cs = cosf(w->angle) / w->scale, sn = sinf(w->angle) / w->scale;
		/* screen y points down, so a counter-clockwise turn on screen is clockwise in (x, y) */
		m00 = cs, m01 = -sn, m10 = sn, m11 = cs;
	}
	float cx = 0.5f * (float)(wd - 1), cy = 0.5f * (float)(h - 1);
	for (int32_t y = 0; y < h; y++)
		for (int32_t x = 0; x < wd; x++) {
			float px = (float)x - cx - w->tx, py = (float)y - cy - w->ty;
			if (field) px += dx[y * wd + x], py += dy[y * wd + x];
			float qx = m00 * px + m01 * py + cx, qy = m10 * px + m11 * py + cy;
			float fx = floorf(qx), fy = floorf(qy);
			float ax = qx - fx, ay = qy - fy;
			int32_t x0 = (int32_t)fx, y0 = (int32_t)fy;
			float *out = dst + ((size_t)y * wd + x) * c;
			/* the four neighbours' weights; a neighbour outside the image reads as 0 */
			const float wt[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay,
			                     ax * ay};
			const int32_t nx[4] = {x0, x0 + 1, x0, x0 + 1},
			              ny[4] = {y0, y0, y0 + 1, y0 + 1};
			for (int32_t ch = 0; ch < c; ch++) out[ch] = 0;
			if (!(qx > -1 && qx < (float)wd && qy > -1 && qy < (float)h)) continue;
			for (int k = 0; k < 4; k++) {
				if (nx[k] < 0 || nx[k] >= wd || ny[k] < 0 || ny[k] >= h ||
				    wt[k] == 0)
					continue;
				const float *in = src + ((size_t)ny[k] * wd + nx[k]) * c;
				for (int32_t ch = 0; ch < c; ch++) out[ch] += wt[k] * in[ch];
			}
		}
}

bool cn_augment_shift_only(const struct cn_warp *w)
{
	/* whole pixels and small enough that x - cx - tx is exact in float, as the general
	   path computes it (NaN fails every comparison and stays general) */
	return w->field_key == 0 && w->angle == 0 && w->scale == 1 && w->tx == floorf(w->tx) &&
	       w->ty == floorf(w->ty) && fabsf(w->tx) <= MAX_SHIFT && fabsf(w->ty) <= MAX_SHIFT;
}

/* dst = src moved by (tx, ty) whole pixels, zeros where nothing lands: the general path's
   result for such a warp, whose one neighbour weighs exactly 1 and the others 0. */
static void shift_rows(struct cn_shape s, int32_t tx, int32_t ty, const float *src, float *dst)
{
	int32_t h = s.h, wd = s.w, c = s.c;
	/* output columns x0..x1-1 read source columns x - tx; the rest are zero */
	int32_t x0 = CN_MIN(CN_MAX(tx, 0), wd), x1 = CN_MAX(CN_MIN(wd + tx, wd), x0);
	size_t row = (size_t)wd * c, left = (size_t)x0 * c, mid = (size_t)(x1 - x0) * c;
	for (int32_t y = 0; y < h; y++) {
		float *out = dst + (size_t)y * row;
		int32_t sy = y - ty;
		if (sy < 0 || sy >= h || mid == 0) {
			memset(out, 0, row * sizeof(float));
			continue;
		}
		const float *in = src + (size_t)sy * row + (size_t)(x0 - tx) * c;
		memset(out, 0, left * sizeof(float));
		/* + 0 as the general path's 0 + 1·v does: -0 becomes +0, bit for bit the same */
		for (size_t i = 0; i < mid; i++) out[left + i] = in[i] + 0.0f;
		memset(out + left + mid, 0, (row - left - mid) * sizeof(float));
	}
}

void cn_augment_warp(const struct cn_augment *a, const struct cn_warp *w, struct cn_shape s,
                     const float *src, float *dst, float *dx, float *dy, float *tmp)
{
	if (cn_augment_shift_only(w))
		shift_rows(s, (int32_t)w->tx, (int32_t)w->ty, src, dst);
	else
		cn_augment_warp_general(a, w, s, src, dst, dx, dy, tmp);
}

enum cn_status cn_augment_batch(const struct cn_augment *a, struct cn_shape s, float *x, int32_t n,
                                uint64_t seed, int64_t first, float *scratch, size_t scratch_len)
{
	if (!a || n < 0 || (n > 0 && !x) || s.c < 1 || s.h < 1 || s.w < 1 || first < 0)
		return CN_ERR_ARG;
	if (cn_augment_check(a, NULL)) return CN_ERR_ARG;
	if (!cn_augment_on(a) || n == 0) return CN_OK;
	size_t per = per_thread(s), img = (size_t)s.h * s.w * s.c, hw = (size_t)s.h * s.w;
	if (!scratch || scratch_len < per) return CN_ERR_ARG;
	int threads = (int)CN_MIN(scratch_len / per, (size_t)n);
	/* each image depends on (seed, its index) only: any split among threads gives the same */
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
	for (int32_t i = 0; i < n; i++) {
		float *mine = scratch + (size_t)cn_thread_id() * per;
		float *copy = mine, *dx = mine + img, *dy = dx + hw, *tmp = dy + hw;
		struct cn_warp w = cn_augment_draw(a, seed, first + i);
		float *im = x + (size_t)i * img;
		memcpy(copy, im, img * sizeof(float));
		cn_augment_warp(a, &w, s, copy, im, dx, dy, tmp);
	}
	return CN_OK;
}
