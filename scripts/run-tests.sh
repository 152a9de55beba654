#!/bin/sh
# Run every test executable given, keep going past failures, and end with one summary line
# ("N passed, N failed") counted over the cmocka tests inside them. Exit non-zero on any failure.
# Out-of-memory paths are tested: let sanitizer builds return NULL like the real allocator.
# RUN_WITH prefixes each program (scripts/aarch64.sh: qemu-aarch64).
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1}"
passed=0 failed=0 bad_bins=""
for t in "$@"; do
	out=$($RUN_WITH "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	# a plain program (an example) counts as one test, passed when it exits 0
	[ -z "$p$f" ] && [ "$rc" -eq 0 ] && passed=$((passed + 1))
	if [ "$rc" -ne 0 ]; then
		bad_bins="$bad_bins $(basename "$t")"
		# a crash reports no cmocka summary: count it as one failure
		[ -z "$f" ] && failed=$((failed + 1))
	fi
done
echo
[ -n "$bad_bins" ] && echo "failing test programs:$bad_bins"
echo "$passed passed, $failed failed"
[ -z "$bad_bins" ] && [ "$failed" -eq 0 ]
