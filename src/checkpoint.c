/*
 * Checkpoint files. One format for a model alone and for a whole training state, so a model
 * can always be loaded from either. Version 3 (version 1 plus class names in version 2, plus
 * the network's generator and batchnorm statistics in version 3), every field
 * fixed-width little-endian, written and read byte by byte (independent of the host's byte
 * order); f32 is the IEEE-754 bit pattern, L = spec_len, n = n_params, m = optim_state_len:
 *
 *   size    field
 *   8       magic "COLNETCK"
 *   4       u32 version: 1; 2 when the model has class names; 3 when it has dropout or
 *           batchnorm (then the names, if any, move into the version-3 section)
 *   4       u32 kind: 0 model, 1 model + training state, 2 training state stopped mid-epoch
 *   4 + L   u32 spec_len (1..65536), the spec's bytes (no NUL)
 *   12      i32 input c, h, w
 *   8 + 4n  u64 n_params, f32 params[n] (the net's flat layout: every layer's w then b)
 *   kinds 1 and 2 (checkpoint_train.c):
 *   4       i32 epochs_done
 *   32      u64 rng s[4] (the shuffling generator)
 *   16      i32 epochs, i32 batch, u64 seed
 *   32      optim: u32 kind, f32 lr, momentum, beta1, beta2, eps, weight_decay, clip_norm
 *   24      sched: u32 kind, f32 lr, i32 step_epochs, f32 gamma, i32 epochs, f32 lr_min
 *   8       i64 optim_steps
 *   8 + 4m  u64 optim_state_len (0 SGD, n momentum kinds, 2n Adam), f32 optim_state[m]
 *   kind 2 only (the generator above is the one before the epoch's shuffle):
 *   16      i32 steps done, i32 images in the epoch, i32 images counted, i32 batches skipped
 *   24      f64 loss sum, i64 correct, f64 seconds
 *   versions 2 and 3 (checkpoint_extras.c, one route for both):
 *   4       version 3 only: u32 flags (bit 0: class names follow)
 *   4 + ... version 2, or flags bit 0: u32 count (= outputs), then per class u32 len
 *           (1..255) and the name's bytes
 *   32      version 3 only: u64 the network's generator s[4] (dropout masks)
 *   8 + 4s  version 3 only: u64 state_len (the spec's), f32 state[s] (batchnorm running
 *           mean, variance)
 *   (version 4 carries version 3's three fields above whatever the layers, then)
 *   version 4 only (checkpoint_recipe.c; kinds 1 and 2, when the run uses a recipe option):
 *   40      u32 nesterov, f32 warmup, peak, label_smoothing, ema_decay, i32 shift,
 *           f32 rotate, scale, elastic alpha, elastic sigma
 *   [ema]   with ema_decay > 0: u64 updates, u64 n + s, f32 trained[n + s] (the model
 *           blocks above then hold the average)
 *   always:
 *   4       u32 CRC-32 (zlib's crc32) of every byte before it
 *
 * The trainer options' init and init_scale are not stored (the trainer ignores them); a read
 * gives cn_train_opts_default()'s values there.
 *
 * Writing goes through cn_bytes_write_atomic (bytes.h): a temporary file beside path, every
 * write checked, fsync, rename, fsync of the folder; the previous file at path is untouched
 * unless the rename succeeds, and a failure removes the temporary file.
 * Reading takes the whole file (by its real size, capped), checks the CRC before anything
 * else, then parses every field against the bytes that remain, so no stored length is used
 * for an allocation before it is known to fit in the file.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "checkpoint.h"
#include "checkpoint_parse.h"
#include "error.h"
#include "finite.h"
#include "net.h"
#include "spec.h"

#define MAGIC     "COLNETCK"
#define VERSION   4u
#define MAX_BYTES ((uint64_t)8 << 30) /* largest file read or written */

/* ---- writing ---- */

static void put_body(struct cn_bytes_out *o, const struct cn_net *net,
                     const struct cn_checkpoint_train *t)
{
	size_t spec_len = strlen(net->spec);
	bool recipe = t && cn_checkpoint_has_recipe(&t->opts);
	uint32_t version = recipe ? 4 : cn_checkpoint_version(net);
	bool avg = t && t->opts.ema_decay > 0; /* the file's model is the average */
	cn_bytes_put(o, MAGIC, 8);
	cn_bytes_put_u32(o, version);
	cn_bytes_put_u32(o, t ? (t->pos.step ? 2 : 1) : 0);
	cn_bytes_put_u32(o, (uint32_t)spec_len);
	cn_bytes_put(o, net->spec, spec_len);
	cn_bytes_put_u32(o, (uint32_t)net->in.c);
	cn_bytes_put_u32(o, (uint32_t)net->in.h);
	cn_bytes_put_u32(o, (uint32_t)net->in.w);
	cn_bytes_put_u64(o, net->n_params);
	cn_bytes_put_f32s(o, avg ? t->avg_params : net->params, net->n_params);
	if (t) cn_checkpoint_put_train(o, t);
	cn_checkpoint_put_extras(o, net, version, avg ? t->avg_state : NULL);
	if (recipe) cn_checkpoint_put_recipe(o, t, net->n_params, net->n_state);
	cn_bytes_put_u32(o, o->crc); /* put folds these 4 bytes into crc too; nobody reads it */
}

