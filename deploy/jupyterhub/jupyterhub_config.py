"""JupyterHub for one class of Neural Networks in Python on one machine.

Start it as root from anywhere: ``jupyterhub -f deploy/jupyterhub/jupyterhub_config.py`` (the course's environment
must hold jupyterhub, see requirements.txt; configurable-http-proxy comes from npm). What it sets up:

- logins through PAM: the machine's own Unix accounts and passwords; only members of the students' and the
  instructors' Unix groups get in;
- every user's JupyterLab runs as that Unix user (JupyterHub's LocalProcessSpawner), from the course's
  environment, with nbgrader's extensions; students get the Assignments tab, and Formgrader is left to the
  instructors' group;
- every user's server on an origin of its own (``subdomain_host``: ``<user>.<host>``), so that a page a student's
  server serves can never act with the instructor's cookies;
- nbgrader's exchange in one shared folder, its name given to every server (and to the course's
  nbgrader_config.py) as NBGRADER_EXCHANGE_ROOT; owned by root and the instructors' group (students can't create
  courses in it); submissions in it readable by their student and the instructors' group only, collected with the
  student's identity from the Unix owner and the students' group as the roster (grading/plugins/exchange.py,
  which jupyter/nbgrader_config.py installs);
- idle servers stopped by jupyterhub-idle-culler.

Every setting a course may want to change comes from the environment (defaults in brackets):

COURSE_HUB_IP [127.0.0.1], COURSE_HUB_PORT [8000]   where the hub's proxy listens (put HTTPS in front of it)
COURSE_HUB_SUBDOMAIN_HOST [http://localhost:PORT]   the public address; each user's server is at <user>.<that host>
                                                    (needs wildcard DNS and a wildcard certificate on a real domain)
COURSE_HUB_STATE_DIR [/srv/jupyterhub]              the hub's database, cookie secret and logs (root only)
COURSE_HUB_ENV [the environment running the hub]    the course's environment, readable by every user
NBGRADER_EXCHANGE_ROOT [/srv/nbgrader/exchange]     nbgrader's exchange folder
COURSE_HUB_STUDENTS [nn-students]                   Unix group of the students
COURSE_HUB_INSTRUCTORS [nn-instructors]             Unix group of the instructors and graders
COURSE_HUB_ADMINS ['']                              comma-separated hub administrators (none by default)
COURSE_HUB_CULL_TIMEOUT [3600]                      seconds of inactivity before a server is stopped
COURSE_HUB_CULL_EVERY [300]                         seconds between two looks of the culler
COURSE_HUB_API_PORT, COURSE_HUB_PROXY_API_PORT      the hub's and the proxy's own APIs on 127.0.0.1 [PORT+1, PORT+2]
COURSE_HUB_PROXY [configurable-http-proxy on PATH]  the proxy's command
COURSE_HUB_AUTHENTICATOR [pam]                      JupyterHub's authenticator (its name or class)
COURSE_HUB_EXTRA_CONFIG ['']                        a Python file of more JupyterHub settings, loaded last

The guide "Running a class on JupyterHub" (guides/jupyterhub.md) explains each of them.
"""

import grp
import os
import pwd
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)


def setting(name, default):
    return os.environ.get(name) or default


ENV = Path(setting("COURSE_HUB_ENV", sys.prefix))
PYTHON = ENV / "bin" / "python"
STATE = Path(setting("COURSE_HUB_STATE_DIR", "/srv/jupyterhub"))
EXCHANGE = Path(setting("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange"))
STUDENTS = setting("COURSE_HUB_STUDENTS", "nn-students")
INSTRUCTORS = setting("COURSE_HUB_INSTRUCTORS", "nn-instructors")
# Jupyter configuration folders given to every server, and one more for the students only.
CONFIG_ALL = HERE / "jupyter"
CONFIG_STUDENTS = HERE / "jupyter-students"

