/*
 * colnet predict: class probabilities of test-set images and of image files and folders, as
 * text, CSV or JSON. Images go through cn_net_predict in batches. A file that cannot be read
 * or classified is named on stderr (and in the JSON) and skipped; the run goes on, and exits
 * 1 at the end if any input failed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "data.h"
#include "picture.h"

static const char usage[] =
    "usage: colnet predict --model FILE [options] [--] [IMAGE|FOLDER ...]\n"
    "  each image's class probabilities (with the class names a model trained on class\n"
    "  folders keeps) and the predicted class; an input that cannot be read is named on\n"
    "  stderr and skipped, and the exit status is 1 at the end\n"
    "  --model FILE   a checkpoint written by colnet train --save\n"
    "  --format F     text (default), csv (a header, then one row per image:\n"
    "                 input,label,predicted,class,probability, then one column per class)\n"
    "                 or json (an array of {input, label, predicted, class, probability,\n"
    "                 probabilities}, and {input, error} for an input that failed)\n"
    "  --index K      test-set image K of --data (repeatable)\n"
    "  --data DIR     where --index looks (default " CLI_DEFAULT_DATA ")\n"
    "  --val X        as for eval, when --data is class folders without test/\n"
    "  IMAGE          a PNG, JPEG, PGM (P5) or PPM (P6) file, converted to the model's\n"
    "                 input: gray <-> RGB, resized by area averaging where it shrinks and\n"
    "                 bilinearly where it grows\n"
    "  FOLDER         every .png .jpg .jpeg .pgm .ppm file under it, in name order\n";

#define BATCH     32 /* images per cn_net_predict */
#define MAX_DEPTH 32 /* folder nesting followed */

enum format { TEXT, CSV, JSON };

/* The output: a format, the model's classes, and the tally of inputs. */
struct out {
	enum format fmt;
	const struct cn_net *net;
	int32_t k;
	int records, failed;
};

/*
 * One batch waiting for cn_net_predict, in input order: the inputs' names, labels (-1: none)
 * and, for an input that already failed, its message (its pixels are zeros).
 */
struct batch {
	float *x;     /* [BATCH, H, W, C] */
	float *probs; /* [BATCH, K] */
	size_t in_len;
	int32_t cls[BATCH], label[BATCH];
	char *name[BATCH], *error[BATCH];
	int n;
};

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled */
static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"') putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* A class's name: the one the model keeps, else its number (buf holds it). */
static const char *class_name(const struct out *o, int32_t j, char *buf, size_t len)
{
	const char *name = cn_net_class_name(o->net, j);
	if (name) return name;
	snprintf(buf, len, "%d", j);
	return buf;
}

static void begin(struct out *o)
{
	char buf[16];
	if (o->fmt == JSON) puts("[");
	if (o->fmt != CSV) return;
	fputs("input,label,predicted,class,probability", stdout);
	for (int32_t j = 0; j < o->k; j++) {
		putchar(',');
		csv_field(class_name(o, j, buf, sizeof(buf)));
	}
	putchar('\n');
}

static void json_next(struct out *o)
{
	if (o->records++) puts(",");
}

static void record(struct out *o, const char *input, int32_t label, const float *p, int32_t best)
{
	char buf[16], lbuf[16];
	const char *name = class_name(o, best, buf, sizeof(buf));
	if (o->fmt == TEXT) {
		printf("%s:", input);
		for (int32_t j = 0; j < o->k; j++)
			printf(" %s:%.3f", class_name(o, j, lbuf, sizeof(lbuf)), (double)p[j]);
		if (label >= 0)
			printf("  -> %s (label %s)\n", name,
			       class_name(o, label, lbuf, sizeof(lbuf)));
		else
			printf("  -> %s\n", name);
	} else if (o->fmt == CSV) {
		csv_field(input);
		if (label >= 0) printf(",%d,%d,", label, best);
		if (label < 0) printf(",,%d,", best);
		csv_field(name);
		printf(",%.6g", (double)p[best]);
		for (int32_t j = 0; j < o->k; j++) printf(",%.6g", (double)p[j]);
		putchar('\n');
	} else {
		json_next(o);
		printf("  {\"input\": ");
		json_string(input);
		if (label >= 0) printf(", \"label\": %d", label);
		printf(", \"predicted\": %d, \"class\": ", best);
		json_string(name);
		printf(", \"probability\": %.6g, \"probabilities\": [", (double)p[best]);
		for (int32_t j = 0; j < o->k; j++) printf("%s%.6g", j ? ", " : "", (double)p[j]);
		printf("]}");
	}
}

