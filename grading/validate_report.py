"""What ``make validate`` tells a learner after nbgrader's own report: their points per part from the visible tests.

nbgrader validate prints each failing cell's source (indented, long lines cut). The test cells of the learner's
notebook are matched against those blocks; each test cell belongs to the part whose heading (``## 1. ...``) comes
before it. Hidden tests are not in the learner's notebook, so the report says plainly that they also count.
"""

import re

import nbformat
from nbgrader.validator import Validator

HEADING = re.compile(r"^#{2,3}\s+(.+?)\s*$", re.MULTILINE)


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _printed(source):
    """A cell's source as nbgrader validate prints it."""
    return Validator()._indent(source.strip())


def failed_blocks(output):
    """The cell sources that nbgrader validate reported as failing, as printed."""
    return re.findall(r"The following cell failed:\n\n(.*?)\n\nThe error was:", output, flags=re.DOTALL)


def parts(nb):
    """``[(title, [(kind, points, cell)])]``: the graded cells of each part, in order. kind is "test" for an
    autograded test cell and "manual" for an answer your instructor grades."""
    found, title = [], None
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type == "markdown" and not meta.get("grade"):
            heading = HEADING.search(cell.source)
            if heading:
                title = re.sub(r"\s*\(\d+(\.\d+)? points?(, graded by your instructor)?\)$", "", heading.group(1))
        if meta.get("grade"):
            kind = "test" if cell.cell_type == "code" and not meta.get("solution") else "manual"
            if not found or found[-1][0] != title:
                found.append((title, []))
            found[-1][1].append((kind, float(meta.get("points", 0)), cell))
    return found


def _points(value):
    return f"{value:g}"


def points_report(path, output):
    """The learner's points per part from the visible tests, given nbgrader validate's output for ``path``."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 (an unreadable notebook: nbgrader's own message says so)
        return ""
    if "The following cell has changed" in output or "has changed to a" in output:
        return ""
    failed = set(failed_blocks(output))
    lines = ["Points from the visible tests, part by part:"]
    earned = possible = manual = 0.0
    for title, cells in parts(nb):
        tests = [(p, c) for kind, p, c in cells if kind == "test"]
        by_hand = sum(p for kind, p, _ in cells if kind == "manual")
        got = sum(p for p, c in tests if _printed(c.source) not in failed)
        out_of = sum(p for p, _ in tests)
        earned, possible, manual = earned + got, possible + out_of, manual + by_hand
        note = []
        if tests:
            note.append(f"{_points(got)} of {_points(out_of)}" + ("" if got == out_of else " (a visible test fails)"))
        if by_hand:
            note.append(f"{_points(by_hand)} graded by your instructor")
        lines.append(f"  {title or 'the notebook'}: {', '.join(note)}")
    lines.append(f"Visible tests: {_points(earned)} of {_points(possible)} points"
                 + (f"; {_points(manual)} more points are graded by your instructor." if manual else "."))
    lines.append("The grader also runs hidden tests, which count too: they check more cases than the visible ones, "
                 "so passing the visible tests does not yet mean "
                 "full marks.")
    return "\n".join(lines)
