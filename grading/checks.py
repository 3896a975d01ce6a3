"""The findings in a submission, before and after autograding.

Before: :func:`compare_with_release` compares the submitted notebook's nbgrader cells with the released exercise
(a deleted test or answer cell, an edited read-only cell, a duplicated cell). After: :func:`inspect_graded` reads
the autograded notebook (a timeout, a kernel that died or hung, output cut, an error outside the tests).
Each is a :class:`grading.records.Finding`; the summary lists them.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode

from .course import grade_cells, is_answer, is_test, points
from .plugins.preprocessors import ANSWER_KEY, KERNEL_DIED, KERNEL_HUNG, LEFT_RUNNING, MARK, NOT_RUN
from .records import Finding, Kind
from .sandbox import Limits
from .sanitize import MARK as SANITIZE_MARK
from .sanitize import NOTE as SANITIZE_NOTE

#: Errors that are no news in an answer cell: the stub of an unanswered question, and the interrupt of a timeout.
UNREMARKABLE = {"NotImplementedError", "KeyboardInterrupt", "CellTimeoutError", KERNEL_DIED, KERNEL_HUNG, NOT_RUN}
#: Errors that say what the answers did: a call of the exercise's answer key (a stub in the sandbox's nnlib).
VERDICTS = {ANSWER_KEY: Kind.ANSWER_KEY_CALLED}


def limit_breached(ename: str, evalue: str, limits: Limits | None = None) -> tuple[Kind, str] | None:
    """``(kind, detail)`` when an error is the sandbox stopping a submission at one of its limits, else None."""
    limits = limits or Limits.from_env()
    if ename == "MemoryError":
        return Kind.MEMORY_LIMIT, f"ran out of its {limits.memory_mb} MB of memory"
    errno = re.match(r"\[Errno (\d+)\]", evalue or "")
    errno = int(errno.group(1)) if errno else None
    if errno == 27:
        return Kind.FILE_SIZE_LIMIT, f"wrote a file larger than {limits.file_mb} MB"
    if errno in (28, 122):
        return Kind.DISK_LIMIT, f"filled its {limits.disk_mb} MB of scratch disk"
    if errno == 11 or ename == "BlockingIOError" and "fork" in (evalue or ""):
        return Kind.PROCESS_LIMIT, f"started more than {limits.processes} processes or threads"
    if ename == "PermissionError" or errno in (1, 13, 30, 101):
        return Kind.BLOCKED, f"tried something the sandbox does not allow ({ename}: {evalue[:100]})"
    return None


def _normalise(source):
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _is_locked(cell):
    """A read-only cell of the exercise's author: an error there comes from the answers, and the tests say so."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))


def _describe(cell, index):
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


def compare_with_release(submitted: NotebookNode, released: NotebookNode) -> list[Finding]:
    """Findings about the structure of a submitted notebook (both are nbformat notebooks)."""
    findings = []
    mine = grade_cells(submitted)
    seen = {}
    for cell in submitted.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id:
            seen[grade_id] = seen.get(grade_id, 0) + 1
    for grade_id, cell in grade_cells(released).items():
        meta = cell.metadata.nbgrader
        if grade_id not in mine:
            if is_test(cell):
                findings.append(Finding(Kind.DELETED_TEST, (
                    f"test cell {grade_id} ({points(cell):g} points) is missing: scored 0 and marked for a "
                    "manual grade in formgrader"), cell=grade_id))
            elif is_answer(cell):
                what = "written answer" if meta.get("grade") else "answer cell"
                kind = Kind.DELETED_WRITTEN_ANSWER if meta.get("grade") else Kind.DELETED_ANSWER
                findings.append(Finding(kind, f"{what} {grade_id} is missing"))
            elif meta.get("locked"):
                findings.append(Finding(Kind.DELETED_READ_ONLY, f"read-only cell {grade_id} is missing"))
            continue
        theirs = mine[grade_id]
        if is_test(cell) and not is_test(theirs):
            findings.append(Finding(Kind.DAMAGED_TEST, (
                f"test cell {grade_id} lost its nbgrader metadata: it is not graded, so scored 0"), cell=grade_id))
        elif meta.get("locked") and (_normalise(theirs.get("source", "")) != _normalise(cell.source)
                                     or theirs.get("cell_type") != cell.cell_type):
            what = "test cell" if is_test(cell) else "read-only cell"
            kind = Kind.EDITED_TEST if is_test(cell) else Kind.EDITED_READ_ONLY
            findings.append(Finding(kind, f"{what} {grade_id} was changed; the master copy was graded instead"))
        if seen.get(grade_id, 0) > 1:
            findings.append(Finding(Kind.DUPLICATED_CELL, (
                f"cell {grade_id} appears {seen[grade_id]} times; the first one was graded")))
    return findings


