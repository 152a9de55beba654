/*
 * The checkpoint readers' two ways out (checkpoint.c, checkpoint_train.c): a field the bytes
 * run out in, or a value the format forbids. Both set st and jump to the caller's fail label.
 */
#ifndef CN_CHECKPOINT_PARSE_H
#define CN_CHECKPOINT_PARSE_H

#include "error.h"

#define NEED(cond, what)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			st = cn_err_set(err, CN_ERR_FORMAT, "%s: truncated in %s", nm, what);      \
			goto fail;                                                                 \
		}                                                                                  \
	} while (0)
#define BAD(...)                                                                                   \
	do {                                                                                       \
		st = cn_err_set(err, CN_ERR_FORMAT, __VA_ARGS__);                                  \
		goto fail;                                                                         \
	} while (0)

#endif
