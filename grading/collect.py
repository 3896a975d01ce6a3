"""Collect a folder of submitted notebooks (an LMS download, say) into nbgrader's layout.

``submitted/<student>/<exercise>/<exercise>.ipynb`` is what nbgrader grades. The source folder may hold

- one notebook per student: ``SRC/alice.ipynb``, ``SRC/alice_ex01_perceptron.ipynb`` (the student id is the file
  name without the exercise's name), or
- one folder per student: ``SRC/alice/ex01_perceptron.ipynb`` (the student id is the folder's name; the notebook may
  have any name and sit at any depth), optionally inside a folder named after the exercise.

``--id-pattern`` takes a regular expression with a group named ``student`` matched against each file's path
relative to SRC, for other LMS naming schemes (for example ``^(?P<student>[^_]+)_`` for ``smithj_1234_...ipynb``).

The exercise is ``--exercise`` when given, else an exercise name found in the file's path, else the exercise whose
graded cells the notebook holds. Findings are recorded for the summary: a file that is not a readable notebook is
replaced by a placeholder notebook (so it is graded 0 and gets feedback saying why), a renamed notebook is graded
under the expected name, and of several notebooks from one student the one with the expected name (else the newest)
is graded.

The folder is read by the rules of :mod:`grading.safe_files`: regular files only (a symbolic link, a FIFO, a device or
a hard-linked file is never read, and is listed), sizes checked on the bytes read, and one student id per
submission: two names that mean the same id (``alice.ipynb`` and ``alice!.ipynb``) are a collision, listed, never
resolved in favour of the newer file (a name that already is the id keeps it; the other is not collected). With a
roster (``roster.txt`` in the course root: one student id a line), a submission of an id not on it is listed and not
collected. What the folder held that is no submission is listed, as findings with their ``source``, in
``grades/collect_problems.json``.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from . import records, safe_files
from .course import Course, grade_cells, sha256
from .errors import CourseError

IGNORED_PARTS = {".ipynb_checkpoints", "__MACOSX", ".DS_Store", "__pycache__"}


def _is_candidate(path):
    name = path.name.lower()
    return ".ipynb" in name or name.endswith(".json")


def _stem(name):
    """``alice.ipynb`` -> ``alice``; ``alice.ipynb.txt`` -> ``alice``."""
    return re.split(r"\.ipynb", name, flags=re.IGNORECASE)[0] if ".ipynb" in name.lower() else Path(name).stem


def _read_notebook(data):
    """``(notebook, None)`` or ``(None, reason)`` for the bytes of a file."""
    try:
        text = data.decode("utf-8")
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
            return None, "valid JSON but not a notebook (no list of cells)"
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
        return notebook, None
    except nbformat.ValidationError as error:
        return None, f"not a valid notebook ({error.message[:200]})"
    except UnicodeDecodeError as error:
        return None, f"not UTF-8 text ({error.reason} at byte {error.start})"
    except json.JSONDecodeError as error:
        return None, f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
    except Exception as error:  # noqa: BLE001 (nbformat's own complaints about a damaged notebook)
        return None, f"not a readable notebook ({type(error).__name__}: {error})"


def restore_metadata(notebook: NotebookNode, released_cells: dict[str, NotebookNode]) -> list[str]:
    """Give every cell that carries a released cell's grade_id that cell's nbgrader metadata again (a damaged or
    edited ``points``, ``grade`` or ``locked`` would otherwise change or break its grading); returns the ids."""
    restored = []
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in released_cells:
            master = released_cells[grade_id].metadata.nbgrader
            if cell.metadata.nbgrader != master:
                cell.metadata.nbgrader = copy.deepcopy(master)
                restored.append(grade_id)
    return restored


def placeholder(reason: str, source: str) -> NotebookNode:
    """A notebook with one explanation and no graded cell: autograding it gives 0 for every test."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        f"**This submission could not be graded.** The file `{source}` is {reason}, so it was graded as empty "
        "(0 points). Please send a notebook that opens in Jupyter to your instructor.")]
    nb.cells[0]["id"] = "unreadable-submission"
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return nb


