#!/usr/bin/python3
"""The PyTorch side of `make bench-tta`: one colnet time-to-accuracy recipe, written in plain
PyTorch, run the way `colnet train --target-acc` runs it, so the two wall times compare.

Same network (from colnet's spec line: conv -> Conv2d, batchnorm -> BatchNorm2d/1d, maxpool ->
MaxPool2d, linear -> Flatten + Linear; PyTorch's default init is colnet's default), same batch,
optimizer (Adam with L2 decay, or SGD momentum with nesterov), the same per-step schedule
(colnet's cn_sched_lr at t = epoch + step/steps: cosine, one-cycle, linear, warm-up), label
smoothing (F.cross_entropy's), weight average (timm's warm-up formula over parameters and
batchnorm statistics, evaluated in place of the net), and augmentation (the same warps: whole-
pixel shifts, rotation, scaling about the centre, Simard's elastic field, bilinear with zeros
outside, via affine_grid + grid_sample with align_corners=True, batched). Shuffling draws
differ (another generator), so runs compare in distribution, not bit for bit.
Convolutional nets run in channels_last (NHWC, colnet's own layout): on mnist-fast's net it
made PyTorch's whole run 1.39x faster than its default NCHW (8.0 s against 11.2 s, median of
5 paired runs, 2 threads, Zen 5), mostly in max pooling and batch norm over the first layer's
maps; a fair race gives PyTorch its faster layout.
MNIST is read from the raw IDX files with numpy. After each epoch the test set is evaluated
(batches of 1000, inference mode); the run stops once the accuracy reaches --target.
Prints one line per epoch, then `result acc=... reached=0|1 epochs=N`; the caller times the
process from start to exit.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_idx(path, offset):
    return np.fromfile(path, dtype=np.uint8, offset=offset)


def load(dir_, train):
    pre = "train" if train else "t10k"
    x = read_idx(os.path.join(dir_, f"{pre}-images-idx3-ubyte"), 16)
    y = read_idx(os.path.join(dir_, f"{pre}-labels-idx1-ubyte"), 8)
    x = torch.from_numpy(x.astype(np.float32) / 255.0).view(-1, 1, 28, 28)
    return x, torch.from_numpy(y.astype(np.int64))


def build(spec, in_shape):
    """nn.Sequential from colnet's spec grammar (the subset the recipes use)."""
    c, h, w = in_shape
    layers, flat = [], False
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    for part in spec.split("|"):
        words = part.split()
        kind, args = words[0], words[1:]
        act = next((a for a in args if a in acts), None)
        if kind == "conv":
            co = int(args[0])
            k = int(next(a[1:] for a in args if a.startswith("k")))
            p = int(next((a[1:] for a in args if a.startswith("p") and a[1:].isdigit()), 0))
            layers.append(nn.Conv2d(c, co, k, padding=p, bias="nobias" not in args))
            c, h, w = co, h + 2 * p - k + 1, w + 2 * p - k + 1
        elif kind == "maxpool":
            k = int(args[0])
            p = int(next((a[1:] for a in args if a.startswith("p")), 0))
            layers.append(nn.MaxPool2d(k, padding=p))
            h, w = (h + 2 * p - k) // k + 1, (w + 2 * p - k) // k + 1
        elif kind == "batchnorm":
            layers.append(nn.BatchNorm1d(c) if flat else nn.BatchNorm2d(c))
        elif kind == "dropout":
            layers.append(nn.Dropout(float(args[0]) if args and args[0][0].isdigit() else 0.5))
        elif kind == "linear":
            if not flat:
                layers.append(nn.Flatten())
                c, flat = c * h * w, True
            out = int(args[0])
            layers.append(nn.Linear(c, out, bias="nobias" not in args))
            c = out
        else:
            sys.exit(f"tta.py: layer kind {kind} is not supported")
        if act:
            layers.append(acts[act]())
    return nn.Sequential(*layers)


def sched_lr(a, t):
    """colnet's cn_sched_lr (src/sched.c) at fractional epoch t."""
    e, lr, lo = a.epochs, a.lr, a.lr_min
    x = min(t, e) / e
    if a.schedule == "cosine":
        r = lo + (lr - lo) * (1 + math.cos(math.pi * x)) / 2
    elif a.schedule == "onecycle":
        rise = a.peak if 0 < a.peak < 1 else 0.3
        start = lr / 25
        r = start + (lr - start) * x / rise if x < rise else lr + (lo - lr) * (x - rise) / (1 - rise)
    elif a.schedule == "linear":
        r = lo + (lr - lo) * (1 - x)
    else:
        r = lr
    if a.warmup > 0 and t < a.warmup:
        r *= 0.01 + 0.99 * t / a.warmup
    return r


def gaussian_blur(f, sigma):
    """Separable Gaussian of f [N, 2, H, W], radius ceil(3 sigma), zeros outside."""
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * sigma * sigma))
    k = k / k.sum()
    ch = f.shape[1]
    f = F.conv2d(f, k.view(1, 1, 1, -1).repeat(ch, 1, 1, 1), padding=(0, r), groups=ch)
    return F.conv2d(f, k.view(1, 1, -1, 1).repeat(ch, 1, 1, 1), padding=(r, 0), groups=ch)


