/*
 * Training curves as the reports draw them: two panels side by side, mean loss and accuracy
 * per epoch, each run in its own colour with train solid and test dashed, axes with "nice"
 * ticks (1, 2, 2.5 or 5 times a power of ten) and a legend row per run below the panels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "picture.h"

/* Matplotlib's "tab10" colours: distinct, and familiar from the reports. */
static const uint32_t palette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

int cli_run_add(struct cli_run *r, double epoch, double train_loss, double train_acc,
                double test_loss, double test_acc)
{
	if (r->n == r->cap) {
		int cap = r->cap ? 2 * r->cap : 16;
		double **cols[] = {&r->epoch, &r->train_loss, &r->train_acc, &r->test_loss,
		                   &r->test_acc};
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			double *p = realloc(*cols[k], (size_t)cap * sizeof(double));
			if (!p) return 1;
			*cols[k] = p;
		}
		r->cap = cap;
	}
	r->epoch[r->n] = epoch;
	r->train_loss[r->n] = train_loss;
	r->train_acc[r->n] = train_acc;
	r->test_loss[r->n] = test_loss;
	r->test_acc[r->n] = test_acc;
	r->n++;
	return 0;
}

void cli_run_free(struct cli_run *r)
{
	free(r->epoch);
	free(r->train_loss);
	free(r->train_acc);
	free(r->test_loss);
	free(r->test_acc);
	r->epoch = r->train_loss = r->train_acc = r->test_loss = r->test_acc = NULL;
	r->n = r->cap = 0;
}

int cli_run_parse(struct cli_run *r, const char *text, size_t len, int *skipped, char *err)
{
	static const char want[] = "epoch,train_loss,train_acc,test_loss,test_acc";
	*skipped = 0;
	if (len < sizeof(want) - 1 || memcmp(text, want, sizeof(want) - 1) != 0) {
		snprintf(err, CLI_MSG_LEN, "the first line is not colnet's CSV header (%s,...)",
		         want);
		return 1;
	}
	const char *p = memchr(text, '\n', len), *end = text + len;
	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		char line[256];
		double v[5];
		int used = 0;
		if (n > 0 && n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			/* %n counts what the five numbers took; the row may carry more columns */
			if (sscanf(line, "%lf,%lf,%lf,%lf,%lf%n", &v[0], &v[1], &v[2], &v[3], &v[4],
			           &used) == 5 &&
			    (line[used] == '\0' || line[used] == ',' || line[used] == '\r')) {
				bool finite = true;
				for (int k = 0; k < 5; k++) finite = finite && isfinite(v[k]);
				if (finite) {
					if (cli_run_add(r, v[0], v[1], v[2], v[3], v[4]))
						return snprintf(err, CLI_MSG_LEN, "out of memory"),
						       1;
					p = eol;
					continue;
				}
			}
		}
		if (n > 0) ++*skipped;
		p = eol;
	}
	return 0;
}

void cli_nice_ticks(double lo, double hi, int max_ticks, double *first, double *step, int *count)
{
	if (!(hi > lo)) hi = lo + 1;
	double raw = (hi - lo) / (max_ticks > 1 ? max_ticks - 1 : 1);
	double mag = pow(10, floor(log10(raw))), s = 10 * mag;
	static const double mult[] = {1, 2, 2.5, 5, 10};
	for (size_t k = 0; k < sizeof(mult) / sizeof(mult[0]); k++)
		if (mult[k] * mag >= raw) {
			s = mult[k] * mag;
			break;
		}
	*step = s;
	*first = ceil(lo / s - 1e-9) * s;
	*count = (int)floor((hi - *first) / s + 1e-9) + 1;
}

/* A tick label with as many decimals as the step needs. */
static void tick_label(char *buf, size_t len, double v, double step)
{
	int dec = 0;
	while (dec < 6 && fabs(step * pow(10, dec) - round(step * pow(10, dec))) > 1e-6) dec++;
	snprintf(buf, len, "%.*f", dec, fabs(v) < step * 1e-9 ? 0.0 : v);
}

