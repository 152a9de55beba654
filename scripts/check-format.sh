#!/bin/sh
# The code obeys the checked-in .clang-format (clang-format 14). Skipped, with a note, when
# clang-format is not installed.
if ! command -v clang-format >/dev/null 2>&1; then
	echo "check-format: clang-format not installed, skipped (apt-get install clang-format)"
	exit 0
fi
# files deleted in the work tree but not yet in a commit are not there to check
files=$(git ls-files '*.c' '*.h' 2>/dev/null | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ -z "$files" ] && exit 0
if ! clang-format --dry-run --Werror $files 2>/tmp/cn-format.$$; then
	grep -m 20 'error:' /tmp/cn-format.$$
	rm -f /tmp/cn-format.$$
	echo "check-format: run 'make format'"
	exit 1
fi
rm -f /tmp/cn-format.$$
echo "check-format: ok"
