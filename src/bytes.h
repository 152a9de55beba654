/*
 * The byte-level plumbing of colnet's file formats: little-endian fixed-width fields written
 * byte by byte (so files do not depend on the host's byte order) to a stream with a running
 * CRC-32, a bounds-checked cursor for parsing bytes nobody vouches for, and whole-file reads.
 */
#ifndef CN_BYTES_H
#define CN_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "colnet.h"

/*
 * A stream being written: crc is zlib's crc32 of every byte put so far (start it at 0), err
 * the errno of the first failed write (0 while all is well; after a failure puts do nothing).
 */
struct cn_bytes_out {
	FILE *f;
	uint32_t crc;
	int err;
};

void cn_bytes_put(struct cn_bytes_out *o, const void *p, size_t n);
void cn_bytes_put_u32(struct cn_bytes_out *o, uint32_t v);
void cn_bytes_put_u64(struct cn_bytes_out *o, uint64_t v);
/* floats as their IEEE-754 bit patterns */
void cn_bytes_put_f32(struct cn_bytes_out *o, float v);
void cn_bytes_put_f32s(struct cn_bytes_out *o, const float *a, size_t n);

/* A read position in a buffer; every take checks what is left and moves only on success. */
struct cn_bytes_in {
	const uint8_t *p;
	size_t left;
};

bool cn_bytes_take(struct cn_bytes_in *in, void *dst, size_t n);
bool cn_bytes_take_u32(struct cn_bytes_in *in, uint32_t *v);
bool cn_bytes_take_i32(struct cn_bytes_in *in, int32_t *v);
bool cn_bytes_take_u64(struct cn_bytes_in *in, uint64_t *v);
bool cn_bytes_take_f32(struct cn_bytes_in *in, float *v);
/* n floats into a[n]; false (taking nothing) if fewer than 4n bytes are left */
bool cn_bytes_take_f32s(struct cn_bytes_in *in, float *a, size_t n);

/* zlib's crc32 continued over b[n], any n (start with crc 0). */
uint32_t cn_bytes_crc32(uint32_t crc, const void *b, size_t n);

/*
 * The whole regular file at path into *buf (malloc'd, *len bytes), sized by fstat and capped
 * at max bytes. Directories, FIFOs and devices are refused without blocking. Messages start
 * with name. Errors: CN_ERR_IO, CN_ERR_FORMAT (too large), CN_ERR_NOMEM.
 */
enum cn_status cn_bytes_read_file(const char *path, const char *name, uint64_t max, uint8_t **buf,
                                  size_t *len, char *err);

/*
 * The tail of path short enough for a message (the whole path if it is short), so the part
 * that names the file survives CN_ERR_LEN; "(buffer)" for NULL.
 */
const char *cn_bytes_name(const char *path);

/*
 * Create the new file tmp, a path ending in "XXXXXX" (replaced, as by mkstemp), for writing.
 * Unlike mkstemp's 0600 it gets the usual 0666 minus the umask, as any file a program writes.
 * The descriptor, or -1 with errno set.
 */
int cn_bytes_create_temp(char *tmp);

/*
 * Write the file at path atomically: put streams its bytes through o (cn_bytes_put and the
 * like; o->crc starts at 0) into a new temporary file beside path (cn_bytes_create_temp's
 * "<path>.tmp.XXXXXX"), which is flushed, fsynced, closed and renamed over path; then the
 * folder is fsynced. The previous file at path is untouched unless the rename succeeds, a
 * failure removes the temporary file, and a file being replaced keeps its permissions. A
 * device, FIFO or folder at path is refused, never replaced. Messages start with name.
 * Errors: CN_ERR_IO, CN_ERR_NOMEM.
 */
enum cn_status cn_bytes_write_atomic(const char *path, const char *name,
                                     void (*put)(struct cn_bytes_out *o, const void *ctx),
                                     const void *ctx, char *err);

#endif
