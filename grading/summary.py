"""The class summary: each exercise's mean score and failure count, a histogram of total scores, and the findings:
what an instructor should look at, submission by submission.

Scores come from the gradebook (so manual grades given in formgrader count); the findings come from the records
that collect, autograde and feedback wrote (:mod:`grading.records`). Written to ``grades/summary.md``,
``grades/scores.png`` and ``grades/attention.csv`` (the findings, one a row), and printed.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from . import records
from .course import Course, grade_cells, is_test
from .records import Finding, Kind


def gather(course: Course) -> dict[str, dict[str, dict[str, Any]]]:
    """``{exercise: {student: {"score", "max_score", "parts": {grade_id: (score, max_score, needs_manual)}}}}``."""
    table = defaultdict(dict)
    with course.gradebook() as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                parts = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        parts[grade.name] = (grade.score, grade.max_score, grade.needs_manual_grade)
                table[assignment.name][submission.student.id] = {
                    "score": submission.score, "max_score": submission.max_score, "parts": parts}
    return table


def findings(course: Course) -> list[dict[str, str]]:
    """Every finding of the class, as rows with exercise, student, kind, detail, source (sorted); a finding about a
    file that is no submission has no exercise and no student."""
    rows = []
    for record in records.read_all(course.grades):
        found = record.findings
        if record.submitted_sha256 and record.submitted_sha256 != record.autograded_sha256:
            found.append(Finding(Kind.NOT_AUTOGRADED, "collected after the last autograde: run the autograde step"))
        rows += [{"exercise": record.exercise, "student": record.student, "kind": str(finding.kind),
                  "detail": finding.detail, "source": record.source or ""} for finding in found]
    rows += [{"exercise": "", "student": "", "source": finding.source or "", "kind": str(finding.kind),
              "detail": finding.detail} for finding in records.read_stray(course.grades)]
    return sorted(rows, key=lambda row: (row["exercise"], row["student"], row["kind"], row["detail"]))


def _fmt(value):
    return f"{value:.2f}".rstrip("0").rstrip(".")


def summarise(course: Course, log: Callable[[str], object] = print) -> tuple[str, list[dict[str, str]]]:
    """Write and print the summary; returns ``(text, findings)`` (the findings as :func:`findings` lists them)."""
    table = gather(course)
    items = findings(course)
    unsandboxed = sorted(f"{record.exercise} {record.student}" for record in records.read_all(course.grades)
                         if str((record.autograde_settings or {}).get("sandbox", "")).startswith("off"))
    lines = ["# Grading summary", ""]
    if unsandboxed:
        lines += [f"**Graded without the sandbox (SANDBOX=0): {len(unsandboxed)} submission(s)** ran with the "
                  "instructor's rights: " + ", ".join(unsandboxed[:10]) + (" ..." if len(unsandboxed) > 10 else "")
                  + ". Use SANDBOX=0 for trusted work only.", ""]
    lines += [
             "## Exercises", "",
             "A failure is a submission that failed at least one autograder test; written answers are graded by "
             "hand in formgrader (`jupyter lab`, Formgrader) and count once graded.", "",
             "| exercise | submissions | mean score | max score | failures | written answers to grade |",
             "|---|---:|---:|---:|---:|---:|"]
    part_lines = ["## Each graded part", "",
                  "For a test, failures count the submissions that did not pass it; for a written answer, the "
                  "submissions still to be graded by hand.", "",
                  "| exercise | part | kind | points | mean score | failures |", "|---|---|---|---:|---:|---:|"]
    for exercise in sorted(table):
        students = table[exercise]
        if not students:
            continue
        released = course.release_notebook(exercise)
        cells = grade_cells(course.read_release(exercise)) if released.is_file() else {}
        tests = {name for name, cell in cells.items() if is_test(cell)}
        scores = [s["score"] for s in students.values()]
        failures = sum(any(s["parts"].get(t, (0, 1, False))[0] < s["parts"].get(t, (0, 1, False))[1]
                           for t in tests) for s in students.values())
        to_grade = sum(any(needs for name, (_, _, needs) in s["parts"].items() if name not in tests)
                       for s in students.values())
        max_score = max(s["max_score"] for s in students.values())
        lines.append(f"| {exercise} | {len(students)} | {_fmt(statistics.mean(scores))} | {_fmt(max_score)} "
                     f"| {failures} | {to_grade} |")
        for name in cells:
            if not cells[name].get("metadata", {}).get("nbgrader", {}).get("grade"):
                continue
            got = [s["parts"][name] for s in students.values() if name in s["parts"]]
            if not got:
                continue
            if name in tests:
                kind, fails = "test", sum(score < top for score, top, _ in got)
            else:
                kind, fails = "written", sum(needs for _, _, needs in got)
            part_lines.append(f"| {exercise} | {name} | {kind} | {_fmt(got[0][1])} "
                              f"| {_fmt(statistics.mean(score for score, _, _ in got))} | {fails} |")
    lines += ["", *part_lines, "", "## Total scores", "", "![Histogram of total scores](scores.png)", ""]
    histogram(course, table)
    lines += ["## Findings", "", "What to look at in a submission, or in a file that was not collected.", ""]
    if items:
        lines += ["| exercise | student | what | detail |", "|---|---|---|---|"]
        lines += [f"| {i['exercise']} | {i['student'] or i['source']} | {i['kind']} | {i['detail']} |"
                  for i in items]
    else:
        lines.append("None: every submission was read and graded normally.")
    text = "\n".join(lines) + "\n"
    course.grades.mkdir(parents=True, exist_ok=True)
    (course.grades / "summary.md").write_text(text)
    with open(course.grades / "attention.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["exercise", "student", "kind", "detail", "source"])
        writer.writeheader()
        writer.writerows(items)
    log(text)
    log(f"summary: grades/summary.md, grades/scores.png, grades/attention.csv ({len(items)} finding(s))")
    return text, items


def histogram(course: Course, table: dict[str, dict[str, dict[str, Any]]]) -> None:
    """One histogram of total scores per exercise, and of each student's total over all exercises when several."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(exercise, [s["score"] for s in table[exercise].values()],
               max(s["max_score"] for s in table[exercise].values()))
              for exercise in sorted(table) if table[exercise]]
    if len(panels) > 1:
        totals = defaultdict(float)
        for exercise, _, _ in panels:
            for student, submission in table[exercise].items():
                totals[student] += submission["score"]
        panels.append(("all exercises, total per student", list(totals.values()),
                       sum(top for _, _, top in panels)))
    figure, axes = plt.subplots(len(panels) or 1, 1, figsize=(6, 2.6 * max(len(panels), 1)), squeeze=False)
    for ax, (title, scores, top) in zip(axes[:, 0], panels):
        bins = [x - 0.5 for x in range(int(top) + 2)] if top <= 40 else 20
        ax.hist(scores, bins=bins, range=None if top <= 40 else (0, top), color="#4477aa", edgecolor="white")
        who = "students" if title.startswith("all exercises") else "submissions"
        ax.set(title=f"{title}: {len(scores)} {who}", xlabel=f"total score (out of {_fmt(top)})",
               ylabel=who, xlim=(-0.5, top + 0.5))
        ax.yaxis.get_major_locator().set_params(integer=True)
    if not panels:
        axes[0, 0].text(0.5, 0.5, "no graded submission yet", ha="center", va="center")
        axes[0, 0].set_axis_off()
    figure.tight_layout()
    figure.savefig(course.grades / "scores.png", dpi=100)
    plt.close(figure)
