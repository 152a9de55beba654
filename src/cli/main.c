/*
 * colnet: train, evaluate and inspect convolutional networks. Subcommands live in cmd_*.c;
 * this file dispatches, after setting the runtimes up (runtime.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: colnet COMMAND [options]   (colnet COMMAND --help for each)\n"
    "  train     train a model on MNIST IDX files or folders of images\n"
    "  eval      accuracy and confusion matrix of a saved model\n"
    "  predict   class probabilities for test images or image files\n"
    "  info      version, BLAS, CPU, and a model's layers\n"
    "  plot      loss and accuracy curves of training CSVs, as a PNG\n"
    "  featuremaps  a layer's feature maps or learned filters, as a PNG\n"
    "  export    a model as an ONNX file (any command's --model reads one)\n"
    "  version   print the version (also --version)\n"
    "Options end at --: every argument after it is an input file.\n";

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
	cli_tune_runtime(argv);
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} cmds[] = {{"train", cmd_train},  {"eval", cmd_eval}, {"predict", cmd_predict},
	            {"info", cmd_info},    {"plot", cmd_plot}, {"featuremaps", cmd_featuremaps},
	            {"export", cmd_export}};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0) {
			/* train joins an MPI job (make MPI=1; mpi.c); alone, these do nothing */
			bool group = cmds[i].run == cmd_train;
			if (group && cli_group_init(&argc, &argv)) return 1;
			int rc = cmds[i].run(argc - 2, argv + 2);
			return group ? cli_group_end(rc) : rc;
		}
	fprintf(stderr, "colnet: unknown command '%s' (colnet --help lists the commands)\n", cmd);
	return 2;
}
