/*
 * libFuzzer harness for the model grammar: the input (as a C string) through cn_spec_parse
 * and cn_net_create on two small input shapes; a net small enough (parameters and FLOPs
 * bounded without allocating, so the fuzzer's memory limit never trips on a legitimately big
 * model) is then planned and run: one training step and one inference forward, which puts
 * every planned buffer, im2col workspace and op loop under ASan with the fuzzed geometry.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "colnet.h"
#include "net.h"
#include "spec.h"

#define MAX_PARAMS (1u << 18)
#define MAX_FLOPS  (1 << 21) /* forward, per image */

static void run(const char *spec, struct cn_shape in)
{
	char err[CN_ERR_LEN];
	size_t n;
	if (cn_net_count_params(spec, in, &n, err) != CN_OK || n > MAX_PARAMS) return;
	struct cn_net *net;
	if (cn_net_create(&net, spec, in, 1, err) != CN_OK) abort(); /* the count said it works */
	int64_t flops = 0;
	for (int32_t i = 0; i < cn_net_layer_count(net); i++) flops += cn_net_layer_flops(net, i);
	int32_t outs = cn_net_output_len(net);
	if (flops <= MAX_FLOPS && outs >= 1 && cn_net_plan(net, 2, CN_PLAN_TRAIN) == CN_OK) {
		size_t len = (size_t)2 * in.c * in.h * in.w;
		float *x = cn_net_input(net);
		for (size_t i = 0; i < len; i++) x[i] = (float)(i % 7) / 7.0f;
		int32_t labels[2] = {0, outs - 1};
		float loss;
		enum cn_status st = cn_net_train_step(net, x, labels, 2, &loss);
		if (st != CN_OK && st != CN_ERR_NUMERIC) abort();
		const float *y;
		if (cn_net_plan(net, 3, CN_PLAN_INFER) == CN_OK &&
		    cn_net_forward(net, cn_net_input(net), 3, &y) != CN_OK)
			abort();
	}
	char line[160];
	for (int32_t i = 0; i < cn_net_layer_count(net); i++)
		if (cn_net_layer_describe(net, i, line, sizeof(line)) != CN_OK) abort();
	cn_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	if (!spec) return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	struct cn_layer_desc descs[CN_SPEC_MAX_LAYERS];
	int32_t count = -1;
	char err[CN_ERR_LEN];
	enum cn_status st = cn_spec_parse(spec, descs, &count, err);
	if (st == CN_OK && (count < 1 || count > CN_SPEC_MAX_LAYERS)) abort();
	if (st != CN_OK && st != CN_ERR_FORMAT) abort();
	if (st == CN_OK) {
		run(spec, (struct cn_shape){1, 12, 12});
		run(spec, (struct cn_shape){3, 5, 7});
	}
	free(spec);
	return 0;
}
