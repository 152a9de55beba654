#!/bin/sh
# A library is linked into other people's programs. The static archive: every symbol it
# defines for the outside starts with cn_. The shared library: it exports exactly the
# functions include/colnet.h declares, nothing else (hidden visibility by default).
# usage: check-symbols.sh libcolnet.a [libcolnet.so colnet.h]
lib=$1 so=${2:-} header=${3:-}
bad=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -v '^cn_' | grep -v '^__odr_asan\.cn_' | sort -u)
if [ -n "$bad" ]; then
	echo "check-symbols: $lib exports names without the cn_ prefix:"
	echo "$bad"
	exit 1
fi
echo "check-symbols: ok ($(nm -g --defined-only "$lib" | awk 'NF == 3' | wc -l) cn_ symbols)"
[ -n "$so" ] || exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$so" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/exported"
grep -v "^[[:space:]]*/\?\*" "$header" | sed -n 's/.*[ *]\(cn_[a-z0-9_]*\)(.*/\1/p' | sort -u >"$tmp/declared"
if ! cmp -s "$tmp/exported" "$tmp/declared"; then
	echo "check-symbols: $so exports (>) other than colnet.h declares (<):"
	diff "$tmp/declared" "$tmp/exported" | grep '^[<>]'
	exit 1
fi
echo "check-symbols: ok ($so exports the $(wc -l <"$tmp/declared") functions of $header, nothing else)"
