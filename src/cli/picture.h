/*
 * Pictures for the colnet tool: 8-bit images in memory, PNG (libpng) and PGM/PPM files, a
 * small anti-aliased rasterizer with TrueType text (stb_truetype), and the two figures the
 * tool draws (training curves, feature maps). Front-end code: the library never sees libpng.
 */
#ifndef CN_CLI_PICTURE_H
#define CN_CLI_PICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "colnet.h"

#define CLI_MSG_LEN 512 /* bytes of a message buffer of this module */

/* An 8-bit image, rows top to bottom: px [h, w, c] with c = 1 (gray) or 3 (RGB). */
struct cli_image {
	int32_t w, h, c;
	uint8_t *px;
};

/* ---- image.c: files and conversions ---- */

/* Allocate w x h x c pixels, all zero; non-zero if out of memory or absurd. */
int cli_image_alloc(struct cli_image *im, int32_t w, int32_t h, int32_t c);
void cli_image_free(struct cli_image *im);

/* Largest image side read from a file; bigger ones are refused as odd, not decoded. */
#define CLI_IMAGE_MAX_SIDE 16384

/*
 * Read a PNG, JPEG, binary PGM (P5, 8 or 16 bit) or binary PPM (P6) file, chosen by its first
 * bytes, into im (gray stays 1 channel, colour becomes 3). Non-zero with a message in err.
 */
int cli_image_read(const char *path, struct cli_image *im, char *err);

/*
 * src converted to c channels and resized to h x w into dst [h, w, c]: gray to RGB repeats
 * the value, RGB to gray takes the luma (0.299 R + 0.587 G + 0.114 B). Along an axis that
 * shrinks, each output pixel is the average of the source area it covers (a box filter,
 * fractional pixels weighted by their share), so a 1000-pixel photo does not alias into 28;
 * along one that grows, bilinear (pixel centres aligned, as PIL and OpenCV do). c is 1 or 3.
 * Non-zero if out of memory.
 */
int cli_image_convert(const struct cli_image *src, int32_t h, int32_t w, int32_t c, uint8_t *dst);

/*
 * A model input from an image file: read, convert to shape s and scale to [0, 1] as the
 * datasets do (byte / 255), into x [H, W, C]. Non-zero with a message in err.
 */
int cli_image_input(const char *path, struct cn_shape s, float *x, char *err);

/* ---- jpeg.c ---- */

/* Decode JPEG bytes into im (1 channel if the file is gray, else 3). */
int cli_jpeg_decode(const uint8_t *buf, size_t len, struct cli_image *im, char *err);

/* ---- png.c ---- */

/* Decode PNG bytes into im (1 channel if the file is gray, else 3; alpha over black). */
int cli_png_decode(const uint8_t *buf, size_t len, struct cli_image *im, char *err);
/* Encode im and write it to path atomically (temporary file, fsync, rename). */
int cli_png_write(const char *path, const struct cli_image *im, char *err);

/* ---- draw.c: an RGB canvas ---- */

struct cli_font;

/*
 * The TrueType font for text: $COLNET_FONT if set, else CLI_FONT_PATH (config.mk's
 * PLOT_FONT, Debian's DejaVu Sans). Non-zero with a message naming the file if unreadable.
 */
int cli_font_load(struct cli_font **font, char *err);
void cli_font_free(struct cli_font *font);

/* Colours are 0xRRGGBB. */
enum { CLI_WHITE = 0xffffff, CLI_BLACK = 0x000000, CLI_GRAY = 0x808080, CLI_GRID = 0xe6e6e6 };

/* Text alignment relative to x: left edge, centre or right edge; y is the baseline. */
enum cli_align { CLI_LEFT, CLI_CENTER, CLI_RIGHT };

void cli_fill(struct cli_image *im, int x, int y, int w, int h, uint32_t rgb);
/* Anti-aliased lines of the given width; a polyline with dash > 0 draws dash-long pieces. */
void cli_line(struct cli_image *im, double x0, double y0, double x1, double y1, double width,
              uint32_t rgb);
