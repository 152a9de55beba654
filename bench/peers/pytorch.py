#!/usr/bin/python3
"""The PyTorch peer of bench_train: the same zoo models, batch sizes and thread counts, on
synthetic data, timed the same way (warm-up, runs of about --seconds, median of 3).

Models are built from colnet's own spec lines, read from bench/results/zoo.tsv (written by
bench_train, with each model's optimizer recipe) so the two benches cannot drift apart; a
built-in copy of the zoo is used when that file is missing. Layers map one to one: conv ->
Conv2d, maxpool/avgpool -> MaxPool2d/AvgPool2d (avg counts padding as zeros, as colnet does),
linear -> Flatten + Linear, dropout -> Dropout, batchnorm -> BatchNorm2d (BatchNorm1d after
linear), rbf -> Flatten + a small RBF module (PyTorch has none: ||x-mu||^2 as colnet computes
it, a matrix product plus norms, then the kernel). Only the flatten order differs from colnet,
not the work.
Training step: zero_grad, forward, cross-entropy, backward, optimizer step. Inference runs
under torch.inference_mode() in eval mode. Writes bench/results/pytorch.csv.

Allocator: glibc's malloc returns PyTorch's large blocks to the system after each step unless
its mmap and trim thresholds are raised, which made a training loop up to 3.7x slower. The peer
says which it runs (TUNED_MALLOC, or the default) and writes it into each row; end_to_end.sh
runs it both ways and compare.sh takes PyTorch's best of {default, tuned} x {1, 2 threads} x
{NCHW, channels_last}.

Memory layout: PyTorch's default is NCHW, but a user who tunes it converts a conv net and its
inputs to torch.channels_last (NHWC, colnet's own layout), and oneDNN then runs NHWC kernels:
a small conv-batchnorm-pool net trained 1.4x faster that way at batch 200 on 2 threads (8.6-9.3
ms a step against 12.6-13.4). So the layout is one of PyTorch's settings, like threads:
--layouts nchw,nhwc (the default) times each model both ways in the same rounds, each layout
with its own copy of the model and optimizer, and writes it as the CSV's last column (nchw or
nhwc). A model with no 4-D layer (conv, pool, batchnorm before the flatten; mlp, rbf) has no
layout to choose: it runs once, written as "flat".

Run with Debian's interpreter: /usr/bin/python3 bench/peers/pytorch.py (python3-torch).
"""
import argparse
import os
import statistics
import sys
import time

# name -> (spec, optimizer, lr, momentum, weight_decay), as in src/zoo.c
ZOO = {
    "tutorial-cnn": ("conv 32 k3 p1 relu | maxpool 2 | conv 64 k3 p1 relu | maxpool 2 | "
                     "linear 10 init=xavier", "adam", 0.001, 0.0, 0.0),
    "deep-cnn": ("conv 32 k3 p1 relu | maxpool 2 | conv 64 k3 p1 relu | maxpool 2 | "
                 "conv 128 k3 p1 relu | maxpool 2 p1 | linear 625 relu init=xavier | "
                 "dropout 0.5 | linear 10 init=xavier", "adam", 0.001, 0.0, 0.0),
    "deep-cnn-bn": ("conv 32 k3 p1 nobias | batchnorm relu | maxpool 2 | conv 64 k3 p1 nobias | "
                    "batchnorm relu | maxpool 2 | conv 128 k3 p1 nobias | batchnorm relu | "
                    "maxpool 2 p1 | linear 625 nobias init=xavier | batchnorm relu | "
                    "dropout 0.5 | linear 10 init=xavier", "adam", 0.001, 0.0, 0.0),
    "lenet5": ("conv 6 k5 p2 tanh | avgpool 2 | conv 16 k5 tanh | avgpool 2 | "
               "linear 120 tanh | linear 84 tanh | linear 10", "momentum", 0.05, 0.9, 0.0),
    "sigmoid-cnn": ("conv 6 k5 sigmoid | maxpool 2 | conv 12 k5 sigmoid | maxpool 2 | "
                    "linear 10", "momentum", 0.05, 0.9, 0.0),
    "mlp": ("linear 256 relu | linear 10", "momentum", 0.05, 0.9, 0.0),
    "rbf": ("linear 64 sigmoid | rbf 100 gaussian | linear 10", "momentum", 0.05, 0.9, 0.0),
    "cnn-rbf": ("conv 6 k5 sigmoid | maxpool 2 | conv 12 k5 sigmoid | maxpool 2 | "
                "rbf 100 gaussian | linear 10", "momentum", 0.05, 0.9, 0.0),
    "avgpool-cnn": ("conv 4 k3 p1 relu | avgpool 2 | conv 4 k3 p1 relu | avgpool 2 | "
                    "linear 10", "momentum", 0.015, 0.9, 0.0005),
}


