/*
 * Parameter initialization, drawn from a seeded generator so a run is reproducible.
 * fan_in = KH*KW*CI (conv) or IN (linear); fan_out = KH*KW*CO or OUT. Batch norm starts as
 * the identity (gamma 1, beta 0, running mean 0 and variance 1), whatever the initializer.
 */
#include <math.h>

#include "error.h"
#include "net.h"

static void fans(const struct cn_layer *l, double *fan_in, double *fan_out)
{
	double units = (double)l->d.out;
	*fan_in = (double)l->w_len / units;
	*fan_out = l->d.kind == CN_LAYER_CONV2D ? units * l->d.kh * l->d.kw : units;
}

static void fill_uniform(struct cn_rng *r, float *a, size_t len, double bound)
{
	for (size_t i = 0; i < len; i++) a[i] = (float)((2.0 * cn_rng_uniform(r) - 1.0) * bound);
}

static void fill_normal(struct cn_rng *r, float *a, size_t len, double std)
{
	for (size_t i = 0; i < len; i++) a[i] = (float)(cn_rng_normal(r) * std);
}

/*
 * RBF units keep their own scheme whatever kind says (a weight initializer means nothing for
 * centers). They are made for sigmoid features, which a fresh network puts near 0.5 in every
 * dimension: centers uniform in [0.3, 0.7]^D around that point, and one width for all,
 * γ = 75/D = 1/E‖x̄ − μ‖² (the variance of U[0.3, 0.7] is 0.4²/12 per dimension), so r starts
 * near 1 and every unit answers with a usable gradient for x, μ and γ. Measured on MNIST
 * (cnn-rbf, 3 epochs at lr 0.05): centers in [0, 1] with γ = 6/D reached 58% test accuracy,
 * these 92.8% (seed 7: 93.2%); [0.4, 0.6] with γ = 300/D, or [0, 1] with γ = 60/D, did not
 * learn at all (the units saturate).
 */
static void init_rbf(struct cn_rng *r, struct cn_layer *l)
{
	size_t d = l->w_len / (size_t)l->d.out;
	for (size_t i = 0; i < l->w_len; i++) l->w[i] = (float)(0.3 + 0.4 * cn_rng_uniform(r));
	for (size_t j = 0; j < l->b_len; j++) l->b[j] = (float)log(75.0 / (double)d);
}

enum cn_status cn_net_init(struct cn_net *net, enum cn_init kind, float scale, uint64_t seed)
{
	if (!net) return CN_ERR_ARG;
	if (net->shared)
		return cn_err_set(
		    net->err, CN_ERR_STATE,
		    "a shared network (cn_net_share) cannot re-initialize its model's "
		    "weights");
	if ((unsigned)kind > CN_INIT_HE_NORMAL)
		return cn_err_set(net->err, CN_ERR_ARG, "unknown initializer %d", (int)kind);
	for (int32_t i = 0; i < net->n_layers; i++) {
		/* layers that name their own initializer keep it */
		int k = net->layers[i].d.init >= 0 ? net->layers[i].d.init : (int)kind;
		bool needs_scale = k == CN_INIT_UNIFORM || k == CN_INIT_GAUSSIAN;
		bool own = net->layers[i].d.kind == CN_LAYER_RBF; /* its own scheme */
		bool weighted = net->layers[i].d.kind != CN_LAYER_BATCHNORM;
		if (net->layers[i].w_len && weighted && needs_scale && !own &&
		    !(scale > 0.0f && isfinite(scale)))
			return cn_err_set(net->err, CN_ERR_ARG,
			                  "layer %d: initializer scale %g must be positive", i + 1,
			                  (double)scale);
	}
	cn_rng_seed(&net->rng, seed);
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		if (l->d.kind == CN_LAYER_BATCHNORM) { /* the identity map, fresh statistics */
			for (size_t j = 0; j < l->w_len; j++) l->w[j] = 1.0f, l->b[j] = 0.0f;
			for (size_t j = 0; j < l->state_len; j++)
				l->state[j] = j < l->state_len / 2 ? 0.0f : 1.0f;
			continue;
		}
		if (!l->w_len) continue;
		if (l->d.kind == CN_LAYER_RBF) {
			init_rbf(&net->rng, l);
			continue;
		}
		double fi, fo;
		fans(l, &fi, &fo);
		/* biases start at zero except in PyTorch's default scheme */
		double bias_bound = 0;
		enum cn_init k = l->d.init >= 0 ? (enum cn_init)l->d.init : kind;
		switch (k) {
		case CN_INIT_DEFAULT: /* PyTorch's: kaiming_uniform(a=sqrt 5) = U(+-1/sqrt(fan_in)) */
			fill_uniform(&net->rng, l->w, l->w_len, 1.0 / sqrt(fi));
			bias_bound = 1.0 / sqrt(fi);
			break;
		case CN_INIT_UNIFORM:
			fill_uniform(&net->rng, l->w, l->w_len, scale);
			break;
		case CN_INIT_GAUSSIAN:
			fill_normal(&net->rng, l->w, l->w_len, scale);
			break;
		case CN_INIT_XAVIER_UNIFORM:
			fill_uniform(&net->rng, l->w, l->w_len, sqrt(6.0 / (fi + fo)));
			break;
		case CN_INIT_XAVIER_NORMAL:
			fill_normal(&net->rng, l->w, l->w_len, sqrt(2.0 / (fi + fo)));
			break;
		case CN_INIT_HE_UNIFORM:
			fill_uniform(&net->rng, l->w, l->w_len, sqrt(6.0 / fi));
			break;
		case CN_INIT_HE_NORMAL:
			fill_normal(&net->rng, l->w, l->w_len, sqrt(2.0 / fi));
			break;
		}
		if (l->b_len) {
			if (bias_bound > 0)
				fill_uniform(&net->rng, l->b, l->b_len, bias_bound);
			else
				for (size_t j = 0; j < l->b_len; j++) l->b[j] = 0.0f;
		}
	}
	return CN_OK;
}
