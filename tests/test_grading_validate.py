"""`nbgrader validate` passes every solution and `nbgrader validate --invert` every released exercise.

This is the check a learner runs (`make validate EX=...`) and the check an exercise needs: the solution passes all
its tests, the blank student version passes none. Run from the repository root, as nbgrader needs.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from grading_cases import ROOT, exercises

NBGRADER = Path(sys.executable).parent / "nbgrader"


def validate(*args):
    env = dict(os.environ, NBGRADER_CELL_TIMEOUT="120")
    env["PATH"] = str(NBGRADER.parent) + os.pathsep + env.get("PATH", "")
    result = subprocess.run([str(NBGRADER), "validate", *args], cwd=ROOT, env=env, text=True, capture_output=True,
                            timeout=900)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("name", exercises())
def test_solution_passes_all_tests(name):
    code, output = validate(f"solutions/{name}/{name}.ipynb")
    assert code == 0 and "Success! Your notebook passes all the tests." in output, output[-3000:]


@pytest.mark.parametrize("name", exercises())
def test_released_exercise_passes_no_test(name):
    code, output = validate("--invert", f"exercises/{name}/{name}.ipynb")
    assert code == 0 and "Success! The notebook does not pass any tests." in output, output[-3000:]


def test_learners_validate_reports_failures():
    """`python -m grading validate EX` (what `make validate EX=...` runs) on the blank exercise says which tests
    fail and exits non-zero."""
    name = exercises()[0]
    result = subprocess.run([sys.executable, "-m", "grading", "validate", name], cwd=ROOT, text=True,
                            capture_output=True, timeout=900)
    assert result.returncode != 0, result.stdout
    assert "NOT YET" in result.stdout and "failed" in result.stdout.lower(), result.stdout[-3000:]
