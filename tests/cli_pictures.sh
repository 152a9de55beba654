#!/bin/sh
# The colnet tool's pictures and image folders end to end. Every PNG it writes (plot,
# train --plot, featuremaps, --filters) is decoded by libpng alone (tests/pngtool), must have
# the size its layout promises and must not be blank; image folders built from MNIST digits
# (PGM, gray PNG, colour PNG, junk files) train, predict with class names, evaluate, resume
# and split by train/ and test/. Prints cmocka-style summary lines for run-tests.sh.
SUITE=pictures
. tests/harness.sh
PNGTOOL=${PNGTOOL:-build/tests/pngtool}

# png_is NAME FILE WIDTH HEIGHT MIN_COLOURS: decodes, has that size, and is not blank
png_is() {
	got=$("$PNGTOOL" info "$2" 2>&1)
	set -- "$1" "$2" "$3" "$4" "$5" $got
	if [ "$6" = "$3" ] && [ "$7" = "$4" ] && [ "${9:-0}" -ge "$5" ] 2>/dev/null; then
		ok "$1: ${6}x$7, $9 colours"
	else
		bad "$1: wanted ${3}x$4 with >= $5 colours, pngtool says '$got'"
	fi
}

# ---- plot: no data set needed ----
printf '%s\n' "epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_sec" \
	"1,0.9,0.7,0.6,0.8,1,100" "2,0.5,0.85,0.45,0.86,1,100" "3,0.3,0.9,0.35,0.9,1,100" >"$tmp/a.csv"
sed 's/^\([0-9]\),0\./\1,1./' "$tmp/a.csv" >"$tmp/b.csv"
"$COLNET" plot "$tmp/a.csv" "$tmp/b.csv" -o "$tmp/ab.png" >"$tmp/out" 2>&1 &&
	grep -q "2 runs" "$tmp/out" && ok "plot of two CSVs" || bad "plot: $(cat "$tmp/out")"
png_is "plot of two CSVs" "$tmp/ab.png" 1100 478 50
expect_fail "plot without -o" 2 "-o FILE.png" plot "$tmp/a.csv"
expect_fail "plot of a missing CSV" 1 "nowhere.csv: cannot open" plot "$tmp/nowhere.csv" -o "$tmp/p.png"
printf 'name,value\n1,2\n' >"$tmp/other.csv"
expect_fail "plot of another CSV" 1 "not colnet's CSV header" plot "$tmp/other.csv" -o "$tmp/p.png"
head -n 1 "$tmp/a.csv" >"$tmp/empty.csv"
expect_fail "plot of a CSV without rows" 1 "no epochs" plot "$tmp/empty.csv" -o "$tmp/p.png"
expect_fail "plot into a missing folder" 1 "nowhere/p.png" plot "$tmp/a.csv" -o "$tmp/nowhere/p.png"
expect_fail "featuremaps without a model" 2 "--model FILE and -o" featuremaps -o "$tmp/x.png"

if ! [ -f "$DATA/t10k-images-idx3-ubyte" ]; then
	echo "[  SKIPPED ] pictures: no uncompressed MNIST in $DATA (run 'make data')"
