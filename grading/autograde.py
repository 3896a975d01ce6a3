"""Autograde every collected submission, one at a time, so that no submission can stop the grading of the others.

A supervisor (:func:`autograde`) starts a worker process (``python -m grading _worker``) that imports nbgrader once
and autogrades the submissions it is given, one after the other, reporting each start and end on a pipe. Inside the
worker, nbgrader runs each notebook with :class:`grading.preprocessors.ResilientExecute`, so a loop is interrupted
after the per-cell timeout and a dead or hung kernel only costs the cells after it. Should a submission still
take longer than its wall-clock limit, the supervisor kills the worker and every process under it (kernels
included), grades that submission 0 with a note, and starts a new worker for the rest.

After nbgrader, every autograder test that got no score (the student deleted the cell or broke its metadata) is
given 0 and left marked "needs manual grade", so it is never silently ungraded. A submission whose autograding
fails outright is graded 0 the same way. Everything found goes into the submission's record for the summary.

A submission already autograded from the same file with the same settings is skipped unless ``force`` is given,
so running the workflow twice changes nothing; nbgrader never overwrites a manual grade either way.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import time

import nbformat

from .checks import compare_with_release, inspect_graded
from .course import Course, sha256

#: Seconds a whole submission may take, on top of the per-cell timeouts: see :func:`submission_limit`.
BASE_LIMIT = 60


def cell_timeout():
    return int(os.environ.get("NBGRADER_CELL_TIMEOUT", "30"))


def settings(course, exercise):
    """What a grade depends on besides the submission: rerun when any of these changes."""
    return {"cell_timeout": cell_timeout(), "source_sha256": sha256(course.source_notebook(exercise)),
            "max_output_chars": os.environ.get("NBGRADER_MAX_OUTPUT_CHARS", "20000")}


def submission_limit(course, exercise):
    """Wall-clock seconds for one submission: every code cell of the exercise (and a few the student added)
    running into its timeout, plus kernel start-up. ``NBGRADER_SUBMISSION_LIMIT`` overrides it."""
    if os.environ.get("NBGRADER_SUBMISSION_LIMIT"):
        return float(os.environ["NBGRADER_SUBMISSION_LIMIT"])
    code_cells = sum(cell.cell_type == "code" for cell in course.read_release(exercise).cells)
    return BASE_LIMIT + (code_cells + 5) * (cell_timeout() + 5)


# ---- the gradebook side ------------------------------------------------------------------------------------

def _test_grades(gb, exercise, student):
    """The Grade rows of the autograder tests of one submission."""
    submission = gb.find_submission(exercise, student)
    return [grade for notebook in submission.notebooks for grade in notebook.grades
            if grade.cell.cell_type == "code" and not _is_solution(gb, grade, exercise)]


def _is_solution(gb, grade, exercise):
    from nbgrader.api import MissingEntry

    try:
        gb.find_solution_cell(grade.name, grade.notebook.name, exercise)
        return True
    except MissingEntry:
        return False


def zero_ungraded_tests(course, exercise, student, everything=False):
    """Give 0 to each autograder test with no score (all of them when ``everything``); returns their names."""
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(exercise, student)
        zeroed = []
        for grade in _test_grades(gb, exercise, student):
            if everything or grade.auto_score is None:
                grade.auto_score = 0.0
                grade.needs_manual_grade = True
                zeroed.append(grade.name)
        gb.db.commit()
        return zeroed


def score(course, exercise, student):
    """``(score, max_score)`` of a submission in the gradebook, or ``(None, None)``."""
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            submission = gb.find_submission(exercise, student)
        except MissingEntry:
            return None, None
        return submission.score, submission.max_score


def is_current(course, exercise, student):
    """Was this submission graded from the same file with the same settings (successfully, or graded 0 after its
    autograding failed)? Then grading it again would change nothing."""
    record = course.read_record(exercise, student)
    path = course.submission(exercise, student)
    failed = any(issue["kind"] == "autograde failed" for issue in record.get("autograded", []))
    return (path.is_file() and record.get("autograded_sha256") == sha256(path)
            and record.get("autograde_settings") == settings(course, exercise)
            and (failed or course.autograded_notebook(exercise, student).is_file())
            and score(course, exercise, student)[0] is not None)


# ---- the worker --------------------------------------------------------------------------------------------

def grade_one(course, api, exercise, student):
    """Autograde one submission with nbgrader and record what needs attention; returns the record."""
    record = course.read_record(exercise, student)
    path = course.submission(exercise, student)
    released = course.read_release(exercise)
    issues = []
    unreadable = any(issue["kind"] == "unreadable" for issue in record.get("collected", []))
    if not unreadable:
        try:
            issues += compare_with_release(nbformat.read(path, as_version=4), released)
        except Exception as error:
            issues.append({"kind": "damaged notebook", "detail": f"{type(error).__name__}: {error}"})
    start = time.monotonic()
    result = api.autograde(exercise, student, force=True, create=True)
    seconds = time.monotonic() - start
    log_path = course.grades / "logs" / exercise / f"{student}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(result.get("log", "") + result.get("error", ""))
    if result["success"] and course.autograded_notebook(exercise, student).is_file():
        issues += inspect_graded(nbformat.read(course.autograded_notebook(exercise, student), as_version=4))
        zeroed = zero_ungraded_tests(course, exercise, student)
        known = {issue.get("cell") for issue in issues}
        for name in zeroed:
            if name not in known and not unreadable:
                issues.append({"kind": "ungraded test", "detail": f"test cell {name} was not graded: scored 0"})
    else:
        last = (result.get("error") or result.get("log") or "no message").strip().splitlines()[-1:]
        issues.append({"kind": "autograde failed", "detail": f"nbgrader could not grade it ({' '.join(last)}); "
                                                             "every test scored 0"})
        _discard_autograded(course, exercise, student)
        zero_ungraded_tests(course, exercise, student, everything=True)
    record.update(student=student, exercise=exercise, autograded=issues, autograde_seconds=round(seconds, 2),
                  autograded_sha256=sha256(path), autograde_settings=settings(course, exercise))
    record["score"], record["max_score"] = score(course, exercise, student)
    course.write_record(exercise, student, record)
    return record


def _discard_autograded(course, exercise, student):
    folder = course.autograded_notebook(exercise, student).parent
    if folder.exists():
        shutil.rmtree(folder)


def worker(root, fd, exercise, students):
    """The worker's loop: grade each student, reporting ``start`` and ``done`` as JSON lines on ``fd``."""
    course = Course.find(root)
    api = course.api()
    with os.fdopen(fd, "w", buffering=1) as channel:
        for student in students:
            channel.write(json.dumps({"event": "start", "student": student}) + "\n")
            record = grade_one(course, api, exercise, student)
            channel.write(json.dumps({"event": "done", "student": student, "record": record}) + "\n")


