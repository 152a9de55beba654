/* Status names, the version string and the one message formatter. The library never prints. */
#include <stdarg.h>
#include <stdio.h>

#include "colnet.h"
#include "error.h"

#define CN_STR2(x) #x
#define CN_STR(x)  CN_STR2(x)

const char *cn_status_str(enum cn_status status)
{
	static const char *const names[] = {
	    [CN_OK] = "ok",
	    [CN_ERR_ARG] = "invalid argument",
	    [CN_ERR_SHAPE] = "shape mismatch",
	    [CN_ERR_NOMEM] = "out of memory",
	    [CN_ERR_IO] = "i/o error",
	    [CN_ERR_FORMAT] = "bad format",
	    [CN_ERR_NUMERIC] = "numeric error (NaN or Inf)",
	    [CN_ERR_STATE] = "invalid state",
	    [CN_ERR_STOPPED] = "stopped by the caller",
	};
	if ((unsigned)status >= sizeof(names) / sizeof(names[0])) return "unknown status";
	return names[status];
}

const char *cn_version(void)
{
	return CN_STR(CN_VERSION_MAJOR) "." CN_STR(CN_VERSION_MINOR) "." CN_STR(CN_VERSION_PATCH);
}

enum cn_status cn_err_set(char *err, enum cn_status status, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, CN_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return status;
}