def read_zoo(path):
    """bench_train's zoo.tsv: name, spec, optimizer, lr, momentum, weight decay per line."""
    zoo = {}
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) == 6:
                zoo[p[0]] = (p[1], p[2], float(p[3]), float(p[4]), float(p[5]))
    return zoo


def pair(text):
    a, _, b = text.partition("x")
    return (int(a), int(b or a))


def rbf_module(nn, d, k, gaussian):
    """colnet's rbf layer: k centers mu [k, d], widths gamma = exp(lg), exp(-r) or 1/sqrt(1+r)
    with r = gamma * max(|x|^2 - 2 x.mu + |mu|^2, 0)."""
    import torch

    class RBF(nn.Module):
        def __init__(self):
            super().__init__()
            self.mu = nn.Parameter(0.3 + 0.4 * torch.rand(k, d))
            self.lg = nn.Parameter(torch.full((k,), float(torch.log(torch.tensor(75.0 / d)))))

        def forward(self, x):
            d2 = (x * x).sum(1, keepdim=True) - 2 * x @ self.mu.t() + (self.mu * self.mu).sum(1)
            r = torch.exp(self.lg) * torch.clamp(d2, min=0)
            return torch.exp(-r) if gaussian else torch.rsqrt(1 + r)

    return RBF()


def build(spec, nn, shape=(1, 28, 28)):
    """A torch.nn.Sequential equal to colnet's spec grammar (see include/colnet.h)."""
    acts = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "identity": nn.Identity}
    c, h, w = shape
    flat = False
    layers = []

    def act(tok):
        if tok in acts:
            layers.append(acts[tok]())
        elif tok.startswith("leaky"):
            layers.append(nn.LeakyReLU(float(tok[6:]) if "=" in tok else 0.01))
        else:
            return False
        return True

    for part in spec.split("|"):
        tok = part.split()
        kind, rest = tok[0], tok[1:]
        if kind in ("conv", "maxpool", "avgpool"):
            k = s = p = None
            at = len(layers)  # the layer goes before the activation its tokens append
            out = int(rest[0]) if kind == "conv" else c
            for t in rest[1:] if kind == "conv" else rest:
                if t[0] == "k" and t[1:2].isdigit():
                    k = pair(t[1:])
                elif t[0] == "s" and t[1:2].isdigit():
                    s = pair(t[1:])
                elif t[0] == "p" and t[1:2].isdigit():
                    p = pair(t[1:])
                elif t[0].isdigit():
                    k = pair(t)
                elif not t.startswith("init=") and t != "nobias" and not act(t):
                    raise ValueError("unknown token %r in %r" % (t, part))
            p = p or (0, 0)
            s = s or ((1, 1) if kind == "conv" else k)
            if kind == "conv":
                layer = nn.Conv2d(c, out, k, stride=s, padding=p, bias="nobias" not in rest)
            elif kind == "maxpool":
                layer = nn.MaxPool2d(k, stride=s, padding=p)
            else:
                layer = nn.AvgPool2d(k, stride=s, padding=p, count_include_pad=True)
            layers.insert(at, layer)
            c, h, w = out, (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
        elif kind in ("linear", "rbf"):  # both flatten their input
            if not flat:
                layers.append(nn.Flatten())
                flat = True
            out = int(rest[0])
            at = len(layers)
            own = ("gaussian", "imq") if kind == "rbf" else ("nobias",)
            for t in rest[1:]:
                if not t.startswith("init=") and t not in own and not act(t):
                    raise ValueError("unknown token %r in %r" % (t, part))
            if kind == "rbf":
                layer = rbf_module(nn, c * h * w, out, "imq" not in rest)
            else:
                layer = nn.Linear(c * h * w, out, bias="nobias" not in rest)
            layers.insert(at, layer)
            c, h, w = out, 1, 1
        elif kind == "dropout":
            p = 0.5
            at = len(layers)
            for t in rest:
                if t[0].isdigit() or t[0] == ".":
                    p = float(t)
                elif not act(t):
                    raise ValueError("unknown token %r in %r" % (t, part))
            layers.insert(at, nn.Dropout(p))
        elif kind == "batchnorm":
            at = len(layers)
            for t in rest:
                if not act(t):
                    raise ValueError("unknown token %r in %r" % (t, part))
            layers.insert(at, nn.BatchNorm1d(c * h * w) if flat else nn.BatchNorm2d(c))
        elif kind == "flatten":
            layers.append(nn.Flatten())
            flat = True
        elif not act(kind):
            raise ValueError("unknown layer %r" % part)
    return nn.Sequential(*layers)


def same_kernels_as_colnet():
    """colnet's AVX-512 kernel rule (src/cli/main.c), applied to the OpenBLAS PyTorch links for
    its Linear layers, before torch loads: on an AVX-512 CPU where OpenBLAS runs an AVX2
    family, re-execute with OPENBLAS_CORETYPE=SkylakeX, so the colnet/PyTorch ratio compares
    engines, not kernel families. COLNET_KEEP_CORETYPE=1 keeps OpenBLAS's choice for both."""
    if os.environ.get("COLNET_CORETYPE_FROM"):
        return "applied: OpenBLAS ran %s, re-executed with OPENBLAS_CORETYPE=%s" % (
            os.environ["COLNET_CORETYPE_FROM"], os.environ.get("OPENBLAS_CORETYPE"))
    try:
        import ctypes
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode()
        with open("/proc/cpuinfo") as f:
            flags = next((l.split() for l in f if l.startswith("flags")), [])
    except (OSError, AttributeError):
        return "unknown (no libopenblas.so.0 to ask)"
    if not all(f in flags for f in ("avx512f", "avx512bw", "avx512vl", "avx512dq")):
        return "not needed: the CPU has no AVX-512"
    if any(k in core for k in ("Skylake", "Cooperlake", "Sapphire")):
        return "not needed: OpenBLAS runs %s" % core
    if os.environ.get("COLNET_KEEP_CORETYPE"):
        return "not applied: COLNET_KEEP_CORETYPE keeps %s" % core
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", COLNET_CORETYPE_FROM=core)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
    return "failed"


ROUNDS = 3

# --layouts names -> torch memory formats (nhwc = torch.channels_last)
LAYOUTS = ("nchw", "nhwc")


def memory_format(torch, layout):
    return torch.channels_last if layout == "nhwc" else torch.contiguous_format


def model_layouts(model, nn, wanted):
    """The layouts worth timing for this model: all of `wanted` if it has a layer that works on
    4-D tensors, else one run marked 'flat' (its first layer flattens: no layout to choose)."""
    spatial = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.BatchNorm2d)
    if any(isinstance(m, spatial) for m in model.modules()):
        return list(wanted)
    return ["flat"]


