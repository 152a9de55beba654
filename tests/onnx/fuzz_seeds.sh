#!/bin/sh
# Seeds for tests/fuzz/fuzz_onnx (tests/fuzz/corpus/onnx/): small models as colnet exports them
# (every layer kind), as PyTorch 1.13 exports them (Constant + Pad, MatMul + Add, folded batch
# norm, Reshape), and the refused files of tests/onnx.sh. Deterministic apart from PyTorch's
# own file layout; run from the top of the tree after `make`:
#   tests/onnx/fuzz_seeds.sh [build/colnet]
set -e
COLNET=${1:-build/colnet}
out=tests/fuzz/corpus/onnx
mkdir -p "$out"
i=0
while read -r shape spec; do
	i=$((i + 1))
	$COLNET export --model "$spec" --shape "$shape" --seed 3 -o "$out/colnet-$i.onnx" >/dev/null
done <<'SPECS'
6x6x1 conv 2 k3 p1 relu | maxpool 2 | linear 3
5x7x2 conv 2 k2x3 s2x1 p1x2 leaky=0.2 | avgpool 2 p1 | batchnorm | linear 2
6x6x1 conv 2 k3 sigmoid | lppool 2 p=3 | rbf 3 imq | linear 2
4x4x1 linear 5 tanh | dropout 0.3 | conv 2 k1 | flatten | batchnorm relu | rbf 2 | linear 2
5x5x1 conv 3 k3 | tanh | conv 2 k1
SPECS
/usr/bin/python3 - "$out" <<'PY'
import sys, torch, torch.nn as nn
torch.manual_seed(0)
class MM(nn.Module):
    def __init__(s):
        super().__init__(); s.w = nn.Parameter(torch.randn(8, 3)); s.b = nn.Parameter(torch.randn(3))
    def forward(s, x):
        return x.reshape(-1, 8) @ s.w + s.b
net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.Tanh(),
                    nn.AvgPool2d(2, padding=1), nn.Conv2d(2, 2, 3), nn.ReLU(), MM(), nn.Softmax(1)).eval()
torch.onnx.export(net, torch.rand(1, 1, 6, 6), sys.argv[1] + "/torch-1.onnx", opset_version=13,
                  input_names=["input"], output_names=["y"], dynamic_axes={"input": {0: "N"}})
PY
tmp=$(mktemp -d)
/usr/bin/python3 tests/onnx/bad_models.py "$tmp"
for f in "$tmp"/*.onnx; do # the nested one is 600 KB: too big a seed
	[ "$(wc -c <"$f")" -lt 4096 ] && cp "$f" "$out/refused-$(basename "$f")"
done
rm -rf "$tmp"
ls "$out" | wc -l
