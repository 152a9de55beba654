#!/bin/sh
# Write colnet.pc for pkg-config. A static archive needs its dependencies on the link line,
# hence Libs.private: use `pkg-config --static --libs colnet`.
prefix=$1 incdir=$2 libdir=$3 version=$4 private=$5
cat <<PC
prefix=$prefix
includedir=$incdir
libdir=$libdir

Name: colnet
Description: convolutional networks on the CPU, lowered to GEMM
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lcolnet
Libs.private: $private
PC
