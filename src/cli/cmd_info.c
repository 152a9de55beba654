/* colnet info: what this build runs on, and what a model is made of. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage[] =
    "usage: colnet info [--model NAME|SPEC|FILE] [--shape HxWxC] [--batch N] [--chunk N]\n"
    "  without a model: version, BLAS, CPU; with one: its layers, output shapes,\n"
    "  parameters, FLOPs per image, and the plan for training at --batch (default 100):\n"
    "  images per convolution GEMM (--chunk N pins them, as train --chunk does) and memory\n"
    "  --shape HxWxC  the model's input: height, width, channels (default 28x28x1), the\n"
    "                 order every shape of colnet is written in\n";

/* The CPU's model name and the vector extensions that matter for GEMM. */
static void print_cpu(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096], model[256] = "unknown", flags[4096] = "";
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon) continue;
		if (!strncmp(line, "model name", 10) && !strcmp(model, "unknown"))
			snprintf(model, sizeof(model), "%s", colon + 2);
		if (!strncmp(line, "flags", 5) && !flags[0])
			snprintf(flags, sizeof(flags), " %s", colon + 2);
	}
	if (f) fclose(f);
	model[strcspn(model, "\n")] = '\0';
	printf("cpu:     %s\nvector: ", model);
	static const char *const ext[] = {"sse4_2",      "avx",      "avx2",     "fma",
	                                  "avx512f",     "avx512bw", "avx512vl", "avx512_vnni",
	                                  "avx512_bf16", "amx_tile"};
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		char word[32];
		snprintf(word, sizeof(word), " %s ", ext[i]);
		if (strstr(flags, word)) printf(" %s", ext[i]);
	}
	printf("\n");
}

/* The plan's images per GEMM for each convolution, forward and backward. */
static void print_chunks(const struct cn_net *net, int32_t batch)
{
	for (int32_t i = 0; i < cn_net_layer_count(net); i++) {
		int32_t fwd, bwd;
		if (cn_net_layer_chunks(net, i, &fwd, &bwd)) continue; /* not a convolution */
		printf("layer %d: %d images per GEMM forward, %d backward (batch %d, %d threads)\n",
		       i + 1, fwd, bwd, batch, cli_cores());
	}
}

static int print_model(const char *model, struct cn_shape in, int32_t batch, int32_t chunk)
{
	struct cn_net *net = NULL;
	int rc = cli_model_open(model, in, 1, &net);
	if (rc) return rc;
	in = cn_net_input_shape(net);
	cn_set_blas_threads(cli_cores()); /* plan as train and eval do: they set it too */
	printf("\nmodel:   %s\ninput:   %dx%dx%d (HxWxC)\n", cn_net_spec(net), in.h, in.w, in.c);
	for (int32_t i = 0; cn_net_class_name(net, i); i++) /* a model trained on class folders */
		printf("%s%s", i ? ", " : "classes: ", cn_net_class_name(net, i));
	if (cn_net_class_name(net, 0)) printf("\n");
	/* the widest description sets the column: 1280000 params overflowed a fixed 64 */
	int width = 64;
	char line[160];
	for (int32_t i = 0; i < cn_net_layer_count(net); i++) {
		cn_net_layer_describe(net, i, line, sizeof(line));
		if ((int)strlen(line) > width) width = (int)strlen(line);
	}
	printf("%3s  %-*s %12s\n", "#", width, "layer -> output", "MFLOP/img");
	int64_t total = 0;
	for (int32_t i = 0; i < cn_net_layer_count(net); i++) {
		cn_net_layer_describe(net, i, line, sizeof(line));
		int64_t fl = cn_net_layer_flops(net, i);
		total += fl;
		printf("%3d  %-*s %12.3f\n", i + 1, width, line, fl / 1e6);
	}
	printf("parameters: %zu (%.2f MB)\n", cn_net_param_count(net),
	       cn_net_param_count(net) * 4 / 1e6);
	printf("forward: %.2f MFLOP per image; training (forward + backward) ~%.2f MFLOP\n",
	       total / 1e6, 3 * total / 1e6);
	if (cn_net_pin_chunks(net, chunk) || cn_net_plan(net, batch, CN_PLAN_TRAIN)) {
		rc = cli_fail("plan: %s", cn_net_error(net));
	} else {
		print_chunks(net, batch);
		printf("planned arena for training at batch %d: %.1f MB\n", batch,
		       cn_net_plan_bytes(net) / 1e6);
		int32_t threads, min_images;
		if (cn_net_plan(net, batch, CN_PLAN_INFER) ||
		    cn_net_forward_split(net, &threads, &min_images)) {
			rc = cli_fail("plan: %s", cn_net_error(net));
		} else {
			printf("planned arena for inference at batch %d: %.1f MB; ", batch,
			       cn_net_plan_bytes(net) / 1e6);
			if (threads > 1)
				printf(
				    "batches of %d images and more run as %d slices, each through "
				    "every layer on a thread of its own\n",
				    min_images, threads);
			else
				printf("each layer shares out its own work among the threads\n");
		}
	}
	cn_net_free(net);
	return rc;
}

int cmd_info(int argc, char **argv)
{
	const char *model = NULL, *shape = "28x28x1";
	int32_t batch = 100, chunk = 0;
	const struct cli_arg args[] = {
	    {"--model", CLI_STR, &model, 0, 0, NULL},
	    {"--shape", CLI_STR, &shape, 0, 0, NULL},
	    {"--batch", CLI_INT, &batch, 1, 100000, NULL},
	    {"--chunk", CLI_INT, &chunk, 1, 1000000, NULL},
	};
	int rc = cli_parse(argc, argv, args, (int)(sizeof(args) / sizeof(args[0])), NULL, usage);
	if (rc) return rc < 0 ? 0 : rc;
	struct cn_shape in;
	if (!cli_shape(shape, &in))
		return cli_usage_error("--shape wants HxWxC (height, width, channels) such as "
		                       "28x28x1, each in 1..65536, not '%s'",
		                       shape);
	/* the old channels-first order read as HxWxC gives a sliver of many channels: say so */
	if (in.h <= 4 && in.c > 4)
		fprintf(stderr,
		        "colnet: note: --shape %s is %d pixel%s high, %d wide, with %d channels "
		        "(HxWxC)\n",
		        shape, in.h, in.h == 1 ? "" : "s", in.w, in.c);
	printf("colnet:  %s (its loops run the %s clone)\nblas:    %s\n", cn_version(), cn_isa(),
	       cn_blas_config());
	char note[256];
	const char *wait = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
	printf("kernels: %s\nthreads: %d by default, OpenMP wait policy %s%s%s\n",
	       cli_runtime_note(note, sizeof(note)), cli_cores(), wait ? wait : "(runtime default)",
	       spin ? ", GOMP_SPINCOUNT " : "", spin ? spin : "");
	print_cpu();
	printf("input:   pixels scaled to [0, 1] (byte / 255), not standardized\n");
	return model ? print_model(model, in, batch, chunk) : 0;
}