struct axes {
	int x, y, w, h;        /* plot area in pixels */
	double x0, x1, y0, y1; /* data range shown */
};

static double px_x(const struct axes *a, double v)
{
	return a->x + (v - a->x0) / (a->x1 - a->x0) * a->w;
}

static double px_y(const struct axes *a, double v)
{
	return a->y + a->h - (v - a->y0) / (a->y1 - a->y0) * a->h;
}

/* Frame, grid, ticks and labels of one panel. */
static void draw_axes(struct cli_image *im, const struct cli_font *f, const struct axes *a,
                      const char *title, const char *ylabel)
{
	double first, step;
	int count;
	char buf[32];
	cli_nice_ticks(a->y0, a->y1, 7, &first, &step, &count);
	for (int k = 0; k < count; k++) {
		double v = first + k * step, py = px_y(a, v);
		cli_line(im, a->x, py, a->x + a->w, py, 1, CLI_GRID);
		cli_line(im, a->x - 5, py, a->x, py, 1, CLI_BLACK);
		tick_label(buf, sizeof(buf), v, step);
		cli_text(im, f, 13, a->x - 8, (int)(py + 4.5), CLI_RIGHT, false, CLI_BLACK, buf);
	}
	int max_x = a->w / 55; /* room for a label every 55 pixels */
	cli_nice_ticks(a->x0, a->x1, max_x < 2 ? 2 : max_x, &first, &step, &count);
	/* epochs are whole numbers: a step of 0.5 or 2.5 becomes 1 or 5 */
	if (step < 1) step = 1;
	if (fmod(step, 1) != 0) step *= 2;
	first = ceil(a->x0 / step - 1e-9) * step;
	count = (int)floor((a->x1 - first) / step + 1e-9) + 1;
	for (int k = 0; k < count; k++) {
		double v = first + k * step, px = px_x(a, v);
		cli_line(im, px, a->y, px, a->y + a->h, 1, CLI_GRID);
		cli_line(im, px, a->y + a->h, px, a->y + a->h + 5, 1, CLI_BLACK);
		tick_label(buf, sizeof(buf), v, 1);
		cli_text(im, f, 13, (int)px, a->y + a->h + 20, CLI_CENTER, false, CLI_BLACK, buf);
	}
	/* the frame last, over the grid */
	cli_line(im, a->x, a->y, a->x + a->w, a->y, 1, CLI_BLACK);
	cli_line(im, a->x, a->y + a->h, a->x + a->w, a->y + a->h, 1, CLI_BLACK);
	cli_line(im, a->x, a->y, a->x, a->y + a->h, 1, CLI_BLACK);
	cli_line(im, a->x + a->w, a->y, a->x + a->w, a->y + a->h, 1, CLI_BLACK);
	cli_text(im, f, 17, a->x + a->w / 2, a->y - 12, CLI_CENTER, false, CLI_BLACK, title);
	cli_text(im, f, 14, a->x + a->w / 2, a->y + a->h + 42, CLI_CENTER, false, CLI_BLACK,
	         "epoch");
	cli_text(im, f, 14, a->x - 52, a->y + a->h / 2, CLI_CENTER, true, CLI_BLACK, ylabel);
}

/* Data range of column col (0 train loss .. 3 test acc) over all runs, scaled by mul. */
static void range(const struct cli_run *runs, int n, int col, double mul, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (int r = 0; r < n; r++) {
		const double *cols[] = {runs[r].train_loss, runs[r].test_loss, runs[r].train_acc,
		                        runs[r].test_acc};
		for (int i = 0; i < runs[r].n; i++)
			for (int k = col; k < col + 2; k++) {
				*lo = fmin(*lo, cols[k][i] * mul);
				*hi = fmax(*hi, cols[k][i] * mul);
			}
	}
}

