"""Students who set out to cheat, or to make a classmate fail, graded in one class with an honest classmate.

The class (tests/grading_attacks.py: one hostile notebook per attack family, and ``honest``, the full solution) is
graded once through the real workflow, ``python -m grading grade SRC``, with the sandbox on and two jobs at once.
For every attack: it fails (nothing secret in what the attacker gets back, nothing written, no connection, no
process left, no points it did not earn), the honest grade is exactly the solution's, the attacker is listed with the
reason, and the instructor's side is as it was. The canary grades a few of the same attacks with SANDBOX=0 and shows
that the same checks then fail. Also: autograde refuses to run when the sandbox cannot be set up, the integrity
check stops a run, and the feedback page of a submission that displays scripts runs none of them in Chromium.
"""

import csv
import os
import re
import sys
import time

import grading_attacks as ga
import nbformat
import pytest
from grading_cases import ROOT, Exercise, attention_kinds, exercises, make_course, run_grading, write_submissions

from grading import records  # noqa: E402
from grading.course import Course, sha256  # noqa: E402

NAME = exercises()[0]
ENV = {"NBGRADER_CELL_TIMEOUT": "20", "SANDBOX_FILE_MB": "64", "JOBS": "2"}


def exercise():
    return Exercise(ROOT / "solutions" / NAME / f"{NAME}.ipynb", ROOT / "exercises" / NAME / f"{NAME}.ipynb")


def grade_class(tmp_path_factory, names, extra_env):
    """Grade the honest student and the attacks ``names`` in a fresh copy of the course; returns what the tests need
    (the processes an attack left are killed by PID once the tests have looked at them)."""
    course = make_course(tmp_path_factory.mktemp("course"), [NAME])
    listener = ga.Listener()
    target = ga.Target(course=course, exercise=NAME, port=listener.port)
    ex = exercise()
    hostile = {name: case for name, case in ga.attacks(ex, target).items() if name in names}
    cases = {ga.HONEST: (ex.answered(), ex.test_points, set()), **hostile}
    src = write_submissions(tmp_path_factory.mktemp("download"),
                            {s: (f"{NAME}.ipynb", nb, points, kinds) for s, (nb, points, kinds) in cases.items()})
    start = time.monotonic()
    result = run_grading(course, "grade", src, env={**ENV, **extra_env, "NN_INSTRUCTOR_SECRET": target.secret},
                         timeout=900, check=False)
    survivors = ga.surviving_processes(target)
    listener.close()
    return {"course": course, "target": target, "cases": cases, "result": result, "survivors": survivors,
            "received": listener.received, "seconds": time.monotonic() - start}


#: What makes an output active (the test's own detector, independent of the sanitiser): a script, a frame or form,
#: an event handler, a javascript: link, or a kind of output that holds script (JavaScript, SVG).
ACTIVE_HTML = re.compile(r"<\s*(script|iframe|object|embed|form|meta|link|base)\b|<[^>]*(\son[a-z]+\s*=|javascript:)",
                         re.I)
ACTIVE_TYPES = ("application/javascript", "text/javascript", "image/svg+xml")


def _is_active(output):
    data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
    return any(mime in data for mime in ACTIVE_TYPES) or any(
        ACTIVE_HTML.search(value if isinstance(value, str) else "".join(value))
        for mime, value in data.items() if mime in ("text/html", "text/markdown"))


def kill(pids):
    import psutil

    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    run = grade_class(tmp_path_factory, set(ga.attacks(exercise(), ga.Target(ROOT, NAME))), {"SANDBOX": "1"})
    yield run
    kill(pid for pid, _ in run["survivors"] + ga.surviving_processes(run["target"]))
    ga.remove_planted(run["target"])


def scores(course):
    with open(course / "grades" / "grades.csv", newline="") as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle) if row["assignment"] == NAME}


ATTACKS = sorted(ga.attacks(exercise(), ga.Target(ROOT, NAME)))


