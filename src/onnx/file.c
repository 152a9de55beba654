/*
 * Writing an ONNX file atomically: a temporary file beside the target (O_EXCL, mode 0666 so
 * the umask gives the usual permissions; an existing file keeps its own), fsync, rename,
 * fsync of the folder. A crash mid-save leaves the previous file whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../error.h"
#include "onnx.h"

static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
	if (slash && !dir) return ENOMEM;
	int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* some file systems cannot sync a directory (EINVAL); that is not a failed save */
	int e = fd < 0 ? errno : fsync(fd) != 0 && errno != EINVAL && errno != EROFS ? errno : 0;
	if (fd >= 0) close(fd);
	free(dir);
	return e;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) return k < 0 ? errno : EIO;
		p += k;
		len -= (size_t)k;
	}
	return fsync(fd) != 0 ? errno : 0;
}

enum cn_status cn_onnx_write_file(const char *path, const void *data, size_t len, char *err)
{
	struct stat s;
	bool exists = stat(path, &s) == 0;
	/* the rename would replace whatever is there: never a device, FIFO or folder */
	if (exists && !S_ISREG(s.st_mode))
		return cn_err_set(err, CN_ERR_IO, "%s: cannot replace: %s", path,
		                  S_ISDIR(s.st_mode) ? strerror(EISDIR) : "not a regular file");
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 32);
	if (!tmp) return cn_err_set(err, CN_ERR_NOMEM, "%s: out of memory", path);
	int fd = -1, e = 0;
	/* the process id and the address of tmp make the name unique between threads too */
	for (unsigned k = 0; k < 100 && fd < 0; k++) {
		snprintf(tmp, plen + 32, "%s.tmp.%ld.%u", path, (long)getpid(),
		         (unsigned)(((uintptr_t)tmp >> 4) + k) % 1000000u);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST) break;
	}
	const char *what = "cannot create a temporary file beside it";
	if (fd < 0) {
		e = errno;
		goto fail;
	}
	what = "cannot write";
	if (exists && fchmod(fd, s.st_mode & 07777) != 0) e = errno;
	if (!e) e = write_all(fd, data, len);
	if (close(fd) != 0 && !e) e = errno;
	if (e) goto fail;
	what = "cannot replace";
	if (rename(tmp, path) != 0) {
		e = errno;
		goto fail;
	}
	free(tmp);
	if ((e = sync_dir(path)))
		return cn_err_set(err, CN_ERR_IO, "%s: written, but syncing its folder failed: %s",
		                  path, strerror(e));
	return CN_OK;
fail:
	if (fd >= 0) unlink(tmp);
	free(tmp);
	return cn_err_set(err, CN_ERR_IO, "%s: %s: %s", path, what, strerror(e ? e : EIO));
}
