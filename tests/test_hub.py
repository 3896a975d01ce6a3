"""A real class on a real JupyterHub: separate Unix users, nbgrader's exchange, Formgrader, sandboxed autograding.

The module starts JupyterHub on 127.0.0.1 with the course's shipped configuration (deploy/jupyterhub/) and a class
of real Unix users it creates (an instructor and three students, homes 0700, PAM passwords) and removes again
(tests/hub_utils.py). Then a class runs end to end, every step through the hub with the user's own token:

1. the instructor (in their own server, from a kernel, as in a terminal) writes the student version and the
   gradebook with ``python -m grading release``, and releases the exercise with Formgrader's Release button (its
   REST call);
2. each student lists and fetches it through the Assignments tab's calls, fills it in through the contents API
   (one solved, one blank, one hostile) and submits;
3. the instructor collects (Formgrader), autogrades with the course's own sandboxed ``python -m grading
   autograde``, writes the feedback with ``python -m grading feedback`` and releases it (Formgrader);
4. each student fetches their feedback and reads their score in it.

Then the isolation is checked as an attacker would try it: tokens against other servers, a student's kernel
reading other homes, the exchange, the instructor's course, other processes' environments; the hostile submission's
own report of what it could do while it was graded. A real Chromium logs in through the hub's login page: the
instructor sees the class in Formgrader, a student sees the exercise in the Assignments tab. Last, the idle culler
(with the shipped configuration's scopes and a short timeout) stops an idle server.

Needs root (users are created), configurable-http-proxy from npm and bubblewrap (`make hub-deps`, .ci/run). In CI
a missing piece is a failure, never a skip.
"""

import ast
import concurrent.futures
import grp
import hashlib
import json
import os
import pwd
import re
import secrets
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

import browser_utils as bu
import hub_utils as hu

EXERCISE = "ex01_perceptron"
AUTO_POINTS = 7.0  # the autograded tests of ex01 (2 + 3 + 2); the written answer (2 points) is graded by hand
MAX_POINTS = 9.0
SCREENSHOTS = bu.ARTIFACTS / "screenshots" / "hub"

pytestmark = pytest.mark.timeout(900)



