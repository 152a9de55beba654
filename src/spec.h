/*
 * The one-line model grammar (see cn_net_create in colnet.h) parsed into layer descriptors.
 * The parser distrusts its input: every number is range-checked, lengths are bounded, and an
 * error names the layer, its text and the offending token.
 */
#ifndef CN_SPEC_H
#define CN_SPEC_H

#include <stdint.h>

#include "colnet.h"
#include "layer.h"

#define CN_SPEC_MAX_LAYERS 256
#define CN_SPEC_MAX_LEN    65536 /* bytes */

/* Parse spec into descs[CN_SPEC_MAX_LAYERS]; *count receives the number of layers. */
enum cn_status cn_spec_parse(const char *spec, struct cn_layer_desc *descs, int32_t *count,
                             char *err);

#endif
