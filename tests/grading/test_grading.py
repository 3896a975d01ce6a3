"""The grading round trip on every exercise: release, collect, autograde, feedback, export, summary.

One temporary copy of the course (its own gradebook) holds every exercise of solutions/, so a new exercise joins
these tests by being there. Three submissions per exercise: the full solution, the blank exercise, and a partly
wrong one. The expected scores come from the points in the source notebook's metadata (tests/grading_cases.py).
Robustness (loops, crashes, tampering, ...) is in test_grading_robustness.py, nbgrader validate in
test_grading_validate.py, so that pytest-xdist runs the three files side by side.
"""

import csv
import filecmp

import nbformat
import pytest
from grading_cases import ROOT, Exercise, exercises, make_course, run_grading

from grading import leaks, records  # noqa: E402
from grading.course import Course  # noqa: E402

EXERCISES = exercises()
STUDENTS = ("solution", "blank", "partly_wrong")


def grading(course, *args, timeout_s="60"):
    """``python -m grading ARGS`` in a course folder, one submission at a time (the robustness and attack classes
    grade two at a time: both match the expected scores, so parallel grading gives the grades of serial grading);
    returns the completed process (output captured)."""
    return run_grading(course, *args, env={"NBGRADER_CELL_TIMEOUT": timeout_s, "JOBS": "1"})


def read_grades(path):
    with open(path, newline="") as handle:
        return {(row["assignment"], row["student_id"]): row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def class_run(tmp_path_factory):
    """Grade a class of three per exercise with `python -m grading grade SRC` (which releases every exercise first).

    The submissions are laid out as an LMS download sorted by exercise: SRC/<exercise>/<student>.ipynb.
    """
    course = make_course(tmp_path_factory.mktemp("course"), EXERCISES)
    src = tmp_path_factory.mktemp("submissions")
    expected = {}
    for name in EXERCISES:  # built from the committed student versions, which must equal a fresh release
        ex = Exercise(ROOT / "solutions" / name / f"{name}.ipynb", ROOT / "exercises" / name / f"{name}.ipynb")
        partly, partly_points = ex.partly_wrong()
        for student, nb, points in (("solution", ex.answered(), ex.test_points), ("blank", ex.blank(), 0.0),
                                    ("partly_wrong", partly, partly_points)):
            (src / name).mkdir(exist_ok=True)
            nbformat.write(nb, src / name / f"{student}.ipynb")
            expected[(name, student)] = (points, ex.total_points)
    result = grading(course, "grade", str(src))
    return {"course": course, "expected": expected, "output": result.stdout,
            "grades": read_grades(course / "grades" / "grades.csv")}


@pytest.mark.parametrize("name", EXERCISES)
def test_release_matches_the_committed_exercise(class_run, name):
    """`nbgrader generate_assignment` regenerates exercises/<name>/ byte for byte: no stale student version."""
    fresh, committed = class_run["course"] / "exercises" / name, ROOT / "exercises" / name
    assert committed.is_dir(), f"exercises/{name}/ is not there: run `make release EX={name}` and commit it"
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file()
                             and ".ipynb_checkpoints" not in p.parts)
    assert fresh_files == committed_files, f"exercises/{name}/ holds other files than a fresh release"
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, [str(p) for p in fresh_files], shallow=False)
    assert not mismatch and not errors, (
        f"exercises/{name}/ differs from a fresh release in {mismatch + errors}: run `make release EX={name}`")


@pytest.mark.parametrize("name", EXERCISES)
def test_committed_exercise_holds_no_solution(name):
    """No nbgrader marker and no line of a solution or hidden test in the student version."""
    source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    secrets = leaks.secret_lines(source)
    assert secrets, f"{name}: the source notebook has no solution or hidden-test lines to look for"
    assert leaks.find_leaks(ROOT / "exercises" / name, secrets) == []


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("student", STUDENTS)
def test_exact_scores(class_run, name, student):
    """Full autograded marks for the solution, 0 for the blank, the tests above the last answer for the partly
    wrong one; the maximum is every point of the exercise, written answers included."""
    points, total = class_run["expected"][(name, student)]
    row = class_run["grades"][(name, student)]
    assert float(row["score"]) == pytest.approx(points), f"{name} {student}: score {row['score']}, expected {points}"
    assert float(row["max_score"]) == pytest.approx(total)


@pytest.mark.parametrize("name", EXERCISES)
def test_plain_submissions_need_no_attention(class_run, name):
    """Nothing to flag for a solution, a blank or a partly wrong notebook (stubs raising is no news)."""
    flagged = [(r.student, finding) for r in records.read_all(Course(class_run["course"]).grades)
               if r.exercise == name for finding in r.findings]
    assert flagged == []


@pytest.mark.parametrize("name", EXERCISES)
def test_feedback_hides_hidden_tests(class_run, name):
    """One feedback page per submission, with no hidden-test line (not even in a failing test's traceback)."""
    source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    hidden = leaks.hidden_test_lines(source)
    for student in STUDENTS:
        page = class_run["course"] / "feedback" / student / name / f"{name}.html"
        assert page.is_file(), f"no feedback page for {student}"
        assert leaks.find_leaks(page, hidden) == [], f"hidden tests in {student}'s feedback"


def test_summary_lists_every_exercise(class_run):
    summary = (class_run["course"] / "grades" / "summary.md").read_text()
    for name in EXERCISES:
        assert f"| {name} | {len(STUDENTS)} |" in summary
    assert (class_run["course"] / "grades" / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_built_site_holds_no_solution(built_site):
    """No solution code or hidden test in the built site (lines also in the chapters or nnlib are public)."""
    site = ROOT / "_build" / "html"
    assert site.is_dir(), "the book did not build"
    found = leaks.find_leaks(site, leaks.course_secrets(Course(ROOT)))
    assert found == [], "solution or hidden-test text in the site:\n" + "\n".join(f"{p}: {t}" for p, t in found)


def test_failing_hidden_test_shows_only_its_last_line():
    """A failing hidden assert's traceback quotes the hidden code: the feedback keeps only `ename: evalue`."""
    from nbgrader.preprocessors import ClearHiddenTests

    from grading.plugins.preprocessors import HideHiddenTestTracebacks

    hidden = "assert secret_check(step), 'step passes the second check'"
    cell = nbformat.v4.new_code_cell(f"assert True\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False, "locked": True,
                                 "schema_version": 3}
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="step passes the second check",
                                           traceback=["Cell In[3], line 3", f"----> 3 {hidden}",
                                                      "AssertionError: step passes the second check"])]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = HideHiddenTestTracebacks().preprocess(nb, {})
    nb, _ = ClearHiddenTests(enforce_metadata=False).preprocess(nb, {})
    text = nbformat.writes(nb)
    assert "secret_check" not in text and "HIDDEN" not in text
    assert nb.cells[0].outputs[0].traceback[0] == "AssertionError: step passes the second check"
