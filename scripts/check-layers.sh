#!/bin/sh
# Includes and calls point only down the layers of DESIGN.md. Each source file has a level; it
# may include project headers of its own level or lower. Front ends (cli, examples) may include
# only the public headers (colnet.h, and colnet_onnx.h of the ONNX archive).
# Given the library's object files (make check-layers passes them), calls are checked too, so a
# call through colnet.h cannot hide one that goes up: each object's undefined cn_ symbols
# (nm -u) are looked up in the object that defines them, and that object's level must not be
# above the caller's. An object's source is the path after its last "/src/" (build/src/ops/
# conv2d.o is src/ops/conv2d.c).
level() {
	case "$1" in
	include/colnet.h | src/util.h | src/join.h | src/error.[ch] | src/isa.c | src/rng.[ch] | src/bytes.[ch] | src/finite.[ch]) echo 0 ;;
	src/gemm.[ch] | src/gemm_small.c | src/gemm_small_tiles.h) echo 1 ;;
	src/arena.[ch]) echo 2 ;;
	src/tensor.h) echo 3 ;;
	src/geom.[ch]) echo 4 ;;
	src/im2col.[ch]) echo 5 ;;
	src/ops/*) echo 6 ;;
	src/ref/*) echo 7 ;;
	src/layer.[ch] | src/layer_*.c | src/spec.[ch]) echo 8 ;;
	# the network, and training's options and positions as plain data beside it
	src/net.[ch] | src/net_plan.c | src/net_step.c | src/net_inspect.c | src/net_predict.c | src/init.c | src/zoo.[ch] | src/train_opts.[ch]) echo 9 ;;
	# data and files
	src/idx.[ch] | src/dataset.[ch] | src/augment.[ch] | src/checkpoint.[ch] | src/checkpoint_*.[ch]) echo 10 ;;
	# training
	src/optim.[ch] | src/sched.[ch] | src/train.[ch] | src/train_io.c | src/train_recipe.c | src/eval.c) echo 11 ;;
	# ONNX reads untrusted bytes and builds networks: data and files, in its own archive
	include/colnet_onnx.h | src/onnx/*) echo 10 ;;
	*) echo "" ;;
	esac
}
status=0
for f in $(git ls-files 'src/*.c' 'src/*.h' 'src/**/*.c' 'src/**/*.h' 'examples/*.c' 2>/dev/null | sort -u); do
	[ -f "$f" ] || continue # deleted in the work tree, not yet committed
	dir=$(dirname "$f")
	for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$f"); do
		case "$f" in
		src/cli/* | examples/*)
			[ "$inc" = colnet.h ] || [ "$inc" = colnet_onnx.h ] || [ -f "$dir/$inc" -a "${f#src/cli/}" != "$f" ] || { echo "check-layers: $f includes \"$inc\"; front ends use only colnet.h"; status=1; }
			continue ;;
		esac
		if [ "$inc" = colnet.h ] || [ "$inc" = colnet_onnx.h ]; then target=include/$inc
		else target=$(realpath -m --relative-to=. "$dir/$inc"); fi
		lf=$(level "$f"); lt=$(level "$target")
		if [ -z "$lf" ] || [ -z "$lt" ]; then
			echo "check-layers: no level for $f or $target (add it to scripts/check-layers.sh)"; status=1
		elif [ "$lt" -gt "$lf" ]; then
			echo "check-layers: $f (level $lf) includes $target (level $lt): includes must point down"; status=1
		fi
	done
done

# calls: "object level" lines, then every object's defined and undefined cn_ symbols
if [ $# -gt 0 ]; then
	levels=$(for o in "$@"; do
		src="src/${o##*/src/}"
		echo "$o ${src%.o}.c $(level "${src%.o}.c")"
	done)
	bad=$({
		echo "$levels" | sed 's/^/L /'
		nm -A -P -g --defined-only "$@" | awk '$2 ~ /^cn_/ { sub(/:$/, "", $1); print "D", $1, $2 }'
		nm -A -P -u "$@" | awk '$2 ~ /^cn_/ { sub(/:$/, "", $1); print "U", $1, $2 }'
	} | awk '
		$1 == "L" { src[$2] = $3; lv[$2] = $4; next }
		$1 == "D" { def[$3] = $2; next }
		$1 == "U" {
			o = $2; s = $3
			if (lv[o] == "") { printf "check-layers: no level for %s (add it to scripts/check-layers.sh)\n", src[o]; next }
			if (!(s in def)) { printf "check-layers: %s calls %s, which no library object defines\n", src[o], s; next }
			d = def[s]
			if (lv[d] + 0 > lv[o] + 0)
				printf "check-layers: %s (level %s) calls %s in %s (level %s): calls must point down\n", src[o], lv[o], s, src[d], lv[d]
		}')
	if [ -n "$bad" ]; then
		echo "$bad"
		status=1
	fi
fi
[ $status -eq 0 ] && echo "check-layers: ok"
exit $status
