/* The trainer's insides, shared by the epoch loop (train.c) and its save/load (train_io.c). */
#ifndef CN_TRAIN_H
#define CN_TRAIN_H

#include <stdbool.h>

#include "colnet.h"
#include "rng.h"
#include "train_opts.h"

struct cn_trainer {
	char err[CN_ERR_LEN];
	struct cn_net *net; /* borrowed, always: the caller frees it after the trainer */
	struct cn_train_opts opts;
	struct cn_optim *optim;
	struct cn_rng rng; /* shuffling; saved in checkpoints so a resume continues exactly */
	int32_t epochs_done;
	struct cn_rng rng_epoch; /* rng before the current epoch's shuffle (a resume reshuffles) */
	struct cn_train_pos pos; /* where a stopped epoch stands; step 0: none */
	int32_t *perm;           /* [perm_len] example order of the current epoch */
	int32_t perm_len;
	int32_t *labels;       /* [opts.batch] labels of the current batch */
	struct cn_group group; /* size 0: alone; else a member of it (cn_trainer_set_group) */
};

/* Whether ds fits net: images of its input shape, no more classes than its outputs (the
   check training and evaluation share); the message goes to err. */
enum cn_status cn_data_check(const struct cn_net *net, const struct cn_dataset *ds, char *err);

#endif
