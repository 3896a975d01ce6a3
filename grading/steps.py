"""The workflow's short steps: release, feedback, export, and the learners' validate."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat

from . import records
from .course import Course
from .errors import CourseError, StepFailed
from .records import Finding, Kind


def _check(result, what):
    if not result.get("success"):
        detail = (result.get("log", "") + result.get("error", "")).strip()
        raise StepFailed(f"{what} failed:\n{detail[-4000:]}")


def release(course: Course, exercises: Iterable[str], log: Callable[[str], object] = print) -> None:
    """``nbgrader generate_assignment EX --force`` for each exercise: writes ``exercises/EX/`` (the student version)
    and enters the exercise, its notebooks and its graded cells in the gradebook."""
    api = course.api()
    for exercise in exercises:
        _check(api.generate_assignment(exercise, force=True, create=True), f"release of {exercise}")
        log(f"release: {exercise} -> exercises/{exercise}/")


def feedback(course: Course, exercises: Iterable[str],
             log: Callable[[str], object] = print) -> dict[str, list[str]]:
    """``nbgrader generate_feedback EX --force`` for each exercise: one HTML page per autograded submission in
    ``feedback/<student>/<EX>/``, hidden tests removed. Returns the students whose feedback is missing."""
    api = course.api()
    missing = {}
    for exercise in exercises:
        students = [p.parent.name for p in sorted(course.autograded.glob(f"*/{exercise}"))] \
            if course.autograded.is_dir() \
            else []
        if not students:
            log(f"feedback: nothing autograded for {exercise}")
            continue
        result = api.generate_feedback(exercise, force=True)
        lacking = [s for s in students
                   if not (course.feedback / s / exercise / f"{exercise}.html").is_file()]
        for student in students:
            record = records.read(course.grades, exercise, student)
            found = [Finding(Kind.NO_FEEDBACK, "nbgrader could not write the feedback page")] \
                if student in lacking else None
            if record.feedback != found:
                record.feedback = found
                records.write(course.grades, record)
        if lacking and not result.get("success"):
            log((result.get("log", "") + result.get("error", ""))[-2000:])
        missing[exercise] = lacking
        log(f"feedback: {exercise}: {len(students) - len(lacking)} page(s) in feedback/*/{exercise}/"
            + (f"; none for {', '.join(lacking)}" if lacking else ""))
    return missing


def export(course: Course, to: str | Path | None = None, log: Callable[[str], object] = print) -> Path:
    """Grades of every student for every exercise to CSV (nbgrader's CSV exporter; a missing submission is 0)."""
    from nbgrader.plugins import CsvExportPlugin

    path = Path(to) if to else course.grades / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(config=course.config())
    plugin.to = str(path)
    with course.gradebook() as gb:
        plugin.export(gb)
    log(f"export: {path}")
    return path


def validate(course: Course, targets: Iterable[str], invert: bool = False,
             log: Callable[[str], object] = print) -> bool:
    """Run each notebook (given as a path or an exercise name; default: every released exercise) on a fresh kernel
    with nbgrader's ``Validator`` and report, from its results, the test cells that fail (that pass, with
    ``invert``) and the learner's points per part; returns True when all pass (all fail, with ``invert``)."""
    from nbgrader.validator import Validator

    from . import sandbox
    from .validate_report import failures, points_report, titles

    paths = []
    for target in targets or [str(p) for p in sorted(course.exercises_dir.glob("*/*.ipynb"))]:
        path = Path(target)
        if not path.suffix and target in course.exercises():
            path = course.release_notebook(target)
        if not path.is_file():
            raise CourseError(f"{target}: no such notebook (give a path or one of {course.exercises()})")
        paths.append(path.resolve())
    validator = Validator(config=course.config())  # its preprocessors: nbgrader_config.py's (LearnerExecute)
    validator.invert = invert
    ok = True
    try:
        for path in paths:
            name = path.relative_to(course.root) if path.is_relative_to(course.root) else path
            try:
                nb = nbformat.read(path, as_version=4)
                results = validator.validate(str(path))
            except Exception as error:  # noqa: BLE001 (any failure is this notebook's verdict; the others still run)
                ok = False
                log(f"{name}: NOT YET: it could not be validated: {type(error).__name__}: {error}")
                continue
            ok &= not results
            if not results:
                log(f"{name}: OK: it passes " + ("none of the tests." if invert else "all the visible tests."))
            else:
                log(f"{name}: NOT YET: " + failures(results, invert=invert, titles=titles(nb)))
            if not invert:  # the learner's points per part, and that hidden tests count too
                log(points_report(nb, results))
    finally:
        if os.environ.get(sandbox.RUN_ROOT_VARIABLE):  # the sandbox's folder of this process (its kernels' are gone)
            shutil.rmtree(sandbox.process_run_root(os.getpid()), ignore_errors=True)
    return ok
