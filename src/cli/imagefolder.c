/*
 * "Make your own data": a folder with one subfolder per class (the subfolder's name is the
 * class name) of PNG, JPEG, PGM or PPM images, as PyTorch's ImageFolder reads it, split into train
 * and test either by train/ and test/ subfolders or by holding out a fraction of each class.
 * Decoding lives here in the tool, not in the library: libcolnet then needs no libpng, its
 * embedders link nothing new, and warnings about skipped files are printed where printing is
 * allowed. The library only receives bytes, through cn_dataset_create.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "picture.h"

#define MAX_WARNINGS 20
#define SPLIT_SEED   0x636f6c6e6574ull /* the split never depends on --seed: see data.h */

/* Sorted names of dir's entries that are folders (dirs != 0) or files; hidden ones left out. */
static int list(const char *dir, int dirs, char ***names, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int cap = 0;
	*names = NULL;
	*n = 0;
	if (!d) return 1;
	while ((e = readdir(d))) {
		char path[4096];
		struct stat s;
		if (e->d_name[0] == '.') continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &s) != 0 || (dirs ? !S_ISDIR(s.st_mode) : S_ISDIR(s.st_mode)))
			continue;
		if (*n == cap) {
			char **t = realloc(*names, (size_t)(cap = 2 * cap + 16) * sizeof(char *));
			if (!t) break;
			*names = t;
		}
		if (!((*names)[*n] = strdup(e->d_name))) break;
		++*n;
	}
	closedir(d);
	if (*n) qsort(*names, (size_t)*n, sizeof(char *), cli_strcmp_ptr);
	return 0;
}

static void free_list(char **names, int n)
{
	for (int i = 0; i < n; i++) free(names[i]);
	free(names);
}

int cli_strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every decoded image so far, at the target size with 3 channels, and where it belongs. */
struct pile {
	int32_t h, w, n, cap;
	bool color;   /* some image was stored in colour */
	uint8_t *px;  /* [n, h, w, 3] */
	uint8_t *cls; /* [n] class index */
	uint8_t *set; /* [n] 0 train, 1 test */
	int warnings;
};

static void warn(struct pile *p, const char *msg)
{
	if (p->warnings++ < MAX_WARNINGS) fprintf(stderr, "colnet: warning: %s\n", msg);
}

static int add(struct pile *p, const char *path, int cls, int set)
{
	struct cli_image im;
	char err[CLI_MSG_LEN];
	if (cli_image_read(path, &im, err)) {
		char msg[CLI_MSG_LEN + 16];
		snprintf(msg, sizeof(msg), "%s; skipped", err);
		return warn(p, msg), 0;
	}
	if (!p->h) p->h = im.h, p->w = im.w; /* no --size: the first image decides */
	if (p->n == p->cap) {
		int32_t cap = 2 * p->cap + 64;
		uint8_t *px = realloc(p->px, (size_t)cap * p->h * p->w * 3);
		uint8_t *c = px ? realloc(p->cls, (size_t)cap) : NULL;
		uint8_t *s = c ? realloc(p->set, (size_t)cap) : NULL;
		if (px) p->px = px;
		if (c) p->cls = c;
		if (s) p->set = s;
		if (!s) return cli_fail("out of memory after %d images", p->n);
		p->cap = cap;
	}
	if (cli_image_convert(&im, p->h, p->w, 3, p->px + (size_t)p->n * p->h * p->w * 3)) {
		cli_image_free(&im);
		return cli_fail("out of memory after %d images", p->n);
	}
	p->color |= im.c == 3;
	p->cls[p->n] = (uint8_t)cls;
	p->set[p->n++] = (uint8_t)set;
	cli_image_free(&im);
	return 0;
}

