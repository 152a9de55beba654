#!/bin/sh
# The average-pooling CNN report's parameter studies, rerun with the colnet tool: each study
# prints one table (test accuracy after every epoch, the last test loss, seconds) and leaves
# one CSV per setting (colnet train --log) in OUTDIR, named STUDY-SETTING.csv.
#
#   examples/studies.sh OUTDIR [COLNET] [DATA]      (defaults build/colnet, data/mnist)
#
#   lr        learning rate 0.005 / 0.01 / 0.05 / 0.1 / the loss-driven schedule, 5 epochs
#   wd        weight decay 0.00005 / 0.0005 / 0.05, 3 epochs
#   momentum  0.80 / 0.85 / 0.90, 3 epochs
#   init      Gaussian initial std 0.01 / 0.1 / 1, 3 epochs
#   models    avgpool-cnn against mlp, 5 epochs each, each with its zoo recipe
#
# Every run is avgpool-cnn with its zoo recipe (SGD, momentum 0.9, lr 0.015, weight decay
# 0.0005, Gaussian init 0.1, batch 100) changed in the one setting studied.
# Environment: STUDIES (default "lr wd momentum init models") picks studies; STUDY_FLAGS adds
# colnet train flags to every run (say "--threads 1", or "--limit 2000" for a quick look);
# SEEDS="1 2 3" runs every setting once per seed: its row is then the mean over the seeds
# (test accuracy per epoch, last test loss, seconds summed), followed by each seed's last
# accuracy, and its CSVs are STUDY-SETTING-sSEED.csv.
# Exits non-zero, naming the run and its log, as soon as one fails.
set -u
if [ $# -lt 1 ] || [ $# -gt 3 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
	echo "usage: examples/studies.sh OUTDIR [COLNET] [DATA]" >&2
	exit 2
fi
out=$1 colnet=${2:-build/colnet} data=${3:-data/mnist}
studies=${STUDIES:-lr wd momentum init models}
flags=${STUDY_FLAGS:-}
seeds=${SEEDS:-}

die() {
	echo "studies: $*" >&2
	exit 1
}
[ -x "$colnet" ] || die "$colnet is not an executable (build it with make, or name it)"
[ -d "$data" ] || die "no data folder $data (make data fetches MNIST)"
mkdir -p "$out" || die "cannot create $out"
[ -w "$out" ] || die "cannot write to $out"

# train NAME EPOCHS ARGS...: one training; its log goes to OUT/NAME.csv
train() {
	name=$1 epochs=$2
	shift 2
	# shellcheck disable=SC2086 # STUDY_FLAGS is a list of flags
	"$colnet" train --data "$data" --epochs "$epochs" "$@" $flags --log "$out/$name.csv" \
		>"$out/$name.out" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || die "$name failed (exit $rc): $(tail -n 3 "$out/$name.out")"
}

# run STUDY SETTING EPOCHS ARGS...: the setting's training (one per seed of SEEDS) and its row:
# the setting, test accuracy per epoch, last test loss (means over the seeds), seconds in all,
# and with SEEDS each seed's last accuracy
run() {
	study=$1 setting=$2 epochs=$3
	shift 3
	if [ -z "$seeds" ]; then
		train "$study-$setting" "$epochs" "$@"
		csvs="$out/$study-$setting.csv"
	else
		csvs=
		for seed in $seeds; do
			train "$study-$setting-s$seed" "$epochs" "$@" --seed "$seed"
			csvs="$csvs $out/$study-$setting-s$seed.csv"
		done
	fi
	# shellcheck disable=SC2086 # one CSV per seed
	awk -F, -v s="$setting" -v e="$epochs" -v many="${seeds:+1}" '
		FNR == 1 { files++; next }
		{ acc[FNR] += $5; sec += $6; if (FNR == e + 1) { loss += $4; last = last sprintf(" %.2f", 100 * $5) } }
		END {
			row = sprintf("%-14s", s)
			for (i = 2; i <= e + 1; i++) row = row sprintf(" %7.2f%%", 100 * acc[i] / files)
			row = row sprintf(" %10.4f %8.1f", loss / files, sec)
			if (many) row = row "  seeds:" last
			print row
		}' $csvs >>"$out/$study.table"
}

# header STUDY TITLE EPOCHS: start a study's table
header() {
	: >"$out/$1.table"
	printf '\n%s\n' "$2"
	hdr=$(printf '%-14s' setting)
	i=1
	while [ "$i" -le "$3" ]; do
		hdr="$hdr$(printf ' %8s' "ep$i")"
		i=$((i + 1))
	done
	printf '%s %10s %8s%s\n' "$hdr" "test loss" "seconds" "${seeds:+  (mean of seeds $seeds)}"
}

show() { cat "$out/$1.table"; }

for s in $studies; do
	case $s in
	lr)
		header lr "learning rate (avgpool-cnn, 5 epochs; test accuracy per epoch)" 5
		for lr in 0.005 0.01 0.05 0.1; do
			run lr "$lr" 5 --model avgpool-cnn --lr "$lr"
		done
		run lr loss-driven 5 --model avgpool-cnn --schedule loss
		show lr
		;;
	wd)
		header wd "weight decay (avgpool-cnn, 3 epochs)" 3
		for wd in 0.00005 0.0005 0.05; do
			run wd "$wd" 3 --model avgpool-cnn --weight-decay "$wd"
		done
		show wd
		;;
	momentum)
		header momentum "momentum (avgpool-cnn, 3 epochs)" 3
		for m in 0.80 0.85 0.90; do
			run momentum "$m" 3 --model avgpool-cnn --momentum "$m"
		done
		show momentum
		;;
	init)
		header init "initial Gaussian std (avgpool-cnn, 3 epochs)" 3
		for std in 0.01 0.1 1; do
			run init "$std" 3 --model avgpool-cnn --init "gaussian:$std"
		done
		show init
		;;
	models)
		header models "CNN against MLP (5 epochs, each with its zoo recipe)" 5
		run models avgpool-cnn 5 --model avgpool-cnn
		run models mlp 5 --model mlp
		show models
		;;
	*) die "unknown study '$s' (lr, wd, momentum, init, models)" ;;
	esac
done
printf '\nCSV logs (one per setting) and each run'"'"'s output are in %s\n' "$out"
