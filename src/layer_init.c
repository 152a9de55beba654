/*
 * Weight initialization for the kinds that take the network's initializer, drawn from the
 * net's seeded generator so a run is reproducible. fan_in = w_len / units (KH*KW*CI for a
 * conv, IN for linear); fan_out is the kind's (KH*KW*CO, or OUT).
 */
#include <math.h>

#include "layer.h"

static void fill_uniform(struct cn_rng *r, float *a, size_t len, double bound)
{
	for (size_t i = 0; i < len; i++) a[i] = (float)((2.0 * cn_rng_uniform(r) - 1.0) * bound);
}

static void fill_normal(struct cn_rng *r, float *a, size_t len, double std)
{
	for (size_t i = 0; i < len; i++) a[i] = (float)(cn_rng_normal(r) * std);
}

void cn_layer_init_weights(struct cn_layer *l, struct cn_rng *r, enum cn_init kind, float scale,
                           double fo)
{
	if (!l->w_len) return;
	double fi = (double)l->w_len / (double)l->d.out;
	/* biases start at zero except in PyTorch's default scheme */
	double bias_bound = 0;
	switch (kind) {
	case CN_INIT_DEFAULT: /* PyTorch's: kaiming_uniform(a=sqrt 5) = U(+-1/sqrt(fan_in)) */
		fill_uniform(r, l->w, l->w_len, 1.0 / sqrt(fi));
		bias_bound = 1.0 / sqrt(fi);
		break;
	case CN_INIT_UNIFORM:
		fill_uniform(r, l->w, l->w_len, scale);
		break;
	case CN_INIT_GAUSSIAN:
		fill_normal(r, l->w, l->w_len, scale);
		break;
	case CN_INIT_XAVIER_UNIFORM:
		fill_uniform(r, l->w, l->w_len, sqrt(6.0 / (fi + fo)));
		break;
	case CN_INIT_XAVIER_NORMAL:
		fill_normal(r, l->w, l->w_len, sqrt(2.0 / (fi + fo)));
		break;
	case CN_INIT_HE_UNIFORM:
		fill_uniform(r, l->w, l->w_len, sqrt(6.0 / fi));
		break;
	case CN_INIT_HE_NORMAL:
		fill_normal(r, l->w, l->w_len, sqrt(2.0 / fi));
		break;
	}
	if (l->b_len) {
		if (bias_bound > 0)
			fill_uniform(r, l->b, l->b_len, bias_bound);
		else
			for (size_t j = 0; j < l->b_len; j++) l->b[j] = 0.0f;
	}
}
