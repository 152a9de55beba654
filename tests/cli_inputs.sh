#!/bin/sh
# The colnet tool's inputs and outputs for real work: predict over many files and folders,
# going on past bad ones, as text, CSV or JSON; JPEG inputs; `--` and `-o` parsing; one
# HxWxC shape order; files written 0666 minus the umask; the class count taken from the
# labels (EMNIST-like IDX files). Prints cmocka-style summary lines for run-tests.sh.
SUITE=inputs
. tests/harness.sh
PNGTOOL=${PNGTOOL:-build/tests/pngtool}
colnet_abs=$(cd "$(dirname "$COLNET")" && pwd)/$(basename "$COLNET")

# ---- options and shapes: no data needed ----
"$COLNET" --help | grep -q -- "--version" && [ "$("$COLNET" --version)" = "$("$COLNET" version)" ] &&
	ok "--version is documented and works" || bad "--version: $("$COLNET" --help)"
"$COLNET" info --model "conv 4 k3 | linear 10" --shape 32x32x3 >"$tmp/info" 2>&1 &&
	grep -q "^input: *32x32x3 (HxWxC)" "$tmp/info" && grep -q "30x30x4 (HxWxC)" "$tmp/info" &&
	ok "info --shape 32x32x3 is 32 high, 32 wide, 3 channels" || bad "info --shape: $(cat "$tmp/info")"
"$COLNET" info --model "linear 10" --shape 1x28x28 >/dev/null 2>"$tmp/err" &&
	grep -q "1 pixel high, 28 wide, with 28 channels (HxWxC)" "$tmp/err" &&
	ok "a channels-first --shape is pointed out" || bad "info --shape 1x28x28: $(cat "$tmp/err")"
expect_fail "unknown short option" 2 "unknown option '-x'" predict --model m.ckpt -x
printf '%s\n' "epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_sec" \
	"1,0.9,0.7,0.6,0.8,1,100" "2,0.5,0.85,0.45,0.86,1,100" >"$tmp/a.csv"
# -o stands for --output only where an option stands: as a value, it is a file name
(cd "$tmp" && "$colnet_abs" plot --output -o a.csv >/dev/null 2>&1) && "$PNGTOOL" info "$tmp/-o" >/dev/null 2>&1 &&
	ok "plot --output -o writes a file named -o" || bad "plot --output -o"
# -- ends the options: what follows is a file, even -o or --help
cp "$tmp/a.csv" "$tmp/--help"
(cd "$tmp" && "$colnet_abs" plot -o dash.png -- --help >/dev/null 2>&1) && [ -s "$tmp/dash.png" ] &&
	ok "-- ends the options" || bad "plot -o dash.png -- --help"
