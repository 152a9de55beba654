/*
 * IDX reading: a whole file into memory (raw, or gzip detected by its 1f 8b magic), then a
 * parser that trusts nothing. Every size comes from the file's real length (fstat) or from
 * what zlib actually produced, never from a header, so a lying file cannot make us allocate;
 * both are capped so a gzip bomb cannot either. Messages name the file, then what was expected
 * and what was found, because the usual cause is a failed or truncated download.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bytes.h"
#include "error.h"
#include "idx.h"
#include "util.h"

#define PEEK_SHOWN 24 /* bytes of a non-IDX file quoted in a message */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t swap32(uint32_t v)
{
	return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

static const char *type_name(uint8_t t)
{
	static const char *const names[] = {
	    [0x08] = "unsigned byte",  [0x09] = "signed byte",  [0x0B] = "16-bit integer",
	    [0x0C] = "32-bit integer", [0x0D] = "32-bit float", [0x0E] = "64-bit float",
	};
	return t < CN_LEN(names) && names[t] ? names[t] : "unknown";
}

/* Printable ASCII or the whitespace of a text file: what an HTML error page is made of. */
static int is_texty(uint8_t c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t';
}

static int looks_text(const uint8_t *b, size_t len)
{
	size_t n = CN_MIN(len, 8);
	if (b[0] == '<') return 1;
	for (size_t i = 0; i < n; i++)
		if (!is_texty(b[i])) return 0;
	return 1;
}

/* The first bytes of b as a C-escaped string, so a message can show what the file really is. */
static void escape(const uint8_t *b, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, n = CN_MIN(len, PEEK_SHOWN);
	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		uint8_t c = b[i];
		if (c == '\n' || c == '\r' || c == '\t') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (len > n && o + 3 < cap) out[o++] = '.', out[o++] = '.', out[o++] = '.';
	out[o] = '\0';
}

/* "60000x28x28" */
static void dims_str(const uint32_t *d, int n, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < n && o < cap; i++) {
		int k = snprintf(out + o, cap - o, i ? "x%lu" : "%lu", (unsigned long)d[i]);
		if (k < 0) break;
		o += (size_t)k;
	}
}

/* Bytes 0..3 are not 00 00 TYPE NDIM: say what the file looks like instead. */
static enum cn_status bad_magic(const uint8_t *b, size_t len, const char *nm, char *err)
{
	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return cn_err_set(err, CN_ERR_FORMAT, "%s: gzip data where raw IDX was expected",
		                  nm);
	if (looks_text(b, len)) {
		char peek[PEEK_SHOWN * 4 + 4];
		escape(b, len, peek, sizeof(peek));
		return cn_err_set(err, CN_ERR_FORMAT,
		                  "%s: not an IDX file but text (a failed download's HTML page?): "
		                  "it starts \"%s\"",
		                  nm, peek);
	}
	if (len < 4)
		return cn_err_set(err, CN_ERR_FORMAT,
		                  "%s: truncated IDX header: %zu bytes, the magic alone needs 4",
		                  nm, len);
	/* A writer that stored the magic as a little-endian int gives NDIM TYPE 00 00. */
	if (b[2] == 0 && b[3] == 0 && b[0] >= 1 && b[0] <= 4 && b[1] >= 0x08 && b[1] <= 0x0E)
		return cn_err_set(
		    err, CN_ERR_FORMAT,
		    "%s: byte-swapped IDX header (%02x %02x %02x %02x): it was written "
		    "little-endian, IDX is big-endian (expected 00 00 %02x %02x)",
		    nm, b[0], b[1], b[2], b[3], b[1], b[0]);
	return cn_err_set(err, CN_ERR_FORMAT,
	                  "%s: not an IDX file: it starts %02x %02x %02x %02x, expected 00 00 08 "
	                  "and 1..4 dimensions",
	                  nm, b[0], b[1], b[2], b[3]);
}

