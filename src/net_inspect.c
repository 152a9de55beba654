/*
 * Read access to a network's insides for front ends that draw or explain it: one layer's
 * activations from the last forward, one layer's parameters, and the names of the outputs.
 * Everything returned is a borrowed view into the net's own memory; nothing here copies or
 * allocates except cn_net_set_class_names, which keeps its own copy of the names.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net.h"

enum cn_status cn_net_layer_output(const struct cn_net *net, int32_t i, const float **y,
                                   struct cn_shape *shape, int32_t *n)
{
	if (y) *y = NULL;
	if (n) *n = 0;
	if (!net) return CN_ERR_ARG;
	if (i < 0 || i >= net->n_layers)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG, "layer %d is outside 0..%d", i,
		                  net->n_layers - 1);
	const struct cn_layer *l = &net->layers[i];
	if (shape) *shape = l->out;
	/* y is bound at plan time but holds data only after a forward of net->n images */
	if (!net->batch || !net->n)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_STATE,
		                  "layer %d's output: no forward since the last plan", i);
	if (l->pools_next)
		return cn_err_set(
		    cn_net_errbuf(net), CN_ERR_STATE,
		    "layer %d's output is not kept by a training plan, which computes "
		    "the max pool after it in the same pass (plan for inference to "
		    "read it)",
		    i);
	if (y) *y = l->y.data;
	if (n) *n = net->n;
	return CN_OK;
}

enum cn_status cn_net_layer_params(const struct cn_net *net, int32_t i, const float **w,
                                   size_t *w_len, const float **b, size_t *b_len,
                                   struct cn_shape *filter)
{
	if (!net) return CN_ERR_ARG;
	if (i < 0 || i >= net->n_layers)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG, "layer %d is outside 0..%d", i,
		                  net->n_layers - 1);
	const struct cn_layer *l = &net->layers[i];
	if (w) *w = l->w;
	if (w_len) *w_len = l->w_len;
	if (b) *b = l->b;
	if (b_len) *b_len = l->b_len;
	if (filter) {
		const struct cn_layer_impl *impl = cn_layer_impls[l->d.kind];
		*filter = impl->filter ? impl->filter(l) : (struct cn_shape){0, 0, 0};
	}
	return CN_OK;
}

/* A name is printable text on one line: it ends up in terminals, CSVs and picture captions. */
static bool name_ok(const char *s)
{
	size_t len = strlen(s);
	if (len < 1 || len > CN_CLASS_NAME_MAX) return false;
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f) return false;
	return true;
}

enum cn_status cn_net_set_class_names(struct cn_net *net, const char *const *names, int32_t count)
{
	if (!net) return CN_ERR_ARG;
	int32_t outs = cn_net_output_len(net);
	if (count == 0) {
		free(net->class_names);
		net->class_names = NULL;
		return CN_OK;
	}
	if (count != outs || !names)
		return cn_err_set(net->err, CN_ERR_ARG,
		                  "%d class names for a network with %d outputs (they must match)",
		                  count, outs);
	size_t bytes = (size_t)count * sizeof(char *);
	for (int32_t k = 0; k < count; k++) {
		if (!names[k] || !name_ok(names[k]))
			return cn_err_set(net->err, CN_ERR_ARG,
			                  "class name %d must be 1..%d bytes of printable text", k,
			                  CN_CLASS_NAME_MAX);
		bytes += strlen(names[k]) + 1;
	}
	/* pointers first, then the strings they point to: one block, one free */
	char **block = malloc(bytes);
	if (!block) return cn_err_set(net->err, CN_ERR_NOMEM, "no memory for class names");
	char *p = (char *)(block + count);
	for (int32_t k = 0; k < count; k++) {
		size_t len = strlen(names[k]) + 1;
		memcpy(p, names[k], len);
		block[k] = p;
		p += len;
	}
	free(net->class_names);
	net->class_names = block;
	return CN_OK;
}

const char *cn_net_class_name(const struct cn_net *net, int32_t i)
{
	if (!net || !net->class_names || i < 0 || i >= cn_net_output_len(net)) return NULL;
	return net->class_names[i];
}

const char *cn_net_spec(const struct cn_net *net)
{
	return net ? net->spec : NULL;
}
