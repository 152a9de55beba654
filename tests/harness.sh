# Shared by the end-to-end test scripts (sourced after setting SUITE): a scratch folder
# removed on exit, cmocka-style result lines that scripts/run-tests.sh counts, and
# expect_fail for bad-argument cases.
COLNET=${COLNET:-build/colnet}
DATA=${DATA:-data/mnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "[       OK ] $SUITE: $1"; }
bad() { failed=$((failed + 1)); echo "[  FAILED  ] $SUITE: $1"; }

# expect_fail NAME EXIT_CODE NEEDLE ARGS...: the command exits with that code and says NEEDLE
# in at most three lines of stderr
expect_fail() {
	name=$1 code=$2 needle=$3
	shift 3
	"$COLNET" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$code" ] && grep -q -- "$needle" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -le 3 ]; then
		ok "$name"
	else
		bad "$name (exit $rc, wanted $code and '$needle'; stderr: $(head -c 300 "$tmp/err"))"
	fi
}

# summary: the closing lines, and the exit status
summary() {
	echo "[==========] $SUITE: $((passed + failed)) test(s) run."
	echo "[  PASSED  ] $passed test(s)."
	[ "$failed" -eq 0 ] || { echo "[  FAILED  ] $failed test(s)."; exit 1; }
	exit 0
}
