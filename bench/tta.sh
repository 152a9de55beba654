#!/bin/sh
# make bench-tta: time to accuracy, colnet against PyTorch, seed by seed back to back.
# For each of SEEDS seeds it runs colnet's zoo recipe TTA_MODEL (default mnist-fast) with
# --target-acc TARGET (default 99.0: training stops at the first epoch whose test accuracy
# reaches it), then the same recipe in plain PyTorch (bench/peers/tta.py: same network, batch,
# optimizer, schedule, label smoothing, weight average and augmentation) right after it. The
# time is the whole process, start to exit: loading the data and every evaluation included.
# The accuracy compared is the final one, the recipe's last epoch: a run that stopped early
# is run again to the end, untimed (a run is deterministic for its seed and threads, so the
# stopped run is the start of the whole one). Otherwise whichever side happened to stop on
# more seeds would show the lower mean, the accuracy at the stop being barely the target.
# PyTorch gets its tuned allocator (the MALLOC_* settings below) and TORCH_THREADS threads
# (default: the cores; 2 threads beat 1 on this recipe). Prints each run, then mean, min and
# max of both, the time ratio and the accuracy difference; writes bench/results/tta.csv.
set -u
COLNET=${COLNET:-build/colnet}
DATA=${DATA:-data/mnist}
# SEEDS: 20 for mnist-fast, 3 for mnist-best (its bar's count; a run takes minutes). A run of
# mnist-fast ends after epoch 1 or 2 as its weight average is at 99% then or not (for over
# half the seeds, either engine), and that coin flip halves the run's time. Over 5 seeds one
# side can win most flips by chance (seeds 1-5: PyTorch 4, colnet 1; seeds 11-30: colnet 12
# of 20, PyTorch 10), and the ratio then says more about the draw than about the engines.
SEEDS=${SEEDS:-}
TARGET=${TARGET:-99.0}
MODEL=${TTA_MODEL:-mnist-fast}
THREADS=${THREADS:-$(nproc)}
TORCH_THREADS=${TORCH_THREADS:-$THREADS}
RESULTS=${RESULTS_DIR:-bench/results}
py=/usr/bin/python3

# The recipes, as src/zoo.c's recipe() and table hold them; both sides get these flags, so
# colnet runs exactly what PyTorch is told (keep in step with the zoo).
case "$MODEL" in
mnist-fast)
	SEEDS=${SEEDS:-20}
	RECIPE="--epochs 2 --batch 64 --optim momentum --momentum 0.9 --nesterov --lr 0.15 --schedule onecycle --label-smoothing 0.05 --ema 0.99"
	;;
mnist-best)
	SEEDS=${SEEDS:-3}
	RECIPE="--epochs 13 --batch 128 --optim adam --lr 0.003 --schedule onecycle --label-smoothing 0.1 --ema 0.999 --augment shift:2,rotate:10,scale:0.1"
	;;
*)
	echo "bench-tta: TTA_MODEL is mnist-fast or mnist-best, not '$MODEL'" >&2
	exit 2
	;;
esac
spec=$("$COLNET" info --model "$MODEL" 2>/dev/null | sed -n 's/^model: *//p')
[ -n "$spec" ] || { echo "bench-tta: cannot find $MODEL's spec" >&2; exit 1; }
peer=yes
if ! "$py" -c 'import torch' 2>/dev/null; then
	echo "bench-tta: $py cannot import torch (apt-get install python3-torch): colnet alone"
	peer=no
fi
mkdir -p "$RESULTS"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
csv="$RESULTS/tta.csv"
echo "engine,seed,seconds,test_acc,reached,epochs,final_acc" >"$csv"
epochs=$(echo "$RECIPE" | sed 's/.*--epochs \([0-9]*\).*/\1/')

