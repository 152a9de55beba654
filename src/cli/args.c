/* Strict argument parsing for the colnet tool: one clear line for every bad value. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void vsay(const char *fmt, va_list ap)
{
	fputs("colnet: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return 2;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return 1;
}

bool cli_int(const char *flag, const char *s, long lo, long hi, int32_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi) {
		cli_usage_error("%s wants an integer in %ld..%ld, not '%s'", flag, lo, hi, s);
		return false;
	}
	*out = (int32_t)v;
	return true;
}

bool cli_u64(const char *flag, const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno) {
		cli_usage_error("%s wants a non-negative integer, not '%s'", flag, s);
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

bool cli_double(const char *flag, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno || !isfinite(v) || v < lo || v > hi) {
		cli_usage_error("%s wants a number in %g..%g, not '%s'", flag, lo, hi, s);
		return false;
	}
	*out = v;
	return true;
}

bool cli_float(const char *flag, const char *s, double lo, double hi, float *out)
{
	double v;
	if (!cli_double(flag, s, lo, hi, &v)) return false;
	*out = (float)v;
	return true;
}

static bool list_push(struct cli_list *l, const char *item)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 8;
		const char **items = realloc(l->items, (size_t)cap * sizeof(*items));
		if (!items) return false;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = item;
	return true;
}

static bool store(const struct cli_arg *a, const char *v)
{
	switch (a->kind) {
	case CLI_STR:
		*(const char **)a->dst = v;
		return true;
	case CLI_INT:
		return cli_int(a->flag, v, (long)a->lo, (long)a->hi, a->dst);
	case CLI_U64:
		return cli_u64(a->flag, v, a->dst);
	case CLI_FLOAT:
		return cli_float(a->flag, v, a->lo, a->hi, a->dst);
	case CLI_DOUBLE:
		return cli_double(a->flag, v, a->lo, a->hi, a->dst);
	case CLI_LIST:
		return list_push(a->dst, v) || (cli_fail("out of memory"), false);
	case CLI_BOOL:
	case CLI_ALIAS:
		break; /* handled by cli_parse */
	}
	return false;
}

int cli_parse(int argc, char **argv, const struct cli_arg *args, int n_args, struct cli_list *pos,
              const char *usage)
{
	bool options = true;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (options && strcmp(arg, "--") == 0) {
			options = false;
			continue;
		}
		if (options && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			fputs(usage, stdout);
			return -1;
		}
		/* a short alias stands for its long flag here, in an option's place only */
		const struct cli_arg *a = NULL;
		for (int k = 0; options && k < n_args && !a; k++)
			if (args[k].kind == CLI_ALIAS && strcmp(args[k].flag, arg) == 0)
				for (int m = 0; m < n_args && !a; m++)
					if (args[m].kind != CLI_ALIAS &&
					    strcmp(args[m].flag, (const char *)args[k].dst) == 0)
						a = &args[m];
		if (!a && (!options || strncmp(arg, "--", 2) != 0)) {
			if (options && arg[0] == '-' && arg[1] != '\0')
				return cli_usage_error(
				    "unknown option '%s' (see --help; a file whose "
				    "name starts with '-' goes after --)",
				    arg);
			if (pos && list_push(pos, arg)) continue;
			return cli_usage_error("unexpected argument '%s'", arg);
		}
		const char *eq = a ? NULL : strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		for (int k = 0; k < n_args && !a; k++)
			if (args[k].kind != CLI_ALIAS && strlen(args[k].flag) == len &&
			    strncmp(args[k].flag, arg, len) == 0)
				a = &args[k];
		if (!a) return cli_usage_error("unknown option '%s' (see --help)", arg);
		if (a->kind == CLI_BOOL) {
			if (eq) return cli_usage_error("%s takes no value", a->flag);
			*(bool *)a->dst = true;
			if (a->seen) *a->seen = true;
			continue;
		}
		const char *v = eq ? eq + 1 : NULL;
		if (!v) {
			if (i + 1 >= argc) return cli_usage_error("%s needs a value", a->flag);
			v = argv[++i];
		}
		if (!store(a, v)) return 2;
		if (a->seen) *a->seen = true;
	}
	return 0;
}

int cli_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}