def augment(x, a, gen):
    """colnet's warp (src/augment.c) on a batch: q = M^-1 (p + d(p) - t), bilinear, zeros."""
    n, _, h, w = x.shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    s = a.shift
    tx = torch.randint(-s, s + 1, (n,), generator=gen).float()
    ty = torch.randint(-s, s + 1, (n,), generator=gen).float()
    ang = (torch.rand(n, generator=gen) * 2 - 1) * a.rotate * math.pi / 180
    sc = 1 + (torch.rand(n, generator=gen) * 2 - 1) * a.scale
    cs, sn = torch.cos(ang) / sc, torch.sin(ang) / sc
    # M^-1 in normalized coordinates (x / cx, y / cy)
    a00, a01, a10, a11 = cs, -sn * cy / cx, sn * cx / cy, cs
    txn, tyn = tx / cx, ty / cy
    theta = torch.stack([torch.stack([a00, a01, -(a00 * txn + a01 * tyn)], 1),
                         torch.stack([a10, a11, -(a10 * txn + a11 * tyn)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    if a.elastic_alpha > 0:
        field = torch.rand(n, 2, h, w, generator=gen) * 2 - 1
        d = gaussian_blur(field, a.elastic_sigma) * a.elastic_alpha
        dxn, dyn = d[:, 0] / cx, d[:, 1] / cy
        grid = grid + torch.stack([a00.view(n, 1, 1) * dxn + a01.view(n, 1, 1) * dyn,
                                   a10.view(n, 1, 1) * dxn + a11.view(n, 1, 1) * dyn], -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def parse_augment(text, a):
    a.shift, a.rotate, a.scale, a.elastic_alpha, a.elastic_sigma = 0, 0.0, 0.0, 0.0, 1.0
    if not text or text == "none":
        return False
    for item in text.split(","):
        name, *vals = item.split(":")
        if name == "shift":
            a.shift = int(vals[0])
        elif name == "rotate":
            a.rotate = float(vals[0])
        elif name == "scale":
            a.scale = float(vals[0])
        elif name == "elastic":
            a.elastic_alpha, a.elastic_sigma = float(vals[0]), float(vals[1])
    return True


def averaged(model):
    """The tensors the weight average covers: parameters and batchnorm running statistics."""
    return [p for p in model.parameters()] + [b for n, b in model.named_buffers()
                                              if not n.endswith("num_batches_tracked")]


def evaluate(model, x, y, layout):
    model.eval()
    right = 0
    with torch.inference_mode():
        for i in range(0, len(y), 1000):
            batch = x[i:i + 1000].contiguous(memory_format=layout)
            right += (model(batch).argmax(1) == y[i:i + 1000]).sum().item()
    return right / len(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--spec", required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--optim", choices=["adam", "momentum"], required=True)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--schedule", default="const")
    ap.add_argument("--lr-min", type=float, default=0.0)
    ap.add_argument("--peak", type=float, default=0.0)
    ap.add_argument("--warmup", type=float, default=0.0)
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--ema", type=float, default=0.0)
    ap.add_argument("--augment", default="none")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.99)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images (smoke runs)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1)
    aug = parse_augment(a.augment, a)
    xtr, ytr = load(a.data, True)
    xte, yte = load(a.data, False)
    if a.limit:
        xtr, ytr = xtr[:a.limit], ytr[:a.limit]
    model = build(a.spec, (1, 28, 28))
    has_conv = any(p.split()[0] == "conv" for p in a.spec.split("|"))
    layout = torch.channels_last if has_conv else torch.contiguous_format
    model = model.to(memory_format=layout)
    if a.optim == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum,
                              nesterov=a.nesterov, weight_decay=a.weight_decay)
    ema_model, updates = None, 0
    if a.ema > 0:
        ema_model = build(a.spec, (1, 28, 28)).to(memory_format=layout)
        ema_model.load_state_dict(model.state_dict())
        ema_tensors, live_tensors = averaged(ema_model), averaged(model)
    n = len(ytr)
    steps = (n + a.batch - 1) // a.batch
    acc, reached, epoch = 0.0, False, 0
    for epoch in range(1, a.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for s in range(steps):
            idx = perm[s * a.batch:(s + 1) * a.batch]
            x, y = xtr[idx].contiguous(memory_format=layout), ytr[idx]
            if aug:
                x = augment(x, a, gen).contiguous(memory_format=layout)
            for g in opt.param_groups:
                g["lr"] = sched_lr(a, epoch - 1 + s / steps)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y, label_smoothing=a.label_smoothing)
            loss.backward()
            opt.step()
            if ema_model is not None:
                d = min(a.ema, (1 + updates) / (10 + updates))
                with torch.no_grad():  # two fused calls over all tensors, not two per tensor
                    torch._foreach_mul_(ema_tensors, d)
                    torch._foreach_add_(ema_tensors, live_tensors, alpha=1 - d)
                updates += 1
        acc = evaluate(ema_model if ema_model is not None else model, xte, yte, layout)
        print(f"epoch {epoch} test_acc {100 * acc:.2f}%", flush=True)
        if acc >= a.target:
            reached = True
            break
    print(f"result acc={acc:.4f} reached={int(reached)} epochs={epoch}", flush=True)


if __name__ == "__main__":
    main()
