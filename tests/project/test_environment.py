"""The installed stack is what `make install` promises: consistent, and without the import that slows every process
that reads a notebook."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_reading_a_notebook_builds_no_iri_grammar():
    """jupyter-events asks for jsonschema's optional format checkers; one of them (rfc3987-syntax) builds a parser
    grammar when jsonschema is imported, about a second for every grading worker, nbgrader and JupyterLab start.
    `make install` removes it: nothing in the course checks IRIs."""
    code = ("import sys, nbformat\n"
            f"nbformat.read({str(ROOT / 'chapters' / '01_perceptron.ipynb')!r}, as_version=4)\n"
            "import jsonschema._format\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rfc3987_syntax', 'lark')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"imported on reading a notebook: {result.stdout.strip()}"


def test_the_installed_packages_agree_with_each_other():
    result = subprocess.run([sys.executable, "-m", "pip", "check", "--disable-pip-version-check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
