"""PyTorch's side of tests/onnx.sh: three small networks trained briefly on MNIST, exported by
PyTorch 1.13 (torch.onnx.export, opset 13) for colnet to import.

  torch_nets.py DATA_DIR OUT_DIR [TRAIN_IMAGES]

For each NAME in bn (conv + batch norm, eval-mode BN folded into the convolutions by the
exporter, BatchNorm1d kept), avgpool-tanh (AvgPool2d as Pad + AveragePool, tanh, a
non-square kernel) and mlp (Linear as Gemm, and a hand-written x @ W + b as MatMul + Add):
  NAME.onnx          the exported model
  NAME.torch.bin     PyTorch's logits on all 10000 test images, float32 [10000, 10]
  NAME.accuracy      PyTorch's test accuracy: correct images, then the percentage (%.2f)
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


class MatMulAdd(nn.Module):
    """x @ W + b, which the exporter writes as MatMul + Add (nn.Linear becomes Gemm)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_in, n_out) / n_in**0.5)
        self.b = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.w + self.b


def nets():
    return {
        "bn": nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.BatchNorm1d(64), nn.ReLU(),
            nn.Dropout(0.3), nn.Linear(64, 10)),
        "avgpool-tanh": nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 12, (5, 3), padding=(0, 1)), nn.Tanh(),
            nn.AvgPool2d(3, stride=2, padding=1), nn.Flatten(), nn.Linear(12 * 5 * 7, 10)),
        "mlp": nn.Sequential(
            nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), MatMulAdd(128, 64),
            nn.LeakyReLU(0.1), nn.Linear(64, 10)),
    }


def main():
    data, out = sys.argv[1], sys.argv[2]
    n_train = int(sys.argv[3]) if len(sys.argv) > 3 else 60000
    torch.manual_seed(1)
    torch.set_num_threads(2)
    xtr = torch.from_numpy(idx(os.path.join(data, "train-images-idx3-ubyte"))[:n_train].copy())
    ytr = torch.from_numpy(idx(os.path.join(data, "train-labels-idx1-ubyte"))[:n_train].astype(np.int64))
    xte = torch.from_numpy(idx(os.path.join(data, "t10k-images-idx3-ubyte")).copy())
    yte = idx(os.path.join(data, "t10k-labels-idx1-ubyte")).astype(np.int64)
    xtr = xtr.float().div(255).unsqueeze(1)  # ToTensor: NCHW in [0, 1]
    xte = xte.float().div(255).unsqueeze(1)
    for name, net in nets().items():
        opt = torch.optim.Adam(net.parameters(), lr=0.002)
        net.train()
        for i in range(0, n_train, 100):  # one epoch
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xtr[i : i + 100]), ytr[i : i + 100])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            logits = net(xte)
        logits.numpy().astype(np.float32).tofile(os.path.join(out, name + ".torch.bin"))
        correct = int((logits.argmax(1).numpy() == yte).sum())
        with open(os.path.join(out, name + ".accuracy"), "w") as f:
            f.write("%d %.2f\n" % (correct, 100.0 * correct / len(yte)))
        torch.onnx.export(net, xte[:1], os.path.join(out, name + ".onnx"), opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
        print("torch %s: loss %.3f, test accuracy %d/10000" % (name, loss.item(), correct))


if __name__ == "__main__":
    main()
