#!/bin/sh
# colnet train's recipe flags end to end: bad values get one clear line and exit 2;
# --save-best keeps the best epoch's weights (eval of its file repeats the best test accuracy
# of the log, eval of --save's the last); --target-acc stops at the target and says when; a
# run with a weight average saves the average (eval repeats the accuracy training printed);
# bench/tta.sh's recipe flags train exactly as the zoo recipes they restate.
SUITE=recipe
. tests/harness.sh

for v in "" shift shift:1.5 shift:-1 rotate:nan rotate:400 scale:2 elastic:34 elastic:34:0 blur:3; do
	expect_fail "train --augment '$v'" 2 "--augment: augmentation" train --augment "$v"
done
expect_fail "nesterov without momentum" 2 "--nesterov needs --optim momentum" train --nesterov --optim adam
for v in 1 -0.1 nan abc; do
	expect_fail "train --label-smoothing '$v'" 2 "--label-smoothing wants a number" train --label-smoothing "$v"
	expect_fail "train --ema '$v'" 2 "--ema wants a number" train --ema "$v"
done
for v in 0 -1 101 nan; do
	expect_fail "train --target-acc '$v'" 2 "--target-acc wants a number" train --target-acc "$v"
done
expect_fail "schedule onecycle:1:'2'" 2 "PEAK wants a number" train --lr 0.1 --schedule onecycle:0:2
expect_fail "resume with a recipe flag" 2 "--resume continues" train --resume x --augment shift:1
expect_fail "save-best into a missing folder" 1 "cannot write there" train --save-best "$tmp/no/b.ckpt"

