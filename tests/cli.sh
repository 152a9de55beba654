#!/bin/sh
# The colnet tool end to end: bad arguments get one clear line and a non-zero exit, and a
# short MNIST training (5000 images, 2 epochs) beats 90% test accuracy, then eval, predict,
# info and --resume work on what it saved. Prints cmocka-style summary lines for run-tests.sh.
SUITE=cli
. tests/harness.sh

expect_fail "no command" 2 "usage"
expect_fail "unknown command" 2 "unknown command" frobnicate
expect_fail "unknown option" 2 "unknown option '--bogus'" train --bogus 1
for flag in --epochs --batch --threads --chunk --limit; do
	for v in 0 -3 nan 1e99 99999999999 abc ""; do
		expect_fail "train $flag '$v'" 2 "$flag wants an integer" train $flag "$v"
	done
done
for flag in --lr --momentum --weight-decay --clip; do
	for v in -1 nan inf abc 1e40; do
		expect_fail "train $flag '$v'" 2 "$flag wants a number" train $flag "$v"
	done
done
expect_fail "train --lr 0" 2 "--lr wants a number" train --lr 0
expect_fail "train --seed -1" 2 "--seed wants a non-negative integer" train --seed -1
expect_fail "missing value" 2 "--epochs needs a value" train --epochs
expect_fail "unknown model" 2 "unknown model 'nosuch'" train --model nosuch --data "$DATA"
expect_fail "bad spec" 1 "unknown layer kind 'blah'" train --model "conv 4 k3 | blah" --data "$DATA"
expect_fail "bad lppool exponent" 1 "norm exponent must be p=X" train --model "lppool 2 p=0.5 | linear 10" --data "$DATA"
expect_fail "rbf without units" 1 "missing output count after 'rbf'" train --model "rbf | linear 10" --data "$DATA"
expect_fail "unknown optimizer" 2 "unknown optimizer" train --optim rmsprop --data "$DATA"
expect_fail "bad schedule" 2 "--schedule" train --schedule warp --data "$DATA"
expect_fail "bad init" 2 "needs a scale" train --init gaussian --data "$DATA"
expect_fail "missing data" 1 "make data" train --data "$tmp/nowhere"
expect_fail "resume with settings" 2 "--resume continues" train --resume x --lr 0.1
expect_fail "resume missing file" 1 "nowhere.ckpt" train --resume "$tmp/nowhere.ckpt"
expect_fail "eval without model" 2 "--model FILE is required" eval
expect_fail "eval of a non-checkpoint" 1 "cli.sh" eval --model tests/cli.sh
expect_fail "predict without images" 2 "give --index" predict --model x
# every other numeric flag: 0, negative, NaN, huge, garbage and empty; then the flags with a
# grammar of their own, and --save targets that cannot be written (refused before training)
for v in 0 -3 nan 1e99 99999999999 abc ""; do
	expect_fail "train --test-limit '$v'" 2 "--test-limit wants an integer" train --test-limit "$v"
	for flag in --batch --limit --threads; do
		expect_fail "eval $flag '$v'" 2 "$flag wants an integer" eval $flag "$v"
	done
	expect_fail "info --batch '$v'" 2 "--batch wants an integer" info --batch "$v"
	expect_fail "info --chunk '$v'" 2 "--chunk wants an integer" info --chunk "$v"
	expect_fail "info --shape '28x28x${v}'" 2 "--shape wants HxWxC" info --shape "28x28x${v}"
done
for v in nan -0 1e99 99999999999999999999999 abc ""; do
	expect_fail "train --seed '$v'" 2 "--seed wants a non-negative integer" train --seed "$v"
done
for v in 0 -1 nan inf 1e99 abc ""; do
	expect_fail "schedule step:'$v'" 2 "step:EPOCHS wants an integer" train --schedule "step:$v" --data "$DATA"
	expect_fail "schedule step:2:'$v'" 2 "GAMMA wants a number" train --schedule "step:2:$v" --data "$DATA"
	expect_fail "init gaussian:'$v'" 2 "--init scale wants a number" train --init "gaussian:$v" --data "$DATA"
done
for v in -1 nan inf 1e99 abc; do
	expect_fail "schedule cosine:'$v'" 2 "LR_MIN wants a number" train --schedule "cosine:$v" --data "$DATA"
done
for v in 0 -1 nan inf 1e99 abc ""; do
	for cmd in train eval predict featuremaps; do
		expect_fail "$cmd --val '$v'" 2 "--val wants a number" $cmd --val "$v"
	done
	expect_fail "train --size '${v}x5'" 2 "--size H wants an integer" train --size "${v}x5" --data "$DATA"
	expect_fail "featuremaps --layer '$v'" 2 "--layer wants an integer" featuremaps --layer "$v"
