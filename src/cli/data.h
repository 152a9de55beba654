/*
 * Where the colnet tool's images come from: MNIST-style IDX files, or a folder of class
 * subfolders holding PNG/JPEG/PGM/PPM images (imagefolder.c). Front-end code: public header only.
 */
#ifndef CN_CLI_DATA_H
#define CN_CLI_DATA_H

#include <stdint.h>

#include "cli.h"

#define CLI_SIZE_MAX 4096 /* largest --size side */

/*
 * How to read an image folder. size: 0 fields are decided by the images (the first readable
 * image's height and width; 3 channels if any image is in colour, else 1). val: the fraction
 * of each class held out for testing when there are no train/ and test/ subfolders; the
 * held-out images are chosen by a fixed seed, not --seed, so train, --resume, eval and
 * featuremaps all see the same split without being told.
 */
struct cli_data_opts {
	const char *dir;
	struct cn_shape size;
	float val;
	int32_t limit, test_limit; /* 0: all */
};

/*
 * The classes of the data: an image folder's names (its sorted subfolder names; n = 0 for
 * IDX data), and count, how many outputs the labels need: n for a folder, 1 + the largest
 * label of either IDX split, read before any --limit (EMNIST letters: 27, labels 1..26).
 */
struct cli_classes {
	int n;
	char **names;
	int count;
};

/*
 * Load the training (if train is not NULL) and test sets from o->dir, whichever kind it is,
 * and apply the limits. Non-zero after printing a message.
 */
int cli_data_load(const struct cli_data_opts *o, struct cn_dataset **train,
                  struct cn_dataset **test, struct cli_classes *cls);
int cli_folder_load(const char *dir, const struct cli_data_opts *o, struct cn_dataset **train,
                    struct cn_dataset **test, struct cli_classes *cls);
void cli_classes_free(struct cli_classes *cls);

/* "HxW" or "N" (square) for --size; false after a message. */
bool cli_size(const char *text, struct cn_shape *s);

/*
 * The spec to build for k classes: a spec ending in "linear N" gets N = k (a note says so),
 * any other is kept. Returns spec or buf (cap bytes).
 */
const char *cli_spec_for_classes(const char *spec, int k, char *buf, size_t cap);

/* Give net the folder's class names, or check a resumed net has the same; non-zero after a
 * message. Nothing to do for IDX data (cls->n == 0). */
int cli_classes_apply(struct cn_net *net, const struct cli_classes *cls, bool resumed);

/*
 * The test set of dir for a model taking images of shape model (image folders are converted
 * to it), or a message if the shapes differ. val as in cli_data_opts; limit 0: all.
 */
int cli_data_test(const char *dir, float val, int32_t limit, struct cn_shape model,
                  struct cn_dataset **test);

/* qsort/bsearch comparison of two char * */
int cli_strcmp_ptr(const void *a, const void *b);

#endif