/* Refuse what the reader would refuse, so a save never replaces a good file with a bad one. */
static enum cn_status check_writable(const struct cn_net *net, const struct cn_checkpoint_train *t,
                                     const char *nm, char *err)
{
	size_t spec_len = strlen(net->spec), bad;
	if (spec_len < 1 || spec_len > CN_SPEC_MAX_LEN)
		return cn_err_set(err, CN_ERR_ARG, "%s: spec of %zu bytes cannot be saved", nm,
		                  spec_len);
	if ((bad = cn_first_nonfinite(net->params, net->n_params)) < net->n_params)
		return cn_err_set(err, CN_ERR_NUMERIC, "%s: not saved: parameter %zu is %g", nm,
		                  bad, (double)net->params[bad]);
	if ((bad = cn_first_nonfinite(net->state, net->n_state)) < net->n_state)
		return cn_err_set(err, CN_ERR_NUMERIC, "%s: not saved: batchnorm state %zu is %g",
		                  nm, bad, (double)net->state[bad]);
	size_t floats = net->n_params + net->n_state;
	if (t) {
		if (!cn_checkpoint_train_ok(t, net->n_params))
			return cn_err_set(err, CN_ERR_ARG,
			                  "%s: training state is inconsistent (optimizer state "
			                  "length, counters or options)",
			                  nm);
		if ((bad = cn_first_nonfinite(t->optim_state, t->optim_state_len)) <
		    t->optim_state_len)
			return cn_err_set(err, CN_ERR_NUMERIC,
			                  "%s: not saved: optimizer state %zu is %g", nm, bad,
			                  (double)t->optim_state[bad]);
		floats += t->optim_state_len;
		enum cn_status st =
		    cn_checkpoint_recipe_ok(t, net->n_params, net->n_state, nm, err);
		if (st) return st;
		if (t->opts.ema_decay > 0) floats += net->n_params + net->n_state;
	}
	if (floats > (MAX_BYTES - CN_SPEC_MAX_LEN - 4096) / 4)
		return cn_err_set(err, CN_ERR_ARG, "%s: %zu floats exceed the %llu-byte file limit",
		                  nm, floats, (unsigned long long)MAX_BYTES);
	return CN_OK;
}

/* the body behind cn_bytes_write_atomic: ctx is the writer's arguments */
struct body {
	const struct cn_net *net;
	const struct cn_checkpoint_train *train;
};

static void put_file(struct cn_bytes_out *o, const void *ctx)
{
	const struct body *b = ctx;
	put_body(o, b->net, b->train);
}

enum cn_status cn_checkpoint_write(const char *path, const struct cn_net *net,
                                   const struct cn_checkpoint_train *train, char *err)
{
	if (!path || !*path || !net)
		return cn_err_set(err, CN_ERR_ARG, "checkpoint write: NULL argument");
	const char *nm = cn_bytes_name(path);
	enum cn_status st = check_writable(net, train, nm, err);
	if (st) return st;
	return cn_bytes_write_atomic(path, nm, put_file, &(struct body){net, train}, err);
}

/* ---- reading ---- */

enum cn_status cn_checkpoint_read(const char *path, struct cn_net **out,
                                  struct cn_checkpoint_train *train, char *err)
{
	if (out) *out = NULL;
	if (train) memset(train, 0, sizeof(*train));
	if (!path || !*path || !out)
		return cn_err_set(err, CN_ERR_ARG, "checkpoint read: NULL argument");
	uint8_t *buf;
	size_t len;
	enum cn_status st =
	    cn_bytes_read_file(path, cn_bytes_name(path), MAX_BYTES, &buf, &len, err);
	if (st) return st;
	st = cn_checkpoint_parse(buf, len, path, out, train, err);
	free(buf);
	return st;
}

