/*
 * colnet.h from C++: the header is wrapped in extern "C" and uses nothing C++ rejects, so this
 * compiles with -Wall -Wextra -Wpedantic -Werror and links against libcolnet.a. It builds a
 * tiny network, runs it once, and exits non-zero if anything fails.
 *
 *   c++ header.cpp $(pkg-config --cflags colnet) $(pkg-config --static --libs colnet)
 */
#include <colnet.h>

#include <cstdio>
#include <memory>
#include <vector>

/* The handle owned the C++ way: cn_net_free runs when the pointer goes. */
struct net_free {
	void operator()(cn_net *net) const
	{
		cn_net_free(net);
	}
};
using net_ptr = std::unique_ptr<cn_net, net_free>;

int main()
{
	char err[CN_ERR_LEN];
	cn_net *raw = nullptr;
	if (cn_net_create(&raw, "conv 4 k3 relu | maxpool 2 | linear 3", cn_shape{1, 8, 8}, 7,
	                  err) != CN_OK) {
		std::fprintf(stderr, "header.cpp: %s\n", err);
		return 1;
	}
	net_ptr net(raw);
	std::vector<float> x(8 * 8, 0.5f);
	const float *y = nullptr;
	if (cn_net_plan(net.get(), 1, CN_PLAN_INFER) != CN_OK ||
	    cn_net_forward(net.get(), x.data(), 1, &y) != CN_OK) {
		std::fprintf(stderr, "header.cpp: %s\n", cn_net_error(net.get()));
		return 1;
	}
	std::printf("colnet %s from C++: %d outputs, %zu parameters, y[0] = %.4f\n", cn_version(),
	            cn_net_output_len(net.get()), cn_net_param_count(net.get()), y[0]);
	return 0;
}
