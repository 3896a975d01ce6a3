"""Run a notebook under a chosen OpenBLAS kernel and compare every stored text output with the fresh one.

OpenBLAS picks its compute kernel by CPU (Haswell for AVX2, SkylakeX for AVX-512, ...), and the kernels round
differently in the last bits. A stored output that hangs on those bits (the phase of an oscillation, a tie, the last
digit of a long training run) holds on one machine and fails on another. ``OPENBLAS_CORETYPE`` forces a kernel, so
one machine can check what the others would print::

    python tests/notebook_outputs.py Haswell chapters/04_moons_network.ipynb
    python tests/notebook_outputs.py SandyBridge chapters/*.ipynb solutions/*/*.ipynb

prints each cell whose text output differs from the stored one and exits 1 if any does; ``--checked`` compares only
the cells nbval compares (tagged ``nbval-check-output``). ``tests/chapters/test_blas_kernels.py`` runs nbval itself
under other kernels; this script is for finding which outputs hang on rounding.
"""

import difflib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

#: ``OPENBLAS_CORETYPE`` value -> the name threadpoolctl reports once that kernel is in use.
KERNELS = {"Haswell": "Haswell", "SandyBridge": "Sandybridge", "SkylakeX": "SkylakeX", "Prescott": "Katmai"}


def kernel_env(coretype):
    """The environment of a process (and of the Jupyter kernels it starts) that uses OpenBLAS's ``coretype``."""
    env = dict(os.environ, OPENBLAS_CORETYPE=coretype, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("MPLBACKEND", None)
    return env


def active_kernel(coretype):
    """The OpenBLAS kernel NumPy actually uses when ``OPENBLAS_CORETYPE=coretype`` (None when unknown)."""
    code = ("import numpy, threadpoolctl, json; print(json.dumps([i.get('architecture') for i in "
            "threadpoolctl.threadpool_info() if i.get('internal_api') == 'openblas']))")
    out = subprocess.run([sys.executable, "-c", code], env=kernel_env(coretype), capture_output=True, text=True,
                         check=True).stdout
    names = json.loads(out)
    return names[0] if names else None


def text_outputs(notebook):
    """``{code cell number: text}`` of a notebook: its streams, plain-text results and errors, in order.

    Cells tagged ``nbval-ignore-output`` are left out. Code cells are numbered from 0, as nbval does.
    """
    outputs = {}
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells):
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            continue
        parts = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.get("data", {}).get("text/plain", ""))
            elif output.output_type == "error":
                parts.append(f"{output.ename}: {output.evalue}")
        outputs[number] = "".join(parts)
    return outputs


