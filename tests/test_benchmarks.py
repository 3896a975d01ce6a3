"""The benchmark script runs (on tiny sizes) and prints its whole table, so it cannot rot.

Timings are never asserted here: speed is measured by `make bench`, not by tests.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
