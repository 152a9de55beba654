/* Error messages: formatting into a caller's or a handle's CN_ERR_LEN buffer. */
#ifndef CN_ERROR_H
#define CN_ERROR_H

#include "colnet.h"

/* printf into err (CN_ERR_LEN bytes; NULL is allowed and ignored), return status. */
enum cn_status cn_err_set(char *err, enum cn_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
