"""Training speed of nnlib against scikit-learn's MLPClassifier and PyTorch (CPU), per epoch.

Run ``python benchmarks/train_speed.py`` (or ``make bench``). Every library trains the same architecture on the
same objective (cross-entropy plus scikit-learn's L2 penalty) with plain minibatch gradient descent (no momentum,
constant learning rate, no early stop) for the same epochs; the table shows the median seconds per epoch over the
repetitions, samples per second, and each library's time as a ratio to nnlib's (above 1: slower than nnlib).

The machine's matrix-multiply (GEMM) rate, the best of a few 2048 x 2048 products, is the ceiling for workload 4,
whose achieved rate counts 6 x parameters x samples floating-point operations per epoch. It is measured at the start
(the table's header) and again right before each of nnlib's workload-4 epochs; nnlib's median epoch is compared
with the median of those, taken under the same conditions.

``--quick`` runs tiny sizes (a smoke test used by the test suite); PyTorch is used when it is installed
(``pip install torch==2.13.0``; it is not a course requirement).
"""

import argparse
import platform
import statistics
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler

from nnlib import MLPClassifier
from nnlib.datasets import load_wine_frame

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None


def gemm_rate(dtype, n=2048, repeats=5):
    """Best GFLOP/s of an n x n matrix product (2 n^3 flops)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    a @ b  # warm up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def n_parameters(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def layer_sizes(w):
    """Units of every layer of workload ``w``'s network: inputs, hidden layers, one output per class."""
    return [w["X"].shape[1], *w["hidden"], int(w["y"].max()) + 1]


def flops_per_epoch(w):
    """6 x parameters x samples: the forward and backward matrix products of one epoch."""
    return 6 * n_parameters(layer_sizes(w)) * len(w["X"])


# -- the workloads ------------------------------------------------------------------------------------------------
def workloads(quick):
    X_moons, y_moons = make_moons(200, noise=0.2, random_state=0)
    wine = load_wine_frame()
    X_wine = StandardScaler().fit_transform(wine.drop(columns="target").to_numpy())
    y_wine = wine["target"].to_numpy()
    X_digits, y_digits = load_digits(return_X_y=True)
    X_digits = X_digits / 16.0
    n_big = 2_000 if quick else 100_000
    rng = np.random.default_rng(0)
    X_big = rng.standard_normal((n_big, 100))
    y_big = np.argmax(X_big @ rng.standard_normal((100, 10)), axis=1)
    scale = 0.01 if quick else 1.0
    return [
        dict(name="1 moons 2-3-2 tanh, full batch", X=X_moons, y=y_moons, hidden=(3,), activation="tanh",
             batch=None, epochs=max(20, int(2000 * scale)), lr=0.5),
        dict(name="2 wine 13-13-13-13-3 relu, batch 32", X=X_wine, y=y_wine, hidden=(13, 13, 13),
             activation="relu", batch=32, epochs=max(5, int(200 * scale)), lr=0.05),
        dict(name="3 digits 64-128-10 relu, batch 64", X=X_digits, y=y_digits, hidden=(128,), activation="relu",
             batch=64, epochs=max(2, int(50 * scale)), lr=0.05),
        dict(name="4 synthetic 100-512-512-10 relu, batch 256, float64", X=X_big, y=y_big, hidden=(512, 512),
             activation="relu", batch=256, epochs=1, lr=0.01, big=True),
        dict(name="4 synthetic 100-512-512-10 relu, batch 256, float32", X=X_big.astype(np.float32), y=y_big,
             hidden=(512, 512), activation="relu", batch=256, epochs=1, lr=0.01, big=True, float32=True),
    ]


# -- one fit per library ------------------------------------------------------------------------------------------
ALPHA = 1e-4  # L2 strength (scikit-learn's default), the same objective for all three libraries


def fit_nnlib(w, seed):
    MLPClassifier(w["hidden"], w["activation"], learning_rate_init=w["lr"], batch_size=w["batch"],
                  max_iter=w["epochs"], n_iter_no_change=10**9, alpha=ALPHA, random_state=seed,
                  dtype="float32" if w.get("float32") else "float64").fit(w["X"], w["y"])


