#!/bin/sh
# Write colnet.pc for pkg-config. A static archive needs its dependencies on the link line,
# hence Libs.private: use `pkg-config --static --libs colnet`. With a sixth argument "onnx",
# colnet-onnx.pc instead ($5 then: colnet's and protobuf-c's libraries). The ONNX archive
# calls colnet's internals, which libcolnet.so hides, so it links with the static
# libcolnet.a, named as such (-lcolnet would pick the .so beside it), and everything both
# archives need is in Libs: plain `pkg-config --libs colnet-onnx` links.
prefix=$1 incdir=$2 libdir=$3 version=$4 private=$5
if [ "${6:-}" = onnx ]; then
	cat <<PC
prefix=$prefix
includedir=$incdir
libdir=$libdir

Name: colnet-onnx
Description: ONNX import and export for colnet (static: links libcolnet.a)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lcolnet-onnx -l:libcolnet.a $private
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
