#!/bin/sh
# make check-layers sees calls, not only includes: the library's own objects pass; one object
# more, standing for src/gemm.c (level 1) and calling the trainer (level 11) through colnet.h
# alone, fails with a message naming both ends; the same object calling down passes.
# Env: LIB_OBJ, the library's object files (make test passes them); CC.
set -u
[ -n "${LIB_OBJ:-}" ] || { echo "check_layers.sh: LIB_OBJ not set"; exit 1; }
tmp=$(mktemp -d /tmp/cn-check-layers-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"
fail() { echo "check_layers.sh: $*"; exit 1; }

# shellcheck disable=SC2086
scripts/check-layers.sh $LIB_OBJ >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "the library itself fails"; }

printf '#include "colnet.h"\nint cn_planted(void) { return cn_trainer_epochs_done(0); }\n' >"$tmp/up.c"
${CC:-cc} -Iinclude -c -o "$tmp/src/gemm.o" "$tmp/up.c" || fail "cannot compile the planted call"
# shellcheck disable=SC2086
if scripts/check-layers.sh $LIB_OBJ "$tmp/src/gemm.o" >"$tmp/out" 2>&1; then
	cat "$tmp/out"; fail "an upward call from gemm.c into the trainer passed"
fi
grep -q 'src/gemm.c (level 1) calls cn_trainer_epochs_done in src/train.c (level 11)' "$tmp/out" ||
	{ cat "$tmp/out"; fail "the upward call failed, but not for its own reason"; }

printf '#include "colnet.h"\nconst char *cn_planted(void) { return cn_status_str(CN_OK); }\n' >"$tmp/down.c"
${CC:-cc} -Iinclude -c -o "$tmp/src/gemm.o" "$tmp/down.c" || fail "cannot compile the planted call"
# shellcheck disable=SC2086
scripts/check-layers.sh $LIB_OBJ "$tmp/src/gemm.o" >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out"; fail "a downward call from gemm.c failed"; }
echo "check_layers.sh: the library passes; a planted upward call fails, naming both ends"
