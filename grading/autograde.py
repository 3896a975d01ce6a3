"""Autograde every collected submission, one at a time, so that no submission can stop the grading of the others.

A supervisor (:func:`autograde`) starts a worker process (``python -m grading _worker``) that imports nbgrader once
and autogrades the submissions it is given, one after the other, reporting each start and end on a pipe. Inside the
worker, nbgrader runs each notebook with :class:`grading.plugins.preprocessors.ResilientExecute`, so a loop is
interrupted after the per-cell timeout and a dead or hung kernel only costs the cells after it. Should a submission
still take longer than its wall-clock limit, the supervisor kills the worker and every process under it (kernels
included), grades that submission 0 with a note, and starts a new worker for the rest.

After nbgrader, every autograder test that got no score (the student deleted the cell or broke its metadata) is
given 0 and left marked "needs manual grade", so it is never silently ungraded. A submission whose autograding
fails outright is graded 0 the same way. The worker writes what it found into the submission's record
(:mod:`grading.records`) and tells the supervisor only which submission it finished; the supervisor reads the record
back for its report and returns every record.

A submission already autograded from the same file with the same settings is skipped unless ``force`` is given,
so running the workflow twice changes nothing; nbgrader never overwrites a manual grade either way.
The settings (cell timeout, submission limit, workers) are :class:`grading.settings.Grading`'s.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import nbformat

from . import records, sandbox
from .checks import compare_with_release, inspect_graded
from .course import Course, serialise_gradebook, sha256
from .errors import StepFailed
from .integrity import Baseline, IntegrityError
from .plugins import judge
from .records import Finding, Kind, Record
from .settings import Grading

#: Seconds a whole submission may take, on top of the per-cell timeouts: see :func:`submission_limit`.
BASE_LIMIT = 60


def grade_settings(course: Course, exercise: str) -> dict[str, Any]:
    """What a grade depends on besides the submission: rerun when any of these changes. (As the records on disk
    hold it: the output limit as text.)"""
    grading = Grading(config=course.config())
    return {"cell_timeout": grading.cell_timeout, "source_sha256": sha256(course.source_notebook(exercise)),
            "max_output_chars": str(grading.max_output_chars),
            "sandbox": sandbox.Limits.from_env().describe() if sandbox.enabled() else "off (SANDBOX=0)"}


def submission_limit(course: Course, exercise: str) -> float:
    """Wall-clock seconds for one submission: ``Grading.submission_limit`` when set, else every code cell of the
    exercise (and a few the student added) running into its timeout, plus kernel start-up."""
    grading = Grading(config=course.config())
    if grading.submission_limit is not None:
        return grading.submission_limit
    code_cells = sum(cell.cell_type == "code" for cell in course.read_release(exercise).cells)
    return BASE_LIMIT + (code_cells + 5) * (grading.cell_timeout + 5)


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


def zero_ungraded_tests(course: Course, exercise: str, student: str, everything: bool = False) -> list[str]:
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


def score(course: Course, exercise: str, student: str) -> tuple[float | None, float | None]:
    """``(score, max_score)`` of a submission in the gradebook, or ``(None, None)``."""
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            submission = gb.find_submission(exercise, student)
        except MissingEntry:
            return None, None
        return submission.score, submission.max_score


def is_current(course: Course, exercise: str, student: str) -> bool:
    """Was this submission graded from the same file with the same settings (successfully, or graded 0 after its
    autograding failed)? Then grading it again would change nothing."""
    record = records.read(course.grades, exercise, student)
    path = course.submission(exercise, student)
    failed = any(finding.kind is Kind.AUTOGRADE_FAILED for finding in record.autograded or [])
    return (path.is_file() and record.autograded_sha256 == sha256(path)
            and record.autograde_settings == grade_settings(course, exercise)
            and (failed or course.autograded_notebook(exercise, student).is_file())
            and score(course, exercise, student)[0] is not None)


# ---- the worker --------------------------------------------------------------------------------------------

def grade_one(course: Course, api: Any, exercise: str, student: str) -> Record:
    """Autograde one submission with nbgrader and record its findings; returns the record."""
    record = records.read(course.grades, exercise, student)
    path = course.submission(exercise, student)
    released = course.read_release(exercise)
    findings: list[Finding] = []
    unreadable = any(finding.kind is Kind.UNREADABLE for finding in record.collected or [])
    if not unreadable:
        try:
            findings += compare_with_release(nbformat.read(path, as_version=4), released)
        except Exception as error:  # noqa: BLE001 (any failure of one submission is recorded, never lost)
            findings.append(Finding(Kind.DAMAGED_NOTEBOOK, f"{type(error).__name__}: {error}"))
    start = time.monotonic()
    result = api.autograde(exercise, student, force=True, create=True)
    seconds = time.monotonic() - start
    log_path = course.grades / "logs" / exercise / f"{student}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(result.get("log", "") + result.get("error", ""))
    if result["success"] and course.autograded_notebook(exercise, student).is_file():
        findings += inspect_graded(nbformat.read(course.autograded_notebook(exercise, student), as_version=4))
        zeroed = zero_ungraded_tests(course, exercise, student)
        known = {finding.cell for finding in findings}
        for name in zeroed:
            if name not in known and not unreadable:
                findings.append(Finding(Kind.UNGRADED_TEST, f"test cell {name} was not graded: scored 0"))
    else:
        last = (result.get("error") or result.get("log") or "no message").strip().splitlines()[-1:]
        findings.append(Finding(Kind.AUTOGRADE_FAILED, f"nbgrader could not grade it ({' '.join(last)}); every "
                                                       "test scored 0"))
        _discard_autograded(course, exercise, student)
        zero_ungraded_tests(course, exercise, student, everything=True)
    return _record_autograde(course, record, findings, round(seconds, 2))


def _record_autograde(course: Course, record: Record, findings: list[Finding], seconds: float | None) -> Record:
    """Write what autograde found, with the file, settings and score it graded, into the record."""
    record.autograded, record.autograde_seconds = findings, seconds
    record.autograded_sha256 = sha256(course.submission(record.exercise, record.student))
    record.autograde_settings = grade_settings(course, record.exercise)
    record.score, record.max_score = score(course, record.exercise, record.student)
    records.write(course.grades, record)
    return record


def _discard_autograded(course, exercise, student):
    folder = course.autograded_notebook(exercise, student).parent
    if folder.exists():
        shutil.rmtree(folder)


def worker(root: str | os.PathLike, fd: int, exercise: str) -> None:
    """The worker's loop: grade each student named on stdin (one a line), reporting ``start`` and ``done`` as JSON
    lines on ``fd`` (the record is on disk by then: the supervisor reads it there); stops when stdin closes."""
    course = Course.find(root)
    serialise_gradebook(course.grades / "gradebook.lock")
    # nbgrader 0.9 builds each new submission's rows before adding them to its SQLAlchemy 2 session, which warns
    # three times a submission that the relationship is not yet in the session; the rows are added right after
    warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session", module="nbgrader")
    api = course.api()
    if sandbox.enabled() and sandbox.preload_enabled():
        sandbox.SandboxedKernelManager.preload = True  # kernels forked from a preloaded process (sandbox.Zygote),
        sandbox.Zygote.shared()                        # which starts importing now
    judge.warm_up()  # what the tests import (numpy, scikit-learn, nnlib), once per worker rather than per submission
    with os.fdopen(fd, "w", buffering=1) as channel:
        for line in sys.stdin:
            student = line.strip()
            if not student:
                break
            channel.write(json.dumps({"event": "start", "student": student}) + "\n")
            grade_one(course, api, exercise, student)
            channel.write(json.dumps({"event": "done", "student": student}) + "\n")


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


class _Slot:
    """One worker process (``python -m grading _worker``), fed one submission at a time on its stdin, reporting on a
    pipe read without buffering so that a deadline holds."""

    def __init__(self, course, exercise, index, log_file):
        read_fd, write_fd = os.pipe()
        command = [sys.executable, "-m", "grading", "_worker", "--fd", str(write_fd), exercise]
        self.process = subprocess.Popen(command, cwd=course.root, stdin=subprocess.PIPE, stdout=log_file,
                                        stderr=subprocess.STDOUT, pass_fds=(write_fd,), text=True)
        os.close(write_fd)
        self.fd, self.pending, self.index = read_fd, b"", index
        self.current, self.started, self.deadline = None, False, None

    def give(self, student, limit):
        self.current, self.started = student, False
        self.deadline = time.monotonic() + limit + 60  # + the worker's own start-up
        self.process.stdin.write(student + "\n")
        self.process.stdin.flush()

    def read_events(self):
        """The complete reports waiting on the pipe, and whether the worker has gone (end of file)."""
        chunk = os.read(self.fd, 1 << 16)
        self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()], not chunk

    def stop(self, kill=False):
        """Close its stdin (it finishes and exits) or kill it with everything under it; once. Then remove what its
        kernels left in their run folders (nothing, unless it was killed)."""
        if self.fd is None:
            return
        if kill and self.process.poll() is None:
            _kill_tree(self.process)
        try:
            self.process.stdin.close()
        except OSError:
            pass
        self.process.wait()
        os.close(self.fd)
        self.fd, self.current = None, None
        shutil.rmtree(sandbox.process_run_root(self.process.pid), ignore_errors=True)


def _grade_class(course, exercise, todo, limit, log, log_path, job_count, baseline=None):
    """Grade every submission in ``todo`` with ``job_count`` workers at once; returns ``{student: record}``.

    A worker that outlives a submission's wall-clock limit is killed with everything under it, the submission is
    graded 0, and a new worker takes the slot. After each submission the instructor's side is checked
    (:class:`grading.integrity.Baseline`)."""
    results, queue = {}, list(todo)
    slots = []
    with open(log_path, "a") as log_file:
        def fill(slot):
            if queue:
                slot.give(queue.pop(0), limit)
            else:
                slot.current = None

        try:
            for index in range(min(job_count, len(queue))):
                slots.append(_Slot(course, exercise, index, log_file))
                fill(slots[-1])
            while any(slot.current for slot in slots):
                busy = [slot for slot in slots if slot.current]
                wait = max(0.0, min(slot.deadline for slot in busy) - time.monotonic())
                ready = select.select([slot.fd for slot in busy], [], [], wait)[0]
                for slot in list(busy):
                    gone, finished = False, []
                    if slot.fd in ready:
                        events, gone = slot.read_events()
                        for event in events:
                            if event["event"] == "start":
                                slot.started, slot.deadline = True, time.monotonic() + limit
                            else:
                                finished.append(event["student"])
                    for student in finished:
                        results[student] = records.read(course.grades, exercise, student)
                        _report(log, results[student])
                        if baseline is not None:
                            baseline.verify(after=slot.current)
                            baseline.add_graded(slot.current)
                        fill(slot)
                    if slot.current is None:  # nothing left for it to grade
                        slot.stop()
                        continue
                    late = time.monotonic() > slot.deadline
                    if not (gone or late):
                        continue
                    if gone and not slot.started:  # it stopped before grading anything: a broken setup
                        raise StepFailed(f"autograde: the grading process stopped (exit {slot.process.wait()}) "
                                         f"before grading {slot.current}; see {log_path}")
                    student = slot.current
                    slot.stop(kill=True)
                    reason = (f"grading took longer than {limit:.0f} s and was stopped" if late
                              else f"the grading process died (exit {slot.process.returncode})")
                    results[student] = _give_up(course, exercise, student, reason)
                    _report(log, results[student])
                    if baseline is not None:
                        baseline.verify(after=student)
                        baseline.add_graded(student)
                    replacement = _Slot(course, exercise, slot.index, log_file)
                    slots[slots.index(slot)] = replacement
                    fill(replacement)
                    if replacement.current is None:
                        replacement.stop()
        finally:
            for slot in slots:
                slot.stop(kill=True)
    return results


def autograde(course: Course, exercises: Iterable[str], force: bool = False, only: Iterable[str] = (),
              log: Callable[[str], object] = print) -> dict[tuple[str, str], Record]:
    """Autograde every collected submission of ``exercises`` (of the students ``only``, when given), each in its
    own sandbox, several at once; returns ``{(exercise, student): record}``, the unchanged ones included.

    Stops before grading anyone when the sandbox cannot be set up (unless ``SANDBOX=0``)."""
    results = {}
    only = set(only)
    grading = Grading(config=course.config())
    job_count = grading.workers
    # the supervisor writes the gradebook too (a submission it gives up on): under the same lock as its workers
    serialise_gradebook(course.grades / "gradebook.lock")
    if sandbox.enabled():
        try:
            limits = sandbox.Limits.from_env()
            sandbox.check(limits)
        except sandbox.SandboxError as error:
            raise StepFailed(f"autograde: nothing was graded: {error}") from None
        how = f"each in its own sandbox ({limits.describe()})"
    else:
        how = "WITHOUT the sandbox (SANDBOX=0): the submissions ran with your rights; use it for trusted work only"
    for exercise in exercises:
        students = [s for s in course.students(exercise) if not only or s in only]
        if not students:
            log(f"autograde: no submission of {exercise} in submitted/ (run collect first)")
            continue
        todo = [s for s in students if force or not is_current(course, exercise, s)]
        for student in sorted(set(students) - set(todo)):
            results[(exercise, student)] = records.read(course.grades, exercise, student)
        log(f"autograde: {exercise}: {len(todo)} submission(s) to grade"
            + (f", {len(students) - len(todo)} unchanged since they were graded" if len(todo) < len(students)
               else "") + f" (cell timeout {grading.cell_timeout} s)")
        if not todo:
            continue
        log(f"autograde: {min(job_count, len(todo))} at a time, {how}")
        log_path = course.grades / "logs" / f"autograde-{exercise}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        start, count = time.monotonic(), len(todo)
        baseline = Baseline(course, exercise)
        try:
            graded = _grade_class(course, exercise, list(todo), submission_limit(course, exercise), log, log_path,
                                  job_count, baseline)
            baseline.verify(after="the class", full=True)
        except IntegrityError as error:
            raise StepFailed(str(error)) from None
        results.update({(exercise, student): record for student, record in graded.items()})
        elapsed = time.monotonic() - start
        log(f"autograde: {exercise}: {count} submission(s) in {elapsed:.1f} s ({elapsed / count:.1f} s each)")
    return results


def _give_up(course: Course, exercise: str, student: str, reason: str) -> Record:
    _discard_autograded(course, exercise, student)
    zero_ungraded_tests(course, exercise, student, everything=True)
    return _record_autograde(course, records.read(course.grades, exercise, student),
                             [Finding(Kind.AUTOGRADE_FAILED, f"{reason}; every test scored 0")], None)


def _report(log: Callable[[str], object], record: Record) -> None:
    findings = [*(record.collected or []), *(record.autograded or [])]
    seconds = record.autograde_seconds
    log(f"  {record.student:<24} {record.score or 0:g} / {record.max_score or 0:g}"
        + (f"  ({seconds:.1f} s)" if seconds else "")
        + (f"  findings: {'; '.join(sorted({str(finding.kind) for finding in findings}))}" if findings else ""))
