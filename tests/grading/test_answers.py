"""Every exercise's tests proven on answers: wrong ones lose the points of what they break, valid ones get full marks.

For each exercise (one class each), the answers in tests/answers/<exercise>.py, plus an honest student (the
reference solution), are graded together by the real pipeline, `python -m grading grade SRC --exercise EX` in a
temporary copy of the course, sandbox on; each test cell's points are read from the gradebook. The same notebooks
are run top to bottom in a plain kernel, as in the learner's JupyterLab (`make validate` runs the same), to check
the list of gaps: a wrong answer listed in GAPS passes every visible test, and one not listed fails at least one;
every valid answer passes them all.
"""

from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from answers import module, notebook
from grading_cases import ROOT, Exercise, exercises, is_test, make_course, meta, run_grading

from grading.course import Course  # noqa: E402

HONEST = "honest"


def exercise(name):
    return Exercise(ROOT / "solutions" / name / f"{name}.ipynb", ROOT / "exercises" / name / f"{name}.ipynb")


def submissions(name):
    """``{student id: notebook}``: the honest student and every answer of the exercise's module."""
    ex = exercise(name)
    found = {HONEST: ex.answered()}
    for answer in module(name).CASES:
        assert answer.name not in found, f"{name}: two answers named {answer.name}"
        found[answer.name] = notebook(ex, answer)
    return found


def grade(name, folder):
    """Grade every submission of the exercise in a new copy of the course; ``{student: {test grade_id: points}}``."""
    course = make_course(folder / "course", [name])
    src = folder / "submissions"
    src.mkdir()
    students = submissions(name)
    for student, nb in students.items():
        nbformat.write(nb, src / f"{student}.ipynb")
    run_grading(course, "grade", src, "--exercise", name, env={"NBGRADER_CELL_TIMEOUT": "120",
                                                               "OPENBLAS_NUM_THREADS": "1"}, timeout=3000)
    tests = {meta(c)["grade_id"] for c in exercise(name).source.cells if is_test(c)}
    scores = {}
    with Course(course).gradebook() as gb:
        for student in students:
            graded = gb.find_submission_notebook(name, name, student)
            scores[student] = {g.name: float(g.score) for g in graded.grades if g.name in tests}
    return scores


def passes_visible_tests(path):
    """True when every test cell passes when the notebook runs top to bottom in a plain kernel, as in the learner's
    JupyterLab or `make validate`: the visible tests only (the student version has no hidden ones)."""
    from nbclient import NotebookClient

    for attempt in range(3):  # a kernel that dies while starting (a busy machine) is started again
        nb = nbformat.read(path, as_version=4)
        try:
            NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            break
        except RuntimeError as error:
            if "Kernel died before replying" not in str(error) or attempt == 2:
                raise
    return not any(output.get("output_type") == "error" for cell in nb.cells if is_test(cell)
                   for output in cell.get("outputs", []))


def visible(name, folder):
    """``{student: passes every visible test}`` for every submission of the exercise (two at a time)."""
    paths = {}
    for student, nb in submissions(name).items():
        path = folder / student / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        paths[student] = path
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(paths, pool.map(passes_visible_tests, paths.values())))


def pytest_generate_tests(metafunc):
    if "answer" in metafunc.fixturenames:
        cases = module(metafunc.cls.exercise).CASES
        kind = "wrong" if "wrong" in metafunc.function.__name__ else "valid"
        chosen = [a for a in cases if a.kind == kind]
        metafunc.parametrize("answer", chosen, ids=[a.name for a in chosen])


@pytest.fixture(scope="class")
def graded(request, tmp_path_factory):
    name = request.cls.exercise
    return grade(name, tmp_path_factory.mktemp(f"graded-{name}"))


@pytest.fixture(scope="class")
def visible_tests(request, tmp_path_factory):
    name = request.cls.exercise
    return visible(name, tmp_path_factory.mktemp(f"visible-{name}"))


# Read-only cells that use a learner's name on purpose: they run in the learner's kernel, never in the judge.
KERNEL_CELLS = {"pocket_compare", "first_check", "gradcheck_fixtures", "backward_helper", "batches_helper", "curves",
                "cost_plot"}


