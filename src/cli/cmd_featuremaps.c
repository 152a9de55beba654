/*
 * colnet featuremaps: one image through a saved model, drawn as the input beside a layer's
 * feature maps, or (--filters) the first convolution's learned kernels. Everything it reads
 * of the network comes through the public inspection calls, cn_net_layer_output and
 * cn_net_layer_params.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "picture.h"

static const char usage[] =
    "usage: colnet featuremaps --model FILE [--index K | IMAGE] -o MAPS.png [options]\n"
    "  the input image beside a layer's feature maps, one tile per channel, each stretched\n"
    "  to its own range (black: its minimum, white: its maximum)\n"
    "  --model FILE    a checkpoint written by colnet train --save, or an ONNX file (*.onnx)\n"
    "  --index K       test image K of --data (default 0)\n"
    "  IMAGE           or a PNG, JPEG, PGM or PPM file, converted to the model's input\n"
    "  --data DIR      MNIST IDX files or class folders of images (default " CLI_DEFAULT_DATA ")\n"
    "  --val X         for class folders without test/: the held-out fraction (default 0.1)\n"
    "  --layer N       layer N as colnet info numbers them (default: the first conv)\n"
    "  --filters       draw the layer's learned kernels instead (blue < 0 < red)\n"
    "  -o, --output FILE  the PNG to write (required)\n";

struct fm_args {
	const char *model, *data, *out;
	int32_t index, layer;
	float val;
	bool filters, have_index;
	struct cli_list images;
};

/* Layer i's description with runs of blanks folded, as a title. */
static void describe(const struct cn_net *net, int32_t i, char *buf, size_t len)
{
	char raw[160];
	cn_net_layer_describe(net, i, raw, sizeof(raw));
	size_t k = (size_t)snprintf(buf, len, "layer %d: ", i + 1);
	for (const char *p = raw; *p && k + 1 < len; p++)
		if (!(*p == ' ' && p[1] == ' ')) buf[k++] = *p;
	buf[k] = '\0';
}

/* The layer to draw: --layer N (1-based), else the first convolution. */
static int pick_layer(const struct cn_net *net, const struct fm_args *a, int32_t *layer)
{
	int32_t count = cn_net_layer_count(net);
	if (a->layer) {
		if (a->layer > count)
			return cli_usage_error("--layer %d: the model has %d layers (colnet info "
			                       "lists them)",
			                       a->layer, count);
		*layer = a->layer - 1;
		return 0;
	}
	for (int32_t i = 0; i < count; i++) {
		char d[160];
		cn_net_layer_describe(net, i, d, sizeof(d));
		if (strncmp(d, "conv ", 5) == 0) return *layer = i, 0;
	}
	return cli_usage_error("the model has no convolution layer: choose one with --layer N");
}

static int draw_filters(const struct cn_net *net, int32_t layer, const struct cli_font *font,
                        struct cli_image *im)
{
	const float *w;
	size_t w_len;
	struct cn_shape f;
	char title[200], sub[200], err[CLI_MSG_LEN];
	cn_net_layer_params(net, layer, &w, &w_len, NULL, NULL, &f);
	if (!w || f.h * f.w <= 1) /* linear rows are 1x1; batchnorm scales have no filter */
		return cli_usage_error("--filters: layer %d has no convolution kernels", layer + 1);
	int32_t count = (int32_t)(w_len / ((size_t)f.c * f.h * f.w));
	describe(net, layer, title, sizeof(title));
	if (f.c == 3) /* drawn as colour tiles: see cli_filters_draw */
		snprintf(sub, sizeof(sub),
		         "%d learned %dx%d RGB kernels: each channel's weight in its colour, gray "
		         "is 0, each to its largest weight",
		         count, f.h, f.w);
	else
		snprintf(sub, sizeof(sub),
		         "%d learned %dx%d kernels over %d channel%s: blue < 0 < red, each to its "
		         "largest weight",
		         count, f.h, f.w, f.c, f.c == 1 ? "" : "s");
	if (cli_filters_draw(w, f, count, title, sub, font, im, err)) return cli_fail("%s", err);
	return 0;
}

/* The input image x [H, W, C] and what to say about it. */
static int get_input(const struct fm_args *a, const struct cn_net *net, float *x, char *what,
                     size_t len, int32_t *label)
{
	struct cn_shape s = cn_net_input_shape(net);
	char err[CLI_MSG_LEN];
	*label = -1;
	if (a->images.n) {
		if (cli_image_input(a->images.items[0], s, x, err)) return cli_fail("%s", err);
		snprintf(what, len, "%s", a->images.items[0]);
		return 0;
	}
	struct cn_dataset *test = NULL;
	int rc = cli_data_test(a->data, a->val, 0, s, &test);
	if (!rc && a->index >= cn_dataset_count(test))
		rc = cli_usage_error("--index %d: the test set has %d images", a->index,
		                     cn_dataset_count(test));
	if (!rc && cn_dataset_gather(test, &a->index, 1, x, label))
		rc = cli_fail("--index %d: cannot read that image", a->index);
	if (!rc) snprintf(what, len, "test image %d", a->index);
	cn_dataset_free(test);
	return rc;
}

