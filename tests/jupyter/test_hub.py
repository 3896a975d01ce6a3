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

The class also runs with a student who attacks the instructor's side (the hub issue's families, each next to the
honest classmate): squatting the course's exchange folder and a fake course before the release; hand-made inbound
folders (links to /proc/self/environ, the solutions, the gradebook, ~/.jupyter and the runtime folder; a linked
folder; a classmate's name dated 2099; a made-up student; an HTML id; a rename of a classmate's folder; a FIFO, a
closed folder, a hard link, a closed submission); a notebook with every browser vector, opened in Formgrader in
Chromium; a Formgrader URL with a script for an id; a page on the attacker's own server opened by the instructor.
Each check: the attack fails, the honest grades stand, the attacker is listed.

Every user's server is on its own origin (<user>.localhost:PORT, the shipped subdomain_host).

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

import browser_utils as bu
import hub_utils as hu
import nbformat
import pytest

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
    with hu.one_hub_at_a_time():
        yield from _hub()


def _hub():
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
        hu.users_processes_end(hub.uids)
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
    ready, told = os.pipe()
    if os.fork() == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                try:
                    import ctypes, time
                    ctypes.CDLL(None).prctl(15, f"late-{TAG}".encode(), 0, 0, 0)  # its name, which the test seeks
                    os.write(told, b"1")
                    time.sleep(6)
                    open(f"{COURSE}/grades/late-{TAG}", "w").write("x")
                finally:
                    os._exit(0)
        finally:
            os._exit(0)
    os.close(told)
    return "running" if os.read(ready, 1) == b"1" else "did not start"
