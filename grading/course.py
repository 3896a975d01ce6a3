"""The course folder as the grading workflow sees it: paths, exercises, nbgrader's API and gradebook.

Everything is relative to the course root, the folder that holds ``nbgrader_config.py``. The workflow's own files
(records of what each step found, read and written by :mod:`grading.records`; logs, the grade table, the summary and
its histogram) live in ``grades/``, which git ignores like nbgrader's own working folders.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from nbformat import NotebookNode

from .errors import CourseError, StepFailed

if TYPE_CHECKING:
    import subprocess

    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config import Config

#: Folders and files of the workflow, relative to the course root.
GRADES = "grades"


def _ensure_venv_on_path():
    """nbgrader runs the ``alembic`` command to stamp a new gradebook: it must be on PATH (it sits next to python)."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def grade_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """``{grade_id: cell}`` of the cells with nbgrader metadata, in notebook order."""
    cells = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id and grade_id not in cells:
            cells[grade_id] = cell
    return cells


def is_test(cell: NotebookNode) -> bool:
    """An autograder test cell: graded, and not an answer."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def is_answer(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def points(cell: NotebookNode) -> float:
    return float(cell.get("metadata", {}).get("nbgrader", {}).get("points", 0) or 0)


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def serialise_gradebook(lock_path: str | Path) -> None:
    """Make every nbgrader gradebook session of this process hold an exclusive lock on ``lock_path`` from its
    opening to its ``close()``, so that workers grading at the same time write the SQLite gradebook one at a time.
    (nbgrader opens a gradebook for a few queries and closes it: never while a kernel runs.)"""
    import fcntl
    import threading

    from nbgrader import api

    if getattr(api.Gradebook, "_serialised", False):
        return
    Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a")
    state = {"depth": 0}
    guard = threading.RLock()
    original_init, original_close = api.Gradebook.__init__, api.Gradebook.close

    def __init__(self, *args, **kwargs):
        with guard:
            if state["depth"] == 0:
                fcntl.flock(handle, fcntl.LOCK_EX)
            state["depth"] += 1
        self._holds_lock = True
        try:
            original_init(self, *args, **kwargs)
        except BaseException:
            self.close()
            raise

    def close(self):
        try:
            if hasattr(self, "db"):
                original_close(self)
        finally:
            with guard:
                if getattr(self, "_holds_lock", False):
                    self._holds_lock = False
                    state["depth"] -= 1
                    if state["depth"] == 0:
                        fcntl.flock(handle, fcntl.LOCK_UN)

    api.Gradebook.__init__, api.Gradebook.close, api.Gradebook._serialised = __init__, close, True


@dataclass
class Course:
    """A course folder (the one holding ``nbgrader_config.py``)."""

    root: Path

    @classmethod
    def find(cls, start: str | Path | None = None) -> Course:
        """The course whose ``nbgrader_config.py`` is in ``start`` (default: the current folder)."""
        root = Path(start or os.getcwd()).resolve()
        if not (root / "nbgrader_config.py").is_file():
            raise CourseError(
                f"No nbgrader_config.py in {root}: run the grading commands from the course's root folder")
        return cls(root)

    # ---- folders -------------------------------------------------------------------------------------------
    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def exercises_dir(self) -> Path:
        return self.root / "exercises"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def grades(self) -> Path:
        return self.root / GRADES

    def exercises(self) -> list[str]:
        """The exercise names: every folder of ``solutions/`` holding a notebook of the same name."""
        return sorted(p.name for p in self.solutions.iterdir()
                      if p.is_dir() and (p / f"{p.name}.ipynb").is_file()) if self.solutions.is_dir() else []

    def check_exercises(self, names: Iterable[str]) -> list[str]:
        known = self.exercises()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise CourseError(f"Unknown exercise(s) {unknown}; the exercises are {known}")
        return list(names) or known

    def source_notebook(self, exercise: str) -> Path:
        return self.solutions / exercise / f"{exercise}.ipynb"

    def release_notebook(self, exercise: str) -> Path:
        return self.exercises_dir / exercise / f"{exercise}.ipynb"

    def read_release(self, exercise: str) -> NotebookNode:
        path = self.release_notebook(exercise)
        if not path.is_file():
            raise CourseError(f"{path} is missing: run `make release` first")
        return nbformat.read(path, as_version=4)

    def submission(self, exercise: str, student: str) -> Path:
        return self.submitted / student / exercise / f"{exercise}.ipynb"

    def autograded_notebook(self, exercise: str, student: str) -> Path:
        return self.autograded / student / exercise / f"{exercise}.ipynb"

    def students(self, exercise: str) -> list[str]:
        """Students with a collected submission of ``exercise``."""
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if (p / exercise).is_dir())

    # ---- nbgrader -------------------------------------------------------------------------------------------
    def config(self) -> Config:
        """nbgrader's configuration, loaded from this course's nbgrader_config.py (once)."""
        from traitlets.config.loader import PyFileConfigLoader

        if getattr(self, "_config", None) is None:
            _ensure_venv_on_path()
            self._config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        return self._config

    def api(self) -> NbGraderAPI:
        """nbgrader's Python API on this course (what the `nbgrader` commands use), quiet."""
        from nbgrader.apps.api import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = self.config()
        coursedir = CourseDirectory(config=config)
        return NbGraderAPI(coursedir=coursedir, config=config)

    def gradebook(self) -> Gradebook:
        """The gradebook (use it as a context manager: ``with course.gradebook() as gb``)."""
        from nbgrader.api import Gradebook

        config = self.config()
        return Gradebook(config.CourseDirectory.db_url, course_id=config.CourseDirectory.course_id)

    def nbgrader(self, *args: str, check: bool = True, capture: bool = False,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run an ``nbgrader`` command in the course root; returns the CompletedProcess."""
        import subprocess

        _ensure_venv_on_path()
        run_env = dict(os.environ, **(env or {}))
        command = [sys.executable, "-m", "nbgrader", *args]
        result = subprocess.run(command, cwd=self.root, env=run_env, text=True,
                                capture_output=capture)
        if check and result.returncode != 0:
            detail = (result.stdout or "") + (result.stderr or "") if capture else ""
            raise StepFailed(f"`nbgrader {' '.join(args)}` failed (exit {result.returncode})\n{detail[-3000:]}")
        return result
