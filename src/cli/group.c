/*
 * The colnet tool without MPI (the default build): always alone. make MPI=1 links mpi.c
 * instead, with the same functions over MPI_COMM_WORLD.
 */
#include "cli.h"

int cli_group_init(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

const struct cn_group *cli_group(void)
{
	return NULL;
}

int cli_group_rank(void)
{
	return 0;
}

int cli_group_size(void)
{
	return 1;
}

int cli_group_local_size(void)
{
	return 1;
}

bool cli_group_any(bool flag)
{
	return flag;
}

bool cli_group_same(const float *a, size_t n)
{
	(void)a, (void)n;
	return true;
}

int cli_group_end(int rc)
{
	return rc;
}
