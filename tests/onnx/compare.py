"""Hold two raw float32 output files [N, K] against each other (tests/onnx.sh).

  compare.py close A.bin B.bin K TOL LABEL   |a - b| over max |b|, whole batch (the norm-wise
                                             relative error), must be <= TOL
  compare.py same-argmax A.bin B.bin K LABEL the predicted class of every image must agree

Prints one line with the figures; exits 1 when the check fails.
"""
import sys

import numpy as np


def load(path, k):
    a = np.fromfile(path, np.float32)
    if a.size == 0 or a.size % k:
        sys.exit("compare: %s holds %d floats, not rows of %d" % (path, a.size, k))
    return a.reshape(-1, k).astype(np.float64)


def main():
    mode, pa, pb, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    a, b = load(pa, k), load(pb, k)
    if a.shape != b.shape:
        sys.exit("compare: %s is %s, %s is %s" % (pa, a.shape, pb, b.shape))
    if mode == "close":
        tol, label = float(sys.argv[5]), sys.argv[6]
        diff = np.abs(a - b)
        rel = diff.max() / np.abs(b).max()
        # per element, against the larger of the element and 1% of the batch's scale
        elem = (diff / np.maximum(np.abs(b), 0.01 * np.abs(b).max())).max()
        ok = rel <= tol
        print("%-28s %5d images: max |diff| %.3g, relative %.3g (per element %.3g) %s %g: %s"
              % (label, a.shape[0], diff.max(), rel, elem, "<=" if ok else ">", tol,
                 "ok" if ok else "FAILED"))
        return 0 if ok else 1
    label = sys.argv[5]
    differ = int((a.argmax(1) != b.argmax(1)).sum())
    print("%-28s %5d images: %d predictions differ: %s"
          % (label, a.shape[0], differ, "ok" if differ == 0 else "FAILED"))
    return 0 if differ == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