def culler_scopes():
    """The scopes deploy/jupyterhub/jupyterhub_config.py gives the idle culler's role."""
    tree = ast.parse((hu.DEPLOY / "jupyterhub_config.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            entry = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
            name = entry.get("name")
            if isinstance(name, ast.Constant) and name.value == "idle-culler" and "scopes" in entry:
                return ast.literal_eval(entry["scopes"])
    raise AssertionError("no idle-culler role in deploy/jupyterhub/jupyterhub_config.py")


# One more service with the shipped culler's scopes, so that the last test can run the culler with a short timeout
# and see it stop an idle server (the hub's own culler waits an hour).
CULL_CHECK_TOKEN = secrets.token_hex(16)
CULL_CHECK_CONFIG = f"""
c.JupyterHub.services.append({{"name": "cull-check", "api_token": {CULL_CHECK_TOKEN!r}}})
c.JupyterHub.load_roles.append({{"name": "cull-check", "scopes": {culler_scopes()!r}, "services": ["cull-check"]}})
"""


def require_machine():
    missing = hu.missing_requirements()
    if missing:
        reason = "the JupyterHub class test cannot run: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def hub():
    require_machine()
    hub = hu.HubClass(students=4, extra_config=CULL_CHECK_CONFIG)
    try:
        hub.setup()
        hub.start_hub()
        users = [hub.instructor, *hub.students]
        for user in users:
            hub.login(user)
        with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:
            hub.start_times = dict(zip(users, pool.map(hub.start_server, users)))
        yield hub
    finally:
        forced = hub.close()
        left = [user for user in hub.created_users if _exists(pwd.getpwnam, user)]
        left += [group for group in hub.created_groups if _exists(grp.getgrnam, group)]
        assert not left, f"users or groups not removed: {left}"
        assert not hu.pids_of(hub.uids), "processes of the class's users still run"
        assert not Path(hub.base_dir).exists(), f"{hub.base_dir} not removed"
        assert not forced, "clean-up had to force: " + "; ".join(forced)


def _exists(lookup, name):
    try:
        lookup(name)
        return True
    except KeyError:
        return False


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---- the notebooks the three students hand in ------------------------------------------------------------------

def solved(student_nb):
    return hu.answered(student_nb, EXERCISE)


HOSTILE = r'''
import glob, json, os
report = {}
def attempt(name, action):
    try:
        report[name] = "done: " + repr(action())[:120]
    except Exception as error:
        report[name] = "refused: " + type(error).__name__
ME = os.environ.get("JUPYTERHUB_USER", "?")
# Reads answer whether they met the real thing (True) or only the sandbox's own empty view of it (False).
SOURCE = f"{COURSE}/solutions/{EXERCISE}/{EXERCISE}.ipynb"
attempt("read the solutions", lambda: "BEGIN SOLUTION" in open(SOURCE).read())
attempt("read the gradebook", lambda: open(COURSE + "/gradebook.db", "rb").read(15) == b"SQLite format 3")
def full_marks():  # every grade in the gradebook to full marks
    import sqlite3
    with sqlite3.connect(COURSE + "/gradebook.db") as db:
        return db.execute("UPDATE grade SET auto_score = 100, manual_score = 100").rowcount
attempt("write the gradebook", full_marks)
def overwrite_classmates():
    theirs = [p for p in glob.glob(f"{COURSE}/submitted/*/{EXERCISE}/*.ipynb") if ("/" + ME + "/") not in p]
    if not theirs:
        raise FileNotFoundError("no classmate's submission in sight")
    return [open(p, "w").write("{}") for p in theirs]
attempt("overwrite a classmate's submission", overwrite_classmates)
attempt("plant a file in the course", lambda: open(f"{COURSE}/planted-{TAG}", "w").write("x"))
attempt("list the instructor's home", lambda: ".jupyter" in os.listdir(os.path.dirname(COURSE)))
attempt("list the exchange's submissions", lambda: len(os.listdir(INBOUND)) > 0)
attempt("read the instructor's environment", lambda: "JUPYTERHUB_API_TOKEN" in os.environ)
def outlive():  # a double-forked process that waits for grading to end, then writes into the course
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            import time
            time.sleep(6)
            try:
                open(f"{COURSE}/grades/late-{TAG}", "w").write("x")
            finally:
                os._exit(0)
        os._exit(0)
    return "forked"
attempt("leave a process behind", outlive)
print("HOSTILE-REPORT " + json.dumps(report))
'''


def hostile(student_nb, hub):
    """Every answer cell replaced: the first one attacks, the others are left empty."""
    known = {"COURSE": str(hub.course), "EXERCISE": EXERCISE, "TAG": hub.tag,
             "INBOUND": str(hub.exchange / hu.COURSE_ID / "inbound")}
    code = "".join(f"{name} = {value!r}\n" for name, value in known.items()) + HOSTILE
    first = True
    for cell in student_nb["cells"]:
        if cell["cell_type"] == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell["source"] = code if first else "pass"
            first = False
    return student_nb


# ---- the class ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson(hub):
    """Runs the class end to end; returns what each step gave."""
    instructor = hub.sessions[hub.instructor]
    solver, blank, attacker, newcomer = hub.students
    class_ = (solver, blank, attacker)  # the newcomer logs in but has not fetched anything yet
    out = {"steps": {}}

    def step(name, started):
        out["steps"][name] = round(time.monotonic() - started, 2)

    kernel = instructor.kernel()
    try:
        started = time.monotonic()
        rc, text = kernel.shell([str(hub.env_dir / "bin" / "python"), "-m", "grading", "release", EXERCISE],
                                cwd=hub.course)
        assert rc == 0, f"python -m grading release failed:\n{text}"
        step("instructor: grading release", started)

        started = time.monotonic()
        released = instructor.ok("POST", instructor.server(f"/formgrader/api/assignment/{EXERCISE}/release"))
        assert released.get("success"), f"Formgrader's Release failed: {released}"
        outbound = hub.exchange / hu.COURSE_ID / "outbound" / EXERCISE / f"{EXERCISE}.ipynb"
        assert outbound.is_file(), (f"Formgrader released somewhere else than the hub's exchange {hub.exchange}: "
                                    f"{released.get('log', '')[-1500:]}")
        step("instructor: release (Formgrader)", started)

        # The students: list, fetch, fill in, submit, each with their own token.
        notebook_path = f"{EXERCISE}/{EXERCISE}.ipynb"
        for student, fill in ((solver, solved), (blank, None), (attacker, lambda nb: hostile(nb, hub))):
            client = hub.sessions[student]
            started = time.monotonic()
            listed = client.assignments()
            assert listed["success"] and [a["assignment_id"] for a in listed["value"]] == [EXERCISE], listed
            assert listed["value"][0]["status"] == "released", listed
            fetched = client.assignments("fetch", EXERCISE)
            assert fetched["value"][0]["status"] == "fetched", fetched
            notebook = client.read_notebook(notebook_path)
            if fill is not None:
                client.write_notebook(notebook_path, fill(notebook))
            submitted = client.assignments("submit", EXERCISE)
            assert submitted.get("success"), f"{student}'s submit failed: {submitted}"
            assert any(a["status"] == "submitted" for a in submitted["value"]), submitted
            step(f"student {student}: list, fetch, fill in, submit", started)
        out["submitted"] = {p.name.split("+")[0]: p.name for p in
                            (hub.exchange / hu.COURSE_ID / "inbound").iterdir()}

        started = time.monotonic()
        collected = instructor.ok("POST", instructor.server(f"/formgrader/api/assignment/{EXERCISE}/collect"))
        assert collected.get("success"), f"Formgrader's Collect failed: {collected}"
        assert sorted(p.name for p in (hub.course / "submitted").iterdir()) == sorted(class_)
        step("instructor: collect (Formgrader)", started)

        out["before"] = {"solutions": sha256(hub.course / "solutions" / EXERCISE / f"{EXERCISE}.ipynb"),
                         "submitted": {s: sha256(hub.course / "submitted" / s / EXERCISE / f"{EXERCISE}.ipynb")
                                       for s in class_}}
        started = time.monotonic()
        rc, text = kernel.shell([str(hub.env_dir / "bin" / "python"), "-m", "grading", "autograde", EXERCISE],
                                cwd=hub.course, timeout=600)
        out["autograde output"] = text
        assert rc == 0, f"python -m grading autograde failed:\n{text[-3000:]}"
        step("instructor: grading autograde (sandboxed)", started)

        started = time.monotonic()
        rc, text = kernel.shell([str(hub.env_dir / "bin" / "python"), "-m", "grading", "feedback", EXERCISE],
                                cwd=hub.course)
        assert rc == 0, f"python -m grading feedback failed:\n{text[-3000:]}"
        released = instructor.ok("POST", instructor.server(
            f"/formgrader/api/assignment/{EXERCISE}/release_feedback"))
        assert released.get("success"), f"Formgrader's Release feedback failed: {released}"
        step("instructor: feedback, release feedback (Formgrader)", started)
        out["gradebook"] = instructor.ok("GET", instructor.server(f"/formgrader/api/submissions/{EXERCISE}"))
    finally:
        kernel.close()

    out["feedback"] = {}
    for student in class_:
        client = hub.sessions[student]
        listed = client.assignments("fetch_feedback", EXERCISE)
        entry = next(a for a in listed["value"] if a["status"] == "submitted")
        feedback = entry["submissions"][-1]
        assert feedback.get("has_local_feedback"), f"{student} got no feedback: {feedback}"
        html = client.ok("GET", client.server(
            f"/api/contents/{EXERCISE}/feedback/{quote(feedback['timestamp'])}/{EXERCISE}.html?content=1&type=file"
            "&format=text"))["content"]
        out["feedback"][student] = html
    time.sleep(7)  # longer than the hostile submission's left-behind process waits before it writes
    return out


def feedback_score(html):
    match = re.search(r"Score: ([\d.]+) / ([\d.]+)", html)
    assert match, "no total score in the feedback page"
    return float(match.group(1)), float(match.group(2))


def test_every_server_runs_as_its_own_user_from_the_course_environment(hub):
    for user in [hub.instructor, *hub.students]:
        pid = hub.server_pid(user)
        assert pid, f"no jupyterhub.singleuser process of {user}"
        assert Path(f"/proc/{pid}").stat().st_uid == pwd.getpwnam(user).pw_uid
        exe = os.readlink(f"/proc/{pid}/exe")
        assert Path(exe) == Path("/usr/bin/python3.11").resolve() or exe.startswith(str(hub.env_dir)), exe
        home = hub.home(user)
        assert home.stat().st_mode & 0o777 == 0o700, f"{home} is not 0700"
    culler = [pid for pid in hub.hub_children()
              if b"jupyterhub_idle_culler" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert culler, "the idle culler is not running under the hub"


def test_the_class_round_trip(hub, lesson):
    """Each student's own feedback, fetched through the exchange, carries their score; Formgrader agrees."""
    solver, blank, attacker, newcomer = hub.students
    scores = {student: feedback_score(html) for student, html in lesson["feedback"].items()}
    assert scores[solver] == (AUTO_POINTS, MAX_POINTS), scores
    assert scores[blank] == (0.0, MAX_POINTS), scores
    assert scores[attacker][0] == 0.0, scores
    for student in (solver, blank):
        others = [s for s in (solver, blank, attacker) if s != student]
        named = [other for other in others if other in lesson["feedback"][student]]
        assert not named, f"{student}'s feedback names classmates: {named}"
    book = {row["student"]: row["score"] for row in lesson["gradebook"]}
    assert book == {solver: AUTO_POINTS, blank: 0.0, attacker: 0.0}, lesson["gradebook"]
    print("\nsteps (s):", json.dumps(lesson["steps"], indent=1), "\nserver start (s):", hub.start_times,
          "\nhub:", hub.timings)


def test_a_token_reaches_only_its_own_server(hub, lesson):
    solver, blank, attacker, newcomer = hub.students
    me = hub.sessions[attacker]
    assert me.request("GET", me.server("/api/contents"))[0] == 200, "the probe's token does not work at all"
    tries = {
        "a classmate's files": ("GET", f"/user/{solver}/api/contents"),
        "a classmate's kernels": ("POST", f"/user/{solver}/api/kernels"),
        "a classmate's assignment list": ("GET", f"/user/{solver}/assignments?course_id={hu.COURSE_ID}"),
        "the instructor's files": ("GET", f"/user/{hub.instructor}/api/contents/course/solutions"),
        "the instructor's Formgrader": ("GET", f"/user/{hub.instructor}/formgrader/api/submissions/{EXERCISE}"),
        "the instructor's gradebook through Formgrader": ("GET", f"/user/{hub.instructor}/formgrader/api/students"),
        "a classmate's hub record": ("GET", f"/hub/api/users/{solver}"),
        "the list of users": ("GET", "/hub/api/users"),
        "stopping a classmate's server": ("DELETE", f"/hub/api/users/{solver}/server"),
        "a token for a classmate": ("POST", f"/hub/api/users/{solver}/tokens"),
        "a Formgrader of one's own (students have none)": ("GET", f"/user/{attacker}/formgrader/api/assignments"),
    }
    reached = {}
    for what, (method, path) in tries.items():
        status, body = me.request(method, path, {} if method == "POST" else None)
        if status < 300:
            reached[what] = f"{method} {path}: {status} {str(body)[:120]}"
        elif 300 <= status < 400:
            # a redirect to the login page of the other server's OAuth: still no access with this token
            assert status in (302, 303), (what, status)
    assert not reached, f"{attacker}'s token reached: {json.dumps(reached, indent=1)}"
    assert hub.sessions[solver].request("GET", f"/user/{solver}/api/contents")[0] == 200, "the victim lost access"


PROBE = r'''
import json, os
def probe(path, how):
    try:
        if how == "list":
            os.listdir(path)
        elif how == "write":
            with open(os.path.join(path, ".probe-{tag}"), "w") as f:
                f.write("x")
            os.remove(os.path.join(path, ".probe-{tag}"))
        else:
            with open(path, "rb") as f:
                f.read(16)
        return "allowed"
    except OSError as error:
        return type(error).__name__
print(json.dumps({{name: probe(path, how) for name, (path, how) in {targets!r}.items()}}))
'''


def released_feedback(hub, student):
    """The file nbgrader's release_feedback made for ``student`` in the exchange (its name: a hash of a secret)."""
    from nbgrader.utils import notebook_hash

    secret = (hub.course / "feedback" / student / EXERCISE / "submission_secret.txt").read_text()
    path = hub.exchange / hu.COURSE_ID / "feedback" / f"{notebook_hash(secret=secret, notebook_id=EXERCISE)}.html"
    assert path.is_file(), f"{path} is not {student}'s released feedback"
    return path


def test_a_student_cannot_read_what_is_not_theirs(hub, lesson):
    """From the attacker's own kernel: every target another user's, each read, listed or written as it fits."""
    solver, blank, attacker, newcomer = hub.students
    course, inbound = hub.course, hub.exchange / hu.COURSE_ID / "inbound"
    feedback = hub.exchange / hu.COURSE_ID / "feedback"
    victim_submission = inbound / lesson["submitted"][solver]
    targets = {
        "a classmate's home": (str(hub.home(solver)), "list"),
        "a classmate's notebook": (str(hub.home(solver) / EXERCISE / f"{EXERCISE}.ipynb"), "read"),
        "a classmate's feedback in their home": (str(hub.home(solver) / EXERCISE / "feedback"), "list"),
        "the instructor's home": (str(hub.home(hub.instructor)), "list"),
        "the instructor's solutions/": (str(course / "solutions" / EXERCISE / f"{EXERCISE}.ipynb"), "read"),
        "the gradebook": (str(course / "gradebook.db"), "read"),
        "the collected submissions": (str(course / "submitted"), "list"),
        "the autograded notebooks": (str(course / "autograded"), "list"),
        "the feedback folder of the course": (str(course / "feedback"), "list"),
        "the exchange's inbound (who submitted)": (str(inbound), "list"),
        "a classmate's submission, by its exact name": (str(victim_submission / f"{EXERCISE}.ipynb"), "read"),
        "a classmate's submission secret": (str(victim_submission / "submission_secret.txt"), "read"),
        "writing into a classmate's submission": (str(victim_submission), "write"),
        "the exchange's feedback (whose feedback)": (str(feedback), "list"),
        "a classmate's feedback in the exchange, by its exact name": (str(released_feedback(hub, solver)), "read"),
        "the hub's database and cookie secret": (str(hub.state_dir / "jupyterhub.sqlite"), "read"),
        "a classmate's server environment (its hub token)": (f"/proc/{hub.server_pid(solver)}/environ", "read"),
        "the instructor's server environment": (f"/proc/{hub.server_pid(hub.instructor)}/environ", "read"),
    }
    controls = {  # what the attacker may see: proves that the probe can say "allowed"
        "own notebook": (str(hub.home(attacker) / EXERCISE / f"{EXERCISE}.ipynb"), "read"),
        "own feedback in the exchange": (str(released_feedback(hub, attacker)), "read"),
        "the released exercise": (str(hub.exchange / hu.COURSE_ID / "outbound" / EXERCISE / f"{EXERCISE}.ipynb"),
                                  "read"),
    }
    kernel = hub.sessions[attacker].kernel()
    try:
        found = kernel.run_json(PROBE.format(tag=hub.tag, targets={**targets, **controls}))
    finally:
        kernel.close()
    print("\nwhat the attacker's kernel found:", json.dumps(found, indent=1))
    assert all(found[name] == "allowed" for name in controls), found
    allowed = {name: found[name] for name in targets if found[name] == "allowed"}
    assert not allowed, f"{attacker} could reach: {sorted(allowed)}"


def test_the_hostile_submission_is_contained(hub, lesson):
    """What the hostile submission could do while it was graded: nothing beyond its own sandbox."""
    solver, blank, attacker, newcomer = hub.students
    graded = nbformat.read(hub.course / "autograded" / attacker / EXERCISE / f"{EXERCISE}.ipynb", as_version=4)
    texts = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.get("outputs", []))
    match = re.search(r"HOSTILE-REPORT (\{.*\})", texts)
    assert match, f"the hostile submission's report is missing from its graded notebook: {texts[-1500:]}"
    report = json.loads(match.group(1))
    print("\nthe hostile submission, while graded:", json.dumps(report, indent=1))
    # A read or a listing leaked when it met the real thing; writes are judged by what changed on the real disk.
    reads = ("read the solutions", "read the gradebook", "list the instructor's home",
             "list the exchange's submissions", "read the instructor's environment")
    leaked = {what: report[what] for what in reads if report[what] == "done: True"}
    assert not leaked, f"the hostile submission, while graded, could: {leaked}"
    assert not (hub.course / f"planted-{hub.tag}").exists(), "the hostile submission planted a file in the course"
    book = {row["student"]: row["score"] for row in lesson["gradebook"]}
    assert book == {solver: AUTO_POINTS, blank: 0.0, attacker: 0.0}, f"the gradebook was changed: {book}"
    assert not (hub.course / "grades" / f"late-{hub.tag}").exists(), "a process of the submission outlived grading"
    assert sha256(hub.course / "solutions" / EXERCISE / f"{EXERCISE}.ipynb") == lesson["before"]["solutions"]
    for student in (solver, blank):
        path = hub.course / "submitted" / student / EXERCISE / f"{EXERCISE}.ipynb"
        assert sha256(path) == lesson["before"]["submitted"][student], f"{student}'s submission changed"
    source = nbformat.read(hub.course / "solutions" / EXERCISE / f"{EXERCISE}.ipynb", as_version=4)
    hidden = [line.strip() for cell in source.cells
              for block in re.findall(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", cell.source, re.S)
              for line in block.splitlines() if len(line.strip()) > 20]
    assert hidden, "the exercise has no hidden tests to look for"
    shown = [line for line in hidden if line in lesson["feedback"][attacker]]
    assert not shown, f"the hostile student's feedback shows hidden tests: {shown}"
    named = [s for s in (solver, blank) if s in lesson["feedback"][attacker]]
    assert not named, f"the hostile student's feedback names classmates: {named}"
    # The course's autograde says how it ran each submission: in its own sandbox, never without one.
    output = lesson["autograde output"]
    assert "in its own sandbox" in output and "WITHOUT the sandbox" not in output, output[-1500:]


# ---- in the browser ------------------------------------------------------------------------------------------

def browser_login(context, hub, user):
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.passwords[user])
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{re.escape(user)}/"), timeout=120_000)
    return page


def test_formgrader_and_the_assignments_tab_in_the_browser(hub, lesson):
    executable = bu.require_chromium()
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    solver, blank, attacker, newcomer = hub.students
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=bu.CHROMIUM_ARGS, headless=True)
        try:
            # The instructor: login page, Formgrader's list of the submissions of ex01 with their scores.
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(60_000)
            page = browser_login(context, hub, hub.instructor)
            page.goto(f"{hub.url}/user/{hub.instructor}/formgrader/manage_submissions/{EXERCISE}")
            for student in (solver, blank, attacker):
                page.get_by_text(student).first.wait_for()
            table = page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "formgrader-submissions.png"), full_page=True)
            scores = {s: re.search(rf"{re.escape(s)}\b.*?([\d.]+) / ([\d.]+)", table).groups() for s in (solver, blank, attacker)}
            assert {s: (float(a), float(b)) for s, (a, b) in scores.items()} == {
                solver: (AUTO_POINTS, MAX_POINTS), blank: (0.0, MAX_POINTS), attacker: (0.0, MAX_POINTS)}, table
            context.close()

            # A student who has not fetched it yet: login page, JupyterLab, Nbgrader > Assignment List shows the
            # exercise among the released ones, with its Fetch button.
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(60_000)
            page = browser_login(context, hub, newcomer)
            page.locator(".jp-LabShell").wait_for()
            page.get_by_role("menuitem", name="Nbgrader").click()
            offered = page.locator(".lm-Menu-content").last.inner_text()
            page.get_by_role("menuitem", name="Assignment List").click()
            panel = page.locator(".lm-Widget", has_text="Released, downloaded, and submitted assignments").last
            released = panel.locator(".panel", has_text="Released assignments")
            released.get_by_text(EXERCISE).wait_for()
            released.get_by_role("button", name="Fetch").wait_for()
            page.screenshot(path=str(SCREENSHOTS / "student-assignments.png"))
            context.close()
        finally:
            browser.close()
    # A student's Nbgrader menu offers the Assignments tab, not the instructors' tools.
    assert "Assignment List" in offered and "Formgrader" not in offered and "Create" not in offered, offered


