/*
 * colnet: train, evaluate and inspect convolutional networks. Subcommands live in cmd_*.c;
 * this file dispatches and, before anything else, makes sure OpenBLAS uses the CPU's
 * AVX-512 kernels when it has them (Debian's OpenBLAS 0.3.21 takes AMD Zen 4/5 for Haswell).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] = "usage: colnet COMMAND [options]   (colnet COMMAND --help for each)\n"
                            "  train     train a model on MNIST IDX files or folders of images\n"
                            "  eval      accuracy and confusion matrix of a saved model\n"
                            "  predict   class probabilities for test images or image files\n"
                            "  info      version, BLAS, CPU, and a model's layers\n"
                            "  plot      loss and accuracy curves of training CSVs, as a PNG\n"
                            "  featuremaps  a layer's feature maps or learned filters, as a PNG\n"
                            "  version   print the version\n";

/*
 * OpenBLAS picks its kernels when the process starts, from OPENBLAS_CORETYPE if set. When the
 * CPU has AVX-512 but OpenBLAS runs an AVX2 family (its own misdetection, or an inherited
 * OPENBLAS_CORETYPE=Haswell as these machines set), set SkylakeX and start again: on a Zen 5
 * that made sgemm ~1.7x faster. COLNET_KEEP_CORETYPE=1 keeps whatever OpenBLAS chose.
 */
static void prefer_avx512_kernels(char **argv)
{
	if (getenv("COLNET_KEEP_CORETYPE") || getenv("COLNET_CORETYPE_FROM")) return;
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
	    !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq"))
		return;
	const char *core = cn_blas_core();
	if (strstr(core, "Skylake") || strstr(core, "Cooperlake") || strstr(core, "Sapphire") ||
	    strstr(core, "naive"))
		return;
	setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
	setenv("COLNET_CORETYPE_FROM", core, 1); /* so `info` can say what it replaced */
	execv("/proc/self/exe", argv);
	unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with what we have */
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: colnet COMMAND [options] (colnet --help lists the commands)\n",
		      stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("colnet %s\n", cn_version());
		return 0;
	}
	prefer_avx512_kernels(argv);
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} cmds[] = {{"train", cmd_train}, {"eval", cmd_eval}, {"predict", cmd_predict},
	            {"info", cmd_info},   {"plot", cmd_plot}, {"featuremaps", cmd_featuremaps}};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].run(argc - 2, argv + 2);
	fprintf(stderr, "colnet: unknown command '%s' (colnet --help lists the commands)\n", cmd);
	return 2;
}
