#!/bin/sh
# A static library is linked into other people's programs: every symbol it defines for the
# outside must start with cn_.
lib=$1
bad=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -v '^cn_' | grep -v '^__odr_asan\.cn_' | sort -u)
if [ -n "$bad" ]; then
	echo "check-symbols: $lib exports names without the cn_ prefix:"
	echo "$bad"
	exit 1
fi
echo "check-symbols: ok ($(nm -g --defined-only "$lib" | awk 'NF == 3' | wc -l) cn_ symbols)"
