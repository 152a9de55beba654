/*
 * The MPI equivalence proof (make test-mpi; tests/mpi.sh), built with mpicc against
 * libcolnet.a, which itself knows no MPI.
 *
 *   mpirun -np K mpi_equiv train DATA_DIR [STEPS [BATCH [LR]]]
 *       Every rank trains tutorial-cnn with plain SGD at LR (default 0.001) for STEPS steps (default
 *       50) of BATCH (default 100) MNIST images as a member of a K-rank cn_group, the reduce being
 *       MPI_Allreduce. Rank 0 gathers every rank's weights and requires them bit-identical,
 *       then trains the same model alone (no group: what -np 1 runs) and requires the largest
 *       relative weight difference to be at most 1e-4.
 *   mpi_equiv compare A.ckpt B.ckpt [TOL]
 *       The largest relative difference of two checkpoints' weights (|a - b| / max(|b|,
 *       rms(b)), as tests/util.c measures) and per tensor (L2); exit 1 if either is above TOL
 *       (default 1e-4). EQUIV_VERBOSE=1 prints every tensor's figure.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colnet.h"

#define TOL 1e-4

static double max_rel(const float *a, const float *b, size_t n)
{
	double ss = 0, worst = 0;
	for (size_t i = 0; i < n; i++) ss += (double)b[i] * b[i];
	double rms = sqrt(ss / (double)(n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		double scale = fabs((double)b[i]) > rms ? fabs((double)b[i]) : rms;
		double e = fabs((double)a[i] - b[i]) / (scale > 0 ? scale : 1);
		if (e > worst) worst = e;
	}
	return worst;
}

/*
 * Per tensor: the largest over the weight and bias tensors of |a - b|_2 / |b|_2. Both this and
 * max_rel must stay within the tolerance. Early SGD on tutorial-cnn amplifies any rounding
 * difference: one process against itself with the naive GEMM instead of OpenBLAS (nothing but
 * reassociated sums, no MPI) ended 50 steps of batch 100 3.7e-4 apart per weight at rate
 * 0.01, 5.5e-4 at 0.003 (60 steps), 2e-7 at 0.001; 2 and 3 ranks against one process measure
 * the same at each rate. So the test runs at 0.001, where the bound has a margin of 500.
 */
static double max_tensor_rel(struct cn_net *layout, const float *a, const float *b)
{
	const float *base = cn_net_params(layout);
	double worst = 0;
	for (int32_t i = 0; i < cn_net_layer_count(layout); i++) {
		const float *t[2];
		size_t len[2];
		cn_net_layer_params(layout, i, &t[0], &len[0], &t[1], &len[1], NULL);
		for (int j = 0; j < 2; j++) {
			if (!t[j]) continue;
			size_t off = (size_t)(t[j] - base);
			double d = 0, r = 0;
			for (size_t k = 0; k < len[j]; k++) {
				double x = (double)a[off + k] - b[off + k];
				d += x * x;
				r += (double)b[off + k] * b[off + k];
			}
			double e = r > 0 ? sqrt(d / r) : sqrt(d);
			if (getenv("EQUIV_VERBOSE"))
				printf("layer %d %s: %zu values, rel L2 %.3g, norm %.3g\n", i,
				       j ? "b" : "w", len[j], e, sqrt(r));
			if (e > worst) worst = e;
		}
	}
	return worst;
}

static int compare(const char *pa, const char *pb, double tol)
{
	struct cn_net *a, *b;
	char err[CN_ERR_LEN];
	if (cn_net_load(&a, pa, err) || cn_net_load(&b, pb, err))
		return fprintf(stderr, "mpi_equiv: %s\n", err), 2;
	size_t n = cn_net_param_count(a);
	if (n != cn_net_param_count(b))
		return fprintf(stderr, "mpi_equiv: %s and %s differ in size\n", pa, pb), 1;
	double e = max_tensor_rel(a, cn_net_params(a), cn_net_params(b));
	double el = max_rel(cn_net_params(a), cn_net_params(b), n);
	printf("%s vs %s: largest relative weight difference %.3g per tensor (L2), %.3g per "
	       "weight (%zu weights; tolerance %g)\n",
	       pa, pb, e, el, n, tol);
	cn_net_free(a);
	cn_net_free(b);
	return e <= tol && el <= tol ? 0 : 1;
}

static int reduce(void *ctx, void *buf, size_t n, enum cn_reduce_type type)
{
	(void)ctx;
	return MPI_Allreduce(MPI_IN_PLACE, buf, (int)n,
	                     type == CN_REDUCE_FLOAT ? MPI_FLOAT : MPI_DOUBLE, MPI_SUM,
	                     MPI_COMM_WORLD) != MPI_SUCCESS;
}

