"""Bad submissions never stop the grading of a class: each is graded (0 for what fails) and listed for attention.

One class of the first exercise, graded with `python -m grading grade SRC`, a 10 s cell timeout and a 60 s limit per
submission: the solution, a blank and a partly wrong notebook, and one submission for each failure the workflow
must survive (see ``grading_cases.pathological``), the last of them one that outlasts its time limit. Then the
workflow runs again, with manual grades given in between, and nothing changes but what the instructor changed.
Also: collect's handling of the layouts an LMS download may have.
"""

import csv
import shutil

import nbformat
import pytest
from grading_cases import (
    ROOT,
    Exercise,
    attention_kinds,
    exercises,
    make_course,
    pathological,
    run_grading,
    write_submissions,
)

from grading import records, sandbox  # noqa: E402
from grading.collect import collect  # noqa: E402
from grading.course import Course  # noqa: E402
from grading.records import Kind  # noqa: E402

NAME = exercises()[0]
ENV = {"NBGRADER_CELL_TIMEOUT": "10", "NBGRADER_SUBMISSION_LIMIT": "60"}


#: Where the grading processes keep their kernels' run folders (grading.sandbox.process_run_root): the grader's own
#: run root, root's /run/nn-grading in CI.
RUN_ROOT = sandbox.run_root()


def grading(course, *args):
    return run_grading(course, *args, env=ENV)


def exported_scores(course):
    with open(course / "grades" / "grades.csv", newline="") as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)
                if row["assignment"] == NAME}


def gradebook_scores(course):
    with Course(course).gradebook() as gb:
        return {s.student.id: s.score for s in gb.find_assignment(NAME).submissions}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("course"), [NAME])
    ex = Exercise(ROOT / "solutions" / NAME / f"{NAME}.ipynb", ROOT / "exercises" / NAME / f"{NAME}.ipynb")
    cases = pathological(ex, slow_cells=10, cell_seconds=8)
    src = write_submissions(tmp_path_factory.mktemp("lms_download"), cases)
    folders_before = set(RUN_ROOT.glob("worker-*"))
    result = grading(course, "grade", str(src))
    return {"course": course, "src": src, "ex": ex, "cases": cases, "output": result.stdout,
            "new_run_folders": set(RUN_ROOT.glob("worker-*")) - folders_before}


def test_every_submission_is_graded_exactly(graded):
    expected = {student: case[2] for student, case in graded["cases"].items()}
    assert exported_scores(graded["course"]) == pytest.approx(expected)


def test_each_failure_is_listed_for_attention(graded):
    kinds = attention_kinds(graded["course"])
    for student, (_, _, _, expected_kinds) in graded["cases"].items():
        assert expected_kinds <= kinds.get(student, set()), f"{student}: listed as {kinds.get(student)}"
        if not expected_kinds:
            assert student not in kinds, f"{student} needs no attention, but is listed as {kinds[student]}"


