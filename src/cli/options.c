/* Option words of the colnet tool turned into the library's enums and structs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char *cli_model_spec(const char *model)
{
	const char *spec = cn_zoo_spec(model);
	if (spec) return spec;
	/* not a zoo name: a spec has at least a layer kind and usually a blank */
	if (!strchr(model, ' ') && !strchr(model, '|')) {
		fprintf(stderr, "colnet: unknown model '%s'; zoo models:", model);
		for (int i = 0; cn_zoo_name(i); i++) fprintf(stderr, " %s", cn_zoo_name(i));
		fputs(" (or give a spec such as \"conv 8 k3 relu | maxpool 2 | linear 10\")\n",
		      stderr);
		return NULL;
	}
	return model;
}

int cli_optim_kind(const char *name, enum cn_optim_kind *kind)
{
	static const struct {
		const char *name;
		enum cn_optim_kind kind;
	} kinds[] = {{"sgd", CN_OPTIM_SGD},
	             {"momentum", CN_OPTIM_MOMENTUM},
	             {"ema", CN_OPTIM_MOMENTUM_EMA},
	             {"adam", CN_OPTIM_ADAM}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(name, kinds[i].name) == 0) {
			*kind = kinds[i].kind;
			return 0;
		}
	}
	return cli_usage_error("--optim: unknown optimizer '%s' (sgd, momentum, ema, adam)", name);
}

/* "NAME" or "NAME:A" or "NAME:A:B": the word, and up to two numbers after it. */
static int split(const char *flag, const char *text, char *word, size_t word_len, const char **a,
                 const char **b)
{
	static char rest[2][64];
	const char *colon = strchr(text, ':');
	size_t n = colon ? (size_t)(colon - text) : strlen(text);
	if (n >= word_len) return cli_usage_error("%s: '%s' is not a known value", flag, text);
	memcpy(word, text, n);
	word[n] = '\0';
	*a = *b = NULL;
	if (!colon) return 0;
	if (strlen(colon + 1) >= sizeof(rest[0]))
		return cli_usage_error("%s: '%s' is too long", flag, text);
	strcpy(rest[0], colon + 1);
	char *second = strchr(rest[0], ':');
	if (second) {
		*second = '\0';
		strcpy(rest[1], second + 1);
		*b = rest[1];
	}
	*a = rest[0];
	return 0;
}

int cli_schedule(const char *text, struct cn_train_opts *o)
{
	char word[16];
	const char *a, *b;
	if (split("--schedule", text, word, sizeof(word), &a, &b)) return 2;
	struct cn_sched *s = &o->sched;
	if (strcmp(word, "const") == 0 && !a) {
		s->kind = CN_SCHED_CONST;
	} else if (strcmp(word, "step") == 0) {
		s->kind = CN_SCHED_STEP;
		s->step_epochs = 5;
		s->gamma = 0.1f;
		if (a && !cli_int("--schedule step:EPOCHS", a, 1, 100000, &s->step_epochs))
			return 2;
		if (b && !cli_float("--schedule step:EPOCHS:GAMMA", b, 1e-9, 1, &s->gamma))
			return 2;
	} else if (strcmp(word, "cosine") == 0 && !b) {
		s->kind = CN_SCHED_COSINE;
		s->epochs = o->epochs;
		s->lr_min = 0;
		if (a && !cli_float("--schedule cosine:LR_MIN", a, 0, s->lr, &s->lr_min)) return 2;
	} else if (strcmp(word, "loss") == 0 && !a) {
		s->kind = CN_SCHED_LOSS;
	} else if (strcmp(word, "onecycle") == 0) {
		s->kind = CN_SCHED_ONECYCLE;
		s->epochs = o->epochs;
		s->lr_min = 0;
		s->peak = 0;
		if (a && !cli_float("--schedule onecycle:LR_MIN", a, 0, s->lr, &s->lr_min))
			return 2;
		if (b && !cli_float("--schedule onecycle:LR_MIN:PEAK", b, 0.001, 0.999, &s->peak))
			return 2;
	} else if (strcmp(word, "linear") == 0 && !b) {
		s->kind = CN_SCHED_LINEAR;
		s->epochs = o->epochs;
		s->lr_min = 0;
		if (a && !cli_float("--schedule linear:LR_MIN", a, 0, s->lr, &s->lr_min)) return 2;
	} else {
		return cli_usage_error("--schedule: '%s' is not const, step[:EPOCHS[:GAMMA]], "
		                       "cosine[:LR_MIN], onecycle[:LR_MIN[:PEAK]], linear[:LR_MIN] "
		                       "or loss",
		                       text);
	}
	return 0;
}

int cli_init(const char *text, struct cn_train_opts *o)
{
	char word[16];
	const char *a, *b;
	if (split("--init", text, word, sizeof(word), &a, &b)) return 2;
	int i = cn_init_from_name(word); /* the spec grammar's names */
	if (i >= 0) {
		bool scaled = i == CN_INIT_UNIFORM || i == CN_INIT_GAUSSIAN;
		if (b || scaled != (a != NULL))
			return cli_usage_error("--init: %s %s", word,
			                       scaled ? "needs a scale, e.g. gaussian:0.1"
			                              : "takes no scale");
		o->init = i;
		if (scaled && !cli_float("--init scale", a, 1e-12, 1e6, &o->init_scale)) return 2;
		return 0;
	}
	return cli_usage_error("--init: unknown initializer '%s' (default, uniform:S, gaussian:S, "
	                       "xavier, xavier-normal, he, he-normal)",
	                       text);
}

/*
 * Create the new file tmp ("...XXXXXX", replaced as by mkstemp) with the usual 0666 minus
 * the umask, where mkstemp's 0600 would stick to the PNGs and CSVs the tool writes.
 */
static int create_temp(char *tmp)
{
	size_t len = strlen(tmp);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)tmp;
	for (int attempt = 0; attempt < 100; attempt++) {
		for (size_t i = len - 6; i < len; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			tmp[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    [(x >> 33) % 62];
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST) return fd;
	}
	return -1;
}

int cli_write_atomic(const char *path, const char *data, size_t len, char *err, size_t err_len)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 16);
	if (!tmp) return snprintf(err, err_len, "out of memory"), 1;
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".tmp.XXXXXX", 12);
	int fd = create_temp(tmp);
	if (fd < 0) {
		snprintf(err, err_len, "%s: cannot create a temporary file: %s", path,
		         strerror(errno));
		free(tmp);
		return 1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) break;
		done += (size_t)w;
	}
	bool ok = done == len && fsync(fd) == 0;
	int saved = errno;
	ok = close(fd) == 0 && ok;
	if (ok && rename(tmp, path) == 0) {
		free(tmp);
		return 0;
	}
	snprintf(err, err_len, "%s: write failed: %s", path, strerror(saved ? saved : errno));
	unlink(tmp);
	free(tmp);
	return 1;
}

int cli_check_writable(const char *flag, const char *path)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 16);
	if (!tmp) return cli_fail("out of memory");
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".tmp.XXXXXX", 12);
	int fd = create_temp(tmp);
	int e = errno;
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	if (fd < 0) return cli_fail("%s %s: cannot write there: %s", flag, path, strerror(e));
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return cli_fail("%s %s: is a folder, not a file", flag, path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return cli_fail("%s %s: is a device, FIFO or socket, not a file", flag, path);
	return 0;
}
