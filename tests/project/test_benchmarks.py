"""The benchmark script runs (on tiny sizes) and prints its whole table, so it cannot rot.

Timings are never asserted here: speed is measured by `make bench`, not by tests.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_train_speed_quick_prints_the_whole_table():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_speed.py"), "--quick", "--no-torch"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert re.search(r"GEMM rate: float64 [\d.]+ GFLOP/s, float32 [\d.]+ GFLOP/s", out), out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "workload" not in line]
    workloads = {row.split("|")[1].strip() for row in rows}
    assert len(workloads) == 5, workloads  # moons, wine, digits, synthetic float64 and float32
    for library in ("nnlib", "scikit-learn"):
        assert sum(f"| {library} " in row for row in rows) == 5, (library, out)
    # nnlib's own ratio is 1.00x by definition; every time is a positive number
    assert all(re.search(r"\|\s+1\.00x \|$", row) for row in rows if "| nnlib " in row), out
    pattern = (r"nnlib [\d.]+ GFLOP/s = \d+% of the float(64|32) GEMM rate measured right before each of its epochs "
               r"\(median [\d.]+ GFLOP/s; \d+% of the rate measured at the start\); peak memory [\d.]+x")
    assert len(re.findall(pattern, out)) == 2, out
    assert "Warning" not in proc.stderr, proc.stderr


def _load_numpy_limit():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import numpy_limit
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return numpy_limit


def test_numpy_limit_quick_prints_its_table():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "numpy_limit.py"), "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"GEMM rate \(median of the rounds\): [\d.]+ GFLOP/s", proc.stdout), proc.stdout
    for name in ("matrix products only", "hand-written NumPy", "nnlib"):
        assert re.search(rf"\| {name} +\| +[\d.e-]+ \| +[\d.]+ \| +\d+% \|", proc.stdout), (name, proc.stdout)
    assert "Warning" not in proc.stderr, proc.stderr


def test_hand_written_loop_trains_exactly_as_nnlib():
    """The benchmark's hand-written loop must do all of nnlib's work: replayed with nnlib's Network on the same
    initial weights and batches, the weights, biases and objectives agree to rounding."""
    import numpy as np

    from nnlib.layers import Dense, Network

    numpy_limit = _load_numpy_limit()
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((70, 6)), rng.integers(0, 3, 70)
    Ws, bs, total = numpy_limit.hand_written(dict(X=X, y=y, hidden=(5, 4), batch=16, lr=0.1), seed=3)

    replay = np.random.default_rng(3)  # the hand-written loop draws its weights, then its batch order, from it
    sizes = [6, 5, 4, 3]
    initial = [replay.uniform(-0.1, 0.1, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    order = replay.permutation(len(X))
    network = Network([Dense(a, b, "relu" if i < 2 else "identity") for i, (a, b) in enumerate(zip(sizes, sizes[1:]))],
                      alpha=numpy_limit.ALPHA)
    for layer, W in zip(network.layers, initial):
        layer.set_weights(W, np.zeros(W.shape[1]))
    expected_total = 0.0
    for start in range(0, len(X), 16):
        rows = order[start : start + 16]
        expected_total += network.loss_and_gradients(X[rows], np.eye(3)[y[rows]])
        network.step(0.1)
    for layer, W, b in zip(network.layers, Ws, bs):
        np.testing.assert_allclose(W, layer.W, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b, layer.b, rtol=0, atol=1e-12)
    assert abs(total - expected_total) < 1e-12


def test_compare_revisions_quick_prints_its_table():
    """The before/after script exports an earlier nnlib from git and times both; here against HEAD itself."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_revisions.py"), "HEAD", "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"^\| (\d .+?) +\| +([\d.e-]+) \| +([\d.e-]+) \| +([\d.]+) \|$", proc.stdout, re.M)
    assert len(rows) == 4, proc.stdout
    assert all(float(before) > 0 and float(now) > 0 for _, before, now, _ in rows), proc.stdout
    assert "Warning" not in proc.stderr, proc.stderr
