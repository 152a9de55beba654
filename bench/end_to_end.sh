#!/bin/sh
# End to end, colnet and PyTorch side by side: for each zoo model, bench_train's run is
# followed at once by PyTorch's run of the same model, so every colnet/PyTorch ratio compares
# figures taken seconds apart. Run as one block each (all colnet, then all PyTorch), the two
# were minutes apart, and these shared machines drift by a quarter over minutes. Each
# bench_train run measures its own sgemm peak, so a model's roofline is of its own minute.
# The per-model files are then joined into the CSVs compare.sh and scripts read:
# train.csv, roofline.csv, zoo.tsv and pytorch.csv in RESULTS_DIR. PyTorch's settings:
# {default, tuned malloc} (two runs) x {1, 2 threads} x {NCHW, channels_last} (in each run).
# usage: bench/end_to_end.sh BENCH_TRAIN [RESULTS_DIR]   (from the top of the tree)
# BENCH_FLAGS (e.g. "--batches 100 --seconds 0.1") goes to both benches, for a quick run.
# BENCH_ENV and BENCH_PEER_ENV (VAR=value ...) set the environment of bench_train and of the
# PyTorch peer: `make bench BENCH_ISA=avx2` caps both at AVX2 with them.
set -u
bt=${1:?usage: bench/end_to_end.sh BENCH_TRAIN [RESULTS_DIR]}
dir=${2:-bench/results}
py=/usr/bin/python3
mkdir -p "$dir"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
peer=yes
if ! "$py" -c 'import torch' 2>/dev/null; then
	echo "bench: $py cannot import torch (apt-get install python3-torch): no PyTorch peer"
	peer=no
fi
models=$("$bt" --list) || exit 1
status=0 ab=""
TUNED_MALLOC="MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_TOP_PAD_=1000000000"
for m in $models; do
	# the first model's run also reruns tutorial-cnn and mlp under the other kernel family
	env ${BENCH_ENV:-} "$bt" --models "$m" --csv "$tmp/t-$m" --roofline-csv "$tmp/r-$m" --zoo-tsv "$tmp/z-$m" \
		$ab ${BENCH_FLAGS:-} || status=1
	ab=--no-ab
	if [ $peer = yes ]; then
		# PyTorch with glibc's default malloc, then with its thresholds raised: its best
		# setting includes the allocator (bench/README.md); each run times conv nets in
		# both NCHW and channels_last (the peer's default --layouts nchw,nhwc), since a
		# tuned PyTorch picks its layout too (1.4x on a small conv-batchnorm net)
		env ${BENCH_PEER_ENV:-} "$py" bench/peers/pytorch.py --models "$m" --zoo "$tmp/z-$m" --csv "$tmp/p-$m" \
			${BENCH_FLAGS:-} ||
			status=1
		env ${BENCH_PEER_ENV:-} $TUNED_MALLOC "$py" bench/peers/pytorch.py --models "$m" \
			--zoo "$tmp/z-$m" --csv "$tmp/q-$m" ${BENCH_FLAGS:-} ||
			status=1
		if [ -f "$tmp/q-$m" ] && [ -f "$tmp/p-$m" ]; then
			tail -n +2 "$tmp/q-$m" >>"$tmp/p-$m"
		elif [ -f "$tmp/q-$m" ]; then
			mv "$tmp/q-$m" "$tmp/p-$m"
		fi
	fi
done
# one header (each CSV's first line), then every model's rows in zoo order
merge_csv() { # PREFIX OUTPUT HAS_HEADER
	first=yes
	for m in $models; do
		[ -f "$tmp/$1-$m" ] || continue
		if [ $first = yes ] || [ "$3" = no ]; then cat "$tmp/$1-$m"; else tail -n +2 "$tmp/$1-$m"; fi
		first=no
	done >"$tmp/$1.joined"
	[ $first = no ] && mv "$tmp/$1.joined" "$dir/$2" && echo "wrote $dir/$2"
}
merge_csv t train.csv yes
merge_csv r roofline.csv yes
merge_csv z zoo.tsv no
[ $peer = yes ] && merge_csv p pytorch.csv yes
exit $status
