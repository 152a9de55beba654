/*
 * The section version 3 of the checkpoint format adds (checkpoint.c describes the whole
 * file), written only for networks with dropout or batchnorm, so every other model keeps
 * the version-1/2 bytes older builds read:
 *   4       u32 flags: bit 0 set when version 2's class-names section follows here
 *   ...     that section, if bit 0
 *   32      u64 s[4], the network's generator (dropout masks resume where they stopped)
 *   8 + 4s  u64 state_len (must equal the spec's), f32 state[s]: every batchnorm layer's
 *           running mean [C] then running variance [C], in layer order
 * The reader checks the count against the spec before reading, every value for NaN/Inf,
 * variances for sign, and the generator for the all-zero state xoshiro never leaves.
 */
#include <math.h>

#include "checkpoint.h"
#include "error.h"
#include "net.h"

bool cn_ckpt_has_state(const struct cn_net *net)
{
	for (int32_t i = 0; i < net->n_layers; i++)
		if (net->layers[i].d.kind == CN_LAYER_DROPOUT || net->layers[i].state_len)
			return true;
	return false;
}

void cn_ckpt_put_state(struct cn_bytes_out *o, const struct cn_net *net)
{
	cn_bytes_put_u32(o, net->class_names ? 1u : 0u);
	if (net->class_names) cn_ckpt_put_names(o, net);
	for (int i = 0; i < 4; i++) cn_bytes_put_u64(o, net->rng.s[i]);
	cn_bytes_put_u64(o, net->n_state);
	cn_bytes_put_f32s(o, net->state, net->n_state);
}

enum cn_status cn_ckpt_take_state(struct cn_bytes_in *r, struct cn_net *net, const char *nm,
                                  char *err)
{
	uint32_t flags;
	uint64_t s[4], len;
	if (!cn_bytes_take_u32(r, &flags))
		return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in state flags", nm);
	if (flags > 1)
		return cn_err_set(err, CN_ERR_FORMAT, "%s: unknown state flags %u", nm, flags);
	enum cn_status st = flags ? cn_ckpt_take_names(r, net, nm, err) : CN_OK;
	if (st) return st;
	bool some = false;
	for (int i = 0; i < 4; i++) {
		if (!cn_bytes_take_u64(r, &s[i]))
			return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in network generator",
			                  nm);
		some |= s[i] != 0;
	}
	if (!some) return cn_err_set(err, CN_ERR_FORMAT, "%s: network generator is all zero", nm);
	if (!cn_bytes_take_u64(r, &len))
		return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in state length", nm);
	if (len != net->n_state)
		return cn_err_set(err, CN_ERR_FORMAT, "%s: %llu state values, the spec has %zu", nm,
		                  (unsigned long long)len, net->n_state);
	if (len > r->left / 4)
		return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in state values", nm);
	cn_bytes_take_f32s(r, net->state, net->n_state);
	for (int32_t i = 0; i < net->n_layers; i++) {
		const struct cn_layer *l = &net->layers[i];
		size_t c = l->state_len / 2;
		for (size_t j = 0; j < l->state_len; j++)
			if (!isfinite(l->state[j]) || (j >= c && l->state[j] < 0))
				return cn_err_set(
				    err, CN_ERR_FORMAT, "%s: layer %d: running %s %zu is %g", nm,
				    i + 1, j < c ? "mean" : "variance", j % c, (double)l->state[j]);
	}
	for (int i = 0; i < 4; i++) net->rng.s[i] = s[i];
	return CN_OK;
}
