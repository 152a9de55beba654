/*
 * Checkpoint files: one reader and one writer for both model-only files and whole training
 * states. The reader distrusts every byte; the writer never leaves a half-written file.
 */
#ifndef CN_CHECKPOINT_H
#define CN_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "colnet.h"
#include "rng.h"

/*
 * Where a stopped epoch stands (step 0: at an epoch boundary, nothing pending). The epoch's
 * order is not stored: it is the shuffle of count indices by the generator saved beside it.
 */
struct cn_train_pos {
	int32_t step;    /* batches done in epoch epochs_done + 1 */
	int32_t count;   /* images in that epoch's data */
	int32_t seen;    /* images whose loss counted (skipped batches excluded) */
	int32_t skipped; /* batches skipped for a NaN or Inf */
	double loss_sum; /* sum of per-image losses so far */
	int64_t right;   /* correct predictions so far */
	double seconds;  /* training time spent in the epoch so far */
};

/* What a trainer adds to a model checkpoint. */
struct cn_ckpt_train {
	int32_t epochs_done;
	struct cn_train_opts opts;
	struct cn_rng rng; /* the shuffling generator after epochs_done epochs */
	int64_t optim_steps;
	size_t optim_state_len;  /* floats */
	float *optim_state;      /* write: borrowed; read: malloc'd, the caller frees */
	struct cn_train_pos pos; /* step > 0: stopped mid-epoch (written as kind 2) */
};

/* Write net (and train, if not NULL) to path atomically. */
enum cn_status cn_checkpoint_write(const char *path, const struct cn_net *net,
                                   const struct cn_ckpt_train *train, char *err);

/*
 * Read path into a new network; if train is not NULL the file must hold a training state and
 * *train receives it (train->optim_state malloc'd). Errors name the file and the problem.
 */
enum cn_status cn_checkpoint_read(const char *path, struct cn_net **net,
                                  struct cn_ckpt_train *train, char *err);

/* Version 2's class-names section (checkpoint_names.c): write net's names; read them into net. */
void cn_ckpt_put_names(struct cn_bytes_out *o, const struct cn_net *net);
enum cn_status cn_ckpt_take_names(struct cn_bytes_in *r, struct cn_net *net, const char *nm,
                                  char *err);

/* Version 3's section (checkpoint_state.c): class names if any, the network's generator and
   its non-trainable state. Written for networks with dropout or batchnorm only. */
bool cn_ckpt_has_state(const struct cn_net *net);
void cn_ckpt_put_state(struct cn_bytes_out *o, const struct cn_net *net);
enum cn_status cn_ckpt_take_state(struct cn_bytes_in *r, struct cn_net *net, const char *nm,
                                  char *err);

/* cn_checkpoint_read on the bytes buf[len] of a file; name is used in messages. No I/O. */
enum cn_status cn_checkpoint_parse(const uint8_t *buf, size_t len, const char *name,
                                   struct cn_net **net, struct cn_ckpt_train *train, char *err);

/* The kind-2 section, a stopped epoch's position, written after the optimizer state. */
void cn_ckpt_put_pos(struct cn_bytes_out *o, const struct cn_train_pos *pos);
/* Read it and check it against the run's batch size; messages start with nm. */
enum cn_status cn_ckpt_take_pos(struct cn_bytes_in *in, int32_t batch, const char *nm,
                                struct cn_train_pos *pos, char *err);
/* Whether the reader would accept pos for batches of batch (the writer refuses the rest). */
bool cn_ckpt_pos_ok(const struct cn_train_pos *pos, int32_t batch);

#endif