@pytest.mark.parametrize("name", exercises())
def test_the_judge_runs_every_given_cell_it_needs(name):
    """The judge runs the read-only cells that use no answer (imports, data, helpers) itself. A helper's local
    name that an answer cell also binds would send the whole cell to the student's kernel, and the tests would get
    the student's numpy and data instead of their own: check the plan the judge makes of the source notebook."""
    from grading.plugins.judge import Plan

    source = exercise(name).source
    setup = {step[1] for step in Plan(source).steps if step[0] == "setup"}
    given = {meta(c)["grade_id"]: c.source for c in source.cells
             if c.cell_type == "code" and meta(c).get("locked") and not meta(c).get("grade")
             and not meta(c).get("solution")}
    assert given, f"{name} has no read-only code cell"
    wrong_side = {grade_id for grade_id, text in given.items() if (text in setup) == (grade_id in KERNEL_CELLS)}
    assert not wrong_side, f"{name}: cells on the wrong side of the judge: {sorted(wrong_side)}"


class Answers:
    exercise = None

    def full_marks(self):
        return {meta(c)["grade_id"]: float(meta(c)["points"]) for c in exercise(self.exercise).source.cells
                if is_test(c)}

    def test_the_module_has_enough_answers(self):
        """At least 5 wrong answers and 2 valid ones; every test cell is broken by some wrong answer."""
        cases = module(self.exercise).CASES
        assert len([a for a in cases if a.kind == "wrong"]) >= 5 and len([a for a in cases if a.kind == "valid"]) >= 2
        broken = {test for a in cases for test in a.scores}
        assert broken == set(self.full_marks()), f"no wrong answer loses points in {set(self.full_marks()) - broken}"
        unknown = module(self.exercise).GAPS - {a.name for a in cases if a.kind == "wrong"}
        assert not unknown, f"GAPS lists answers that are not wrong answers of this module: {unknown}"

    def test_honest_student_gets_full_marks(self, graded, visible_tests):
        assert graded[HONEST] == self.full_marks()
        assert visible_tests[HONEST], "the reference solution fails a visible test"

    def test_wrong_answer_loses_the_points_of_what_it_breaks(self, graded, answer, request):
        if answer.judge_gap:  # a known limit of the grader: this must start to pass once it is fixed
            request.applymarker(pytest.mark.xfail(strict=True, reason=answer.judge_gap))
        full = self.full_marks()
        expected = {**full, **{test: float(points) for test, points in answer.scores.items()}}
        assert set(answer.scores) <= set(full), f"unknown test cells {set(answer.scores) - set(full)}"
        # Only the part it breaks loses points, and the parts after it that build on it: never a part before.
        cells = [meta(c).get("grade_id") for c in exercise(self.exercise).source.cells]
        first_changed = min(cells.index(grade_id) for grade_id in answer.cells)
        assert all(cells.index(test) > first_changed for test in answer.scores), (
            f"{answer.name}: a test above the first changed cell is expected to lose points")
        assert graded[answer.name] == expected, (
            f"{answer.name} ({answer.why}): expected {expected}, the grader gave {graded[answer.name]}")

    def test_wrong_answer_is_a_listed_gap_exactly_when_it_passes_the_visible_tests(self, visible_tests, answer):
        listed = answer.name in module(self.exercise).GAPS
        assert visible_tests[answer.name] == listed, (
            f"{answer.name} ({answer.why}) " + ("is listed in GAPS but fails a visible test" if listed else
                                                "passes every visible test: list it in GAPS, or catch it visibly"))

    def test_valid_answer_gets_full_marks(self, graded, visible_tests, answer):
        assert graded[answer.name] == self.full_marks(), f"{answer.name} ({answer.why}): {graded[answer.name]}"
        assert visible_tests[answer.name], f"{answer.name} ({answer.why}) fails a visible test"


def has_answers(name):
    return (ROOT / "tests" / "answers" / f"{name}.py").is_file()


def test_every_exercise_has_an_answers_module():
    assert [name for name in exercises() if not has_answers(name)] == []


EXERCISE_CLASSES = {}
for _name in filter(has_answers, exercises()):
    _class_name = "Test" + "".join(part.capitalize() for part in _name.split("_"))
    EXERCISE_CLASSES[_name] = globals()[_class_name] = type(_class_name, (Answers,), {"exercise": _name})
