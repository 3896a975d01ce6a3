"""The chapters and the solutions give the same checked outputs under other OpenBLAS kernels.

OpenBLAS picks its compute kernel from the CPU (Haswell for AVX2, SkylakeX for AVX-512, SandyBridge without FMA,
...), and the kernels round differently in the last bits. The rest of the suite runs on this machine's kernel;
this file runs nbval over every chapter and solution notebook, and nnlib's numerical tests (the course's reference
numbers among them), again with ``OPENBLAS_CORETYPE`` forcing two others. So a stored output that hangs on the last
bits of rounding (the phase of an oscillation, a tie, the last digit of a long run) fails here, not on a learner's
machine. ``tests/notebook_outputs.py`` shows which cells differ, including the ones nbval does not compare.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from notebook_outputs import KERNELS, active_kernel, kernel_env

ROOT = Path(__file__).resolve().parents[2]
OTHER_KERNELS = ["Haswell", "SandyBridge"]
# and nnlib's tests that compare numbers with references: the course's reference numbers, scikit-learn's weights to
# 1e-10, finite differences (scikit-learn's estimator checks test the interface, not rounding, and are left out)
NNLIB_TESTS = [f"tests/nnlib/test_nnlib_{name}.py"
               for name in ("reference_numbers", "mlp", "regressor", "layers", "gradcheck", "losses")]
NOTEBOOKS = sorted(str(path.relative_to(ROOT))
                   for path in [*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("solutions/*/*.ipynb")])


@pytest.mark.parametrize("coretype", OTHER_KERNELS)
def test_openblas_really_switches_kernel(coretype):
    # without this, a variable OpenBLAS ignored would make the tests below pass on the usual kernel
    assert active_kernel(coretype) == KERNELS[coretype]


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("coretype", OTHER_KERNELS)
def test_notebooks_and_reference_numbers_under_another_kernel(coretype):
    assert len(NOTEBOOKS) >= 12, NOTEBOOKS
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q", "--nbval-lax",
         "--nbval-cell-timeout=300", *NOTEBOOKS, *NNLIB_TESTS],
        cwd=ROOT, env=kernel_env(coretype), capture_output=True, text=True, timeout=1400,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, f"under OPENBLAS_CORETYPE={coretype}:\n{report}"
    assert " passed" in result.stdout and "failed" not in result.stdout.splitlines()[-1]
