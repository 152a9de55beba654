/*
 * What a training run is told and where it stands, as plain data: the options' defaults and
 * their check, and the position of a stopped epoch. They sit below the file layer (a
 * checkpoint records both) and below the trainer (which runs on them); neither reaches up.
 */
#ifndef CN_TRAIN_OPTS_H
#define CN_TRAIN_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "colnet.h"

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

/* Validate opts; message names the option. */
enum cn_status cn_train_opts_check(const struct cn_train_opts *opts, char *err);

/* Whether every float of opts is finite (a checkpoint refuses to store or load others). */
bool cn_train_opts_finite(const struct cn_train_opts *opts);

/* Whether pos is a possible stopped epoch for batches of batch (mid-epoch, counts in range). */
bool cn_train_pos_ok(const struct cn_train_pos *pos, int32_t batch);

#endif