def test_the_class_was_graded_in_sandboxes(attacked):
    result = attacked["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 at a time, each in its own sandbox (memory 2048 MB" in result.stdout
    assert "WITHOUT the sandbox" not in result.stdout


def test_the_honest_grade_is_unchanged(attacked):
    """Exactly the solution's points, nothing to flag, and the notebook that was collected is the one graded."""
    course = attacked["course"]
    assert scores(course)[ga.HONEST] == pytest.approx(exercise().test_points)
    assert ga.HONEST not in attention_kinds(course)
    record = records.read(Course(course).grades, NAME, ga.HONEST)
    assert sha256(Course(course).submission(NAME, ga.HONEST)) == record.submitted_sha256
    assert ga.shows(course, NAME, ga.HONEST, attacked["target"].marker) == []


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attack_earns_nothing(attacked, attack):
    """The attacker scores what their own work is worth: the solution's points, or 0 for blank answers."""
    assert scores(attacked["course"])[attack] == pytest.approx(attacked["cases"][attack][1])


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attacker_is_listed_with_the_reason(attacked, attack):
    expected = attacked["cases"][attack][2]
    listed = attention_kinds(attacked["course"]).get(attack, set())
    assert expected <= listed, f"{attack} is listed as {listed}, expected at least {expected}"


@pytest.mark.parametrize("attack", ATTACKS)
def test_nothing_secret_reaches_the_attacker(attacked, attack):
    """No hidden test, solution line or instructor's secret in the attacker's graded notebook or feedback."""
    course, target = attacked["course"], attacked["target"]
    assert ga.leaked(course, NAME, attack) == []
    assert ga.shows(course, NAME, attack, target.secret) == []


def test_no_connection_left_the_sandbox(attacked):
    assert attacked["received"] == []


def test_no_process_survives(attacked):
    assert attacked["survivors"] == []


def test_the_instructors_side_is_unchanged(attacked):
    """No file planted, the course's code, configuration and solutions as they were, the grades file written by
    the workflow alone."""
    assert ga.instructor_side_changes(attacked["target"]) == []
    assert set(scores(attacked["course"])) == set(attacked["cases"])


def test_the_answer_key_is_named(attacked):
    """The finding names the answer key that was called, whether through nnlib, an alias or nnlib's source."""
    course = attacked["course"]
    details = {}
    with open(course / "grades" / "attention.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            details.setdefault((row["student"], row["kind"]), []).append(row["detail"])
    assert any("nnlib.perceptron_update" in d or "nnlib.perceptron.perceptron_update" in d
               for d in details[("answer_key", "called the answer key")])
    assert any("nnlib.step" in d for d in details[("answer_key_alias", "called the answer key")])


def test_tests_never_run_in_the_kernel(attacked):
    """The graded notebooks' test cells were run by the judge: no execution count from a kernel, and a blank answer's
    failure is the judge's message, not a kernel's traceback."""
    course = attacked["course"]
    for student in (ga.HONEST, "drops_errors"):
        graded = nbformat.read(Course(course).autograded_notebook(NAME, student), as_version=4)
        tests = [cell for cell in graded.cells if cell.cell_type == "code" and ga.meta(cell).get("grade")
                 and not ga.meta(cell).get("solution")]
        assert tests and all(cell.execution_count is None for cell in tests)
    errors = [output for cell in tests for output in cell.outputs if output.output_type == "error"]
    assert errors and all(output.traceback == [f"{output.ename}: {output.evalue}"] for output in errors)


def test_autograde_fails_closed_without_bubblewrap(attacked, tmp_path):
    """With no bwrap on PATH nothing is graded: the message says what is missing and how to install it."""
    course = attacked["course"]
    graded = Course(course).autograded_notebook(NAME, ga.HONEST)
    before = graded.stat().st_mtime_ns
    result = run_grading(course, "autograde", "--force", NAME, timeout=300, check=False,
                         env={**ENV, "SANDBOX": "1", "PATH": f"{tmp_path}:{os.path.dirname(sys.executable)}"})
    message = result.stdout + result.stderr
    assert result.returncode != 0
    assert "nothing was graded" in message and "bubblewrap" in message and "apt-get install" in message, message
    assert graded.stat().st_mtime_ns == before


def test_the_integrity_check_stops_a_run(tmp_path):
    """A change on the instructor's side between two submissions stops the run, naming what changed."""
    from grading.integrity import Baseline, IntegrityError

    course = Course(make_course(tmp_path / "course", [NAME]))
    baseline = Baseline(course, NAME)
    baseline.verify(after="nothing")
    source = course.source_notebook(NAME)
    source.write_text(source.read_text().replace("BEGIN HIDDEN TESTS", "BEGIN HIDDEN TESTS\npass", 1))
    with pytest.raises(IntegrityError, match="solutions/ changed while alice was graded"):
        baseline.verify(after="alice")


# ---- the canary: the same checks, without the sandbox, must fail -----------------------------------------------

@pytest.fixture(scope="module")
def unsandboxed(tmp_path_factory):
    run = grade_class(tmp_path_factory, set(ga.CANARY), {"SANDBOX": "0"})
    yield run
    kill(pid for pid, _ in run["survivors"] + ga.surviving_processes(run["target"]))
    ga.remove_planted(run["target"])


def test_canary_without_the_sandbox_the_checks_fail(unsandboxed):
    course, target = unsandboxed["course"], unsandboxed["target"]
    assert unsandboxed["result"].returncode == 0, unsandboxed["result"].stdout[-3000:]
    assert ga.leaked(course, NAME, "reads_solutions") != [], "the hidden tests were not readable without the sandbox"
    assert ga.shows(course, NAME, "reads_environment", target.secret) != []
    assert unsandboxed["received"] == [target.token.encode()]
    # The process that escaped wrote its process id into the course (the instructor's side) and was still running
    # when grading ended.
    pid_file = course / target.marker
    assert f"{pid_file} was created" in ga.instructor_side_changes(target)
    assert any(target.marker in line or str(pid) == pid_file.read_text().strip()
               for pid, line in unsandboxed["survivors"]), unsandboxed["survivors"]
    # ... and every run that went without the sandbox says so.
    assert "WITHOUT the sandbox (SANDBOX=0)" in unsandboxed["result"].stdout
    assert "Graded without the sandbox (SANDBOX=0)" in (course / "grades" / "summary.md").read_text()


# ---- the feedback page in the browser --------------------------------------------------------------------------

def _page_report(page, url, token):
    page.goto(url)
    page.wait_for_timeout(1500)  # time for an onerror or a deferred script to run
    return page.evaluate("""(token) => ({
        ran: window.nn_attack !== undefined || document.title.includes(token),
        scripts: [...document.scripts].filter((s) => s.textContent.includes(token)).length,
        handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) =>
            a.name.startsWith('on') && a.value.includes('nn_attack'))).length,
    })""", token)


def test_formgrader_gets_no_active_content(attacked):
    """Formgrader shows the autograded notebook: no output in it may hold a script, and no written answer."""

    graded = nbformat.read(Course(attacked["course"]).autograded_notebook(NAME, "script_output"), as_version=4)
    assert not [output for cell in graded.cells for output in cell.get("outputs", []) if _is_active(output)]
    # a written answer is shown as Formgrader renders it (nbconvert's Markdown): its script only as text
    from nbconvert.filters.markdown import markdown2html

    rendered = [markdown2html(cell.source) for cell in graded.cells if cell.cell_type == "markdown"]
    active = re.compile(r"<script|<[^>]*\son[a-z]+\s*=|(href|src)\s*=\s*[\"']?\s*javascript:", re.I)
    assert not [html for html in rendered if active.search(html)]
    assert any("&lt;script&gt;" in html for html in rendered)


def test_feedback_page_runs_no_script_from_the_submission(attacked, tmp_path):
    """Opened in Chromium, the feedback page of the student who displayed a <script>, an <img onerror>, JavaScript
    and an SVG with a script shows no trace of them; the same page with the raw output spliced back in (the canary)
    runs the script, so the check can fail."""
    import browser_utils as bu

    playwright_sync = pytest.importorskip("playwright.sync_api")
    executable = bu.require_chromium()
    token = attacked["target"].token
    page_path = attacked["course"] / "feedback" / "script_output" / NAME / f"{NAME}.html"
    canary = tmp_path / "canary.html"
    canary.write_text(page_path.read_text().replace(
        "</body>", f"<script>window.nn_attack = '{token}'</script><img src='x' onerror=\"window.nn_attack = 1\">"
                   "</body>"))
    with bu.fresh_user_data_dir() as profile, playwright_sync.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=executable, args=bu.CHROMIUM_ARGS,
                                                        headless=True, timeout=60_000)
        try:
            context.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
                          else route.continue_())
            page = context.new_page()
            assert _page_report(page, page_path.as_uri(), token) == {"ran": False, "scripts": 0, "handlers": 0}
            assert _page_report(page, canary.as_uri(), token)["ran"], "the canary's script did not run"
        finally:
            context.close()
