/*
 * The smallest colnet program: XOR as two classes of float points, learned by a 2 -> 8 -> 2
 * network through the trainer and a float dataset, then classified with cn_net_predict, all
 * through the public header alone. Exits non-zero if it did not learn, so it doubles as a
 * check that an installed library works.
 */
#include <stdio.h>

#include <colnet.h>

int main(void)
{
	const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
	const uint8_t labels[4] = {0, 1, 1, 0};
	const struct cn_shape point = {2, 1, 1}; /* two features per example */
	char err[CN_ERR_LEN];
	struct cn_dataset *ds = NULL;
	struct cn_net *net = NULL;
	struct cn_trainer *t = NULL;
	struct cn_train_opts o = cn_train_opts_default(); /* Adam */
	o.epochs = 300;
	o.batch = 4;
	o.sched.lr = 0.05f;
	int rc = 1;
	/* constructors write their message into err; calls on a handle keep it in the handle */
	if (cn_dataset_create_f32(&ds, point, 4, &x[0][0], labels, err) ||
	    cn_net_create(&net, "linear 8 tanh | linear 2", point, 3, err) ||
	    cn_trainer_create(&t, net, &o, err)) {
		fprintf(stderr, "xor: %s\n", err);
		goto done;
	}
	while (cn_trainer_epochs_done(t) < o.epochs) {
		struct cn_epoch_stats s;
		if (cn_trainer_epoch(t, ds, NULL, NULL, &s)) {
			fprintf(stderr, "xor: %s\n", cn_trainer_error(t));
			goto done;
		}
	}
	float probs[4][2];
	int32_t classes[4];
	if (cn_net_predict(net, &x[0][0], 4, &probs[0][0], classes)) {
		fprintf(stderr, "xor: %s\n", cn_net_error(net));
		goto done;
	}
	int right = 0;
	for (int i = 0; i < 4; i++) {
		printf("xor(%g, %g) = %d (p = %.3f, want %d)\n", x[i][0], x[i][1], classes[i],
		       probs[i][classes[i]], labels[i]);
		right += classes[i] == labels[i];
	}
	printf("%d/4 right\n", right);
	rc = right == 4 ? 0 : 1;
done:
	cn_trainer_free(t); /* the trainer first: it borrows the net */
	cn_net_free(net);
	cn_dataset_free(ds);
	return rc;
}
