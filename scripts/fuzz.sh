#!/bin/sh
# Run the libFuzzer harnesses built in build-fuzz/ (make fuzz-build).
#   fuzz.sh run SECONDS NAME...   fuzz each for SECONDS from the committed seeds plus what
#                                 earlier runs found (build-fuzz/corpus/NAME, written to)
#   fuzz.sh regress 0 NAME...     replay tests/fuzz/corpus/NAME once, no mutation
# Prints one line per harness (executions, corpus, crashes) and exits non-zero if any input
# crashed, leaked, timed out or ran out of memory; the input is saved as
# build-fuzz/artifacts/NAME-crash-... and its report stays in build-fuzz/NAME.log.
mode=$1 secs=$2
shift 2
status=0
mkdir -p build-fuzz/artifacts
for name in "$@"; do
	bin=build-fuzz/tests/fuzz/$name seeds=tests/fuzz/corpus/${name#fuzz_} log=build-fuzz/$name.log
	if [ "$mode" = run ]; then
		mkdir -p "build-fuzz/corpus/$name"
		"$bin" -max_total_time="$secs" -timeout=25 -print_final_stats=1 \
			-artifact_prefix="build-fuzz/artifacts/$name-" \
			"build-fuzz/corpus/$name" "$seeds" >"$log" 2>&1
	else
		"$bin" -runs=0 -timeout=25 -print_final_stats=1 \
			-artifact_prefix="build-fuzz/artifacts/$name-" "$seeds" >"$log" 2>&1
	fi
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	files=$(ls "$seeds" | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "$name: ${execs:-?} executions, ${cov:-cov: ?}, $files seed files, nothing found"
	else
		status=1
		echo "$name: FAILED (exit $rc) after ${execs:-?} executions; see $log:"
		# the harness's or sanitizer's own words come just before libFuzzer's ERROR line
		grep -m 1 -B 3 -E '==[0-9]+== ?ERROR|runtime error' "$log"
		grep -m 3 -E 'SUMMARY|Test unit written' "$log"
	fi
done
exit $status
