/*
 * Per-layer bench: every conv and linear layer of the zoo models, naive loops (src/ref)
 * against the GEMM-lowered path (src/ops) for forward, backward_data and backward_weights, at
 * the batch and chunk a real plan chose. Each figure is set against one plain cn_gemm of the
 * pass's whole M×N×K measured in the same run (pooling and activations: bench_ops.c).
 * White-box: it reads the layers of struct cn_net and calls the ops directly; the
 * backward_data method is described in bench/README.md.
 */
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "colnet.h"
#include "gemm.h"
#include "im2col.h"
#include "net.h"
#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

/* Seconds of repeated calls per fast measurement, and per naive call before scaling down. */
#define FAST_BUDGET  0.15
#define NAIVE_BUDGET 0.35

static int32_t batch = 100;

/* What the per-layer targets read: tutorial-cnn's second conv layer. */
static struct {
	bool seen;
	double speedup, pct_sgemm, bwd_over_fwd, data_over_fwd, weights_over_fwd;
} target;

/*
 * Naive loops are 100-1000x slower than the GEMM path, so they run once or three times on the
 * first nb images of the batch, nb chosen from a 2-image probe so one call takes about
 * NAIVE_BUDGET seconds; times are scaled to the batch (every naive loop is linear in it).
 */
static struct bench_stat time_naive(void (*fn)(void *ctx, int32_t nb), void *ctx, int32_t *nb_used)
{
	int32_t nb = batch < 2 ? batch : 2;
	double t0 = bench_now();
	fn(ctx, nb);
	double per_image = (bench_now() - t0) / nb, fit = NAIVE_BUDGET / (per_image + 1e-12);
	nb = fit >= batch ? batch : fit < 1 ? 1 : (int32_t)fit;
	int reps = nb * per_image < NAIVE_BUDGET / 3 ? 3 : 1;
	double t[3];
	for (int r = 0; r < reps; r++) {
		double s = bench_now();
		fn(ctx, nb);
		t[r] = (bench_now() - s) * batch / nb;
	}
	*nb_used = nb;
	return bench_stat_of(t, reps);
}

static struct bench_stat time_fast(void (*fn)(void *ctx), void *ctx)
{
	return bench_time(fn, ctx, 2, 5, 40, FAST_BUDGET);
}

static void table_head(void)
{
	printf("  %-17s %10s %8s %17s %8s %8s %7s %6s %7s\n", "pass", "naive ms", "gemm ms",
	       "(min-max)", "naive GF", "gemm GF", "speedup", "lower", "%sgemm");
}

/* One table row and two CSV rows (naive, gemm) for a pass; lower_s < 0: no lowering step. */
static double report(struct bench_csv *csv, const char *model, const char *layer, const char *pass,
                     double flops, struct bench_stat nv, int32_t nb, struct bench_stat fs,
                     double lower_s, double sgemm_gf)
{
	double gn = flops / nv.med * 1e-9, gf = flops / fs.med * 1e-9, up = nv.med / fs.med;
	char lower[16] = "-";
	if (lower_s >= 0) snprintf(lower, sizeof(lower), "%.0f%%", 100 * lower_s / fs.med);
	printf("  %-17s %9.2f%s %8.3f (%7.3f-%7.3f) %8.2f %8.1f %6.0fx %6s %6.0f%%\n", pass,
	       nv.med * 1e3, nb < batch ? "*" : " ", fs.med * 1e3, fs.min * 1e3, fs.max * 1e3, gn,
	       gf, up, lower, 100 * gf / sgemm_gf);
	bench_csv_row(csv, "%s,%s,%s,naive,%.4f,%.4f,1.00,%.2f\n", model, layer, pass, nv.med * 1e3,
	              gn, 100 * gn / sgemm_gf);
	bench_csv_row(csv, "%s,%s,%s,gemm,%.4f,%.3f,%.2f,%.2f\n", model, layer, pass, fs.med * 1e3,
	              gf, up, 100 * gf / sgemm_gf);
	return up;
}

/* ---- one conv or linear layer, as the bench drives it ---- */

struct lc {
	bool conv;
	const struct cn_geom *g;     /* conv */
	struct cn_conv2d_plan plan;  /* conv: the layer's plan, its fused activation switched off */
	struct cn_conv2d_plan bplan; /* conv: the plan of its backward (own chunking) */
	int32_t in, co;              /* inputs per image (linear); output channels */
	int32_t threads;             /* linear: the layer's planned threads */
	int m, k;                    /* forward GEMM: [m, k] · [co, k]ᵀ */
	const float *w, *b;
	struct cn_tensor x, y, dy, dx; /* x, dx [N, HI, WI, CI]; y, dy [N, HO, WO, CO] */
	float *dw, *db, *ws;
	float *scratch; /* [PLAN.THREADS, CHUNK*HO*WO, KH*KW*CI]: the mirror's column matrices */
};

