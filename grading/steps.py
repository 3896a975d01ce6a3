"""The workflow's short steps: release, feedback, export, and the learners' validate."""

import re
from pathlib import Path

from .errors import CourseError, StepFailed


def _check(result, what):
    if not result.get("success"):
        detail = (result.get("log", "") + result.get("error", "")).strip()
        raise StepFailed(f"{what} failed:\n{detail[-4000:]}")


def release(course, exercises, log=print):
    """``nbgrader generate_assignment EX --force`` for each exercise: writes ``exercises/EX/`` (the student version)
    and enters the exercise, its notebooks and its graded cells in the gradebook."""
    api = course.api()
    for exercise in exercises:
        _check(api.generate_assignment(exercise, force=True, create=True), f"release of {exercise}")
        log(f"release: {exercise} -> exercises/{exercise}/")


def feedback(course, exercises, log=print):
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
        for student in lacking:
            record = course.read_record(exercise, student)
            record["feedback"] = [{"kind": "no feedback", "detail": "nbgrader could not write the feedback page"}]
            course.write_record(exercise, student, record)
        for student in set(students) - set(lacking):
            record = course.read_record(exercise, student)
            if record.pop("feedback", None) is not None:
                course.write_record(exercise, student, record)
        if lacking and not result.get("success"):
            log((result.get("log", "") + result.get("error", ""))[-2000:])
        missing[exercise] = lacking
        log(f"feedback: {exercise}: {len(students) - len(lacking)} page(s) in feedback/*/{exercise}/"
            + (f"; none for {', '.join(lacking)}" if lacking else ""))
    return missing


def export(course, to=None, log=print):
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


def validate(course, targets, invert=False, log=print):
    """``nbgrader validate`` (or ``--invert``) on notebooks given as paths or exercise names; returns True when
    all pass (all fail, with ``invert``)."""
    paths = []
    for target in targets or [str(p) for p in sorted(course.exercises_dir.glob("*/*.ipynb"))]:
        path = Path(target)
        if not path.suffix and target in course.exercises():
            path = course.release_notebook(target)
        if not path.is_file():
            raise CourseError(f"{target}: no such notebook (give a path or one of {course.exercises()})")
        paths.append(path.resolve())
    ok = True
    for path in paths:
        result = course.nbgrader("validate", *(["--invert"] if invert else []), str(path), check=False,
                                 capture=True)
        output = result.stdout
        expected = "does not pass any tests" if invert else "passes all the tests"
        passed = result.returncode == 0 and f"Success! {'The notebook' if invert else 'Your notebook'} " \
                                            f"{expected}" in output
        ok &= passed
        shown = output if not passed else re.sub(r"^\s*\n", "", output.splitlines()[-1] + "\n")
        log(f"{path.relative_to(course.root) if path.is_relative_to(course.root) else path}: "
            + ("OK: " if passed else "NOT YET:\n") + shown.rstrip())
        if not passed and result.stderr.strip() and "Traceback" in result.stderr:
            log(result.stderr[-3000:])
        if not invert:  # the learner's points per part, and that hidden tests count too (validate_report.py)
            from .validate_report import points_report
            log(points_report(path, output))
    return ok
