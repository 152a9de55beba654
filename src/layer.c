/*
 * The layer table: one entry per kind (its own file says all the kind knows: layer_conv.c,
 * layer_dense.c, layer_pool.c, layer_elem.c), indexed by enum. Dispatch is by enum through
 * this one const table (no per-instance function pointers); nothing else names a kind.
 */
#include <stdio.h>
#include <string.h>

#include "layer.h"
#include "util.h"

const struct cn_layer_impl *const cn_layer_impls[CN_LAYER_COUNT] = {
    [CN_LAYER_CONV2D] = &cn_layer_conv2d,
    [CN_LAYER_LINEAR] = &cn_layer_linear,
    [CN_LAYER_MAXPOOL2D] = &cn_layer_maxpool2d,
    [CN_LAYER_AVGPOOL2D] = &cn_layer_avgpool2d,
    [CN_LAYER_ACT] = &cn_layer_act,
    [CN_LAYER_FLATTEN] = &cn_layer_flatten,
    [CN_LAYER_RBF] = &cn_layer_rbf,
    [CN_LAYER_LPPOOL2D] = &cn_layer_lppool2d,
    [CN_LAYER_DROPOUT] = &cn_layer_dropout,
    [CN_LAYER_BATCHNORM] = &cn_layer_batchnorm,
};

int cn_layer_find(const char *name)
{
	/* an activation layer is written as the activation's name, never as "act" */
	for (int k = 0; k < CN_LAYER_COUNT; k++)
		if (k != CN_LAYER_ACT && strcmp(name, cn_layer_impls[k]->name) == 0) return k;
	return -1;
}

static const char *const act_names[CN_ACT_COUNT] = {
    [CN_ACT_IDENTITY] = "identity", [CN_ACT_RELU] = "relu", [CN_ACT_LEAKY_RELU] = "leaky",
    [CN_ACT_SIGMOID] = "sigmoid",   [CN_ACT_TANH] = "tanh",
};

const char *cn_act_name(enum cn_act act)
{
	return (unsigned)act < CN_ACT_COUNT ? act_names[act] : "?";
}

size_t cn_layer_image_len(struct cn_shape s)
{
	return cn_mul4((size_t)s.h, (size_t)s.w, (size_t)s.c, 1);
}

size_t cn_layer_no_ws(const struct cn_layer *l, bool train)
{
	(void)l, (void)train;
	return 0;
}

void cn_layer_format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	const struct cn_layer_impl *impl = cn_layer_impls[d->kind];
	int k = impl->format ? impl->format(d, buf, len) : snprintf(buf, len, "%s", impl->name);
	/* an activation layer's description is its activation */
	if (k < 0 || (size_t)k >= len || d->act == CN_ACT_IDENTITY || d->kind == CN_LAYER_ACT)
		return;
	if (d->act == CN_ACT_LEAKY_RELU)
		snprintf(buf + k, len - (size_t)k, " leaky=%g", (double)d->slope);
	else
		snprintf(buf + k, len - (size_t)k, " %s", cn_act_name(d->act));
}
