#!/bin/sh
# examples/studies.sh on a sliver of MNIST: a study prints its table and leaves one CSV per
# setting, and a missing tool, unknown study or failing run stops it with a clear message.
SUITE=studies
. tests/harness.sh
studies=examples/studies.sh

# runs STUDY NAME EXIT NEEDLE [COLNET]: studies.sh (over $seeds, if set) exits with EXIT and
# says NEEDLE
runs() {
	STUDIES=$1 SEEDS=${seeds:-} STUDY_FLAGS="--limit 300 --test-limit 100 --threads 1" \
		"$studies" "$tmp/out" "${5:-$COLNET}" "$DATA" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	if [ "$rc" -eq "$3" ] && grep -q -- "$4" "$tmp/stdout" "$tmp/stderr"; then
		ok "$2"
	else
		bad "$2 (exit $rc, wanted $3 and '$4'; $(tail -c 300 "$tmp/stderr"))"
	fi
}

runs wd "weight-decay study" 0 "^0.05 .*%"
rows=$(grep -c '%' "$tmp/out/wd.table")
csvs=0
for s in 0.00005 0.0005 0.05; do
	[ "$(wc -l <"$tmp/out/wd-$s.csv")" -eq 4 ] && head -n 1 "$tmp/out/wd-$s.csv" |
		grep -q '^epoch,train_loss,train_acc,test_loss,test_acc' && csvs=$((csvs + 1))
done
[ "$rows" -eq 3 ] && [ "$csvs" -eq 3 ] && ok "3 table rows, 3 CSVs of 3 epochs" ||
	bad "wd study: $rows rows, $csvs good CSVs"
seeds="1 2"
runs wd "weight-decay study over two seeds" 0 "^0.05 .*%.*  seeds: [0-9.]* [0-9.]*$"
seeds=
csvs=$(ls "$tmp/out"/wd-*-s[12].csv 2>/dev/null | wc -l)
[ "$csvs" -eq 6 ] && ok "one CSV per setting and seed" || bad "SEEDS: $csvs CSVs, wanted 6"
runs wd "missing colnet" 1 "is not an executable" "$tmp/nosuch"
runs spin "unknown study" 1 "unknown study 'spin'"
STUDY_FLAGS="--batch 0" "$studies" "$tmp/out" "$COLNET" "$DATA" >/dev/null 2>"$tmp/stderr"
rc=$?
[ "$rc" -eq 1 ] && grep -q "lr-0.005 failed" "$tmp/stderr" && ok "a failing run names itself" ||
	bad "failing run: exit $rc, $(head -c 300 "$tmp/stderr")"
"$studies" >/dev/null 2>"$tmp/stderr"
[ $? -eq 2 ] && grep -q usage "$tmp/stderr" && ok "usage" || bad "usage"
summary
