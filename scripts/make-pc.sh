#!/bin/sh
# Write colnet.pc for pkg-config. A static archive needs its dependencies on the link line,
# hence Libs.private: use `pkg-config --static --libs colnet`. With a sixth argument "onnx",
# colnet-onnx.pc instead: the ONNX archive, which needs colnet and protobuf-c ($5 then).
prefix=$1 incdir=$2 libdir=$3 version=$4 private=$5
if [ "${6:-}" = onnx ]; then
	cat <<PC
prefix=$prefix
includedir=$incdir
libdir=$libdir

Name: colnet-onnx
Description: ONNX import and export for colnet
Version: $version
Requires: colnet
Cflags: -I\${includedir}
Libs: -L\${libdir} -lcolnet-onnx
Libs.private: $private
PC
	exit 0
fi
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