/* An input that failed: named on stderr always, and in the JSON array too. */
static void record_error(struct out *o, const char *input, const char *msg)
{
	o->failed++;
	fflush(stdout); /* keep the two streams in order on one terminal */
	cli_fail("%s", msg);
	if (o->fmt != JSON) return;
	json_next(o);
	printf("  {\"input\": ");
	json_string(input);
	printf(", \"error\": ");
	json_string(msg);
	printf("}");
}

/* Predict the batch, and write its records in input order. */
static void flush(struct out *o, struct cn_net *net, struct batch *b)
{
	bool whole = b->n && !cn_net_predict(net, b->x, b->n, b->probs, b->cls);
	for (int i = 0; i < b->n; i++) {
		float *p = b->probs + (size_t)i * o->k;
		/* a batch that failed is redone image by image, so one bad image fails alone */
		if (b->error[i])
			record_error(o, b->name[i], b->error[i]);
		else if (whole || !cn_net_predict(net, b->x + i * b->in_len, 1, p, &b->cls[i]))
			record(o, b->name[i], b->label[i], p, b->cls[i]);
		else
			record_error(o, b->name[i], cn_net_error(net));
		free(b->name[i]);
		free(b->error[i]);
	}
	b->n = 0;
}

/* Take the next slot of the batch (predicting the full one first): its pixels, or NULL. */
static float *slot(struct out *o, struct cn_net *net, struct batch *b, const char *name,
                   int32_t label)
{
	if (b->n == BATCH) flush(o, net, b);
	int i = b->n;
	b->name[i] = strdup(name);
	b->error[i] = NULL;
	b->label[i] = label;
	if (!b->name[i]) return NULL;
	b->n++;
	return b->x + (size_t)i * b->in_len;
}

/* Mark the last slot failed, with zeros for pixels so its batch still predicts. */
static void slot_failed(struct batch *b, const char *msg)
{
	int i = b->n - 1;
	memset(b->x + (size_t)i * b->in_len, 0, b->in_len * sizeof(float));
	b->error[i] = strdup(msg);
	if (!b->error[i]) b->n--, free(b->name[i]); /* out of memory: dropped */
}

static void add_file(struct out *o, struct cn_net *net, struct batch *b, const char *path)
{
	char err[CLI_MSG_LEN];
	float *x = slot(o, net, b, path, -1);
	if (!x)
		record_error(o, path, "out of memory");
	else if (cli_image_input(path, cn_net_input_shape(net), x, err))
		slot_failed(b, err);
}

static bool image_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	static const char *const ext[] = {".png", ".jpg", ".jpeg", ".pgm", ".ppm"};
	for (size_t i = 0; dot && i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strcasecmp(dot, ext[i]) == 0) return true;
	return false;
}

/* A file as it is, a folder's image files and subfolders in name order. */
static void add_path(struct out *o, struct cn_net *net, struct batch *b, const char *path,
                     int depth)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		add_file(o, net, b, path);
		return;
	}
	char msg[CLI_MSG_LEN];
	struct dirent **names;
	int n = depth < MAX_DEPTH ? scandir(path, &names, NULL, alphasort) : -1;
	if (n < 0) {
		snprintf(msg, sizeof(msg), "%s: cannot list this folder%s", path,
		         depth < MAX_DEPTH ? "" : " (nested too deep)");
		if (slot(o, net, b, path, -1)) slot_failed(b, msg);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *e = names[i]->d_name;
		size_t len = strlen(path) + strlen(e) + 2;
		char *child = e[0] != '.' ? malloc(len) : NULL;
		if (child) {
			snprintf(child, len, "%s/%s", path, e);
			bool dir = stat(child, &st) == 0 && S_ISDIR(st.st_mode);
			if (dir || image_name(e)) add_path(o, net, b, child, depth + 1);
		}
		free(child);
		free(names[i]);
	}
	free(names);
}

