/*
 * Image files for the colnet tool: PNG (png.c), binary PGM and PPM parsed here with every
 * header field checked, and the conversions a model input needs: channel count and a bilinear
 * resize. Files are read whole (they are small) so a parser never waits on a stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "picture.h"

#define MAX_FILE_BYTES ((size_t)256 << 20)

int cli_image_alloc(struct cli_image *im, int32_t w, int32_t h, int32_t c)
{
	*im = (struct cli_image){w, h, c, NULL};
	if (w < 1 || h < 1 || w > CLI_IMAGE_MAX_SIDE || h > CLI_IMAGE_MAX_SIDE ||
	    (c != 1 && c != 3))
		return 1;
	im->px = calloc((size_t)w * (size_t)h, (size_t)c);
	return im->px == NULL;
}

void cli_image_free(struct cli_image *im)
{
	free(im->px);
	*im = (struct cli_image){0};
}

/* The regular file at path into *buf (malloc'd). */
static int slurp(const char *path, uint8_t **buf, size_t *len, char *err)
{
	struct stat s;
	FILE *f = NULL;
	*buf = NULL;
	if (stat(path, &s) != 0 || (S_ISREG(s.st_mode) && !(f = fopen(path, "rb")))) {
		snprintf(err, CLI_MSG_LEN, "%s", strerror(errno));
		return 1;
	}
	if (!f) {
		snprintf(err, CLI_MSG_LEN, "not a regular file");
		return 1;
	}
	if ((size_t)s.st_size > MAX_FILE_BYTES || !(*buf = malloc((size_t)s.st_size + 1))) {
		snprintf(err, CLI_MSG_LEN, "%lld bytes is too large", (long long)s.st_size);
		fclose(f);
		return 1;
	}
	*len = fread(*buf, 1, (size_t)s.st_size, f);
	fclose(f);
	return 0;
}

/* Next PNM header integer at *p, skipping blanks and '#' comments; -1 if malformed or huge. */
static long pnm_int(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *q = *p;
	for (;;) {
		while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
		if (q >= end || *q != '#') break;
		while (q < end && *q != '\n') q++;
	}
	long v = 0;
	if (q >= end || *q < '0' || *q > '9') return -1;
	while (q < end && *q >= '0' && *q <= '9') {
		v = v * 10 + (*q++ - '0');
		if (v > 65535) return -1;
	}
	*p = q;
	return v;
}