/* All images of class folder dir as class cls of split set. */
static int add_folder(struct pile *p, const char *dir, int cls, int set)
{
	char **files, path[4096];
	int n, rc = 0;
	if (list(dir, 0, &files, &n)) {
		snprintf(path, sizeof(path), "%s: cannot read the folder; skipped", dir);
		return warn(p, path), 0;
	}
	for (int i = 0; i < n && !rc; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		rc = add(p, path, cls, set);
	}
	free_list(files, n);
	return rc;
}

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void shuffle(int32_t *a, int32_t n, uint64_t *s)
{
	for (int32_t i = n - 1; i > 0; i--) {
		int32_t j = (int32_t)(mix(s) % (uint64_t)(i + 1)), t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/* Hold out round(val * n) images of each class (at least one when it has two). */
static void hold_out(struct pile *p, int classes, double val, uint64_t *s)
{
	int32_t *idx = malloc((size_t)(p->n ? p->n : 1) * sizeof(*idx));
	for (int c = 0; idx && c < classes; c++) {
		int32_t n = 0;
		for (int32_t i = 0; i < p->n; i++)
			if (p->cls[i] == c) idx[n++] = i;
		shuffle(idx, n, s);
		int32_t k = (int32_t)(val * n + 0.5);
		if (k < 1 && n >= 2 && val > 0) k = 1;
		if (k >= n && n >= 2) k = n - 1;
		for (int32_t i = 0; i < k; i++) p->set[idx[i]] = 1;
	}
	free(idx);
}

/* The images of one split, in a seeded random order (so --limit takes a fair sample). */
static int make_set(const struct pile *p, int set, int32_t c, uint64_t *s, struct cn_dataset **ds,
                    const char *dir)
{
	size_t ib = (size_t)p->h * p->w * c;
	int32_t n = 0, *idx = malloc((size_t)p->n * sizeof(*idx));
	uint8_t *px = idx ? malloc((size_t)p->n * ib) : NULL,
	        *labels = px ? malloc((size_t)p->n) : NULL;
	int rc = 0;
	char err[CN_ERR_LEN];
	if (!labels) {
		rc = cli_fail("out of memory for %d images", p->n);
		goto done;
	}
	for (int32_t i = 0; i < p->n; i++)
		if (p->set[i] == set) idx[n++] = i;
	if (!n) {
		rc = cli_fail("%s: no %s images%s", dir, set ? "test" : "training",
		              set ? " (hold some out with --val, or make a test/ folder)" : "");
		goto done;
	}
	shuffle(idx, n, s);
	for (int32_t i = 0; i < n; i++) {
		const uint8_t *src = p->px + (size_t)idx[i] * p->h * p->w * 3;
		uint8_t *dst = px + (size_t)i * ib;
		for (size_t k = 0; k < (size_t)p->h * p->w; k++) /* RGB, or its first channel */
			for (int32_t j = 0; j < c; j++) dst[k * c + j] = src[k * 3 + j];
		labels[i] = p->cls[idx[i]];
	}
	if (cn_dataset_create(ds, (struct cn_shape){c, p->h, p->w}, n, px, labels, err))
		rc = cli_fail("%s: %s", dir, err);
done:
	free(idx);
	free(px);
	free(labels);
	return rc;
}

int cli_folder_load(const char *dir, const struct cli_data_opts *o, struct cn_dataset **train,
                    struct cn_dataset **test, struct cli_classes *cls)
{
	struct pile p = {.h = o->size.h, .w = o->size.w};
	char **names, **tnames = NULL, sub[4096];
	int n, tn = 0, rc = 0;
	*cls = (struct cli_classes){0};
	if (list(dir, 1, &names, &n)) return cli_fail("%s: cannot read the folder", dir);
	const char *tr = "train", *te = "test";
	bool split = n >= 2 && bsearch(&tr, names, (size_t)n, sizeof(char *), cli_strcmp_ptr) &&
	             bsearch(&te, names, (size_t)n, sizeof(char *), cli_strcmp_ptr);
	if (split) { /* classes come from train/; test/ must use the same names */
		free_list(names, n);
		snprintf(sub, sizeof(sub), "%s/train", dir);
		list(sub, 1, &names, &n);
		snprintf(sub, sizeof(sub), "%s/test", dir);
		list(sub, 1, &tnames, &tn);
	}
	if (n > 256) {
		rc = cli_fail("%s: %d class folders; at most 256 (labels are bytes)", dir, n);
		goto done;
	}
	for (int c = 0; c < n && !rc; c++) {
		snprintf(sub, sizeof(sub), split ? "%s/train/%s" : "%s/%s", dir, names[c]);
		rc = add_folder(&p, sub, c, 0);
	}
	for (int t = 0; t < tn && !rc; t++) {
		char **hit = bsearch(&tnames[t], names, (size_t)n, sizeof(char *), cli_strcmp_ptr);
		snprintf(sub, sizeof(sub), "%s/test/%s", dir, tnames[t]);
		if (!hit) {
			char msg[CLI_MSG_LEN];
			snprintf(msg, sizeof(msg), "%.300s: no such class in %.150s/train; skipped",
			         sub, dir);
			warn(&p, msg);
		} else {
			rc = add_folder(&p, sub, (int)(hit - names), 1);
		}
	}
	if (p.warnings > MAX_WARNINGS)
		fprintf(stderr, "colnet: warning: %d more like these\n", p.warnings - MAX_WARNINGS);
	if (!rc && p.n == 0)
		rc = cli_fail("%s: no readable PNG, JPEG, PGM or PPM images in its class folders "
		              "(%s/CLASS/IMAGE.png%s)",
		              dir, dir, split ? " under train/" : "");
	if (rc) goto done;
	for (int c = 0; c < n; c++) { /* its label stays, so the names still match the outputs */
		int32_t k = 0;
		for (int32_t i = 0; i < p.n; i++) k += p.cls[i] == c && p.set[i] == 0;
		if (!k)
			fprintf(stderr,
			        "colnet: warning: class %s has no readable training images\n",
			        names[c]);
	}
	/* one generator per use, so eval (no training set) sees the test set in train's order */
	uint64_t s_split = SPLIT_SEED, s_train = SPLIT_SEED + 1, s_test = SPLIT_SEED + 2;
	if (!split) hold_out(&p, n, o->val, &s_split);
	int32_t c = o->size.c ? o->size.c : p.color ? 3 : 1;
	if ((train && (rc = make_set(&p, 0, c, &s_train, train, dir))) ||
	    (rc = make_set(&p, 1, c, &s_test, test, dir)))
		goto done;
	cls->n = n;
	cls->names = names;
	names = NULL;
done:
	if (rc && train) cn_dataset_free(*train), *train = NULL;
	free_list(names, names ? n : 0);
	free_list(tnames, tn);
	free(p.px);
	free(p.cls);
	free(p.set);
	return rc;
}