# ---- the supervisor ----------------------------------------------------------------------------------------

def _kill_tree(process):
    """Kill a process and everything under it (the kernels run in their own sessions, so a process group kill
    would miss them)."""
    import psutil

    try:
        parent = psutil.Process(process.pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        family = []
    for member in family:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=10)
    process.wait()


def _start_worker(course, exercise, students, log_file):
    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-m", "grading", "_worker", "--fd", str(write_fd), exercise, *students]
    process = subprocess.Popen(command, cwd=course.root, stdin=subprocess.DEVNULL, stdout=log_file,
                               stderr=subprocess.STDOUT, pass_fds=(write_fd,))
    os.close(write_fd)
    return process, _Channel(read_fd)


class _Channel:
    """The worker's reports, one JSON object a line, read without buffering so that a deadline holds: a buffered
    reader may hold the next line while ``select`` waits on an empty pipe."""

    def __init__(self, fd):
        self.fd, self.pending = fd, b""

    def read_event(self, deadline):
        """The next report, ``None`` at the deadline, ``"eof"`` when the worker has gone."""
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return "eof"
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        os.close(self.fd)


def _grade_class(course, exercise, todo, limit, log, log_path):
    """Run workers until every submission in ``todo`` has a record; returns ``{student: record}``."""
    results = {}
    with open(log_path, "a") as log_file:
        while todo:
            process, channel = _start_worker(course, exercise, todo, log_file)
            current, deadline = None, time.monotonic() + limit + 60  # + the worker's own start-up
            while True:
                event = channel.read_event(deadline)
                if event is None or event == "eof":
                    break
                if event["event"] == "start":
                    current, deadline = event["student"], time.monotonic() + limit
                else:
                    results[current] = event["record"]
                    todo.remove(current)
                    _report(log, event["record"])
                    current, deadline = None, time.monotonic() + limit + 60
            if event is None:  # past the wall-clock limit: stop the worker and everything it started
                _kill_tree(process)
            else:
                process.wait()
            channel.close()
            if not todo:
                break
            if current is None:  # the worker stopped without grading anything: a broken setup, not a student
                raise SystemExit(f"autograde: the grading process stopped (exit {process.returncode}) before "
                                 f"grading {todo[0]}; see {log_path}")
            reason = (f"grading took longer than {limit:.0f} s and was stopped" if event is None
                      else f"the grading process died (exit {process.returncode})")
            results[current] = _give_up(course, exercise, current, reason)
            _report(log, results[current])
            todo.remove(current)
    return results


