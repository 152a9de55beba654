#!/bin/sh
# make bench-mpi (README "Scaling out"): on this machine, one allreduce of tutorial-cnn's (and
# deep-cnn's) gradient block over 2 ranks, then tutorial-cnn training at batch 100 with
# 2 ranks x 1 thread against 1 process x 2 threads, run alternately ROUNDS times (default 2)
# so the ratios come from neighbouring runs on a shared machine. Images/s are colnet train's
# own figures (training part of the epoch, LIMIT images, default 10000).
COLNET=${COLNET:-build-mpi/colnet}
ALLREDUCE=${ALLREDUCE:-build-mpi/bench/mpi_allreduce}
MPIRUN=${MPIRUN:-mpirun}
DATA=${DATA:-data/mnist}
LIMIT=${LIMIT:-10000}
ROUNDS=${ROUNDS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
$MPIRUN --oversubscribe -np 2 "$ALLREDUCE" tutorial-cnn || exit 1
$MPIRUN --oversubscribe -np 2 "$ALLREDUCE" deep-cnn || exit 1
run="train --model tutorial-cnn --batch 100 --epochs 1 --limit $LIMIT --test-limit 100 --data $DATA"
rate() { awk '$1 == "1" && NF >= 7 { print $7 }'; }
i=0
while [ $i -lt "$ROUNDS" ]; do
	a=$(OMP_NUM_THREADS=1 $MPIRUN --oversubscribe -np 2 -x OMP_NUM_THREADS "$COLNET" $run \
		--threads 1 | rate)
	b=$("$COLNET" $run --threads 2 | rate)
	echo "tutorial-cnn batch 100, $LIMIT images: 2 ranks x 1 thread $a images/s, 1 process x" \
		"2 threads $b images/s, ratio $(echo "$a $b" | awk '{ printf "%.2f", $1 / $2 }')"
	i=$((i + 1))
done
