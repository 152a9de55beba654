/*
 * The colnet tool's MPI build (make MPI=1, compiled with mpicc): `mpirun -np K colnet train`
 * trains one model in K processes. The library knows no MPI: this file hands it a cn_group
 * whose reduce is MPI_Allreduce (sum, in place) over MPI_COMM_WORLD. Only colnet train joins
 * the job; main() calls cli_group_init after the runtime restart (runtime.c's exec keeps the
 * process and the launcher's environment, so MPI_Init sees the job either way).
 */
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

static struct {
	bool joined;
	int rank, size, local;
	struct cn_group group;
} job = {false, 0, 1, 1, {0, 1, NULL, NULL}};

static int reduce(void *ctx, void *buf, size_t n, enum cn_reduce_type type)
{
	(void)ctx;
	MPI_Datatype t = type == CN_REDUCE_FLOAT ? MPI_FLOAT : MPI_DOUBLE;
	size_t elem = type == CN_REDUCE_FLOAT ? sizeof(float) : sizeof(double);
	for (size_t done = 0; done < n;) { /* MPI counts are ints */
		int m = n - done > INT_MAX ? INT_MAX : (int)(n - done);
		if (MPI_Allreduce(MPI_IN_PLACE, (char *)buf + done * elem, m, t, MPI_SUM,
		                  MPI_COMM_WORLD) != MPI_SUCCESS)
			return 1;
		done += (size_t)m;
	}
	return 0;
}

int cli_group_init(int *argc, char ***argv)
{
	if (MPI_Init(argc, argv) != MPI_SUCCESS) return cli_fail("MPI_Init failed");
	job.joined = true;
	MPI_Comm_rank(MPI_COMM_WORLD, &job.rank);
	MPI_Comm_size(MPI_COMM_WORLD, &job.size);
	MPI_Comm node;
	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, job.rank, MPI_INFO_NULL, &node);
	MPI_Comm_size(node, &job.local);
	MPI_Comm_free(&node);
	job.group = (struct cn_group){job.rank, job.size, reduce, NULL};
	if (job.rank != 0 && !freopen("/dev/null", "w", stdout))
		return cli_fail("rank %d: cannot silence stdout", job.rank);
	return 0;
}

const struct cn_group *cli_group(void)
{
	return job.size > 1 ? &job.group : NULL;
}

int cli_group_rank(void)
{
	return job.rank;
}

int cli_group_size(void)
{
	return job.size;
}

int cli_group_local_size(void)
{
	return job.local;
}

bool cli_group_any(bool flag)
{
	if (job.size == 1) return flag;
	int v = flag, any = 0;
	MPI_Allreduce(&v, &any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
	return any != 0;
}

bool cli_group_same(const float *a, size_t n)
{
	if (job.size == 1) return true;
	uint64_t h = 1469598103934665603u; /* FNV-1a over the bytes */
	const unsigned char *p = (const unsigned char *)a;
	for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211u;
	uint64_t lo = h, hi = h;
	MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
	MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
	return lo == hi;
}

int cli_group_end(int rc)
{
	if (!job.joined) return rc;
	fflush(stdout);
	fflush(stderr);
	/* a failure on one member would leave the others waiting in a reduce: end them all; a
	 * stop signal (128 + its number) reaches every member at the same step, so all leave */
	if (rc != 0 && rc < 128 && job.size > 1) MPI_Abort(MPI_COMM_WORLD, rc);
	MPI_Finalize();
	return rc;
}
