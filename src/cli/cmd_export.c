/* colnet export: a model as an ONNX file, for ONNX Runtime, Netron or any other runtime. */
#include <stdio.h>

#include "cli.h"
#include "colnet_onnx.h"

static const char usage[] =
    "usage: colnet export --model NAME|SPEC|FILE -o FILE.onnx [--shape HxWxC] [--seed N]\n"
    "  --model   a checkpoint (or ONNX file), or a zoo name or spec (fresh weights from\n"
    "            --seed, default 1, for input --shape, default 28x28x1)\n"
    "  -o FILE   the ONNX model (opset 13) written, in inference form: dropout dropped,\n"
    "            batch norm with its running statistics. It takes float NCHW images in\n"
    "            [0, 1] with any batch size and gives the logits, as colnet does.\n";

int cmd_export(int argc, char **argv)
{
	const char *model = NULL, *out = NULL, *shape = NULL;
	uint64_t seed = 1;
	const struct cli_arg args[] = {
	    {"--model", CLI_STR, &model, 0, 0, NULL},  {"--output", CLI_STR, &out, 0, 0, NULL},
	    {"-o", CLI_ALIAS, "--output", 0, 0, NULL}, {"--shape", CLI_STR, &shape, 0, 0, NULL},
	    {"--seed", CLI_U64, &seed, 0, 0, NULL},
	};
	int rc = cli_parse(argc, argv, args, (int)(sizeof(args) / sizeof(args[0])), NULL, usage);
	if (rc) return rc < 0 ? 0 : rc;
	if (!model || !out) return cli_usage_error("export: --model and -o FILE.onnx are required");
	struct cn_shape in = {1, 28, 28};
	if (shape && !cli_shape(shape, &in))
		return cli_usage_error("--shape wants HxWxC such as 28x28x1, each in 1..65536, not "
		                       "'%s'",
		                       shape);
	struct cn_net *net = NULL;
	if ((rc = cli_model_open(model, in, seed, &net))) return rc;
	char err[CN_ERR_LEN];
	if (cn_onnx_save(net, out, err))
		rc = cli_fail("export: %s", err);
	else
		printf("%s: %s, %zu parameters, ONNX opset 13\n", out, cn_net_spec(net),
		       cn_net_param_count(net));
	cn_net_free(net);
	return rc;
}
