"""Wrong answers and valid alternatives for every exercise, graded by the real pipeline in
tests/grading/test_answers.py.

One module per exercise (named like the exercise) holds ``CASES``, a list of :class:`Answer`, and ``GAPS``, the names
of the wrong answers that pass every visible test (a learner sees green and loses points: a gap to close). An answer
is the exercise's own solution with some answer cells changed, as a learner would write them; ``scores`` gives the
points the grader must give each test cell that does not get full marks (every test cell not listed gets full marks).
The expected points are worked out from what each test checks, never taken from the grader's output.
"""

import copy
import importlib
from dataclasses import dataclass, field

from grading_cases import Exercise, meta


@dataclass(frozen=True)
class Answer:
    name: str
    kind: str  # "wrong" (must lose the points of what it breaks) or "valid" (must get full marks)
    cells: dict  # grade_id of an answer cell -> its new source, or a list of (old, new) changes to the solution's
    scores: dict = field(default_factory=dict)  # grade_id of a test cell -> points expected (others: full)
    why: str = ""
    judge_gap: str = ""  # why the grader cannot take the points yet (the test is then a strict xfail)

    def __post_init__(self):
        assert self.kind in ("wrong", "valid"), self.kind
        assert self.name.isidentifier() and self.name.islower(), f"{self.name}: a student id must be a plain name"
        assert (self.kind == "wrong") == bool(self.scores), (
            f"{self.name}: a wrong answer loses points, a valid one none")


def wrong(name, cells, scores, why="", judge_gap=""):
    return Answer(name, "wrong", cells, scores, why, judge_gap)


def valid(name, cells, why=""):
    return Answer(name, "valid", cells, {}, why)


def module(exercise):
    """The answers module of an exercise (``tests/answers/<exercise>.py``)."""
    return importlib.import_module(f"answers.{exercise}")


def notebook(ex: Exercise, answer: Answer):
    """The released notebook with every answer cell filled in from the solution, then ``answer``'s cells changed."""
    nb = ex.answered()
    cells = {meta(c).get("grade_id"): c for c in nb.cells if meta(c).get("solution")}
    for grade_id, change in answer.cells.items():
        assert grade_id in cells, f"{answer.name}: no answer cell {grade_id!r} in {ex.name}"
        if isinstance(change, str):
            cells[grade_id].source = change
            continue
        source = ex.answers[grade_id]  # the solution as a learner writes it (markers removed)
        for old, new in change:
            assert source.count(old) == 1, f"{answer.name}: {old!r} is not once in the solution of {grade_id}"
            source = source.replace(old, new)
        cells[grade_id].source = source
    return copy.deepcopy(nb)
