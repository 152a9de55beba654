/*
 * PNG through libpng's simplified API (png_image_*): it handles every bit depth, palette,
 * interlacing and gamma for us and reports errors in a message instead of longjmp, which
 * keeps this file free of setjmp and of the volatile rules that come with it.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "picture.h"

int cli_png_decode(const uint8_t *buf, size_t len, struct cli_image *im, char *err)
{
	png_image p;
	memset(&p, 0, sizeof(p));
	p.version = PNG_IMAGE_VERSION;
	*im = (struct cli_image){0};
	if (!png_image_begin_read_from_memory(&p, buf, len)) {
		snprintf(err, CLI_MSG_LEN, "not a readable PNG (%s)", p.message);
		return 1;
	}
	if (p.width < 1 || p.height < 1 || p.width > CLI_IMAGE_MAX_SIDE ||
	    p.height > CLI_IMAGE_MAX_SIDE) {
		snprintf(err, CLI_MSG_LEN, "PNG of %ux%u pixels (at most %d a side)", p.width,
		         p.height, CLI_IMAGE_MAX_SIDE);
		png_image_free(&p);
		return 1;
	}
	bool color = p.format & PNG_FORMAT_FLAG_COLOR;
	p.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	if (cli_image_alloc(im, (int32_t)p.width, (int32_t)p.height, color ? 3 : 1)) {
		snprintf(err, CLI_MSG_LEN, "out of memory for %ux%u pixels", p.width, p.height);
		png_image_free(&p);
		return 1;
	}
	/* a NULL background composites any alpha onto the buffer's zeros: transparent is black */
	if (!png_image_finish_read(&p, NULL, im->px, 0, NULL)) {
		snprintf(err, CLI_MSG_LEN, "corrupt PNG (%s)", p.message);
		cli_image_free(im);
		return 1;
	}
	return 0;
}

int cli_png_write(const char *path, const struct cli_image *im, char *err)
{
	png_image p;
	memset(&p, 0, sizeof(p));
	p.version = PNG_IMAGE_VERSION;
	p.width = (png_uint_32)im->w;
	p.height = (png_uint_32)im->h;
	p.format = im->c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	png_alloc_size_t size = 0;
	/* the first call only measures; the second writes into a buffer of that size */
	if (!png_image_write_get_memory_size(p, size, 0, im->px, 0, NULL)) {
		snprintf(err, CLI_MSG_LEN, "%s: cannot encode PNG (%s)", path, p.message);
		return 1;
	}
	void *mem = malloc(size);
	if (!mem) {
		snprintf(err, CLI_MSG_LEN, "%s: out of memory", path);
		return 1;
	}
	int rc = 0;
	if (!png_image_write_to_memory(&p, mem, &size, 0, im->px, 0, NULL)) {
		snprintf(err, CLI_MSG_LEN, "%s: cannot encode PNG (%s)", path, p.message);
		rc = 1;
	} else {
		rc = cli_write_atomic(path, mem, size, err, CLI_MSG_LEN);
	}
	free(mem);
	return rc;
}