if [ -f "$DATA/train-images-idx3-ubyte" ] || [ -f "$DATA/train-images-idx3-ubyte.gz" ]; then
	# a rate high enough that the test accuracy wanders: the best epoch is rarely the last
	"$COLNET" train --model "conv 4 k5 relu | maxpool 2 | linear 10" --data "$DATA" --epochs 5 \
		--limit 1500 --test-limit 500 --optim sgd --lr 0.9 --threads 2 --augment shift:1 \
		--save "$tmp/last.ckpt" --save-best "$tmp/best.ckpt" --log "$tmp/b.csv" >"$tmp/b" 2>&1
	best=$(awk -F, 'NR > 1 && $5 > m { m = $5 } END { printf "%.2f%%", 100 * m }' "$tmp/b.csv")
	last=$(awk -F, 'END { printf "%.2f%%", 100 * $5 }' "$tmp/b.csv")
	"$COLNET" eval --model "$tmp/best.ckpt" --data "$DATA" --limit 500 >"$tmp/beval" 2>&1
	"$COLNET" eval --model "$tmp/last.ckpt" --data "$DATA" --limit 500 >"$tmp/leval" 2>&1
	if grep -q "accuracy $best," "$tmp/beval" && grep -q "accuracy $last," "$tmp/leval"; then
		ok "--save-best keeps the best epoch ($best; last $last)"
	else
		bad "--save-best: log best $best last $last; eval $(head -n 1 "$tmp/beval") / $(head -n 1 "$tmp/leval")"
	fi
	grep -q "^best test accuracy $best (epoch [0-9]*, saved in $tmp/best.ckpt); last epoch's checkpoint $tmp/last.ckpt" "$tmp/b" &&
		ok "closing line names the best file and the last checkpoint apart" ||
		bad "closing line: $(tail -n 1 "$tmp/b")"

	"$COLNET" train --model "conv 4 k5 relu | maxpool 2 | linear 10" --data "$DATA" --epochs 6 \
		--limit 1500 --test-limit 500 --lr 0.01 --target-acc 50 --log "$tmp/t.csv" >"$tmp/t" 2>&1
	if grep -Eq "^target 50.00% reached at epoch 1 \([0-9.]+%\), [0-9.]+ s after start" "$tmp/t" &&
		[ "$(wc -l <"$tmp/t.csv")" -eq 2 ]; then
		ok "--target-acc stops at the first epoch that reaches it"
	else
		bad "--target-acc: $(tail -n 3 "$tmp/t")"
	fi

	# a target equal to an epoch's accuracy is reached (9 900 of 10 000 is 99%, though 99 as a
	# float is a hair above 0.99): each test size (k/n exact in the log) gives another k/n
	exact=0
	for n in 250 400 500 800 1000; do
		"$COLNET" train --model "conv 4 k5 relu | maxpool 2 | linear 10" --data "$DATA" \
			--epochs 1 --limit 1500 --test-limit "$n" --lr 0.01 --log "$tmp/x.csv" >/dev/null 2>&1
		acc=$(awk -F, 'NR == 2 { print $5 * 100 }' "$tmp/x.csv")
		"$COLNET" train --model "conv 4 k5 relu | maxpool 2 | linear 10" --data "$DATA" \
			--epochs 2 --limit 1500 --test-limit "$n" --lr 0.01 --target-acc "$acc" >"$tmp/x" 2>&1
		grep -q "^target .* reached at epoch 1 " "$tmp/x" && exact=$((exact + 1))
	done
	[ "$exact" -eq 5 ] && ok "--target-acc stops at an accuracy equal to it (5 test sizes)" ||
		bad "--target-acc equal to the accuracy: reached in $exact of 5"

	spec="conv 6 k3 p1 nobias | batchnorm relu | maxpool 2 | linear 10"
	"$COLNET" train --model "$spec" --data "$DATA" --epochs 2 --limit 2000 --test-limit 500 \
		--optim momentum --nesterov --lr 0.05 --schedule onecycle --warmup 0.2 \
		--label-smoothing 0.1 --ema 0.99 --augment shift:2,rotate:10,scale:0.1,elastic:34:4 \
		--save "$tmp/e.ckpt" --log "$tmp/e.csv" >"$tmp/e" 2>&1
	acc=$(awk -F, 'NR == 3 { printf "%.2f%%", 100 * $5 }' "$tmp/e.csv" 2>/dev/null)
	"$COLNET" eval --model "$tmp/e.ckpt" --data "$DATA" --limit 500 >"$tmp/eeval" 2>&1
	if [ -n "$acc" ] && grep -q "accuracy $acc," "$tmp/eeval"; then
		ok "weight average: eval of the checkpoint repeats the averaged net's $acc"
	else
		bad "weight average: training '$acc', eval: $(head -n 1 "$tmp/eeval") $(tail -n 2 "$tmp/e")"
	fi
	"$COLNET" train --resume "$tmp/e.ckpt" --data "$DATA" --epochs 3 --limit 2000 --test-limit 500 \
		>"$tmp/er" 2>&1 && grep -q "augment shift:2,rotate:10,scale:0.1,elastic:34:4" "$tmp/er" &&
		ok "resume keeps the recipe" || bad "resume with a recipe: $(tail -n 3 "$tmp/er")"
	"$COLNET" train --model mnist-fast --data "$DATA" --epochs 1 --limit 1000 --test-limit 200 \
		>"$tmp/z" 2>&1 && ok "zoo mnist-fast trains" || bad "mnist-fast: $(tail -n 3 "$tmp/z")"
	"$COLNET" train --model mnist-best --data "$DATA" --epochs 1 --limit 1000 --test-limit 200 \
		>"$tmp/z" 2>&1 && grep -q "^augment shift" "$tmp/z" && ok "zoo mnist-best trains with its augmentation" ||
		bad "mnist-best: $(tail -n 3 "$tmp/z")"
	# bench/tta.sh gives PyTorch the zoo net's spec and the recipe as flags: colnet given the
	# bare spec and those flags must train exactly as with its zoo recipe alone (same rows,
	# bit for bit), so no part of the recipe can be missing from PyTorch's side (with the zoo
	# name the zoo's extras would fill any gap); a few steps per epoch keep the runs short
	rows() { # the epoch rows without their times, and the settings lines
		awk '$1 ~ /^[0-9]+$/ && NF == 7 { print $1, $2, $3, $4, $5 }
			/^augment|parameters,/ { sub(/ [0-9]+ threads.*/, ""); print }' "$1"
	}
	for m in mnist-fast:400 mnist-best:256; do
		lim=${m#*:} m=${m%:*}
		flags=$(sed -n "/^$m)/,/;;/s/^[[:space:]]*RECIPE=\"\(.*\)\"/\1/p" bench/tta.sh)
		"$COLNET" train --model "$m" --data "$DATA" --limit "$lim" --test-limit 100 \
			--threads 2 >"$tmp/zr" 2>&1
		spec=$("$COLNET" info --model "$m" | sed -n 's/^model: *//p')
		# shellcheck disable=SC2086 # the flags are words
		"$COLNET" train --model "$spec" $flags --data "$DATA" --limit "$lim" --test-limit 100 \
			--threads 2 >"$tmp/fr" 2>&1
		if [ -n "$flags" ] && [ -n "$(rows "$tmp/zr")" ] && [ "$(rows "$tmp/zr")" = "$(rows "$tmp/fr")" ]; then
			ok "bench/tta.sh's $m flags are the zoo recipe"
		else
			bad "bench/tta.sh's $m flags '$flags' train otherwise than the zoo: $(rows "$tmp/zr" | head -n 2) / $(rows "$tmp/fr" | head -n 2)"
		fi
	done
else
	echo "[  SKIPPED ] recipe: no MNIST in $DATA (run 'make data')"
fi
summary
