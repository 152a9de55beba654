#!/bin/sh
# ONNX both ways, against the real runtimes (README "ONNX"):
#  1. every zoo model, trained briefly: colnet export, onnx.checker accepts the file, ONNX
#     Runtime (npm onnxruntime-node) agrees with colnet within 1e-5 relative on 500 MNIST
#     test images, and importing the file gives colnet's outputs bit for bit;
#  2. three PyTorch networks (batch norm; average pooling + tanh; an MLP with MatMul + Add),
#     trained briefly and exported by PyTorch 1.13: colnet's outputs agree within 1e-5
#     relative on the 10000 test images, every prediction is the same, and `colnet eval`
#     reports PyTorch's accuracy; one of them is fine-tuned with `colnet train`;
#  3. malformed and unsupported files are refused with the node and the reason, never a crash.
# Environment: COLNET, DATA, ONNX_OUTPUTS (build/tests/onnx_outputs), ONNX_TORCH_IMAGES
# (PyTorch's training images, default 12000: the proof needs trained weights, not good ones).
COLNET=${COLNET:-build/colnet}
DATA=${DATA:-data/mnist}
OUTPUTS=${ONNX_OUTPUTS:-build/tests/onnx_outputs}
PY=/usr/bin/python3
here=tests/onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "onnx.sh: FAILED: $*"; failed=$((failed + 1)); }

# ONNX Runtime: test-only, from npm, its install script skipped (it fetches GPU parts)
if [ ! -d $here/node_modules/onnxruntime-node ]; then
	(cd $here && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
		{ echo "onnx.sh: npm could not install onnxruntime-node (tests/onnx/package.json)"; exit 1; }
fi

echo "== ONNX export: every zoo model against ONNX Runtime, and back"
zoo=$($COLNET info --model no-such-model 2>&1 | sed -n 's/.*zoo models: \([^(]*\).*/\1/p')
[ -n "$zoo" ] || bad "no zoo list from colnet info"
for m in $zoo; do
	t=$tmp/$m
	if ! $COLNET train --model "$m" --epochs 1 --limit 3000 --test-limit 100 --batch 50 \
		--threads 2 --save "$t.ckpt" >/dev/null 2>"$t.err"; then
		bad "$m: training: $(cat "$t.err")"
		continue
	fi
	$COLNET export --model "$t.ckpt" -o "$t.onnx" >/dev/null || { bad "$m: export"; continue; }
	if $PY -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' \
		"$t.onnx"; then ok; else bad "$m: onnx.checker refused the file"; fi
	k=10 # MNIST's classes: every zoo model ends in linear 10
	if node $here/ort_run.js "$t.onnx" "$DATA" 500 "$t.ort" &&
		$OUTPUTS "$t.ckpt" "$DATA" 500 "$t.colnet" && $OUTPUTS "$t.onnx" "$DATA" 500 "$t.back"; then
		if $PY $here/compare.py close "$t.colnet" "$t.ort" "$k" 1e-5 "$m vs onnxruntime"; then
			ok; else bad "$m: colnet and ONNX Runtime differ"; fi
		if cmp -s "$t.colnet" "$t.back"; then
			echo "$m: export then import: outputs identical bit for bit"; ok
		else bad "$m: the imported model's outputs differ from the checkpoint's"; fi
	else
		bad "$m: running the exported model"
	fi
done

echo "== ONNX import: PyTorch 1.13's exports"
if $PY $here/torch_nets.py "$DATA" "$tmp" "${ONNX_TORCH_IMAGES:-12000}"; then
	for n in bn avgpool-tanh mlp; do
		t=$tmp/$n
		if ! $OUTPUTS "$t.onnx" "$DATA" 10000 "$t.colnet"; then bad "torch $n: import"; continue; fi
		if $PY $here/compare.py close "$t.colnet" "$t.torch.bin" 10 1e-5 "torch $n vs colnet"; then
			ok; else bad "torch $n: outputs differ"; fi
		if $PY $here/compare.py same-argmax "$t.colnet" "$t.torch.bin" 10 "torch $n vs colnet"; then
			ok; else bad "torch $n: predictions differ"; fi
		want=$(cut -d' ' -f2 "$t.accuracy")
		got=$($COLNET eval --model "$t.onnx" --data "$DATA" --threads 2 |
			sed -n 's/^10000 test images: accuracy \([0-9.]*\)%.*/\1/p')
		echo "torch $n: test accuracy $want% in PyTorch, $got% in colnet eval"
		if [ "$got" = "$want" ]; then ok; else bad "torch $n: colnet eval says $got%, PyTorch $want%"; fi
	done
	# the imported model trains on from its weights, and every --model command takes it
	if $COLNET train --model "$tmp/bn.onnx" --epochs 1 --limit 2000 --test-limit 1000 \
		--threads 2 --save "$tmp/ft.ckpt" --log "$tmp/ft.csv" >/dev/null &&
		acc=$(sed -n '2p' "$tmp/ft.csv" | cut -d, -f5) &&
		$PY -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.9 else 1)" "$acc" &&
		$COLNET predict --model "$tmp/bn.onnx" --index 0 >/dev/null &&
		$COLNET featuremaps --model "$tmp/bn.onnx" --index 0 -o "$tmp/maps.png" >/dev/null; then
		echo "torch bn: fine-tuned by colnet train from the ONNX weights (test accuracy $acc);" \
			"predict and featuremaps read it"
		ok
	else
		bad "torch bn: train, predict or featuremaps with --model FILE.onnx"
	fi
else
	bad "PyTorch could not train or export its networks"
fi

echo "== ONNX import: bad files get a message, never a crash"
mkdir -p "$tmp/bad"
if $PY $here/bad_models.py "$tmp/bad"; then
	head -c 3000 "$tmp/tutorial-cnn.onnx" >"$tmp/bad/truncated.onnx"
	printf 'truncated.onnx\tprotobuf decoding failed\n' >>"$tmp/bad/expect.tsv"
	head -c 5000 /dev/urandom >"$tmp/bad/random.onnx"
	printf 'random.onnx\t: \n' >>"$tmp/bad/expect.tsv"
	while IFS="$(printf '\t')" read -r f phrase; do
		$COLNET info --model "$tmp/bad/$f" >/dev/null 2>"$tmp/msg"
		rc=$?
		if [ $rc -eq 1 ] && grep -qF "$phrase" "$tmp/msg"; then
			ok
		else
			bad "$f: exit $rc, message '$(cat "$tmp/msg")' (want '$phrase')"
		fi
	done <"$tmp/bad/expect.tsv"
	echo "bad files: $(wc -l <"$tmp/bad/expect.tsv") refused with their reason"
else
	bad "could not write the bad models"
fi

echo "onnx.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
