/*
 * Image files for the colnet tool: PNG (png.c), JPEG (jpeg.c), binary PGM and PPM parsed here
 * with every header field checked, and the conversions a model input needs: channel count and
 * a resize (stb_image_resize: area averaging where it shrinks, bilinear where it grows).
 * Files are read whole (they are small) so a parser never waits on a stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb/stb_image_resize.h>

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
	else if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		rc = cli_jpeg_decode(buf, len, im, msg);
	else if (len >= 3 && buf[0] == 'P' && (buf[1] == '5' || buf[1] == '6'))
		rc = pnm_decode(buf, len, im, msg);
	else
		rc = (snprintf(msg, sizeof(msg),
		               "not a PNG, JPEG, binary PGM (P5) or PPM (P6) image"),
		      1);
	if (rc) snprintf(err, CLI_MSG_LEN, "%.200s: %.300s", path, msg);
	free(buf);
	return rc;
}

/* src with c channels, at its own size, into dst [H, W, c] */
static void convert_channels(const struct cli_image *src, int32_t c, uint8_t *dst)
{
	size_t n = (size_t)src->h * src->w;
	const uint8_t *p = src->px;
	for (size_t i = 0; i < n; i++, p += src->c)
		for (int32_t k = 0; k < c; k++) {
			double v = src->c == c   ? p[k]
			           : src->c == 1 ? p[0]
			                         : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
			dst[i * c + k] = (uint8_t)(v + 0.5);
		}
}

int cli_image_convert(const struct cli_image *src, int32_t h, int32_t w, int32_t c, uint8_t *dst)
{
	uint8_t *tmp = NULL;
	const uint8_t *from = src->px;
	if (src->c != c) {
		if (!(tmp = malloc((size_t)src->h * src->w * c))) return 1;
		convert_channels(src, c, tmp);
		from = tmp;
	}
	/* BOX is stb's exact-coverage filter on the axis that shrinks; TRIANGLE is bilinear */
	stbir_filter fy = h < src->h ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
	stbir_filter fx = w < src->w ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
	int ok = stbir_resize(from, src->w, src->h, 0, dst, w, h, 0, STBIR_TYPE_UINT8, c,
	                      STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, fx,
	                      fy, STBIR_COLORSPACE_LINEAR, NULL);
	free(tmp);
	return !ok;
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
	int rc = cli_image_convert(&im, s.h, s.w, s.c, px);
	if (rc) snprintf(err, CLI_MSG_LEN, "%s: out of memory", path);
	for (size_t i = 0; i < n && !rc; i++) x[i] = (float)px[i] / 255.0f;
	free(px);
	cli_image_free(&im);
	return rc;
}