void cli_polyline(struct cli_image *im, const double *x, const double *y, int n, double width,
                  double dash, uint32_t rgb);
void cli_dot(struct cli_image *im, double x, double y, double radius, uint32_t rgb);
/* UTF-8 text of pixel height px; vertical text reads bottom to top, x then is its baseline. */
void cli_text(struct cli_image *im, const struct cli_font *f, double px, int x, int y,
              enum cli_align align, bool vertical, uint32_t rgb, const char *s);
double cli_text_width(const struct cli_font *f, double px, const char *s);

/* ---- plot.c: training curves ---- */

/* One run: per-epoch figures read from a training CSV (CLI_CSV_HEADER's columns). */
struct cli_run {
	char name[64]; /* legend text */
	int n, cap;
	double *epoch, *train_loss, *train_acc, *test_loss, *test_acc; /* [n] */
};

/* Append one epoch; non-zero if out of memory. */
int cli_run_add(struct cli_run *r, double epoch, double train_loss, double train_acc,
                double test_loss, double test_acc);
/*
 * Parse CSV text (its header must start with CLI_CSV_HEADER's first five columns) into r.
 * Rows that do not parse are skipped and counted in *skipped. Non-zero if the header is wrong.
 */
int cli_run_parse(struct cli_run *r, const char *text, size_t len, int *skipped, char *err);
void cli_run_free(struct cli_run *r);

/* Figure size for n runs: two panels side by side, one legend row per run below them. */
#define CLI_PLOT_W    1100
#define CLI_PLOT_H(n) (430 + 24 * (n))

/* Draw the loss and accuracy panels of runs[n] into im (allocated here). */
int cli_plot_draw(const struct cli_run *runs, int n, const struct cli_font *f, struct cli_image *im,
                  char *err);

/* "Nice" axis ticks for [lo, hi]: first tick, step and count (at most about max_ticks). */
void cli_nice_ticks(double lo, double hi, int max_ticks, double *first, double *step, int *count);

/* ---- maps.c: feature maps and filters ---- */

/* One image's trip through a layer, for cli_maps_draw. */
struct cli_maps {
	const float *x;      /* the input [H, W, C], values in [0, 1] */
	struct cn_shape in;  /* its shape (C is 1 or 3 to be drawn in colour) */
	const float *y;      /* the layer's output [H, W, C] for that image */
	struct cn_shape out; /* its shape */
	const char *title, *subtitle;
};

/*
 * The input beside one tile per output channel, each stretched to its own range (layers with
 * 1x1 outputs share one range). The size follows from the shapes alone: width at least 640.
 */
int cli_maps_draw(const struct cli_maps *m, const struct cli_font *f, struct cli_image *im,
                  char *err);

/*
 * count kernels w [count, KH, KW, CI] (filter = {CI, KH, KW}) on a blue-white-red scale, each
 * to its largest weight; with CI = 3 each kernel is one colour tile, else one tile per channel.
 */
int cli_filters_draw(const float *w, struct cn_shape filter, int32_t count, const char *title,
                     const char *subtitle, const struct cli_font *f, struct cli_image *im,
                     char *err);

/* ---- cmd_plot.c: train --plot, the figure redrawn after every epoch ---- */

struct cli_plotter {
	const char *path; /* NULL: no plot */
	struct cli_run run;
	struct cli_font *font;
};

/*
 * Start plotting to path (NULL: do nothing) under the legend name; a resumed run (epochs_done
 * > 0) first takes its earlier epochs from the CSV at log_path, if any. Non-zero after a
 * message (the font is loaded here, so a missing one is said before training starts).
 */
int cli_plotter_open(struct cli_plotter *p, const char *path, const char *name,
                     const char *log_path, int32_t epochs_done);
/* Add an epoch and rewrite the PNG atomically; non-zero after a message. */
int cli_plotter_epoch(struct cli_plotter *p, const struct cn_epoch_stats *s, double test_loss,
                      double test_acc);
void cli_plotter_close(struct cli_plotter *p);

#endif
