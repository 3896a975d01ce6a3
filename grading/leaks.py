"""Find solution code or hidden-test text where learners can read it (exercises/, the built site, feedback).

A *secret line* is a line inside a ``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN TESTS`` block of a source notebook
that is long enough to be telling (at least :data:`MIN_CHARS` characters once whitespace is collapsed) and is not
public anyway: not also outside the blocks of the same notebook, and not in the ``public`` texts given (the chapters
and the library, where ``import numpy as np`` or ``from nnlib import Perceptron`` rightly appear).

HTML is compared as the text a reader sees (tags removed, entities decoded), notebooks by their cell sources, so
syntax highlighting or JSON escaping cannot hide a leak.
"""

import html
import json
import re
from pathlib import Path

MIN_CHARS = 16
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
TEXT_SUFFIXES = {".html", ".htm", ".txt", ".md", ".ipynb", ".js", ".json", ".py", ".tex", ".xml", ".rst"}


def normalise(text):
    return re.sub(r"\s+", " ", text).strip()


def _sources(notebook):
    cells = notebook.get("cells", []) if isinstance(notebook, dict) else notebook.cells
    return ["".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", "") for c in cells]


def split_blocks(notebook, begin, end):
    """``(inside, outside)``: the lines between the ``begin`` and ``end`` markers, and all other lines."""
    inside, outside, within = [], [], False
    for source in _sources(notebook):
        for line in source.splitlines():
            if begin in line:
                within = True
            elif end in line:
                within = False
            else:
                (inside if within else outside).append(line)
    return inside, outside


def _telling(lines, shown):
    """The lines long enough to tell something and not already shown (as a line or inside a longer one)."""
    return {line for line in map(normalise, lines)
            if len(line) >= MIN_CHARS and not line.startswith("#") and line not in shown}


def secret_lines(source_notebook, public=()):
    """The telling lines of the solution and hidden-test blocks of a source notebook (normalised): those that do
    not also appear outside the blocks, nor in any of the ``public`` texts."""
    solution, _ = split_blocks(source_notebook, "BEGIN SOLUTION", "END SOLUTION")
    hidden, _ = split_blocks(source_notebook, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    return _telling(solution + hidden, _shown(source_notebook, public))


def hidden_test_lines(source_notebook, public=()):
    """The telling lines of the hidden-test blocks only (those that are also in a solution are left out: a
    student's own answer may hold them, and rightly shows in their feedback)."""
    solution, _ = split_blocks(source_notebook, "BEGIN SOLUTION", "END SOLUTION")
    hidden, _ = split_blocks(source_notebook, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    return _telling(hidden, _shown(source_notebook, [*public, "\n".join(solution)]))


def _shown(source_notebook, public):
    """The text that is not secret, whitespace collapsed: outside every block of the source notebook, or in a public
    text. A secret line found anywhere in it (say, quoted in a visible test's hint, or in a paragraph, where it may
    be wrapped over two lines) is not secret."""
    outside = []
    for source in _sources(source_notebook):
        within = False
        for line in source.splitlines():
            if "BEGIN SOLUTION" in line or "BEGIN HIDDEN TESTS" in line:
                within = True
            elif "END SOLUTION" in line or "END HIDDEN TESTS" in line:
                within = False
            elif not within:
                outside.append(line)
    return normalise("\n".join(outside + list(public)))


def readable_text(path):
    """What a reader of ``path`` sees, whitespace collapsed."""
    path = Path(path)
    raw = path.read_text(errors="replace")
    if path.suffix == ".ipynb":
        try:
            return normalise("\n".join(_sources(json.loads(raw))))
        except (json.JSONDecodeError, AttributeError, TypeError):
            return normalise(raw)
    if path.suffix in (".html", ".htm"):
        raw = html.unescape(re.sub(r"<[^>]+>", "", raw))
    return normalise(raw)


def find_leaks(folder, secrets, markers=MARKERS):
    """``[(file, text)]`` for each secret line or nbgrader marker found in the text files under ``folder``."""
    found = []
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        if path.suffix.lower() not in TEXT_SUFFIXES or path.stat().st_size > 20_000_000:
            continue
        text = readable_text(path)
        for needle in list(markers) + sorted(secrets):
            if needle in text:
                found.append((str(path), needle))
    return found


def course_secrets(course, public_globs=("chapters/**/*.ipynb", "nnlib/**/*.py", "*.md", "guides/**/*.md")):
    """Secret lines of every exercise of a course, public texts of the course excluded."""
    import nbformat

    public = []
    for pattern in public_globs:
        for path in sorted(course.root.glob(pattern)):
            public.append("\n".join(_sources(json.loads(path.read_text()))) if path.suffix == ".ipynb"
                          else path.read_text(errors="replace"))
    secrets = set()
    for exercise in course.exercises():
        secrets |= secret_lines(nbformat.read(course.source_notebook(exercise), as_version=4), public)
    return secrets

