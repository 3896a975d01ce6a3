"""The workflow's errors are exceptions of one family (grading.errors.GradingError) raised by library code and
turned into a message and exit status 1 only by ``python -m grading``: each error path is a plain function call."""


import pytest
from grading_cases import ROOT

from grading import __main__ as cli  # noqa: E402
from grading import errors, sandbox  # noqa: E402
from grading.course import Course  # noqa: E402
from grading.settings import Grading  # noqa: E402


def test_an_unknown_exercise_is_a_course_error():
    with pytest.raises(errors.CourseError, match=r"Unknown exercise\(s\) \['ex99_nothing'\]; the exercises are"):
        Course.find(ROOT).check_exercises(["ex99_nothing"])


@pytest.mark.parametrize("raw", ["0", "two", "-1", "1.5"])
def test_a_bad_jobs_setting_is_a_configuration_error(monkeypatch, raw):
    """JOBS overrides Grading.jobs in nbgrader_config.py; the course's configuration does not load with a bad one."""
    monkeypatch.setenv("JOBS", raw)
    with pytest.raises(errors.ConfigurationError, match=f"JOBS must be a whole number .* got {raw!r}"):
        Grading(config=Course.find(ROOT).config())


def test_a_good_jobs_setting_is_read(monkeypatch):
    monkeypatch.setenv("JOBS", "3")
    assert Grading(config=Course.find(ROOT).config()).workers == 3


def test_the_sandbox_error_is_a_grading_error():
    assert issubclass(sandbox.SandboxError, errors.GradingError)


def test_the_command_line_prints_the_message_and_exits_1(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert cli.main(["release", "ex99_nothing"]) == 1
    captured = capsys.readouterr()
    assert "Unknown exercise(s) ['ex99_nothing']" in captured.err and "Traceback" not in captured.err