static int pnm_decode(const uint8_t *buf, size_t len, struct cli_image *im, char *err)
{
	const uint8_t *p = buf + 2, *end = buf + len;
	int c = buf[1] == '6' ? 3 : 1;
	long w = pnm_int(&p, end), h = w < 1 ? -1 : pnm_int(&p, end);
	long maxval = h < 1 ? -1 : pnm_int(&p, end);
	/* exactly one blank ends the header; the pixels follow, 2 bytes each past maxval 255 */
	if (maxval < 1 || p >= end || !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		snprintf(err, CLI_MSG_LEN, "bad P%c header (width, height, maxval 1..65535)",
		         buf[1]);
		return 1;
	}
	p++;
	if (w > CLI_IMAGE_MAX_SIDE || h > CLI_IMAGE_MAX_SIDE) {
		snprintf(err, CLI_MSG_LEN, "%ldx%ld pixels (at most %d a side)", w, h,
		         CLI_IMAGE_MAX_SIDE);
		return 1;
	}
	size_t bpv = maxval > 255 ? 2 : 1, n = (size_t)w * (size_t)h * (size_t)c;
	if ((size_t)(end - p) < n * bpv) {
		snprintf(err, CLI_MSG_LEN, "truncated: %zu of %zu pixel bytes", (size_t)(end - p),
		         n * bpv);
		return 1;
	}
	if (cli_image_alloc(im, (int32_t)w, (int32_t)h, c)) {
		snprintf(err, CLI_MSG_LEN, "out of memory");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		long v = bpv == 2 ? p[2 * i] << 8 | p[2 * i + 1] : p[i];
		if (v > maxval) v = maxval;
		im->px[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
	}
	return 0;
}

int cli_image_read(const char *path, struct cli_image *im, char *err)
{
	uint8_t *buf;
	size_t len;
	char msg[CLI_MSG_LEN];
	*im = (struct cli_image){0};
	if (slurp(path, &buf, &len, msg)) {
		snprintf(err, CLI_MSG_LEN, "%.200s: %.300s", path, msg);
		return 1;
	}
	static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	int rc;
	if (len >= 8 && memcmp(buf, png_magic, 8) == 0)
		rc = cli_png_decode(buf, len, im, msg);
	else if (len >= 3 && buf[0] == 'P' && (buf[1] == '5' || buf[1] == '6'))
		rc = pnm_decode(buf, len, im, msg);
	else
		rc =
		    (snprintf(msg, sizeof(msg), "not a PNG, binary PGM (P5) or PPM (P6) image"), 1);
	if (rc) snprintf(err, CLI_MSG_LEN, "%.200s: %.300s", path, msg);
	free(buf);
	return rc;
}

/* Channel k of pixel (y, x) of src as c channels would show it. */
static double sample(const struct cli_image *src, int32_t y, int32_t x, int32_t c, int32_t k)
{
	const uint8_t *p = src->px + ((size_t)y * src->w + x) * src->c;
	if (src->c == c) return p[k];
	if (src->c == 1) return p[0];
	return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

void cli_image_convert(const struct cli_image *src, int32_t h, int32_t w, int32_t c, uint8_t *dst)
{
	double sy = (double)src->h / h, sx = (double)src->w / w;
	for (int32_t y = 0; y < h; y++) {
		/* the source position of this pixel's centre, clamped to the outer pixel centres */
		double fy = (y + 0.5) * sy - 0.5;
		fy = fy < 0 ? 0 : fy > src->h - 1 ? src->h - 1 : fy;
		int32_t y0 = (int32_t)fy, y1 = y0 + 1 < src->h ? y0 + 1 : y0;
		double ay = fy - y0;
		for (int32_t x = 0; x < w; x++) {
			double fx = (x + 0.5) * sx - 0.5;
			fx = fx < 0 ? 0 : fx > src->w - 1 ? src->w - 1 : fx;
			int32_t x0 = (int32_t)fx, x1 = x0 + 1 < src->w ? x0 + 1 : x0;
			double ax = fx - x0;
			for (int32_t k = 0; k < c; k++) {
				double top = sample(src, y0, x0, c, k) * (1 - ax) +
				             sample(src, y0, x1, c, k) * ax;
				double bot = sample(src, y1, x0, c, k) * (1 - ax) +
				             sample(src, y1, x1, c, k) * ax;
				double v = top * (1 - ay) + bot * ay + 0.5;
				dst[((size_t)y * w + x) * c + k] = (uint8_t)(v > 255 ? 255 : v);
			}
		}
	}
}

int cli_image_input(const char *path, struct cn_shape s, float *x, char *err)
{
	if (s.c != 1 && s.c != 3) {
		snprintf(err, CLI_MSG_LEN, "%s: the model takes %d channels; images give 1 or 3",
		         path, s.c);
		return 1;
	}
	struct cli_image im;
	if (cli_image_read(path, &im, err)) return 1;
	size_t n = (size_t)s.h * s.w * s.c;
	uint8_t *px = malloc(n);
	if (!px) {
		cli_image_free(&im);
		snprintf(err, CLI_MSG_LEN, "%s: out of memory", path);
		return 1;
	}
	cli_image_convert(&im, s.h, s.w, s.c, px);
	for (size_t i = 0; i < n; i++) x[i] = (float)px[i] / 255.0f;
	free(px);
	cli_image_free(&im);
	return 0;
}
