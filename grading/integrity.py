"""The instructor's side must stay as it was while a class is graded (defence in depth: the sandbox should make a
change impossible).

:class:`Baseline` takes fingerprints before the first submission runs and compares them after each one:

- the exercise in the gradebook (its notebooks and their source, grade, solution and task cells) and the grades of
  every submission already graded;
- ``solutions/``, ``nbgrader_config.py``, the grading code (``grading/``), the course's library (``nnlib``) and
  the autograded notebooks of the submissions already graded, by content;
- the Python environment: its ``.pth`` files and ``site-packages`` listing after each submission; every file's
  size, time and mode at the start and at the end of the class (a walk of the whole environment takes about 0.4 s).

A difference stops the run with :class:`IntegrityError`, naming what changed.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

from .sandbox import course_package_dirs

if TYPE_CHECKING:
    from .course import Course

GRADEBOOK_TABLES = ("assignment", "notebook", "base_cell", "grade_cells", "solution_cells", "source_cell",
                    "task_cells")


class IntegrityError(RuntimeError):
    """Something on the instructor's side changed while the class was graded."""


def _files_digest(paths):
    digest = hashlib.sha256()
    for base in paths:
        base = Path(base)
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file()
                                                      and "__pycache__" not in p.parts)
        for path in files:
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _tree_stats(folder):
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_mode}\n".encode())
    return digest.hexdigest()


def _site_packages():
    return Path(sysconfig.get_paths()["purelib"])


def _environment_quick():
    site = _site_packages()
    digest = hashlib.sha256()
    for path in sorted(site.iterdir()):
        info = path.lstat()
        digest.update(f"{path.name}\0{info.st_mtime_ns}\0{info.st_mode}\n".encode())
        if path.suffix == ".pth" or path.name.startswith(("sitecustomize", "usercustomize", "__editable__")):
            digest.update(path.read_bytes())
    bin_dir = Path(sys.prefix) / "bin"
    for path in sorted(bin_dir.iterdir()) if bin_dir.is_dir() else []:
        info = path.lstat()
        digest.update(f"{path.name}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_mode}\n".encode())
    return digest.hexdigest()


def _gradebook_path(course):
    url = course.config().CourseDirectory.db_url
    return Path(url.split("sqlite:///", 1)[1].split("?", 1)[0]) if url.startswith("sqlite:///") else None


def _query(path, sql, args=()):
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def _gradebook_definition(path):
    digest = hashlib.sha256()
    for table in GRADEBOOK_TABLES:
        try:
            rows = _query(path, f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 (fixed table names)
        except sqlite3.OperationalError:
            continue
        digest.update(repr((table, rows)).encode())
    return digest.hexdigest()


def _grades_of(path, exercise, student):
    sql = ("SELECT base_cell.name, grade.auto_score, grade.manual_score, grade.extra_credit, "
           "grade.needs_manual_grade FROM grade JOIN base_cell ON grade.cell_id = base_cell.id "
           "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
           "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
           "JOIN assignment ON submitted_assignment.assignment_id = assignment.id "
           "WHERE assignment.name = ? AND submitted_assignment.student_id = ? ORDER BY base_cell.name")
    try:
        return _query(path, sql, (exercise, student))
    except sqlite3.OperationalError:
        return None


class Baseline:
    """Fingerprints of the instructor's side, taken before a class is graded."""

    def __init__(self, course: Course, exercise: str) -> None:
        self.course, self.exercise = course, exercise
        self.gradebook = _gradebook_path(course)
        self.graded = {}  # student: (their grades, their autograded notebook's digest)
        self.quick = self._quick()
        self.environment = _tree_stats(sys.prefix)

    def _quick(self):
        course = self.course
        return {
            "the exercise in the gradebook": _gradebook_definition(self.gradebook) if self.gradebook else "",
            "solutions/": _files_digest([course.solutions]),
            "nbgrader_config.py": _files_digest([course.root / "nbgrader_config.py"]),
            "the grading code (grading/)": _files_digest([Path(__file__).parent]),
            "nnlib": _files_digest(course_package_dirs()),
            "the Python environment (site-packages, .pth files, bin/)": _environment_quick(),
        }

    def add_graded(self, student: str) -> None:
        """A submission is done: its grades and autograded notebook must not change from now on."""
        notebook = self.course.autograded_notebook(self.exercise, student)
        self.graded[student] = (_grades_of(self.gradebook, self.exercise, student) if self.gradebook else None,
                                _files_digest([notebook]) if notebook.is_file() else None)

    def verify(self, after: str, full: bool = False) -> None:
        """Raise :class:`IntegrityError` when anything differs; ``after`` says when (for the message)."""
        changed = [what for what, value in self._quick().items() if self.quick[what] != value]
        for student, (grades, notebook) in self.graded.items():
            path = self.course.autograded_notebook(self.exercise, student)
            if self.gradebook and _grades_of(self.gradebook, self.exercise, student) != grades:
                changed.append(f"the grades of {student}")
            if notebook != (_files_digest([path]) if path.is_file() else None):
                changed.append(f"the autograded notebook of {student}")
        if full and _tree_stats(sys.prefix) != self.environment:
            changed.append(f"a file of the Python environment ({sys.prefix})")
        if changed:
            raise IntegrityError(f"autograde stopped: {', '.join(changed)} changed while {after} was graded. "
                                 "Nothing on the instructor's side should change during grading: look at that "
                                 "submission, restore the changed files (git checkout, reinstall the environment) "
                                 "and grade again.")
