#!/bin/sh
# Includes point only down the layers of DESIGN.md. Each source file has a level; it may
# include project headers of its own level or lower. Front ends (cli, examples) may include
# only the public header.
level() {
	case "$1" in
	include/colnet.h | src/util.h | src/join.h | src/error.[ch] | src/rng.[ch] | src/bytes.[ch] | src/finite.[ch]) echo 0 ;;
	src/gemm.[ch] | src/gemm_small.c) echo 1 ;;
	src/arena.[ch]) echo 2 ;;
	src/tensor.h) echo 3 ;;
	src/geom.[ch]) echo 4 ;;
	src/im2col.[ch]) echo 5 ;;
	src/ops/*) echo 6 ;;
	src/ref/*) echo 7 ;;
	src/layer.[ch] | src/spec.[ch]) echo 8 ;;
	src/net.[ch] | src/net_step.c | src/net_inspect.c | src/net_predict.c | src/init.c | src/zoo.[ch]) echo 9 ;;
	src/optim.[ch] | src/sched.[ch]) echo 10 ;;
	src/idx.[ch] | src/dataset.[ch]) echo 11 ;;
	src/checkpoint.[ch] | src/checkpoint_names.c | src/checkpoint_pos.c | src/checkpoint_state.c) echo 12 ;;
	src/train.[ch] | src/train_io.c | src/eval.c) echo 13 ;;
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
			[ "$inc" = colnet.h ] || [ -f "$dir/$inc" -a "${f#src/cli/}" != "$f" ] || { echo "check-layers: $f includes \"$inc\"; front ends use only colnet.h"; status=1; }
			continue ;;
		esac
		if [ "$inc" = colnet.h ]; then target=include/colnet.h
		else target=$(realpath -m --relative-to=. "$dir/$inc"); fi
		lf=$(level "$f"); lt=$(level "$target")
		if [ -z "$lf" ] || [ -z "$lt" ]; then
			echo "check-layers: no level for $f or $target (add it to scripts/check-layers.sh)"; status=1
		elif [ "$lt" -gt "$lf" ]; then
			echo "check-layers: $f (level $lf) includes $target (level $lt): includes must point down"; status=1
		fi
	done
done
[ $status -eq 0 ] && echo "check-layers: ok"
exit $status
