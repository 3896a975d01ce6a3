"""JupyterLab as a learner meets it: a real server on localhost, its REST API and a kernel driven through it.

One `jupyter lab` (the venv's) is started for the module on a free port, token-less, rooted at the repository and
run from it (nbgrader reads nbgrader_config.py from the working folder), with its runtime, config and data folders
in a temporary folder so that nothing is left behind. The tests list the course through the contents API, check
that nbgrader's extensions are on, and run an exercise, with its answers filled in from solutions/, cell by cell in
a kernel through the server's websocket, as JupyterLab's notebook does. The server is stopped by its PID.
"""

import http.cookiejar
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import browser_utils as bu
import nbformat
import pytest

websocket = pytest.importorskip("websocket", reason="websocket-client comes with jupyter_server")

ROOT = bu.ROOT
JUPYTER = Path(sys.executable).parent / "jupyter"
START_TIMEOUT = 120  # seconds for the server to answer /api/status (2 shared cores, nbgrader's imports)
CELL_TIMEOUT = 60  # seconds for one cell's reply
STOP_TIMEOUT = 30  # seconds for the server to exit after SIGTERM
NBGRADER_LAB = "@jupyter/nbgrader"  # the JupyterLab extension nbgrader 0.9 ships


def exercise_names():
    """Exercises with both a released student notebook and a source notebook with the answers."""
    released = {p.parent.name for p in (ROOT / "exercises").glob("*/*.ipynb") if p.stem == p.parent.name}
    sources = {p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name}
    return sorted(released & sources)


# The server ----------------------------------------------------------------------------------------------------


class Lab:
    """A running `jupyter lab` subprocess and a small client for its REST API."""

    def __init__(self, proc, port, log_path, runtime_dir):
        self.proc, self.port, self.log_path, self.runtime_dir = proc, port, log_path, runtime_dir
        self.base = f"http://127.0.0.1:{port}"
        # Cookies as a browser keeps them: the server's _xsrf cookie goes back as X-XSRFToken on POST/DELETE,
        # as JupyterLab does (a token-less server still checks it).
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def xsrf(self):
        if not any(c.name == "_xsrf" for c in self.cookies):
            self.api("GET", "/lab")
        return next((c.value for c in self.cookies if c.name == "_xsrf"), None)

    def log_tail(self, lines=40):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def api(self, method, path, body=None, timeout=30):
        """(status, parsed JSON or text) of one request; HTTP errors are returned, not raised."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if method != "GET" and self.xsrf():
            request.add_header("X-XSRFToken", self.xsrf())
        try:
            with self.opener.open(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        text = raw.decode("utf-8", errors="replace")
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text

    def get(self, path):
        status, payload = self.api("GET", path)
        assert status == 200, f"GET {path} answered {status}: {str(payload)[:300]}\nserver log:\n{self.log_tail()}"
        return payload


def start_lab(workdir):
    """Start `jupyter lab` on a free port; return a Lab once /api/status answers."""
    assert JUPYTER.exists(), f"jupyter not found next to {sys.executable}"
    env = dict(os.environ)
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR",
                 "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(workdir / name.lower())
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("JUPYTER_TOKEN", None)
    port = bu.free_port()
    command = [
        str(JUPYTER), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={ROOT}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = workdir / "lab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    lab = Lab(proc, port, log_path, Path(env["JUPYTER_RUNTIME_DIR"]))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode} while starting:\n{lab.log_tail()}")
        try:
            if lab.api("GET", "/api/status", timeout=5)[0] == 200:
                return lab
        except OSError:
            pass
        time.sleep(0.5)
    stop_lab(lab)
    pytest.fail(f"jupyter lab did not answer /api/status within {START_TIMEOUT} s:\n{lab.log_tail()}")


def stop_lab(lab):
    """Stop the server by its PID: SIGTERM, wait, SIGKILL if it lingers. Returns how it ended."""
    if lab.proc.poll() is not None:
        return "already exited"
    os.kill(lab.proc.pid, signal.SIGTERM)
    try:
        lab.proc.wait(timeout=STOP_TIMEOUT)
        return "terminated"
    except subprocess.TimeoutExpired:
        os.kill(lab.proc.pid, signal.SIGKILL)
        lab.proc.wait(timeout=10)
        return "killed"


@pytest.fixture(scope="module")
def lab():
    workdir = Path(tempfile.mkdtemp(prefix="lab-test-"))
    server = start_lab(workdir)
    try:
        yield server
    finally:
        ended = stop_lab(server)
        shutil.rmtree(workdir, ignore_errors=True)
        assert ended != "killed", f"jupyter lab (PID {server.proc.pid}) ignored SIGTERM for {STOP_TIMEOUT} s"
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", server.port)) != 0, f"port {server.port} still answers"


# Kernels through the server ------------------------------------------------------------------------------------


class KernelChannel:
    """A kernel's websocket (/api/kernels/<id>/channels), speaking the Jupyter messaging protocol in JSON."""

    def __init__(self, lab, kernel_id):
        self.session = uuid.uuid4().hex
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{lab.port}/api/kernels/{kernel_id}/channels?session_id={self.session}", timeout=30
        )

    def close(self):
        self.ws.close()

    def execute(self, code, timeout=CELL_TIMEOUT):
        """Run `code`; return (reply status, [error outputs as 'ename: evalue'], [stream and display text])."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": self.session,
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        status, errors, texts, idle = None, [], [], False
        deadline = time.monotonic() + timeout
        while status is None or not idle:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no reply within {timeout} s to:\n{code[:300]}"
            self.ws.settimeout(remaining)
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "execute_reply":
                status = content["status"]
                if status == "error":
                    errors.append(f"{content.get('ename')}: {content.get('evalue')}")
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "stream":
                texts.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                texts.append(content.get("data", {}).get("text/plain", ""))
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return status, list(dict.fromkeys(errors)), texts


def run_cells(channel, cells):
    """Run every code cell in order; return [(cell index, errors)] for the cells that failed."""
    failures = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        status, errors, _ = channel.execute(cell["source"])
        if status != "ok" or errors:
            failures.append((index, errors or [f"reply status {status}"]))
    return failures


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_answer(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def fill_in_answers(student_cells, source_cells):
    """The student's notebook with each answer cell's source taken from the instructor's version (by grade_id)."""
    answers = {grade_id(c): c["source"] for c in source_cells if is_answer(c)}
    filled, missing = [], []
    for cell in student_cells:
        cell = dict(cell)
        if is_answer(cell):
            if grade_id(cell) not in answers:
                missing.append(grade_id(cell))
            else:
                cell["source"] = answers[grade_id(cell)]
        filled.append(cell)
    assert not missing, f"answer cells with no counterpart in the source notebook: {missing}"
    assert answers, "the source notebook has no answer cells (nbgrader metadata 'solution': true)"
    return filled


