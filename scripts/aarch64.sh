#!/bin/sh
# colnet on aarch64, from an x86-64 Debian machine (root): cross-compile the library, the tool
# and the unit tests with Debian's gcc-aarch64-linux-gnu against arm64 OpenBLAS (OpenMP
# build), cmocka, zlib, libpng and stb from multiarch, then run every unit test program under
# qemu-user. The end-to-end scripts (tests/*.sh train MNIST for minutes natively) are not run
# there: under instruction-by-instruction emulation they would take hours.
set -eu
packages="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libopenblas-openmp-dev:arm64
	libcmocka-dev:arm64 zlib1g-dev:arm64 libpng-dev:arm64 libstb-dev:arm64 libprotobuf-c-dev:arm64"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	apt-get update -q >/dev/null
fi
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $packages >/dev/null
build=build-aarch64
make -j2 --no-print-directory CC=aarch64-linux-gnu-gcc LD=aarch64-linux-gnu-ld \
	OBJCOPY=aarch64-linux-gnu-objcopy BUILD=$build unit-tests "$build/colnet"
file "$build/colnet" | grep -q "ARM aarch64" || { echo "aarch64: $build/colnet is not an aarch64 binary"; exit 1; }
qemu-aarch64 "$build/colnet" --version
# the loader and libraries come from multiarch (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu)
tests=""
for t in "$build"/tests/test_*; do
	case $t in *.o | *.d) ;; *) tests="$tests $t" ;; esac
done
# shellcheck disable=SC2086
RUN_WITH=qemu-aarch64 scripts/run-tests.sh $tests
