/* colnet eval and colnet predict: a saved model against the test set, or single images. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data.h"
#include "picture.h"

static const char eval_usage[] =
    "usage: colnet eval --model FILE [options]\n"
    "  --model FILE   a checkpoint written by colnet train --save\n"
    "  --data DIR     MNIST-style IDX files (default " CLI_DEFAULT_DATA "); the test split\n"
    "                 or class folders of images (as for train: test/ or --val)\n"
    "  --val X        the held-out fraction of class folders without test/ (default 0.1)\n"
    "  --batch N      images per forward pass (default 500)\n"
    "  --limit N      the first N test images only\n"
    "  --threads N    BLAS threads (default: all cores)\n";

static int load_model(const char *path, int32_t batch, struct cn_net **net)
{
	char err[CN_ERR_LEN];
	if (!path) return cli_usage_error("--model FILE is required");
	if (cn_net_load(net, path, err)) return cli_fail("%s", err);
	if (cn_net_plan(*net, batch, CN_PLAN_INFER)) return cli_fail("%s", cn_net_error(*net));
	return 0;
}

int cmd_eval(int argc, char **argv)
{
	const char *model = NULL, *data = CLI_DEFAULT_DATA;
	int32_t batch = 500, limit = 0, threads = cli_cores();
	float val = 0.1f;
	const struct cli_arg args[] = {
	    {"--model", CLI_STR, &model, 0, 0, NULL},
	    {"--data", CLI_STR, &data, 0, 0, NULL},
	    {"--val", CLI_FLOAT, &val, 0.001, 0.9, NULL},
	    {"--batch", CLI_INT, &batch, 1, 100000, NULL},
	    {"--limit", CLI_INT, &limit, 1, INT32_MAX, NULL},
	    {"--threads", CLI_INT, &threads, 1, 256, NULL},
	};
	int rc =
	    cli_parse(argc, argv, args, (int)(sizeof(args) / sizeof(args[0])), NULL, eval_usage);
	if (rc) return rc < 0 ? 0 : rc;
	cn_set_blas_threads(threads);
	struct cn_net *net = NULL;
	struct cn_dataset *test = NULL;
	int64_t *confusion = NULL;
	if ((rc = load_model(model, batch, &net))) goto done;
	if ((rc = cli_data_test(data, val, limit, cn_net_input_shape(net), &test))) goto done;
	int32_t k = cn_net_output_len(net);
	confusion = calloc((size_t)k * k, sizeof(*confusion));
	double loss, acc;
	if (!confusion) {
		rc = cli_fail("out of memory");
	} else if (cn_evaluate(net, test, &loss, &acc, confusion)) {
		rc = cli_fail("%s", cn_net_error(net));
	} else {
		printf("%d test images: accuracy %.2f%%, mean loss %.4f\n", cn_dataset_count(test),
		       100 * acc, loss);
		printf("confusion matrix (rows: true class, columns: predicted)\n     ");
		for (int32_t j = 0; j < k; j++) printf(" %6d", j);
		printf("\n");
		for (int32_t i = 0; i < k; i++) {
			printf("%4d ", i);
			for (int32_t j = 0; j < k; j++)
				printf(" %6lld", (long long)confusion[i * k + j]);
			printf("\n");
		}
		for (int32_t i = 0; i < k && cn_net_class_name(net, 0); i++)
			printf("%s%d %s%s", i ? ", " : "classes: ", i, cn_net_class_name(net, i),
			       i == k - 1 ? "\n" : "");
	}
done:
	free(confusion);
	cn_dataset_free(test);
	cn_net_free(net);
	return rc;
}

static const char predict_usage[] =
    "usage: colnet predict --model FILE [--data DIR] [--index K ...] [IMAGE ...]\n"
    "  prints each image's class probabilities (with the class names a model trained on\n"
    "  class folders keeps) and the predicted class\n"
    "  --index K      test-set image K of --data (repeatable)\n"
    "  --val X        as for eval, when --data is class folders without test/\n"
    "  IMAGE          a PNG, PGM (P5) or PPM (P6) file, converted to the model's input\n"
    "                 (resized bilinearly, gray <-> RGB)\n";

static void print_probs(const struct cn_net *net, const char *what, const float *probs,
                        int32_t best, int32_t k, int label)
{
	printf("%s:", what);
	for (int32_t j = 0; j < k; j++) {
		if (cn_net_class_name(net, j))
			printf(" %s:%.3f", cn_net_class_name(net, j), probs[j]);
		else
			printf(" %d:%.3f", j, probs[j]);
	}
	const char *bn = cn_net_class_name(net, best), *ln = cn_net_class_name(net, label);
	if (bn && label >= 0)
		printf("  -> %s (label %s)\n", bn, ln);
	else if (bn)
		printf("  -> %s\n", bn);
	else if (label >= 0)
		printf("  -> %d (label %d)\n", best, label);
	else
		printf("  -> %d\n", best);
}

int cmd_predict(int argc, char **argv)
{
	const char *model = NULL, *data = CLI_DEFAULT_DATA;
	struct cli_list indices = {0}, files = {0};
	float val = 0.1f;
	const struct cli_arg args[] = {
	    {"--model", CLI_STR, &model, 0, 0, NULL},
	    {"--data", CLI_STR, &data, 0, 0, NULL},
	    {"--val", CLI_FLOAT, &val, 0.001, 0.9, NULL},
	    {"--index", CLI_LIST, &indices, 0, 0, NULL},
	};
	int rc = cli_parse(argc, argv, args, (int)(sizeof(args) / sizeof(args[0])), &files,
	                   predict_usage);
	struct cn_net *net = NULL;
	struct cn_dataset *test = NULL;
	float *x = NULL;
	char err[CLI_MSG_LEN];
	if (rc) goto done;
	if (!indices.n && !files.n) {
		rc = cli_usage_error("predict: give --index K or image files (see --help)");
		goto done;
	}
	if ((rc = load_model(model, 1, &net))) goto done;
	struct cn_shape s = cn_net_input_shape(net);
	int32_t k = cn_net_output_len(net);
	x = malloc((size_t)s.c * s.h * s.w * sizeof(float));
	float *probs = malloc((size_t)k * sizeof(float));
	if (!x || !probs) {
		free(probs);
		rc = cli_fail("out of memory");
		goto done;
	}
	if (indices.n && (rc = cli_data_test(data, val, 0, s, &test))) goto done;
	for (int i = 0; i < indices.n && !rc; i++) {
		int32_t idx, label, best;
		if (!cli_int("--index", indices.items[i], 0, cn_dataset_count(test) - 1, &idx)) {
			rc = 2;
		} else if (cn_dataset_gather(test, &idx, 1, x, &label)) {
			rc = cli_fail("%s", cn_dataset_error(test));
		} else if (cn_net_predict(net, x, 1, probs, &best)) {
			rc = cli_fail("%s", cn_net_error(net));
		} else {
			char what[64];
			snprintf(what, sizeof(what), "test image %d", idx);
			print_probs(net, what, probs, best, k, label);
		}
	}
	for (int i = 0; i < files.n && !rc; i++) {
		int32_t best;
		if (cli_image_input(files.items[i], s, x, err)) {
			rc = cli_fail("%s", err);
		} else if (cn_net_predict(net, x, 1, probs, &best)) {
			rc = cli_fail("%s", cn_net_error(net));
		} else {
			print_probs(net, files.items[i], probs, best, k, -1);
		}
	}
	free(probs);
done:
	free(indices.items);
	free(files.items);
	free(x);
	cn_dataset_free(test);
	cn_net_free(net);
	return rc < 0 ? 0 : rc;
}