done
expect_fail "--skip-nonfinite=1" 2 "--skip-nonfinite takes no value" train --skip-nonfinite=1
# an epoch at chance (Gaussian init 1 kills avgpool-cnn's ReLUs): a warning under a fixed rate;
# the loss-driven rate, which would go on at 0.2, stops instead and says why
chance="--model avgpool-cnn --init gaussian:1 --limit 1000 --test-limit 100 --threads 1"
# shellcheck disable=SC2086 # a list of flags
"$COLNET" train $chance --epochs 1 --data "$DATA" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && grep -q "warning: epoch 1: training accuracy .* at chance level for 10" "$tmp/err" &&
	ok "an epoch at chance is warned of" || bad "chance warning (exit $rc; $(head -c 300 "$tmp/err"))"
# shellcheck disable=SC2086
expect_fail "the loss rule stops at chance" 1 "the loss-driven rate would go on at 0.2; stopping" \
	train $chance --schedule loss --epochs 2 --data "$DATA"
expect_fail "save into a missing folder" 1 "cannot write there: No such file" train --save "$tmp/no/dir/m.ckpt"
expect_fail "save under a device" 1 "cannot write there: Not a directory" train --save /dev/full/m.ckpt
expect_fail "save onto a folder" 1 "is a folder, not a file" train --save "$tmp"
mkfifo "$tmp/fifo"
expect_fail "save onto a FIFO" 1 "is a device, FIFO or socket" train --save "$tmp/fifo"

if [ -f "$DATA/train-images-idx3-ubyte" ] || [ -f "$DATA/train-images-idx3-ubyte.gz" ]; then
	expect_fail "batch larger than data" 2 "larger than the 50 training images" \
		train --data "$DATA" --limit 50 --batch 100
	"$COLNET" train --model tutorial-cnn --data "$DATA" --epochs 2 --limit 5000 \
		--batch 32 --test-limit 2000 --threads 2 --save "$tmp/m.ckpt" --log "$tmp/m.csv" >"$tmp/train" 2>&1
	acc=$(awk -F, 'NR == 3 { print $5 }' "$tmp/m.csv" 2>/dev/null)
	if [ -n "$acc" ] && awk "BEGIN { exit !($acc > 0.90) }"; then
		ok "short MNIST training: test accuracy $acc > 0.90"
	else
		bad "short MNIST training: test accuracy '$acc' ($(tail -n 3 "$tmp/train"))"
	fi
	head -n 1 "$tmp/m.csv" | grep -qx "epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_sec" &&
		ok "CSV header" || bad "CSV header: $(head -n 1 "$tmp/m.csv")"
	"$COLNET" eval --model "$tmp/m.ckpt" --data "$DATA" --limit 2000 >"$tmp/eval" 2>&1 &&
		grep -q "confusion matrix" "$tmp/eval" && ok "eval" || bad "eval: $(cat "$tmp/eval")"
	"$COLNET" predict --model "$tmp/m.ckpt" --data "$DATA" --index 0 >"$tmp/pred" 2>&1 &&
		grep -q "label 7" "$tmp/pred" && ok "predict" || bad "predict: $(cat "$tmp/pred")"
	for v in -1 10000 nan 1e99 abc ""; do
		expect_fail "predict --index '$v'" 2 "--index wants an integer in 0..9999" \
			predict --model "$tmp/m.ckpt" --data "$DATA" --index "$v"
	done
	"$COLNET" train --resume "$tmp/m.ckpt" --data "$DATA" --epochs 3 --limit 5000 \
		--test-limit 500 --log "$tmp/m.csv" >"$tmp/resume" 2>&1 &&
		[ "$(wc -l <"$tmp/m.csv")" -eq 4 ] && ok "resume extends the run and the log" ||
		bad "resume: $(tail -n 3 "$tmp/resume")"
	# a pinned chunking repeats its run bit for bit, and differs from the plan's rule only by
	# rounding (test accuracy within half a point on 1000 images)
	for run in a b c; do
		pin="--chunk 3"
		[ $run = c ] && pin=""
		"$COLNET" train --model "conv 8 k3 p1 relu | maxpool 2 | linear 10" --data "$DATA" \
			--epochs 1 --limit 2000 --test-limit 1000 --threads 2 $pin \
			--save "$tmp/chunk-$run.ckpt" >"$tmp/chunk-$run" 2>&1
	done
	a=$(awk '$1 == 1 { print $5 + 0 }' "$tmp/chunk-a") c=$(awk '$1 == 1 { print $5 + 0 }' "$tmp/chunk-c")
	if [ -s "$tmp/chunk-a.ckpt" ] && cmp -s "$tmp/chunk-a.ckpt" "$tmp/chunk-b.ckpt" &&
		[ -n "$a" ] && [ -n "$c" ] && awk "BEGIN { d = $a - $c; exit !(d < 0.5 && d > -0.5) }"; then
		ok "train --chunk 3 repeats exactly and matches the rule's accuracy"
	else
		bad "train --chunk: $(tail -n 2 "$tmp/chunk-a") / $(tail -n 2 "$tmp/chunk-c")"
	fi
	# the report layers end to end: overlapping max pooling, L^p pooling and radial units train,
	# save and load back (their parameters ride in the flat block the checkpoint stores)
	"$COLNET" train --model "conv 6 k5 sigmoid | maxpool 3 s2 | lppool 2 p=3 | rbf 30 | linear 10" \
		--data "$DATA" --epochs 2 --limit 5000 --test-limit 1000 --lr 0.05 --save "$tmp/r.ckpt" \
		--log "$tmp/r.csv" >"$tmp/rtrain" 2>&1
	acc=$(awk -F, 'NR == 3 { print $5 }' "$tmp/r.csv" 2>/dev/null)
	if [ -n "$acc" ] && awk "BEGIN { exit !($acc > 0.30) }"; then
		ok "maxpool 3 s2 | lppool | rbf trains: test accuracy $acc > 0.30"
	else
		bad "maxpool 3 s2 | lppool | rbf: test accuracy '$acc' ($(tail -n 3 "$tmp/rtrain"))"
	fi
	pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f%%", 100 * a }')
	"$COLNET" eval --model "$tmp/r.ckpt" --data "$DATA" --limit 1000 >"$tmp/reval" 2>&1 &&
		grep -q "accuracy $pct" "$tmp/reval" && ok "rbf checkpoint evaluates to the same $pct" ||
		bad "rbf checkpoint eval (want $pct): $(head -n 1 "$tmp/reval")"
	# dropout and batchnorm: eval (running statistics, any batch) repeats the accuracy the
	# training measured after its last epoch, so the statistics were saved with the model
	spec="conv 8 k3 p1 nobias | batchnorm relu | maxpool 2 | linear 32 | dropout 0.3 | linear 10"
	"$COLNET" train --model "$spec" --data "$DATA" --epochs 2 --limit 3000 --test-limit 1000 \
		--threads 2 --save "$tmp/bn.ckpt" --log "$tmp/bn.csv" >"$tmp/bn" 2>&1
	acc=$(awk -F, 'NR == 3 { printf "%.2f%%", 100 * $5 }' "$tmp/bn.csv" 2>/dev/null)
	"$COLNET" eval --model "$tmp/bn.ckpt" --data "$DATA" --limit 1000 --batch 37 >"$tmp/bneval" 2>&1
	if [ -n "$acc" ] && grep -q "accuracy $acc," "$tmp/bneval"; then
		ok "dropout + batchnorm: eval repeats the training's test accuracy $acc"
	else
		bad "dropout + batchnorm: training '$acc', eval: $(head -n 1 "$tmp/bneval") $(tail -n 2 "$tmp/bn")"
	fi
	expect_fail "dropout probability 1" 1 "dropout probability must be a number in" \
		train --model "linear 10 | dropout 1" --data "$DATA"
	ls "$tmp" | grep -q '\.tmp\.' && bad "temporary files left behind" || ok "no temporary files left"
