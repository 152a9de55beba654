#!/usr/bin/python3
"""The PyTorch side of bench/epoch.sh: a plain training loop on real MNIST batches, timed over
whole epochs as `colnet train` times its own (gather and convert each batch, shuffle, the
step, running loss and accuracy), so the two figures measure what a user waits for.

The model comes from colnet's spec line and recipe (pytorch.py's builder and zoo copy). The
images are read from the IDX files once, as bytes; each epoch draws a new permutation, and
each batch is gathered, converted to float in [0, 1] and labelled in the loop, as colnet does.
One epoch of warm-up (allocator, oneDNN's kernel choices), then --epochs timed ones; prints the
best epoch's images/s and writes one CSV line
model,threads,allocator,images_per_sec,layout to --csv (appending).

--layout nhwc converts the model and each batch to torch.channels_last (NHWC): a tuned PyTorch
runs a conv net that way where it wins (a small conv-batchnorm-pool net trained 1.4x faster
than in NCHW at batch 200 on 2 threads), so epoch.sh times both layouts as it times both
thread counts and both allocators, and takes the best. A model with no conv, pool or batchnorm
layer (mlp) has no layout: --layout nchw runs it and writes "flat", --layout nhwc skips it.

Run with Debian's interpreter: /usr/bin/python3 (python3-torch).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch as peer  # noqa: E402  (the builder, the zoo copy, the allocator note)


def read_idx(path, dims):
    """An IDX file's payload as bytes, after checking its magic and dimension count."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 + 4 * dims or data[2] != 8 or data[3] != dims:
        raise SystemExit("pytorch_epoch: %s is not an IDX file of %d dimensions" % (path, dims))
    return data[4 + 4 * dims:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--zoo", default="bench/results/zoo.tsv")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--limit", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--layout", choices=peer.LAYOUTS, default="nchw",
                    help="nchw (PyTorch's default) or nhwc (torch.channels_last)")
    ap.add_argument("--csv", default="-")
    a = ap.parse_args()
    peer.same_kernels_as_colnet()
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    zoo = peer.read_zoo(a.zoo) if os.path.exists(a.zoo) else peer.ZOO
    spec, optim, lr, mom, wd = zoo[a.model]
    torch.manual_seed(1)
    model = peer.build(spec, nn)
    layout = peer.model_layouts(model, nn, [a.layout])[0]
    if layout == "flat" and a.layout != "nchw":
        print("pytorch epoch: %s has no conv, pool or batchnorm layer: no layout to choose, "
              "timed with --layout nchw only (skipped)" % a.model)
        return 0
    fmt = peer.memory_format(torch, layout)
    model = model.to(memory_format=fmt)
    opt = peer.make_optimizer(torch, model, optim, lr, mom, wd)
    pix = read_idx(os.path.join(a.data, "train-images-idx3-ubyte"), 3)
    lab = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte"), 1)
    n = min(a.limit, len(lab))
    images = torch.frombuffer(bytearray(pix[:n * 784]), dtype=torch.uint8).view(n, 1, 28, 28)
    labels = torch.frombuffer(bytearray(lab[:n]), dtype=torch.uint8).long()
    model.train()

    def epoch():
        perm = torch.randperm(n)
        loss_sum, right, seen = 0.0, 0, 0
        t = time.perf_counter()
        for i in range(0, n - a.batch + 1, a.batch):
            idx = perm[i:i + a.batch]
            x = images[idx].float().div_(255).contiguous(memory_format=fmt)
            y = labels[idx]
            opt.zero_grad()
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            right += (out.argmax(1) == y).sum().item()
            seen += len(idx)
        return seen / (time.perf_counter() - t)

    epoch()  # warm-up
    best = max(epoch() for _ in range(a.epochs))
    alloc, words = peer.allocator()
    print("pytorch epoch: %s, %d threads, %s, layout %s: %.0f images/s"
          % (a.model, a.threads, words, layout, best))
    if a.csv != "-":
        with open(a.csv, "a") as f:
            f.write("%s,%d,%s,%.1f,%s\n" % (a.model, a.threads, alloc, best, layout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