/* Train tutorial-cnn for steps steps; g NULL: alone. Returns the weights (malloc'd). */
static float *train(const struct cn_dataset *ds, const struct cn_group *g, int32_t batch, float lr,
                    size_t *np, struct cn_net **keep)
{
	struct cn_train_opts o;
	if (cn_zoo_train_opts("tutorial-cnn", &o)) return NULL; /* its init, as colnet train */
	o.epochs = 1;
	o.batch = batch;
	o.seed = 5;
	o.optim.kind = CN_OPTIM_SGD;
	o.sched = (struct cn_sched){.kind = CN_SCHED_CONST, .lr = lr};
	struct cn_net *net;
	struct cn_trainer *t;
	char err[CN_ERR_LEN];
	if (cn_net_create(&net, cn_zoo_spec("tutorial-cnn"), cn_dataset_shape(ds), o.seed, err) ||
	    cn_net_init(net, (enum cn_init)o.init, o.init_scale, o.seed) ||
	    cn_trainer_create(&t, net, &o, err))
		return fprintf(stderr, "mpi_equiv: %s\n", err), NULL;
	if ((g && cn_trainer_set_group(t, g)) || cn_trainer_epoch(t, ds, NULL, NULL, NULL))
		return fprintf(stderr, "mpi_equiv: %s\n", cn_trainer_error(t)), NULL;
	*np = cn_net_param_count(net);
	float *w = malloc(*np * sizeof(float));
	if (w) memcpy(w, cn_net_params(net), *np * sizeof(float));
	cn_trainer_free(t);
	if (keep)
		*keep = net;
	else
		cn_net_free(net);
	return w;
}

static int run(const char *dir, int32_t steps, int32_t batch, float lr)
{
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	cn_set_blas_threads(1);
	struct cn_dataset *ds;
	char err[CN_ERR_LEN];
	if (cn_dataset_load_mnist_dir(&ds, dir, 1, err) || cn_dataset_truncate(ds, steps * batch))
		return fprintf(stderr, "mpi_equiv: %s\n", err), 2;
	struct cn_group g = {rank, size, reduce, NULL};
	size_t np = 0;
	float *w = train(ds, &g, batch, lr, &np, NULL);
	if (!w) MPI_Abort(MPI_COMM_WORLD, 2);
	float *all = rank == 0 ? malloc(np * sizeof(float) * (size_t)size) : NULL;
	if (rank == 0 && !all) MPI_Abort(MPI_COMM_WORLD, 2);
	MPI_Gather(w, (int)np, MPI_FLOAT, all, (int)np, MPI_FLOAT, 0, MPI_COMM_WORLD);
	int rc = 0;
	if (rank == 0) {
		int same = 1;
		for (int r = 1; r < size; r++)
			if (memcmp(all, all + (size_t)r * np, np * sizeof(float))) {
				printf("rank %d's weights differ from rank 0's\n", r);
				same = 0;
			}
		size_t np1 = 0;
		struct cn_net *layout = NULL;
		float *ref = train(ds, NULL, batch, lr, &np1, &layout);
		if (!ref || np1 != np) return 2;
		double e = max_tensor_rel(layout, w, ref), el = max_rel(w, ref, np);
		printf(
		    "%d ranks, %d steps of batch %d (plain SGD, lr %g): every rank's weights %s; "
		    "largest relative weight difference against one process %.3g per tensor "
		    "(L2; tolerance %g), %.3g per weight\n",
		    size, steps, batch, (double)lr, same ? "bit-identical" : "NOT identical", e,
		    TOL, el);
		rc = same && e <= TOL && el <= TOL ? 0 : 1;
		cn_net_free(layout);
		free(ref);
	}
	free(all);
	free(w);
	cn_dataset_free(ds);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "compare") == 0)
		return compare(argv[2], argv[3], argc > 4 ? atof(argv[4]) : TOL);
	if (argc < 3 || strcmp(argv[1], "train") != 0) {
		fputs("usage: mpirun -np K mpi_equiv train DATA_DIR [STEPS [BATCH [LR]]]\n"
		      "       mpi_equiv compare A.ckpt B.ckpt [TOL]\n",
		      stderr);
		return 2;
	}
	MPI_Init(&argc, &argv);
	int rc = run(argv[2], argc > 3 ? atoi(argv[3]) : 50, argc > 4 ? atoi(argv[4]) : 100,
	             argc > 5 ? (float)atof(argv[5]) : 0.001f);
	int worst = rc;
	MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	MPI_Finalize();
	return worst;
}