def inspect_graded(graded: NotebookNode) -> list[Finding]:
    """Findings in an autograded notebook: timeouts, a dead or hung kernel, cut output, and errors in the cells the
    student wrote (answers and added cells) other than an unanswered stub's NotImplementedError."""
    findings = []
    removed = f"{SANITIZE_MARK} {SANITIZE_NOTE}"
    for index, cell in enumerate(graded.cells):
        if cell.cell_type != "code":
            if removed in cell.get("source", ""):
                findings.append(Finding(Kind.SCRIPT_IN_OUTPUT, f"{_describe(cell, index)} held scripts or other "
                                                               "active content; it was removed"))
            continue
        where = _describe(cell, index)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                ename = output.get("ename", "")
                if ename == "CellTimeoutError" or (ename == "TimeoutError" and is_test(cell)):
                    findings.append(Finding(Kind.TIMEOUT, f"{where} ran past the time limit and was interrupted "
                                                          "(scored 0 if it is a test)"))
                elif ename in VERDICTS:
                    evalue = str(output.get("evalue", "")).replace(f"{MARK} ", "")
                    findings.append(Finding(VERDICTS[ename], f"{where}: {evalue}"))
                elif limit_breached(ename, output.get("evalue", "")):
                    kind, what = limit_breached(ename, output.get("evalue", ""))
                    findings.append(Finding(kind, f"{where} {what} and was stopped (scored 0 if it is a test, and "
                                                  "the tests that needed it fail)"))
                elif ename == KERNEL_DIED:
                    limits = Limits.from_env()
                    findings.append(Finding(Kind.KERNEL_DIED, f"the kernel died in {where} (a crash, a kill, or the "
                                                              f"limit of {limits.cpu_seconds} s of CPU time); the "
                                                              "cells after it were not run (scored 0)"))
                elif ename == KERNEL_HUNG:
                    findings.append(Finding(Kind.TIMEOUT, f"{where} ran past the time limit and ignored the "
                                                          "interrupt; the kernel was stopped and the cells after it "
                                                          "were not run (scored 0)"))
                elif ename not in UNREMARKABLE and not is_test(cell) and not _is_locked(cell):
                    findings.append(Finding(Kind.ERROR_OUTSIDE_TESTS, (
                        f"{where} raised {ename}: {str(output.get('evalue', ''))[:120]}")))
            elif output.output_type == "stream" and f"{MARK} output cut" in output.get("text", ""):
                findings.append(Finding(Kind.OUTPUT_CUT, f"{where} printed too much; its output was cut"))
            elif output.output_type == "stream" and removed in output.get("text", ""):
                findings.append(Finding(Kind.SCRIPT_IN_OUTPUT, f"{where} displayed scripts or other active "
                                                               "content; it was removed"))
            elif output.output_type == "stream" and f"{MARK} {LEFT_RUNNING}" in output.get("text", ""):
                findings.append(Finding(Kind(LEFT_RUNNING), output["text"].split(f"{LEFT_RUNNING}: ", 1)[1]
                                        .strip()))
    return findings