def autograde(course, exercises, force=False, only=(), log=print):
    """Autograde every collected submission of ``exercises`` (of the students ``only``, when given); returns
    ``{(exercise, student): record}``."""
    results = {}
    for exercise in exercises:
        students = [s for s in course.students(exercise) if not only or s in only]
        if not students:
            log(f"autograde: no submission of {exercise} in submitted/ (run collect first)")
            continue
        todo = [s for s in students if force or not is_current(course, exercise, s)]
        for student in sorted(set(students) - set(todo)):
            results[(exercise, student)] = course.read_record(exercise, student)
        log(f"autograde: {exercise}: {len(todo)} submission(s) to grade"
            + (f", {len(students) - len(todo)} unchanged since they were graded" if len(todo) < len(students)
               else "") + f" (cell timeout {cell_timeout()} s)")
        if not todo:
            continue
        log_path = course.grades / "logs" / f"autograde-{exercise}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        start, count = time.monotonic(), len(todo)
        graded = _grade_class(course, exercise, list(todo), submission_limit(course, exercise), log, log_path)
        results.update({(exercise, student): record for student, record in graded.items()})
        elapsed = time.monotonic() - start
        log(f"autograde: {exercise}: {count} submission(s) in {elapsed:.1f} s ({elapsed / count:.1f} s each)")
    return results


def _give_up(course, exercise, student, reason):
    _discard_autograded(course, exercise, student)
    zero_ungraded_tests(course, exercise, student, everything=True)
    record = course.read_record(exercise, student)
    path = course.submission(exercise, student)
    record.update(student=student, exercise=exercise, autograde_seconds=None,
                  autograded=[{"kind": "autograde failed", "detail": f"{reason}; every test scored 0"}],
                  autograded_sha256=sha256(path), autograde_settings=settings(course, exercise))
    record["score"], record["max_score"] = score(course, exercise, student)
    course.write_record(exercise, student, record)
    return record


def _report(log, record):
    issues = record.get("collected", []) + record.get("autograded", [])
    seconds = record.get("autograde_seconds")
    log(f"  {record['student']:<24} {record.get('score', 0) or 0:g} / {record.get('max_score') or 0:g}"
        + (f"  ({seconds:.1f} s)" if seconds else "")
        + (f"  attention: {'; '.join(sorted({issue['kind'] for issue in issues}))}" if issues else ""))
