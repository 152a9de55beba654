/*
 * A test helper for tests/cli.sh that checks colnet's pictures with libpng directly, not with
 * colnet's own decoder, and makes PNG inputs for the image-folder tests:
 *   pngtool info FILE.png          prints "WIDTH HEIGHT CHANNELS DISTINCT_COLOURS"
 *   pngtool topng IN.pgm OUT.png [rgb]   an 8-bit binary PGM as a gray (or tinted RGB) PNG
 *   pngtool tojpg IN.pgm OUT.jpg [rgb]   the same as a JPEG (stb_image_write, quality 95)
 * Exits non-zero, with a message, if a file does not decode.
 */
#include <png.h>
#include <stb/stb_image_write.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int info(const char *path)
{
	png_image p;
	memset(&p, 0, sizeof(p));
	p.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&p, path)) {
		fprintf(stderr, "pngtool: %s: %s\n", path, p.message);
		return 1;
	}
	int channels = (p.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
	p.format = PNG_FORMAT_RGB;
	size_t n = (size_t)p.width * p.height;
	unsigned char *px = malloc(n * 3);
	if (!px || !png_image_finish_read(&p, NULL, px, 0, NULL)) {
		fprintf(stderr, "pngtool: %s: %s\n", path, px ? p.message : "out of memory");
		free(px);
		return 1;
	}
	/* distinct colours, counted in a bitmap of all 2^24 */
	unsigned char *seen = calloc(1 << 21, 1);
	long distinct = 0;
	for (size_t i = 0; seen && i < n; i++) {
		unsigned v =
		    (unsigned)px[3 * i] << 16 | (unsigned)px[3 * i + 1] << 8 | px[3 * i + 2];
		if (!(seen[v >> 3] & (1u << (v & 7)))) distinct++;
		seen[v >> 3] |= (unsigned char)(1u << (v & 7));
	}
	printf("%u %u %d %ld\n", p.width, p.height, channels, distinct);
	free(seen);
	free(px);
	return 0;
}

static int topng(const char *in, const char *out, int rgb, int jpeg)
{
	FILE *f = fopen(in, "rb");
	unsigned w, h, maxval;
	if (!f || fscanf(f, "P5 %u %u %u", &w, &h, &maxval) != 3 || maxval != 255 ||
	    fgetc(f) == EOF || w < 1 || h < 1 || w > 4096 || h > 4096) {
		fprintf(stderr, "pngtool: %s: not an 8-bit binary PGM\n", in);
		if (f) fclose(f);
		return 1;
	}
	unsigned char *g = malloc((size_t)w * h), *px = malloc((size_t)w * h * 3);
	int ok = g && px && fread(g, 1, (size_t)w * h, f) == (size_t)w * h;
	fclose(f);
	for (size_t i = 0; ok && i < (size_t)w * h; i++) {
		/* a warm tint: still the same digit, but a colour image */
		px[3 * i] = g[i];
		px[3 * i + 1] = (unsigned char)(g[i] * 3 / 4);
		px[3 * i + 2] = (unsigned char)(g[i] / 4);
	}
	png_image p;
	memset(&p, 0, sizeof(p));
	p.version = PNG_IMAGE_VERSION;
	p.width = w;
	p.height = h;
	p.format = rgb ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	if (jpeg)
		ok = ok && stbi_write_jpg(out, (int)w, (int)h, rgb ? 3 : 1, rgb ? px : g, 95);
	else
		ok = ok && png_image_write_to_file(&p, out, 0, rgb ? px : g, 0, NULL);
	if (!ok) fprintf(stderr, "pngtool: cannot convert %s to %s\n", in, out);
	free(g);
	free(px);
	return !ok;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "info") == 0) return info(argv[2]);
	if ((argc == 4 || argc == 5) &&
	    (strcmp(argv[1], "topng") == 0 || strcmp(argv[1], "tojpg") == 0))
		return topng(argv[2], argv[3], argc == 5 && strcmp(argv[4], "rgb") == 0,
		             strcmp(argv[1], "tojpg") == 0);
	fputs("usage: pngtool info FILE.png | pngtool topng|tojpg IN.pgm OUT [rgb]\n", stderr);
	return 2;
}