enum cn_status cn_idx_parse(const uint8_t *b, size_t len, const char *name, struct cn_idx *out,
                            char *err)
{
	const char *nm = cn_bytes_name(name);
	if (!out || (!b && len)) return cn_err_set(err, CN_ERR_ARG, "cn_idx_parse: NULL argument");
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return cn_err_set(err, CN_ERR_FORMAT,
		                  "%s: the file is empty; expected an IDX header", nm);
	if (len < 4 || b[0] || b[1]) return bad_magic(b, len, nm, err);
	if (b[2] != CN_IDX_UBYTE)
		return cn_err_set(err, CN_ERR_FORMAT,
		                  "%s: element type 0x%02x (%s) is not supported; expected 0x08 "
		                  "(unsigned byte)",
		                  nm, b[2], type_name(b[2]));
	int ndim = b[3];
	if (ndim < 1 || ndim > CN_IDX_MAX_DIMS)
		return cn_err_set(err, CN_ERR_FORMAT,
		                  "%s: header declares %d dimensions; expected 1 to %d", nm, ndim,
		                  CN_IDX_MAX_DIMS);
	size_t header = 4 + 4 * (size_t)ndim;
	if (len < header)
		return cn_err_set(
		    err, CN_ERR_FORMAT,
		    "%s: truncated IDX header: %d dimensions need %zu header bytes, the "
		    "file has %zu",
		    nm, ndim, header, len);
	uint32_t d[CN_IDX_MAX_DIMS], sw[CN_IDX_MAX_DIMS];
	size_t want = 1, want_sw = 1;
	int overflow = 0, overflow_sw = 0;
	for (int i = 0; i < ndim; i++) {
		d[i] = be32(b + 4 + 4 * i);
		sw[i] = swap32(d[i]);
		overflow |= !cn_mul_ok(want, d[i], &want);
		overflow_sw |= !cn_mul_ok(want_sw, sw[i], &want_sw);
	}
	char ds[CN_IDX_MAX_DIMS * 11 + 1];
	dims_str(d, ndim, ds, sizeof(ds));
	size_t have = len - header;
	/* Sizes written little-endian after a correct magic: say so rather than "wrong size". */
	if ((overflow || want != have) && !overflow_sw && want_sw == have)
		return cn_err_set(
		    err, CN_ERR_FORMAT,
		    "%s: byte-swapped IDX sizes: header says %s, which read little-endian "
		    "would fit the %zu data bytes; IDX is big-endian",
		    nm, ds, have);
	for (int i = 0; i < ndim; i++) {
		if (d[i] == 0)
			return cn_err_set(err, CN_ERR_FORMAT, "%s: dimension %d of %s is zero", nm,
			                  i, ds);
		if (d[i] > INT32_MAX)
			return cn_err_set(err, CN_ERR_FORMAT,
			                  "%s: dimension %d of %s is larger than 2^31-1", nm, i,
			                  ds);
	}
	if (overflow)
		return cn_err_set(
		    err, CN_ERR_FORMAT,
		    "%s: header says %s data bytes, a product that overflows %zu bits "
		    "(the file has %zu after its %zu-byte header)",
		    nm, ds, sizeof(size_t) * CHAR_BIT, have, header);
	if (want != have)
		return cn_err_set(
		    err, CN_ERR_FORMAT,
		    "%s: header says %s = %zu data bytes but the file has %zu after its "
		    "%zu-byte header (%s)",
		    nm, ds, want, have, header, want > have ? "truncated" : "trailing bytes");
	out->type = b[2];
	out->ndim = ndim;
	for (int i = 0; i < ndim; i++) out->dims[i] = (int32_t)d[i];
	out->header = header;
	out->data = b + header;
	out->len = have;
	return CN_OK;
}

/* Inflate a gzip file (one or more members, as gzip itself accepts) of at most max bytes. */
static enum cn_status gunzip(const uint8_t *in, size_t n, size_t max, const char *nm, uint8_t **out,
                             size_t *out_len, char *err)
{
	/* The trailer's ISIZE (size mod 2^32) is a hint only: exact for an honest file, so one
	   allocation suffices. It is believed only up to deflate's largest ratio (1032:1), so a
	   forged one costs no more than a real bomb of that size; a lie just means reallocs. */
	size_t isize = n >= 18 ? (size_t)in[n - 4] | (size_t)in[n - 3] << 8 |
	                             (size_t)in[n - 2] << 16 | (size_t)in[n - 1] << 24
	                       : 0;
	int plausible = isize && isize <= max && isize / 1032 <= n;
	size_t cap = plausible ? isize + 1 : CN_MIN(max + 1, (size_t)1 << 16);
	size_t used = 0;
	enum cn_status st = CN_OK;
	uint8_t *buf = malloc(cap);
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (!buf || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		free(buf);
		return cn_err_set(err, CN_ERR_NOMEM, "%s: no memory to decompress", nm);
	}
	zs.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const-correct */
	zs.avail_in = (uInt)n;               /* n <= max <= 2 GiB fits */
	for (;;) {
		if (used == cap) {
			size_t ncap = cap <= (max + 1) / 2 ? cap * 2 : max + 1;
			uint8_t *nb = ncap > cap ? realloc(buf, ncap) : NULL;
			if (!nb) {
				st = cn_err_set(err, CN_ERR_NOMEM, "%s: no memory to decompress",
				                nm);
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		zs.next_out = buf + used;
		zs.avail_out = (uInt)CN_MIN(cap - used, (size_t)UINT_MAX);
		uInt before = zs.avail_out;
		int rc = inflate(&zs, Z_NO_FLUSH);
		used += before - zs.avail_out;
		if (used > max) {
			st = cn_err_set(err, CN_ERR_FORMAT,
			                "%s: decompresses to more than the %zu-byte limit (not a "
			                "dataset, or a gzip bomb)",
			                nm, max);
			goto fail;
		}
		if (rc == Z_STREAM_END) {
			if (zs.avail_in == 0) break;
			if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
				inflateReset(&zs);
				continue;
			}
			st = cn_err_set(err, CN_ERR_FORMAT,
			                "%s: %u bytes of garbage after the gzip stream", nm,
			                zs.avail_in);
			goto fail;
		}
		if (rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_out == 0)) continue;
		if (rc == Z_BUF_ERROR) {
			st = cn_err_set(err, CN_ERR_FORMAT,
			                "%s: truncated gzip file: the stream stops after %zu "
			                "decompressed bytes (incomplete download?)",
			                nm, used);
			goto fail;
		}
		if (rc == Z_MEM_ERROR) {
			st = cn_err_set(err, CN_ERR_NOMEM, "%s: no memory to decompress", nm);
			goto fail;
		}
		st = cn_err_set(err, CN_ERR_FORMAT,
		                "%s: corrupt gzip data (%s) after %zu decompressed bytes", nm,
		                zs.msg ? zs.msg : "zlib error", used);
		goto fail;
	}
	inflateEnd(&zs);
	*out = buf;
	*out_len = used;
	return CN_OK;
fail:
	inflateEnd(&zs);
	free(buf);
	return st;
}

