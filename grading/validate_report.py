"""What ``make validate`` tells a learner: the tests that fail, then their points per part from the visible tests.

The results are those of nbgrader's ``Validator.validate()`` (a dict of the cells that changed, failed or passed,
each with its source): :func:`failures` writes them out, :func:`points_report` matches the failing sources against
the test cells of the learner's notebook, and each test cell belongs to the part whose heading (``## 1. ...``) comes
before it. Hidden tests are not in the learner's notebook, so the report says plainly that they also count. Nothing
the kernel printed on its own (its start-up banner, a debugger's warning) is part of the results.
"""

import re
from textwrap import indent

from nbconvert.filters import strip_ansi
from nbgrader.utils import is_grade, is_solution

HEADING = re.compile(r"^#{2,3}\s+(.+?)\s*$", re.MULTILINE)
#: Width of a shown source line; a longer one is cut (the learner has the whole cell in the notebook). Errors are
#: shown whole: their last line is the test's message, which holds the hint.
WIDTH = 100
RULE = "=" * 72


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _block(text, cut=False):
    lines = [line.rstrip() for line in strip_ansi(text).rstrip().splitlines()]
    if cut:
        lines = [line if len(line) <= WIDTH else line[:WIDTH - 3] + "..." for line in lines]
    return indent("\n".join(lines), "    ")


def failures(results, invert=False, titles=None):
    """Validator.validate()'s ``results`` as text: what changed, or each test cell that failed (that passed, with
    ``invert``) with its error. ``titles`` maps a cell's source to the title of its part. Empty when all is well."""
    titles = titles or {}
    out = []
    if results.get("type_changed"):
        out.append(f"{len(results['type_changed'])} graded cell(s) changed type: change them back (or start again "
                   "from a fresh copy of the exercise), or they cannot be graded.")
        for cell in results["type_changed"]:
            out += [RULE, f"This {cell['old_type']} cell is now a {cell['new_type']} cell:", "",
                    _block(cell["source"], cut=True), ""]
        return "\n".join(out)
    if results.get("changed"):
        out.append(f"{len(results['changed'])} test cell(s) changed: the grader runs the original tests, so even if "
                   "they pass now they may not when graded. Undo the change (or copy your answers into a fresh copy "
                   "of the exercise).")
        for cell in results["changed"]:
            out += [RULE, "This test cell has changed:", "", _block(cell["source"], cut=True), ""]
        return "\n".join(out)
    listed = results.get("passed" if invert else "failed", [])
    if listed:
        out.append(f"{len(listed)} test cell(s) {'passed' if invert else 'failed'}"
                   + ("." if invert else ": as it is, the notebook would not get full marks."))
    for cell in listed:
        part = titles.get(cell["source"].strip())
        out += [RULE, f"This test cell {'passed' if invert else 'failed'}" + (f" (part {part})" if part else "")
                + ":", "", _block(cell["source"], cut=True), ""]
        if not invert:
            out += ["The error was:", "", _block(cell.get("raw_error", "")), ""]
    return "\n".join(out)


def parts(nb):
    """``[(title, [(kind, points, cell)])]``: the graded cells of each part, in order. kind is "test" for an
    autograded test cell and "manual" for an answer your instructor grades."""
    found, title = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not is_grade(cell):
            heading = HEADING.search(cell.source)
            if heading:
                title = re.sub(r"\s*\(\d+(\.\d+)? points?(, graded by your instructor)?\)$", "", heading.group(1))
        if is_grade(cell):
            kind = "test" if cell.cell_type == "code" and not is_solution(cell) else "manual"
            if not found or found[-1][0] != title:
                found.append((title, []))
            found[-1][1].append((kind, float(_nbgrader(cell).get("points", 0)), cell))
    return found


def _points(value):
    return f"{value:g}"


def titles(nb):
    """``{source: part title}`` of the notebook's test cells (a source stripped, as the Validator gives it)."""
    return {cell.source.strip(): title for title, cells in parts(nb) for kind, _, cell in cells if kind == "test"}


def points_report(nb, results):
    """The learner's points per part from the visible tests of the notebook ``nb``, given what
    ``Validator.validate()`` returned for it (nothing when a graded cell changed: its points would mean nothing)."""
    if results.get("type_changed") or results.get("changed"):
        return ""
    failed = {cell["source"].strip() for cell in results.get("failed", [])}
    lines = ["Points from the visible tests, part by part:"]
    earned = possible = manual = 0.0
    for title, cells in parts(nb):
        tests = [(p, c) for kind, p, c in cells if kind == "test"]
        by_hand = sum(p for kind, p, _ in cells if kind == "manual")
        got = sum(p for p, c in tests if c.source.strip() not in failed)
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
                 "so passing the visible tests does not yet mean full marks.")
    return "\n".join(lines)
