"""A real class on a real JupyterHub, for tests/jupyter/test_hub.py and benchmarks/hub_load.py.

:class:`HubClass` sets a machine up the way deploy/jupyterhub/ describes, in folders and accounts of its own that it
removes again: Unix groups for the students and the instructors, real Unix users with 0700 homes and passwords,
the course's environment and deploy/jupyterhub/ in a world-readable folder, nbgrader's exchange, and the course
in the instructor's home. It then starts JupyterHub (the course environment's, with the shipped
jupyterhub_config.py and configurable-http-proxy from npm) on 127.0.0.1.

Everything goes through the hub as a class would: users log in with their password on the hub's login page and
ask for a token (as /hub/token does), start their server through the hub's REST API, and use their server's REST
API and kernels (the calls JupyterLab and its Assignments tab make) with that token.

Clean-up (:meth:`HubClass.close`) works from what this object created: the hub's PID, the PIDs of processes owned
by the users it created, the users and groups it created (by name), its folder.
"""

import ast
import contextlib
import fcntl
import http.cookiejar
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "jupyterhub"
VENV = Path(sys.prefix)
PROXY = shutil.which("configurable-http-proxy") or "/usr/bin/configurable-http-proxy"
COURSE_ID = "nn-in-python"
#: What the instructor's copy of the course holds: its grading side (nnlib comes with the environment).
COURSE_PARTS = ("nbgrader_config.py", "grading", "solutions", "exercises")
START_TIMEOUT = 120
CELL_TIMEOUT = 120


class HubError(AssertionError):
    pass


# Every user's server is on an origin of its own, <user>.localhost:PORT (the shipped subdomain_host). Chromium
# resolves any *.localhost name to the loopback address by itself; Python's resolver (glibc) knows only "localhost",
# so this process resolves the others the same way.
_getaddrinfo = socket.getaddrinfo


def _getaddrinfo_localhost(host, *args, **kwargs):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo_localhost


