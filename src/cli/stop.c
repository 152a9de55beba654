/*
 * Stopping colnet train cleanly: SIGINT and SIGTERM only set a flag, which the progress
 * callback hands to the trainer (stop after the current step), so the command can save an
 * exact checkpoint and exit with 128 + the signal's number. The handler is reset after its
 * first signal: a second Ctrl-C kills at once, and the atomic checkpoint writer still keeps
 * the previous file whole.
 */
#include <signal.h>
#include <string.h>

#include "cli.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void cli_stop_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cli_stop_signal(void)
{
	return stop_signal;
}

const char *cli_signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}
