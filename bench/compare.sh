#!/bin/sh
# colnet against PyTorch, from the CSVs bench_train and bench/peers/pytorch.py wrote: every
# colnet figure next to PyTorch's better of its thread counts at the same batch (small models
# often train faster on one thread in PyTorch), then the end-to-end targets, judged
# with the roofline figures bench_train measured in the same run. Prints only; it never fails
# on a number (timing is not a test).
# usage: bench/compare.sh [RESULTS_DIR]   (default bench/results)
dir=${1:-bench/results}
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
	if ($4 != "" && $4 + 0 > ptrain[k] + 0) { ptrain[k] = $4; pttr[k] = $3 }
	if ($5 + 0 > pinfer[k] + 0) { pinfer[k] = $5; ptin[k] = $3 }
	next
}
{
	n++; m[n] = $1; b[n] = $2; t[n] = $3; ct[n] = $4; ci[n] = $5
	ctrain[$1 "," $2 "," $3] = $4; cinfer[$1 "," $2 "," $3] = $5
}
function ratio(c, p) { return (c == "" || p + 0 <= 0) ? "     -" : sprintf("%5.2fx", c / p) }
function num(x) { return x == "" ? "-" : sprintf("%.0f", x) }
END {
	print "== colnet vs PyTorch: images/s; PyTorch = its better of 1 and 2 threads (thread count in brackets) =="
	printf "%-13s %5s %3s | %11s %12s %6s | %11s %12s %6s\n", "model", "batch", "thr",
	    "colnet train", "PyTorch", "ratio", "colnet infer", "PyTorch", "ratio"
	for (i = 1; i <= n; i++) {
		k = m[i] "," b[i]
		printf "%-13s %5d %3d | %11s %8s (%s) %6s | %11s %8s (%s) %6s\n", m[i], b[i], t[i],
		    num(ct[i]), num(ptrain[k]), (pttr[k] == "") ? "-" : pttr[k], ratio(ct[i], ptrain[k]),
		    num(ci[i]), num(pinfer[k]), (ptin[k] == "") ? "-" : ptin[k], ratio(ci[i], pinfer[k])
	}
	print ""
	print "== end-to-end targets (2 threads; roofline = in-run sgemm peak / GEMM FLOPs per image) =="
	for (i = 1; i <= n; i++) {
		if (t[i] != 2 || seen[m[i]]++) continue
		model = m[i]; peak = rpeak[model ",2"]
		c = ctrain[model ",100,2"]; p = ptrain[model ",100"]
		if (c != "" && p > 0 && ftrain[model] > 0) {
			roofimg = peak * 1e9 / ftrain[model]
			alt = 2 * p > roofimg
			ok = alt ? (c >= 0.7 * roofimg) : (c >= 2 * p)
			printf "train  %-13s batch 100: %6.0f img/s = %5.2fx PyTorch %6.0f, %4.0f%% of roofline %6.0f: %s (%s)\n",
			    model, c, c / p, p, 100 * c / roofimg, roofimg, ok ? "met" : "MISSED",
			    alt ? "2x would pass the roofline: needs >= 70% of it" : "needs >= 2x"
			if (model == "tutorial-cnn")
				printf "train  tutorial-cnn own roofline: %.0f%% (needs >= 50%%): %s\n",
				    100 * c / roofimg, (c >= 0.5 * roofimg) ? "met" : "MISSED"
		}
		c = cinfer[model ",1000,2"]; p = pinfer[model ",1000"]
		if (c != "" && p > 0 && finfer[model] > 0) {
			roofimg = peak * 1e9 / finfer[model]
			alt = 3 * p > roofimg
			ok = alt ? (c >= 0.7 * roofimg) : (c >= 3 * p)
			printf "infer  %-13s batch 1000: %6.0f img/s = %5.2fx PyTorch %6.0f, %4.0f%% of roofline %6.0f: %s (%s)\n",
			    model, c, c / p, p, 100 * c / roofimg, roofimg, ok ? "met" : "MISSED",
			    alt ? "3x would pass the roofline: needs >= 70% of it" : "needs >= 3x"
		}
	}
	c1 = ctrain["tutorial-cnn,100,1"]; c2 = ctrain["tutorial-cnn,100,2"]
	if (c1 > 0 && c2 != "")
		printf "scale  tutorial-cnn train batch 100, 2 threads / 1 thread: %.2fx (needs >= 1.6x): %s\n",
		    c2 / c1, (c2 >= 1.6 * c1) ? "met" : "MISSED"
}' "$roof" "$peer" "$train"
