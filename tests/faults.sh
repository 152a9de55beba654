#!/bin/sh
# Faults injected into `colnet train` end to end, and what must survive them:
# - SIGINT in epoch 2 and SIGTERM in epoch 3 of one run: each exits 128 + the signal after
#   saving a mid-epoch checkpoint, and the twice-resumed run ends byte-identical (checkpoint,
#   and the CSV's figures) to the same run left alone;
# - a learning rate that overflows to Inf: stops naming epoch and batch, and the checkpoint
#   of an earlier run at --save stays byte-identical; --skip-nonfinite skips and says so;
# - a save that fails (file size limit: the write gets EFBIG, as on a full disk): a clear
#   error, the previous checkpoint byte-identical, no temporary file left.
# Prints cmocka-style lines for run-tests.sh.
SUITE=faults
. tests/harness.sh
# check NAME CONDITION DETAIL: CONDITION (shell code) holds, else report DETAIL
check() { if eval "$2"; then ok "$1"; else bad "$1 ($3)"; fi; }

if [ ! -f "$DATA/train-images-idx3-ubyte" ] && [ ! -f "$DATA/train-images-idx3-ubyte.gz" ]; then
	echo "[  SKIPPED ] faults: no MNIST in $DATA (run 'make data')"
	summary
fi
model="conv 8 k5 relu | maxpool 2 | linear 10"
run="--data $DATA --limit 3000 --test-limit 300 --threads 2"
# the signalled runs need epochs long enough (~0.5 s here) for a signal to land inside one:
# at 3000 images an epoch took 0.05 s, as long as one poll of wait_kind
sig="--data $DATA --limit 30000 --test-limit 300 --threads 2"

