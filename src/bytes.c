/* Little-endian fields out and in, CRC-32 and whole-file reads; see bytes.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "bytes.h"
#include "error.h"
#include "util.h"

static void enc_u32(uint8_t b[4], uint32_t v)
{
	for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> 8 * i);
}

void cn_bytes_put(struct cn_bytes_out *o, const void *p, size_t n)
{
	if (o->err) return;
	o->crc = cn_bytes_crc32(o->crc, p, n);
	errno = 0;
	if (fwrite(p, 1, n, o->f) != n) o->err = errno ? errno : EIO;
}

void cn_bytes_put_u32(struct cn_bytes_out *o, uint32_t v)
{
	uint8_t b[4];
	enc_u32(b, v);
	cn_bytes_put(o, b, 4);
}

void cn_bytes_put_u64(struct cn_bytes_out *o, uint64_t v)
{
	cn_bytes_put_u32(o, (uint32_t)v);
	cn_bytes_put_u32(o, (uint32_t)(v >> 32));
}

void cn_bytes_put_f32(struct cn_bytes_out *o, float v)
{
	cn_bytes_put_f32s(o, &v, 1);
}

void cn_bytes_put_f32s(struct cn_bytes_out *o, const float *a, size_t n)
{
	uint8_t b[4096];
	for (size_t k; n && !o->err; a += k, n -= k) {
		k = CN_MIN(n, sizeof(b) / 4);
		for (size_t i = 0; i < k; i++) {
			uint32_t u;
			memcpy(&u, &a[i], 4);
			enc_u32(b + 4 * i, u);
		}
		cn_bytes_put(o, b, 4 * k);
	}
}

bool cn_bytes_take(struct cn_bytes_in *in, void *dst, size_t n)
{
	if (in->left < n) return false;
	if (n) memcpy(dst, in->p, n);
	in->p += n;
	in->left -= n;
	return true;
}

bool cn_bytes_take_u32(struct cn_bytes_in *in, uint32_t *v)
{
	uint8_t b[4];
	if (!cn_bytes_take(in, b, 4)) return false;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return true;
}

bool cn_bytes_take_i32(struct cn_bytes_in *in, int32_t *v)
{
	uint32_t u;
	if (!cn_bytes_take_u32(in, &u)) return false;
	*v = u <= INT32_MAX ? (int32_t)u : -(int32_t)~u - 1; /* two's complement, portably */
	return true;
}

bool cn_bytes_take_u64(struct cn_bytes_in *in, uint64_t *v)
{
	uint32_t lo, hi;
	if (in->left < 8) return false;
	cn_bytes_take_u32(in, &lo);
	cn_bytes_take_u32(in, &hi);
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

bool cn_bytes_take_f32(struct cn_bytes_in *in, float *v)
{
	uint32_t u;
	if (!cn_bytes_take_u32(in, &u)) return false;
	memcpy(v, &u, 4);
	return true;
}

bool cn_bytes_take_f32s(struct cn_bytes_in *in, float *a, size_t n)
{
	if (n > in->left / 4) return false;
	for (size_t i = 0; i < n; i++) cn_bytes_take_f32(in, &a[i]);
	return true;
}

uint32_t cn_bytes_crc32(uint32_t crc, const void *b, size_t n)
{
	const Bytef *p = b;
	uLong c = crc;
	for (size_t k; n; p += k, n -= k) c = crc32(c, p, (uInt)(k = CN_MIN(n, (size_t)1 << 30)));
	return (uint32_t)c;
}

enum cn_status cn_bytes_read_file(const char *path, const char *name, uint64_t max, uint8_t **buf,
                                  size_t *len, char *err)
{
	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) return cn_err_set(err, CN_ERR_IO, "%s: cannot open: %s", name, strerror(errno));
	enum cn_status st = CN_OK;
	struct stat s;
	uint8_t *b = NULL, extra;
	size_t n = 0;
	if (fstat(fd, &s) != 0) {
		st = cn_err_set(err, CN_ERR_IO, "%s: cannot stat: %s", name, strerror(errno));
		goto done;
	}
	if (!S_ISREG(s.st_mode)) {
		st = cn_err_set(err, CN_ERR_IO, "%s: is %s, not a file", name,
		                S_ISDIR(s.st_mode)    ? "a directory"
		                : S_ISFIFO(s.st_mode) ? "a FIFO (named pipe)"
		                                      : "a device or socket");
		goto done;
	}
	if (s.st_size < 0 || (uint64_t)s.st_size > max || (uint64_t)s.st_size > SIZE_MAX) {
		st = cn_err_set(err, CN_ERR_FORMAT, "%s: %jd bytes, over the %ju-byte limit", name,
		                (intmax_t)s.st_size, (uintmax_t)max);
		goto done;
	}
	n = (size_t)s.st_size;
	if (!(b = malloc(n ? n : 1))) {
		st = cn_err_set(err, CN_ERR_NOMEM, "%s: no memory for %zu bytes", name, n);
		goto done;
	}
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, b + got, CN_MIN(n - got, (size_t)1 << 30));
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) {
			st = cn_err_set(err, CN_ERR_IO, "%s: read failed: %s", name,
			                k ? strerror(errno) : "the file shrank");
			goto done;
		}
		got += (size_t)k;
	}
	ssize_t more;
	while ((more = read(fd, &extra, 1)) < 0 && errno == EINTR) {}
	if (more != 0) st = cn_err_set(err, CN_ERR_IO, "%s: changed size while being read", name);
