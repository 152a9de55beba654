/*
 * The class-names section that version 2 of the checkpoint format adds after version 1's
 * fields (checkpoint.c describes the whole file): u32 count, then per name u32 len (1..255)
 * and its bytes. count equals the network's outputs. A model without names is still written
 * as version 1, so builds that read only version 1 keep reading what they always could.
 */
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"

void cn_ckpt_put_names(struct cn_bytes_out *o, const struct cn_net *net)
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

enum cn_status cn_ckpt_take_names(struct cn_bytes_in *r, struct cn_net *net, const char *nm,
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
