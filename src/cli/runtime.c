/*
 * Settings the BLAS and OpenMP runtimes read once, when the process starts, so a front end
 * that wants them must set them and execute itself again (before any other work):
 * - OPENBLAS_CORETYPE=SkylakeX when the CPU has AVX-512 but OpenBLAS runs an AVX2 family (its
 *   own misdetection of AMD Zen 4/5, or an inherited OPENBLAS_CORETYPE=Haswell as these
 *   machines export): sgemm ran ~1.9x faster on a Zen 5;
 * - OMP_WAIT_POLICY=PASSIVE unless the user chose: threads that spin at the end of a parallel
 *   region starve the work when another process holds a core (measured with a fuzzer on the
 *   other core, tutorial-cnn batch 100 on 2 threads: 4437 images/s passive, 2378 spinning;
 *   batch 1: 3040 against 321);
 * - with it, GOMP_SPINCOUNT=300 unless the user set either (GNU OpenMP only; it overrides the
 *   policy there): a sleeping thread took 6-50 us to wake on a 2-core VM, for every GEMM and
 *   element-wise region of a step that lasts 0.2-0.5 ms, and a spin of ~15 us keeps it awake
 *   across the gaps inside one step (mlp batch 100 on 2 threads, idle machine: 280k images/s
 *   passive, 335k with 300 spins, 367k with 1000; rbf 547k, 655k, 692k). With a busy loop on
 *   the other core, 300 spins did as well as passive (mlp 18-20k either way, noisy), 1000
 *   collapsed (mlp 19k-53k against 133k-208k).
 * COLNET_KEEP_CORETYPE=1 keeps OpenBLAS's kernels; COLNET_TUNED=1 skips the restart altogether
 * (valgrind cannot follow it). Shared by the colnet tool and the bench.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* __builtin_cpu_supports exists for x86 only (clang has no __builtin_cpu_init on aarch64):
   elsewhere there is no AVX-512, and the core-type rule below never fires */
bool cli_cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
	return false;
#endif
}

bool cli_core_is_avx512(const char *core)
{
	return strstr(core, "Skylake") || strstr(core, "Cooperlake") || strstr(core, "Sapphire");
}

void cli_tune_runtime(char **argv)
{
	if (getenv("COLNET_TUNED")) return; /* this is the second start */
	bool again = false;
	const char *core = cn_blas_core();
	if (!getenv("COLNET_KEEP_CORETYPE") && cli_cpu_has_avx512() && !cli_core_is_avx512(core) &&
	    !strstr(core, "naive")) {
		setenv("COLNET_CORETYPE_FROM", core, 1); /* so `info` can say what it replaced */
		setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
		again = true;
	}
	if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
		setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
		setenv("GOMP_SPINCOUNT", "300", 1);
		again = true;
	}
	if (!again) return;
	setenv("COLNET_TUNED", "1", 1);
	execv("/proc/self/exe", argv);
	/* exec failed: carry on with what the runtimes already chose */
}

const char *cli_runtime_note(char *buf, size_t len)
{
	const char *from = getenv("COLNET_CORETYPE_FROM"), *core = cn_blas_core();
	if (from && cli_core_is_avx512(core))
		snprintf(buf, len, "%s (chosen by colnet: the CPU has AVX-512 and OpenBLAS ran %s)",
		         core, from);
	else if (cli_cpu_has_avx512() && !cli_core_is_avx512(core))
		snprintf(buf, len, "%s (AVX2 kernels on an AVX-512 CPU%s)", core,
		         getenv("COLNET_KEEP_CORETYPE") ? ": COLNET_KEEP_CORETYPE keeps them" : "");
	else
		snprintf(buf, len, "%s", core);
	return buf;
}
