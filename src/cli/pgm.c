/* Reading binary PGM (P5) images for colnet predict; every header field is checked. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

/* Next header integer, skipping blanks and '#' comments; -1 if there is none or it is huge. */
static long header_int(FILE *f)
{
	int c = fgetc(f);
	for (;;) {
		while (c != EOF && isspace(c)) c = fgetc(f);
		if (c != '#') break;
		while (c != EOF && c != '\n') c = fgetc(f);
	}
	if (c == EOF || !isdigit(c)) return -1;
	long v = 0;
	while (c != EOF && isdigit(c)) {
		v = v * 10 + (c - '0');
		if (v > 1000000) return -1;
		c = fgetc(f);
	}
	if (c == EOF || !isspace(c)) return -1; /* exactly one blank ends the header */
	return v;
}

int cli_read_pgm(const char *path, struct cn_shape s, float *x)
{
	if (s.c != 1) return cli_fail("%s: the model takes %d channels; PGM has 1", path, s.c);
	FILE *f = fopen(path, "rb");
	if (!f) return cli_fail("%s: cannot open", path);
	int rc = 0;
	char magic[2];
	long w, h, maxval;
	if (fread(magic, 1, 2, f) != 2 || magic[0] != 'P' || magic[1] != '5') {
		rc = cli_fail("%s: not a binary PGM (P5) file", path);
	} else if ((w = header_int(f)) < 1 || (h = header_int(f)) < 1 ||
	           (maxval = header_int(f)) < 1 || maxval > 255) {
		rc = cli_fail("%s: bad PGM header (need width, height and an 8-bit maxval)", path);
	} else if (w != s.w || h != s.h) {
		rc = cli_fail("%s: image is %ldx%ld but the model takes %dx%d", path, w, h, s.w,
		              s.h);
	} else {
		for (long i = 0; i < w * h && !rc; i++) {
			int c = fgetc(f);
			if (c == EOF)
				rc = cli_fail("%s: truncated after %ld of %ld pixels", path, i,
				              w * h);
			else
				x[i] = (float)((c > maxval ? maxval : c) / (double)maxval);
		}
	}
	fclose(f);
	return rc;
}