def test_the_idle_culler_stops_idle_servers_and_keeps_their_files(hub, lesson):
    """jupyterhub-idle-culler, with the role the shipped configuration gives it, stops servers idle past its
    timeout; the student's files stay. (Runs last: it stops the servers.)"""
    solver, blank, attacker, newcomer = hub.students
    client = hub.sessions[blank]
    assert client.ok("GET", f"/hub/api/users/{blank}")["servers"], "the server is not running to begin with"
    env = {"PATH": os.environ["PATH"], "JUPYTERHUB_API_TOKEN": CULL_CHECK_TOKEN,
           "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.api_port}/hub/api"}
    culler = subprocess.Popen([str(hub.env_dir / "bin" / "python"), "-m", "jupyterhub_idle_culler", "--timeout=2",
                               "--cull-every=2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while client.ok("GET", f"/hub/api/users/{blank}")["servers"] and time.monotonic() < deadline:
            assert culler.poll() is None, f"the culler exited: {culler.stdout.read()[-2000:]}"
            time.sleep(1)
    finally:
        culler.terminate()
        output = culler.communicate(timeout=30)[0]
    assert not client.ok("GET", f"/hub/api/users/{blank}")["servers"], f"no server was culled:\n{output[-2000:]}"
    assert hub.server_pid(blank) is None, "the culled server's process still runs"
    assert (hub.home(blank) / EXERCISE / f"{EXERCISE}.ipynb").is_file(), "culling removed the student's files"
