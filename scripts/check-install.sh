#!/bin/sh
# Prove a staged install works for packagers and embedders:
#   scripts/check-install.sh STAGE PREFIX     (after `make install DESTDIR=STAGE PREFIX=PREFIX`)
# It holds the tool, both libraries, the header, colnet.pc and the man page; the .so has its
# soname and exports only colnet.h's functions; a C program links dynamically through
# pkg-config and runs on the staged .so, another statically through `pkg-config --static`;
# a program using the ONNX archive links through plain `pkg-config --libs colnet-onnx`, with
# libcolnet.a (the archive calls internals the .so hides) and no .so, and runs;
# `make uninstall` then leaves no file behind.
set -eu
stage=$1 prefix=$2
root=$stage$prefix
fail() { echo "check-install: $*" >&2; exit 1; }
version=$(sed -n 's/^VERSION = //p' Makefile)
sover=$(sed -n 's/^SOVERSION = //p' Makefile)
for f in bin/colnet lib/libcolnet.a "lib/libcolnet.so.$version" "lib/libcolnet.so.$sover" \
	lib/libcolnet.so include/colnet.h lib/pkgconfig/colnet.pc share/man/man1/colnet.1 \
	lib/libcolnet-onnx.a include/colnet_onnx.h lib/pkgconfig/colnet-onnx.pc; do
	[ -e "$root/$f" ] || fail "missing $prefix/$f"
done
echo "staged: tool, libcolnet.a, libcolnet.so.$version (+ .so.$sover, .so links), colnet.h, colnet.pc, colnet.1,"
echo "  libcolnet-onnx.a, colnet_onnx.h, colnet-onnx.pc"
soname=$(readelf -d "$root/lib/libcolnet.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libcolnet.so.$sover" ] || fail "soname is '$soname'"
other=$(nm -D --defined-only "$root/lib/libcolnet.so.$version" | awk 'NF == 3 && $3 !~ /^cn_/')
[ -z "$other" ] || fail "the .so exports names outside cn_: $other"
echo "soname $soname; nm -D: $(nm -D --defined-only "$root/lib/libcolnet.so.$version" | awk 'NF == 3' | wc -l) symbols, all cn_"
man -l "$root/share/man/man1/colnet.1" 2>/dev/null | grep -q -- "--version" || fail "man page does not render"
"$root/bin/colnet" --version | grep -qx "colnet $version" || fail "the staged tool's --version"

export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_PATH="$root/lib/pkgconfig"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# dynamic: the plain --libs, the program needs libcolnet.so.0 and runs on the staged one
cc -std=c11 -Wall -Wextra -Werror examples/xor.c $(pkg-config --cflags --libs colnet) -o "$tmp/xor-dyn"
readelf -d "$tmp/xor-dyn" | grep -q "NEEDED.*\[libcolnet.so.$sover\]" || fail "xor-dyn does not need the .so"
LD_LIBRARY_PATH="$root/lib" ldd "$tmp/xor-dyn" | grep -q "libcolnet.so.$sover => $root/lib/" ||
	fail "xor-dyn does not resolve to the staged .so"
LD_LIBRARY_PATH="$root/lib" "$tmp/xor-dyn" >"$tmp/dyn.out" || fail "xor-dyn failed: $(cat "$tmp/dyn.out")"
echo "dynamic: examples/xor.c via pkg-config --libs colnet, NEEDED libcolnet.so.$sover, runs: $(tail -n 1 "$tmp/dyn.out")"
# static: --static's dependencies, with the archive named so the .so beside it is not taken
libs=$(pkg-config --static --libs colnet | sed 's/-lcolnet\( \|$\)/-l:libcolnet.a\1/')
cc -std=c11 -Wall -Wextra -Werror examples/xor.c $(pkg-config --cflags colnet) $libs -o "$tmp/xor-static"
! readelf -d "$tmp/xor-static" | grep -q "libcolnet" || fail "xor-static needs a libcolnet .so"
"$tmp/xor-static" >/dev/null || fail "xor-static failed"
echo "static: examples/xor.c via pkg-config --static --libs colnet, no libcolnet.so needed, runs"
# ONNX: the .pc alone gives the link line; the program must not need the .so (whose hidden
# internals the archive calls), and an exported model must load through it (no MNIST needed:
# the model loads, then the missing data folder is what it reports)
cc -std=c11 -Wall -Wextra -Werror tests/onnx_outputs.c $(pkg-config --cflags --libs colnet-onnx) \
	-o "$tmp/onnx_outputs" || fail "a program cannot link with pkg-config --libs colnet-onnx"
! readelf -d "$tmp/onnx_outputs" | grep -q "libcolnet" || fail "onnx_outputs needs a libcolnet .so"
"$root/bin/colnet" export --model lenet5 -o "$tmp/lenet5.onnx" >/dev/null || fail "colnet export"
"$tmp/onnx_outputs" "$tmp/lenet5.onnx" "$root/no-mnist" 1 "$tmp/out" 2>"$tmp/onnx.err" &&
	fail "onnx_outputs read MNIST from a folder that does not exist"
grep -q "no-mnist" "$tmp/onnx.err" || fail "onnx_outputs did not load the model: $(cat "$tmp/onnx.err")"
echo "onnx: tests/onnx_outputs.c via pkg-config --libs colnet-onnx, libcolnet.a, no .so needed, loads an export"

make --no-print-directory uninstall DESTDIR="$stage" PREFIX="$prefix" >/dev/null
left=$(find "$stage" ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "make uninstall: nothing left in $stage"
