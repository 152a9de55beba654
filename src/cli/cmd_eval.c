/* colnet eval: a saved model against the test set: loss, accuracy, confusion matrix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data.h"
#include "picture.h"

static const char eval_usage[] =
    "usage: colnet eval --model FILE [options]\n"
    "  --model FILE   a checkpoint written by colnet train --save, or an ONNX file (*.onnx)\n"
    "  --data DIR     MNIST-style IDX files (default " CLI_DEFAULT_DATA "); the test split\n"
    "                 or class folders of images (as for train: test/ or --val)\n"
    "  --val X        the held-out fraction of class folders without test/ (default 0.1)\n"
    "  --batch N      images per forward pass (default 500)\n"
    "  --limit N      the first N test images only\n"
    "  --threads N    BLAS threads (default: all cores)\n";

int cli_load_model(const char *path, int32_t batch, struct cn_net **net)
{
	char err[CN_ERR_LEN];
	if (!path) return cli_usage_error("--model FILE is required");
	if (cli_net_load(net, path, err)) return cli_fail("%s", err);
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
	if ((rc = cli_load_model(model, batch, &net))) goto done;
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
