"""How close nnlib comes to what NumPy allows on workload 4 (100-512-512-10 relu, batch 256).

Run ``python benchmarks/numpy_limit.py``. Three ways to train one epoch take turns, each round starting with a
fresh measurement of the machine's GEMM rate (the ceiling, as in ``train_speed.py``):

- **matrix products only**: the seven matrix products of every batch's training step and nothing else. No NumPy
  program that computes these products can be faster, so this is the ceiling of the approach itself;
- **hand-written NumPy**: the whole training step (forward pass, cross-entropy objective with the L2 penalty,
  backward pass, update) written as one loop over preallocated arrays, every operation in place where NumPy allows,
  and no checks: what a careful float32 NumPy MLP achieves;
- **nnlib**: ``nnlib.MLPClassifier`` with the settings of ``train_speed.py``.

The table shows the median seconds per epoch and each one's GFLOP/s (6 x parameters x samples per epoch, the count
of ``train_speed.py``) as a share of the median GEMM rate of the same rounds.
"""

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import ALPHA, _timed, fit_nnlib, flops_per_epoch, gemm_rate, layer_sizes, workloads  # noqa: E402


def matrix_products_only(w, seed):
    """One epoch of only the matrix products of training (outputs discarded)."""
    X = w["X"]
    rng = np.random.default_rng(seed)
    sizes = layer_sizes(w)
    Ws = [rng.uniform(-0.1, 0.1, (a, b)).astype(X.dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    batch = w["batch"]
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch):
        A = [X[order[start : start + batch]]]
        for W in Ws:                                     # forward: A_{l+1} = A_l W_l
            A.append(A[-1] @ W)
        d = A[-1]
        for layer in range(len(Ws) - 1, -1, -1):        # backward: dW_l = A_l^T d, d = d W_l^T (not for layer 0)
            A[layer].T @ d
            if layer:
                d = d @ Ws[layer].T


def hand_written(w, seed):
    """One epoch of the full training step, written as tightly as NumPy allows (preallocated, in place).

    Returns the trained weights and biases and the sum of the batches' objectives (``tests/project/test_benchmarks.py``
    checks them against nnlib, so that this loop cannot win by doing less).
    """
    X, dtype, batch, lr = w["X"], w["X"].dtype, w["batch"], w["lr"]
    rng = np.random.default_rng(seed)
    sizes = layer_sizes(w)
    Ws = [rng.uniform(-0.1, 0.1, (a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b, dtype) for b in sizes[1:]]
    dWs, dbs = [np.empty_like(W) for W in Ws], [np.empty_like(b) for b in bs]
    steps = [np.empty_like(W) for W in Ws]
    targets, labels = np.eye(sizes[-1], dtype=dtype), w["y"]
    order = rng.permutation(len(X))
    total = 0.0
    for start in range(0, len(X), batch):
        rows = order[start : start + batch]
        n = len(rows)
        A = [X[rows]]
        for layer, (W, b) in enumerate(zip(Ws, bs)):
            Z = A[-1] @ W
            Z += b
            if layer < len(Ws) - 1:
                np.maximum(Z, 0, out=Z)
            A.append(Z)
        Z, Y = A.pop(), targets[labels[rows]]
        Z -= Z.max(axis=1, keepdims=True)
        true_class = Z[Y > 0]
        np.exp(Z, out=Z)
        sums = Z.sum(axis=1, keepdims=True)
        total += (np.log(sums).sum() - true_class.sum()) / n  # the batch's cross-entropy
        total += 0.5 * ALPHA * sum(float(np.vdot(W, W)) for W in Ws) / n
        Z /= sums
        Z -= Y
        Z /= n
        d = Z
        for layer in range(len(Ws) - 1, -1, -1):
            np.matmul(A[layer].T, d, out=dWs[layer])
            d.sum(axis=0, out=dbs[layer])
            if layer:
                d = d @ Ws[layer].T
                d *= A[layer] > 0
        for W, dW, b, db, step in zip(Ws, dWs, bs, dbs, steps):
            np.multiply(W, 1.0 - lr * ALPHA / n, out=W)  # the L2 penalty's gradient, as a decay of W
            np.multiply(dW, lr, out=step)
            W -= step
            b -= lr * db
    return Ws, bs, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (a smoke test)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 7)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 7)
    w = next(w for w in workloads(args.quick) if w.get("big") and bool(w.get("float32")) == (args.dtype == "float32"))
    dtype, gemm_size = np.dtype(args.dtype), 256 if args.quick else 2048
    flops = flops_per_epoch(w)

    contenders = [("matrix products only", matrix_products_only), ("hand-written NumPy", hand_written),
                  ("nnlib", fit_nnlib)]
    for _, fit in contenders:
        fit(w, 0)  # warm up
    times = {name: [] for name, _ in contenders}
    rates = []
    for seed in range(rounds):
        rates.append(gemm_rate(dtype, gemm_size, repeats=3))
        for name, fit in contenders:
            times[name].append(_timed(lambda: fit(w, seed)))  # noqa: B023 (called at once, in this iteration)
    ceiling = statistics.median(rates)

    print(f"{w['name']}, {len(w['X']):,} samples; median of {rounds} rounds")
    print(f"GEMM rate (median of the rounds): {ceiling:.1f} GFLOP/s\n")
    header = f"| {'implementation':<22} | {'s/epoch':>8} | {'GFLOP/s':>8} | {'of the GEMM rate':>16} |"
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    for name, _ in contenders:
        seconds = statistics.median(times[name])
        rate = flops / seconds / 1e9
        print(f"| {name:<22} | {seconds:>8.3g} | {rate:>8.1f} | {rate / ceiling:>16.0%} |")


if __name__ == "__main__":
    main()
