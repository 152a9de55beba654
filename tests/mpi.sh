#!/bin/sh
# colnet over MPI (make test-mpi: the MPI=1 build, OpenMPI's mpirun), end to end:
# - equivalence: -np 2 and -np 3 (1 thread each) against one process, same seed and global
#   batch, plain SGD (rate 0.001: mpi_equiv.c says why), 50 steps: every rank's weights
#   bit-identical and the largest relative weight difference <= 1e-4 (mpi_equiv in-process,
#   then the colnet tool's checkpoints);
# - checkpoints do not depend on the process count: a run stopped by SIGTERM to its ranks at
#   -np 2 resumes at -np 1, a -np 1 checkpoint resumes at -np 2, both ending where an
#   uninterrupted run ends;
# - a rank killed with SIGKILL ends the job with the launcher's message, and the last
#   checkpoint is intact and resumes.
# Runs as root too (OMPI_ALLOW_RUN_AS_ROOT). Prints cmocka-style lines for run-tests.sh.
SUITE=mpi
COLNET=${COLNET:-build-mpi/colnet}
. tests/harness.sh
EQUIV=${EQUIV:-build-mpi/tests/mpi/mpi_equiv}
MPIRUN=${MPIRUN:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
# check NAME CONDITION DETAIL: CONDITION (shell code) holds, else report DETAIL
check() { if eval "$2"; then ok "$1"; else bad "$1 ($3)"; fi; }
mpi() {
	np=$1
	shift
	$MPIRUN --oversubscribe -np "$np" -x OMP_NUM_THREADS "$@"
}
# the same in the background, $! being mpirun itself (its children are the ranks)
mpi_bg() {
	np=$1
	shift
	$MPIRUN --oversubscribe -np "$np" -x OMP_NUM_THREADS "$@" &
}

if [ ! -f "$DATA/train-images-idx3-ubyte" ] && [ ! -f "$DATA/train-images-idx3-ubyte.gz" ]; then
	echo "[  SKIPPED ] mpi: no MNIST in $DATA (run 'make data')"
	summary
fi

# 1. in-process: tutorial-cnn, 50 steps of batch 100 (slices 50/50, then 33/33/34)
for np in 2 3; do
	mpi $np "$EQUIV" train "$DATA" 50 100 0.001 >"$tmp/eq" 2>&1
	rc=$?
	echo "# $(grep ranks "$tmp/eq")"
	check "mpi_equiv -np $np: ranks identical, within 1e-4 of one process" "[ $rc -eq 0 ]" \
		"exit $rc: $(tail -c 400 "$tmp/eq")"
done

# 2. the tool: -np 2 against -np 1, rank 0 alone writes the log
sgd="--model tutorial-cnn --optim sgd --lr 0.001 --schedule const --batch 100 --threads 1 --data $DATA"
mpi 2 "$COLNET" train $sgd --limit 5000 --test-limit 500 --epochs 1 --save "$tmp/np2.ckpt" \
	--log "$tmp/np2.csv" >"$tmp/out2" 2>"$tmp/err2"
rc=$?
check "colnet -np 2 trains" "[ $rc -eq 0 ] && grep -q 'bit-identical on all 2 processes' '$tmp/out2'" \
	"exit $rc: $(tail -c 400 "$tmp/err2")"
check "rank 0 alone prints and logs" \
	"[ \$(grep -c '^model' '$tmp/out2') -eq 1 ] && [ \$(wc -l <'$tmp/np2.csv') -eq 2 ]" \
	"$(cat "$tmp/out2" "$tmp/np2.csv")"
mpi 1 "$COLNET" train $sgd --limit 5000 --test-limit 500 --epochs 1 --save "$tmp/np1.ckpt" \
	>/dev/null 2>"$tmp/err1"
"$EQUIV" compare "$tmp/np2.ckpt" "$tmp/np1.ckpt" >"$tmp/cmp" 2>&1
rc=$?
echo "# $(cat "$tmp/cmp")"
check "colnet -np 2 within 1e-4 of -np 1" "[ $rc -eq 0 ]" "$(cat "$tmp/cmp" "$tmp/err1")"

# 3. checkpoints across process counts (3 epochs of 4000 images, long enough for a signal to
#    land inside one; reference: one process)
kind() { od -An -tu1 -j12 -N1 "$1" 2>/dev/null | tr -d ' '; }
run="$sgd --limit 4000 --test-limit 200"
mpi 1 "$COLNET" train $run --epochs 3 --save "$tmp/ref.ckpt" >/dev/null 2>&1
mpi_bg 2 "$COLNET" train $run --epochs 3 --save "$tmp/s.ckpt" >"$tmp/out" 2>"$tmp/err"
mp=$!
i=0
while [ "$(kind "$tmp/s.ckpt")" != 1 ] && kill -0 $mp 2>/dev/null && [ $i -lt 3000 ]; do
	sleep 0.05
	i=$((i + 1))
done
# SIGTERM to every rank, as mpirun forwards a Ctrl-C or kill to them; signalling mpirun itself
# lets it tear the job down and drop the ranks' last output in a race with their clean stop
kill -TERM $(pgrep -P $mp) 2>/dev/null
wait $mp
check "SIGTERM to the ranks: rank 0 saves, all stop" \
	"grep -q 'interrupted by SIGTERM.*continue with --resume' '$tmp/err'" "$(tail -c 400 "$tmp/err")"
echo "# stopped: $(grep -o 'interrupted by SIGTERM ([^)]*)' "$tmp/err"), checkpoint kind $(kind "$tmp/s.ckpt")"
mpi 1 "$COLNET" train --resume "$tmp/s.ckpt" --data "$DATA" --limit 4000 --test-limit 200 \
	--threads 1 --epochs 3 --save "$tmp/s.ckpt" >/dev/null 2>"$tmp/err"
"$EQUIV" compare "$tmp/s.ckpt" "$tmp/ref.ckpt" >"$tmp/cmp" 2>&1
rc=$?
check "stopped at -np 2, resumed at -np 1: as the uninterrupted run" "[ $rc -eq 0 ]" \
	"$(cat "$tmp/cmp" "$tmp/err")"
mpi 1 "$COLNET" train $run --epochs 1 --save "$tmp/u.ckpt" >/dev/null 2>&1
mpi 2 "$COLNET" train --resume "$tmp/u.ckpt" --data "$DATA" --limit 4000 --test-limit 200 \
	--threads 1 --epochs 3 --save "$tmp/u.ckpt" >/dev/null 2>"$tmp/err"
"$EQUIV" compare "$tmp/u.ckpt" "$tmp/ref.ckpt" >"$tmp/cmp" 2>&1
rc=$?
check "saved at -np 1, resumed at -np 2: as the uninterrupted run" "[ $rc -eq 0 ]" \
	"$(cat "$tmp/cmp" "$tmp/err")"

# 4. a rank killed (SIGKILL) after the first checkpoint
mpi_bg 2 "$COLNET" train $run --epochs 4 --save "$tmp/k.ckpt" >"$tmp/out" 2>"$tmp/err"
mp=$!
i=0
while [ "$(kind "$tmp/k.ckpt")" != 1 ] && kill -0 $mp 2>/dev/null && [ $i -lt 3000 ]; do
	sleep 0.05
	i=$((i + 1))
done
victim=$(pgrep -P $mp | tail -n 1)
[ -n "$victim" ] && kill -KILL "$victim"
wait $mp
rc=$?
echo "# launcher: $(grep -i 'signal 9' "$tmp/err" | head -n 1)"
check "a killed rank ends the job with the launcher's message" \
	"[ $rc -ne 0 ] && grep -qi 'exited on signal 9' '$tmp/err'" "exit $rc: $(tail -c 400 "$tmp/err")"
"$COLNET" eval --model "$tmp/k.ckpt" --data "$DATA" --limit 200 --threads 1 >"$tmp/out" 2>&1
check "its last checkpoint is intact" "[ $? -eq 0 ]" "$(tail -c 300 "$tmp/out")"
mpi 2 "$COLNET" train --resume "$tmp/k.ckpt" --data "$DATA" --limit 4000 --test-limit 200 \
	--threads 1 --epochs 2 >"$tmp/out" 2>&1
check "and resumes" "[ $? -eq 0 ] && grep -q 'bit-identical' '$tmp/out'" "$(tail -c 300 "$tmp/out")"
summary