def _guess_exercise(data, relative, exercises, release_ids):
    text = "/".join(relative.parts).lower()
    named = [ex for ex in exercises if ex.lower() in text]
    if named:
        return max(named, key=len)
    notebook, _ = _read_notebook(data)
    if notebook is None:
        return None
    ids = set(grade_cells(notebook))
    overlap = {ex: len(ids & release_ids[ex]) for ex in exercises}
    best = max(overlap, key=overlap.get, default=None)
    return best if best is not None and overlap[best] > 0 else None


def _guess_student(relative, exercise, exercises, id_pattern):
    """The raw student id a file's path names (made a valid id, and checked for collisions, later)."""
    if id_pattern:
        match = re.search(id_pattern, relative.as_posix())
        if not match:
            return None
        return match.group("student") if "student" in match.groupdict() else match.group(1)
    parts = list(relative.parts)
    while len(parts) > 1 and parts[0] in exercises:  # SRC/<exercise>/<student>...
        parts.pop(0)
    if len(parts) > 1:
        return parts[0]
    stem = _stem(parts[0])
    for ex in sorted(exercises, key=len, reverse=True):
        stem = re.sub(re.escape(ex), "", stem, flags=re.IGNORECASE)
    return stem.strip("._- ") or None


def _ignored(relative, is_folder):
    parts = relative.split("/")
    return bool(IGNORED_PARTS & set(parts)) or parts[-1].startswith(".")


ROSTER_FILE = "roster.txt"


def read_roster(course: Course, path: str | Path | None = None) -> set[str] | None:
    """The class's student ids from ``path`` (default ``roster.txt`` in the course root; one id a line, ``#``
    comments), or None when the course keeps no roster. An id that is not valid is an error that names the line."""
    given = path is not None
    path = Path(path) if given else Path(course.root) / ROSTER_FILE
    if not path.is_file():
        if given:
            raise CourseError(f"--roster {path}: no such file (one student id a line)")
        return None
    ids = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            ids.add(safe_files.check_student_id(line, f"{path.name} line {number}"))
    return ids


