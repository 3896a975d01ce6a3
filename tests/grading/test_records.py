"""The typed records (grading.records) and settings (grading.settings) of the grading workflow, and the supervisor's
gradebook lock.

A record on disk is the JSON the workflow wrote before records were typed: one written then (copied here as text,
from a class graded at commit 774d4ea) loads, and saving it again gives the same bytes. A kind of finding the
workflow does not know fails loudly, naming the kind and the file. Every kind another module produces as text (the
safe reading of a folder, the preprocessors) is a member of Kind.
"""

import ast
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from grading_cases import ROOT, make_course

from grading import records, safe_files  # noqa: E402
from grading.course import Course  # noqa: E402
from grading.errors import ConfigurationError, GradingError  # noqa: E402
from grading.records import Finding, Kind, Record, RecordError  # noqa: E402
from grading.settings import ENVIRONMENT, Grading  # noqa: E402

#: A record as autograde wrote it at commit 774d4ea (a submission that deleted a test cell), byte for byte.
OLD_GRADED = """{
 "autograde_seconds": 1.25,
 "autograde_settings": {
  "cell_timeout": 10,
  "max_output_chars": "20000",
  "sandbox": "memory 2048 MB, CPU 600 s, 64 processes, files 200 MB, disk 200 MB",
  "source_sha256": "74b3845c32f52a4c8c0fa16a2c09c8385c7e573cc6979f95a6af46c6e1e41c6e"
 },
 "autograded": [
  {
   "cell": "test_step",
   "detail": "test cell test_step (1 points) is missing: scored 0 and marked for a manual grade in formgrader",
   "kind": "deleted test cell"
  }
 ],
 "autograded_sha256": "9c979079b49179a6ea6110db26a434b899175246ae4fd277ed4e54a39e56e97c",
 "collected": [],
 "exercise": "ex01_perceptron",
 "max_score": 9.0,
 "score": 6.0,
 "source": "/tmp/hb_out/src/deletes_test/ex01_perceptron.ipynb",
 "student": "deletes_test",
 "submitted_sha256": "9c979079b49179a6ea6110db26a434b899175246ae4fd277ed4e54a39e56e97c"
}
"""

#: A submission given up on (autograde_seconds null), collected with a finding, whose feedback page is missing.
OLD_GIVEN_UP = {
    "autograde_seconds": None, "autograde_settings": {"cell_timeout": 10, "max_output_chars": "20000",
                                                      "sandbox": "off (SANDBOX=0)", "source_sha256": "ab"},
    "autograded": [{"detail": "grading took longer than 60 s and was stopped; every test scored 0",
                    "kind": "autograde failed"}],
    "autograded_sha256": "cd", "collected": [{"detail": "submitted as x.ipynb; graded as ex.ipynb", "kind": "renamed"}],
    "exercise": "ex", "feedback": [{"detail": "nbgrader could not write the feedback page", "kind": "no feedback"}],
    "max_score": 9.0, "score": 0.0, "source": "/src/x.ipynb", "student": "too_slow", "submitted_sha256": "cd"}


