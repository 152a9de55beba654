/* The trainer's guard before an optimizer step, and the file layer's: are a block's floats finite? */
#ifndef CN_FINITE_H
#define CN_FINITE_H

#include <stdbool.h>
#include <stddef.h>

/* No NaN or ±Inf in a[0..len); shared among OpenMP threads past 2^18 floats. */
bool cn_all_finite(const float *a, size_t len);

/* Index of the first NaN or ±Inf in a[0..len), or len (for messages that name it). */
size_t cn_first_nonfinite(const float *a, size_t len);

#endif
