/*
 * libFuzzer harness for the checkpoint reader (cn_checkpoint_parse, the in-memory half of
 * cn_checkpoint_read). Each input is tried twice: as it is, which the CRC-32 nearly always
 * rejects, and with its correct CRC-32 appended, so the fuzzer explores the parser behind the
 * checksum (the seeds are real checkpoints minus their last four bytes). Both as a model and
 * as a training state. A loaded model must be finite and re-savable in memory.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "net.h"

static void one(const uint8_t *b, size_t len)
{
	char err[CN_ERR_LEN];
	for (int as_train = 0; as_train < 2; as_train++) {
		struct cn_net *net = (struct cn_net *)1;
		struct cn_checkpoint_train t;
		enum cn_status st =
		    cn_checkpoint_parse(b, len, "fuzz", &net, as_train ? &t : NULL, err);
		if (st != CN_OK) {
			if (net || (as_train && t.optim_state)) abort(); /* nothing leaks out */
			if (st != CN_ERR_FORMAT && st != CN_ERR_NOMEM) abort();
			continue;
		}
		const float *p = cn_net_params(net);
		for (size_t i = 0; i < cn_net_param_count(net); i++)
			if (!isfinite(p[i])) abort();
		if (as_train) {
			if (!cn_train_pos_ok(&t.pos, t.opts.batch) && t.pos.step) abort();
			free(t.optim_state);
		}
		cn_net_free(net);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size);
	uint8_t *b = malloc(size + 4);
	if (!b) return 0;
	if (size) memcpy(b, data, size);
	uint32_t crc = cn_bytes_crc32(0, data, size);
	for (int i = 0; i < 4; i++) b[size + i] = (uint8_t)(crc >> 8 * i);
	one(b, size + 4);
	free(b);
	return 0;
}
