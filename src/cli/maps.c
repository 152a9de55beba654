/*
 * Pictures of what a network computes, as the lecture slides show them: the input image beside
 * a grid of one layer's feature maps (each map stretched to its own range, black its minimum,
 * white its maximum, so weak maps stay visible), or the learned kernels of a convolution on a
 * diverging scale (blue negative, white zero, red positive, each kernel to its largest weight).
 * Tiles are enlarged by whole pixels (nearest neighbour) so single pixels stay crisp.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "picture.h"

enum { MARGIN = 16, TOP = 58, GAP = 4, MIN_W = 640 };

/* Integer enlargement that brings a side of `side` pixels near `want` pixels. */
static int zoom(int32_t side, int want)
{
	int z = (int)lround((double)want / side);
	return z < 1 ? 1 : z;
}

/* Columns of a grid of n tiles: a divisor of n near its square root if one exists. */
static int grid_cols(int n)
{
	int root = (int)ceil(sqrt((double)n));
	for (int c = root; c <= 2 * root && c <= n; c++)
		if (n % c == 0) return c;
	return root < 1 ? 1 : root;
}

static void put(struct cli_image *im, int x, int y, const uint8_t rgb[3])
{
	if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
	memcpy(im->px + ((size_t)y * im->w + x) * 3, rgb, 3);
}

/* A z-times enlarged block for source pixel (i, j) of a tile at (x, y). */
static void block(struct cli_image *im, int x, int y, int i, int j, int z, const uint8_t rgb[3])
{
	for (int v = 0; v < z; v++)
		for (int u = 0; u < z; u++) put(im, x + i * z + u, y + j * z + v, rgb);
}

static int canvas(struct cli_image *im, int w, int h, char *err)
{
	if (cli_image_alloc(im, w < MIN_W ? MIN_W : w, h, 3))
		return snprintf(err, CLI_MSG_LEN, "a %dx%d picture is too large", w, h), 1;
	memset(im->px, 0xff, (size_t)im->w * im->h * 3);
	return 0;
}

static void titles(struct cli_image *im, const struct cli_font *f, const char *title,
                   const char *subtitle)
{
	cli_text(im, f, 16, MARGIN, 24, CLI_LEFT, false, CLI_BLACK, title);
	cli_text(im, f, 14, MARGIN, 45, CLI_LEFT, false, 0x444444, subtitle);
}

int cli_maps_draw(const struct cli_maps *m, const struct cli_font *f, struct cli_image *im,
                  char *err)
{
	struct cn_shape in = m->in, out = m->out;
	int zi = zoom(in.h > in.w ? in.h : in.w, 112), zo = zoom(out.h > out.w ? out.h : out.w, 56);
	int cols = grid_cols(out.c), rows = (out.c + cols - 1) / cols;
	int in_w = in.w * zi, in_h = in.h * zi, tw = out.w * zo, th = out.h * zo;
	int gx = MARGIN + in_w + 24, grid_h = rows * (th + GAP) - GAP;
	int h = TOP + (grid_h > in_h + 24 ? grid_h : in_h + 24) + MARGIN;
	if (canvas(im, gx + cols * (tw + GAP) - GAP + MARGIN, h, err)) return 1;
	titles(im, f, m->title, m->subtitle);
	for (int j = 0; j < in.h; j++)
		for (int i = 0; i < in.w; i++) {
			const float *p = m->x + ((size_t)j * in.w + i) * in.c;
			uint8_t rgb[3];
			for (int k = 0; k < 3; k++)
				rgb[k] =
				    (uint8_t)lround(255 * fmin(1, fmax(0, p[in.c == 3 ? k : 0])));
			block(im, MARGIN, TOP, i, j, zi, rgb);
		}
	cli_text(im, f, 14, MARGIN + in_w / 2, TOP + in_h + 18, CLI_CENTER, false, CLI_BLACK,
	         "input");
	/* a 1x1 map has no range of its own: such layers share one scale over all channels */
	bool shared = out.h * out.w == 1;
	float glo = INFINITY, ghi = -INFINITY;
	for (int c = 0; shared && c < out.c; c++) {
		glo = fminf(glo, m->y[c]);
		ghi = fmaxf(ghi, m->y[c]);
	}
	for (int c = 0; c < out.c; c++) {
		float lo = glo, hi = ghi;
		size_t n = (size_t)out.h * out.w;
		for (size_t k = 0; !shared && k < n; k++) {
			lo = fminf(lo, m->y[k * out.c + c]);
			hi = fmaxf(hi, m->y[k * out.c + c]);
		}
		int x = gx + (c % cols) * (tw + GAP), y = TOP + (c / cols) * (th + GAP);
		for (size_t k = 0; k < n; k++) {
			float v = m->y[k * out.c + c];
			uint8_t g = hi > lo ? (uint8_t)lround(255 * (v - lo) / (hi - lo)) : 0;
			uint8_t rgb[3] = {g, g, g};
			block(im, x, y, (int)(k % out.w), (int)(k / out.w), zo, rgb);
		}
	}
	return 0;
}

/* Diverging colour for t in [-1, 1]: blue, white, red (ColorBrewer RdBu ends). */
static void diverging(double t, uint8_t rgb[3])
{
	static const double neg[3] = {33, 102, 172}, pos[3] = {178, 24, 43};
	const double *end = t < 0 ? neg : pos;
	double a = fmin(1, fabs(t));
	for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)lround(255 + (end[k] - 255) * a);
}

int cli_filters_draw(const float *w, struct cn_shape filter, int32_t count, const char *title,
                     const char *subtitle, const struct cli_font *f, struct cli_image *im,
                     char *err)
{
	/* three input channels are drawn as one colour kernel, any other number one by one */
	bool rgb_kernels = filter.c == 3;
	int per = rgb_kernels ? 1 : filter.c, tiles = count * per;
	int z = zoom(filter.h > filter.w ? filter.h : filter.w, 48);
	int tw = filter.w * z, th = filter.h * z;
	int cols = rgb_kernels || per == 1 ? grid_cols(tiles) : per;
	int rows = (tiles + cols - 1) / cols;
	if (canvas(im, 2 * MARGIN + cols * (tw + GAP) - GAP, TOP + rows * (th + GAP) - GAP + MARGIN,
	           err))
		return 1;
	titles(im, f, title, subtitle);
	size_t len = (size_t)filter.c * filter.h * filter.w; /* [KH, KW, CI] per output */
	for (int32_t o = 0; o < count; o++) {
		const float *k = w + (size_t)o * len;
		double big = 0;
		/* a compare, not fmax: GCC 12.2 for aarch64 crashes vectorizing an fmax(fabs)
		   reduction */
		for (size_t i = 0; i < len; i++) {
			double a = fabs(k[i]);
			if (a > big) big = a;
		}
		if (big == 0) big = 1;
		for (int ci = 0; ci < per; ci++) {
			int t = o * per + ci, x = MARGIN + (t % cols) * (tw + GAP);
			int y = TOP + (t / cols) * (th + GAP);
			for (int j = 0; j < filter.h; j++)
				for (int i = 0; i < filter.w; i++) {
					const float *p = k + ((size_t)j * filter.w + i) * filter.c;
					uint8_t c[3];
					if (rgb_kernels)
						for (int q = 0; q < 3; q++)
							c[q] = (uint8_t)lround(127.5 +
							                       127.5 * p[q] / big);
					else
						diverging(p[ci] / big, c);
					block(im, x, y, i, j, z, c);
				}
		}
	}
	return 0;
}
