/*
 * The time of one gradient allreduce (make bench-mpi; bench/mpi.sh), built with mpicc:
 *   mpirun -np K mpi_allreduce [MODEL [REPS]]
 * sums a float block the size of MODEL's gradient (zoo name or spec on 1x28x28; default
 * tutorial-cnn) across the ranks with MPI_Allreduce (in place, MPI_SUM: what the colnet tool
 * calls once per step) REPS times (default 200, after 20 warm-up calls) and prints the median
 * and minimum per call, and the bus rate 2(K-1)/K x bytes / time that a ring allreduce moves.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colnet.h"

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	const char *model = argc > 1 ? argv[1] : "tutorial-cnn";
	int reps = argc > 2 ? atoi(argv[2]) : 200;
	if (reps < 1) reps = 1;
	const char *spec = cn_zoo_spec(model) ? cn_zoo_spec(model) : model;
	struct cn_net *net;
	char err[CN_ERR_LEN];
	if (cn_net_create(&net, spec, (struct cn_shape){1, 28, 28}, 1, err)) {
		if (rank == 0) fprintf(stderr, "mpi_allreduce: %s\n", err);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	size_t n = cn_net_param_count(net);
	float *g = cn_net_grads(net);
	for (size_t i = 0; i < n; i++) g[i] = (float)(i % 7) * 1e-3f;
	double *t = malloc((size_t)reps * sizeof(double));
	if (!t) MPI_Abort(MPI_COMM_WORLD, 2);
	for (int r = -20; r < reps; r++) {
		MPI_Barrier(MPI_COMM_WORLD);
		double t0 = MPI_Wtime();
		MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		double dt = MPI_Wtime() - t0;
		MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
		if (r >= 0) t[r] = dt;
		if (r % 16 == 0) memset(g, 0, n * sizeof(float)); /* keep the sums finite */
	}
	qsort(t, (size_t)reps, sizeof(double), by_value);
	if (rank == 0) {
		double bytes = (double)n * sizeof(float), med = t[reps / 2];
		printf(
		    "allreduce of %s's gradient (%zu floats, %.0f kB) over %d ranks: median %.1f "
		    "us, min %.1f us (%d calls); ring traffic per rank %.0f kB, %.2f GB/s\n",
		    model, n, bytes / 1e3, size, med * 1e6, t[0] * 1e6, reps,
		    2.0 * (size - 1) / size * bytes / 1e3,
		    2.0 * (size - 1) / size * bytes / med / 1e9);
	}
	free(t);
	cn_net_free(net);
	MPI_Finalize();
	return 0;
}
