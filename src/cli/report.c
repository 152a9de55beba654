/*
 * What training shows: the per-epoch table the reports print, a progress bar with images/s,
 * running loss and time left when stderr is a terminal (nothing otherwise, so logs stay
 * readable), and the CSV log, rewritten atomically after every epoch so it is never torn.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void cli_table_header(FILE *f)
{
	fprintf(f, "%5s %10s %9s %10s %9s %8s %9s\n", "epoch", "train_loss", "train_acc",
	        "test_loss", "test_acc", "seconds", "images/s");
	fflush(f);
}

void cli_table_row(FILE *f, const struct cn_epoch_stats *s, double test_loss, double test_acc)
{
	fprintf(f, "%5d %10.4f %8.2f%% %10.4f %8.2f%% %8.2f %9.0f\n", s->epoch, s->train_loss,
	        100 * s->train_acc, test_loss, 100 * test_acc, s->seconds, s->images_per_sec);
	fflush(f);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct cli_progress cli_progress_start(int epoch, int epochs)
{
	double t = now();
	return (struct cli_progress){epoch, epochs, isatty(STDERR_FILENO) == 1, t, 0};
}

int cli_progress_update(void *p, int32_t done, int32_t total, double loss)
{
	struct cli_progress *bar = p;
	double t = now();
	int stop = cli_stop_signal() != 0;
	if (!bar->tty || (t - bar->last_draw < 0.1 && done < total)) return stop;
	bar->last_draw = t;
	enum { WIDTH = 30 };
	int filled = (int)((int64_t)WIDTH * done / total);
	char cells[WIDTH + 1];
	for (int i = 0; i < WIDTH; i++) cells[i] = i < filled ? '=' : i == filled ? '>' : ' ';
	cells[WIDTH] = '\0';
	double rate = done / (t - bar->start + 1e-9);
	fprintf(stderr, "\r epoch %d/%d [%s] %3d%% %7.0f img/s loss %.4f, %4.0fs left ", bar->epoch,
	        bar->epochs, cells, (int)(100LL * done / total), rate, loss,
	        (total - done) / (rate > 0 ? rate : 1));
	fflush(stderr);
	return stop;
}

void cli_progress_end(struct cli_progress *bar)
{
	if (bar->tty) fprintf(stderr, "\r%78s\r", "");
}

static int append(struct cli_log *log, const char *line)
{
	size_t n = strlen(line);
	if (log->len + n + 1 > log->cap) {
		size_t cap = (log->cap + n + 1) * 2;
		char *text = realloc(log->text, cap);
		if (!text) return 1;
		log->text = text;
		log->cap = cap;
	}
	memcpy(log->text + log->len, line, n + 1);
	log->len += n;
	return 0;
}

/* A resumed run keeps the rows of the epochs it already did. */
static void keep_old_rows(struct cli_log *log, int32_t epochs_done)
{
	FILE *f = fopen(log->path, "r");
	if (!f) return;
	char line[512];
	if (fgets(line, sizeof(line), f) &&
	    strncmp(line, CLI_CSV_HEADER, strlen(CLI_CSV_HEADER)) == 0)
		while (fgets(line, sizeof(line), f))
			if (atoi(line) >= 1 && atoi(line) <= epochs_done && strchr(line, '\n'))
				append(log, line);
	fclose(f);
}

int cli_log_open(struct cli_log *log, const char *path, int32_t epochs_done)
{
	*log = (struct cli_log){.path = path};
	if (!path) return 0;
	if (append(log, CLI_CSV_HEADER "\n")) return cli_fail("out of memory");
	if (epochs_done > 0) keep_old_rows(log, epochs_done);
	return 0;
}

int cli_log_row(struct cli_log *log, const struct cn_epoch_stats *s, double test_loss,
                double test_acc, char *err)
{
	char line[256];
	snprintf(line, sizeof(line), "%d,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f\n", s->epoch, s->train_loss,
	         s->train_acc, test_loss, test_acc, s->seconds, s->images_per_sec);
	if (append(log, line)) return snprintf(err, CN_ERR_LEN, "out of memory"), 1;
	return cli_write_atomic(log->path, log->text, log->len, err, CN_ERR_LEN);
}

void cli_log_close(struct cli_log *log)
{
	free(log->text);
	*log = (struct cli_log){0};
}
