/*
 * The tool's image inputs, white-box: shrinking averages each output pixel's source area
 * (against the area average computed here, for whole and fractional ratios, and a stripe
 * pattern that bilinear taps would alias), and JPEG files decode (written here by
 * stb_image_write), a broken one refused with its name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "cli/picture.h"
#include "util.h"

/* The exact area average of gray src [sh, sw] over output pixel (y, x) of [h, w]. */
static double area_mean(const uint8_t *src, int sh, int sw, int h, int w, int y, int x)
{
	double y0 = (double)y * sh / h, y1 = (double)(y + 1) * sh / h;
	double x0 = (double)x * sw / w, x1 = (double)(x + 1) * sw / w;
	double sum = 0, area = 0;
	for (int i = (int)y0; i < sh && i < y1; i++)
		for (int j = (int)x0; j < sw && j < x1; j++) {
			double wy = fmin(i + 1, y1) - fmax(i, y0),
			       wx = fmin(j + 1, x1) - fmax(j, x0);
			sum += wy * wx * src[i * sw + j];
			area += wy * wx;
		}
	return sum / area;
}

static void shrinks_by_area_average(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(3);
	/* whole ratios (3 and 2), fractional ones (2.5, 1.75), and a 1000 -> 28 photo-like one */
	static const int cases[][4] = {
	    {12, 10, 4, 5}, {10, 10, 4, 4}, {7, 21, 4, 12}, {1000, 750, 28, 28}};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		int sh = cases[c][0], sw = cases[c][1], h = cases[c][2], w = cases[c][3];
		uint8_t *px = tu_alloc((size_t)sh * sw), *out = tu_alloc((size_t)h * w);
		for (int i = 0; i < sh * sw; i++) px[i] = (uint8_t)tu_int(&r, 0, 255);
		struct cli_image src = {sw, sh, 1, px};
		assert_int_equal(cli_image_convert(&src, h, w, 1, out), 0);
		double worst = 0;
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				worst = fmax(worst, fabs(out[y * w + x] -
				                         area_mean(px, sh, sw, h, w, y, x)));
		print_message("%dx%d -> %dx%d (HxW): largest gap to the area average %.3f\n", sh,
		              sw, h, w, worst);
		assert_true(worst <= 0.51 + 1e-9); /* rounding to a byte, nothing more */
		free(px);
		free(out);
	}
	/* one-pixel stripes shrunk 7 times: a bilinear tap lands on one stripe (0 or 255); the
	   area holds 3 or 4 of each 7 (109 or 146) */
	uint8_t stripes[63 * 63], out[9 * 9];
	for (int i = 0; i < 63 * 63; i++) stripes[i] = (uint8_t)((i % 63) % 2 ? 255 : 0);
	struct cli_image s = {63, 63, 1, stripes};
	assert_int_equal(cli_image_convert(&s, 9, 9, 1, out), 0);
	for (int i = 0; i < 81; i++) assert_true(out[i] == 109 || out[i] == 146);
}

static char dir[64];

static const char *at(const char *name)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void jpeg_files(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/cn-test-image-XXXXXX");
	assert_non_null(mkdtemp(dir));
	enum { W = 40, H = 30 };
	uint8_t rgb[H * W * 3], gray[H * W];
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint8_t *p = rgb + (y * W + x) * 3;
			p[0] = (uint8_t)(6 * x), p[1] = (uint8_t)(8 * y), p[2] = 128;
			gray[y * W + x] = (uint8_t)(3 * x + 4 * y);
		}
	assert_true(stbi_write_jpg(at("c.jpg"), W, H, 3, rgb, 100));
	assert_true(stbi_write_jpg(at("g.jpg"), W, H, 1, gray, 100));
	struct cli_image im;
	char err[CLI_MSG_LEN];
	assert_int_equal(cli_image_read(at("c.jpg"), &im, err), 0);
	assert_true(im.w == W && im.h == H && im.c == 3);
	double gap = 0;
	for (int i = 0; i < W * H * 3; i++) gap += fabs((double)im.px[i] - rgb[i]);
	print_message("colour JPEG at quality 100: mean gap %.2f levels\n", gap / (W * H * 3));
	assert_true(gap / (W * H * 3) < 3);
	cli_image_free(&im);
	/* stb_image_write stores gray as YCbCr too: it comes back as three equal channels */
	assert_int_equal(cli_image_read(at("g.jpg"), &im, err), 0);
	assert_true(im.w == W && im.h == H);
	for (int i = 0; i < W * H; i++)
		assert_true(abs(im.px[i * im.c] - gray[i]) <= 4 &&
		            abs(im.px[i * im.c + im.c - 1] - im.px[i * im.c]) <= 2);
	cli_image_free(&im);
	/* a model input from it: 28x28 gray, in [0, 1] */
	float x[28 * 28];
	assert_int_equal(cli_image_input(at("c.jpg"), (struct cn_shape){1, 28, 28}, x, err), 0);
	for (int i = 0; i < 28 * 28; i++) assert_true(x[i] >= 0 && x[i] <= 1);
	/* cut short: refused, the file named */
	size_t len;
	uint8_t *bytes = tu_read_file(at("c.jpg"), &len);
	tu_write_file(at("cut.jpg"), bytes, len / 3);
	free(bytes);
	assert_int_not_equal(cli_image_read(at("cut.jpg"), &im, err), 0);
	print_message("a cut JPEG: %s\n", err);
	assert_non_null(strstr(err, "cut.jpg: "));
	assert_non_null(strstr(err, "JPEG"));
	assert_null(im.px);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shrinks_by_area_average),
	    cmocka_unit_test(jpeg_files),
	};
	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