def user_origin(hub_url, user):
    """The origin of ``user``'s server on the hub at ``hub_url`` (http://localhost:PORT)."""
    parsed = urllib.parse.urlsplit(hub_url)
    return f"{parsed.scheme}://{user}.{parsed.netloc}"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_requirements():
    """What this machine lacks to run a hub class, as sentences (empty when nothing is missing)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("the hub test must run as root: it creates Unix users and starts JupyterHub for them")
    if not (shutil.which("configurable-http-proxy") or Path(PROXY).is_file()):
        missing.append("configurable-http-proxy is missing: `npm install -g configurable-http-proxy@5.3.0` "
                       "(`make hub-deps` and .ci/run do it)")
    for tool in ("useradd", "userdel", "groupadd", "groupdel", "chpasswd"):
        if not shutil.which(tool):
            missing.append(f"{tool} is missing (Debian package passwd)")
    if not shutil.which("bwrap"):
        missing.append("bubblewrap is missing: the class's autograde runs in the grading sandbox "
                       "(`apt-get install bubblewrap`; `make hub-deps` and .ci/run do it)")
    try:
        import jupyterhub  # noqa: F401
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError as error:
        missing.append(f"{error.name} is not installed in {VENV}: run `make install`")
    return missing


# ---- the machine: users, groups, folders ---------------------------------------------------------------------

def _run(*command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise HubError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def pids_of(uids):
    """PIDs of the processes owned by any of ``uids`` (read from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def pids_named(name):
    """PIDs of the processes whose name (``/proc/PID/comm``, at most 15 characters) is ``name``, in any PID
    namespace."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name[:15] and not _is_zombie(int(entry.name)):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def users_processes_end(uids, timeout=30):
    """Wait until no live process of ``uids`` is left (a zombie runs nothing: it waits for its parent, or for this
    machine's init, to collect it); raises :class:`HubError` naming the PIDs after ``timeout`` seconds."""
    def live():
        return [pid for pid in pids_of(uids) if not _is_zombie(pid)]
    try:
        return wait_for(lambda: not live(), timeout, "the class's users' processes to end")
    except HubError:
        raise HubError(f"processes of the class's users still run after {timeout} s: {live()}") from None


def wait_for(condition, timeout, what):
    """Wait until ``condition()`` is true; returns the seconds it took, or raises :class:`HubError` naming ``what``
    after ``timeout`` seconds."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise HubError(f"waited {timeout} s for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def kill_pids(pids, grace=10.0):
    """SIGTERM each PID, then SIGKILL whatever still runs after ``grace`` seconds; returns the PIDs killed hard."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return alive


def _is_zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def copy_environment(dest):
    """A copy of the course's environment at ``dest`` that every user can run, whatever the checkout's folders allow.

    Files are hard links (a second or two for the whole environment); only what names the original's path is
    replaced by new files: the scripts' #! lines and the editable install of nnlib, which becomes a plain copy of
    the package. The course's grading package is copied in too (the guide's set-up does the same). Nothing of the
    original is written to.
    """
    shutil.copytree(VENV, dest, symlinks=True, copy_function=os.link)
    site = next((dest / "lib").glob("python3.*")) / "site-packages"
    for finder in site.glob("__editable___*_finder.py"):  # setuptools' editable install: {package: folder}
        mapping = re.search(r"^MAPPING\b[^=]*=\s*(\{.*?\})\s*$", finder.read_text(), re.M)
        for package, folder in (ast.literal_eval(mapping.group(1)) if mapping else {}).items():
            shutil.rmtree(site / package, ignore_errors=True)
            shutil.copytree(folder, site / package, ignore=shutil.ignore_patterns("__pycache__"))
        finder.unlink()
    for editable in site.glob("__editable__*.pth"):
        editable.unlink()
    # The course's grading package, as the guide's set-up installs it: every server loads the exchange's classes
    # (grading/plugins/exchange.py) from the environment (deploy/jupyterhub/jupyter/nbgrader_config.py).
    shutil.copytree(ROOT / "grading", site / "grading", ignore=shutil.ignore_patterns("__pycache__"))
    # `make install` (in the checkout, by another run) rewrites the kernelspecs in place: a hard link would change
    # under the class, and the autograde's integrity check would rightly stop (seen in benchmarks/hub_load.py).
    for spec in (dest / "share" / "jupyter" / "kernels").glob("*/kernel.json"):
        data = spec.read_bytes()
        spec.unlink()
        spec.write_bytes(data)
    old = f"#!{VENV}/bin/".encode()
    for script in (dest / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if data.startswith(old):
            script.unlink()  # a hard link: never write through it
            script.write_bytes(f"#!{dest}/bin/".encode() + data[len(old):])
            script.chmod(0o755)
    return dest


class LocalhostCookies(http.cookiejar.DefaultCookiePolicy):
    """The hub's cookies for ``localhost`` and its subdomains, which Python's cookie jar refuses (no dot in the
    domain) and a browser keeps."""

    @staticmethod
    def _local(domain):
        domain = domain.lstrip(".").removesuffix(".local")
        return domain == "localhost" or domain.endswith(".localhost")

    def set_ok_domain(self, cookie, request):
        return self._local(cookie.domain) or super().set_ok_domain(cookie, request)

    def return_ok_domain(self, cookie, request):
        return self._local(cookie.domain) or super().return_ok_domain(cookie, request)

    def domain_return_ok(self, domain, request):
        return self._local(domain) or super().domain_return_ok(domain, request)


class HubClass:
    """One class on one hub: an instructor and ``students`` students, all real Unix users."""

    def __init__(self, students=3, cull_timeout=3600, extra_config=""):
        self.tag = "nnt" + secrets.token_hex(3)
        self.base_dir = Path(f"/srv/{self.tag}")
        # The machine's shared folders: the course's environment, deploy/jupyterhub/, nbgrader's exchange, the hub's
        # private state.
        self.env_dir, self.deploy_dir = self.base_dir / "env", self.base_dir / "deploy"
        self.exchange, self.state_dir = self.base_dir / "exchange", self.base_dir / "state"
        self.students_group, self.instructors_group = f"{self.tag}-stu", f"{self.tag}-ins"
        self.instructor = f"{self.tag}-ins"
        self.students = [f"{self.tag}-s{i}" for i in range(1, students + 1)]
        self.passwords = {}
        self.created_users, self.created_groups = [], []
        self.uids = set()
        self.hub = None
        self.cull_timeout, self.extra_config = cull_timeout, extra_config
        self.port, self.api_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.url = f"http://localhost:{self.port}"  # the hub; each user's server at http://<user>.localhost:PORT
        self.sessions = {}
        self.timings = {}

    # ---- setting the machine up ------------------------------------------------------------------------------
    def home(self, user):
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course(self):
        return self.home(self.instructor) / "course"

    def setup(self):
        started = time.monotonic()
        self.base_dir.mkdir(mode=0o755, parents=True)
        self.base_dir.chmod(0o755)
        for group in (self.students_group, self.instructors_group):
            _run("groupadd", group)
            self.created_groups.append(group)
        # The instructor's primary group is the instructors' group: nbgrader's inbound folder takes the group of
        # the instructor who releases, and the submissions take it from there.
        self._add_user(self.instructor, ["-g", self.instructors_group])
        for student in self.students:
            self._add_user(student, ["-U", "-G", self.students_group])
        copy_environment(self.env_dir)
        shutil.copytree(DEPLOY, self.deploy_dir, ignore=shutil.ignore_patterns("__pycache__"))
        self._make_course()
        self.timings["machine set-up (s)"] = time.monotonic() - started

    def _add_user(self, name, options):
        _run("useradd", "-m", "-K", "HOME_MODE=0700", "-s", "/bin/bash", *options, name)
        self.created_users.append(name)
        self.uids.add(pwd.getpwnam(name).pw_uid)
        self.passwords[name] = secrets.token_urlsafe(12)
        _run("chpasswd", input=f"{name}:{self.passwords[name]}\n")

    def _make_course(self):
        """The instructor's copy of the course in their home, and their Jupyter configuration pointing at it."""
        course = self.course
        course.mkdir()
        origin = Path(os.environ.get("HUB_TEST_COURSE", ROOT))  # another checkout of the course, for debugging
        for part in COURSE_PARTS:
            source = origin / part
            if source.is_dir():
                shutil.copytree(source, course / part,
                                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
            elif source.is_file():
                shutil.copy2(source, course / part)
        config = self.home(self.instructor) / ".jupyter"
        config.mkdir()
        (config / "nbgrader_config.py").write_text(
            "# The course this instructor grades: its nbgrader_config.py, loaded whatever folder the server is in.\n"
            f"load_subconfig({str(course / 'nbgrader_config.py')!r})\n")
        _run("chown", "-R", f"{self.instructor}:{self.instructors_group}", str(course), str(config))

    # ---- the hub -----------------------------------------------------------------------------------------------
    def hub_env(self):
        env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "COURSE_HUB"))}
        env.update({
            "COURSE_HUB_IP": "127.0.0.1", "COURSE_HUB_PORT": str(self.port), "COURSE_HUB_SUBDOMAIN_HOST": self.url,
            "COURSE_HUB_API_PORT": str(self.api_port), "COURSE_HUB_PROXY_API_PORT": str(self.proxy_api_port),
            "COURSE_HUB_STATE_DIR": str(self.state_dir), "COURSE_HUB_ENV": str(self.env_dir),
            "NBGRADER_EXCHANGE_ROOT": str(self.exchange),
            "COURSE_HUB_STUDENTS": self.students_group, "COURSE_HUB_INSTRUCTORS": self.instructors_group,
            "COURSE_HUB_CULL_TIMEOUT": str(self.cull_timeout), "COURSE_HUB_PROXY": PROXY,
            "PATH": f"{self.env_dir / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            # The hub and its services run as root from the environment: without this, a module they import late
            # writes its __pycache__ into the environment while the class is graded, and the course's autograde
            # (grading/integrity.py) rightly stops, seeing the environment change under it.
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        return env

    def start_hub(self):
        started = time.monotonic()
        self.state_dir.mkdir(mode=0o700)
        env = self.hub_env()
        if self.extra_config:
            (self.state_dir / "extra_config.py").write_text(self.extra_config)
            env["COURSE_HUB_EXTRA_CONFIG"] = str(self.state_dir / "extra_config.py")
        self.hub_log = self.base_dir / "hub.log"
        with open(self.hub_log, "w") as log:
            self.hub = subprocess.Popen(
                [str(self.env_dir / "bin" / "python"), "-m", "jupyterhub", "-f",
                 str(self.deploy_dir / "jupyterhub_config.py")],
                cwd=self.state_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.hub.poll() is not None:
                raise HubError(f"jupyterhub exited with {self.hub.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=5) as response:
                    if response.status == 200:
                        self.timings["hub start (s)"] = time.monotonic() - started
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise HubError(f"jupyterhub did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self, lines=60):
        try:
            return "\n".join(self.hub_log.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return "(no hub log)"

    def hub_children(self):
        """PIDs of the hub's descendants (proxy, culler, users' servers, their kernels)."""
        return descendants(self.hub.pid)[1:] if self.hub else []

    def close(self):
        """Stop everything and remove everything this class created; returns a list of what had to be forced."""
        forced = []
        if self.hub is not None and self.hub.poll() is None:
            descendants = self.hub_children()
            self.hub.send_signal(signal.SIGTERM)
            try:
                self.hub.wait(timeout=90)  # it stops every user's server first: slow on a loaded machine
            except subprocess.TimeoutExpired:
                self.hub.kill()
                self.hub.wait(timeout=10)
                forced.append(f"jupyterhub (PID {self.hub.pid}) ignored SIGTERM")
            leftover = [pid for pid in descendants if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
            if leftover:
                forced.append(f"processes of the hub left after it stopped: {leftover}")
                kill_pids(leftover)
        leftover = pids_of(self.uids)
        if leftover:
            forced.append(f"processes of the class's users left: {leftover}")
            kill_pids(leftover)
        for user in self.created_users:
            subprocess.run(["userdel", "-r", "-f", user], capture_output=True)
        for group in self.created_groups:
            subprocess.run(["groupdel", group], capture_output=True)
        # rm is many times faster than shutil.rmtree on the environment's tens of thousands of hard links.
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.base_dir)], capture_output=True)
        return forced

    # ---- users: login, token, server ------------------------------------------------------------------------
    def login(self, user):
        """Log in on the hub's login page with the user's password and ask for a token, as /hub/token does."""
        jar = http.cookiejar.CookieJar(policy=LocalhostCookies())
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.url}/hub/login", timeout=30).read()
        xsrf = next(c.value for c in jar if c.name == "_xsrf")
        form = urllib.parse.urlencode({"username": user, "password": self.passwords[user], "_xsrf": xsrf}).encode()
        with opener.open(urllib.request.Request(f"{self.url}/hub/login?next=/hub/home", data=form), timeout=60) as r:
            assert r.status == 200 and "/hub/home" in r.url, f"{user}'s login ended at {r.url}"
        xsrf = next(c.value for c in jar if c.name == "_xsrf")  # a new one, for the logged-in user
        request = urllib.request.Request(
            f"{self.url}/hub/api/users/{user}/tokens", method="POST",
            data=json.dumps({"note": "hub test", "expires_in": 3600}).encode(),
            headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"})
        with opener.open(request, timeout=30) as response:
            token = json.loads(response.read())["token"]
        self.sessions[user] = Client(self.url, user, token)
        return self.sessions[user]

    def start_server(self, user):
        """Start ``user``'s server through the hub's API with their own token; returns seconds until it is ready."""
        client = self.sessions[user]
        started = time.monotonic()
        status, body = client.request("POST", f"/hub/api/users/{user}/server")
        if status not in (201, 202):
            raise HubError(f"starting {user}'s server answered {status}: {body}\n{self.log_tail()}")
        deadline = time.monotonic() + START_TIMEOUT + 30
        while time.monotonic() < deadline:
            status, model = client.request("GET", f"/hub/api/users/{user}")
            server = (model or {}).get("servers", {}).get("", {}) if status == 200 else {}
            if server.get("ready"):
                # The proxy route exists once the hub says ready; the server itself answers a moment later.
                while client.request("GET", f"/user/{user}/api/status")[0] != 200:
                    if time.monotonic() > deadline:
                        raise HubError(f"{user}'s server is ready but does not answer")
                    time.sleep(0.2)
                return time.monotonic() - started
            time.sleep(0.3)
        raise HubError(f"{user}'s server was not ready within {START_TIMEOUT + 30} s\n{self.log_tail()}")

    def server_pid(self, user):
        uid = pwd.getpwnam(user).pw_uid
        for pid in pids_of({uid}):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"jupyterhub.singleuser" in cmdline:
                return pid
        return None


def memory_mib(pids):
    """(PSS, RSS) of the processes together, in MiB. PSS shares each page among the processes that map it, so the
    PSS of several users' servers adds up to what they really take; RSS counts shared libraries in every process."""
    pss = rss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        pss += int(re.search(r"^Pss:\s+(\d+) kB", text, re.M).group(1))
        rss += int(re.search(r"^Rss:\s+(\d+) kB", text, re.M).group(1))
    return pss / 1024, rss / 1024


def descendants(pid):
    """``pid`` and every process under it."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().split(")")[-1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = [pid], {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier}
        found.extend(frontier)
    return found


def answered(notebook, exercise):
    """A student version (as JSON from the contents API) with every answer cell taken from the source notebook in
    solutions/, as a good student writes it."""
    import nbformat

    source = nbformat.read(ROOT / "solutions" / exercise / f"{exercise}.ipynb", as_version=4)
    answers = {c.metadata.nbgrader.grade_id: c.source for c in source.cells
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return notebook


# ---- one user's side: REST calls and kernels with their own token ------------------------------------------------

class Client:
    """HTTP with one user's token: the hub's API and, through the proxy, any server's API."""

    def __init__(self, base, user, token):
        self.base, self.user, self.token = base, user, token
        self.opener = urllib.request.build_opener(NoRedirect)

    def url(self, path):
        """The full URL of ``path``: a user's server (``/user/NAME/...``) on that user's own origin, else the hub."""
        match = re.match(r"/user/([^/]+)/", path)
        return (user_origin(self.base, match.group(1)) if match else self.base) + path

    def request(self, method, path, body=None, timeout=120, token=None):
        """(status, JSON or text) of one request; HTTP errors come back as their status."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url(path), data=data, method=method)
        request.add_header("Authorization", f"token {token or self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
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

    def ok(self, method, path, body=None, expect=(200, 201), timeout=120):
        status, payload = self.request(method, path, body, timeout=timeout)
        if status not in expect:
            raise HubError(f"{self.user}: {method} {path} answered {status}: {str(payload)[:500]}")
        return payload

    # The server's own API ------------------------------------------------------------------------------------
    def server(self, path):
        return f"/user/{self.user}{path}"

    def assignments(self, action=None, assignment=None):
        """The Assignments tab's calls: the list (``action`` None), or fetch / submit / fetch_feedback."""
        if action is None:
            return self.ok("GET", self.server(f"/assignments?course_id={COURSE_ID}"))
        return self.ok("POST", self.server(f"/assignments/{action}"),
                       {"course_id": COURSE_ID, "assignment_id": assignment})

    def read_notebook(self, path):
        return self.ok("GET", self.server(f"/api/contents/{path}?content=1&type=notebook"))["content"]

    def write_notebook(self, path, notebook):
        self.ok("PUT", self.server(f"/api/contents/{path}"), {"type": "notebook", "format": "json",
                                                              "content": notebook})

    def kernel(self):
        return Kernel(self)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect (to a login page, say) is an answer to look at, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


class Kernel:
    """A kernel in the user's own server, driven over its websocket as JupyterLab's notebook does."""

    def __init__(self, client):
        import websocket

        self.client = client
        self.id = client.ok("POST", client.server("/api/kernels"), {"name": "python3"})["id"]
        self.session = uuid.uuid4().hex
        url = client.url(client.server(f"/api/kernels/{self.id}/channels")).replace("http://", "ws://")
        self.ws = websocket.create_connection(
            f"{url}?session_id={self.session}",
            header=[f"Authorization: token {client.token}"], timeout=300)

    def run(self, code, timeout=CELL_TIMEOUT):
        """Run ``code``; returns (status, stdout+display text, errors)."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.client.user,
                       "session": self.session, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        status, texts, errors, idle = None, [], [], False
        deadline = time.monotonic() + timeout
        while status is None or not idle:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HubError(f"no reply within {timeout} s to:\n{code[:300]}")
            self.ws.settimeout(remaining)
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "execute_reply":
                status = content["status"]
            elif kind == "stream":
                texts.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                texts.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return status, "".join(texts), errors

    def run_json(self, code, timeout=CELL_TIMEOUT):
        """Run ``code``, which prints one JSON document last; returns it parsed."""
        status, text, errors = self.run(code, timeout=timeout)
        if status != "ok":
            raise HubError(f"{self.client.user}'s kernel: {errors}\n{text[-2000:]}")
        return json.loads(text.strip().splitlines()[-1])

    def shell(self, command, cwd, timeout=CELL_TIMEOUT):
        """Run a command from this kernel, as the user's terminal would; returns (exit code, output)."""
        result = self.run_json(
            "import json, subprocess\n"
            f"r = subprocess.run({command!r}, cwd={str(cwd)!r}, capture_output=True, text=True, timeout={timeout})\n"
            "print(json.dumps([r.returncode, r.stdout + r.stderr]))", timeout=timeout + 30)
        return result[0], result[1]

    def close(self):
        try:
            self.ws.close()
        finally:
            self.client.request("DELETE", self.client.server(f"/api/kernels/{self.id}"))


# ---- hostile content for the pages a grader opens ----------------------------------------------------------------

#: A 1x1 PNG.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def hostile_cells(beacon):
    """Cells of a notebook that try to run script (``window.__pwned.push(name)``) or fetch ``beacon/name`` when a
    grader opens or clicks the page it becomes: one per vector of the hub issue and more. Returns nbformat cells."""
    import nbformat.v4 as v4

    def run(name):
        return f"window.__pwned.push('{name}')"

    md = [
        f"[click me](javascript:{run('markdown-javascript-link')})",
        "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        f'<img src="x" onerror="{run("markdown-img-onerror")}">',
        f"![remote]({beacon}/markdown-remote-image)",
        f'<a href="javascript:{run("markdown-html-link")}">html link</a>',
        f"$\\href{{javascript:{run('mathjax-href')}}}{{math link}}$",
        f'<iframe src="{beacon}/markdown-iframe"></iframe>',
        f'<svg><script>{run("markdown-svg")}</script></svg>',
        f'<details open ontoggle="{run("markdown-ontoggle")}">x</details>',
        "![svg attachment](attachment:evil.svg)",
    ]
    cells = [v4.new_markdown_cell(text) for text in md]
    evil_svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{run("attachment-svg")}"></svg>'
    cells[-1]["attachments"] = {"evil.svg": {"image/svg+xml": base64_text(evil_svg)}}
    code = v4.new_code_cell("print('hello')", execution_count=1)
    code.outputs = [
        v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"},
                      metadata={"image/png": {"width": f"1 onload={run('image-width-metadata')}",
                                              "height": f"1 onerror={run('image-height-metadata')}"}}),
        v4.new_output("display_data", data={"text/html": f'<img src="x" onerror="{run("html-output-img")}">'
                                                         f'<a href="javascript:{run("html-output-link")}">a</a>'
                                                         f'<style>@import url({beacon}/html-output-css);</style>'}),
        v4.new_output("display_data", data={"application/javascript": run("javascript-output")}),
        v4.new_output("display_data", data={"image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg">'
                                                             f'<script>{run("svg-output")}</script></svg>'}),
        v4.new_output("display_data", data={"text/markdown": f"[md output](javascript:{run('markdown-output-link')})"}),
        v4.new_output("display_data", data={"image/png": f'{PNG}" onerror="{run("image-data-quote")}'}),
        v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
    ]
    tagged = v4.new_code_cell("1")
    tagged.metadata["tags"] = [f'"><img src=x onerror="{run("cell-tag")}">']
    raw = v4.new_raw_cell(f"<script>{run('raw-html-cell')}</script>")
    raw.metadata["format"] = "text/html"
    raw.metadata["raw_mimetype"] = "text/html"
    return [*cells, code, tagged, raw]


def _back(page, url, tries=3):
    """Back to ``url`` after a click navigated away (a navigation still under way may interrupt the first try)."""
    for attempt in range(tries):
        try:
            page.wait_for_timeout(300)
            page.goto(url, wait_until="load")
            return
        except Exception:  # noqa: BLE001
            if attempt == tries - 1:
                raise


def base64_text(text):
    import base64
    return base64.b64encode(text.encode()).decode()


#: Names of the vectors a sanitised page must show none of, and that an unsanitised page (the canary) shows.
HOSTILE_NAMES = ("markdown-javascript-link", "markdown-img-onerror", "markdown-remote-image", "markdown-html-link",
                 "markdown-iframe", "markdown-ontoggle", "image-width-metadata", "html-output-img",
                 "html-output-link", "javascript-output", "markdown-output-link", "cell-tag",
                 "raw-html-cell", "attachment-svg", "svg-output", "image-data-quote", "html-output-css",
                 "markdown-svg", "mathjax-href", "image-height-metadata")


def what_runs(browser, url, beacon_prefix, screenshot=None, context=None):
    """Open ``url`` in a new context of ``browser`` (or in ``context``, a logged-in one), click every link on it, and
    return what ran or was fetched: ``(names pushed by scripts, beacon names fetched, dialogs)``."""
    own = context is None
    context = browser.new_context() if own else context
    context.add_init_script("window.__pwned = window.__pwned || [];")
    fetched, dialogs = [], []

    def route(route_):
        request_url = route_.request.url
        if request_url.startswith(beacon_prefix):
            fetched.append(request_url[len(beacon_prefix):].strip("/"))
            return route_.abort()
        return route_.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url, wait_until="load", timeout=60_000)
    page.wait_for_timeout(500)
    pushed = page.evaluate("window.__pwned.slice()")
    # Click every link of the notebook's cells (the page's own navigation, Formgrader's "next submission", is not
    # the student's), as a grader might.
    links = ".cell a[href], .jp-Cell a[href]" if page.locator(".cell, .jp-Cell").count() else "a[href]"
    for index in range(page.locator(links).count()):
        try:
            page.locator(links).nth(index).evaluate("a => { a.target = ''; a.click(); }")
            page.wait_for_timeout(100)
            if page.url.split("#")[0] != url.split("#")[0]:
                _back(page, url)
            else:
                pushed += page.evaluate("window.__pwned.slice()")
        except Exception:  # noqa: BLE001 (a link that navigated away mid-evaluation)
            _back(page, url)
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    context.unroute("**/*", route)
    page.close()
    if own:
        context.close()
    return sorted(set(pushed)), sorted(set(fetched)), dialogs


#: Held by a test module for as long as its hub runs: two hubs at once on one machine share its users, its ports
#: and its two cores, and each then takes longer to start and to stop than its checks allow.
HUB_LOCK = Path("/run/nn-course-hub-test.lock")


@contextlib.contextmanager
def one_hub_at_a_time():
    """Wait until no other test module's hub runs (pytest-xdist may give two hub modules to two workers), and keep
    the others waiting until this one's hub is gone."""
    with open(HUB_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def browser_login(context, hub, user):
    """Log ``user`` in to the hub in a Chromium context; returns the page, on the user's server."""
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.passwords[user])
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{re.escape(user)}/"), timeout=120_000)
    return page
