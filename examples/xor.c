/*
 * The smallest colnet program: a 2 -> 8 -> 8 -> 1 network learns XOR with mean squared error
 * and full-batch gradient descent, through the public header alone. Exits non-zero if it
 * did not learn, so it doubles as a check that an installed library works.
 */
#include <stdio.h>

#include <colnet.h>

int main(void)
{
	const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
	const float t[4] = {0, 1, 1, 0};
	char err[CN_ERR_LEN];
	struct cn_net *net = NULL;
	struct cn_optim *opt = NULL;
	struct cn_optim_opts oo = cn_optim_opts_default();
	oo.kind = CN_OPTIM_MOMENTUM;
	oo.lr = 0.5f;
	if (cn_net_create(&net, "linear 8 tanh | linear 8 tanh | linear 1 sigmoid",
	                  (struct cn_shape){1, 1, 2}, 42, err) ||
	    cn_net_plan(net, 4, CN_PLAN_TRAIN) ||
	    cn_optim_create(&opt, &oo, cn_net_param_count(net), err)) {
		fprintf(stderr, "xor: %s\n", net ? cn_net_error(net) : err);
		return 1;
	}
	float loss = 0;
	for (int epoch = 0; epoch < 2000; epoch++) {
		cn_net_zero_grad(net);
		if (cn_net_forward(net, &x[0][0], 4, NULL) || cn_net_loss_mse(net, t, &loss) ||
		    cn_net_backward(net) ||
		    cn_optim_step(opt, cn_net_params(net), cn_net_grads(net), oo.lr)) {
			fprintf(stderr, "xor: %s\n", cn_net_error(net));
			return 1;
		}
	}
	const float *y;
	cn_net_forward(net, &x[0][0], 4, &y);
	int right = 0;
	for (int i = 0; i < 4; i++) {
		printf("xor(%g, %g) = %.3f (want %g)\n", x[i][0], x[i][1], y[i], t[i]);
		right += (y[i] > 0.5f) == (t[i] > 0.5f);
	}
	printf("loss %.5f, %d/4 right\n", loss, right);
	cn_optim_free(opt);
	cn_net_free(net);
	return right == 4 ? 0 : 1;
}
