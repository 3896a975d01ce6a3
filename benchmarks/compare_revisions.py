"""nnlib's training speed now against nnlib at an earlier git revision, fits taking turns in one process.

    python benchmarks/compare_revisions.py 7c5b910          # or any revision: a tag, a branch, HEAD~3
    python benchmarks/compare_revisions.py HEAD~1 --rounds 9

The earlier nnlib is exported from git into a temporary folder as the package ``nnlib_base``, so both versions run
in the same process on the same data. Each round fits both (in alternating order) and times the fit in **CPU
time** of the process (``time.process_time``), which other programs on a busy machine disturb far less than wall
time: on this project's shared 2-core machines the wall-clock time of one fit moves by 20-30 % from minute to
minute. The table shows the median seconds per epoch of each version and their ratio (below 1: faster now).
``--quick`` uses tiny sizes (the test suite's smoke test).
"""

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_moons
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]


def export_nnlib(revision, folder):
    """Write nnlib as it was at ``revision`` into ``folder/nnlib_base`` and return that package, imported."""
    archive = subprocess.run(["git", "archive", revision, "nnlib"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    package = Path(folder) / "nnlib_base"
    (Path(folder) / "nnlib").rename(package)
    for path in package.glob("*.py"):  # the lazy imports name their own package
        path.write_text(path.read_text().replace('"nnlib.', '"nnlib_base.'))
    sys.path.insert(0, str(folder))
    return importlib.import_module("nnlib_base.mlp")


def workloads(quick):
    X_moons, y_moons = make_moons(200, noise=0.2, random_state=0)
    X_digits, y_digits = load_digits(return_X_y=True)
    X_digits = StandardScaler().fit_transform(X_digits)
    rng = np.random.default_rng(0)
    n_big = 1_000 if quick else 20_000
    X_big = rng.standard_normal((n_big, 100))
    y_big = np.argmax(X_big @ rng.standard_normal((100, 10)), axis=1)
    scale = 0.02 if quick else 1.0
    return [
        ("1 moons 2-3-2 tanh, full batch", X_moons, y_moons, dict(hidden_layer_sizes=(3,), activation="tanh",
                                                                   learning_rate_init=0.5), int(2000 * scale)),
        ("3 digits 64-128-10 relu, batch 64", X_digits, y_digits,
         dict(hidden_layer_sizes=(128,), batch_size=64, learning_rate_init=0.05), max(1, int(20 * scale))),
        (f"4 synthetic 100-512-512-10 relu, batch 256, {n_big:,} rows, float32", X_big.astype(np.float32), y_big,
         dict(hidden_layer_sizes=(512, 512), batch_size=256, learning_rate_init=0.01, dtype="float32"), 1),
        (f"4 synthetic 100-512-512-10 relu, batch 256, {n_big:,} rows, float64", X_big, y_big,
         dict(hidden_layer_sizes=(512, 512), batch_size=256, learning_rate_init=0.01), 1),
    ]


def cpu_seconds_per_epoch(cls, X, y, settings, epochs, seed):
    model = cls(max_iter=epochs, n_iter_no_change=10**9, alpha=1e-4, random_state=seed, **settings)
    start = time.process_time()
    model.fit(X, y)
    return (time.process_time() - start) / epochs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the earlier revision of nnlib (git)")
    parser.add_argument("--rounds", type=int, default=7, help="fits of each version per workload (default 7)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, two rounds (a smoke test)")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else args.rounds

    from nnlib.mlp import MLPClassifier as Now

    with tempfile.TemporaryDirectory() as folder:
        Before = export_nnlib(args.revision, folder).MLPClassifier
        print(f"nnlib at {args.revision} against the working tree; median CPU seconds per epoch over {rounds} "
              "fits each, taking turns\n")
        print(f"| {'workload':<66} | {'before':>10} | {'now':>10} | {'now / before':>12} |")
        print(f"|{'-' * 68}|{'-' * 12}|{'-' * 12}|{'-' * 14}|")
        for name, X, y, settings, epochs in workloads(args.quick):
            times = {Before: [], Now: []}
            for seed in range(rounds + 1):  # round 0 warms both up and is not counted
                for cls in (Before, Now) if seed % 2 == 0 else (Now, Before):
                    elapsed = cpu_seconds_per_epoch(cls, X, y, settings, epochs, seed)
                    if seed:
                        times[cls].append(elapsed)
            before, now = statistics.median(times[Before]), statistics.median(times[Now])
            print(f"| {name:<66} | {before:>10.3g} | {now:>10.3g} | {now / before:>12.2f} |")


if __name__ == "__main__":
    main()
