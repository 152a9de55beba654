/*
 * What versions 2 and 3 of the checkpoint format add after the training section
 * (checkpoint.c describes the whole file), written and read by one route each:
 *   4       version 3 only: u32 flags, bit 0 set when class names follow
 *   ...     version 2, or bit 0: u32 count (= outputs), then per name u32 len (1..255) and
 *           its bytes
 *   32      version 3 only: u64 s[4], the network's generator (dropout masks resume where
 *           they stopped)
 *   8 + 4s  version 3 only: u64 state_len (must equal the spec's), f32 state[s]: every
 *           batchnorm layer's running mean [C] then running variance [C], in layer order
 * Version 4 (checkpoint_recipe.c) carries version 3's sections whatever the layers.
 * The version is the lowest that holds the model (cn_checkpoint_version), so a model without
 * names, dropout or batchnorm is still version 1, which every earlier build reads. The reader
 * checks counts against the spec before reading, every value for NaN/Inf, variances for sign,
 * and the generator for the all-zero state xoshiro never leaves.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"
#include "net.h"

#define HAS_NAMES 1u /* version 3's flags */

uint32_t cn_checkpoint_version(const struct cn_net *net)
{
	for (int32_t i = 0; i < net->n_layers; i++)
		if (cn_layer_impls[net->layers[i].d.kind]->uses_rng || net->layers[i].state_len)
			return 3;
	return net->class_names ? 2 : 1;
}

static void put_names(struct cn_bytes_out *o, const struct cn_net *net)
{
	int32_t count = cn_net_output_len(net);
	cn_bytes_put_u32(o, (uint32_t)count);
	for (int32_t k = 0; k < count; k++) {
		const char *name = cn_net_class_name(net, k);
		size_t len = strlen(name);
		cn_bytes_put_u32(o, (uint32_t)len);
		cn_bytes_put(o, name, len);
	}
}

void cn_checkpoint_put_extras(struct cn_bytes_out *o, const struct cn_net *net, uint32_t version,
                              const float *state)
{
	bool names = net->class_names != NULL;
	if (version >= 3) cn_bytes_put_u32(o, names ? HAS_NAMES : 0u);
	if (version >= 2 && names) put_names(o, net);
	if (version < 3) return;
	for (int i = 0; i < 4; i++) cn_bytes_put_u64(o, net->rng.s[i]);
	cn_bytes_put_u64(o, net->n_state);
	cn_bytes_put_f32s(o, state ? state : net->state, net->n_state);
}

static enum cn_status take_names(struct cn_bytes_in *r, struct cn_net *net, const char *nm,
                                 char *err)
{
	uint32_t count, len;
	int32_t outs = cn_net_output_len(net);
	if (!cn_bytes_take_u32(r, &count))
		return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in class names", nm);
	if (count != (uint32_t)outs)
		return cn_err_set(err, CN_ERR_FORMAT, "%s: %u class names for %d outputs", nm,
		                  count, outs);
	/* a first pass checks every length against the bytes left before anything is allocated */
	struct cn_bytes_in probe = *r;
	size_t total = 0;
	for (uint32_t k = 0; k < count; k++) {
		if (!cn_bytes_take_u32(&probe, &len) || len > probe.left)
			return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in class name %u", nm,
			                  k);
		if (len < 1 || len > CN_CLASS_NAME_MAX)
			return cn_err_set(err, CN_ERR_FORMAT,
			                  "%s: class name %u has length %u (1..%d)", nm, k, len,
			                  CN_CLASS_NAME_MAX);
		probe.p += len;
		probe.left -= len;
		total += len + 1;
	}
	char *text = malloc(total);
	const char **names = malloc(count * sizeof(*names));
	enum cn_status st = CN_OK;
	if (!text || !names) {
		st = cn_err_set(err, CN_ERR_NOMEM, "%s: no memory for class names", nm);
		goto done;
	}
	char *p = text;
	for (uint32_t k = 0; k < count; k++) {
		cn_bytes_take_u32(r, &len);
		cn_bytes_take(r, p, len);
		if (memchr(p, 0, len)) {
			st = cn_err_set(err, CN_ERR_FORMAT, "%s: class name %u contains a NUL byte",
			                nm, k);
			goto done;
		}
		p[len] = '\0';
		names[k] = p;
		p += len + 1;
	}
	if (cn_net_set_class_names(net, names, (int32_t)count))
		st = cn_err_set(err, CN_ERR_FORMAT, "%s: %s", nm, cn_net_error(net));
done:
	free(text);
	free(names);
	return st;
}

/* Version 3's generator and state values. */
static enum cn_status take_state(struct cn_bytes_in *r, struct cn_net *net, const char *nm,
                                 char *err)
{
	uint64_t s[4], len;
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

enum cn_status cn_checkpoint_take_extras(struct cn_bytes_in *r, struct cn_net *net,
                                         uint32_t version, const char *nm, char *err)
{
	uint32_t flags = version == 2 ? HAS_NAMES : 0;
	if (version >= 3) {
		if (!cn_bytes_take_u32(r, &flags))
			return cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in state flags", nm);
		if (flags & ~HAS_NAMES)
			return cn_err_set(err, CN_ERR_FORMAT, "%s: unknown state flags %u", nm,
			                  flags);
	}
	enum cn_status st = flags & HAS_NAMES ? take_names(r, net, nm, err) : CN_OK;
	if (!st && version >= 3) st = take_state(r, net, nm, err);
	return st;
}