def make_optimizer(torch, model, optim, lr, mom, wd):
    """The zoo recipe's optimizer over model's parameters."""
    if optim == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    # sgd, momentum (heavy ball, as torch's), momentum-ema (dampening = beta)
    m = 0.0 if optim == "sgd" else mom
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=m, weight_decay=wd,
                           dampening=m if optim == "momentum-ema" else 0.0)

# glibc's settings that keep freed blocks for reuse (values as bench/end_to_end.sh sets them)
TUNED_MALLOC = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def allocator():
    """'tuned' when glibc's thresholds are raised in this process's environment, else 'default',
    and the settings in words."""
    set_ = ["%s=%s" % (v, os.environ[v]) for v in TUNED_MALLOC if v in os.environ]
    if not set_:
        return "default", "glibc malloc, default thresholds"
    return "tuned", "glibc malloc, " + " ".join(set_)


def images_per_sec(step, n, seconds, steps):
    """As bench_train: 2 warm-up steps, then one run of about `seconds`, stopped at 3x its
    planned time (a busy machine); steps[0] sizes it, counted on the first call for
    seconds/20. Each figure is the median of ROUNDS such runs, the rounds going through every
    batch size, mode and thread count in turn."""
    step(), step()
    if not steps[0]:
        t0, calib = time.perf_counter(), 0
        while calib == 0 or time.perf_counter() - t0 < seconds / 20:
            step()
            calib += 1
        steps[0] = int(seconds / ((time.perf_counter() - t0) / calib)) + 1
    t, done = time.perf_counter(), 0
    while done < steps[0] and (done == 0 or time.perf_counter() - t < 3 * seconds):
        step()
        done += 1
    return n * done / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=None)
    ap.add_argument("--batches", default="1,32,100,256")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--infer-batch", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=0.25)
    ap.add_argument("--layouts", default="nchw,nhwc",
                    help="memory layouts to time conv nets in: nchw, nhwc (channels_last)")
    ap.add_argument("--zoo", default="bench/results/zoo.tsv")
    ap.add_argument("--csv", default="bench/results/pytorch.csv")
    a = ap.parse_args()
    kernels = same_kernels_as_colnet()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError:
        print("pytorch peer: torch is not importable by %s; install Debian's python3-torch "
              "to compare (skipped)" % sys.executable)
        return 0
    zoo = read_zoo(a.zoo) if os.path.exists(a.zoo) else ZOO
    names = a.models.split(",") if a.models else list(zoo)
    batches = [int(b) for b in a.batches.split(",")]
    threads = [int(t) for t in a.threads.split(",")]
    layouts = a.layouts.split(",")
    if not layouts or any(l not in LAYOUTS for l in layouts):
        ap.error("--layouts takes a comma-separated list of %s" % ", ".join(LAYOUTS))
    cap = [l.strip(" -") for l in torch.__config__.show().splitlines() if "CPU capability" in l]
    print("== PyTorch peer: torch %s (%s), models from %s ==" %
          (torch.__version__, cap[0] if cap else "?",
           a.zoo if zoo is not ZOO else "the built-in copy"))
    print("OpenBLAS kernels (PyTorch's Linear layers): %s" % kernels)
    alloc, alloc_words = allocator()
    print("allocator: %s (%s)" % (alloc, alloc_words))
    print("layouts: %s (models with no conv, pool or batchnorm layer run once: 'flat')"
          % ", ".join(l + (" (channels_last)" if l == "nhwc" else "") for l in layouts))
    torch.manual_seed(1)
    rows = []
    for name in names:
        spec, optim, lr, mom, wd = zoo[name]
        # one model and optimizer per layout, the same initial weights in each
        seed = torch.randint(0, 2 ** 31, ()).item()
        nets = {}
        for lay in model_layouts(build(spec, nn), nn, layouts):
            torch.manual_seed(seed)
            model = build(spec, nn).to(memory_format=memory_format(torch, lay))
            nets[lay] = (model, make_optimizer(torch, model, optim, lr, mom, wd))
        params = sum(p.numel() for p in model.parameters())
        # PyTorch refuses to train BatchNorm1d on one row (colnet gives y = beta): no figure
        bn1d = any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
        print("\n### %s: %s\n%d parameters, %s lr %g\n  batch thr layout  train img/s    "
              "infer img/s" % (name, spec, params, optim, lr))
        runs = []  # (n, threads, layout, train?, model, step, its steps counter, its rates)
        for n in batches + ([a.infer_batch] if a.infer_batch > 0 else []):
            infer_only = n == a.infer_batch and n not in batches
            x = torch.rand(n, 1, 28, 28)
            y = torch.randint(0, 10, (n,))
            for t in threads:
                for lay, (model, opt) in nets.items():
                    xl = x.contiguous(memory_format=memory_format(torch, lay))

                    def train_step(x=xl, y=y, model=model, opt=opt):
                        opt.zero_grad()
                        F.cross_entropy(model(x), y).backward()
                        opt.step()

                    def infer_step(x=xl, model=model):
                        with torch.inference_mode():
                            model(x)

                    if not infer_only and not (n == 1 and bn1d):
                        runs.append((n, t, lay, True, model, train_step, [0], []))
                    runs.append((n, t, lay, False, model, infer_step, [0], []))
        for _ in range(ROUNDS):
            for n, t, lay, train, model, step, steps, rates in runs:
                torch.set_num_threads(t)
                model.train(train)
                rates.append(images_per_sec(step, n, a.seconds, steps))
        med = {r[:4]: statistics.median(r[-1]) for r in runs}
        for n, t, lay in dict.fromkeys(r[:3] for r in runs):
            tr, inf = med.get((n, t, lay, True)), med[(n, t, lay, False)]
            print("  %5d %3d %-6s %12s %14.0f" % (n, t, lay, "-" if tr is None else "%.0f" % tr,
                                                  inf))
            rows.append("%s,%d,%d,%s,%.1f,%s,%s" % (name, n, t, "" if tr is None else "%.1f" % tr,
                                                     inf, alloc, lay))
    if a.csv != "-":
        os.makedirs(os.path.dirname(a.csv) or ".", exist_ok=True)
        tmp = a.csv + ".tmp"
        with open(tmp, "w") as f:
            f.write("model,batch,threads,train_images_per_sec,infer_images_per_sec,allocator,"
                    "layout\n")
            f.write("".join(r + "\n" for r in rows))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, a.csv)
        print("wrote %s" % a.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