def execute(path, coretype, timeout=600):
    """Execute the notebook at ``path`` on a fresh kernel under ``coretype``; returns the executed notebook."""
    path = Path(path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        subprocess.run(
            [str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
             f"--ExecutePreprocessor.timeout={timeout}", "--ExecutePreprocessor.kernel_name=python3",
             "--output", str(out), str(path)],
            cwd=path.parent, env=kernel_env(coretype), check=True, capture_output=True, text=True,
        )
        return nbformat.read(out, as_version=4)


def execute_in_process(path, coretype, timeout=300):
    """Execute the notebook at ``path`` as nbval does (a fresh ``python3`` kernel whose working directory is the
    notebook's folder, ``timeout`` seconds a cell, a cell error is a failure), the kernel started with the
    environment of OpenBLAS's ``coretype``; returns the executed notebook (the stored one is left as it is).

    The kernel is the only process that needs the environment: nbclient runs in the calling process, so a test
    per notebook costs one kernel start, not a Python and a pytest start as well."""
    from nbclient import NotebookClient

    path = Path(path).resolve()
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    return client.execute(env=kernel_env(coretype), cwd=str(path.parent))


def nbval_checks(cell, lax=True):
    """Whether ``nbval`` (``--nbval-lax`` by default) compares the outputs of code ``cell``: its own reading of
    the cell's tags and ``# NBVAL_...`` comments, the comments winning as in nbval's collector."""
    from nbval.plugin import find_comment_markers, find_metadata_tags

    options = dict(find_metadata_tags(cell.get("metadata", {})))
    options.update(dict(find_comment_markers(cell.source)))
    return bool(options.get("check", not lax)) and cell.get("execution_count") is not None


class _NbvalComparison:
    """nbval's own output comparison (``IPyNbCell.compare_outputs``) outside a pytest run of nbval: the same
    skipped keys (nbval 0.11's list without nbdime: metadata, tracebacks, execution counts, widget ids, PNG and
    JPEG), streams merged and ``\\r``/``\\b`` applied as nbval does, no sanitising (the suite passes none)."""

    SKIP = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
            "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")

    def __init__(self):
        from nbval.plugin import IPyNbCell, nocolors

        self.parent = type("Parent", (), {"skip_compare": self.SKIP, "sanitize_patterns": {}})()
        self.colors = nocolors
        self.comparison_traceback = []
        self._compare = IPyNbCell.compare_outputs.__get__(self)

    def sanitize(self, text):
        return text

    def format_output_compare(self, key, stored, fresh):
        """The report of one differing output (nbval's own asks pytest's assertion hooks, which need a test item)."""
        self.comparison_traceback.append(
            f"mismatch {key!r}:\n" + "".join(difflib.unified_diff(str(stored).splitlines(True),
                                                                   str(fresh).splitlines(True), "stored", "fresh")))

    def differs(self, fresh, stored):
        """None when nbval would pass the cell, else its report of the difference."""
        from nbval.plugin import coalesce_streams

        fresh, stored = (coalesce_streams([nbformat.from_dict(o) for o in outputs]) for outputs in (fresh, stored))
        return None if self._compare(fresh, stored) else "\n".join(map(str, self.comparison_traceback))


def nbval_differences(stored, executed, lax=True):
    """``[(code cell number, nbval's report)]`` for every cell of the ``stored`` notebook that nbval checks and
    whose outputs in ``executed`` (the same notebook run again) nbval would call different."""
    stored_cells = [cell for cell in stored.cells if cell.cell_type == "code"]
    fresh_cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert len(stored_cells) == len(fresh_cells), "the executed notebook has other code cells"
    found = []
    for number, (before, after) in enumerate(zip(stored_cells, fresh_cells)):
        if nbval_checks(before, lax):
            report = _NbvalComparison().differs(after.outputs, before.outputs)
            if report is not None:
                found.append((number, report))
    return found


def differences(path, coretype, only_checked=False):
    """Every code cell of ``path`` whose fresh text output under ``coretype`` differs from the stored one,
    as ``[(cell number, unified diff)]``. A notebook stored without outputs (a solution) is compared cell by
    cell only where it has some. ``only_checked`` compares just the cells nbval compares (tagged
    ``nbval-check-output``)."""
    notebook = nbformat.read(path, as_version=4)
    stored = text_outputs(notebook)
    fresh = text_outputs(execute(path, coretype))
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    found = []
    for number in sorted(stored):
        cell = code_cells[number]
        if not cell.get("outputs") or (only_checked and "nbval-check-output" not in cell.metadata.get("tags", [])):
            continue
        before, after = stored[number], fresh.get(number, "")
        if before != after:
            diff = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                                "stored", f"OPENBLAS_CORETYPE={coretype}"))
            found.append((number, diff))
    return found


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    only_checked = "--checked" in argv
    argv = [arg for arg in argv if arg != "--checked"]
    coretype, paths = argv[0], argv[1:]
    print(f"OPENBLAS_CORETYPE={coretype}: OpenBLAS uses the {active_kernel(coretype)} kernel")
    failed = False
    for path in paths:
        found = differences(path, coretype, only_checked)
        print(f"{path}: {'same text output in every cell' if not found else f'{len(found)} cell(s) differ'}")
        for number, diff in found:
            failed = True
            print(f"  code cell {number}:\n{diff}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
