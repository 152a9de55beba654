/*
 * libFuzzer harness for the ONNX importer (cn_onnx_load_mem: protobuf-c's generated reader,
 * then colnet's checks and graph walk). A refused input must leave nothing behind and say
 * CN_ERR_FORMAT (or CN_ERR_NOMEM); an accepted one must be a working network: small ones are
 * planned and run, and every accepted one exports and imports back to the same parameters
 * (the importer reads what the exporter writes, whatever the input looked like) and saves as
 * a checkpoint that loads back with the same parameters and statistics (an imported batch norm
 * once stored a negative variance, which ran but whose checkpoint did not load).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "colnet.h"
#include "colnet_onnx.h"

#define MAX_PARAMS (1u << 18)
#define MAX_FLOPS  (1 << 21) /* forward, per image */

static void run(struct cn_net *net)
{
	int64_t flops = 0;
	for (int32_t i = 0; i < cn_net_layer_count(net); i++) flops += cn_net_layer_flops(net, i);
	struct cn_shape s = cn_net_input_shape(net);
	if (cn_net_param_count(net) > MAX_PARAMS || flops > MAX_FLOPS ||
	    (int64_t)s.c * s.h * s.w > (1 << 16) || cn_net_plan(net, 2, CN_PLAN_INFER) != CN_OK)
		return;
	float *x = cn_net_input(net);
	for (size_t i = 0; i < (size_t)2 * s.c * s.h * s.w; i++) x[i] = (float)(i % 5) / 5.0f;
	const float *y;
	if (cn_net_forward(net, x, 2, &y) != CN_OK) {
		fprintf(stderr, "fuzz_onnx: an accepted net does not run: %s\n", cn_net_error(net));
		abort();
	}
}

static char dir[] = "/tmp/fuzz_onnx.XXXXXX", path[64];

static void remove_dir(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (!mkdtemp(dir)) abort();
	snprintf(path, sizeof(path), "%s/net.ckpt", dir);
	atexit(remove_dir);
	return 0;
}

/* an accepted net saves as a checkpoint, and the checkpoint loads back the same */
static void check_checkpoint(struct cn_net *net)
{
	char err[CN_ERR_LEN];
	struct cn_net *back = NULL;
	if (cn_net_save(net, path, err) != CN_OK || cn_net_load(&back, path, err) != CN_OK) {
		fprintf(stderr, "fuzz_onnx: an accepted net's checkpoint: %s\n", err);
		abort();
	}
	if (cn_net_param_count(back) != cn_net_param_count(net) ||
	    cn_net_state_count(back) != cn_net_state_count(net) ||
	    memcmp(cn_net_params(back), cn_net_params(net),
	           cn_net_param_count(net) * sizeof(float)) != 0 ||
	    (cn_net_state_count(net) && memcmp(cn_net_state(back), cn_net_state(net),
	                                       cn_net_state_count(net) * sizeof(float)) != 0)) {
		fprintf(stderr, "fuzz_onnx: the checkpoint changed the parameters or statistics\n");
		abort();
	}
	cn_net_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CN_ERR_LEN];
	struct cn_net *net = (struct cn_net *)1, *back = NULL;
	enum cn_status st = cn_onnx_load_mem(&net, data, size, "fuzz", err);
	if (st != CN_OK) {
		if (net || (st != CN_ERR_FORMAT && st != CN_ERR_NOMEM) || !err[0]) {
			fprintf(stderr, "fuzz_onnx: an unclean refusal (status %d): %s\n", (int)st,
			        err);
			abort();
		}
		return 0;
	}
	run(net);
	check_checkpoint(net);
	void *buf;
	size_t len;
	if (cn_onnx_encode(net, &buf, &len, err) == CN_OK) {
		if (cn_onnx_load_mem(&back, buf, len, "again", err) != CN_OK) {
			fprintf(stderr, "fuzz_onnx: the re-export does not load: %s\n", err);
			abort();
		}
		if (cn_net_param_count(back) != cn_net_param_count(net) ||
		    memcmp(cn_net_params(back), cn_net_params(net),
		           cn_net_param_count(net) * sizeof(float)) != 0) {
			fprintf(stderr, "fuzz_onnx: the re-export changed the parameters\n");
			abort();
		}
		cn_net_free(back);
		free(buf);
	}
	cn_net_free(net);
	return 0;
}