# colnet's run of seed $1, stopping at TARGET unless $2 is "full"; its log in $tmp/c
colnet_run() {
	target="--target-acc $TARGET"
	[ "$2" = full ] && target=""
	"$COLNET" train --model "$MODEL" $RECIPE --seed "$1" $target \
		--threads "$THREADS" --data "$DATA" >"$tmp/c" 2>&1 ||
		{ echo "bench-tta: colnet failed: $(tail -n 3 "$tmp/c")" >&2; exit 1; }
}
# accuracy in percent (its last epoch's), reached (0/1) and epochs of colnet's log
colnet_last() {
	reached=0
	grep -q "^target .* reached" "$tmp/c" && reached=1
	awk -v r=$reached '$1 ~ /^[0-9]+$/ && NF == 7 { a = $5; e = $1 }
		END { sub("%", "", a); print a, r, e }' "$tmp/c"
}
# PyTorch's run of seed $1, to TARGET or (with "full") to the end; its log in $tmp/p
pytorch_run() {
	target=$(echo "$TARGET / 100" | bc -l)
	[ "$2" = full ] && target=2
	MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 \
		MALLOC_TOP_PAD_=1000000000 OMP_NUM_THREADS=$TORCH_THREADS \
		"$py" bench/peers/tta.py --data "$DATA" --spec "$spec" $RECIPE --seed "$1" \
		--threads "$TORCH_THREADS" --target "$target" >"$tmp/p" 2>&1 ||
		{ echo "bench-tta: PyTorch failed: $(tail -n 3 "$tmp/p")" >&2; exit 1; }
}
# accuracy in percent, reached (0/1) and epochs of PyTorch's log
pytorch_last() {
	sed -n 's/^result acc=\([0-9.]*\) reached=\([01]\) epochs=\([0-9]*\)/\1 \2 \3/p' "$tmp/p" |
		awk '{ printf "%.2f %s %s\n", 100 * $1, $2, $3 }'
}

# engine $1's timed run of seed $2, stopped at TARGET: "seconds accuracy reached epochs"
timed() {
	t0=$(now)
	"${1}_run" "$2" stop
	t1=$(now)
	echo "$(echo "$t1 - $t0" | bc) $("${1}_last")"
}
# engine $1's row for seed $2 from its timed run ($3): a run that stopped before the last
# epoch is run again to the end, untimed, for its final accuracy
record() {
	set -- "$1" "$2" $3
	final=$4
	if [ "$6" -lt "$epochs" ]; then
		"${1}_run" "$2" full
		final=$("${1}_last" | cut -d' ' -f1)
	fi
	printf '%-8s %5d %9.2f %8.2f%% %8s %7s %8.2f%%\n' "$@" "$final"
	echo "$1,$2,$3,$4,$5,$6,$final" >>"$csv"
}

echo "time to ${TARGET}% on MNIST: $MODEL, $SEEDS seeds, $THREADS threads (PyTorch $TORCH_THREADS), $(uptime | sed 's/.*load/load/')"
echo "recipe: $spec; $RECIPE"
printf '%-8s %5s %9s %9s %8s %7s %9s\n' engine seed seconds test_acc reached epochs final_acc
for seed in $(seq 1 "$SEEDS"); do
	# both timed runs back to back, then the untimed ones
	c=$(timed colnet "$seed") || exit 1
	if [ $peer = yes ]; then p=$(timed pytorch "$seed") || exit 1; fi
	record colnet "$seed" "$c"
	if [ $peer = yes ]; then record pytorch "$seed" "$p"; fi
done
echo
awk -F, -v target="$TARGET" 'NR > 1 {
	n[$1]++; t[$1] += $3; a[$1] += $7; r[$1] += $5
	if (!($1 in tmin) || $3 < tmin[$1]) tmin[$1] = $3
	if (!($1 in tmax) || $3 > tmax[$1]) tmax[$1] = $3
	if (!($1 in amin) || $7 < amin[$1]) amin[$1] = $7
	if (!($1 in amax) || $7 > amax[$1]) amax[$1] = $7
}
END {
	printf "%-8s %22s %26s %8s\n", "", "seconds mean (min..max)", "final_acc mean (min..max)", "reached"
	for (e in n)
		printf "%-8s %9.2f (%5.2f..%5.2f) %9.2f%% (%5.2f..%5.2f) %5d/%d\n", e, t[e] / n[e],
		    tmin[e], tmax[e], a[e] / n[e], amin[e], amax[e], r[e], n[e]
	if (n["pytorch"] && n["colnet"])
		printf "colnet reaches %s%% %.2fx sooner than PyTorch (mean time ratio), final accuracy %+.2f points\n",
		    target, (t["pytorch"] / n["pytorch"]) / (t["colnet"] / n["colnet"]),
		    a["colnet"] / n["colnet"] - a["pytorch"] / n["pytorch"]
}' "$csv"
