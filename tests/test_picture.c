/*
 * The colnet tool's picture code, white-box: PNG and PGM/PPM files round-trip and odd ones are
 * refused with a reason, the bilinear resize and channel conversions give hand-computed
 * values, axis ticks are "nice", training CSVs parse, and each figure (curves, feature maps,
 * filters) has the size its layout promises and is not blank. cli.sh runs the same pictures
 * through the colnet binary and checks them with libpng alone.
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

#include "cli/picture.h"
#include "util.h"

static char dir[64];
static struct cli_font *font;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/cn-test-picture-XXXXXX");
	if (!mkdtemp(dir)) return -1;
	char err[CLI_MSG_LEN];
	if (cli_font_load(&font, err)) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cli_font_free(font);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *at(const char *name)
{
	static char p[2][256];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* Distinct RGB colours of an image (capped at 4096). */
static int distinct(const struct cli_image *im)
{
	static uint32_t seen[4096];
	int n = 0;
	for (size_t i = 0; i < (size_t)im->w * im->h && n < 4096; i++) {
		const uint8_t *p = im->px + i * im->c;
		uint32_t v = im->c == 3 ? (uint32_t)p[0] << 16 | p[1] << 8 | p[2] : p[0];
		int k = 0;
		while (k < n && seen[k] != v) k++;
		if (k == n) seen[n++] = v;
	}
	return n;
}

static void png_round_trip(void **state)
{
	(void)state;
	char err[CLI_MSG_LEN];
	for (int c = 1; c <= 3; c += 2) {
		struct cli_image a, b;
		assert_int_equal(cli_image_alloc(&a, 7, 5, c), 0);
		for (int i = 0; i < 7 * 5 * c; i++) a.px[i] = (uint8_t)(i * 37 + 11);
		assert_int_equal(cli_png_write(at("a.png"), &a, err), 0);
		assert_int_equal(cli_image_read(at("a.png"), &b, err), 0);
		assert_true(b.w == 7 && b.h == 5 && b.c == c);
		assert_memory_equal(a.px, b.px, (size_t)7 * 5 * c);
		cli_image_free(&a);
		cli_image_free(&b);
	}
	assert_int_equal(access(at("a.png"), F_OK), 0);
}

/* a string literal and its length without the final NUL */
#define S(lit) lit, sizeof(lit) - 1