enum cn_status cn_checkpoint_parse(const uint8_t *buf, size_t len, const char *name,
                                   struct cn_net **out, struct cn_checkpoint_train *train,
                                   char *err)
{
	if (out) *out = NULL;
	if (train) memset(train, 0, sizeof(*train));
	if (!out || (!buf && len))
		return cn_err_set(err, CN_ERR_ARG, "checkpoint parse: NULL argument");
	const char *nm = cn_bytes_name(name);
	size_t want;
	char *spec = NULL, msg[CN_ERR_LEN];
	struct cn_net *net = NULL;
	struct cn_checkpoint_train tmp = {0};
	enum cn_status st = CN_OK;
	/* the checksum first, so nothing below parses bytes the writer did not write */
	bool magic = len >= 8 && !memcmp(buf, MAGIC, 8);
	uint32_t stored = 0;
	struct cn_bytes_in tail = {len >= 4 ? buf + len - 4 : buf, len >= 4 ? 4 : 0};
	cn_bytes_take_u32(&tail, &stored);
	if (len < 12 || cn_bytes_crc32(0, buf, len - 4) != stored)
		BAD("%s: %s", nm,
		    magic ? "checksum mismatch: file is corrupt" : "not a colnet checkpoint");
	if (!magic) BAD("%s: not a colnet checkpoint", nm);
	struct cn_bytes_in r = {buf + 8, len - 12};
	uint32_t version, kind, spec_len;
	int32_t c, h, w;
	uint64_t n;
	NEED(cn_bytes_take_u32(&r, &version) && cn_bytes_take_u32(&r, &kind), "header");
	if (version < 1 || version > VERSION)
		BAD("%s: version %u is not supported (this build reads 1..%u)", nm, version,
		    VERSION);
	if (kind > 2)
		BAD("%s: kind %u is unknown (0 model, 1 training state, 2 stopped mid-epoch)", nm,
		    kind);
	if (train && kind == 0) BAD("%s: holds a model only, not a training state to resume", nm);
	NEED(cn_bytes_take_u32(&r, &spec_len), "spec");
	if (spec_len < 1 || spec_len > CN_SPEC_MAX_LEN)
		BAD("%s: spec length %u is not in 1..%d", nm, spec_len, CN_SPEC_MAX_LEN);
	NEED(spec_len <= r.left, "spec");
	if (!(spec = malloc(spec_len + 1))) {
		st = cn_err_set(err, CN_ERR_NOMEM, "%s: out of memory", nm);
		goto fail;
	}
	cn_bytes_take(&r, spec, spec_len);
	spec[spec_len] = '\0';
	if (strlen(spec) != spec_len) BAD("%s: spec contains a NUL byte", nm);
	NEED(cn_bytes_take_i32(&r, &c) && cn_bytes_take_i32(&r, &h) && cn_bytes_take_i32(&r, &w),
	     "input shape");
	NEED(cn_bytes_take_u64(&r, &n), "parameter count");
	NEED(n <= r.left / 4, "parameters");
	struct cn_shape in = {c, h, w};
	if (!cn_net_count_params(spec, in, &want, msg) && want != n)
		BAD("%s: spec has %zu parameters but the file stores %llu", nm, want,
		    (unsigned long long)n);
	if ((st = cn_net_create(&net, spec, in, 0, msg))) {
		st = cn_err_set(err, st == CN_ERR_NOMEM ? st : CN_ERR_FORMAT,
		                "%s: the stored model cannot be built: %s", nm, msg);
		goto fail;
	}
	if (net->n_params != n)
		BAD("%s: spec has %zu parameters but the file stores %llu", nm, net->n_params,
		    (unsigned long long)n);
	/* this build writes such a spec only as version 3; older ones could not parse it, and
	   without the section batchnorm would run on a running variance of 0 */
	if (version < 3 && cn_checkpoint_version(net) == 3)
		BAD("%s: version %u lacks the state section its dropout or batchnorm layers need "
		    "(version 3)",
		    nm, version);
	cn_bytes_take_f32s(&r, net->params, net->n_params);
	size_t bad = cn_first_nonfinite(net->params, net->n_params);
	if (bad < net->n_params) BAD("%s: parameter %zu is %g", nm, bad, (double)net->params[bad]);
	if (kind >= 1 && (st = cn_checkpoint_take_train(&r, kind, net->n_params, nm, &tmp, err)))
		goto fail;
	if ((st = cn_checkpoint_take_extras(&r, net, version, nm, err))) goto fail;
	if (version == 4 && kind == 0) BAD("%s: version 4 is for training states, not kind 0", nm);
	if (version == 4 &&
	    (st = cn_checkpoint_take_recipe(&r, &tmp, net->n_params + net->n_state, nm, err)))
		goto fail;
	if (r.left) BAD("%s: %zu trailing bytes after the data", nm, r.left);
	if (train) {
		*train = tmp;
	} else {
		free(tmp.optim_state);
		free(tmp.trained);
	}
	free(spec);
	*out = net;
	return CN_OK;
fail:
	free(tmp.optim_state);
	free(tmp.trained);
	cn_net_free(net);
	free(spec);
	return st;
}

enum cn_status cn_net_save(const struct cn_net *net, const char *path, char err[CN_ERR_LEN])
{
	return cn_checkpoint_write(path, net, NULL, err);
}

enum cn_status cn_net_load(struct cn_net **net, const char *path, char err[CN_ERR_LEN])
{
	return cn_checkpoint_read(path, net, NULL, err);
}

enum cn_status cn_net_load_mem(struct cn_net **net, const void *buf, size_t len,
                               char err[CN_ERR_LEN])
{
	if (!net) return cn_err_set(err, CN_ERR_ARG, "cn_net_load_mem: net is NULL");
	*net = NULL;
	if (!buf) return cn_err_set(err, CN_ERR_ARG, "cn_net_load_mem: buffer is NULL");
	return cn_checkpoint_parse(buf, len, "checkpoint in memory", net, NULL, err);
}