else
	# ---- MNIST: train --plot, plot, featuremaps ----
	"$COLNET" train --data "$DATA" --epochs 2 --limit 3000 --test-limit 500 --batch 50 \
		--threads 2 --save "$tmp/m.ckpt" --log "$tmp/m.csv" --plot "$tmp/live.png" \
		>"$tmp/train" 2>&1 && ok "train --plot" || bad "train --plot: $(tail -n 3 "$tmp/train")"
	png_is "train --plot" "$tmp/live.png" 1100 454 50
	ls "$tmp" | grep -q '\.tmp\.' && bad "temporary files left behind" || ok "no temporary files"
	"$COLNET" plot "$tmp/m.csv" -o "$tmp/m.png" >/dev/null 2>&1
	png_is "plot of a training log" "$tmp/m.png" 1100 454 50
	"$COLNET" featuremaps --model "$tmp/m.ckpt" --data "$DATA" --index 0 -o "$tmp/maps.png" \
		>"$tmp/out" 2>&1 && grep -q "layer 1" "$tmp/out" && ok "featuremaps" ||
		bad "featuremaps: $(cat "$tmp/out")"
	# 28x28 input x4 beside 8 x 4 maps of 28x28 x2: 16+112+24+8*60-4+16 by 58+4*60-4+16
	png_is "feature maps of conv 1" "$tmp/maps.png" 644 310 20
	"$COLNET" featuremaps --model "$tmp/m.ckpt" --data "$DATA" --index 1 --layer 3 \
		-o "$tmp/maps3.png" >/dev/null 2>&1
	png_is "feature maps of layer 3" "$tmp/maps3.png" 644 550 20
	"$COLNET" featuremaps --model "$tmp/m.ckpt" --filters -o "$tmp/filters.png" >/dev/null 2>&1
	png_is "learned filters" "$tmp/filters.png" 640 278 20
	expect_fail "featuremaps --layer 99" 2 "the model has 5 layers" \
		featuremaps --model "$tmp/m.ckpt" --layer 99 -o "$tmp/x.png"
	expect_fail "filters of a pooling layer" 2 "no convolution kernels" \
		featuremaps --model "$tmp/m.ckpt" --layer 2 --filters -o "$tmp/x.png"

	# ---- image folders made of MNIST test digits: zero, one, seven ----
	digit() { # INDEX OUT.pgm: MNIST test image INDEX as a binary PGM
		{ printf 'P5\n28 28\n255\n'; tail -c +$((16 + 784 * $1 + 1)) "$DATA/t10k-images-idx3-ubyte" | head -c 784; } >"$2"
	}
	mkdir -p "$tmp/d/zero" "$tmp/d/one" "$tmp/d/seven"
	i=0
	for l in $(od -An -tu1 -v -j8 -N600 "$DATA/t10k-labels-idx1-ubyte"); do
		case $l in 0) c=zero ;; 1) c=one ;; 7) c=seven ;; *) c= ;; esac
		if [ -n "$c" ]; then
			digit $i "$tmp/d/$c/$i.pgm"
			# every third one as a gray PNG instead
			[ $((i % 3)) -eq 0 ] && "$PNGTOOL" topng "$tmp/d/$c/$i.pgm" "$tmp/d/$c/$i.png" &&
				rm "$tmp/d/$c/$i.pgm"
		fi
		i=$((i + 1))
	done
	echo "not an image" >"$tmp/d/one/notes.txt"
	head -c 40 "$tmp/d/zero/3.png" >"$tmp/d/zero/broken.png"
	"$COLNET" train --data "$tmp/d" --epochs 2 --batch 20 --threads 1 --save "$tmp/d.ckpt" \
		--log "$tmp/d.csv" >"$tmp/train" 2>"$tmp/err"
	acc=$(awk -F, 'NR == 3 { print $5 }' "$tmp/d.csv" 2>/dev/null)
	if [ -n "$acc" ] && awk "BEGIN { exit !($acc > 0.8) }"; then
		ok "image folder training: test accuracy $acc > 0.8"
	else
		bad "image folder training: accuracy '$acc' ($(tail -n 3 "$tmp/train") $(cat "$tmp/err"))"
	fi
	grep -q "notes.txt: not a PNG" "$tmp/err" && grep -q "broken.png: .*PNG" "$tmp/err" &&
		ok "odd files are named and skipped" || bad "odd files: $(cat "$tmp/err")"
	grep -q "linear 3" "$tmp/train" && ok "last layer fitted to 3 classes" ||
		bad "last layer: $(head -n 3 "$tmp/train")"
	"$COLNET" predict --model "$tmp/d.ckpt" "$tmp/d/seven/0.png" >"$tmp/out" 2>&1 &&
		grep -q "one:.* seven:.* zero:.*-> seven" "$tmp/out" && ok "predict names the classes" ||
		bad "predict: $(cat "$tmp/out")"
	"$COLNET" eval --model "$tmp/d.ckpt" --data "$tmp/d" >"$tmp/out" 2>/dev/null &&
		grep -q "classes: 0 one, 1 seven, 2 zero" "$tmp/out" && ok "eval on the held-out images" ||
		bad "eval: $(cat "$tmp/out")"
	"$COLNET" train --resume "$tmp/d.ckpt" --data "$tmp/d" --epochs 3 --threads 1 \
		>"$tmp/out" 2>&1 && ok "resume on the same folder" || bad "resume: $(tail -n 2 "$tmp/out")"
	"$COLNET" featuremaps --model "$tmp/d.ckpt" "$tmp/d/one/2.pgm" -o "$tmp/fm.png" >/dev/null 2>&1
	png_is "feature maps of a PGM file" "$tmp/fm.png" 644 310 20
	mv "$tmp/d/zero" "$tmp/d/nought"
	expect_fail "resume on other classes" 1 "trained on other classes" \
		train --resume "$tmp/d.ckpt" --data "$tmp/d" --epochs 4

	# colour PNGs make a 3-channel data set; --size resizes every image
	mkdir -p "$tmp/c/one" "$tmp/c/seven"
	for f in "$tmp"/d/one/*.pgm; do "$PNGTOOL" topng "$f" "$tmp/c/one/$(basename "$f" .pgm).png" rgb; done
	cp "$tmp"/d/seven/*.pgm "$tmp/c/seven/"
	"$COLNET" train --data "$tmp/c" --size 20x24 --epochs 1 --batch 10 --threads 1 \
		--save "$tmp/c.ckpt" >"$tmp/out" 2>&1 &&
		"$COLNET" info --model "$tmp/c.ckpt" 2>&1 | grep -q "input:   20x24x3" &&
		ok "colour images and --size 20x24" || bad "colour: $(tail -n 3 "$tmp/out")"

	# train/ and test/ subfolders are the split; a test class unknown to train/ is skipped
	mkdir -p "$tmp/s/train/a" "$tmp/s/train/b" "$tmp/s/test/a" "$tmp/s/test/b" "$tmp/s/test/x"
	cp "$tmp"/d/one/1*.pgm "$tmp/s/train/a/"
	cp "$tmp"/d/seven/1*.pgm "$tmp/s/train/b/"
	cp "$tmp"/d/one/2*.pgm "$tmp/s/test/a/"
	cp "$tmp"/d/seven/2*.pgm "$tmp/s/test/b/"
	cp "$tmp"/d/seven/2*.pgm "$tmp/s/test/x/"
	want_train=$(ls "$tmp"/s/train/*/* | wc -l) want_test=$(ls "$tmp"/s/test/[ab]/* | wc -l)
	"$COLNET" train --data "$tmp/s" --epochs 1 --batch 5 --threads 1 >"$tmp/out" 2>"$tmp/err" &&
		grep -q "$want_train training and $want_test test images" "$tmp/out" &&
		grep -q "test/x: no such class" "$tmp/err" && ok "train/ and test/ subfolders" ||
		bad "split: $(head -n 2 "$tmp/out") $(cat "$tmp/err")"

	mkdir -p "$tmp/e/cats" "$tmp/e/dogs"
	echo "no" >"$tmp/e/cats/a.txt"
	expect_fail "a folder without images" 1 "no readable PNG, JPEG, PGM or PPM images" \
		train --data "$tmp/e"
fi

summary
