#!/bin/sh
# examples/mlp end to end: the MLP report's defaults reach its accuracies (Linear >= 99%, XOR
# 100%), the side options run, and bad options get one clear line and exit 2. Seconds in all.
SUITE=mlp
. tests/harness.sh
COLNET=${MLP:-build/examples/mlp} # expect_fail runs $COLNET

# final_acc NAME MIN ARGS...: the run exits 0 and its final accuracy is at least MIN percent
final_acc() {
	name=$1 min=$2
	shift 2
	"$COLNET" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	acc=$(sed -n 's/^final: loss [0-9.e+-]*, accuracy \([0-9.]*\)%.*/\1/p' "$tmp/out")
	if [ "$rc" -eq 0 ] && [ -n "$acc" ] && awk -v a="$acc" -v m="$min" 'BEGIN { exit !(a >= m) }'; then
		ok "$name ($acc%)"
	else
		bad "$name (exit $rc, accuracy '${acc}', wanted >= $min; $(tail -c 300 "$tmp/err"))"
	fi
}

final_acc "linear defaults >= 99%" 99
# the report's printout: loss and accuracy every 1000 epochs, predictions with labels
if [ "$(grep -c '^epoch .* loss .* accuracy' "$tmp/out")" -eq 15 ] &&
	[ "$(grep -c 'predicted .* label' "$tmp/out")" -eq 21 ]; then
	ok "linear prints 15 progress lines and 21 predictions"
else
	bad "linear printout: $(head -c 300 "$tmp/out")"
fi
final_acc "xor defaults 100%" 100 --dataset xor
[ "$(grep -c 'predicted .* label' "$tmp/out")" -eq 21 ] && ok "xor: all 21 predictions" ||
	bad "xor: $(grep -c 'predicted' "$tmp/out") predictions"
# the summed loss at lr is colnet's mean loss at 1000 * lr, step for step
"$COLNET" --show 5 --epochs 3000 >"$tmp/sum" 2>&1
"$COLNET" --show 5 --epochs 3000 --loss mean --lr 50 >"$tmp/mean" 2>&1
grep predicted "$tmp/sum" >"$tmp/sum.p"
grep predicted "$tmp/mean" >"$tmp/mean.p"
if [ -s "$tmp/sum.p" ] && cmp -s "$tmp/sum.p" "$tmp/mean.p"; then
	ok "--loss sum is --loss mean at n times the rate"
else
	bad "--loss sum and mean at n times the rate differ"
fi
# and the mean at the report's rate barely moves in 15 000 epochs (the report summed)
"$COLNET" --loss mean --show 0 --every 15000 >"$tmp/out" 2>&1
acc=$(sed -n 's/^final: .*accuracy \([0-9.]*\)%.*/\1/p' "$tmp/out")
awk -v a="$acc" 'BEGIN { exit !(a != "" && a < 99) }' && ok "--loss mean at lr 0.05 stays below 99% ($acc%)" ||
	bad "--loss mean at lr 0.05: '$acc'"
final_acc "linear, momentum (EMA)" 99 --optim momentum --show 0
final_acc "linear, tanh" 99 --act tanh --show 0 --lr 0.01
final_acc "linear, 1-D conv front" 98 --conv1d --show 0
final_acc "linear, 300 points, no activation" 95 --act none --points 300 --lr 0.01 --show 0
for act in relu leaky none; do
	final_acc "xor, $act runs" 0 --dataset xor --act "$act" --epochs 2000 --show 0
done
final_acc "xor, 1-D conv front at lr 0.05" 100 --dataset xor --conv1d --lr 0.05 --show 0

expect_fail "unknown option" 2 "unknown" --bogus 1
expect_fail "bad dataset" 2 "want linear or xor" --dataset spiral
expect_fail "bad activation" 2 "want sigmoid, tanh" --act swish
expect_fail "bad optimizer" 2 "want sgd or momentum" --optim adam
expect_fail "bad loss" 2 "want sum or mean" --loss max
expect_fail "missing value" 2 "needs a value" --lr
expect_fail "stray argument" 2 "not an option" xor
for v in 0 -1 nan inf abc ""; do
	expect_fail "--lr '$v'" 2 "want a number" --lr "$v"
	expect_fail "--hidden '$v'" 2 "want an integer" --hidden "$v"
	expect_fail "--epochs '$v'" 2 "want an integer" --epochs "$v"
done
expect_fail "--beta 1" 2 "want a number" --beta 1
expect_fail "--beta -0.1" 2 "want a number in \[0, 1)" --beta -0.1
expect_fail "--points 1" 2 "want an integer" --points 1
expect_fail "bad init" 2 "unknown initializer" --init nosuch
expect_fail "init without scale" 2 "--init" --init gaussian
summary
