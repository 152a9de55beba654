/*
 * JPEG decoding for the colnet tool through stb_image (Debian's libstb, already linked for
 * stb_truetype): baseline and progressive JPEG, gray or colour. Only bytes that start with a
 * JPEG marker reach it, and the size is checked before any pixel is decoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>

#include "picture.h"

int cli_jpeg_decode(const uint8_t *buf, size_t len, struct cli_image *im, char *err)
{
	int w, h, comp;
	if (len > (size_t)INT32_MAX || !stbi_info_from_memory(buf, (int)len, &w, &h, &comp)) {
		snprintf(err, CLI_MSG_LEN, "not a readable JPEG (%s)", stbi_failure_reason());
		return 1;
	}
	if (w < 1 || h < 1 || w > CLI_IMAGE_MAX_SIDE || h > CLI_IMAGE_MAX_SIDE) {
		snprintf(err, CLI_MSG_LEN, "%dx%d pixels, HxW (at most %d a side)", h, w,
		         CLI_IMAGE_MAX_SIDE);
		return 1;
	}
	int c = comp == 1 || comp == 2 ? 1 : 3; /* gray stays gray, colour becomes RGB */
	uint8_t *px = stbi_load_from_memory(buf, (int)len, &w, &h, &comp, c);
	if (!px) {
		snprintf(err, CLI_MSG_LEN, "corrupt JPEG (%s)", stbi_failure_reason());
		return 1;
	}
	int rc = cli_image_alloc(im, w, h, c);
	if (rc)
		snprintf(err, CLI_MSG_LEN, "out of memory");
	else
		memcpy(im->px, px, (size_t)w * (size_t)h * (size_t)c);
	stbi_image_free(px);
	return rc;
}