def test_summary_shows_attention_and_histogram(graded):
    summary = (graded["course"] / "grades" / "summary.md").read_text()
    assert f"| {NAME} | {len(graded['cases'])} |" in summary
    for student, case in graded["cases"].items():
        if case[3]:
            assert f"| {NAME} | {student} |" in summary
    assert (graded["course"] / "grades" / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_deleted_test_scores_zero_and_awaits_review(graded):
    """The deleted test has a grade of 0 in the gradebook (not None: never silently ungraded), flagged for
    a manual grade."""
    test_id = graded["ex"].first_test[1]
    with Course(graded["course"]).gradebook() as gb:
        grade = gb.find_grade(test_id, NAME, NAME, "deletes_test")
        assert (grade.auto_score, grade.needs_manual_grade) == (0.0, True)


def test_edited_tests_are_restored_from_the_master_copy(graded):
    source = graded["ex"].source
    graded_nb = nbformat.read(graded["course"] / "autograded" / "edits_tests" / NAME / f"{NAME}.ipynb",
                              as_version=4)
    master = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
              if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}
    restored = {c.metadata["nbgrader"]["grade_id"]: c.source for c in graded_nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") in master}
    assert restored == master


def test_megabytes_of_output_are_cut(graded):
    course = graded["course"]
    for path in (course / "autograded" / "prints_megabytes" / NAME / f"{NAME}.ipynb",
                 course / "feedback" / "prints_megabytes" / NAME / f"{NAME}.html"):
        assert path.stat().st_size < 1_000_000, f"{path.name} is {path.stat().st_size} bytes"


def test_every_graded_submission_gets_feedback(graded):
    """Feedback for all, the unreadable ones included (it says why they scored 0); none for those whose grading
    was stopped, as nothing of them was graded."""
    for student in graded["cases"]:
        page = graded["course"] / "feedback" / student / NAME / f"{NAME}.html"
        assert page.is_file() == (student != "too_slow"), student


def test_no_kernel_outlives_the_stopped_grading(graded):
    import psutil

    leftovers = [p.pid for p in psutil.process_iter(["cwd", "cmdline"])
                 if str(graded["course"]) in (p.info["cwd"] or "")
                 and "ipykernel" in " ".join(p.info["cmdline"] or [])]
    assert leftovers == [], "a kernel of the stopped grading process is still running"


def test_nothing_of_the_stopped_grading_process_is_left_in_its_run_folder(graded):
    """too_slow's worker is killed with its kernel: the supervisor removes that worker's run folders (the kernels'
    connection files and sockets) as it does a finished worker's. A folder that appeared during the grading and is
    still there belongs to a live process (another test's)."""
    import psutil

    stale = [p.name for p in graded["new_run_folders"] if p.exists()
             and not psutil.pid_exists(int(p.name.split("-", 1)[1]))]
    assert stale == [], f"run folders of grading processes that are gone: {stale}"


def test_running_again_changes_nothing_and_keeps_manual_grades(graded):
    """Manual grades given in the gradebook survive a second run of the whole workflow and a forced regrade."""
    course, ex = graded["course"], graded["ex"]
    written = [c.metadata["nbgrader"] for c in ex.source.cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("solution")]
    before = exported_scores(course)
    records_before = records.read_all(Course(course).grades)
    manual = {"solution": sum(float(meta["points"]) for meta in written), "deletes_test": graded["ex"].first_test[2]}
    with Course(course).gradebook() as gb:
        for meta in written:
            grade = gb.find_grade(meta["grade_id"], NAME, NAME, "solution")
            grade.manual_score, grade.needs_manual_grade = float(meta["points"]), False
        grade = gb.find_grade(ex.first_test[1], NAME, NAME, "deletes_test")  # the instructor forgives
        grade.manual_score = ex.first_test[2]
        gb.db.commit()
    expected = {s: before[s] + manual.get(s, 0.0) for s in before}

    output = grading(course, "grade", str(graded["src"])).stdout
    assert "0 submission(s) to grade" in output
    assert exported_scores(course) == pytest.approx(expected)
    assert records.read_all(Course(course).grades) == records_before

    grading(course, "autograde", "--force", "--student", "solution", "--student", "deletes_test", NAME)
    assert gradebook_scores(course) == pytest.approx(expected)


# ---- collect: the layouts of a download ----------------------------------------------------------------------

@pytest.fixture
def fresh_course(tmp_path):
    """A course with the committed student versions, ready to collect into (no grading)."""
    course = make_course(tmp_path / "course", [NAME])
    shutil.copytree(ROOT / "exercises" / NAME, course / "exercises" / NAME)
    return Course(course)


def _notebook(marker):
    nb = nbformat.read(ROOT / "exercises" / NAME / f"{NAME}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(marker))
    return nb


def test_collect_reads_each_layout(fresh_course, tmp_path):
    src = tmp_path / "download"
    layouts = {
        "alice.ipynb": "alice",                                   # one file per student
        f"bob_{NAME}.ipynb": "bob",                               # the exercise's name in the file name
        f"carol/{NAME}.ipynb": "carol",                           # one folder per student
        "dave/work/my notebook.ipynb": "dave",                    # any name, any depth
        f"{NAME}/erin.ipynb": "erin",                             # sorted by exercise first
    }
    for path, student in layouts.items():
        (src / path).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_notebook(student), src / path)
    (src / "readme.txt").write_text("not a notebook")
    collected = collect(fresh_course, src, log=lambda *_: None)
    assert sorted(student for _, student in collected) == sorted(layouts.values())
    for student in layouts.values():
        nb = nbformat.read(fresh_course.submission(NAME, student), as_version=4)
        assert nb.cells[-1].source == student  # each went to its own student
    kinds = {s: {finding.kind for finding in r.collected} for (_, s), r in collected.items()}
    assert kinds["dave"] == {Kind.RENAMED} and kinds["alice"] == set() and kinds["carol"] == set()


def test_collect_with_an_id_pattern_and_several_files(fresh_course, tmp_path):
    src = tmp_path / "canvas"
    src.mkdir()
    nbformat.write(_notebook("old"), src / "smithj_1234_5678_draft.ipynb")
    nbformat.write(_notebook("new"), src / f"smithj_1234_5679_{NAME}.ipynb")
    collected = collect(fresh_course, src, exercise=NAME, id_pattern=r"^(?P<student>[a-z]+)_", log=lambda *_: None)
    assert list(collected) == [(NAME, "smithj")]
    assert nbformat.read(fresh_course.submission(NAME, "smithj"), as_version=4).cells[-1].source == "new"
    assert [finding.kind for finding in collected[(NAME, "smithj")].collected] == [Kind.SEVERAL_NOTEBOOKS]


def test_collect_reports_what_it_cannot_place(fresh_course, tmp_path):
    src = tmp_path / "odd"
    src.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), src / "frank.ipynb")  # no graded cell: which exercise?
    nbformat.write(_notebook("x"), src / f"{NAME}.ipynb")            # the exercise, but whose?
    assert collect(fresh_course, src, log=lambda *_: None) == {}
    problems = (fresh_course.grades / "collect_problems.json").read_text()
    assert "unknown exercise" in problems and "unknown student" in problems
