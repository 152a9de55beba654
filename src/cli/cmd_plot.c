/*
 * colnet plot: training CSVs (train --log) drawn as loss and accuracy curves in one PNG, and
 * the plotter behind train --plot, which redraws the figure after every epoch. Both write the
 * PNG atomically, so a viewer watching the file never sees half a picture.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "picture.h"

#define MAX_RUNS 100

static const char usage[] =
    "usage: colnet plot RUN.csv [MORE.csv ...] -o CURVES.png\n"
    "  draws mean loss and accuracy per epoch from CSVs written by colnet train --log:\n"
    "  train solid, test dashed, one colour per CSV (several make a comparison)\n"
    "  -o, --output FILE   the PNG to write (required)\n";

/* The whole text file at path (malloc'd, NUL-terminated); NULL after a message in err. */
static char *read_text(const char *path, size_t *len, char *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t cap = 0;
	*len = 0;
	if (!f) return snprintf(err, CLI_MSG_LEN, "%s: cannot open", path), NULL;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			char *t =
			    cap < ((size_t)64 << 20) ? realloc(text, cap = 2 * cap + 8192) : NULL;
			if (!t) {
				snprintf(err, CLI_MSG_LEN, "%s: too large or out of memory", path);
				free(text);
				fclose(f);
				return NULL;
			}
			text = t;
		}
		size_t got = fread(text + *len, 1, 4096, f);
		*len += got;
		if (got < 4096) break;
	}
	fclose(f);
	text[*len] = '\0';
	return text;
}

/* A legend name: the path as given, less a .csv ending, cut to fit. */
static void run_name(char *name, size_t cap, const char *path)
{
	size_t n = strlen(path);
	if (n > 4 && strcmp(path + n - 4, ".csv") == 0) n -= 4;
	snprintf(name, cap, "%.*s", (int)n, path);
}

/* Read one CSV into r; rows that do not parse are named in a warning. */
static int load_run(const char *path, struct cli_run *r, char *err)
{
	size_t len;
	int skipped;
	char msg[CLI_MSG_LEN];
	char *text = read_text(path, &len, err);
	if (!text) return 1;
	run_name(r->name, sizeof(r->name), path);
	int rc = cli_run_parse(r, text, len, &skipped, msg);
	free(text);
	if (rc) return snprintf(err, CLI_MSG_LEN, "%.200s: %.300s", path, msg), 1;
	if (skipped)
		fprintf(stderr,
		        "colnet: warning: %s: %d row(s) skipped (not five finite numbers)\n", path,
		        skipped);
	if (r->n == 0) return snprintf(err, CLI_MSG_LEN, "%s: no epochs in it", path), 1;
	return 0;
}

static int draw_and_write(const char *out, const struct cli_run *runs, int n,
                          const struct cli_font *font, char *err)
{
	struct cli_image im;
	if (cli_plot_draw(runs, n, font, &im, err)) return 1;
	int rc = cli_png_write(out, &im, err);
	cli_image_free(&im);
	return rc;
}

int cmd_plot(int argc, char **argv)
{
	const char *out = NULL;
	struct cli_list csvs = {0};
	const struct cli_arg args[] = {{"--output", CLI_STR, &out, 0, 0, NULL},
	                               {"-o", CLI_ALIAS, "--output", 0, 0, NULL}};
	int rc = cli_parse(argc, argv, args, 2, &csvs, usage);
	struct cli_run *runs = NULL;
	struct cli_font *font = NULL;
	char err[CLI_MSG_LEN];
	if (rc) goto done;
	if (!out || !csvs.n) {
		rc = cli_usage_error(
		    "plot: give one or more CSV files and -o FILE.png (see --help)");
		goto done;
	}
	if (csvs.n > MAX_RUNS) {
		rc = cli_usage_error("plot: at most %d CSV files, not %d", MAX_RUNS, csvs.n);
		goto done;
	}
	if (!(runs = calloc((size_t)csvs.n, sizeof(*runs)))) {
		rc = cli_fail("out of memory");
		goto done;
	}
	for (int i = 0; i < csvs.n && !rc; i++)
		if (load_run(csvs.items[i], &runs[i], err)) rc = cli_fail("%s", err);
	if (!rc && cli_font_load(&font, err)) rc = cli_fail("%s", err);
	if (!rc && draw_and_write(out, runs, csvs.n, font, err)) rc = cli_fail("%s", err);
	if (!rc)
		printf("wrote %s (%dx%d pixels, HxW): %d run%s\n", out, CLI_PLOT_H(csvs.n),
		       CLI_PLOT_W, csvs.n, csvs.n == 1 ? "" : "s");
done:
	for (int i = 0; runs && i < csvs.n; i++) cli_run_free(&runs[i]);
	free(runs);
	free(csvs.items);
	cli_font_free(font);
	return rc < 0 ? 0 : rc;
}

int cli_plotter_open(struct cli_plotter *p, const char *path, const char *name,
                     const char *log_path, int32_t epochs_done)
{
	char err[CLI_MSG_LEN];
	*p = (struct cli_plotter){.path = path};
	if (!path) return 0;
	run_name(p->run.name, sizeof(p->run.name), name);
	/* the font now, so a missing one stops the run before its first epoch, not after */
	if (cli_font_load(&p->font, err)) return cli_fail("--plot: %s", err);
	if (epochs_done > 0 && log_path) {
		/* a resumed run draws its earlier epochs too, from the log it kept */
		struct cli_run old = {0};
		size_t len;
		int skipped;
		char *text = read_text(log_path, &len, err);
		if (text && !cli_run_parse(&old, text, len, &skipped, err))
			for (int i = 0; i < old.n; i++)
				if (old.epoch[i] <= epochs_done &&
				    cli_run_add(&p->run, old.epoch[i], old.train_loss[i],
				                old.train_acc[i], old.test_loss[i],
				                old.test_acc[i]))
					break;
		free(text);
		cli_run_free(&old);
	}
	return 0;
}

int cli_plotter_epoch(struct cli_plotter *p, const struct cn_epoch_stats *s, double test_loss,
                      double test_acc)
{
	char err[CLI_MSG_LEN];
	if (!p->path) return 0;
	if (cli_run_add(&p->run, s->epoch, s->train_loss, s->train_acc, test_loss, test_acc))
		return cli_fail("--plot: out of memory");
	if (draw_and_write(p->path, &p->run, 1, p->font, err)) return cli_fail("--plot: %s", err);
	return 0;
}

void cli_plotter_close(struct cli_plotter *p)
{
	cli_run_free(&p->run);
	cli_font_free(p->font);
	*p = (struct cli_plotter){0};
}
