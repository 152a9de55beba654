/*
 * --data for every command: a folder of MNIST IDX files, or a folder of class folders of
 * images. The IDX files win when both are present, so an MNIST folder with a stray subfolder
 * keeps working as before.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"

static bool exists(const char *dir, const char *name)
{
	char path[4096];
	struct stat s;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &s) == 0;
}

static bool is_idx_folder(const char *dir)
{
	return exists(dir, "train-images-idx3-ubyte") ||
	       exists(dir, "train-images-idx3-ubyte.gz") || exists(dir, "t10k-images-idx3-ubyte") ||
	       exists(dir, "t10k-images-idx3-ubyte.gz");
}

static bool has_subfolder(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;
	while (d && !found && (e = readdir(d))) {
		char path[4096];
		struct stat s;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		found = e->d_name[0] != '.' && stat(path, &s) == 0 && S_ISDIR(s.st_mode);
	}
	if (d) closedir(d);
	return found;
}

int cli_data_load(const struct cli_data_opts *o, struct cn_dataset **train,
                  struct cn_dataset **test, struct cli_classes *cls)
{
	char err[CN_ERR_LEN];
	struct stat s;
	*cls = (struct cli_classes){0};
	*test = NULL;
	if (train) *train = NULL;
	if (!is_idx_folder(o->dir) && has_subfolder(o->dir)) {
		if (cli_folder_load(o->dir, o, train, test, cls)) return 1;
	} else if ((train && cn_dataset_load_mnist_dir(train, o->dir, 1, err)) ||
	           cn_dataset_load_mnist_dir(test, o->dir, 0, err)) {
		cn_dataset_free(train ? *train : NULL);
		if (train) *train = NULL;
		bool folder = stat(o->dir, &s) == 0 && S_ISDIR(s.st_mode);
		return cli_fail("%s%s", err,
		                folder ? "; or give a folder with one subfolder of images per class"
		                       : "");
	}
	int32_t k = cn_dataset_classes(*test);
	if (train && cn_dataset_classes(*train) > k) k = cn_dataset_classes(*train);
	cls->count = cls->n ? cls->n : k;
	if (train && o->limit && o->limit < cn_dataset_count(*train))
		cn_dataset_truncate(*train, o->limit);
	if (o->test_limit && o->test_limit < cn_dataset_count(*test))
		cn_dataset_truncate(*test, o->test_limit);
	return 0;
}

void cli_classes_free(struct cli_classes *cls)
{
	for (int i = 0; i < cls->n; i++) free(cls->names[i]);
	free(cls->names);
	*cls = (struct cli_classes){0};
}

bool cli_size(const char *text, struct cn_shape *s)
{
	char buf[32];
	const char *x = strchr(text, 'x');
	if (strlen(text) >= sizeof(buf))
		return cli_usage_error("--size: '%s' is not HxW", text), false;
	strcpy(buf, text);
	if (x) buf[x - text] = '\0';
	int32_t h, w;
	if (!cli_int("--size H", buf, 1, CLI_SIZE_MAX, &h) ||
	    !cli_int("--size W", x ? x + 1 : buf, 1, CLI_SIZE_MAX, &w))
		return false;
	s->h = h;
	s->w = w;
	return true;
}

const char *cli_spec_for_classes(const char *spec, int k, char *buf, size_t cap)
{
	const char *last = strrchr(spec, '|');
	last = last ? last + 1 : spec;
	while (*last == ' ') last++;
	if (strncmp(last, "linear ", 7) != 0) return spec;
	char *end;
	long out = strtol(last + 7, &end, 10);
	if (end == last + 7 || out == k) return spec;
	int n = snprintf(buf, cap, "%.*slinear %d%s", (int)(last - spec), spec, k, end);
	if (n < 0 || (size_t)n >= cap) return spec;
	printf("model: the last layer becomes linear %d, one output per class (was %ld)\n", k, out);
	return buf;
}

int cli_classes_apply(struct cn_net *net, const struct cli_classes *cls, bool resumed)
{
	if (cls->n == 0) return 0;
	if (!resumed) {
		if (cn_net_set_class_names(net, (const char *const *)cls->names, cls->n))
			return cli_fail("the data has %d classes but the model %d outputs: end its "
			                "spec with linear %d (%s)",
			                cls->n, cn_net_output_len(net), cls->n, cn_net_error(net));
		return 0;
	}
	for (int i = 0; i < cls->n; i++) {
		const char *had = cn_net_class_name(net, i);
		if (!had || strcmp(had, cls->names[i]) != 0 || cn_net_output_len(net) != cls->n)
			return cli_fail(
			    "the checkpoint was trained on other classes: its class %d is "
			    "'%s', the data's is '%s'",
			    i, had ? had : "(unnamed)", cls->names[i]);
	}
	return 0;
}

int cli_data_test(const char *dir, float val, int32_t limit, struct cn_shape model,
                  struct cn_dataset **test)
{
	struct cli_data_opts o = {dir, model, val, 0, limit};
	struct cli_classes cls;
	int rc = cli_data_load(&o, NULL, test, &cls);
	cli_classes_free(&cls);
	if (rc) return rc;
	/* gathering writes the dataset's image size into a buffer made for the model's */
	struct cn_shape s = cn_dataset_shape(*test);
	if (s.c == model.c && s.h == model.h && s.w == model.w) return 0;
	cn_dataset_free(*test);
	*test = NULL;
	return cli_fail("%s: the images are %dx%dx%d (HxWxC) but the model takes %dx%dx%d", dir,
	                s.h, s.w, s.c, model.h, model.w, model.c);
}
