/*
 * Checkpoint files: one reader and one writer for both model-only files and whole training
 * states. The reader distrusts every byte; the writer never leaves a half-written file.
 */
#ifndef CN_CHECKPOINT_H
#define CN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "colnet.h"
#include "rng.h"

/* What a trainer adds to a model checkpoint. */
struct cn_ckpt_train {
	int32_t epochs_done;
	struct cn_train_opts opts;
	struct cn_rng rng; /* the shuffling generator after epochs_done epochs */
	int64_t optim_steps;
	size_t optim_state_len; /* floats */
	float *optim_state;     /* write: borrowed; read: malloc'd, the caller frees */
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

#endif
