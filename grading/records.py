"""What the workflow found about each submission: typed findings and the per-submission record, read and written here.

A :class:`Finding` is one thing an instructor should look at (a deleted test cell, a timeout, an unreadable file);
its :class:`Kind` says what it is, and the kind's value is the text the summary shows. A :class:`Record` holds what
collect, autograde and feedback found about one submission, with the file hashes, settings and score that tell
whether grading it again would change anything. Each record is one JSON file,
``grades/records/<exercise>/<student>.json``; this module is the only one that reads or writes them.

A finding that belongs to no submission (a file collect could not place or refused) carries its ``source`` and is
listed in ``grades/collect_problems.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum, unique
from pathlib import Path
from typing import Any

from .errors import GradingError


class RecordError(GradingError):
    """A record or finding on disk that the workflow cannot read (an unknown kind, a missing field)."""


@unique
class Kind(Enum):
    """What a finding is about; the value is the text the summary and the logs show (and the JSON on disk holds)."""

    # collect: the submission as handed in
    SEVERAL_NOTEBOOKS = "several notebooks"
    RENAMED = "renamed"
    UNREADABLE = "unreadable"
    CHANGED_METADATA = "changed cell metadata"
    # collect: a file that is no submission (grades/collect_problems.json)
    UNKNOWN_EXERCISE = "unknown exercise"
    UNKNOWN_STUDENT = "unknown student"
    NOT_ON_ROSTER = "not on the roster"
    ID_REFUSED = "student id refused"
    # ... refused by the safe reading of the folder (grading.safe_files)
    REPLACED = "replaced"
    HARD_LINK = "hard link"
    NOT_THE_STUDENTS = "not the student's"
    TOO_LARGE = "too large"
    TOO_DEEP = "too deep"
    TOO_MANY_FILES = "too many files"
    SYMBOLIC_LINK = "symbolic link"
    FIFO = "FIFO"
    DEVICE_FILE = "device file"
    SOCKET = "socket"
    FOLDER = "folder"
    REGULAR_FILE = "regular file"
    SPECIAL_FILE = "special file"
    # ... refused by the exchange's collect on a JupyterHub (grading.plugins.exchange)
    NOT_A_FOLDER = "not a folder"
    IDENTITY = "identity"
    STUDENT_ID = "student id"
    NO_NOTEBOOK = "no notebook"
    TOO_MANY_ENTRIES = "too many entries"
    # the structure of a submitted notebook, against the release (grading.checks.compare_with_release)
    DELETED_TEST = "deleted test cell"
    DELETED_WRITTEN_ANSWER = "deleted written answer"
    DELETED_ANSWER = "deleted answer cell"
    DELETED_READ_ONLY = "deleted read-only cell"
    DAMAGED_TEST = "damaged test cell"
    EDITED_TEST = "edited test cell"
    EDITED_READ_ONLY = "edited read-only cell"
    DUPLICATED_CELL = "duplicated cell"
    # the autograded notebook (grading.checks.inspect_graded)
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel died"
    OUTPUT_CUT = "output cut"
    SCRIPT_IN_OUTPUT = "script in output"
    ERROR_OUTSIDE_TESTS = "error outside tests"
    ANSWER_KEY_CALLED = "called the answer key"
    LEFT_RUNNING = "processes left running"
    MEMORY_LIMIT = "memory limit"
    FILE_SIZE_LIMIT = "file size limit"
    DISK_LIMIT = "disk limit"
    PROCESS_LIMIT = "process limit"
    BLOCKED = "blocked by the sandbox"
    # autograde itself
    DAMAGED_NOTEBOOK = "damaged notebook"
    UNGRADED_TEST = "ungraded test"
    AUTOGRADE_FAILED = "autograde failed"
    # feedback, and the summary
    NO_FEEDBACK = "no feedback"
    NOT_AUTOGRADED = "not autograded"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Kind:
        raise RecordError(f"unknown kind of finding {value!r}; the kinds are in grading.records.Kind")


@dataclass(frozen=True)
class Finding:
    """One thing an instructor should look at: its kind, what happened, and the test cell it concerns (when the
    submission lost it). ``source`` is set only on a finding about a file that is no submission."""

    kind: Kind
    detail: str
    cell: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, Kind):
            raise TypeError(f"Finding: kind must be a grading.records.Kind, got {self.kind!r}")

    def to_json(self) -> dict[str, str]:
        data = {"source": self.source} if self.source is not None else {}
        data.update(kind=self.kind.value, detail=self.detail)
        if self.cell is not None:
            data["cell"] = self.cell
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        if not isinstance(data, dict) or not {"kind", "detail"} <= set(data):
            raise RecordError(f"a finding needs a kind and a detail, got {data!r}")
        return cls(Kind(data["kind"]), str(data["detail"]), data.get("cell"), data.get("source"))


def _findings(items: list[dict[str, Any]] | None) -> list[Finding] | None:
    return None if items is None else [Finding.from_json(item) for item in items]


def _as_json(findings: list[Finding]) -> list[dict[str, str]]:
    return [finding.to_json() for finding in findings]


@dataclass
class Record:
    """What the workflow knows about one submission. ``None`` marks a step that has not run on it yet (no
    ``collected``: it reached ``submitted/`` some other way; no ``autograded``: not graded yet; no ``feedback``: its
    feedback page was written)."""

    exercise: str
    student: str
    # collect
    source: str | None = None
    collected: list[Finding] | None = None
    submitted_sha256: str | None = None
    # autograde
    autograded: list[Finding] | None = None
    autograde_seconds: float | None = None
    autograded_sha256: str | None = None
    autograde_settings: dict[str, Any] | None = None
    score: float | None = None
    max_score: float | None = None
    # feedback
    feedback: list[Finding] | None = None

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every step, in the order of the steps."""
        return [*(self.collected or []), *(self.autograded or []), *(self.feedback or [])]

    def has(self, kind: Kind) -> bool:
        return any(finding.kind is kind for finding in self.findings)

    def to_json(self) -> dict[str, Any]:
        """The JSON on disk: only the fields of the steps that have run (as the steps wrote them before records
        were typed)."""
        data: dict[str, Any] = {"exercise": self.exercise, "student": self.student}
        if self.collected is not None:
            data.update(source=self.source, collected=_as_json(self.collected),
                        submitted_sha256=self.submitted_sha256)
        if self.autograded is not None:
            data.update(autograded=_as_json(self.autograded), autograde_seconds=self.autograde_seconds,
                        autograded_sha256=self.autograded_sha256, autograde_settings=self.autograde_settings,
                        score=self.score, max_score=self.max_score)
        if self.feedback is not None:
            data["feedback"] = _as_json(self.feedback)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], exercise: str, student: str) -> Record:
        """A record from its JSON (an empty dict: a submission no step has seen). ``exercise`` and ``student``
        come from the file's place, so a record written before it held them loads too."""
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise RecordError(f"record of {exercise} {student}: unknown field(s) {sorted(unknown)}")
        values = dict(data, exercise=data.get("exercise", exercise), student=data.get("student", student))
        for name in ("collected", "autograded", "feedback"):
            values[name] = _findings(values.get(name))
        return cls(**values)