static void pnm_files(void **state)
{
	(void)state;
	char err[CLI_MSG_LEN];
	struct cli_image im;
	/* 8-bit with a comment, 16-bit scaled to 8 bits, and a colour PPM */
	tu_write_file(at("a.pgm"), S("P5\n# made by hand\n2 1\n255\n\x10\xf0"));
	assert_int_equal(cli_image_read(at("a.pgm"), &im, err), 0);
	assert_true(im.w == 2 && im.h == 1 && im.c == 1 && im.px[0] == 0x10 && im.px[1] == 0xf0);
	cli_image_free(&im);
	tu_write_file(at("b.pgm"), S("P5 1 1 65535\n\xff\xff"));
	assert_int_equal(cli_image_read(at("b.pgm"), &im, err), 0);
	assert_int_equal(im.px[0], 255);
	cli_image_free(&im);
	tu_write_file(at("c.ppm"), S("P6 1 1 255\n\x01\x02\x03"));
	assert_int_equal(cli_image_read(at("c.ppm"), &im, err), 0);
	assert_true(im.c == 3 && im.px[0] == 1 && im.px[1] == 2 && im.px[2] == 3);
	cli_image_free(&im);
	static const struct {
		const char *bytes;
		size_t len;
		const char *want;
	} bad[] = {
	    {S("P5 2 2 255\n\x01\x02\x03"), "truncated"},
	    {S("P5 2 2 0\n\x01\x02\x03\x04"), "bad P5 header"},
	    {S("P5 99999 2 255\n"), "bad P5 header"},
	    {S("P5 20000 2 255\n"), "at most 16384"},
	    {S("P2 1 1 255\n1\n"), "not a PNG"},
	    {S("\x89PNG\r\n\x1a\nxxxxxxxxxxxx"), "not a readable PNG"},
	    {S(""), "not a PNG"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_write_file(at("bad"), bad[i].bytes, bad[i].len);
		assert_int_not_equal(cli_image_read(at("bad"), &im, err), 0);
		if (!strstr(err, bad[i].want)) print_error("case %zu: '%s'\n", i, err);
		assert_non_null(strstr(err, bad[i].want));
		assert_non_null(strstr(err, "bad")); /* the message names the file */
		assert_null(im.px);
	}
	assert_int_not_equal(cli_image_read(dir, &im, err), 0);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_not_equal(cli_image_read(at("nothing.png"), &im, err), 0);
}

static void resize_and_channels(void **state)
{
	(void)state;
	uint8_t px[4] = {0, 100, 200, 40}, out[16], rgb[3];
	struct cli_image src = {2, 2, 1, px};
	cli_image_convert(&src, 2, 2, 1, out);
	assert_memory_equal(out, px, 4); /* same size: the same pixels */
	/* 2x2 -> 4x4 with pixel centres aligned: row 0 is 0, 25, 75, 100 */
	cli_image_convert(&src, 4, 4, 1, out);
	const uint8_t row0[4] = {0, 25, 75, 100}, row3[4] = {200, 160, 80, 40};
	assert_memory_equal(out, row0, 4);
	assert_memory_equal(out + 12, row3, 4);
	assert_int_equal(out[5], (uint8_t)lround(0.75 * (0.75 * 0 + 0.25 * 100) +
	                                         0.25 * (0.75 * 200 + 0.25 * 40)));
	/* gray to RGB repeats; RGB to gray is the luma */
	struct cli_image one = {1, 1, 1, px + 1};
	cli_image_convert(&one, 1, 1, 3, rgb);
	assert_true(rgb[0] == 100 && rgb[1] == 100 && rgb[2] == 100);
	uint8_t color[3] = {200, 100, 50}, g;
	struct cli_image c3 = {1, 1, 3, color};
	cli_image_convert(&c3, 1, 1, 1, &g);
	assert_int_equal(g, (uint8_t)lround(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
	/* a model input: a PGM of another size, scaled to [0, 1] */
	char err[CLI_MSG_LEN];
	float x[3];
	tu_write_file(at("in.pgm"), S("P5 2 1 255\n\x00\xff"));
	assert_int_equal(cli_image_input(at("in.pgm"), (struct cn_shape){3, 1, 1}, x, err), 0);
	assert_float_equal(x[0], 128 / 255.0f, 1e-6);
	assert_int_not_equal(cli_image_input(at("in.pgm"), (struct cn_shape){2, 1, 1}, x, err), 0);
	assert_non_null(strstr(err, "2 channels"));
}

static void ticks_and_csv(void **state)
{
	(void)state;
	double first, step;
	int count;
	cli_nice_ticks(0, 1.07, 7, &first, &step, &count);
	assert_true(first == 0 && fabs(step - 0.2) < 1e-12 && count == 6);
	cli_nice_ticks(63.1, 100.6, 9, &first, &step, &count);
	assert_true(first == 65 && step == 5 && count == 8);
	cli_nice_ticks(3, 3, 7, &first, &step, &count); /* an empty range still gets ticks */
	assert_true(count >= 2 && step > 0);

	struct cli_run r = {0};
	int skipped;
	char err[CLI_MSG_LEN];
	const char good[] = "epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_sec\n"
	                    "1,0.5,0.8,0.4,0.85,1.0,100\n"
	                    "garbage\n"
	                    "2,nan,0.8,0.4,0.85,1,1\n"
	                    "3,0.25,0.9,0.3,0.9,1.0,100\r\n";
	assert_int_equal(cli_run_parse(&r, good, strlen(good), &skipped, err), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(skipped, 2);
	assert_true(r.epoch[1] == 3 && r.train_loss[1] == 0.25 && r.test_acc[0] == 0.85);
	cli_run_free(&r);
	assert_int_not_equal(cli_run_parse(&r, "a,b\n1,2\n", 8, &skipped, err), 0);
	assert_non_null(strstr(err, "header"));
}

static void curves_figure(void **state)
{
	(void)state;
	struct cli_run runs[2] = {{.name = "lr 0.01"}, {.name = "lr 0.1"}};
	for (int e = 1; e <= 5; e++) {
		assert_int_equal(
		    cli_run_add(&runs[0], e, 1.0 / e, 0.8 + 0.03 * e, 1.1 / e, 0.79 + 0.03 * e), 0);
		assert_int_equal(
		    cli_run_add(&runs[1], e, 2.0 / e, 0.7 + 0.05 * e, 2.1 / e, 0.69 + 0.05 * e), 0);
	}
	char err[CLI_MSG_LEN];
	for (int n = 1; n <= 2; n++) {
		struct cli_image im;
		assert_int_equal(cli_plot_draw(runs, n, font, &im, err), 0);
		assert_true(im.w == CLI_PLOT_W && im.h == CLI_PLOT_H(n) && im.c == 3);
		assert_true(distinct(&im) > 50); /* anti-aliased curves and text, not a blank */
		/* each run's colour is drawn somewhere */
		const uint32_t colour[2] = {0x1f77b4, 0xff7f0e};
		for (int r = 0; r < n; r++) {
			bool found = false;
			for (size_t i = 0; i < (size_t)im.w * im.h && !found; i++) {
				const uint8_t *p = im.px + 3 * i;
				found = ((uint32_t)p[0] << 16 | p[1] << 8 | p[2]) == colour[r];
			}
			assert_true(found);
		}
		assert_int_equal(cli_png_write(at("curves.png"), &im, err), 0);
		cli_image_free(&im);
	}
	cli_run_free(&runs[0]);
	cli_run_free(&runs[1]);
}

static void maps_and_filters(void **state)
{
	(void)state;
	enum { H = 28, W = 28, C = 32 };
	static float x[H * W], y[H * W * C];
	for (int i = 0; i < H * W; i++) x[i] = (float)((i / W + i % W) % 2);
	for (int i = 0; i < H * W * C; i++) y[i] = (float)((i % C) * 0.1 + (i / C) % W);
	struct cli_maps m = {x, {1, H, W}, y, {C, H, W}, "layer 1", "test image 0"};
	struct cli_image im;
	char err[CLI_MSG_LEN];
	assert_int_equal(cli_maps_draw(&m, font, &im, err), 0);
	/* input 28 x4 = 112, 8 x 4 tiles of 28 x2 = 56 with 4-pixel gaps, margins 16, title 58 */
	assert_int_equal(im.w, 16 + 112 + 24 + 8 * 60 - 4 + 16);
	assert_int_equal(im.h, 58 + 4 * 60 - 4 + 16);
	/* the input's checkerboard: its first two enlarged pixels are black then white */
	assert_int_equal(im.px[(58 * im.w + 16) * 3], 0);
	assert_int_equal(im.px[(58 * im.w + 16 + 4) * 3], 255);
	/* a map is a ramp across x, stretched to its own range: black at left, white at right */
	int gx = 16 + 112 + 24;
	assert_int_equal(im.px[(58 * im.w + gx) * 3], 0);
	assert_int_equal(im.px[(58 * im.w + gx + 55) * 3], 255);
	assert_true(distinct(&im) > 20);
	cli_image_free(&im);

	float w[2 * 3 * 3] = {-1, 0, 1, -1, 0, 1, -1, 0, 1, 1, 1, 1, 0, 0, 0, -2, -2, -2};
	assert_int_equal(
	    cli_filters_draw(w, (struct cn_shape){1, 3, 3}, 2, "filters", "two", font, &im, err),
	    0);
	assert_int_equal(im.w, 640); /* at least 640 wide */
	assert_int_equal(im.h, 58 + 48 + 16);
	/* kernel 0's left column is negative (blue), its right column positive (red) */
	const uint8_t *left = im.px + (58 * im.w + 16) * 3, *right = left + 40 * 3;
	assert_true(left[2] > left[0] && right[0] > right[2]);
	assert_int_equal(cli_png_write(at("filters.png"), &im, err), 0);
	cli_image_free(&im);
}

static void text(void **state)
{
	(void)state;
	struct cli_image im;
	assert_int_equal(cli_image_alloc(&im, 200, 60, 3), 0);
	memset(im.px, 0xff, 200 * 60 * 3);
	double w1 = cli_text_width(font, 16, "epoch"), w2 = cli_text_width(font, 16, "epochs");
	assert_true(w1 > 20 && w2 > w1);
	assert_true(cli_text_width(font, 16, "\xff\xfe") > 0); /* malformed UTF-8 still draws */
	cli_text(&im, font, 16, 10, 30, CLI_LEFT, false, CLI_BLACK, "epoch");
	int dark = 0;
	for (int i = 0; i < 200 * 60; i++) dark += im.px[3 * i] < 128;
	assert_true(dark > 20);
	/* the ink stays between the baseline's ascent and descent, and right of x */
	for (int y = 0; y < 60; y++)
		for (int x = 0; x < 200; x++)
			if (im.px[(y * 200 + x) * 3] < 128) assert_true(y > 12 && y < 36 && x >= 9);
	cli_image_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(png_round_trip),
	    cmocka_unit_test(pnm_files),
	    cmocka_unit_test(resize_and_channels),
	    cmocka_unit_test(ticks_and_csv),
	    cmocka_unit_test(curves_figure),
	    cmocka_unit_test(maps_and_filters),
	    cmocka_unit_test(text),
	};
	return cmocka_run_group_tests_name("picture", tests, setup, teardown);
}
