/*
 * Opening a model wherever the tool takes --model: a colnet checkpoint, an ONNX file (by its
 * .onnx name: protobuf has no magic number to tell it by), a zoo name or a spec.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "colnet_onnx.h"

bool cli_is_onnx(const char *path)
{
	size_t n = path ? strlen(path) : 0;
	return n > 5 && strcasecmp(path + n - 5, ".onnx") == 0;
}

enum cn_status cli_net_load(struct cn_net **net, const char *path, char err[CN_ERR_LEN])
{
	return cli_is_onnx(path) ? cn_onnx_load(net, path, err) : cn_net_load(net, path, err);
}

int cli_model_open(const char *model, struct cn_shape in, uint64_t seed, struct cn_net **net)
{
	char err[CN_ERR_LEN];
	struct stat st;
	if (cli_is_onnx(model) || (stat(model, &st) == 0 && S_ISREG(st.st_mode))) {
		if (cli_net_load(net, model, err)) return cli_fail("%s", err);
		return 0;
	}
	const char *spec = cli_model_spec(model);
	if (!spec) return 2;
	if (cn_net_create(net, spec, in, seed, err)) return cli_fail("model: %s", err);
	return 0;
}

bool cli_shape(const char *s, struct cn_shape *in)
{
	int32_t *v[3] = {&in->h, &in->w, &in->c};
	for (int i = 0; i < 3; i++) {
		char *end;
		if (!isdigit((unsigned char)*s)) return false;
		errno = 0;
		long x = strtol(s, &end, 10);
		if (errno || x < 1 || x > 65536 || *end != (i < 2 ? 'x' : '\0')) return false;
		*v[i] = (int32_t)x;
		s = end + 1;
	}
	return true;
}
