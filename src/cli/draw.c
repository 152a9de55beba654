/*
 * A small anti-aliased rasterizer over an RGB cli_image: rectangles, lines and dots whose edge
 * pixels are covered by their distance to the shape, and text. Glyphs come from Debian's
 * stb_truetype (libstb-dev) and a TrueType font file (fonts-dejavu-core's DejaVu Sans): a
 * well-kept rasterizer and a real font read better than a hand-made bitmap font, so only the
 * geometry that no packaged library offers without a GUI stack (cairo would pull in pixman,
 * fontconfig and freetype for a few lines) is written here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_truetype.h>

#include "picture.h"

#ifndef CLI_FONT_PATH
#define CLI_FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#endif
#define MAX_FONT_BYTES ((long)64 << 20)

struct cli_font {
	unsigned char *data;
	stbtt_fontinfo info;
};

int cli_font_load(struct cli_font **out, char *err)
{
	const char *path = getenv("COLNET_FONT");
	if (!path || !*path) path = CLI_FONT_PATH;
	*out = NULL;
	struct cli_font *f = calloc(1, sizeof(*f));
	FILE *file = fopen(path, "rb");
	long size = -1;
	if (file && fseek(file, 0, SEEK_END) == 0) size = ftell(file);
	if (f && size > 0 && size <= MAX_FONT_BYTES && fseek(file, 0, SEEK_SET) == 0 &&
	    (f->data = malloc((size_t)size)) &&
	    fread(f->data, 1, (size_t)size, file) == (size_t)size &&
	    stbtt_InitFont(&f->info, f->data, stbtt_GetFontOffsetForIndex(f->data, 0))) {
		fclose(file);
		*out = f;
		return 0;
	}
	if (file) fclose(file);
	snprintf(err, CLI_MSG_LEN,
	         "cannot read the font %s (apt-get install fonts-dejavu-core, or set COLNET_FONT "
	         "to a .ttf file)",
	         path);
	cli_font_free(f);
	return 1;
}

void cli_font_free(struct cli_font *f)
{
	if (!f) return;
	free(f->data);
	free(f);
}

/* Mix rgb into pixel (x, y) with coverage a in [0, 1]; outside the image does nothing. */
static void blend(struct cli_image *im, int x, int y, uint32_t rgb, double a)
{
	if (x < 0 || y < 0 || x >= im->w || y >= im->h || a <= 0) return;
	if (a > 1) a = 1;
	uint8_t *p = im->px + ((size_t)y * im->w + x) * 3;
	for (int k = 0; k < 3; k++) {
		double c = (rgb >> (16 - 8 * k)) & 0xff;
		p[k] = (uint8_t)(p[k] + (c - p[k]) * a + 0.5);
	}
}

void cli_fill(struct cli_image *im, int x, int y, int w, int h, uint32_t rgb)
{
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++) blend(im, i, j, rgb, 1);
}

/* Distance from (px, py) to the segment (x0, y0)-(x1, y1). */
static double seg_dist(double px, double py, double x0, double y0, double x1, double y1)
{
	double dx = x1 - x0, dy = y1 - y0, l2 = dx * dx + dy * dy;
	double t = l2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / l2 : 0;
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	double ex = x0 + t * dx - px, ey = y0 + t * dy - py;
	return sqrt(ex * ex + ey * ey);
}

void cli_line(struct cli_image *im, double x0, double y0, double x1, double y1, double width,
              uint32_t rgb)
{
	double r = width / 2;
	int xa = (int)floor(fmin(x0, x1) - r - 1), xb = (int)ceil(fmax(x0, x1) + r + 1);
	int ya = (int)floor(fmin(y0, y1) - r - 1), yb = (int)ceil(fmax(y0, y1) + r + 1);
	xa = xa < 0 ? 0 : xa;
	ya = ya < 0 ? 0 : ya;
	xb = xb > im->w ? im->w : xb;
	yb = yb > im->h ? im->h : yb;
	for (int y = ya; y < yb; y++)
		for (int x = xa; x < xb; x++)
			blend(im, x, y, rgb, r + 0.5 - seg_dist(x + 0.5, y + 0.5, x0, y0, x1, y1));
}

void cli_polyline(struct cli_image *im, const double *x, const double *y, int n, double width,
                  double dash, uint32_t rgb)
{
	double phase = 0; /* distance walked in the current dash period (2 * dash) */
	for (int i = 0; i + 1 < n; i++) {
		double dx = x[i + 1] - x[i], dy = y[i + 1] - y[i], len = sqrt(dx * dx + dy * dy);
		if (dash <= 0 || len == 0) {
			cli_line(im, x[i], y[i], x[i + 1], y[i + 1], width, rgb);
			continue;
		}
		/* walk the segment in pieces that end where the dash pattern switches */
		for (double t = 0; t < len;) {
			double left = (phase < dash ? dash : 2 * dash) - phase;
			double step = fmin(left, len - t);
			if (phase < dash)
				cli_line(im, x[i] + dx * t / len, y[i] + dy * t / len,
				         x[i] + dx * (t + step) / len, y[i] + dy * (t + step) / len,
				         width, rgb);
			t += step;
			phase = fmod(phase + step, 2 * dash);
		}
	}
}