static void draw_curves(struct cli_image *im, const struct axes *a, const struct cli_run *runs,
                        int n, int col, double mul)
{
	for (int r = 0; r < n; r++) {
		const struct cli_run *run = &runs[r];
		const double *cols[] = {run->train_loss, run->test_loss, run->train_acc,
		                        run->test_acc};
		double *xs = malloc((size_t)run->n * sizeof(double));
		double *ys = malloc((size_t)run->n * sizeof(double));
		for (int k = col; xs && ys && k < col + 2; k++) {
			for (int i = 0; i < run->n; i++) {
				xs[i] = px_x(a, run->epoch[i]);
				ys[i] = px_y(a, cols[k][i] * mul);
			}
			uint32_t c = palette[r % (int)(sizeof(palette) / sizeof(palette[0]))];
			cli_polyline(im, xs, ys, run->n, 2.2, k == col ? 0 : 7, c);
			for (int i = 0; i < run->n; i++) cli_dot(im, xs[i], ys[i], 2.8, c);
		}
		free(xs);
		free(ys);
	}
}

int cli_plot_draw(const struct cli_run *runs, int n, const struct cli_font *f, struct cli_image *im,
                  char *err)
{
	if (cli_image_alloc(im, CLI_PLOT_W, CLI_PLOT_H(n), 3))
		return snprintf(err, CLI_MSG_LEN, "out of memory for the figure"), 1;
	memset(im->px, 0xff, (size_t)im->w * im->h * 3);
	double e_lo = INFINITY, e_hi = -INFINITY;
	for (int r = 0; r < n; r++)
		for (int i = 0; i < runs[r].n; i++) {
			e_lo = fmin(e_lo, runs[r].epoch[i]);
			e_hi = fmax(e_hi, runs[r].epoch[i]);
		}
	if (!(e_hi >= e_lo)) e_lo = e_hi = 1; /* no rows at all: empty axes */
	/* half an epoch of air on both sides keeps the first and last dots off the frame */
	struct axes loss = {90, 50, 440, 310, e_lo - 0.5, e_hi + 0.5, 0, 1};
	struct axes acc = loss;
	acc.x = 90 + 440 + 110;
	double lo, hi;
	range(runs, n, 0, 1, &lo, &hi);
	loss.y1 = isfinite(hi) && hi > 0 ? hi * 1.08 : 1;
	range(runs, n, 2, 100, &lo, &hi);
	if (!isfinite(lo)) lo = 0, hi = 100;
	double pad = fmax((hi - lo) * 0.08, 0.5);
	acc.y0 = fmax(0, lo - pad);
	/* 100% stays the top tick, with room for the dots drawn on it */
	acc.y1 = hi + pad < 100 ? hi + pad : 100 + 0.03 * (100 - acc.y0);
	if (acc.y1 - acc.y0 < 1) acc.y0 = acc.y1 - 1;
	draw_axes(im, f, &loss, "loss", "mean cross-entropy");
	draw_axes(im, f, &acc, "accuracy", "accuracy (%)");
	draw_curves(im, &loss, runs, n, 0, 1);
	draw_curves(im, &acc, runs, n, 2, 100);
	/* legend: one row per run, its name, then a solid and a dashed sample in its colour */
	double name_w = 100;
	for (int r = 0; r < n; r++) name_w = fmax(name_w, cli_text_width(f, 14, runs[r].name));
	for (int r = 0; r < n; r++) {
		int y = 430 + 24 * r - 6;
		uint32_t c = palette[r % (int)(sizeof(palette) / sizeof(palette[0]))];
		cli_text(im, f, 14, 90, y, CLI_LEFT, false, CLI_BLACK, runs[r].name);
		double x = 90 + name_w + 20;
		double xs[] = {x, x + 40}, ys[] = {y - 5, y - 5};
		cli_polyline(im, xs, ys, 2, 2.2, 0, c);
		cli_text(im, f, 14, (int)x + 48, y, CLI_LEFT, false, CLI_BLACK, "train");
		xs[0] = x + 100, xs[1] = x + 140;
		cli_polyline(im, xs, ys, 2, 2.2, 7, c);
		cli_text(im, f, 14, (int)x + 148, y, CLI_LEFT, false, CLI_BLACK, "test");
	}
	return 0;
}
