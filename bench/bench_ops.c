/*
 * Pooling and activation bench: every pool layer and every activation of the zoo models,
 * naive loops (src/ref) against the fast ops (src/ops), forward and backward, at the batch of a
 * real plan, with the plan's threads (the fast ops share images out among OpenMP threads; the
 * references are serial). These ops are memory-bound, so the figure is time, not GFLOP/s.
 * Batch norm gets a section of its own: the layer with its activation, as the training step
 * runs it (fused), against the reference batch norm then the reference activation, and set
 * against the forward + backward of the layer before it (issue 16's bar: at most 15%).
 * Writes bench/results/ops.csv. White-box, like bench_layers: it reads struct cn_net's layers.
 */
#include <stdlib.h>
#include <string.h>

#include "colnet.h"
#include "layer.h"
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

/* One pass's line and CSV rows: s[0] the naive loops, s[1] the fast op. */
static void report(const char *model, const char *name, const char *pass,
                   const struct bench_stat s[2], struct bench_csv *csv)
{
	printf("  %-28s %-14s %9.3f %9.3f (%7.3f-%7.3f) %7.1fx\n", name, pass, s[0].med * 1e3,
	       s[1].med * 1e3, s[1].min * 1e3, s[1].max * 1e3, s[0].med / s[1].med);
	bench_csv_row(csv, "%s,%s,%s,naive,%.4f,1.00\n", model, name, pass, s[0].med * 1e3);
	bench_csv_row(csv, "%s,%s,%s,fast,%.4f,%.2f\n", model, name, pass, s[1].med * 1e3,
	              s[0].med / s[1].med);
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
		report(model, name, pass[b], s, csv);
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

/* One batch-norm layer, or the layer before it (timed the way the training step runs it). */
struct bn_case {
	struct cn_layer *l;
	bool ref;
	float *ws, *dy, *dx, *g; /* g: the reference's gradient after the activation */
};

static void bn_fwd(void *p)
{
	struct bn_case *b = p;
	struct cn_layer *l = b->l;
	if (!b->ref) {
		cn_layer_impls[l->d.kind]->forward(l, b->ws);
		return;
	}
	size_t m = cn_tensor_len(&l->x) / (size_t)l->in.c;
	cn_batchnorm_forward_train_ref(m, l->in.c, l->w, l->b, l->x.data, l->y.data, l->cache,
	                               l->state);
	cn_act_forward_ref(l->d.act, l->d.slope, l->y.data, l->y.data, cn_tensor_len(&l->y));
}

/* dy is only read with relu-like activations; others may overwrite it (values stay finite) */
static void bn_bwd(void *p)
{
	struct bn_case *b = p;
	struct cn_layer *l = b->l;
	if (!b->ref) {
		cn_layer_impls[l->d.kind]->backward(l, b->dy, b->dx, b->ws);
		return;
	}
	size_t m = cn_tensor_len(&l->x) / (size_t)l->in.c;
	cn_act_backward_ref(l->d.act, l->d.slope, l->y.data, b->dy, b->g, cn_tensor_len(&l->y));
	cn_batchnorm_backward_ref(m, l->in.c, true, l->w, l->cache, l->x.data, b->g, b->dx, l->dw,
	                          l->db);
}

static struct bn_case bn_case_make(struct cn_layer *l, bool first, uint64_t seed)
{
	struct bn_case b = {.l = l};
	size_t ws = cn_layer_impls[l->d.kind]->ws_len(l, true);
	b.ws = bench_floats(ws ? ws : 1);
	b.dy = bench_floats(cn_tensor_len(&l->y));
	b.g = bench_floats(cn_tensor_len(&l->y));
	b.dx = first ? NULL : bench_floats(cn_tensor_len(&l->x)); /* layer 1 needs no dx */
	bench_fill(b.dy, cn_tensor_len(&l->y), seed, -1, 1);
	return b;
}

static void bn_case_free(struct bn_case *b)
{
	free(b->ws), free(b->dy), free(b->dx), free(b->g);
}

/* A copy of one tensor's floats, split among the threads: the memory floor's yardstick. */
struct copy {
	const float *src;
	float *dst;
	size_t len;
};

static void copy_run(void *p)
{
	struct copy *c = p;
	const long blocks = (long)((c->len + 65535) / 65536); /* of 256 KB */
#pragma omp parallel for schedule(static)
	for (long b = 0; b < blocks; b++) {
		size_t lo = (size_t)b * 65536, n = c->len - lo < 65536 ? c->len - lo : 65536;
		memcpy(c->dst + lo, c->src + lo, n * sizeof(float));
	}
}

/*
 * The least time batch norm can take: its passes touch the tensor 8 times (forward: read x for
 * the statistics, read x and write y; backward: read x and dy for the sums, then again, and
 * write dx), each at best at the speed of a copy (one read, one write: 2 touches).
 */
static double bn_floor(const struct cn_layer *l)
{
	struct copy c = {.src = l->x.data, .dst = l->y.data, .len = cn_tensor_len(&l->x)};
	return 4 * bench_time(copy_run, &c, 2, 5, 40, 0.1).med;
}

/* Batch norm i (after layer i - 1): naive and fast, then its share of the layer before. */
static void bench_batchnorm(struct cn_net *net, int32_t i, const char *model, struct bench_csv *csv)
{
	static const char *const pass[2] = {"forward", "backward_data"};
	struct cn_layer *l = &net->layers[i], *prev = &net->layers[i - 1];
	struct bn_case bn = bn_case_make(l, false, 40 + (uint64_t)i),
	               pc = bn_case_make(prev, i == 1, 50 + (uint64_t)i);
	bench_fill(prev->x.data, cn_tensor_len(&prev->x), 60 + (uint64_t)i, -1, 1);
	bn_fwd(&pc); /* the batch norm's input: a real convolution's output */
	char desc[96], name[112];
	cn_layer_format(&l->d, desc, sizeof(desc));
	snprintf(name, sizeof(name), "L%d %s", i + 1, desc);
	double fast = 0, before = 0;
	for (int b = 0; b < 2; b++) {
		struct bench_stat s[2];
		for (int r = 0; r < 2; r++) {
			bn.ref = r == 0;
			s[r] = bench_time(b ? bn_bwd : bn_fwd, &bn, 2, 5, 40, 0.1);
		}
		fast += s[1].med;
		report(model, name, pass[b], s, csv);
		before += bench_time(b ? bn_bwd : bn_fwd, &pc, 2, 5, 40, 0.1).med;
	}
	cn_layer_format(&prev->d, desc, sizeof(desc));
	double floor = bn_floor(l);
	printf("  batch norm = %.0f%% of L%d %s's forward + backward (%.3f ms; bar: 15%%); memory "
	       "floor %.3f ms = %.0f%%\n",
	       100 * fast / before, i, desc, before * 1e3, floor * 1e3, 100 * floor / before);
	bench_csv_row(csv, "%s,%s,share_of_previous_layer,fast,%.4f,%.3f\n", model, name,
	              fast * 1e3, fast / before);
	bn_case_free(&bn), bn_case_free(&pc);
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

	printf("\n== bench_ops: pooling, activations and batch norm, naive loops vs fast ops "
	       "(batch %d, %d "
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
			if (net->layers[i].d.kind == CN_LAYER_BATCHNORM && i > 0)
				bench_batchnorm(net, i, names[m], &csv);
			else
				bench_layer(&net->layers[i], i, names[m], &csv);
		cn_net_free(net);
	}
	return bench_csv_close(&csv) ? 1 : 0;
}
