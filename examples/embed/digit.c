#include <stdio.h>
#include <colnet.h>

int main(int argc, char **argv) /* ./digit model.ckpt < image: 28x28 bytes, as in MNIST */
{
	struct cn_net *net;
	char err[CN_ERR_LEN];
	unsigned char px[28 * 28];
	float x[28 * 28];
	const float *y;
	if (argc != 2 || fread(px, 1, sizeof px, stdin) != sizeof px) return 2;
	if (cn_net_load(&net, argv[1], err)) return fprintf(stderr, "%s\n", err), 1;
	for (int i = 0; i < 28 * 28; i++) x[i] = px[i] / 255.0f;
	if (cn_net_plan(net, 1, CN_PLAN_INFER) || cn_net_forward(net, x, 1, &y))
		return fprintf(stderr, "%s\n", cn_net_error(net)), 1;
	int best = 0;
	for (int k = 1; k < cn_net_output_len(net); k++) best = y[k] > y[best] ? k : best;
	printf("%d\n", best);
	cn_net_free(net);
	return 0;
}