def write(tmp_path, exercise, student, text):
    path = records.path(tmp_path, exercise, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_old_record_loads_with_typed_findings(tmp_path):
    write(tmp_path, "ex01_perceptron", "deletes_test", OLD_GRADED)
    record = records.read(tmp_path, "ex01_perceptron", "deletes_test")
    assert record.autograded == [Finding(Kind.DELETED_TEST, "test cell test_step (1 points) is missing: scored 0 "
                                         "and marked for a manual grade in formgrader", cell="test_step")]
    assert record.collected == [] and record.feedback is None
    assert (record.score, record.max_score, record.autograde_seconds) == (6.0, 9.0, 1.25)
    assert record.autograde_settings["cell_timeout"] == 10
    assert record.has(Kind.DELETED_TEST) and not record.has(Kind.TIMEOUT)


def test_an_old_record_is_saved_byte_for_byte(tmp_path):
    path = write(tmp_path, "ex01_perceptron", "deletes_test", OLD_GRADED)
    records.write(tmp_path, records.read(tmp_path, "ex01_perceptron", "deletes_test"))
    assert path.read_text() == OLD_GRADED


@pytest.mark.parametrize("old", [
    OLD_GIVEN_UP,
    {key: OLD_GIVEN_UP[key] for key in ("exercise", "student", "source", "collected", "submitted_sha256")},
    {key: OLD_GIVEN_UP[key] for key in ("exercise", "student", "feedback")},
], ids=["given up", "collected only", "feedback only"])
def test_each_shape_of_an_old_record_round_trips(tmp_path, old):
    path = write(tmp_path, "ex", old["student"], json.dumps(old, indent=1, sort_keys=True) + "\n")
    before = path.read_text()
    record = records.read(tmp_path, "ex", old["student"])
    records.write(tmp_path, record)
    assert path.read_text() == before
    assert records.read(tmp_path, "ex", old["student"]) == record


def test_a_record_without_its_names_takes_them_from_its_place(tmp_path):
    """steps.feedback wrote ``{"feedback": [...]}`` alone for a submission no other step had seen."""
    write(tmp_path, "ex", "bob", json.dumps({"feedback": OLD_GIVEN_UP["feedback"]}))
    record = records.read(tmp_path, "ex", "bob")
    assert (record.exercise, record.student, record.feedback[0].kind) == ("ex", "bob", Kind.NO_FEEDBACK)


def test_no_record_is_an_empty_one(tmp_path):
    assert records.read(tmp_path, "ex", "nobody") == Record("ex", "nobody")
    assert records.read_all(tmp_path) == []


def test_a_new_record_round_trips(tmp_path):
    record = Record("ex", "alice", source="/src/alice.ipynb", collected=[Finding(Kind.RENAMED, "as x")],
                    submitted_sha256="aa", autograded=[Finding(Kind.DAMAGED_TEST, "lost", cell="t1"),
                                                       Finding(Kind.TIMEOUT, "cell 3")],
                    autograde_seconds=2.5, autograded_sha256="aa", autograde_settings={"cell_timeout": 30},
                    score=1.5, max_score=3.0)
    records.write(tmp_path, record)
    assert records.read_all(tmp_path) == [record]
    on_disk = json.loads(records.path(tmp_path, "ex", "alice").read_text())
    assert on_disk["autograded"][0] == {"kind": "damaged test cell", "detail": "lost", "cell": "t1"}
    assert "feedback" not in on_disk


def test_an_unknown_kind_fails_loudly(tmp_path):
    text = OLD_GRADED.replace('"deleted test cell"', '"deleted the whole exam"')
    path = write(tmp_path, "ex01_perceptron", "deletes_test", text)
    with pytest.raises(RecordError, match=r"deletes_test\.json: unknown kind of finding 'deleted the whole exam'"):
        records.read(tmp_path, "ex01_perceptron", "deletes_test")
    assert issubclass(RecordError, GradingError)  # so `python -m grading` prints it without a traceback
    assert path.read_text() == text  # nothing was rewritten


def test_an_unknown_field_or_bad_json_fails_loudly(tmp_path):
    write(tmp_path, "ex", "a", json.dumps({"collected": [], "grade": 3}))
    with pytest.raises(RecordError, match=r"a\.json: record of ex a: unknown field\(s\) \['grade'\]"):
        records.read(tmp_path, "ex", "a")
    write(tmp_path, "ex", "b", '{"collected": [')
    with pytest.raises(RecordError, match=r"b\.json is not valid JSON"):
        records.read(tmp_path, "ex", "b")
    write(tmp_path, "ex", "c", json.dumps({"collected": [{"kind": "renamed"}]}))
    with pytest.raises(RecordError, match="a finding needs a kind and a detail"):
        records.read(tmp_path, "ex", "c")


def test_a_finding_takes_a_kind_not_its_text():
    """The canary of "control flow compares Kind members": a string where a Kind belongs is refused."""
    with pytest.raises(TypeError, match="kind must be a grading.records.Kind, got 'timeout'"):
        Finding("timeout", "cell 3")
    assert Kind("timeout") is Kind.TIMEOUT and Kind.TIMEOUT != "timeout" and str(Kind.TIMEOUT) == "timeout"


def test_the_stray_findings_keep_their_json(tmp_path):
    """grades/collect_problems.json: source, kind, detail in that order, as collect and the exchange write it."""
    stray = [Finding(Kind.FIFO, "only regular files are copied", source="/src/mallory.ipynb"),
             Finding(Kind.UNKNOWN_STUDENT, "cannot tell", source="/src/x.ipynb")]
    records.write_stray(tmp_path, stray)
    text = (tmp_path / "collect_problems.json").read_text()
    assert text == json.dumps([{"source": "/src/mallory.ipynb", "kind": "FIFO",
                                "detail": "only regular files are copied"},
                               {"source": "/src/x.ipynb", "kind": "unknown student", "detail": "cannot tell"}],
                              indent=1) + "\n"
    assert records.read_stray(tmp_path) == stray


def _kinds_in_source(path, calls):
    """The literal kinds a module passes to the functions ``calls`` (``{name: position of the kind argument}``)."""
    kinds = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = calls.get(name)
            argument = node.args[position] if position is not None and len(node.args) > position else None
            if isinstance(argument, ast.Constant):
                kinds.add(argument.value)
    return kinds


def test_every_kind_of_a_refused_file_is_a_kind():
    """What grading.safe_files refuses, and what the exchange's collect lists, go into collect_problems.json."""
    modes = [stat.S_IFLNK, stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK, stat.S_IFDIR, stat.S_IFREG, 0]
    texts = {safe_files._kind_of(mode) for mode in modes}
    texts |= _kinds_in_source(safe_files.__file__, {"Refused": 1, "RefusedError": 0})
    assert len(texts) >= 12, texts  # canary: the scan found safe_files' kinds
    exchange = ROOT / "grading" / "plugins" / "exchange.py"
    found = _kinds_in_source(exchange, {"_problem": 1})
    assert len(found) >= 5, found  # canary: the scan found the exchange's kinds
    for text in texts | found:
        assert isinstance(Kind(text), Kind)


def test_the_kinds_named_by_the_preprocessors_are_kinds():
    from grading import checks

    assert Kind(checks.LEFT_RUNNING) is Kind.LEFT_RUNNING
    assert set(checks.VERDICTS.values()) <= set(Kind)


# ---- settings ----------------------------------------------------------------------------------------------------

def test_the_settings_default_and_are_overridden_by_their_variable(monkeypatch):
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    grading = Grading(config=Course.find(ROOT).config())
    assert (grading.cell_timeout, grading.max_output_chars, grading.submission_limit, grading.jobs) == (
        30, 20000, None, None)
    assert grading.workers >= 1
    monkeypatch.setenv("NBGRADER_CELL_TIMEOUT", "12")
    monkeypatch.setenv("NBGRADER_SUBMISSION_LIMIT", "90.5")
    monkeypatch.setenv("JOBS", " 2 ")
    course = Course.find(ROOT)
    grading = Grading(config=course.config())
    assert (grading.cell_timeout, grading.submission_limit, grading.workers) == (12, 90.5, 2)
    # one home: nbgrader's executors take the cell timeout from the same setting
    assert course.config().ResilientExecute.timeout == course.config().ExecutePreprocessor.timeout == 12


@pytest.mark.parametrize("variable, raw", [("NBGRADER_CELL_TIMEOUT", "soon"), ("NBGRADER_MAX_OUTPUT_CHARS", "0"),
                                           ("NBGRADER_SUBMISSION_LIMIT", "-5")])
def test_a_bad_setting_names_its_variable(monkeypatch, variable, raw):
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ConfigurationError, match=f"{variable} must be .* got {raw!r}"):
        Grading(config=Course.find(ROOT).config())