static void fwd(void *p)
{
	struct lc *c = p;
	if (c->conv)
		cn_conv2d_forward(c->g, c->co, &c->plan, c->w, c->b, &c->x, &c->y, c->ws);
	else
		cn_linear_forward(c->threads, c->x.n, c->in, c->co, c->w, c->b, c->x.data,
		                  c->y.data);
}

static void backward(struct lc *c, bool data)
{
	if (c->conv)
		cn_conv2d_backward(c->g, c->co, &c->bplan, c->w, &c->x, &c->dy,
		                   data ? &c->dx : NULL, c->dw, c->db, c->ws);
	else
		cn_linear_backward(c->threads, c->x.n, c->in, c->co, c->w, c->x.data, c->dy.data,
		                   data ? c->dx.data : NULL, c->dw, c->db);
}

static void bwd_weights(void *p)
{
	backward(p, false);
}

static void bwd_full(void *p)
{
	backward(p, true);
}

static int thread_id(void)
{
#ifdef _OPENMP
	return omp_get_thread_num();
#else
	return 0;
#endif
}

/*
 * cn_conv2d_backward's chunk loop as the plan runs it (chunks shared out statically among
 * plan.threads OpenMP threads, each with its own column matrix and one-threaded GEMMs), doing
 * one stage only: 0 the dx half (dcol = dY·W, then col2im), so backward_data is timed
 * directly rather than as a difference of two noisy times; 1 im2col alone; 2 col2im alone
 * (of whatever the column matrices hold).
 */