def collect(course: Course, src: str | Path, exercise: str | None = None, id_pattern: str | None = None,
            log: Callable[[str], object] = print,
            roster: Iterable[str] | None = None) -> dict[tuple[str, str], records.Record]:
    """Copy every submission in ``src`` into ``submitted/``; returns ``{(exercise, student): record}``.

    ``roster``: the student ids that may hand in (default: ``roster.txt`` in the course root, if there is one); a
    submission of any other id is listed and not collected."""
    roster = read_roster(course) if roster is None else set(roster)
    src = Path(src).resolve()
    if not src.is_dir():
        raise CourseError(f"{src} is not a folder")
    if exercise is not None:
        course.check_exercises([exercise])
    exercises = [ex for ex in course.exercises() if course.release_notebook(ex).is_file()]
    if exercise is not None and exercise not in exercises:
        raise CourseError(f"{exercise} is not released yet: run `make release EX={exercise}` first")
    released = {ex: grade_cells(course.read_release(ex)) for ex in exercises}
    release_ids = {ex: set(cells) for ex, cells in released.items()}
    stray, ignored = [], []  # findings about what is no submission, and the files that are not notebooks
    tree = safe_files.read_tree(src, ignore=_ignored)
    stray += [records.Finding.from_json(refused.as_problem(str(src))) for refused in tree.refused]
    claims = []
    for name, data in tree.files.items():
        relative = Path(name)
        path = src / relative
        if not _is_candidate(path):
            ignored.append(relative.as_posix())
            continue
        ex = exercise or _guess_exercise(data, Path(src.name) / relative, exercises, release_ids)
        if ex is None:
            stray.append(records.Finding(records.Kind.UNKNOWN_EXERCISE, "cannot tell which exercise this is: give "
                                         "--exercise (EX=...)", source=str(path)))
            continue
        raw = _guess_student(relative, ex, exercises, id_pattern)
        if not raw:
            stray.append(records.Finding(records.Kind.UNKNOWN_STUDENT, "cannot tell the student from the file name: "
                                         "use one folder per student, a file named after the student, or "
                                         "--id-pattern", source=str(path)))
            continue
        claims.append((ex, raw, path, relative, data, tree.stats[name].st_mtime))
    found = defaultdict(list)
    for ex in sorted({claim[0] for claim in claims}):
        accepted, refused = safe_files.claim_ids(sorted({raw for e, raw, *_ in claims if e == ex}))
        reasons = dict(refused)
        for e, raw, path, relative, data, mtime in claims:
            if e != ex:
                continue
            if raw in accepted and roster is not None and accepted[raw] not in roster:
                stray.append(records.Finding(records.Kind.NOT_ON_ROSTER, f"{accepted[raw]!r} is not in {ROSTER_FILE}",
                                             source=str(path)))
            elif raw in accepted:
                found[(ex, accepted[raw])].append((path, relative, data, mtime))
            else:
                stray.append(records.Finding(records.Kind.ID_REFUSED, reasons[raw], source=str(path)))

    collected = {}
    for (ex, student), files in sorted(found.items()):
        findings = []
        expected = f"{ex}.ipynb"
        files.sort(key=lambda item: (item[0].name != expected, -item[3], str(item[1])))
        path, relative, data, _ = files[0]
        if len(files) > 1:
            findings.append(records.Finding(records.Kind.SEVERAL_NOTEBOOKS, f"graded {relative.as_posix()}; ignored "
                                            + ", ".join(r.as_posix() for _, r, *_ in files[1:])))
        in_folder = len(relative.parts) > 1 and not (len(relative.parts) == 2 and relative.parts[0] in exercises)
        if in_folder and path.name != expected and not id_pattern:
            findings.append(records.Finding(records.Kind.RENAMED, f"submitted as {path.name}; graded as {expected}"))
        destination = course.submission(ex, student)
        if destination.parent.exists():
            shutil.rmtree(destination.parent)
        destination.parent.mkdir(parents=True)
        notebook, reason = _read_notebook(data)
        if notebook is None:
            findings.append(records.Finding(records.Kind.UNREADABLE, f"{relative.as_posix()} is {reason}; graded 0"))
            nbformat.write(placeholder(reason, relative.as_posix()), destination)
        else:
            restored = restore_metadata(notebook, released[ex])
            if restored:
                findings.append(records.Finding(records.Kind.CHANGED_METADATA, (
                    f"the nbgrader settings of {', '.join(restored)} were changed; the released ones were used")))
            if restored or json.loads(data).get("nbformat") != 4:
                nbformat.write(notebook, destination)  # repaired, or an old-format notebook converted
            else:
                destination.write_bytes(data)  # byte for byte, as read: collecting twice gives the same file
        record = records.read(course.grades, ex, student)
        record.source, record.collected, record.submitted_sha256 = str(path), findings, sha256(destination)
        records.write(course.grades, record)
        collected[(ex, student)] = record

    records.write_stray(course.grades, stray)
    by_exercise = defaultdict(list)
    for ex, student in collected:
        by_exercise[ex].append(student)
    for ex, students in sorted(by_exercise.items()):
        log(f"collect: {len(students)} submission(s) of {ex} into submitted/")
    for (ex, student), record in sorted(collected.items()):
        for finding in record.collected:
            log(f"  finding: {ex} {student}: {finding.kind}: {finding.detail}")
    for finding in stray:
        log(f"  finding: {finding.source}: {finding.kind}: {finding.detail}")
    if ignored:
        log(f"  ignored {len(ignored)} file(s) that are not notebooks: {', '.join(ignored[:5])}"
            + (" ..." if len(ignored) > 5 else ""))
    if not collected and not stray:
        log(f"collect: no notebook found in {src}")
    return collected
