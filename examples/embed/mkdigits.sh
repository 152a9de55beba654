#!/bin/sh
# mkdigits.sh MNIST_DIR OUT_DIR N: the first N MNIST test images as binary PGM files named
# INDEX-labelLABEL.pgm, so a run can be checked against the true labels.
mnist=$1 out=$2 n=$3
mkdir -p "$out" || exit 1
i=0
for label in $(od -An -tu1 -v -j8 -N"$n" "$mnist/t10k-labels-idx1-ubyte"); do
	{
		printf 'P5\n28 28\n255\n'
		tail -c +$((16 + 784 * i + 1)) "$mnist/t10k-images-idx3-ubyte" | head -c 784
	} >"$out/$i-label$label.pgm" || exit 1
	i=$((i + 1))
done
[ "$i" -eq "$n" ]