# ---- on disk -----------------------------------------------------------------------------------------------------

def path(grades: Path, exercise: str, student: str) -> Path:
    """Where the record of a submission lives, in the course's ``grades/`` folder."""
    return Path(grades) / "records" / exercise / f"{student}.json"


def load(file: Path, exercise: str, student: str) -> Record:
    """The record in ``file``; an empty record when there is none yet."""
    file = Path(file)
    if not file.is_file():
        return Record(exercise, student)
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise RecordError(f"{file} is not valid JSON ({error.msg} at line {error.lineno}): remove it and run "
                          "the grading steps again") from None
    try:
        return Record.from_json(data, exercise, student)
    except RecordError as error:
        raise RecordError(f"{file}: {error}") from None


def save(file: Path, record: Record) -> None:
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(record.to_json(), indent=1, sort_keys=True) + "\n")


def read(grades: Path, exercise: str, student: str) -> Record:
    """The record of one submission (empty when no step has seen it)."""
    return load(path(grades, exercise, student), exercise, student)


def write(grades: Path, record: Record) -> None:
    save(path(grades, record.exercise, record.student), record)


def read_all(grades: Path) -> list[Record]:
    """Every record of the course, sorted by exercise, then student."""
    folder = Path(grades) / "records"
    files = sorted(folder.glob("*/*.json")) if folder.is_dir() else []
    return [load(file, file.parent.name, file.stem) for file in files]


# ---- findings about files that are no submission (collect's list) ---------------------------------------------

def stray_path(grades: Path) -> Path:
    return Path(grades) / "collect_problems.json"


def write_stray(grades: Path, findings: list[Finding]) -> None:
    """The findings about files collect could not place or refused (each with its ``source``)."""
    Path(grades).mkdir(parents=True, exist_ok=True)
    stray_path(grades).write_text(json.dumps(_as_json(findings), indent=1) + "\n")


def read_stray(grades: Path) -> list[Finding]:
    file = stray_path(grades)
    if not file.is_file():
        return []
    try:
        return [Finding.from_json(item) for item in json.loads(file.read_text())]
    except (RecordError, json.JSONDecodeError) as error:
        raise RecordError(f"{file}: {error}") from None
