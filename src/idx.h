/*
 * IDX files (MNIST's format): a big-endian header (00 00 TYPE NDIM, then NDIM u32 sizes) and
 * row-major data. Reading and parsing are separate so the parser is a pure function of a
 * buffer (fuzzable, testable without files) and the reader is the only place doing I/O.
 */
#ifndef CN_IDX_H
#define CN_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "colnet.h"

#define CN_IDX_MAX_DIMS  4
#define CN_IDX_UBYTE     0x08
#define CN_IDX_MAX_BYTES ((size_t)2 << 30) /* 2 GiB: bounds a file and a gzip bomb alike */

/* A parsed IDX file; data points into the buffer that was parsed (owns nothing). */
struct cn_idx {
	uint8_t type;                  /* element type; only CN_IDX_UBYTE gets through the parser */
	int32_t ndim;                  /* 1..CN_IDX_MAX_DIMS */
	int32_t dims[CN_IDX_MAX_DIMS]; /* each >= 1; unused entries are 0 */
	size_t header;                 /* bytes before the data: 4 + 4 * ndim */
	const uint8_t *data;           /* [dims[0], ..., dims[ndim-1]] */
	size_t len;                    /* bytes of data: the product of dims */
};

/*
 * Parse buf[len] as an unsigned-byte IDX file. name (the file's name, for messages) may be
 * NULL. Every header field is checked against len, which must match exactly. No I/O, no
 * allocation. CN_ERR_FORMAT (message in err, CN_ERR_LEN bytes, may be NULL).
 */
enum cn_status cn_idx_parse(const uint8_t *buf, size_t len, const char *name, struct cn_idx *out,
                            char *err);

/*
 * Read a whole regular file into *buf (malloc'd, caller frees; *len bytes), decompressing it
 * if it starts with the gzip magic 1f 8b. Neither the file nor its decompressed content may
 * exceed max_bytes (use CN_IDX_MAX_BYTES). Never blocks on a FIFO or device, which it refuses.
 * On failure *buf is NULL. CN_ERR_IO, CN_ERR_FORMAT (corrupt gzip, too big), CN_ERR_NOMEM.
 */
enum cn_status cn_idx_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len,
                                char *err);

/* cn_idx_read_file + cn_idx_parse: *buf owns the bytes out->data points into. */
enum cn_status cn_idx_load(const char *path, size_t max_bytes, uint8_t **buf, struct cn_idx *out,
                           char *err);

#endif
