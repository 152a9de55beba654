/*
 * Pooling and activation bench: every pool layer and every activation of the zoo models,
 * naive loops (src/ref) against the fast ops (src/ops), forward and backward, at the batch of a
 * real plan, with the plan's threads (the fast ops share images out among OpenMP threads; the
 * references are serial). These ops are memory-bound, so the figure is time, not GFLOP/s.
 * Writes bench/results/ops.csv. White-box, like bench_layers: it reads struct cn_net's layers.
 */
#include <stdlib.h>
#include <string.h>

#include "colnet.h"
#include "net.h"
#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

struct elt {
	const struct cn_layer *l;
	bool ref;
	struct cn_tensor x, y, dy, dx; /* x, dx [N, HI, WI, C]; y, dy [N, HO, WO, C] */
	float *ax, *adx;               /* activation input and gradient, [N, HO, WO, C] */
	int32_t *argmax;               /* maxpool: [N, HO, WO, C] */
	bool act;                      /* time the layer's activation, not its pool */
};

static void elt_fwd(void *p)
{
	struct elt *e = p;
	const struct cn_geom *g = &e->l->g;
	if (e->act)
		(e->ref ? cn_act_forward_ref : cn_act_forward)(e->l->d.act, e->l->d.slope, e->ax,
		                                               e->y.data, cn_tensor_len(&e->y));
	else if (e->l->d.kind == CN_LAYER_MAXPOOL2D)
		(e->ref ? cn_maxpool2d_forward_ref : cn_maxpool2d_forward)(g, &e->x, &e->y,
		                                                           e->argmax);
	else
		(e->ref ? cn_avgpool2d_forward_ref : cn_avgpool2d_forward)(g, &e->x, &e->y);
}

static void elt_bwd(void *p)
{
	struct elt *e = p;
	const struct cn_geom *g = &e->l->g;
	if (e->act)
		(e->ref ? cn_act_backward_ref : cn_act_backward)(e->l->d.act, e->l->d.slope,
		                                                 e->y.data, e->dy.data, e->adx,
		                                                 cn_tensor_len(&e->y));
	else if (e->l->d.kind == CN_LAYER_MAXPOOL2D)
		(e->ref ? cn_maxpool2d_backward_ref : cn_maxpool2d_backward)(g, &e->dy, e->argmax,
		                                                             &e->dx);
	else
		(e->ref ? cn_avgpool2d_backward_ref : cn_avgpool2d_backward)(g, &e->dy, &e->dx);
}

/* Naive and fast, forward then backward (which reads what forward left: argmax, y). */
static void bench_elt(struct elt *e, const char *model, const char *name, struct bench_csv *csv)
{
	static const char *const pass[2] = {"forward", "backward_data"};
	for (int b = 0; b < 2; b++) {
		struct bench_stat s[2];
		for (int r = 0; r < 2; r++) {
			e->ref = r == 0;
			s[r] = bench_time(b ? elt_bwd : elt_fwd, e, 2, 5, 40, 0.1);
		}
		printf("  %-28s %-14s %9.3f %9.3f (%7.3f-%7.3f) %7.1fx\n", name, pass[b],
		       s[0].med * 1e3, s[1].med * 1e3, s[1].min * 1e3, s[1].max * 1e3,
		       s[0].med / s[1].med);
		bench_csv_row(csv, "%s,%s,%s,naive,%.4f,1.00\n", model, name, pass[b],
		              s[0].med * 1e3);
		bench_csv_row(csv, "%s,%s,%s,fast,%.4f,%.2f\n", model, name, pass[b],
		              s[1].med * 1e3, s[0].med / s[1].med);
	}
}

static void bench_layer(struct cn_layer *l, int32_t i, const char *model, struct bench_csv *csv)
{
	bool pool = l->d.kind == CN_LAYER_MAXPOOL2D || l->d.kind == CN_LAYER_AVGPOOL2D;
	if (!pool && l->d.act == CN_ACT_IDENTITY) return;
	size_t in_len = cn_tensor_len(&l->x), out_len = cn_tensor_len(&l->y);
	struct elt e = {.l = l, .x = l->x, .y = l->y, .dy = l->y, .dx = l->x, .argmax = l->argmax};
	e.dy.data = bench_floats(out_len);
	e.dx.data = bench_floats(in_len);
	e.ax = bench_floats(out_len);
	e.adx = bench_floats(out_len);
	bench_fill(e.x.data, in_len, 10 + (uint64_t)i, -1, 1);
	bench_fill(e.dy.data, out_len, 20 + (uint64_t)i, -1, 1);
	bench_fill(e.ax, out_len, 30 + (uint64_t)i, -4, 4);
	char desc[96], name[112];
	if (pool) {
		cn_layer_format(&l->d, desc, sizeof(desc));
		snprintf(name, sizeof(name), "L%d %s", i + 1, desc);
		bench_elt(&e, model, name, csv);
	}
	if (l->d.act != CN_ACT_IDENTITY) {
		e.act = true;
		snprintf(name, sizeof(name), "L%d %s", i + 1, cn_act_name(l->d.act));
		bench_elt(&e, model, name, csv);
	}
	free(e.dy.data), free(e.dx.data), free(e.ax), free(e.adx);
}

static int usage(void)
{
	fputs("usage: bench_ops [--models a,b] [--batch N] [--threads N] [--csv PATH|-]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	char *models = NULL, *names[32];
	const char *csv_path = "bench/results/ops.csv";
	int32_t batch = 100;
	int n_models = 0, threads = 2;
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!v) return usage();
		if (strcmp(a, "--models") == 0)
			models = argv[i + 1];
		else if (strcmp(a, "--batch") == 0)
			batch = atoi(v);
		else if (strcmp(a, "--threads") == 0)
			threads = atoi(v);
		else if (strcmp(a, "--csv") == 0)
			csv_path = v;
		else
			return usage();
	}
	if (batch < 1 || threads < 1) return usage();
	cn_set_blas_threads(threads); /* OpenBLAS's OpenMP build sets OpenMP's count too */
	if (models) n_models = bench_split(models, names, 32);
	for (int i = 0; !models && cn_zoo_name(i) && n_models < 32; i++)
		names[n_models++] = (char *)cn_zoo_name(i);

	printf("\n== bench_ops: pooling and activations, naive loops vs fast ops (batch %d, %d "
	       "thread(s) for the fast ops) ==\n",
	       batch, threads);
	struct bench_csv csv;
	if (bench_csv_open(&csv, csv_path, "model,layer,pass,impl,ms,speedup_vs_naive")) return 1;
	for (int m = 0; m < n_models; m++) {
		const char *spec = cn_zoo_spec(names[m]);
		struct cn_net *net = NULL;
		char err[CN_ERR_LEN] = "unknown zoo model";
		struct cn_shape in = {1, 28, 28};
		if (!spec || cn_net_create(&net, spec, in, 1, err) ||
		    cn_net_plan(net, batch, CN_PLAN_TRAIN)) {
			fprintf(stderr, "bench_ops: %s: %s\n", names[m],
			        net ? cn_net_error(net) : err);
			return 1;
		}
		printf("\n### %s\n  %-28s %-14s %9s %9s %17s %8s\n", names[m], "layer", "pass",
		       "naive ms", "fast ms", "(min-max)", "speedup");
		for (int32_t i = 0; i < net->n_layers; i++)
			bench_layer(&net->layers[i], i, names[m], &csv);
		cn_net_free(net);
	}
	return bench_csv_close(&csv) ? 1 : 0;
}
