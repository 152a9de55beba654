#include <stdio.h>
#include <colnet.h>

int main(int argc, char **argv) /* ./digit model.ckpt < image: 28x28 bytes, as in MNIST */
{
	struct cn_net *net;
	char err[CN_ERR_LEN];
	unsigned char px[28 * 28];
	float x[28 * 28];
	int32_t digit;
	if (argc != 2 || fread(px, 1, sizeof px, stdin) != sizeof px) return 2;
	if (cn_net_load(&net, argv[1], err)) return fprintf(stderr, "%s\n", err), 1;
	for (int i = 0; i < 28 * 28; i++) x[i] = px[i] / 255.0f;
	if (cn_net_predict(net, x, 1, NULL, &digit))
		return fprintf(stderr, "%s\n", cn_net_error(net)), 1;
	printf("%d\n", digit);
	cn_net_free(net);
	return 0;
}