else
	echo "[  SKIPPED ] cli: no MNIST in $DATA (run 'make data')"
fi
"$COLNET" info --model tutorial-cnn >"$tmp/info" 2>&1 && grep -q "parameters: 50186" "$tmp/info" &&
	ok "info" || bad "info: $(cat "$tmp/info")"
# the plan's images per GEMM for each convolution, and --chunk pinning them
"$COLNET" info --model tutorial-cnn >"$tmp/info" 2>&1 &&
	grep -Eq "^layer 1: [0-9]+ images per GEMM forward, [0-9]+ backward" "$tmp/info" &&
	grep -Eq "^layer 3: [0-9]+ images per GEMM forward" "$tmp/info" &&
	! grep -q "^layer 5:" "$tmp/info" && ok "info: chunks of the two convolutions" ||
	bad "info chunks: $(cat "$tmp/info")"
"$COLNET" info --model tutorial-cnn --chunk 3 >"$tmp/info" 2>&1 &&
	grep -q "^layer 3: 3 images per GEMM forward, 3 backward" "$tmp/info" &&
	ok "info --chunk 3" || bad "info --chunk 3: $(cat "$tmp/info")"
# the MFLOP/img column lines up even past 64 characters (deep-cnn-bn's 1280000-weight layer)
# a dense model's inference plan splits large batches by image, a convolutional one does not
"$COLNET" info --model mlp --batch 1000 >"$tmp/info" 2>&1 &&
	threads=$(sed -n 's/^threads: \([0-9]*\) .*/\1/p' "$tmp/info") &&
	if [ "$threads" -ge 2 ]; then want="batches of 196 images and more run as $threads slices"; else want="each layer shares"; fi &&
	grep -q "^planned arena for inference at batch 1000: .*$want" "$tmp/info" &&
	"$COLNET" info --model tutorial-cnn --batch 1000 >"$tmp/info2" 2>&1 &&
	grep -q "^planned arena for inference at batch 1000: .*each layer shares out its own work" "$tmp/info2" &&
	ok "info: inference split" || bad "info split: $(cat "$tmp/info" "$tmp/info2")"
"$COLNET" info --model deep-cnn-bn >"$tmp/info" 2>&1 &&
	[ "$(grep -E '^ *([0-9]+ |# )' "$tmp/info" | awk '{ print length($0) }' | sort -u | wc -l)" -eq 1 ] &&
	ok "info: one MFLOP column" || bad "info columns: $(cat "$tmp/info")"

summary