static const char *kind_of(mode_t m)
{
	if (S_ISDIR(m)) return "a directory";
	if (S_ISFIFO(m)) return "a FIFO (named pipe)";
	if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
	if (S_ISSOCK(m)) return "a socket";
	return "not a regular file";
}

/* Read exactly n bytes of a regular file; false if it ended early or failed. */
static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = read(fd, p, CN_MIN(n, (size_t)1 << 30));
		if (k < 0 && errno == EINTR) continue;
		if (k == 0) errno = 0;
		if (k <= 0) return 0;
		p += k;
		n -= (size_t)k;
	}
	return 1;
}

enum cn_status cn_idx_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len,
                                char *err)
{
	if (!buf || !len) return cn_err_set(err, CN_ERR_ARG, "cn_idx_read_file: NULL argument");
	*buf = NULL;
	*len = 0;
	if (!path || !*path) return cn_err_set(err, CN_ERR_ARG, "no file name given");
	const char *nm = cn_bytes_name(path);
	if (max_bytes > CN_IDX_MAX_BYTES) max_bytes = CN_IDX_MAX_BYTES; /* zlib's uInt */
	struct stat s;
	/* stat first so a FIFO or device is refused without even opening it; O_NONBLOCK and
	   fstat then close the race of a file swapped in between. */
	if (stat(path, &s) != 0)
		return cn_err_set(err, CN_ERR_IO, "%s: cannot open: %s", nm, strerror(errno));
	if (!S_ISREG(s.st_mode))
		return cn_err_set(err, CN_ERR_IO, "%s: is %s, not a data file", nm,
		                  kind_of(s.st_mode));
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) return cn_err_set(err, CN_ERR_IO, "%s: cannot open: %s", nm, strerror(errno));
	enum cn_status st = CN_OK;
	uint8_t *raw = NULL, extra;
	if (fstat(fd, &s) != 0 || !S_ISREG(s.st_mode)) {
		st = cn_err_set(err, CN_ERR_IO, "%s: is not a regular file", nm);
		goto fail;
	}
	if (s.st_size < 0 || (uintmax_t)s.st_size > max_bytes) {
		st = cn_err_set(err, CN_ERR_FORMAT, "%s: %jd bytes, more than the %zu-byte limit",
		                nm, (intmax_t)s.st_size, max_bytes);
		goto fail;
	}
	size_t n = (size_t)s.st_size;
	if (!(raw = malloc(n ? n : 1))) {
		st = cn_err_set(err, CN_ERR_NOMEM, "%s: no memory for %zu bytes", nm, n);
		goto fail;
	}
	if (!read_all(fd, raw, n)) {
		st = cn_err_set(err, CN_ERR_IO, "%s: read failed or the file shrank: %s", nm,
		                errno ? strerror(errno) : "early end of file");
		goto fail;
	}
	ssize_t more;
	while ((more = read(fd, &extra, 1)) < 0 && errno == EINTR) {}
	if (more != 0) {
		st = cn_err_set(err, CN_ERR_IO, "%s: the file changed size while being read", nm);
		goto fail;
	}
	close(fd);
	fd = -1;
	if (n >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
		st = gunzip(raw, n, max_bytes, nm, buf, len, err);
		free(raw);
		return st;
	}
	*buf = raw;
	*len = n;
	return CN_OK;
fail:
	if (fd >= 0) close(fd);
	free(raw);
	return st;
}

enum cn_status cn_idx_load(const char *path, size_t max_bytes, uint8_t **buf, struct cn_idx *out,
                           char *err)
{
	size_t len;
	enum cn_status st = cn_idx_read_file(path, max_bytes, buf, &len, err);
	if (st) return st;
	if ((st = cn_idx_parse(*buf, len, path, out, err))) {
		free(*buf);
		*buf = NULL;
	}
	return st;
}
