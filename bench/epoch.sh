#!/bin/sh
# What a user sees: `colnet train`'s images/s over a whole epoch (data step included: gather,
# convert, shuffle, metrics) against a plain PyTorch loop on the same real MNIST batches
# (peers/pytorch_epoch.py), model by model, back to back. Each side runs one warm-up epoch, then
# one timed; PyTorch at its best of {default, tuned malloc} x {1, 2 threads} x {NCHW,
# channels_last}, colnet at 2. The layout is one of PyTorch's settings because a tuned user
# picks it: channels_last trained a small conv-batchnorm-pool net 1.4x faster than NCHW (batch
# 200, 2 threads); a model with no conv, pool or batchnorm layer (mlp) runs once ("flat").
# usage: bench/epoch.sh COLNET [RESULTS_DIR]   (from the top of the tree)
# EPOCH_MODELS, EPOCH_LIMIT (images per epoch, default 6000), EPOCH_LAYOUTS (default
# "nchw nhwc"), BENCH_ENV and BENCH_PEER_ENV (as for end_to_end.sh) adjust it. Writes
# RESULTS_DIR/epoch.csv (its last column: the layout of PyTorch's best run).
set -u
colnet=${1:?usage: bench/epoch.sh COLNET [RESULTS_DIR]}
dir=${2:-bench/results}
models=${EPOCH_MODELS:-tutorial-cnn deep-cnn lenet5 sigmoid-cnn mlp}
limit=${EPOCH_LIMIT:-6000}
layouts=${EPOCH_LAYOUTS:-nchw nhwc}
data=${DATA:-data/mnist}
py=/usr/bin/python3
TUNED_MALLOC="MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_TOP_PAD_=1000000000"
mkdir -p "$dir"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
peer=yes
"$py" -c 'import torch' 2>/dev/null || peer=no
echo "== whole epochs on MNIST ($limit images, batch 100): colnet train at 2 threads against a plain PyTorch loop =="
printf "%-13s %12s %12s %-26s %6s\n" model "colnet img/s" "PyTorch" "(threads, malloc, layout)" ratio
echo "model,colnet_images_per_sec,pytorch_images_per_sec,pytorch_threads,pytorch_allocator,pytorch_layout" >"$tmp/epoch.csv"
status=0
for m in $models; do
	env ${BENCH_ENV:-} "$colnet" train --model "$m" --epochs 2 --limit "$limit" --test-limit 100 \
		--batch 100 --threads 2 --data "$data" --log "$tmp/log-$m.csv" >/dev/null 2>"$tmp/err" ||
		{ cat "$tmp/err"; status=1; continue; }
	c=$(tail -n 1 "$tmp/log-$m.csv" | awk -F, '{ print $7 }')
	: >"$tmp/p-$m"
	if [ $peer = yes ]; then
		for alloc in default tuned; do
			menv=
			[ $alloc = tuned ] && menv=$TUNED_MALLOC
			for t in 1 2; do
				for lay in $layouts; do
					env ${BENCH_PEER_ENV:-} $menv "$py" bench/peers/pytorch_epoch.py --model "$m" \
						--zoo "$dir/zoo.tsv" --data "$data" --limit "$limit" --threads $t \
						--layout $lay --csv "$tmp/p-$m" >/dev/null || status=1
				done
			done
		done
	fi
	best=$(sort -t, -k4 -g "$tmp/p-$m" | tail -n 1)
	p=$(echo "$best" | cut -d, -f4)
	awk -v m="$m" -v c="$c" -v p="$p" -v b="$best" 'BEGIN {
		split(b, f, ",")
		printf "%-13s %12.0f %12s %-26s %6s\n", m, c, (p == "" ? "-" : sprintf("%.0f", p)),
		    (p == "" ? "" : "(" f[2] ", " f[3] ", " f[5] ")"), (p > 0 ? sprintf("%.2fx", c / p) : "-")
	}'
	echo "$m,$c,$p,$(echo "$best" | cut -d, -f2),$(echo "$best" | cut -d, -f3),$(echo "$best" | cut -d, -f5)" >>"$tmp/epoch.csv"
done
mv "$tmp/epoch.csv" "$dir/epoch.csv" && echo "wrote $dir/epoch.csv"
exit $status