static void conv_chunks(struct lc *c, int stage)
{
	const struct cn_geom *g = c->g;
	const size_t pix = cn_geom_out_pixels(g), xlen = cn_tensor_image_len(&c->x);
	const size_t cols = (size_t)c->bplan.chunk * pix * (size_t)c->k;
	const bool direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 &&
	                    g->pw == 0; /* 1x1: no lowering, as in conv2d.c */
	const int32_t chunk = c->bplan.chunk, nchunks = (c->x.n + chunk - 1) / chunk;
	const int threads = nchunks < c->bplan.threads ? nchunks : c->bplan.threads;
	(void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
	for (int32_t q = 0; q < nchunks; q++) {
		const int32_t i = q * chunk, n = chunk < c->x.n - i ? chunk : c->x.n - i;
		const float *xc = c->x.data + (size_t)i * xlen;
		const float *dyc = c->dy.data + (size_t)i * pix * (size_t)c->co;
		float *dxc = c->dx.data + (size_t)i * xlen;
		float *mine = c->scratch + (size_t)thread_id() * cols;
		if (stage == 1 && !direct) cn_im2col(g, n, xc, mine);
		if (stage == 0)
			cn_gemm(false, false, n * (int)pix, c->k, c->co, 1.0f, dyc, c->w, 0.0f,
			        direct ? dxc : mine);
		if (stage != 1 && !direct) cn_col2im(g, n, mine, dxc);
	}
}

/* Linear: the dx half of cn_linear_backward is its one GEMM dx = dY·W. */
static void bwd_data(void *p)
{
	struct lc *c = p;
	if (c->conv)
		conv_chunks(c, 0);
	else
		cn_gemm(false, false, c->x.n, c->in, c->co, 1.0f, c->dy.data, c->w, 0.0f,
		        c->dx.data);
}

static void lower(void *p)
{
	conv_chunks(p, 1);
}

static void unlower(void *p)
{
	conv_chunks(p, 2);
}

/* The references, on the first nb images. */
static void fwd_ref(void *p, int32_t nb)
{
	struct lc *c = p;
	struct cn_tensor x = c->x, y = c->y;
	x.n = y.n = nb;
	if (c->conv)
		cn_conv2d_forward_ref(c->g, c->co, c->w, c->b, &x, &y);
	else
		cn_linear_forward_ref(nb, c->in, c->co, c->w, c->b, x.data, y.data);
}

/* weights: dW and db; data: dx (the references compute them in separate loop nests) */
static void backward_ref(struct lc *c, int32_t nb, bool weights, bool data)
{
	struct cn_tensor x = c->x, dy = c->dy, dx = c->dx;
	x.n = dy.n = dx.n = nb;
	float *dw = weights ? c->dw : NULL, *db = weights ? c->db : NULL;
	if (c->conv)
		cn_conv2d_backward_ref(c->g, c->co, c->w, &x, &dy, data ? &dx : NULL, dw, db);
	else
		cn_linear_backward_ref(nb, c->in, c->co, c->w, x.data, dy.data,
		                       data ? dx.data : NULL, dw, db);
}

static void bwd_weights_ref(void *p, int32_t nb)
{
	backward_ref(p, nb, true, false);
}

static void bwd_data_ref(void *p, int32_t nb)
{
	backward_ref(p, nb, false, true);
}

static void bwd_full_ref(void *p, int32_t nb)
{
	backward_ref(p, nb, true, true);
}

/* The three passes of one layer: naive, GEMM path, lowering alone, same-shape sgemm. */
static void bench_passes(struct lc *c, double flops, const char *model, const char *name,
                         struct bench_csv *csv, bool is_target)
{
	int32_t nb_f, nb_w, nb_a;
	struct bench_stat nf = time_naive(fwd_ref, c, &nb_f);
	struct bench_stat nw = time_naive(bwd_weights_ref, c, &nb_w);
	struct bench_stat na = time_naive(bwd_full_ref, c, &nb_a);
	/*
	 * naive backward_data timed alone (dW and db skipped). It was (weights + data) -
	 * weights-only, two runs on different image counts: where dx is a small part of the
	 * naive backward (deep-cnn), the noise of the two exceeded it and it printed 0.00 ms.
	 */
	int32_t nb_d;
	struct bench_stat nd = time_naive(bwd_data_ref, c, &nb_d);
	struct bench_stat ff = time_fast(fwd, c), fw = time_fast(bwd_weights, c);
	struct bench_stat fd = time_fast(bwd_data, c), fa = time_fast(bwd_full, c);
	double lo = c->conv ? time_fast(lower, c).med : -1;
	double un = c->conv ? time_fast(unlower, c).med : -1;
	double sf = bench_sgemm(false, true, c->m, c->co, c->k, 0.0f, FAST_BUDGET, NULL);
	double sw = bench_sgemm(true, false, c->co, c->k, c->m, 1.0f, FAST_BUDGET, NULL);
	double sd = bench_sgemm(false, false, c->m, c->k, c->co, 0.0f, FAST_BUDGET, NULL);
	table_head();
	double up = report(csv, model, name, "forward", flops, nf, nb_f, ff, lo, sf);
	report(csv, model, name, "backward_data", flops, nd, nb_d, fd, un, sd);
	report(csv, model, name, "backward_weights", flops, nw, nb_w, fw, lo, sw);
	printf("  backward (both)   %9.2f  %8.3f = %.2fx forward (both - weights-only: %.3f ms)\n"
	       "  sgemm GF/s of the whole MxNxK = %dx%dx%d: fwd %.0f, data %.0f, weights %.0f\n",
	       na.med * 1e3, fa.med * 1e3, fa.med / ff.med, (fa.med - fw.med) * 1e3, c->m, c->co,
	       c->k, sf, sd, sw);
	if (is_target) {
		target.seen = true;
		target.speedup = up;
		target.pct_sgemm = 100 * flops / ff.med * 1e-9 / sf;
		target.bwd_over_fwd = fa.med / ff.med;
		target.data_over_fwd = fd.med / ff.med;
		target.weights_over_fwd = fw.med / ff.med;
	}
}

static void bench_layer(struct cn_net *net, const char *model, int32_t i, struct bench_csv *csv,
                        int *convs_seen)
{
	struct cn_layer *l = &net->layers[i];
	if (l->d.kind != CN_LAYER_CONV2D && l->d.kind != CN_LAYER_LINEAR) return;
	char desc[96], name[112];
	cn_layer_format(&l->d, desc, sizeof(desc));
	snprintf(name, sizeof(name), "L%d %s", i + 1, desc);
	struct lc c = {.conv = l->d.kind == CN_LAYER_CONV2D,
	               .g = &l->g,
	               .plan = l->conv,
	               .bplan = l->conv_back,
	               .co = l->d.out,
	               .threads = l->threads,
	               .w = l->w,
	               .b = l->b,
	               .x = l->x,
	               .y = l->y,
	               .dy = l->y,
	               .dx = l->x,
	               .dw = l->dw,
	               .db = l->db,
	               .ws = net->ws};
	size_t in_len = cn_tensor_len(&c.x), out_len = cn_tensor_len(&c.y);
	c.dy.data = bench_floats(out_len);
	c.dx.data = bench_floats(in_len);
	bench_fill(c.x.data, in_len, 10 + (uint64_t)i, -1, 1);
	bench_fill(c.dy.data, out_len, 20 + (uint64_t)i, -1, 1);
	double flops = (double)cn_net_layer_flops(net, i) * batch;
	if (c.conv) {
		c.plan.act = c.bplan.act = CN_ACT_IDENTITY; /* the op alone, like its reference */
		c.m = (int)(batch * cn_geom_out_pixels(&l->g));
		c.k = (int)cn_geom_patch_len(&l->g);
		c.scratch = bench_floats((size_t)c.bplan.threads * (size_t)c.bplan.chunk *
		                         cn_geom_out_pixels(&l->g) * (size_t)c.k);
		printf(
		    "\n %s: %dx%dx%d -> %dx%dx%d, %d images per GEMM forward, %d backward, on %d "
		    "thread(s), %.1f MFLOP per pass\n",
		    name, l->in.h, l->in.w, l->in.c, l->out.h, l->out.w, l->out.c, c.plan.chunk,
		    c.bplan.chunk, c.plan.threads, flops / 1e6);
	} else {
		c.in = c.k = (int32_t)cn_tensor_image_len(&c.x);
		c.m = batch;
		printf("\n %s: %d -> %d, %.1f MFLOP per pass\n", name, c.in, c.co, flops / 1e6);
	}
	bool tgt = c.conv && strcmp(model, "tutorial-cnn") == 0 && ++*convs_seen == 2;
	bench_passes(&c, flops, model, name, csv, tgt);
	free(c.dy.data), free(c.dx.data), free(c.scratch);
}

static int usage(void)
{
	fputs("usage: bench_layers [--models a,b] [--batch N] [--threads N] [--csv PATH|-]\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	bench_prefer_avx512(argv);
	char *models = NULL, *names[32];
	const char *csv_path = "bench/results/layers.csv";
	int threads = 2, n_models = 0;
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
	if (models) n_models = bench_split(models, names, 32);
	for (int i = 0; !models && cn_zoo_name(i) && n_models < 32; i++)
		names[n_models++] = (char *)cn_zoo_name(i);

	printf("== bench_layers: per-layer naive loops vs the GEMM path ==\n");
	bench_print_machine(stdout, threads);
	double peak[3] = {0};
	for (int t = 1; t <= 2; t++) {
		cn_set_blas_threads(t);
		peak[t] = bench_sgemm(false, false, 2048, 2048, 2048, 0.0f, 1.0, NULL);
		printf("sgemm peak, 2048^3, %d thread(s): %.1f GFLOP/s\n", t, peak[t]);
	}
	bench_check_scaling(peak[1], peak[2]);
	cn_set_blas_threads(threads);
	printf("batch %d, %d BLAS thread(s). GF = GFLOP/s. A naive ms marked * ran on fewer images "
	       "and was scaled\nto the batch. 'lower' = share of the GEMM path's time in im2col "
	       "(forward, backward_weights)\nor col2im (backward_data). %%sgemm = its GFLOP/s over "
	       "one cn_gemm of the pass's whole MxNxK.\n",
	       batch, threads);

	struct bench_csv csv;
	if (bench_csv_open(&csv, csv_path,
	                   "model,layer,pass,impl,ms,gflops,speedup_vs_naive,pct_of_sgemm"))
		return 1;
	for (int m = 0; m < n_models; m++) {
		const char *spec = cn_zoo_spec(names[m]);
		struct cn_net *net = NULL;
		char err[CN_ERR_LEN] = "unknown zoo model";
		struct cn_shape in = {1, 28, 28};
		if (!spec || cn_net_create(&net, spec, in, 1, err) ||
		    cn_net_plan(net, batch, CN_PLAN_TRAIN)) {
			fprintf(stderr, "bench_layers: %s: %s\n", names[m],
			        net ? cn_net_error(net) : err);
			return 1;
		}
		printf("\n### %s (batch %d): %s\n", names[m], batch, spec);
		int convs = 0;
		for (int32_t i = 0; i < net->n_layers; i++)
			bench_layer(net, names[m], i, &csv, &convs);
		cn_net_free(net);
	}
	int bad = bench_csv_close(&csv);
	if (target.seen)
		printf("\ntargets, tutorial-cnn conv 2 (batch %d, %d threads): forward %.0fx naive "
		       "(>= 30x), %.0f%% of sgemm (>= 60%%); backward %.2fx forward (<= 1.5x), "
		       "its passes data %.2fx and weights %.2fx (each a GEMM of forward's FLOPs)\n",
		       batch, threads, target.speedup, target.pct_sgemm, target.bwd_over_fwd,
		       target.data_over_fwd, target.weights_over_fwd);
	return bad ? 1 : 0;
}