# ---- where the hub listens and keeps its state -------------------------------------------------------------
c.JupyterHub.ip = setting("COURSE_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(setting("COURSE_HUB_PORT", "8000"))
# One origin per user: the hub at the host, each user's server at <user>.<host>. Without it every server shares the
# hub's origin, and a page a student's server serves (without login) runs with the instructor's cookies.
c.JupyterHub.subdomain_host = setting("COURSE_HUB_SUBDOMAIN_HOST", f"http://localhost:{c.JupyterHub.port}")
c.JupyterHub.hub_ip = "127.0.0.1"  # the hub's own API: only the proxy and the users' servers talk to it
c.JupyterHub.hub_port = int(setting("COURSE_HUB_API_PORT", str(c.JupyterHub.port + 1)))
PROXY_API_PORT = int(setting("COURSE_HUB_PROXY_API_PORT", str(c.JupyterHub.port + 2)))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_API_PORT}"
c.ConfigurableHTTPProxy.command = [setting("COURSE_HUB_PROXY", shutil.which("configurable-http-proxy")
                                           or "configurable-http-proxy")]
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
os.chmod(STATE, 0o700)  # the cookie secret and the database hold every user's tokens
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")

# ---- who gets in: the machine's accounts, members of the class's two groups ----------------------------------
c.JupyterHub.authenticator_class = setting("COURSE_HUB_AUTHENTICATOR", "pam")
c.LocalAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}  # another authenticator: set its own allow rules
c.PAMAuthenticator.open_sessions = False  # no PAM session modules to run for a web login
c.Authenticator.admin_users = {name for name in setting("COURSE_HUB_ADMINS", "").split(",") if name}

# ---- each user's JupyterLab, as that Unix user, from the course's environment --------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(PYTHON), "-m", "jupyterhub.singleuser"]  # no reliance on PATH or on scripts' #! lines
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120  # seconds: nbgrader's extensions make the first start of a server slow on 2 cores
c.Spawner.http_timeout = 120


def in_group(spawner, group):
    """Whether the user is in the Unix group, as their primary group or as one more."""
    try:
        account = pwd.getpwnam(spawner.user.name)
        return grp.getgrnam(group).gr_gid in os.getgrouplist(account.pw_name, account.pw_gid)
    except KeyError:
        return False


def config_path(spawner):
    """The students' servers get a folder more, which turns Formgrader and the assignment editor off for them."""
    folders = [CONFIG_ALL] if in_group(spawner, INSTRUCTORS) else [CONFIG_STUDENTS, CONFIG_ALL]
    return os.pathsep.join(map(str, folders))


c.Spawner.environment = {
    # nbgrader runs `alembic` for a new gradebook: the environment's bin first on PATH.
    "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "NBGRADER_EXCHANGE_ROOT": str(EXCHANGE),
    "NBGRADER_ROSTER_GROUP": STUDENTS,  # who may hand in: the exchange's collect refuses everyone else
    "JUPYTER_CONFIG_PATH": config_path,
}
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # not the hub's own PATH, PYTHONPATH or VIRTUAL_ENV

# ---- nbgrader's exchange: one folder owned by root and the instructors' group ---------------------------------
# 2775: the instructors (group) may create the course's folder at the first release; students may only enter it, so
# nobody else can create a course (a fake one in everyone's Assignments tab) or squat the course's folder before
# the first release. setgid: new folders in it get the instructors' group. The course's exchange classes
# (grading/plugins/exchange.py) accept this root instead of nbgrader's world-writable one.
if EXCHANGE.is_symlink():
    raise SystemExit(f"jupyterhub_config: {EXCHANGE} (NBGRADER_EXCHANGE_ROOT) is a symbolic link: refusing it")
EXCHANGE.mkdir(parents=True, exist_ok=True)
try:
    os.chown(EXCHANGE, 0, grp.getgrnam(INSTRUCTORS).gr_gid)
except KeyError:
    print(f"jupyterhub_config: no Unix group {INSTRUCTORS!r} (COURSE_HUB_INSTRUCTORS): create it", file=sys.stderr)
os.chmod(EXCHANGE, 0o2775)

# ---- idle servers are stopped (their files stay); the culler is a hub service with just the rights it needs ---
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [str(PYTHON), "-m", "jupyterhub_idle_culler",
                f"--timeout={int(setting('COURSE_HUB_CULL_TIMEOUT', '3600'))}",
                f"--cull-every={int(setting('COURSE_HUB_CULL_EVERY', '300'))}"],
}]
# Servers left running when the hub stops are stopped too (the proxy included).
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# ---- a course's own additions (another authenticator's settings, HTTPS certificates, ...) ----------------------
if setting("COURSE_HUB_EXTRA_CONFIG", ""):
    load_subconfig(setting("COURSE_HUB_EXTRA_CONFIG", ""))  # noqa: F821 (provided by the config loader)