attempt("leave a process behind", outlive)
print("HOSTILE-REPORT " + json.dumps(report))
'''


#: Where the pages' scripts would send what they found; Chromium's requests to it are caught, never sent.
BEACON = "http://127.0.0.1:9/beacon"

#: A code cell whose outputs, made while it is graded, carry the output vectors (image width metadata, HTML,
#: JavaScript, SVG and Markdown outputs).
OUTPUT_VECTORS = r"""
from IPython.display import publish_display_data
def run(name):
    return f"window.__pwned.push('{name}')"
publish_display_data({"image/png": PNG, "text/plain": "figure"},
                     metadata={"image/png": {"width": "1 onload=" + run("image-width-metadata")}})
publish_display_data({"text/html": '<img src="x" onerror="' + run("html-output-img") + '">'
                                   '<a href="javascript:' + run("html-output-link") + '">a</a>'})
publish_display_data({"application/javascript": run("javascript-output")})
publish_display_data({"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"><script>' + run("svg-output")
                                       + "</script></svg>"})
publish_display_data({"text/markdown": "[md output](javascript:" + run("markdown-output-link") + ")"})
"""


def hostile(student_nb, hub):
    """Every answer cell replaced: the first one attacks, the others are left empty. Then the cells that attack the
    grader's browser: markdown with script, links and fetches, and a cell whose outputs do the same."""
    known = {"COURSE": str(hub.course), "EXERCISE": EXERCISE, "TAG": hub.tag,
             "INBOUND": str(hub.exchange / hu.COURSE_ID / "inbound")}
    code = "".join(f"{name} = {value!r}\n" for name, value in known.items()) + HOSTILE
    first = True
    for cell in student_nb["cells"]:
        if cell["cell_type"] == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell["source"] = code if first else "pass"
            first = False
    browser_cells = [cell for cell in hu.hostile_cells(BEACON) if cell["cell_type"] == "markdown"]
    browser_cells.append(nbformat.v4.new_code_cell(f"PNG = {hu.PNG!r}\n" + OUTPUT_VECTORS))
    for cell in browser_cells:
        cell["id"] = f"attack-{len(student_nb['cells'])}"
        student_nb["cells"].append(cell)
    return student_nb


# ---- attacks on the exchange, from the attacker's own kernel (as their terminal would) ------------------------

#: Before the first release: squat the course's exchange folder and make a fake course.
SQUAT = r"""
import json, os
report = {}
for name, path in {"the course's exchange folder": os.path.join(ROOT, COURSE_ID, "inbound"),
                   "a fake course": os.path.join(ROOT, "fake-course-" + TAG, "outbound", "ex99")}.items():
    try:
        os.makedirs(path)
        report[name] = "created"
    except OSError as error:
        report[name] = type(error).__name__
print(json.dumps(report))
"""

#: After every student has submitted, before Collect: the attacker's hand-made inbound folders.
EXCHANGE_ATTACKS = r"""
import json, os, shutil, stat, secrets
report = {}
def attempt(name, action):
    try:
        report[name] = "done: " + str(action())[:200]
    except Exception as error:
        report[name] = "refused: " + type(error).__name__ + ": " + str(error)[:120]
def folder(owner_name, stamp="2099-01-01 00:00:00.000000 UTC"):
    path = os.path.join(INBOUND, f"{owner_name}+{EXERCISE}+{stamp}+{secrets.token_hex(4)}")
    os.mkdir(path)
    os.chmod(path, 0o770)
    return path
def blank_copy(path):
    shutil.copyfile(RELEASED, os.path.join(path, EXERCISE + ".ipynb"))
    return path
# Links in a submission of one's own: the environment, the solutions, the gradebook, ~/.jupyter, the runtime folder.
def links():
    path = folder(ME, "2098-01-01 00:00:00.000000 UTC")
    for name, target in LINK_TARGETS.items():
        os.symlink(target, os.path.join(path, name))
    return sorted(os.listdir(path))
attempt("links in a submission", links)
# A submission folder that is itself a link to the instructor's solutions.
attempt("a linked submission folder", lambda: os.symlink(SOLUTIONS_DIR, os.path.join(
    INBOUND, f"{ME}+{EXERCISE}+2097-01-01 00:00:00.000000 UTC+{secrets.token_hex(4)}")))
# submit --student=<classmate>, dated 2099: a blank notebook under the classmate's name.
attempt("submit as a classmate, dated 2099", lambda: os.path.basename(blank_copy(folder(VICTIM))))
# A made-up student whose notebook links to the source notebook; an HTML student id.
def ghost():
    path = folder("ghost" + TAG[-3:])
    os.symlink(SOURCE, os.path.join(path, EXERCISE + ".ipynb"))
    return os.path.basename(path)
attempt("a made-up student", ghost)
attempt("an HTML student id", lambda: os.path.basename(blank_copy(folder("<img src=x onerror=alert(1)>"))))
# Rename a classmate's folder (its name known) to one's own id, and to another classmate's.
attempt("rename a classmate's submission", lambda: os.rename(
    os.path.join(INBOUND, RENAME_VICTIM_FOLDER),
    os.path.join(INBOUND, RENAME_VICTIM_FOLDER.replace(RENAME_VICTIM, ME))))
# Denial: a FIFO, an unreadable folder, a link to an unreadable file, a hard link to a file not one's own, and a
# whole submission folder closed to the instructor.
def denial():  # in the attacker's own real submission, which is still collected and graded
    path = os.path.join(INBOUND, OWN_FOLDER)
    os.mkfifo(os.path.join(path, "fifo.ipynb"))
    os.mkdir(os.path.join(path, "closed"))
    open(os.path.join(path, "closed", "x.ipynb"), "w").write("{}")
    os.chmod(os.path.join(path, "closed"), 0)
    os.symlink("/etc/shadow", os.path.join(path, "shadow.ipynb"))
    try:
        os.link(OUTBOUND_NB, os.path.join(path, "hardlink.ipynb"))  # the instructor's file, readable by all
        made = "hard link made"
    except OSError as error:
        made = "hard link refused by the kernel: " + type(error).__name__
    return made
attempt("a FIFO, a closed folder and links", denial)
def closed_submission():
    path = blank_copy(folder(ME, "2095-01-01 00:00:00.000000 UTC"))
    os.chmod(path, 0)
    return os.path.basename(path)
attempt("a submission closed to the instructor", closed_submission)
print(json.dumps(report))
"""


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

    attacker_kernel = hub.sessions[attacker].kernel()
    known = {"ROOT": str(hub.exchange), "COURSE_ID": hu.COURSE_ID, "TAG": hub.tag}
    out["squat"] = attacker_kernel.run_json("".join(f"{k} = {v!r}\n" for k, v in known.items()) + SQUAT)
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
        inbound = hub.exchange / hu.COURSE_ID / "inbound"
        out["submitted"] = {p.name.split("+")[0]: p.name for p in inbound.iterdir()}
        out["inbound before"] = {p.name: (p.stat().st_uid, sha256(p / f"{EXERCISE}.ipynb")) for p in inbound.iterdir()}

        course, instructor_home = hub.course, hub.home(hub.instructor)
        known = {
            "INBOUND": str(inbound), "EXERCISE": EXERCISE, "ME": attacker, "VICTIM": solver, "TAG": hub.tag,
            "RELEASED": str(hub.home(attacker) / EXERCISE / f"{EXERCISE}.ipynb"),
            "OUTBOUND_NB": str(hub.exchange / hu.COURSE_ID / "outbound" / EXERCISE / f"{EXERCISE}.ipynb"),
            "SOURCE": str(course / "solutions" / EXERCISE / f"{EXERCISE}.ipynb"),
            "SOLUTIONS_DIR": str(course / "solutions" / EXERCISE),
            "RENAME_VICTIM": blank, "RENAME_VICTIM_FOLDER": out["submitted"][blank],
            "OWN_FOLDER": out["submitted"][attacker],
            "LINK_TARGETS": {
                f"{EXERCISE}.ipynb": str(course / "solutions" / EXERCISE / f"{EXERCISE}.ipynb"),
                "environ.txt": "/proc/self/environ",
                "solutions": str(course / "solutions"),
                "gradebook.db": str(course / "gradebook.db"),
                "dot-jupyter": str(instructor_home / ".jupyter"),
                "runtime": str(instructor_home / ".local" / "share" / "jupyter" / "runtime"),
            },
        }
        out["exchange attacks"] = attacker_kernel.run_json(
            "".join(f"{k} = {v!r}\n" for k, v in known.items()) + EXCHANGE_ATTACKS)

        started = time.monotonic()
        collected = instructor.ok("POST", instructor.server(f"/formgrader/api/assignment/{EXERCISE}/collect"))
        out["collect log"] = collected.get("log", "")
        assert collected.get("success"), f"Formgrader's Collect failed: {collected}"
        out["collect problems"] = json.loads((hub.course / "grades" / "collect_problems.json").read_text())
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
        out["feedback log"] = (text[-3000:] + "\n--- release_feedback:\n" + released.get("log", "")[-3000:]
                               + "\n--- course feedback/: " + str(sorted(
                                   str(p.relative_to(hub.course)) for p in (hub.course / "feedback").rglob("*")))
                               + "\n--- exchange feedback/: " + str(sorted(
                                   p.name for p in (hub.exchange / hu.COURSE_ID / "feedback").glob("*"))))
        step("instructor: feedback, release feedback (Formgrader)", started)
        out["gradebook"] = instructor.ok("GET", instructor.server(f"/formgrader/api/submissions/{EXERCISE}"))
        out["notebooks"] = instructor.ok("GET", instructor.server(
            f"/formgrader/api/submitted_notebooks/{EXERCISE}/{EXERCISE}"))
    finally:
        kernel.close()
        attacker_kernel.close()

    out["feedback"] = {}
    for student in class_:
        client = hub.sessions[student]
        listed = client.assignments("fetch_feedback", EXERCISE)
        entry = next(a for a in listed["value"] if a["status"] == "submitted")
        feedback = entry["submissions"][-1]
        assert feedback.get("has_local_feedback"), f"{student} got no feedback: {feedback}\n{out['feedback log']}"
        html = client.ok("GET", client.server(
            f"/api/contents/{EXERCISE}/feedback/{quote(feedback['timestamp'])}/{EXERCISE}.html?content=1&type=file"
            "&format=text"))["content"]
        out["feedback"][student] = html
    # The hostile submission's left-behind process (named late-TAG) must be gone: stopped with its sandbox, or (had it
    # escaped) after its write into the course, which the test then finds.
    out["steps"]["wait: the left-behind process gone"] = round(hu.wait_for(
        lambda: not hu.pids_named(f"late-{hub.tag}"), 60, "the hostile submission's left-behind process to end"), 2)
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


KERNEL_SOCKETS = """
import json, os, stat
from ipykernel.connect import get_connection_info
info = json.loads(get_connection_info())
folder = os.path.dirname(info["ip"])
print(json.dumps([info["transport"], info["ip"], oct(stat.S_IMODE(os.stat(folder).st_mode)), os.stat(folder).st_uid]))
"""


def test_kernels_talk_over_unix_sockets_in_the_users_own_folder(hub):
    """With TCP, jupyter_client picks a free port and the kernel binds it seconds later: 20 servers starting kernels
    at once gave two kernels one port, and a student lost their kernel (benchmarks/hub_load.py). Unix sockets in
    the user's private runtime folder can't collide, and no other user can connect to them."""
    for user in hub.students[:2]:
        kernel = hub.sessions[user].kernel()
        try:
            transport, where, mode, owner = kernel.run_json(KERNEL_SOCKETS)
        finally:
            kernel.close()
        assert transport == "ipc", f"{user}'s kernel talks over {transport} ({where})"
        assert Path(where).is_relative_to(hub.home(user)), f"{user}'s kernel sockets are at {where}"
        # Jupyter makes its runtime folder 0o1700 (sticky): what matters is that no group or other bit is set
        assert owner == pwd.getpwnam(user).pw_uid and int(mode, 8) & 0o077 == 0, (user, where, mode, owner)


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
    assert report["leave a process behind"] == "done: 'running'", report  # a canary: it was there to be stopped
    print("its left-behind process was gone", lesson["steps"]["wait: the left-behind process gone"], "s after grading")
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


# ---- the exchange, attacked --------------------------------------------------------------------------------------

def link_secrets(hub):
    """Bytes that only the links' targets hold: the instructor's server token, a hidden test line of the source
    notebook, the gradebook's file header, a line of ~/.jupyter's configuration, a connection file's key,
    /etc/shadow."""
    environ = Path(f"/proc/{hub.server_pid(hub.instructor)}/environ").read_bytes().split(b"\0")
    token = next(v.split(b"=", 1)[1] for v in environ if v.startswith(b"JUPYTERHUB_API_TOKEN="))
    return {"the instructor's server token": token, "a hidden test": next(line for line in hidden_lines(hub) if '"' not in line and "\\" not in line).encode(),  # noqa: E501
            "the gradebook": b"SQLite format 3\0", "the instructor's ~/.jupyter": b"load_subconfig(",
            "a kernel connection file": b'"signature_scheme"', "the shadow file": b"daemon:*:"}


def hidden_lines(hub):
    source = nbformat.read(hub.course / "solutions" / EXERCISE / f"{EXERCISE}.ipynb", as_version=4)
    return [line.strip() for cell in source.cells
            for block in re.findall(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", cell.source, re.S)
            for line in block.splitlines() if len(line.strip()) > 20]


def problems_about(lesson, text):
    return [p for p in lesson["collect problems"] if text in p["source"] or text in p["detail"]]


def test_squatting_the_exchange_fails(hub, lesson):
    """Before the first release the attacker tries to make the course's exchange folder (release would then fail)
    and a fake course (it would show in every classmate's Assignments tab)."""
    assert lesson["squat"] == {"the course's exchange folder": "PermissionError", "a fake course": "PermissionError"}
    assert sorted(p.name for p in hub.exchange.iterdir()) == [hu.COURSE_ID]
    course = hub.exchange / hu.COURSE_ID
    assert course.stat().st_uid == pwd.getpwnam(hub.instructor).pw_uid, "the course folder is not the instructor's"
    mode = (course / "inbound").stat().st_mode
    assert mode & 0o1000 and not mode & 0o004, f"inbound is not sticky or is listable: {oct(mode)}"


def test_collect_copies_regular_files_only_and_lists_the_attacker(hub, lesson):
    """The attacker's hand-made inbound folders: links to /proc/self/environ, the solutions, the gradebook,
    ~/.jupyter and the runtime folder; a submission folder that is a link; a FIFO, a folder closed to the
    instructor, a link to /etc/shadow and a hard link in their real submission; a submission closed to the
    instructor. Collect succeeds, copies nothing of it, lists each, and collects the class."""
    solver, blank, attacker, newcomer = hub.students
    attacks = lesson["exchange attacks"]
    print("\nthe attacker's exchange attacks:", json.dumps(attacks, indent=1),
          "\ncollect's problems:", json.dumps(lesson["collect problems"], indent=1))
    assert attacks["links in a submission"].startswith("done"), attacks  # the control: the links were made
    submitted = hub.course / "submitted"
    found, secrets_ = {}, link_secrets(hub)
    for path in submitted.rglob("*"):
        info = path.lstat()
        assert not path.is_symlink() and (path.is_dir() or (path.is_file() and info.st_nlink == 1)), path
        if path.is_file():
            data = path.read_bytes()
            found.update({f"{what} in {path.relative_to(submitted)}": True for what, mark in secrets_.items()
                          if mark in data})
    assert not found, f"collect copied what links point to: {sorted(found)}"
    # The canary: each mark is really in what the links point to, so not finding it means something.
    targets = {"the gradebook": hub.course / "gradebook.db", "the shadow file": Path("/etc/shadow"),
               "the instructor's ~/.jupyter": hub.home(hub.instructor) / ".jupyter" / "nbgrader_config.py",
               "a hidden test": hub.course / "solutions" / EXERCISE / f"{EXERCISE}.ipynb"}
    assert all(secrets_[what] in path.read_bytes() for what, path in targets.items()), "a mark is not in its target"
    kinds = {(Path(p["source"]).name, p["kind"]) for p in lesson["collect problems"]}
    for name in ("environ.txt", "solutions", "gradebook.db", "dot-jupyter", "runtime", f"{EXERCISE}.ipynb",
                 "shadow.ipynb"):
        assert (name, "symbolic link") in kinds, f"the link {name} is not listed: {sorted(kinds)}"
    assert ("fifo.ipynb", "FIFO") in kinds and ("closed", "unreadable") in kinds, sorted(kinds)
    assert any(k == "not a folder" for _, k in kinds), "the linked submission folder is not listed"
    closed = [p for p in lesson["collect problems"] if "2095-01-01" in p["source"]]
    assert closed and closed[0]["kind"] == "unreadable", closed
    if "hard link made" in attacks["a FIFO, a closed folder and links"]:
        assert {("hardlink.ipynb", "hard link"), ("hardlink.ipynb", "not the student's")} & kinds, sorted(kinds)
    assert all(attacker in p["source"] or attacker in p["detail"] for p in lesson["collect problems"]), \
        "a problem is not the attacker's"
    assert "Not collected" in lesson["collect log"], lesson["collect log"][-1500:]
    # The attacker's real submission is still collected (and graded: see the hostile submission's test).
    assert (submitted / attacker / EXERCISE / f"{EXERCISE}.ipynb").is_file()


def test_identity_comes_from_the_owner_not_the_folder_name(hub, lesson):
    """submit --student=<classmate> dated 2099, a made-up student whose notebook links to the source, an HTML id,
    and renaming a classmate's folder: none takes anyone's place; the honest grades stand."""
    solver, blank, attacker, newcomer = hub.students
    attacks = lesson["exchange attacks"]
    for attack in ("submit as a classmate, dated 2099", "a made-up student", "an HTML student id"):
        assert attacks[attack].startswith("done"), (attack, attacks[attack])  # the control: the folder was made
    assert attacks["rename a classmate's submission"].startswith("refused: PermissionError"), attacks
    identity = [p for p in lesson["collect problems"] if p["kind"] == "identity"]
    claimed = sorted(re.search(r"claims to be '(.*)''s submission", p["detail"]).group(1) for p in identity)
    assert claimed == sorted([solver, f"ghost{hub.tag[-3:]}", "<img src=x onerror=alert(1)>"]), identity
    assert all(f"made by {attacker}" in p["detail"] for p in identity), identity
    assert sorted(p.name for p in (hub.course / "submitted").iterdir()) == sorted([solver, blank, attacker])
    # Each honest submission is the one its student handed in, timed by the server's clock (not 2099).
    inbound = lesson["inbound before"]
    for student in (solver, blank):
        folder = lesson["submitted"][student]
        collected = hub.course / "submitted" / student / EXERCISE
        assert sha256(collected / f"{EXERCISE}.ipynb") == inbound[folder][1], f"{student}'s work was replaced"
        year = int((collected / "timestamp.txt").read_text()[:4])
        assert year == time.gmtime().tm_year, f"{student}'s timestamp is not the server's: {year}"
    book = {row["student"]: row["score"] for row in lesson["gradebook"]}
    assert book == {solver: AUTO_POINTS, blank: 0.0, attacker: 0.0}, book


# ---- in the browser ------------------------------------------------------------------------------------------

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
            page = hu.browser_login(context, hub, hub.instructor)
            page.goto(f"{hu.user_origin(hub.url, hub.instructor)}/user/{hub.instructor}/formgrader/manage_submissions/{EXERCISE}")  # noqa: E501
            for student in (solver, blank, attacker):
                page.get_by_text(student).first.wait_for()
            table = page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "formgrader-submissions.png"), full_page=True)
            scores = {s: re.search(rf"{re.escape(s)}\b.*?([\d.]+) / ([\d.]+)", table).groups() for s in (solver, blank, attacker)}  # noqa: E501
            assert {s: (float(a), float(b)) for s, (a, b) in scores.items()} == {
                solver: (AUTO_POINTS, MAX_POINTS), blank: (0.0, MAX_POINTS), attacker: (0.0, MAX_POINTS)}, table
            context.close()

            # A student who has not fetched it yet: login page, JupyterLab, Nbgrader > Assignment List shows the
            # exercise among the released ones, with its Fetch button.
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(60_000)
            page = hu.browser_login(context, hub, newcomer)
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


def test_pages_carry_a_content_security_policy(hub, lesson):
    """Every server's pages refuse plugins and foreign framing; raw files run no script at all (Jupyter's own default
    sandbox allows scripts). Read from the headers of the attacker's own server and the instructor's."""
    import urllib.request

    solver, blank, attacker, newcomer = hub.students
    policies = {}
    for user, path in ((attacker, f"/user/{attacker}/files/{EXERCISE}/{EXERCISE}.ipynb"),
                       (attacker, f"/user/{attacker}/api/status"),
                       (hub.instructor, f"/user/{hub.instructor}/formgrader/manage_assignments")):
        client = hub.sessions[user]
        request = urllib.request.Request(client.url(path), headers={"Authorization": f"token {client.token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            policies[path] = response.headers.get("Content-Security-Policy", "")
    print("\nContent-Security-Policy:", json.dumps(policies, indent=1))
    files = policies.pop(f"/user/{attacker}/files/{EXERCISE}/{EXERCISE}.ipynb")
    for path, policy in policies.items():
        assert "object-src 'none'" in policy and "frame-ancestors 'self'" in policy, (path, policy)
    assert re.search(r"(^|; )sandbox($|;)", files) and "allow-scripts" not in files and "default-src 'none'" in files


#: The attacker's page and its script, served from the attacker's own server: a script file of the page's own origin,
#: which the servers' Content-Security-Policy lets run (an inline one it would block, and the check would test nothing).
ONE_ORIGIN_HTML = '<!doctype html><title>notes</title><body><script src="page.js"></script></body>'
ONE_ORIGIN_PAGE = """window.__report = {cookie: document.cookie};
const target = TARGET;
fetch(target + "formgrader/api/submissions/" + EXERCISE, {credentials: "include"})
  .then(r => r.text()).then(t => window.__report.grades = t.slice(0, 300))
  .catch(e => window.__report.grades = "blocked: " + e.name);
fetch(target + "api/contents/course/solutions", {credentials: "include"})
  .then(r => r.text()).then(t => window.__report.solutions = t.slice(0, 300))
  .catch(e => window.__report.solutions = "blocked: " + e.name);
const frame = document.createElement("iframe");
frame.src = target + "formgrader/";
frame.onload = () => { try { window.__report.frame = frame.contentDocument.body.innerHTML.slice(0, 300); }
                       catch (e) { window.__report.frame = "blocked: " + e.name; } };
document.body.appendChild(frame);
"""


def test_formgrader_runs_no_student_script(hub, lesson):
    """The instructor, logged in, opens the attacker's submission in Formgrader and clicks every link on it; then a
    Formgrader URL whose student id is a script; then a page the attacker's own server serves, made to act with the
    instructor's cookies (one origin for all). Nothing runs, nothing is fetched, nothing is read."""
    executable = bu.require_chromium()
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    solver, blank, attacker, newcomer = hub.students
    ins_origin = hu.user_origin(hub.url, hub.instructor)
    formgrader = f"{ins_origin}/user/{hub.instructor}/formgrader"
    notebook_id = next(n["id"] for n in lesson["notebooks"] if n["student"] == attacker)
    # The attacker's page, where their server serves files without a login (JupyterLab's extension folder).
    extension = f"evil-{hub.tag}"
    kernel = hub.sessions[attacker].kernel()
    try:
        page_text = ONE_ORIGIN_PAGE.replace("TARGET", json.dumps(f"{ins_origin}/user/{hub.instructor}/")).replace(
            "EXERCISE", json.dumps(EXERCISE))
        kernel.run_json(
            "import json, os\n"
            f"folder = os.path.expanduser('~/.local/share/jupyter/labextensions/{extension}/static')\n"
            "os.makedirs(folder, exist_ok=True)\n"
            f"open(os.path.join(folder, 'page.html'), 'w').write({ONE_ORIGIN_HTML!r})\n"
            f"open(os.path.join(folder, 'page.js'), 'w').write({page_text!r})\n"
            "print(json.dumps(True))")
    finally:
        kernel.close()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=bu.CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(60_000)
            hu.browser_login(context, hub, hub.instructor).close()
            # 1. The attacker's submission in Formgrader: markdown, outputs and their metadata, attachments.
            url = f"{formgrader}/submissions/{notebook_id}/"
            pushed, fetched, dialogs = hu.what_runs(browser, url, BEACON, context=context,
                                                    screenshot=SCREENSHOTS / "formgrader-hostile-submission.png")
            page = context.new_page()
            page.goto(url)
            shown = page.inner_text("body")
            page.close()
            assert "removed for safety" in shown and "HOSTILE-REPORT" in shown, "the control: not the attack's page"
            assert not pushed and not fetched and not dialogs, (pushed, fetched, dialogs)
            # 2. A reflected id: a link to a Formgrader page whose student id closes Formgrader's inline script.
            reflected = f"{formgrader}/manage_students/" + quote('";window.__pwned.push("reflected");"', safe="")
            page = context.new_page()
            control = page.goto(f"{formgrader}/manage_students/{solver}")
            assert control.status == 200, "the control: a plain id opens"
            status = page.evaluate("url => fetch(url).then(r => r.status)", reflected)
            assert status == 400, f"Formgrader answered {status} for a script id"
            try:
                page.goto(reflected)
            except Exception:  # noqa: BLE001 (Chromium shows its own error page for an empty 400)
                pass
            for attempt in range(5):  # Chromium may still be moving to its error page
                try:
                    page.wait_for_timeout(500)
                    assert page.evaluate("window.__pwned || []") == [], "a reflected id ran"
                    break
                except AssertionError:
                    raise
                except Exception:  # noqa: BLE001 (the page navigated while it was asked)
                    if attempt == 4:
                        raise
            page.close()
            # 3. One origin per user: the attacker's page, opened by the instructor.
            page = context.new_page()
            attack_url = (f"{hu.user_origin(hub.url, attacker)}/user/{attacker}/lab/extensions/{extension}/static/"
                          "page.html")
            response = page.goto(attack_url)
            page.wait_for_timeout(4000)
            report = page.evaluate("window.__report || null")
            page.close()
            context.close()
        finally:
            browser.close()
    print("\nthe attacker's page, opened by the instructor:", response.status if response else None, report)
    # the page was served and its script ran, on the attacker's origin, with none of the instructor's rights
    status = response.status if response else None
    assert report is not None and "cookie" in report, f"the attacker's page did not run (HTTP {status})"
    assert "_xsrf" not in report["cookie"] and "jupyterhub" not in report["cookie"], report
    for what in ("grades", "solutions"):
        leaked = report.get(what, "")
        assert leaked.startswith("blocked") or (solver not in leaked and "BEGIN SOLUTION" not in leaked
                                                and EXERCISE not in leaked), (what, leaked)
    assert not report.get("frame") or report["frame"].startswith("blocked"), report
    book = {row["student"]: row["score"]
            for row in hub.sessions[hub.instructor].ok("GET", hub.sessions[hub.instructor].server(
                f"/formgrader/api/submissions/{EXERCISE}"))}
    assert book == {solver: AUTO_POINTS, blank: 0.0, attacker: 0.0}, f"the grades changed: {book}"


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