void cli_dot(struct cli_image *im, double cx, double cy, double radius, uint32_t rgb)
{
	for (int y = (int)(cy - radius - 1); y <= (int)(cy + radius + 1); y++)
		for (int x = (int)(cx - radius - 1); x <= (int)(cx + radius + 1); x++)
			blend(im, x, y, rgb, radius + 0.5 - hypot(x + 0.5 - cx, y + 0.5 - cy));
}

/* Next code point of UTF-8 text at *s (U+FFFD for a malformed byte); advances *s. */
static int next_cp(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	int n = p[0] < 0x80             ? 0
	        : (p[0] & 0xe0) == 0xc0 ? 1
	        : (p[0] & 0xf0) == 0xe0 ? 2
	        : (p[0] & 0xf8) == 0xf0 ? 3
	                                : -1;
	int cp = n == 0 ? p[0] : n == 1 ? p[0] & 0x1f : n == 2 ? p[0] & 0x0f : p[0] & 0x07;
	for (int k = 1; k <= n; k++) {
		if ((p[k] & 0xc0) != 0x80) n = -1;
		if (n < 0) break;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	*s += n < 0 ? 1 : n + 1;
	return n < 0 ? 0xfffd : cp;
}

double cli_text_width(const struct cli_font *f, double px, const char *s)
{
	float scale = stbtt_ScaleForPixelHeight(&f->info, (float)px);
	double w = 0;
	int prev = 0;
	while (*s) {
		int cp = next_cp(&s), adv, lsb;
		stbtt_GetCodepointHMetrics(&f->info, cp, &adv, &lsb);
		if (prev) w += scale * stbtt_GetCodepointKernAdvance(&f->info, prev, cp);
		w += scale * adv;
		prev = cp;
	}
	return w;
}

/*
 * Render s into a coverage mask [*mh, *mw] with the baseline at row *base: glyphs are drawn
 * one by one and combined by maximum, as neighbouring glyph boxes overlap.
 */
static uint8_t *text_mask(const struct cli_font *f, double px, const char *s, int *mw, int *mh,
                          int *base)
{
	float scale = stbtt_ScaleForPixelHeight(&f->info, (float)px);
	int asc, desc, gap;
	stbtt_GetFontVMetrics(&f->info, &asc, &desc, &gap);
	*base = (int)ceil(asc * scale) + 1;
	*mh = *base + (int)ceil(-desc * scale) + 2;
	*mw = (int)ceil(cli_text_width(f, px, s)) + 4;
	uint8_t *mask = calloc((size_t)*mw * (size_t)*mh, 1);
	if (!mask) return NULL;
	double pen = 1;
	int prev = 0;
	while (*s) {
		int cp = next_cp(&s), adv, lsb, gw, gh, xo, yo;
		if (prev) pen += scale * stbtt_GetCodepointKernAdvance(&f->info, prev, cp);
		float shift = (float)(pen - floor(pen));
		unsigned char *g = stbtt_GetCodepointBitmapSubpixel(&f->info, scale, scale, shift,
		                                                    0, cp, &gw, &gh, &xo, &yo);
		for (int j = 0; g && j < gh; j++)
			for (int i = 0; i < gw; i++) {
				int mx = (int)floor(pen) + xo + i, my = *base + yo + j;
				if (mx < 0 || my < 0 || mx >= *mw || my >= *mh) continue;
				uint8_t *m = &mask[(size_t)my * *mw + mx];
				if (g[j * gw + i] > *m) *m = g[j * gw + i];
			}
		stbtt_FreeBitmap(g, NULL);
		stbtt_GetCodepointHMetrics(&f->info, cp, &adv, &lsb);
		pen += scale * adv;
		prev = cp;
	}
	return mask;
}

void cli_text(struct cli_image *im, const struct cli_font *f, double px, int x, int y,
              enum cli_align align, bool vertical, uint32_t rgb, const char *s)
{
	int mw, mh, base;
	uint8_t *mask = text_mask(f, px, s, &mw, &mh, &base);
	if (!mask) return; /* out of memory: a picture without one label beats no picture */
	int along = align == CLI_LEFT ? 0 : align == CLI_CENTER ? (mw - 4) / 2 : mw - 4;
	for (int my = 0; my < mh; my++)
		for (int mx = 0; mx < mw; mx++) {
			double a = mask[(size_t)my * mw + mx] / 255.0;
			if (vertical) /* turned a quarter left: the mask's x runs up the image */
				blend(im, x - base + my, y + along - mx, rgb, a);
			else
				blend(im, x - along + mx - 1, y - base + my, rgb, a);
		}
	free(mask);
}
