"""Fake submissions for the grading tests, built from an exercise's source and released notebooks.

Every expected score is computed here from the points in the source notebook's metadata and the position of the
cells, never from the grader's output.
"""

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
COURSE_FILES = ("nbgrader_config.py", "grading")


def exercises():
    """Every exercise of the course: a folder of solutions/ with a notebook of the same name."""
    return sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


def make_course(folder, names):
    """A copy of the course in ``folder`` with only the exercises ``names`` (and no gradebook)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / name)
    for name in names:
        shutil.copytree(ROOT / "solutions" / name, folder / "solutions" / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return folder


def run_grading(course, *args, env=None, timeout=1200, check=True):
    """``python -m grading ARGS`` in the course folder ``course``, as an instructor runs it (this process's
    environment with ``env`` added); returns the completed process, its output captured. With ``check``, a failure
    (exit status not 0) fails the test with the command's output. The one way the tests run the grading workflow."""
    args = [str(arg) for arg in args]
    result = subprocess.run([sys.executable, "-m", "grading", *args], cwd=course, text=True, capture_output=True,
                            env=dict(os.environ, **(env or {})), timeout=timeout)
    if check:
        assert result.returncode == 0, (f"python -m grading {' '.join(args)} failed (exit {result.returncode}):\n"
                                        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test(cell):
    return bool(meta(cell).get("grade")) and not meta(cell).get("solution")


def is_code_answer(cell):
    return bool(meta(cell).get("solution")) and cell.cell_type == "code"


def without_markers(source):
    """The solution as a student would write it: the code between the markers, the markers removed."""
    return "\n".join(line for line in source.splitlines()
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


class Exercise:
    """An exercise's notebooks and the submissions and expected scores the tests derive from them."""

    def __init__(self, source_path, released_path):
        self.name = Path(source_path).stem
        self.source = nbformat.read(source_path, as_version=4)
        self.released = nbformat.read(released_path, as_version=4)
        self.answers = {meta(c)["grade_id"]: without_markers(c.source)
                        for c in self.source.cells if meta(c).get("solution")}

    # ---- points, from the source notebook's metadata -----------------------------------------------------
    def tests(self):
        """``[(index in the released notebook, grade_id, points)]`` of the autograder tests."""
        return [(i, meta(c)["grade_id"], float(meta(c).get("points", 0)))
                for i, c in enumerate(self.released.cells) if is_test(c)]

    @property
    def test_points(self):
        return sum(points for _, _, points in self.tests())

    @property
    def total_points(self):
        return sum(float(meta(c).get("points", 0)) for c in self.source.cells if meta(c).get("grade"))

    def points_before(self, index):
        """Points of the tests above cell ``index`` of the released notebook."""
        return sum(points for i, _, points in self.tests() if i < index)

    @property
    def first_test(self):
        return self.tests()[0]

    # ---- submissions -------------------------------------------------------------------------------------
    def answered(self, skip=()):
        """The released notebook with every answer filled in from the solution, except those in ``skip``."""
        nb = copy.deepcopy(self.released)
        for cell in nb.cells:
            grade_id = meta(cell).get("grade_id")
            if meta(cell).get("solution") and grade_id not in skip:
                cell.source = self.answers[grade_id]
        return nb

    def blank(self):
        return copy.deepcopy(self.released)

    def partly_wrong(self):
        """The last code answer left as released (its stub): the tests above it pass, the ones below fail."""
        last = [i for i, c in enumerate(self.released.cells) if is_code_answer(c)][-1]
        nb = self.answered(skip={meta(self.released.cells[last])["grade_id"]})
        return nb, self.points_before(last)

    def with_cell(self, *codes):
        """The full solution with cells of the student's own inserted just after the first test cell."""
        nb = self.answered()
        index = self.first_test[0] + 1
        nb.cells[index:index] = [nbformat.v4.new_code_cell(code) for code in codes]
        return nb, index

    def without_first_test(self):
        nb = self.answered()
        del nb.cells[self.first_test[0]]
        return nb

    def with_points_changed(self):
        """The full solution, with the first test claiming 100 points: the released points must be used."""
        nb = self.answered()
        meta(nb.cells[self.first_test[0]])["points"] = 100
        return nb

    def damaged(self):
        """Valid JSON, but not a valid notebook: a cell's source is a number."""
        data = json.loads(nbformat.writes(self.answered()))
        data["cells"][self.first_test[0]]["source"] = 5
        return json.dumps(data).encode()

    def with_tests_edited(self):
        """The blank notebook with every test cell emptied: it would pass all if the edits were kept."""
        nb = self.blank()
        for cell in nb.cells:
            if is_test(cell):
                cell.source = "pass  # tests? what tests?"
        return nb


def pathological(ex, slow_cells=0, cell_seconds=0):
    """``{student: (file name, notebook or bytes, expected score, expected attention kinds)}`` for one exercise.

    Cells that stop the kernel are inserted after the first test, so only that test (and those above) score.
    With ``slow_cells``, one more submission has that many cells of ``cell_seconds`` each after the first test:
    each within the cell timeout, together past the submission's time limit, so it is stopped and graded 0.
    """
    full, before_kill = ex.test_points, ex.points_before(ex.first_test[0] + 1)
    name = f"{ex.name}.ipynb"
    cases = {
        "solution": (name, ex.answered(), full, set()),
        "blank": (name, ex.blank(), 0.0, set()),
        "partly_wrong": (name, *ex.partly_wrong(), set()),
        "loops": (name, ex.with_cell("while True:\n    pass")[0], full, {"timeout"}),
        "ignores_interrupt": (name, ex.with_cell(
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)"
        )[0], before_kill, {"timeout"}),
        "raises": (name, ex.with_cell("raise ValueError('my code went wrong')")[0], full, {"error outside tests"}),
        # A learner's own first figure: matplotlib's inline backend registers an IPython callback, which is not
        # tampering (the test after it still counts).
        "plots": (name, ex.with_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()")[0],
                  full, set()),
        "sys_exit": (name, ex.with_cell("import sys\nsys.exit('bye')")[0], full, {"error outside tests"}),
        "os_exit": (name, ex.with_cell("import os\nos._exit(3)")[0], before_kill, {"kernel died"}),
        "kills_kernel": (name, ex.with_cell("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")[0],
                         before_kill, {"kernel died"}),
        # The sandbox's own first process is all a kernel can see of its parents: the grader is out of reach.
        "kills_grader": (name, ex.with_cell("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")[0], full,
                         {"blocked by the sandbox"}),
        "prints_megabytes": (name, ex.with_cell(
            "print('x' * 3_000_000)\nfor i in range(100_000):\n    print(i)")[0], full, {"output cut"}),
        "deletes_test": (name, ex.without_first_test(), full - ex.first_test[2], {"deleted test cell"}),
        "edits_tests": (name, ex.with_tests_edited(), 0.0, {"edited test cell"}),
        "renamed": (f"Copy of {ex.name} (1).ipynb", ex.answered(), full, {"renamed"}),
        "not_json": (name, nbformat.writes(ex.answered())[:-200].encode(), 0.0, {"unreadable"}),
        "damaged": (name, ex.damaged(), 0.0, {"unreadable"}),
        "changes_points": (name, ex.with_points_changed(), full, {"changed cell metadata"}),
    }
    if slow_cells:
        cases["too_slow"] = (name, ex.with_cell(*[f"import time\ntime.sleep({cell_seconds})"] * slow_cells)[0],
                             0.0, {"autograde failed"})
    return cases


def write_submissions(folder, cases):
    """One folder per student, as an LMS download gives them; returns the folder."""
    folder = Path(folder)
    for student, (file_name, content, _, _) in cases.items():
        path = folder / student / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, path)
    return folder


def attention_kinds(course):
    """``{student: {kind, ...}}`` from a graded course's grades/attention.csv."""
    kinds = {}
    with open(Path(course) / "grades" / "attention.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            kinds.setdefault(row["student"], set()).add(row["kind"])
    return kinds
