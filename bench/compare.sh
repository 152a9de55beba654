#!/bin/sh
# colnet against PyTorch, from the CSVs bench_train and bench/peers/pytorch.py wrote: every
# colnet figure next to PyTorch's best setting at the same batch (small models often train
# faster on one thread in PyTorch), then the end-to-end targets, judged with the
# roofline figures bench_train measured in the same run. Prints only; it never fails on a
# number (timing is not a test).
# PyTorch's figure is its best setting: {default, tuned malloc} x {1, 2 threads} x {NCHW,
# channels_last}. The layout counts because a tuned user picks it: channels_last trained a
# small conv-batchnorm-pool net 1.4x faster than NCHW (batch 200, 2 threads). pytorch.csv's
# 7th column names it (nchw, nhwc, or flat for a net with no conv, pool or batchnorm layer);
# files from before that column read as NCHW.
# usage: bench/compare.sh [RESULTS_DIR [ISA]]   (default bench/results; ISA avx2 for the
# capped build, whose roofline target is lower)
dir=${1:-bench/results}
isa=${2:-full}
case $dir in */avx2) isa=avx2 ;; esac
train=$dir/train.csv peer=$dir/pytorch.csv roof=$dir/roofline.csv
if [ ! -f "$train" ] || [ ! -f "$roof" ]; then
	echo "compare: $train or $roof missing: run bench_train first"
	exit 0
fi
if [ ! -f "$peer" ]; then
	echo "compare: no $peer (PyTorch not installed?): nothing to compare"
	exit 0
fi
if [ "$train" -nt "$peer" ]; then
	echo "compare: note: $peer is older than $train (the peer did not run this time)"
fi
awk -F, '
FNR == 1 { file++; next }
file == 1 { rpeak[$1 "," $2] = $3; ftrain[$1] = $4; finfer[$1] = $5; next }
file == 2 {
	k = $1 "," $2
	al = (($6 == "tuned") ? ",m" : "") (($7 == "nhwc") ? ",cl" : "")
	if ($4 != "" && $4 + 0 > ptrain[k] + 0) { ptrain[k] = $4; pttr[k] = $3 al }
	if ($5 + 0 > pinfer[k] + 0) { pinfer[k] = $5; ptin[k] = $3 al }
	next
}
{
	n++; m[n] = $1; b[n] = $2; t[n] = $3; ct[n] = $4; ci[n] = $5
	ctrain[$1 "," $2 "," $3] = $4; cinfer[$1 "," $2 "," $3] = $5
}
function ratio(c, p) { return (c == "" || p + 0 <= 0) ? "     -" : sprintf("%5.2fx", c / p) }
function num(x) { return x == "" ? "-" : sprintf("%.0f", x) }
END {
	print "== colnet vs PyTorch: images/s; PyTorch = its best of 1 and 2 threads, default and tuned malloc, NCHW and channels_last (threads in brackets, \",m\" = tuned malloc, \",cl\" = channels_last) =="
	printf "%-13s %5s %3s | %11s %17s %6s | %11s %17s %6s\n", "model", "batch", "thr",
	    "colnet train", "PyTorch", "ratio", "colnet infer", "PyTorch", "ratio"
	for (i = 1; i <= n; i++) {
		k = m[i] "," b[i]
		printf "%-13s %5d %3d | %11s %8s %-8s %6s | %11s %8s %-8s %6s\n", m[i], b[i], t[i],
		    num(ct[i]), num(ptrain[k]), "(" ((pttr[k] == "") ? "-" : pttr[k]) ")", ratio(ct[i], ptrain[k]),
		    num(ci[i]), num(pinfer[k]), "(" ((ptin[k] == "") ? "-" : ptin[k]) ")", ratio(ci[i], pinfer[k])
	}
	print ""
	print "== issue 16 targets (" isa " build; 2 threads; roofline = in-run sgemm peak / GEMM FLOPs per image) =="
	for (i = 1; i <= n; i++) {
		if (t[i] != 2 || seen[m[i]]++) continue
		model = m[i]; peak = rpeak[model ",2"]
		c = ctrain[model ",100,2"]; p = ptrain[model ",100"]
		need = (model == "tutorial-cnn" && isa == "full") ? 3 : 2
		if (c != "" && p > 0)
			printf "train  %-13s batch 100: %7.0f img/s = %5.2fx PyTorch %6.0f (needs >= %dx): %s\n",
			    model, c, c / p, p, need, (c >= need * p) ? "met" : "MISSED"
		c = cinfer[model ",1000,2"]; p = pinfer[model ",1000"]
		if (c != "" && p > 0)
			printf "infer  %-13s batch 1000: %7.0f img/s = %5.2fx PyTorch %6.0f (needs >= 3x): %s\n",
			    model, c, c / p, p, (c >= 3 * p) ? "met" : "MISSED"
		c1 = ctrain[model ",100,1"]; c2 = ctrain[model ",100,2"]
		if (c1 > 0 && c2 != "") {
			want = (model == "tutorial-cnn") ? 1.75 : (model == "mlp" || model == "rbf") ? 1.3 : 1.0
			printf "scale  %-13s train batch 100, 2 threads / 1: %.2fx (needs >= %.2fx): %s\n",
			    model, c2 / c1, want, (c2 >= want * c1) ? "met" : "MISSED"
		}
	}
	c = ctrain["tutorial-cnn,100,2"]; peak = rpeak["tutorial-cnn,2"]
	if (c != "" && ftrain["tutorial-cnn"] > 0 && peak > 0) {
		roofimg = peak * 1e9 / ftrain["tutorial-cnn"]
		want = (isa == "avx2") ? 60 : 65
		printf "roof   tutorial-cnn train batch 100: %.0f%% of its roofline %.0f img/s (needs >= %d%%): %s\n",
		    100 * c / roofimg, roofimg, want, (100 * c >= want * roofimg) ? "met" : "MISSED"
	}
	bn = ctrain["tutorial-cnn-bn,100,2"]; nb = ctrain["tutorial-cnn,100,2"]
	if (bn != "" && nb > 0)
		printf "bnorm  tutorial-cnn-bn / tutorial-cnn train batch 100: %.2f (needs >= 0.80): %s\n",
		    bn / nb, (bn >= 0.8 * nb) ? "met" : "MISSED"
	bn = ctrain["deep-cnn-bn,100,2"]; nb = ctrain["deep-cnn,100,2"]
	if (bn != "" && nb > 0)
		printf "bnorm  deep-cnn-bn / deep-cnn train batch 100: %.2f (batch norm after each conv)\n", bn / nb
}' isa="$isa" "$roof" "$peer" "$train"