def fit_sklearn(w, seed):
    model = SklearnMLP(w["hidden"], activation=w["activation"], solver="sgd", momentum=0.0, nesterovs_momentum=False,
                       learning_rate="constant", learning_rate_init=w["lr"], alpha=ALPHA,
                       batch_size=w["batch"] or len(w["X"]), max_iter=w["epochs"], shuffle=True, tol=0.0,
                       n_iter_no_change=10**9, early_stopping=False, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # we stop at max_iter on purpose
        model.fit(w["X"], w["y"])


def fit_torch(w, seed):
    torch.manual_seed(seed)
    dtype = torch.float32 if w.get("float32") else torch.float64
    X = torch.tensor(np.asarray(w["X"]), dtype=dtype)  # copies: some inputs are read-only NumPy views
    y = torch.tensor(np.asarray(w["y"]), dtype=torch.long)
    sizes = layer_sizes(w)
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[w["activation"]]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(act())
    model = torch.nn.Sequential(*layers)
    n = X.shape[0]
    batch = w["batch"] or n
    # nnlib and scikit-learn add (alpha / 2 n_batch) ||W||^2 to each batch's loss (weights only, not biases): its
    # gradient is (alpha / n_batch) W, which is SGD's weight_decay on the weights
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimiser = torch.optim.SGD([{"params": weights, "weight_decay": ALPHA / batch}, {"params": biases}], lr=w["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(w["epochs"]):
        order = torch.randperm(n) if batch < n else torch.arange(n)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            optimiser.zero_grad()
            loss = loss_fn(model(X[index]), y[index])
            loss.backward()
            optimiser.step()


def time_per_epoch(fit, w, repeats, ceiling=None):
    """Median seconds per epoch over ``repeats`` fits (after one warm-up fit).

    With ``ceiling`` (a function returning the GEMM rate), it is also measured right before each fit: the machine's
    speed drifts during a run (this VM's float32 GEMM rate moved between 112 and 185 GFLOP/s within an hour), so an
    epoch is compared with the ceiling measured seconds before it.

    Returns the median seconds per epoch and the median ceiling (None without ``ceiling``).
    """
    fit(w, 0)  # warm up (imports, caches, thread pools)
    times, rates = [], []
    for seed in range(repeats):
        if ceiling is not None:
            rates.append(ceiling())
        times.append(_timed(lambda: fit(w, seed)) / w["epochs"])  # noqa: B023 (called at once)
    return statistics.median(times), statistics.median(rates) if rates else None


def peak_memory_ratio(w):
    """nnlib's peak traced allocation during fit, over the size of X, y and the parameters."""
    X, y = w["X"], w["y"]
    base = X.nbytes + y.nbytes + n_parameters(layer_sizes(w)) * X.dtype.itemsize
    tracemalloc.start()
    fit_nnlib(w, 0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # X and y already exist before fit; the base counts them once, the peak counts what fit adds on top.
    return (base + peak) / base


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (a smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per measurement (default 5)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    use_torch = torch is not None and not args.no_torch
    if use_torch:
        torch.set_num_threads(2)

    gemm_size = 256 if args.quick else 2048
    rates = {"float64": gemm_rate(np.float64, gemm_size), "float32": gemm_rate(np.float32, gemm_size)}
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, numpy {np.__version__}"
          + (f", torch {torch.__version__}" if use_torch else ", torch not installed"))
    print(f"GEMM rate: float64 {rates['float64']:.1f} GFLOP/s, float32 {rates['float32']:.1f} GFLOP/s\n")

    libraries = [("nnlib", fit_nnlib), ("scikit-learn", fit_sklearn)] + ([("PyTorch", fit_torch)] if use_torch else [])
    header = f"| {'workload':<52} | {'library':<12} | {'s/epoch':>10} | {'samples/s':>11} | {'vs nnlib':>8} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    notes = []
    for w in workloads(args.quick):
        dtype = "float32" if w.get("float32") else "float64"
        times, ceilings = {}, {}
        for name, fit in libraries:
            # workload 4's ceiling is measured alongside nnlib's epochs (see time_per_epoch)
            big = name == "nnlib" and w.get("big")
            measure = (lambda: gemm_rate(np.dtype(dtype), gemm_size, 3)) if big else None  # noqa: B023 (this round's)
            times[name], ceilings[name] = time_per_epoch(fit, w, repeats, measure)
            ratio = times[name] / times["nnlib"]
            print(f"| {w['name']:<52} | {name:<12} | {times[name]:>10.3g} | {len(w['X']) / times[name]:>11,.0f} "
                  f"| {ratio:>7.2f}x |", flush=True)
        if w.get("big"):
            achieved = flops_per_epoch(w) / times["nnlib"] / 1e9
            ceiling = ceilings["nnlib"]
            notes.append(f"workload {w['name'][:1]} {dtype}: nnlib {achieved:.1f} GFLOP/s = {achieved / ceiling:.0%} "
                         f"of the {dtype} GEMM rate measured right before each of its epochs (median {ceiling:.1f} "
                         f"GFLOP/s; {achieved / rates[dtype]:.0%} of the rate measured at the start); "
                         f"peak memory {peak_memory_ratio(w):.2f}x data + parameters")
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