for m in 022:644 002:664 077:600; do
	u=${m%:*} want=${m#*:}
	(umask "$u" && "$COLNET" plot "$tmp/a.csv" -o "$tmp/mode$u.png" >/dev/null 2>&1)
	got=$(stat -c %a "$tmp/mode$u.png" 2>/dev/null)
	[ "$got" = "$want" ] && ok "umask $u: the PNG is $want" || bad "umask $u: the PNG is '$got', not $want"
done

if ! [ -f "$DATA/t10k-images-idx3-ubyte" ]; then
	echo "[  SKIPPED ] inputs: no uncompressed MNIST in $DATA (run 'make data')"
	summary
fi
(umask 002 && "$COLNET" train --data "$DATA" --epochs 1 --limit 3000 --test-limit 500 --batch 50 \
	--threads 2 --save "$tmp/m.ckpt" --log "$tmp/m.csv" >"$tmp/train" 2>&1) ||
	bad "train: $(tail -n 3 "$tmp/train")"
[ "$(stat -c %a "$tmp/m.ckpt")" = 664 ] && [ "$(stat -c %a "$tmp/m.csv")" = 664 ] &&
	ok "umask 002: checkpoint and CSV log are 664" ||
	bad "modes: $(stat -c '%n %a' "$tmp/m.ckpt" "$tmp/m.csv")"

# ---- predict over files and folders ----
examples/embed/mkdigits.sh "$DATA" "$tmp/digits" 12
mkdir "$tmp/digits/more"
mv "$tmp/digits/10-"*.pgm "$tmp/digits/11-"*.pgm "$tmp/digits/more/"
"$PNGTOOL" tojpg "$tmp/digits/0-label7.pgm" "$tmp/digits/photo.jpg" rgb
echo "not an image" >"$tmp/digits/junk.png"
echo "notes" >"$tmp/digits/notes.txt"
cp "$tmp/digits/1-label2.pgm" "$tmp/-dash.pgm"
(cd "$tmp" && "$colnet_abs" predict --model m.ckpt digits missing.pgm -- -dash.pgm >pred 2>err)
rc=$?
right=$(sed -n 's/.*-label\([0-9]\)\.pgm: .*-> \([0-9]\)$/\1 \2/p' "$tmp/pred" | awk '$1 == $2' | wc -l)
if [ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/pred")" -eq 14 ] && [ "$right" -ge 10 ] &&
	grep -q "^digits/photo.jpg: .*-> 7$" "$tmp/pred" && grep -q "^-dash.pgm: .*-> 2$" "$tmp/pred" &&
	grep -q "digits/junk.png: not a PNG" "$tmp/err" && grep -q "missing.pgm: No such file" "$tmp/err" &&
	grep -q "2 inputs could not be classified" "$tmp/err" && ! grep -q notes.txt "$tmp/err"; then
	ok "predict: 14 images from a folder tree, a JPEG and a file after --; 2 bad inputs named, exit 1"
else
	bad "predict: exit $rc, $(wc -l <"$tmp/pred") lines, $right right; $(cat "$tmp/err")"
fi
"$COLNET" predict --model "$tmp/m.ckpt" --format csv "$tmp/digits" >"$tmp/pred.csv" 2>/dev/null
rc=$?
head -n 1 "$tmp/pred.csv" | grep -qx "input,label,predicted,class,probability,0,1,2,3,4,5,6,7,8,9" &&
	[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/pred.csv")" -eq 14 ] &&
	[ "$(awk -F, 'NR > 1 && NF == 15 && $3 == $4 && $5 > 0 && $5 <= 1' "$tmp/pred.csv" | wc -l)" -eq 13 ] &&
	ok "predict --format csv: a header and 13 rows of 15 fields" ||
	bad "predict --format csv: exit $rc, $(head -n 3 "$tmp/pred.csv")"
"$COLNET" predict --model "$tmp/m.ckpt" --data "$DATA" --index 0 --format json "$tmp/digits" \
	>"$tmp/pred.json" 2>/dev/null
node -e '
const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const good = a.filter(r => r.error === undefined), bad = a.filter(r => r.error !== undefined);
const sums = good.every(r => Math.abs(r.probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-4 &&
	r.probabilities.length === 10 && r.probability === r.probabilities[r.predicted]);
process.exit(a.length === 15 && bad.length === 1 && /junk\.png/.test(bad[0].input) &&
	a[0].input === "test image 0" && a[0].label === 7 && sums ? 0 : 1);
' "$tmp/pred.json" && ok "predict --format json: 14 predictions and the bad file, valid JSON" ||
	bad "predict --format json: $(head -c 400 "$tmp/pred.json")"
expect_fail "predict --format xml" 2 "not text, csv or json" predict --model "$tmp/m.ckpt" --format xml x.png

# ---- the class count comes from the labels: EMNIST-like IDX files with labels 17..26 ----
n=300
mkdir -p "$tmp/letters"
{ printf '\0\0\10\3\0\0\1\54\0\0\0\34\0\0\0\34'; tail -c +17 "$DATA/t10k-images-idx3-ubyte" | head -c $((784 * n)); } \
	>"$tmp/letters/train-images-idx3-ubyte"
{ printf '\0\0\10\1\0\0\1\54'; for l in $(od -An -tu1 -v -j8 -N$n "$DATA/t10k-labels-idx1-ubyte"); do
	printf "\\$(printf %o $((l + 17)))"; done; } >"$tmp/letters/train-labels-idx1-ubyte"
cp "$tmp/letters/train-images-idx3-ubyte" "$tmp/letters/t10k-images-idx3-ubyte"
cp "$tmp/letters/train-labels-idx1-ubyte" "$tmp/letters/t10k-labels-idx1-ubyte"
"$COLNET" train --data "$tmp/letters" --epochs 1 --batch 50 --threads 2 --save "$tmp/l.ckpt" \
	>"$tmp/ltrain" 2>&1 && grep -q "the last layer becomes linear 27" "$tmp/ltrain" &&
	"$COLNET" eval --model "$tmp/l.ckpt" --data "$tmp/letters" >"$tmp/leval" 2>&1 &&
	ok "27 classes from labels up to 26: the model gets 27 outputs and evaluates" ||
	bad "classes from labels: $(tail -n 3 "$tmp/ltrain") $(tail -n 2 "$tmp/leval" 2>/dev/null)"
summary