# The kind field of a checkpoint (byte 12): 1 after a whole epoch, 2 stopped inside one.
kind() { od -An -tu1 -j12 -N1 "$1" 2>/dev/null | tr -d ' '; }
# Wait (up to 5 minutes) until file $1 exists with kind $2, or process $3 has ended.
wait_kind() {
	i=0
	while [ "$(kind "$1")" != "$2" ] && kill -0 "$3" 2>/dev/null && [ $i -lt 6000 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# --- the reference: 3 epochs, never interrupted
"$COLNET" train --model "$model" $sig --batch 50 --epochs 3 --seed 7 --save "$tmp/a.ckpt" \
	--log "$tmp/a.csv" >"$tmp/a.out" 2>&1
rc=$?
check "uninterrupted run" '[ $rc -eq 0 ] && [ -f "$tmp/a.ckpt" ]' "$(tail -n 2 "$tmp/a.out")"

# --- the same run, SIGINT once epoch 1 is saved (so inside epoch 2)
"$COLNET" train --model "$model" $sig --batch 50 --epochs 3 --seed 7 --save "$tmp/b.ckpt" \
	--log "$tmp/b.csv" >"$tmp/b1.out" 2>"$tmp/b1.err" &
pid=$!
wait_kind "$tmp/b.ckpt" 1 $pid
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
check "SIGINT: exit status 130" '[ $rc -eq 130 ]' "exit $rc: $(cat "$tmp/b1.err")"
# (a signal landing in the instant between epoch 1's save and epoch 2 stops there instead)
check "SIGINT: message names where it stopped, checkpoint matches" \
	'{ grep -q "interrupted by SIGINT (stopped in epoch 2 after batch [0-9]* of 600); continue with --resume" "$tmp/b1.err" && [ "$(kind "$tmp/b.ckpt")" = 2 ]; } ||
	{ grep -q "interrupted by SIGINT (after epoch 1); continue with --resume" "$tmp/b1.err" && [ "$(kind "$tmp/b.ckpt")" = 1 ]; }' \
	"kind $(kind "$tmp/b.ckpt"): $(cat "$tmp/b1.err")"

# --- resume; SIGTERM once epoch 2 is saved (so inside epoch 3)
"$COLNET" train --resume "$tmp/b.ckpt" $sig --save "$tmp/b.ckpt" --log "$tmp/b.csv" \
	>"$tmp/b2.out" 2>"$tmp/b2.err" &
pid=$!
wait_kind "$tmp/b.ckpt" 1 $pid
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
check "SIGTERM: exit status 143" '[ $rc -eq 143 ]' "exit $rc: $(cat "$tmp/b2.err")"
check "SIGTERM: message names where it stopped" \
	'grep -q "interrupted by SIGTERM (stopped in epoch 3 after batch\|interrupted by SIGTERM (after epoch 2)" "$tmp/b2.err"' \
	"$(cat "$tmp/b2.err")"

# --- resume to the end: the same bytes as the run that was never stopped
"$COLNET" train --resume "$tmp/b.ckpt" $sig --save "$tmp/b.ckpt" --log "$tmp/b.csv" \
	>"$tmp/b3.out" 2>&1
rc=$?
check "resumed twice: run completes" '[ $rc -eq 0 ]' "$(tail -n 2 "$tmp/b3.out")"
check "resumed twice: checkpoint byte-identical to the uninterrupted run" \
	'cmp -s "$tmp/a.ckpt" "$tmp/b.ckpt"' "$(cmp "$tmp/a.ckpt" "$tmp/b.ckpt" 2>&1)"
check "resumed twice: the CSV's losses and accuracies identical" \
	'[ "$(cut -d, -f1-5 "$tmp/a.csv")" = "$(cut -d, -f1-5 "$tmp/b.csv")" ]' \
	"$(cut -d, -f1-5 "$tmp/a.csv" "$tmp/b.csv" | tr '\n' ' ')"
"$COLNET" eval --model "$tmp/b.ckpt" --data "$DATA" --limit 300 >"$tmp/eval.out" 2>&1
rc=$?
check "the resumed checkpoint evaluates" '[ $rc -eq 0 ]' "$(cat "$tmp/eval.out")"

# --- NaN/Inf: an update rule that overflows (weight decay 1000 at lr 1000 multiplies the
# weights by -1e6 a step) after a good checkpoint was saved at the same path
cp "$tmp/a.ckpt" "$tmp/good.ckpt"
cp "$tmp/a.ckpt" "$tmp/n.ckpt"
"$COLNET" train --model "$model" $run --batch 50 --epochs 1 --optim sgd --lr 1000 \
	--weight-decay 1000 --save "$tmp/n.ckpt" >"$tmp/n.out" 2>"$tmp/n.err"
rc=$?
check "NaN: exit 1 naming epoch and batch" \
	'[ $rc -eq 1 ] && grep -q "epoch 1, batch [0-9]*: loss or gradients are not finite" "$tmp/n.err"' \
	"exit $rc: $(cat "$tmp/n.err")"
check "NaN: the earlier checkpoint at --save is untouched" 'cmp -s "$tmp/good.ckpt" "$tmp/n.ckpt"' \
	"it changed"
"$COLNET" train --model "$model" $run --batch 50 --epochs 1 --optim sgd --lr 1000 \
	--weight-decay 1000 --skip-nonfinite >"$tmp/s.out" 2>"$tmp/s.err"
check "NaN with --skip-nonfinite: batches skipped and counted" \
	'grep -q "epoch 1: skipped [0-9]* batches whose loss or gradients were not finite" "$tmp/s.err"' \
	"$(cat "$tmp/s.err")"

# --- a save that fails part-way: the file size limit stops the write (EFBIG); the 140 KB
# checkpoint cannot fit in 64 blocks, the CSV and the output can
(
	trap '' XFSZ
	ulimit -f 64
	exec "$COLNET" train --resume "$tmp/n.ckpt" $run --epochs 4 --save "$tmp/n.ckpt" \
		>"$tmp/f.out" 2>"$tmp/f.err"
)
rc=$?
check "failed save: exit 1 with the reason" \
	'[ $rc -eq 1 ] && grep -q "save: .*n.ckpt: cannot write: File too large" "$tmp/f.err"' \
	"exit $rc: $(cat "$tmp/f.err")"
check "failed save: the previous checkpoint is byte-identical" 'cmp -s "$tmp/good.ckpt" "$tmp/n.ckpt"' \
	"it changed"
check "no temporary files left behind" '! ls "$tmp" | grep -q "\.tmp\."' "$(ls "$tmp")"

summary