static int draw_maps(const struct fm_args *a, struct cn_net *net, int32_t layer,
                     const struct cli_font *font, struct cli_image *im)
{
	struct cn_shape in = cn_net_input_shape(net);
	float *x = malloc((size_t)in.h * in.w * in.c * sizeof(float));
	char what[160], title[200], sub[400], err[CLI_MSG_LEN];
	const float *y;
	struct cn_shape out;
	int32_t label, best = 0;
	int rc = x ? get_input(a, net, x, what, sizeof(what), &label) : cli_fail("out of memory");
	/* predict's forward of the one image leaves every layer's output behind */
	if (!rc && (cn_net_predict(net, x, 1, NULL, &best) ||
	            cn_net_layer_output(net, layer, &y, &out, NULL)))
		rc = cli_fail("%s", cn_net_error(net));
	if (!rc) {
		const char *name = cn_net_class_name(net, best);
		char label_text[64] = "";
		if (label >= 0) {
			const char *ln = cn_net_class_name(net, label);
			snprintf(label_text, sizeof(label_text), ", label %d%s%s%s", label,
			         ln ? " (" : "", ln ? ln : "", ln ? ")" : "");
		}
		describe(net, layer, title, sizeof(title));
		snprintf(sub, sizeof(sub), "%s%s, predicted %d%s%s%s; %d maps of %dx%d%s", what,
		         label_text, best, name ? " (" : "", name ? name : "", name ? ")" : "",
		         out.c, out.h, out.w,
		         out.h * out.w == 1 ? " on one shared scale (white: the largest)" : "");
		struct cli_maps m = {x, in, y, out, title, sub};
		if (cli_maps_draw(&m, font, im, err)) rc = cli_fail("%s", err);
	}
	free(x);
	return rc;
}

int cmd_featuremaps(int argc, char **argv)
{
	struct fm_args a = {.data = CLI_DEFAULT_DATA, .val = 0.1f};
	const struct cli_arg args[] = {
	    {"--model", CLI_STR, &a.model, 0, 0, NULL},
	    {"--data", CLI_STR, &a.data, 0, 0, NULL},
	    {"--output", CLI_STR, &a.out, 0, 0, NULL},
	    {"--index", CLI_INT, &a.index, 0, INT32_MAX, &a.have_index},
	    {"--layer", CLI_INT, &a.layer, 1, 10000, NULL},
	    {"--val", CLI_FLOAT, &a.val, 0.001, 0.9, NULL},
	    {"--filters", CLI_BOOL, &a.filters, 0, 0, NULL},
	    {"-o", CLI_ALIAS, "--output", 0, 0, NULL},
	};
	int rc =
	    cli_parse(argc, argv, args, (int)(sizeof(args) / sizeof(args[0])), &a.images, usage);
	struct cn_net *net = NULL;
	struct cli_font *font = NULL;
	struct cli_image im = {0};
	char err[CLI_MSG_LEN];
	int32_t layer = 0;
	if (rc) goto done;
	if (!a.model || !a.out) {
		rc = cli_usage_error("featuremaps: --model FILE and -o FILE.png are required");
		goto done;
	}
	if (a.images.n > 1 || (a.images.n && a.have_index)) {
		rc = cli_usage_error("featuremaps: give one image: --index K or one file");
		goto done;
	}
	if (cli_net_load(&net, a.model, err) || cn_net_plan(net, 1, CN_PLAN_INFER)) {
		rc = cli_fail("%s", net ? cn_net_error(net) : err);
		goto done;
	}
	if ((rc = pick_layer(net, &a, &layer))) goto done;
	if (cli_font_load(&font, err)) {
		rc = cli_fail("%s", err);
		goto done;
	}
	rc = a.filters ? draw_filters(net, layer, font, &im) : draw_maps(&a, net, layer, font, &im);
	if (!rc && cli_png_write(a.out, &im, err)) rc = cli_fail("%s", err);
	if (!rc) printf("wrote %s (%dx%d pixels, HxW): layer %d\n", a.out, im.h, im.w, layer + 1);
done:
	cli_image_free(&im);
	cli_font_free(font);
	cn_net_free(net);
	free(a.images.items);
	return rc < 0 ? 0 : rc;
}