# ---- the supervisor's gradebook lock -----------------------------------------------------------------------------

LOCK_PROBE = """
import fcntl, sys
from grading import autograde
from grading.course import Course

course = Course.find(".")
if sys.argv[1] == "supervisor":
    autograde.autograde(course, [], log=lambda *_: None)  # sets up as for a class, grades nothing
probe = open(course.grades / "gradebook.lock", "a")  # a lock of its own, as a worker's would be
with course.gradebook():
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("free while the gradebook is open")
        fcntl.flock(probe, fcntl.LOCK_UN)
    except BlockingIOError:
        print("held while the gradebook is open")
fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("free after")
"""


@pytest.mark.parametrize("side, expected", [("supervisor", "held"), ("plain process", "free")])
def test_the_supervisor_writes_the_gradebook_under_the_workers_lock(tmp_path, side, expected):
    """After autograde() has started, the supervisor's own gradebook sessions (a submission it gives up on is graded
    0 there) hold the lock its workers take; a process that never started autograde holds none (the canary)."""
    course = make_course(tmp_path / "course", [])
    (course / "grades").mkdir()
    env = dict(os.environ, SANDBOX="0", PYTHONPATH=str(course))
    result = subprocess.run([sys.executable, "-c", LOCK_PROBE, side], cwd=course, env=env, text=True,
                            capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [f"{expected} while the gradebook is open", "free after"], result.stdout
