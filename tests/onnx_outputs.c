/*
 * Test helper for tests/onnx.sh: a model's outputs on the first N MNIST test images, as raw
 * float32 [N, outputs] in the machine's (little-endian) order, so scripts can hold them
 * against ONNX Runtime's and PyTorch's. The model is a checkpoint or an ONNX file (*.onnx).
 *   onnx_outputs MODEL DATA_DIR N OUT.bin
 * Public headers only, like any program built against colnet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colnet.h"
#include "colnet_onnx.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: onnx_outputs MODEL DATA_DIR N OUT.bin\n");
		return 2;
	}
	char err[CN_ERR_LEN];
	struct cn_net *net = NULL;
	struct cn_dataset *ds = NULL;
	size_t len = strlen(argv[1]);
	enum cn_status st = len > 5 && strcmp(argv[1] + len - 5, ".onnx") == 0
	                        ? cn_onnx_load(&net, argv[1], err)
	                        : cn_net_load(&net, argv[1], err);
	if (st || cn_dataset_load_mnist_dir(&ds, argv[2], 0, err)) {
		fprintf(stderr, "onnx_outputs: %s\n", err);
		cn_net_free(net);
		return 1;
	}
	int32_t n = atoi(argv[3]), k = cn_net_output_len(net);
	struct cn_shape s = cn_net_input_shape(net);
	if (n < 1 || n > cn_dataset_count(ds)) n = cn_dataset_count(ds);
	float *x = malloc((size_t)n * s.c * s.h * s.w * sizeof(float));
	int32_t *idx = malloc((size_t)n * sizeof(int32_t)),
	        *labels = malloc((size_t)n * sizeof(int32_t));
	const float *y;
	FILE *f = fopen(argv[4], "wb");
	int rc = 1;
	for (int32_t i = 0; i < n && idx; i++) idx[i] = i;
	if (!x || !idx || !labels || !f)
		fprintf(stderr, "onnx_outputs: out of memory or cannot write %s\n", argv[4]);
	else if (cn_dataset_gather(ds, idx, n, x, labels) || cn_net_plan(net, n, CN_PLAN_INFER) ||
	         cn_net_forward(net, x, n, &y))
		fprintf(stderr, "onnx_outputs: %s\n", cn_net_error(net));
	else if (fwrite(y, sizeof(float), (size_t)n * k, f) != (size_t)n * k)
		fprintf(stderr, "onnx_outputs: cannot write %s\n", argv[4]);
	else
		rc = 0;
	if (f && fclose(f) != 0) rc = 1;
	free(x);
	free(idx);
	free(labels);
	cn_dataset_free(ds);
	cn_net_free(net);
	return rc;
}