static int parse_format(const char *text, enum format *fmt)
{
	static const char *const names[] = {"text", "csv", "json"};
	for (int i = 0; i < 3; i++)
		if (strcmp(text, names[i]) == 0) return *fmt = (enum format)i, 0;
	return cli_usage_error("--format: '%s' is not text, csv or json", text);
}

int cmd_predict(int argc, char **argv)
{
	const char *model = NULL, *data = CLI_DEFAULT_DATA, *format = "text";
	struct cli_list indices = {0}, inputs = {0};
	float val = 0.1f;
	const struct cli_arg args[] = {
	    {"--model", CLI_STR, &model, 0, 0, NULL},
	    {"--format", CLI_STR, &format, 0, 0, NULL},
	    {"--data", CLI_STR, &data, 0, 0, NULL},
	    {"--val", CLI_FLOAT, &val, 0.001, 0.9, NULL},
	    {"--index", CLI_LIST, &indices, 0, 0, NULL},
	};
	int rc = cli_parse(argc, argv, args, (int)(sizeof(args) / sizeof(args[0])), &inputs, usage);
	struct out o = {TEXT, NULL, 0, 0, 0};
	struct cn_net *net = NULL;
	struct cn_dataset *test = NULL;
	struct batch b = {0};
	if (rc || (rc = parse_format(format, &o.fmt))) goto done;
	if (!indices.n && !inputs.n) {
		rc = cli_usage_error(
		    "predict: give --index K or image files or folders (see --help)");
		goto done;
	}
	if ((rc = cli_load_model(model, BATCH, &net))) goto done;
	struct cn_shape s = cn_net_input_shape(net);
	o.net = net;
	o.k = cn_net_output_len(net);
	b.in_len = (size_t)s.h * s.w * s.c;
	b.x = malloc(BATCH * b.in_len * sizeof(float));
	b.probs = malloc((size_t)BATCH * o.k * sizeof(float));
	if (!b.x || !b.probs) {
		rc = cli_fail("out of memory");
		goto done;
	}
	if (indices.n && (rc = cli_data_test(data, val, 0, s, &test))) goto done;
	/* every --index is checked before any output, as a usage error */
	for (int i = 0; i < indices.n; i++) {
		int32_t idx;
		if (!cli_int("--index", indices.items[i], 0, cn_dataset_count(test) - 1, &idx)) {
			rc = 2;
			goto done;
		}
	}
	begin(&o);
	for (int i = 0; i < indices.n; i++) {
		int32_t idx = (int32_t)strtol(indices.items[i], NULL, 10);
		char name[48];
		snprintf(name, sizeof(name), "test image %d", idx);
		float *x = slot(&o, net, &b, name, -1);
		if (!x)
			record_error(&o, name, "out of memory");
		else if (cn_dataset_gather(test, &idx, 1, x, &b.label[b.n - 1]))
			slot_failed(&b, cn_dataset_error(test));
	}
	for (int i = 0; i < inputs.n; i++) add_path(&o, net, &b, inputs.items[i], 0);
	flush(&o, net, &b);
	if (o.fmt == JSON) printf("%s]\n", o.records ? "\n" : "");
	if (o.failed) {
		fflush(stdout);
		rc = cli_fail("%d input%s could not be classified (named above)", o.failed,
		              o.failed == 1 ? "" : "s");
	}
done:
	free(indices.items);
	free(inputs.items);
	free(b.x);
	free(b.probs);
	cn_dataset_free(test);
	cn_net_free(net);
	return rc < 0 ? 0 : rc;
}