# The tests -----------------------------------------------------------------------------------------------------


def test_an_exercise_is_available():
    assert exercise_names(), "no exercise has both exercises/<ex>/<ex>.ipynb and solutions/<ex>/<ex>.ipynb"


@pytest.mark.timeout(600)
def test_server_is_the_one_started_here(lab):
    """The server's own record (jpserver-<pid>.json in the runtime folder) names this PID and port, so stopping
    this PID stops this server."""
    records = [json.loads(p.read_text()) for p in lab.runtime_dir.glob("jpserver-*.json")]
    assert any(r.get("pid") == lab.proc.pid and r.get("port") == lab.port for r in records), (
        f"no server record for PID {lab.proc.pid} on port {lab.port} in {lab.runtime_dir}: {records}"
    )
    assert lab.get("/api/status")["kernels"] == 0


@pytest.mark.timeout(600)
def test_contents_api_lists_exercises_and_chapters(lab):
    exercises = lab.get("/api/contents/exercises")
    assert exercises["type"] == "directory"
    listed = {item["name"] for item in exercises["content"] if item["type"] == "directory"}
    on_disk = {p.name for p in (ROOT / "exercises").iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert on_disk, "exercises/ holds no exercise"
    assert listed == on_disk, f"the server lists {sorted(listed)}, the disk has {sorted(on_disk)}"
    for name in sorted(on_disk):
        folder = lab.get(f"/api/contents/exercises/{name}")
        notebooks = {i["name"] for i in folder["content"] if i["type"] == "notebook"}
        assert f"{name}.ipynb" in notebooks, f"exercises/{name}/ lists {notebooks}, not {name}.ipynb"

    chapters = lab.get("/api/contents/chapters")
    listed = {item["name"] for item in chapters["content"] if item["type"] == "notebook"}
    expected = {Path(f).name + ".ipynb" for f in bu.toc_files() if f.startswith("chapters/")}
    assert expected, "_toc.yml lists no chapter"
    assert expected <= listed, f"chapters in _toc.yml that the server does not list: {sorted(expected - listed)}"


@pytest.mark.timeout(600)
def test_nbgrader_extensions_are_enabled(lab):
    """The front-end extension @jupyter/nbgrader: in the page config that /lab hands the browser, with none of its
    plugins disabled, and enabled in JupyterLab's extension API; the server extensions: their pages answer."""
    page = lab.get("/lab")
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    assert match, "no jupyter-config-data in the /lab page"
    config = json.loads(match.group(1))
    federated = [e.get("name") for e in config.get("federated_extensions", [])]
    assert NBGRADER_LAB in federated, f"/lab does not load {NBGRADER_LAB}; it loads {federated}"
    disabled = [d for d in config.get("disabledExtensions", []) if d.startswith(NBGRADER_LAB)]
    assert not disabled, f"disabled nbgrader plugins: {disabled}"

    # The extension manager spells package names without '@' and '/': @jupyter/nbgrader is jupyter-nbgrader.
    listed = lab.get("/lab/api/extensions")
    entries = listed[0] if listed and isinstance(listed[0], list) else listed
    entry = next((e for e in entries if e.get("name") in (NBGRADER_LAB, "jupyter-nbgrader")), None)
    assert entry, f"the extension API lists no nbgrader: {[e.get('name') for e in entries]}"
    assert entry["enabled"] and entry["installed"] and entry.get("status", "ok") == "ok", entry

    # Server extensions: the formgrader (instructors) serves its page, the course list finds this course's
    # formgrader on this server, and the assignment list answers the version handshake the lab extension makes.
    status, page = lab.api("GET", "/formgrader")
    assert status == 200 and "formgrader" in page, f"/formgrader answered {status}\n{lab.log_tail()}"
    courses = lab.get("/formgraders")
    assert courses["success"] and any(c["url"].startswith(lab.base) for c in courses["value"]), courses
    version = importlib.metadata.version("nbgrader")
    handshake = lab.get(f"/nbgrader_version?version={version}")
    assert handshake == {"success": True}, f"nbgrader's version handshake for {version}: {handshake}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("exercise", exercise_names()[:1])
def test_exercise_runs_in_a_kernel_through_the_server(lab, exercise):
    """The released notebook, opened through the server, with its answers filled in: every code cell runs
    without error. As released (answers not filled in), it must fail: the stubs raise."""
    path = f"exercises/{exercise}/{exercise}.ipynb"
    student = lab.get(f"/api/contents/{path}?content=1&type=notebook")["content"]
    nbformat.validate(nbformat.from_dict(student))
    assert student["metadata"]["kernelspec"]["name"] == "python3"
    source = lab.get(f"/api/contents/solutions/{exercise}/{exercise}.ipynb?content=1&type=notebook")["content"]
    filled = fill_in_answers(student["cells"], source["cells"])

    status, session = lab.api("POST", "/api/sessions", {
        "path": path, "type": "notebook", "name": f"{exercise}.ipynb", "kernel": {"name": "python3"},
    })
    assert status == 201, f"POST /api/sessions answered {status}: {session}\n{lab.log_tail()}"
    kernel_id = session["kernel"]["id"]
    try:
        channel = KernelChannel(lab, kernel_id)
        try:
            failures = run_cells(channel, filled)
            assert not failures, f"{path} with its answers filled in fails:\n" + "\n".join(
                f"cell {i}: {'; '.join(e)}" for i, e in failures
            )
            # The kernel runs in the notebook's folder, as in JupyterLab.
            _, _, texts = channel.execute("import os; print(os.getcwd())")
            assert Path("".join(texts).strip()) == ROOT / "exercises" / exercise

            status, _ = lab.api("POST", f"/api/kernels/{kernel_id}/restart", {})
            assert status == 200, f"restarting the kernel answered {status}"
        finally:
            channel.close()
        channel = KernelChannel(lab, kernel_id)
        try:
            failures = run_cells(channel, student["cells"])
        finally:
            channel.close()
        assert failures, f"{path} as released (answers not filled in) runs without an error: its stubs must raise"
    finally:
        status, _ = lab.api("DELETE", f"/api/kernels/{kernel_id}")
        assert status == 204, f"DELETE /api/kernels/{kernel_id} answered {status}"
        lab.api("DELETE", f"/api/sessions/{session['id']}")
    assert lab.get("/api/kernels") == [], "a kernel is still running after DELETE"

