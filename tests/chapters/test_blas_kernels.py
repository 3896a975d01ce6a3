"""The chapters and the solutions give the same checked outputs under other OpenBLAS kernels.

OpenBLAS picks its compute kernel from the CPU (Haswell for AVX2, SkylakeX for AVX-512, SandyBridge without FMA,
...), and the kernels round differently in the last bits. The rest of the suite runs on this machine's kernel;
this file runs every chapter and solution notebook, and nnlib's numerical tests (the course's reference numbers
among them), again with ``OPENBLAS_CORETYPE`` forcing two others. So a stored output that hangs on the last bits of
rounding (the phase of an oscillation, a tie, the last digit of a long run) fails here, not on a learner's machine.

One test per (notebook, kernel): the notebook runs as nbval runs it (``tests/notebook_outputs.py``: a fresh kernel
started with that kernel's environment, any cell error fails) and the cells nbval checks (``# NBVAL_CHECK_OUTPUT``,
``--nbval-lax``) are compared with nbval's own comparison. Each is a small item that either pytest-xdist worker
can take. ``python tests/notebook_outputs.py KERNEL NOTEBOOK`` shows every cell that differs, checked or not.
"""

import copy
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_outputs import KERNELS, active_kernel, execute_in_process, kernel_env, nbval_differences

ROOT = Path(__file__).resolve().parents[2]
OTHER_KERNELS = ["Haswell", "SandyBridge"]
# and nnlib's tests that compare numbers with references: the course's reference numbers, scikit-learn's weights to
# 1e-10, finite differences (scikit-learn's estimator checks test the interface, not rounding, and are left out)
NNLIB_TESTS = [f"tests/nnlib/test_nnlib_{name}.py"
               for name in ("reference_numbers", "mlp", "regressor", "layers", "gradcheck", "losses")]
NOTEBOOKS = sorted(str(path.relative_to(ROOT))
                   for path in [*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("solutions/*/*.ipynb")])
CELL_TIMEOUT = 300  # seconds a cell, as the old nested nbval run had


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 12, NOTEBOOKS
    checked = sum(1 for path in NOTEBOOKS for cell in nbformat.read(ROOT / path, as_version=4).cells
                  if "NBVAL_CHECK_OUTPUT" in cell.source or "nbval-check-output" in cell.metadata.get("tags", []))
    assert checked >= 20, f"only {checked} cells are checked by nbval: the comparison below would check little"


@pytest.mark.parametrize("coretype", OTHER_KERNELS)
def test_openblas_really_switches_kernel(coretype):
    # without this, a variable OpenBLAS ignored would make the tests below pass on the usual kernel
    assert active_kernel(coretype) == KERNELS[coretype]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("coretype", OTHER_KERNELS)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_gives_its_checked_outputs_under_another_kernel(notebook, coretype):
    stored = nbformat.read(ROOT / notebook, as_version=4)
    executed = execute_in_process(ROOT / notebook, coretype, timeout=CELL_TIMEOUT)
    found = nbval_differences(stored, executed)
    assert not found, f"{notebook} under OPENBLAS_CORETYPE={coretype}:\n" + "\n".join(
        f"code cell {number}:\n{report}" for number, report in found)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("coretype", OTHER_KERNELS)
def test_nnlib_numbers_under_another_kernel(coretype):
    """nnlib's numerical tests in a pytest of their own (OpenBLAS reads its kernel when it loads): one per kernel, as
    a pytest's start costs more than most of these files."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q", *NNLIB_TESTS],
        cwd=ROOT, env=kernel_env(coretype), capture_output=True, text=True, timeout=800,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, f"nnlib's tests under OPENBLAS_CORETYPE={coretype}:\n{report}"
    assert " passed" in result.stdout and "failed" not in result.stdout.splitlines()[-1]


# Canaries: the comparison finds a changed checked output, and leaves unchecked cells alone --------------------


def _cell(source, text, tags=()):
    cell = nbformat.v4.new_code_cell(source, execution_count=1, metadata={"tags": list(tags)})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return cell


def test_canary_comparison_finds_a_changed_checked_output():
    stored = nbformat.v4.new_notebook(cells=[
        _cell("# NBVAL_CHECK_OUTPUT\nprint(1)", "period 4\n"),
        _cell("print(2)", "loss 0.125\n", tags=["nbval-check-output"]),
        _cell("print(3)", "not checked\n"),
    ])
    same = copy.deepcopy(stored)
    assert nbval_differences(stored, same) == []
    changed = copy.deepcopy(stored)
    changed.cells[0].outputs[0].text = "period 5\n"
    changed.cells[1].outputs[0].text = "loss 0.126\n"
    changed.cells[2].outputs[0].text = "anything\n"
    found = nbval_differences(stored, changed)
    assert [number for number, _ in found] == [0, 1], found
    assert "period 5" in found[0][1] and "period 4" in found[0][1], found[0][1]
    missing = copy.deepcopy(stored)
    missing.cells[1].outputs = []
    assert [number for number, _ in nbval_differences(stored, missing)] == [1]


@pytest.mark.timeout(300)
def test_canary_execution_runs_the_kernel_under_the_chosen_coretype(tmp_path):
    """The notebook's kernel, not only this process, gets the kernel's environment; a cell error fails."""
    path = tmp_path / "probe.ipynb"
    code = ("import json, threadpoolctl, numpy\nprint(json.dumps([i.get('architecture') for i in "
            "threadpoolctl.threadpool_info() if i.get('internal_api') == 'openblas']))")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)],
                                            metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                     "display_name": "Python 3"}}), path)
    executed = execute_in_process(path, "SandyBridge")
    assert executed.cells[0].outputs[0].text.strip() == f'["{KERNELS["SandyBridge"]}"]'
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")]), path)
    with pytest.raises(Exception, match="ZeroDivisionError"):
        execute_in_process(path, "SandyBridge")
