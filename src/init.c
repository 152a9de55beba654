/*
 * Parameter initialization, drawn from a seeded generator so a run is reproducible. Each kind
 * fills its own parameters (its table entry's init): conv and linear by the initializer
 * (layer_init.c), rbf by its own scheme, batch norm as the identity.
 */
#include <math.h>

#include "error.h"
#include "net.h"

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
		const struct cn_layer *l = &net->layers[i];
		/* layers that name their own initializer keep it */
		int k = l->d.init >= 0 ? l->d.init : (int)kind;
		bool needs_scale = k == CN_INIT_UNIFORM || k == CN_INIT_GAUSSIAN;
		if (l->w_len && cn_layer_impls[l->d.kind]->takes_init && needs_scale &&
		    !(scale > 0.0f && isfinite(scale)))
			return cn_err_set(net->err, CN_ERR_ARG,
			                  "layer %d: initializer scale %g must be positive", i + 1,
			                  (double)scale);
	}
	cn_rng_seed(&net->rng, seed);
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		const struct cn_layer_impl *impl = cn_layer_impls[l->d.kind];
		enum cn_init k = l->d.init >= 0 ? (enum cn_init)l->d.init : kind;
		if (impl->init) impl->init(l, &net->rng, k, scale);
	}
	return CN_OK;
}
