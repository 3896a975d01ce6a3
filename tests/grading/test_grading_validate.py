"""`nbgrader validate` passes every solution and `nbgrader validate --invert` every released exercise; and what
`make validate` (`python -m grading validate`) tells a learner.

This is the check a learner runs (`make validate EX=...`) and the check an exercise needs: the solution passes all
its tests, the blank student version passes none. Run from the repository root, as nbgrader needs. The learner's
report is made from nbgrader's ``Validator.validate()`` results (grading/validate_report.py), never from printed
output, and holds nothing the kernel printed on its own.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from grading_cases import ROOT, exercises
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grading import steps
from grading.course import Course
from grading.validate_report import failures, points_report, titles

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
    # which tests: by part, named from the notebook's headings (ex01's first part is the step activation)
    assert "This test cell failed (part 1. The step activation)" in result.stdout, result.stdout[-3000:]
    assert "Visible tests: 0 of 7 points" in result.stdout, result.stdout[-3000:]


# ---- the report, from Validator.validate()'s results (no kernel) ----------------------------------------------------


def _graded(source, grade_id, points=1):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": grade_id,
                                 "points": points, "schema_version": 3}
    return cell


def _two_parts():
    """Two parts whose test cells differ only past column 100, where a printed report cuts a line."""
    same = "assert value == 1, 'a long message that goes on and on so that this line is longer than a report shows"
    return new_notebook(cells=[new_markdown_cell("## 1. First part (1 point)"), _graded(same + " (one)'", "t1"),
                               new_markdown_cell("## 2. Second part (2 points)"), _graded(same + " (two)'", "t2", 2)])


def test_points_follow_the_failed_sources_exactly():
    """Only the cell whose source the Validator reported counts as failing, even where two test cells read the same
    up to the width a printed report keeps (matching printed text, cut at that width, failed both)."""
    nb = _two_parts()
    results = {"failed": [{"source": nb.cells[3].source.strip(), "raw_error": "AssertionError: two"}]}
    report = points_report(nb, results)
    assert "  1. First part: 1 of 1\n" in report + "\n", report
    assert "  2. Second part: 0 of 2 (a visible test fails)" in report, report
    assert "Visible tests: 1 of 3 points." in report, report


def test_failures_name_the_part_and_show_the_whole_error_without_colour():
    nb = _two_parts()
    message = "AssertionError: " + "x" * 150 + " Hint: the end of a long message"
    results = {"failed": [{"source": nb.cells[1].source.strip(), "raw_error": f"\x1b[0;31m{message}\x1b[0m"}]}
    text = failures(results, titles=titles(nb))
    assert "1 test cell(s) failed" in text and "This test cell failed (part 1. First part):" in text, text
    assert message in text, "the error (the test's message and its hint) must be shown whole"
    assert "\x1b[" not in text, "colour codes reach the report"
    assert "(two)" not in text, "a cell that passed is listed as failing"


def test_a_changed_test_cell_gives_no_points():
    """A changed test cell: the report says so, and gives no points (the grader runs the original test)."""
    nb = _two_parts()
    results = {"changed": [{"source": nb.cells[1].source.strip()}]}
    assert points_report(nb, results) == ""
    assert "1 test cell(s) changed" in failures(results), failures(results)
    assert points_report(nb, {}).startswith("Points from the visible tests"), "canary: no results, full points"
    assert "Visible tests: 3 of 3 points." in points_report(nb, {})


def test_validate_reports_what_the_validator_returned(monkeypatch, tmp_path):
    """steps.validate reports Validator.validate()'s results as they are (here a canned result for the first test
    cell), not anything printed, and returns False; True when the results are empty."""
    from nbgrader.validator import Validator

    path = tmp_path / "two.ipynb"
    nbformat.write(_two_parts(), path)
    canned = {"failed": [{"source": _two_parts().cells[1].source.strip(), "raw_error": "AssertionError: canned"}]}
    monkeypatch.setattr(Validator, "validate", lambda self, filename: canned)
    lines = []
    assert steps.validate(Course.find(ROOT), [str(path)], log=lines.append) is False
    text = "\n".join(lines)
    assert "NOT YET" in text and "AssertionError: canned" in text and "part 1. First part" in text, text
    assert "Visible tests: 2 of 3 points." in text, text
    monkeypatch.setattr(Validator, "validate", lambda self, filename: {})
    lines.clear()
    assert steps.validate(Course.find(ROOT), [str(path)], log=lines.append) is True
    assert "OK: it passes all the visible tests." in lines[0], lines


def test_validate_reports_a_notebook_it_cannot_run(monkeypatch, tmp_path):
    from nbgrader.validator import Validator

    path = tmp_path / "two.ipynb"
    nbformat.write(_two_parts(), path)

    def broken(self, filename):
        raise RuntimeError("the Python kernel did not start")

    monkeypatch.setattr(Validator, "validate", broken)
    lines = []
    assert steps.validate(Course.find(ROOT), [str(path)], log=lines.append) is False
    assert "NOT YET: it could not be validated: RuntimeError: the Python kernel did not start" in lines[0], lines


# ---- the kernel's own output stays out of the report ---------------------------------------------------------------


def test_kernel_start_up_output_is_not_in_the_report(tmp_path):
    """A kernel that prints a banner on its own stdout and stderr as it starts (here an IPython start-up file): none
    of it reaches `python -m grading validate`'s output. Without the sandbox (a learner's machine), where the kernel
    would inherit the terminal; the start-up file leaves a mark, so the banner was really printed."""
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-banner.py").write_text(
        "import os\nos.write(1, b'KERNEL-BANNER-OUT\\n')\nos.write(2, b'KERNEL-BANNER-ERR\\n')\n"
        f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    env = dict(os.environ, SANDBOX="0", IPYTHONDIR=str(tmp_path / "ipython"), NBGRADER_CELL_TIMEOUT="120")
    result = subprocess.run([sys.executable, "-m", "grading", "validate", exercises()[0]], cwd=ROOT, env=env,
                            text=True, capture_output=True, timeout=900)
    assert (tmp_path / "ran").exists(), "canary: the kernel did not run the start-up file"
    assert "NOT YET" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert "KERNEL-BANNER" not in result.stdout + result.stderr, (result.stdout + result.stderr)[:3000]


def test_a_kernel_that_does_not_start_says_why(tmp_path):
    """What the kernel printed is shown when it does not start (here it prints a reason and exits at start-up)."""
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-die.py").write_text("import os\nos.write(2, b'KERNEL-SAYS-WHY\\n')\nos._exit(3)\n")
    env = dict(os.environ, SANDBOX="0", IPYTHONDIR=str(tmp_path / "ipython"))
    result = subprocess.run([sys.executable, "-m", "grading", "validate", exercises()[0]], cwd=ROOT, env=env,
                            text=True, capture_output=True, timeout=900)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT YET: it could not be validated" in result.stdout, result.stdout + result.stderr
    assert "the Python kernel did not start" in result.stdout and "KERNEL-SAYS-WHY" in result.stdout, result.stdout