done:
	close(fd);
	if (st) {
		free(b);
		return st;
	}
	*buf = b;
	*len = n;
	return CN_OK;
}

#define NAME_MAX_SHOWN 96 /* characters of a path kept in a message */

const char *cn_bytes_name(const char *path)
{
	if (!path) return "(buffer)";
	size_t n = strlen(path);
	if (n <= NAME_MAX_SHOWN) return path;
	const char *tail = path + n - NAME_MAX_SHOWN;
	const char *slash = strchr(tail, '/');
	return slash && slash[1] ? slash + 1 : tail;
}

int cn_bytes_create_temp(char *tmp)
{
	size_t len = strlen(tmp);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)tmp;
	for (int attempt = 0; attempt < 100; attempt++) {
		for (size_t i = len - 6; i < len; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			tmp[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    [(x >> 33) % 62];
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST) return fd;
	}
	return -1;
}

/* fsync the directory holding path, so the rename itself survives a crash; 0 or an errno. */
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

enum cn_status cn_bytes_write_atomic(const char *path, const char *name,
                                     void (*put)(struct cn_bytes_out *o, const void *ctx),
                                     const void *ctx, char *err)
{
	/* the rename would replace whatever is there: never a device, FIFO or folder (as root,
	   saving to /dev/null would otherwise turn the device into a regular file) */
	struct stat s;
	bool keep = stat(path, &s) == 0;
	if (keep && !S_ISREG(s.st_mode))
		return cn_err_set(err, CN_ERR_IO, "%s: cannot replace: %s", name,
		                  S_ISDIR(s.st_mode)
		                      ? strerror(EISDIR)
		                      : "not a regular file (a device, FIFO or socket)");
	size_t plen = strlen(path);
	char *tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
	if (!tmp) return cn_err_set(err, CN_ERR_NOMEM, "%s: out of memory", name);
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	struct cn_bytes_out o = {NULL, 0, 0};
	const char *what = "cannot create a temporary file beside it";
	int fd = cn_bytes_create_temp(tmp);
	if (fd < 0) {
		o.err = errno;
		goto fail;
	}
	/* created 0666 minus the umask; a file being replaced keeps its own permissions */
	what = "cannot write";
	if ((keep && fchmod(fd, s.st_mode & 07777) != 0) || !(o.f = fdopen(fd, "wb"))) {
		o.err = errno;
		close(fd);
		goto fail;
	}
	put(&o, ctx);
	if (!o.err && (fflush(o.f) != 0 || fsync(fileno(o.f)) != 0)) o.err = errno;
	if (fclose(o.f) != 0 && !o.err) o.err = errno;
	if (o.err) goto fail;
	what = "cannot replace";
	if (rename(tmp, path) != 0) {
		o.err = errno;
		goto fail;
	}
	free(tmp);
	int e = sync_dir(path);
	if (e)
		return cn_err_set(err, CN_ERR_IO, "%s: written, but syncing its folder failed: %s",
		                  name, strerror(e));
	return CN_OK;
fail:
	if (fd >= 0) unlink(tmp);
	free(tmp);
	return cn_err_set(err, CN_ERR_IO, "%s: %s: %s", name, what, strerror(o.err ? o.err : EIO));
}
