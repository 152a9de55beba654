/*
 * Which of the build's target_clones copies (util.h's CN_CLONES) this CPU runs: GCC's resolver
 * takes the widest instruction set the CPU supports, and so does this, from the same list.
 */
#include <string.h>

#include "colnet.h"
#include "util.h"

/* unused where the build has no clones (CLONES=default) */
static __attribute__((unused)) int supported(const char *isa)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (strcmp(isa, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
	if (strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2");
#endif
	return strcmp(isa, "default") == 0;
}

const char *cn_isa(void)
{
#if defined(CN_NO_CLONES) || !defined(__x86_64__)
	return "default";
#else
	static const char *const built[] = {CN_CLONE_LIST};
	static const char *const widest_first[] = {"avx512f", "avx2"};
	for (size_t w = 0; w < CN_LEN(widest_first); w++)
		for (size_t i = 0; i < CN_LEN(built); i++)
			if (strcmp(built[i], widest_first[w]) == 0 && supported(built[i]))
				return built[i];
	return "default";
#endif
}
