"""Run each submission's kernel in a sandbox of its own (bubblewrap, setpriv and prlimit; no container daemon).

What the kernel of a submission gets, and nothing more:

- an unprivileged user of its own (a free id from ``SANDBOX_UID`` up, never root, never the instructor), no new
  privileges, no capabilities, a clean environment and a private HOME;
- its own network namespace (loopback only), PID namespace (it is process 1's only child: when the kernel stops,
  everything it started is killed with the namespace), IPC and UTS namespaces;
- a read-only view of the system (``/usr``), of a few files of ``/etc``, of the Python environment and of the
  course's library (``nnlib``), a private writable HOME that holds a copy of the submission's folder, and a private
  ``/tmp``, both size-limited; nothing else of the machine: not ``solutions/``, the gradebook, ``grades/``,
  ``submitted/``, ``autograded/``, ``feedback/``, other students' work, any home folder or the course's git data;
- limits (:class:`Limits`, each set by an environment variable): memory, CPU time, processes, file size, disk;
- a seccomp filter (grading/seccomp.py): the system calls a notebook never needs and an attacker would (ptrace,
  perf_event_open, bpf, io_uring, mounts, namespaces, ...) answer EPERM;
- nothing of the grader: not its environment (bubblewrap itself starts with a clean one), its standard input or
  output, or any file it has open.

The trusted side (nbgrader, the gradebook, the records) stays outside and talks to the kernel only through the
kernel protocol, over ZeroMQ IPC sockets in the kernel's run folder: inside the sandbox a 1 MiB tmpfs of its own
(the grader reaches the sockets through ``/proc/<the sandbox's init>/root``), outside a folder under the grader's
:func:`run_root` (never a name in the shared /tmp another user could take first). Without root, bubblewrap runs as
the grader's own user in a user namespace; the kernel is then the sandbox's process 1, so that no process of
bubblewrap's (its environment, its memory) is within its reach.

The sandbox fails closed: :func:`check` raises :class:`SandboxError`, saying what is missing and how to install it,
and the autograde stops before grading anyone. ``SANDBOX=0`` switches it off for trusted work; every run that used
it says so in its output and in the summary.
"""

import asyncio
import atexit
import importlib.util
import json
import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from . import seccomp
from .errors import GradingError

#: Inside the sandbox: the kernel's home, its working folder (a copy of the submission's folder) and /tmp.
HOME = "/home/student"
WORK = HOME + "/work"
SUBMISSION = "/submission"
#: Files of /etc a Python kernel reads (dynamic linker, time zone, names of users and groups, fonts).
ETC_FILES = ("ld.so.cache", "localtime", "passwd", "group", "nsswitch.conf", "fonts", "mime.types")
#: Packages of the course that submissions may import (read-only), wherever they are installed from.
COURSE_PACKAGES = ("nnlib",)
#: The kernel's connection file, in its run folder.
CONNECTION_FILE = "connection.json"
#: Where the sandbox shows the connection file the grader wrote (read-only), for the shell to copy.
CONNECTION_COPY = "/.connection.json"
#: The size of the run folder inside the sandbox (a tmpfs of its own: the kernel makes its sockets there, nothing else).
RUN_DIR_MB = 1
#: The longest path of a Unix socket (sun_path is 108 bytes with its final NUL).
SOCKET_PATH_MAX = 107
#: The first user id of the sandboxes; each kernel takes a free one from there up. No account needs to exist.
DEFAULT_UID = 2_000_000
INSTALL_HINT = ("install it with `apt-get install -y bubblewrap` (Debian, Ubuntu; `dnf install bubblewrap` on "
                "Fedora), or run trusted work without the sandbox with SANDBOX=0")


class SandboxError(GradingError, RuntimeError):
    """The sandbox cannot be set up: grading stops before any submission runs."""


def enabled():
    """False only when the instructor opted out explicitly with ``SANDBOX=0``."""
    return os.environ.get("SANDBOX", "1").strip().lower() not in ("0", "no", "off", "false")


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use; a breach stops what caused it (scored 0) and is listed."""

    memory_mb: int = 2048      # address space of each process (SANDBOX_MEMORY_MB)
    cpu_seconds: int = 600     # CPU time of each process (SANDBOX_CPU_SECONDS)
    processes: int = 64        # processes and threads of the sandbox's user (SANDBOX_PROCESSES)
    file_mb: int = 200         # size of one file (SANDBOX_FILE_MB)
    disk_mb: int = 200         # the writable HOME, and /tmp, each (SANDBOX_DISK_MB)

    @classmethod
    def from_env(cls, environ=None):
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            name = f"SANDBOX_{field.name.upper()}"
            raw = environ.get(name)
            if raw is None:
                continue
            try:
                values[field.name] = int(raw)
            except ValueError:
                raise SandboxError(f"{name} must be a whole number, got {raw!r}") from None
            if values[field.name] <= 0:
                raise SandboxError(f"{name} must be positive, got {raw!r}")
        return cls(**values)

    def rlimits(self):
        """The limits of each process, named as prlimit's options (and grading/zygote_server.py's LIMITS)."""
        return {"as": self.memory_mb << 20, "cpu": self.cpu_seconds, "nproc": self.processes,
                "fsize": self.file_mb << 20, "core": 0}

    def describe(self):
        return (f"memory {self.memory_mb} MB, CPU {self.cpu_seconds} s, {self.processes} processes, "
                f"files {self.file_mb} MB, disk {self.disk_mb} MB")


def sandbox_uid():
    """The first user id of the sandboxes (``SANDBOX_UID``)."""
    raw = os.environ.get("SANDBOX_UID", str(DEFAULT_UID))
    if not raw.strip().isdigit() or int(raw) < 1000:
        raise SandboxError(f"SANDBOX_UID must be a user id of 1000 or more, free on this machine, got {raw!r}")
    return int(raw)


def allocate_uid(span=100_000):
    """A user id that no other sandbox on this machine holds, and an open lock file that holds it (close it to give
    the id back). Every kernel gets its own, so limits per user (processes) and the clean-up of leftovers never touch
    another submission's sandbox, even of another grading run."""
    import fcntl

    import psutil

    base = sandbox_uid()
    used = set()
    for process in psutil.process_iter(["uids"]):
        try:
            if process.info["uids"]:
                used.add(process.info["uids"].real)
        except psutil.Error:
            pass
    for offset in range(span):  # the lowest free id: as many lock files as sandboxes ever ran at once
        uid = base + offset
        if uid in used:
            continue
        handle = open(_run_root() / f"uid-{uid}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return uid, handle
    raise SandboxError(f"no free sandbox user id in {base}..{base + span - 1}")


def _tools():
    missing = [tool for tool in ("bwrap", "prlimit", "setpriv") if shutil.which(tool) is None]
    if missing:
        what = {"bwrap": "bubblewrap (bwrap)", "prlimit": "prlimit (util-linux)", "setpriv": "setpriv (util-linux)"}
        raise SandboxError("the sandbox cannot be set up: " + ", ".join(what[m] for m in missing)
                           + f" not found; {INSTALL_HINT}")


def course_package_dirs():
    """The folders of the course's packages (nnlib), found the way the kernel will import them."""
    dirs = []
    for name in COURSE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs += [str(Path(p).resolve()) for p in spec.submodule_search_locations]
    return dirs


def kernel_environment():
    """All the environment a sandboxed kernel gets."""
    return {"HOME": HOME, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "PYTHONNOUSERSITE": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def bwrap_environment():
    """All the environment bubblewrap itself gets: where to find programs, nothing of the grader's. (Without root,
    bubblewrap runs as the same user as the kernel, which could read its environment in ``/proc``.)"""
    found = shutil.which("bwrap")
    folders = [str(Path(found).parent)] if found else []
    return {"PATH": os.pathsep.join(dict.fromkeys(folders + ["/usr/bin", "/bin"]))}


def command(kernel_argv, run_dir, submission_dir, limits, uid, packages=None, seccomp_fd=None):
    """The command line that runs ``kernel_argv`` in a sandbox.

    ``run_dir`` is a size-limited folder of the sandbox's own at the same path, where the kernel makes its sockets,
    with only ``run_dir``'s connection file from outside (read-only); ``submission_dir`` is bound read-only
    and copied into the kernel's working folder before the kernel starts. ``packages`` maps a course package's
    folder to the folder the sandbox shows in its place (nnlib without the exercise's answer key). ``seccomp_fd``
    is an open file holding :func:`grading.seccomp.program` (every kernel of the grader gets one; bubblewrap loads it
    just before it runs the kernel's command).
    """
    packages = packages or {}
    privileged = os.geteuid() == 0
    environment = [sys.prefix, *course_package_dirs()]
    argv = ["bwrap", "--die-with-parent", "--new-session",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/" + link)
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    made = {"/tmp", HOME}  # mounted below, with their own permissions

    def parents(path):  # bwrap would make missing parent folders private (0700): make them readable
        out = []
        for parent in reversed(Path(path).parents[:-1]):
            if str(parent) not in made:
                made.add(str(parent))
                out += ["--perms", "0755", "--dir", str(parent)]
        return out

    # the private /tmp first: an environment or a course that lives under /tmp (a CI clone, say) is bound on top of
    # it below, where a later tmpfs would hide it
    argv += ["--perms", "1777", "--size", str(limits.disk_mb << 20), "--tmpfs", "/tmp"]
    for path in environment:
        argv += [*parents(path), "--ro-bind", packages.get(path, path), path]
    argv += ["--dev", "/dev", "--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/dev/shm", "--proc", "/proc",
             *parents(HOME),
             "--perms", "0777", "--size", str(limits.disk_mb << 20), "--tmpfs", HOME,
             # the run folder: a small tmpfs of the sandbox's own (where the kernel makes its sockets; the grader
             # reaches them through /proc/<the sandbox's init>/root), into which the shell below copies the
             # connection file (ipykernel rewrites it)
             *parents(run_dir), "--perms", "0777", "--size", str(RUN_DIR_MB << 20), "--tmpfs", str(run_dir),
             "--ro-bind-try", str(Path(run_dir) / CONNECTION_FILE), CONNECTION_COPY,
             "--ro-bind", str(submission_dir), SUBMISSION,
             "--chdir", HOME, "--clearenv"]
    for key, value in kernel_environment().items():
        argv += ["--setenv", key, value]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    if privileged:
        # bwrap keeps root's rights only to build the mounts; setpriv then becomes the sandbox's own user, with no
        # capability left and no way to gain one (no new privileges: setuid programs do not elevate).
        argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--no-new-privs", "--"]
    else:
        # Without root a user namespace maps the instructor's id to an unprivileged one inside; what the kernel can
        # touch is what is bound above. bubblewrap then runs as the kernel's own user: its process 1 (the reaper)
        # would be open to the kernel (its memory in /proc/1/mem, with no seccomp filter and no limits), so the
        # kernel's command is process 1 itself and bubblewrap stays outside the sandbox's PID namespace.
        argv[1:1] = ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns", "--cap-drop", "ALL",
                     "--as-pid-1"]
    argv += ["prlimit", *(f"--{name}={value}" for name, value in limits.rlimits().items()), "--"]
    # Copy the submission into the writable home, then become the kernel (exec: the kernel is the process the
    # kernel manager signals and watches).
    connection = shlex.quote(str(Path(run_dir) / CONNECTION_FILE))
    argv += ["/bin/sh", "-c", f'mkdir -p {WORK} && cp -R {SUBMISSION}/. {WORK}/ 2>/dev/null; '
             f'if [ -e {CONNECTION_COPY} ]; then cp {CONNECTION_COPY} {connection}; fi; cd {WORK} && exec "$@"',
             "sandbox", *kernel_argv]
    return argv


def check(limits=None):
    """Start a sandbox once and check what it must do; raise :class:`SandboxError` saying what is missing."""
    limits = limits or Limits.from_env()
    _tools()
    probe = ("import ctypes, os, socket\n"
             "assert os.getuid() != 0, 'runs as root'\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n"
             "assert libc.ptrace(0, 0, 0, 0) == -1 and ctypes.get_errno() == 1, 'no seccomp filter (ptrace allowed)'\n"
             "s = socket.socket()\n"
             "try:\n"
             "    s.connect(('10.255.255.1', 9)); print('network')\n"
             "except OSError:\n"
             "    print('ok', os.getpid())\n")
    with tempfile.TemporaryDirectory(prefix="nn-sandbox-check-") as tmp:
        run_dir, submission = Path(tmp) / "run", Path(tmp) / "submission"
        run_dir.mkdir()
        submission.mkdir()
        os.chmod(tmp, 0o755)
        uid, lock = allocate_uid()
        try:
            program = seccomp.program_fd()
        except (seccomp.SeccompError, OSError) as error:
            lock.close()
            raise SandboxError(f"the sandbox cannot be set up: {error}") from None
        argv = command([sys.executable, "-I", "-c", probe], run_dir, submission, limits, uid, seccomp_fd=program)
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=bwrap_environment(),
                                    stdin=subprocess.DEVNULL, pass_fds=(program,))
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxError(f"the sandbox cannot be set up: {error}; {INSTALL_HINT}") from None
        finally:
            os.close(program)
            lock.close()
    words = result.stdout.split()
    if result.returncode != 0 or not words or words[0] != "ok":
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        hint = ""
        if "namespace" in " ".join(detail).lower() or "Operation not permitted" in " ".join(detail):
            hint = (" This machine does not allow the namespaces the sandbox needs: allow unprivileged user "
                    "namespaces (sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0), or "
                    "grade as root, or in a VM.")
        if not os.access(sys.executable, os.X_OK) or "Permission denied" in " ".join(detail):
            hint += (f" The sandbox's user must be able to run {sys.executable}: build the environment from a "
                     "Python every user can execute (for example Debian's /usr/bin/python3.11), not from one "
                     "under a private home folder.")
        raise SandboxError("the sandbox cannot be set up: a test run failed"
                           + (f" ({' / '.join(detail)})" if detail else f" (exit {result.returncode})")
                           + "." + hint)
    if words[1] != "2" and words[1] != "1":
        raise SandboxError(f"the sandbox's kernel is not alone in its PID namespace (pid {words[1]})")


def usable():
    """Whether a sandbox can be set up here (for ``make validate``, which runs a learner's own notebook and goes on
    without the sandbox where there is none)."""
    try:
        check()
    except SandboxError:
        return False
    return True


# ---- the kernel manager nbgrader uses ------------------------------------------------------------------------

#: The run root a grading process chose, passed on to its workers (they inherit the environment).
RUN_ROOT_VARIABLE = "NN_GRADING_RUN_ROOT"


def _owned_privately(path, owners):
    """Whether ``path`` is a real folder (not a link) owned by one of ``owners`` that no one else may write in."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid in owners and not info.st_mode & 0o022


def _shared_base():
    """Where a grader keeps one run root for all its grading runs (so that sandbox user ids are never given out
    twice): ``/run`` for root, ``$XDG_RUNTIME_DIR`` for others; only a folder no one else can write in. None when
    there is none (then each grading run makes a private one)."""
    if os.geteuid() == 0:
        return Path("/run") if _owned_privately("/run", {0}) else None
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime.startswith("/") and _owned_privately(runtime, {os.geteuid()}):
        return Path(runtime)
    return None


def run_root():
    """The folder of this grader's run folders (one per kernel, under one per grading process), which only its owner
    can list: never a name in the shared /tmp that another user could make first (a folder or a link of theirs)
    and never an existing folder of someone else's. ``/run/nn-grading`` for root, ``$XDG_RUNTIME_DIR/nn-grading``
    for others; where neither exists, a new private folder with an unpredictable name in the temporary folder,
    made by the first grading process and used by its workers."""
    mine = {os.geteuid()}
    chosen = os.environ.get(RUN_ROOT_VARIABLE)
    if chosen and chosen.startswith("/") and _owned_privately(chosen, mine):
        return Path(chosen)
    base = _shared_base()
    if base is not None:
        root = base / "nn-grading"
        try:
            os.mkdir(root, 0o711)
        except FileExistsError:
            pass
        if not _owned_privately(root, mine):
            raise SandboxError(f"{root} is not a folder of this user that only it can write in: remove it")
    else:

        root = Path(tempfile.mkdtemp(prefix="nn-grading-"))  # O_EXCL, mode 0700, a random name
        atexit.register(_remove_at_exit, root, os.getpid())  # the process that made it removes it
    os.chmod(root, 0o711)
    os.environ[RUN_ROOT_VARIABLE] = str(root)
    return root


_run_root = run_root


# ---- kernels forked from a preloaded process ----------------------------------------------------------------

#: What the preloaded process imports, so that no kernel has to: ipykernel with IPython, numpy, nnlib, and
#: scikit-learn's base (which nnlib's estimators import; about 0.9 s of a 1.6 s kernel start on its own). Nothing
#: that reads a home folder or a configuration when imported (matplotlib does: it is not preloaded).
PRELOAD = ("ipykernel.kernelapp", "ipykernel.debugger", "IPython.core.history", "numpy", "sklearn.base")
#: What bubblewrap runs in a sandbox whose kernel is forked in from the preloaded process: it waits for the kernel
#: to appear in the sandbox's PID namespace, then for it to end, so that the sandbox (and everything the kernel
#: started) lives exactly as long as the kernel.
WAITER = """# nn-grading-waiter
import os, select, sys, time


def parent(pid):
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


me, deadline = os.getpid(), time.monotonic() + 120
while time.monotonic() < deadline:
    kernel = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me) and parent(p) == 1]
    if kernel:
        select.select([os.pidfd_open(min(kernel))], [], [])
        sys.exit(0)
    time.sleep(0.002)
sys.exit(1)
"""


def waiter_argv():
    return [sys.executable, "-I", "-S", "-c", WAITER]


def preload_enabled():
    """Kernels are forked from a preloaded process (:class:`Zygote`) unless ``SANDBOX_PRELOAD=0``; only where the
    grader runs as root (the preloaded process joins each sandbox's namespaces, which takes root)."""
    return os.geteuid() == 0 and os.environ.get("SANDBOX_PRELOAD", "1").strip().lower() not in (
        "0", "no", "off", "false")


class Zygote:
    """A process that has imported what every kernel needs, and forks each grading kernel into its sandbox.

    A kernel started from scratch spends most of its start-up importing the same libraries (ipykernel, numpy,
    nnlib, scikit-learn) for every submission. This process (``grading/zygote_server.py``) imports them once and
    forks a kernel for each submission instead. It is started by the grading worker with a sandbox's clean
    environment, never runs or reads a submission, the gradebook or the solutions, and holds no file of the
    course open, so a forked kernel inherits only the imported libraries.

    The walls are still bubblewrap's: each submission gets its own sandbox from :func:`command` (its mounts, its
    PID, network, IPC and UTS namespaces, its user and limits), running :data:`WAITER` in place of the kernel. The
    forked child joins that sandbox's namespaces, sets the same limits prlimit would, drops to the sandbox's user
    with no capability and no new privileges (as setpriv does), and starts ipykernel. When the kernel ends the
    waiter ends, and with it the sandbox and everything the kernel started.
    """

    _shared = None

    @classmethod
    def shared(cls):
        """The grading process's preloaded process, started on first use (and again should it have died)."""
        if cls._shared is None or cls._shared.process.poll() is not None:
            cls._shared = cls()
        return cls._shared

    def __init__(self, preload=PRELOAD):
        ours, theirs = socket.socketpair()
        source = Path(__file__).with_name("zygote_server.py").read_text()
        self.process = subprocess.Popen([sys.executable, "-B", "-c", source, str(theirs.fileno()),
                                         json.dumps(list(preload)), str(sandbox_uid())],
                                        env=kernel_environment(), cwd="/",
                                        stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),))
        theirs.close()
        ours.settimeout(120)
        self.channel, self.reader, self.ready = ours, ours.makefile("rb"), False

    def _wait_ready(self):
        """The imports take a second or two; they run while the grader prepares the first submission."""
        if not self.ready:
            answer = self._answer()
            if not answer.get("ready"):
                self.stop()
                raise SandboxError(f"the preloaded kernel process could not start: {answer.get('error')}")
            self.ready = True

    def _answer(self):
        try:
            line = self.reader.readline()
        except OSError as error:
            line, detail = b"", str(error)
        else:
            detail = "it stopped"
        if not line:
            raise SandboxError(f"the preloaded kernel process does not answer ({detail}); SANDBOX_PRELOAD=0 "
                               "starts every kernel from scratch")
        return json.loads(line)

    def spawn(self, init, uid, limits, argv, cwd=WORK):
        """Fork a kernel (``ipykernel_launcher`` with ``argv``) into the sandbox whose init process is ``init``, as
        user ``uid`` within ``limits``; it is a child of ``init`` when this returns."""
        self._wait_ready()
        launcher = importlib.util.find_spec("ipykernel_launcher").origin
        request = {"init": init, "uid": uid, "cwd": cwd, "argv": list(argv), "launcher": launcher,
                   "env": kernel_environment(), "limits": limits.rlimits(), "seccomp": seccomp.program().hex()}
        self.channel.sendall(json.dumps(request).encode() + b"\n")
        answer = self._answer()
        if not answer.get("ok"):
            raise SandboxError(f"a kernel could not be forked into its sandbox: {answer.get('error')}")

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.channel.close()


def _remove_at_exit(folder, pid):
    if os.getpid() == pid:  # never from a forked child (a kernel, the preloaded process) that exits through atexit
        shutil.rmtree(folder, ignore_errors=True)


def process_run_root(pid=None):
    """The run folders of the kernels one grading process (``pid``, by default this one) starts: removed by that
    process when it exits, and whole by the supervisor when it had to kill it, so nothing of a grading process
    (a worker, ``nbgrader autograde`` run directly, Formgrader's autograde) is left behind."""
    folder = _run_root() / f"worker-{pid or os.getpid()}"
    if pid is None:
        try:
            folder.mkdir(mode=0o711)
        except FileExistsError:
            pass
        else:
            atexit.register(_remove_at_exit, folder, os.getpid())
    return folder


def stage_submission(source, staging, exclude=()):
    """A copy of the submission's folder for the kernel, without the files ``exclude`` (the notebook being graded,
    whose copy holds the hidden tests nbgrader restored) and with regular files and folders only: no link, device or
    FIFO is followed or copied. Returns the copy's folder."""
    source, staging = Path(source), Path(staging)
    staging.mkdir(mode=0o755)
    for folder, dirs, files in os.walk(source, followlinks=False):
        relative = Path(folder).relative_to(source)
        for name in dirs:
            if not (Path(folder) / name).is_symlink():
                (staging / relative / name).mkdir(mode=0o755)
        for name in files:
            path = Path(folder) / name
            if (relative == Path(".") and name in exclude) or not stat.S_ISREG(path.lstat().st_mode):
                continue
            shutil.copyfile(path, staging / relative / name, follow_symlinks=False)
            os.chmod(staging / relative / name, 0o644)
    return staging


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, but ready as soon as the kernel has answered.

    jupyter_client's own wait for a new kernel listens 0.2 s for IOPub messages after the kernel's first answer,
    and 0.2 s more when the first IOPub message was published before the client's subscription reached the
    kernel: a third of a lone submission's grading. This one asks for the kernel's info until both the reply and
    the IOPub status of that request (idle) have come, which shows IOPub connected and every message of the
    start delivered, and asks again at once when ipykernel's welcome on IOPub shows that the subscription has
    only now arrived. nbclient ignores any later message that answers no request of its own."""

    async def wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            reply = await self._reply_to(request, min(1.0, max(0.0, deadline - time.monotonic())))
            if reply is not None and await self._iopub_after(request, 0.2) == "idle":
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _reply_to(self, request, wait):
        end = time.monotonic() + wait
        while True:
            try:
                message = await self.shell_channel.get_msg(timeout=max(0.0, end - time.monotonic()))
            except Empty:
                return None
            if message["parent_header"].get("msg_id") == request and message["msg_type"] == "kernel_info_reply":
                return message

    async def _iopub_after(self, request, wait):
        """"idle" once the request's idle status arrives, "welcome" when the subscription is only now confirmed
        (that status may have gone before it), None when neither comes within ``wait`` seconds."""
        end = time.monotonic() + wait
        while True:
            try:
                message = await self.iopub_channel.get_msg(timeout=max(0.0, end - time.monotonic()))
            except Empty:
                return None
            if message["msg_type"] == "iopub_welcome":
                return "welcome"
            if (message["parent_header"].get("msg_id") == request and message["msg_type"] == "status"
                    and message["content"].get("execution_state") == "idle"):
                return "idle"


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside :func:`command`'s sandbox, over IPC sockets.

    Interrupts go over the control channel (``interrupt_mode = message``): a signal to the sandbox's outer
    process would not reach the kernel inside its own session. With ``preload`` (the autograde workers set it,
    see :func:`preload_enabled`) the kernel is forked into the sandbox from the :class:`Zygote`.
    """

    preload = False
    client_factory = Type(default_value=PromptKernelClient, klass=AsyncKernelClient, config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kernel_argv = None
        #: The processes of the sandbox's user that are the kernel's own (the waiter, the kernel), outside pids.
        self.own_pids = set()
        self.limits = Limits.from_env()
        self.uid, self._uid_lock = allocate_uid()
        try:
            self.run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=process_run_root()))
        except FileNotFoundError:  # the folder went with another kernel of this process that just stopped
            self.run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=process_run_root()))
        self.transport = "ipc"
        self.ip = str(self.run_dir / "kernel")
        self.connection_file = str(self.run_dir / CONNECTION_FILE)
        self._submission_dir = None
        #: Set by the grader before the start: course package folders shown otherwise (see :func:`command`), and
        #: the files of the submission's folder the kernel's copy leaves out (the notebook being graded).
        self.package_overrides = {}
        self.exclude_files = set()
        if os.geteuid() == 0:
            os.chown(self.run_dir, self.uid, self.uid)
        os.chmod(self.run_dir, 0o700)

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    async def _async_pre_start_kernel(self, **kw):
        self.ip = str(self.run_dir / "kernel")  # the sockets' path in the sandbox (see _connect_through)
        self._submission_dir = stage_submission(kw.get("cwd") or os.getcwd(), self.run_dir / "submission",
                                                self.exclude_files)
        kw["cwd"] = str(self.run_dir)  # bwrap itself starts in the run folder (the kernel: in its home)
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        argv = super().format_kernel_cmd(extra_arguments)
        if os.geteuid() == 0:  # written by the trusted side; the kernel (and no one else) may read it
            os.chown(self.connection_file, 0, self.uid)
            os.chmod(self.connection_file, 0o640)
        else:
            os.chmod(self.connection_file, 0o644)
        if self.preload and argv[1:3] == ["-m", "ipykernel_launcher"]:
            self._kernel_argv = argv[3:]
            argv = waiter_argv()
        self._close_seccomp()
        self._seccomp_fd = seccomp.program_fd()
        return command(argv, self.run_dir, self._submission_dir, self.limits, self.uid, self.package_overrides,
                       seccomp_fd=self._seccomp_fd)

    def _close_seccomp(self):
        if getattr(self, "_seccomp_fd", None) is not None:
            os.close(self._seccomp_fd)
            self._seccomp_fd = None

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # bubblewrap inherits nothing of the grader: a clean environment (not the grader's, which jupyter_client
        # passes on), no standard input or output (the kernel talks over its sockets only; the grader's log is not
        # its to read or write), and no open file but its seccomp filter.
        kw.update(env=bwrap_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL, close_fds=True, pass_fds=(self._seccomp_fd,))
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            self._close_seccomp()
        if os.geteuid() != 0:
            _SANDBOXES[self.uid] = self.provisioner.pid
        if self._kernel_argv is not None:
            import psutil

            init, waiter = await self._sandbox_ready()
            Zygote.shared().spawn(init, self.uid, self.limits, self._kernel_argv)
            self.own_pids = {waiter, *(child.pid for child in psutil.Process(init).children())}
        else:
            init = await self._sandbox_init()
        await self._pin_sockets(init)

    async def _sandbox_init(self):
        """The sandbox's first process (outside pid): bubblewrap's child, in the sandbox's own mount namespace."""
        import psutil

        outer = psutil.Process(self.provisioner.pid)
        ours = os.stat("/proc/self/ns/mnt").st_ino
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                for child in outer.children():
                    if os.stat(f"/proc/{child.pid}/ns/mnt").st_ino != ours:
                        return child.pid
            except (psutil.NoSuchProcess, OSError):
                pass
            if not outer.is_running() or outer.status() == psutil.STATUS_ZOMBIE:
                break
            await asyncio.sleep(0.002)
        raise SandboxError("the sandbox of a kernel did not come up (bubblewrap stopped or took over a minute)")

    async def _pin_sockets(self, init):
        """The kernel's sockets are in the sandbox's own run folder (a tmpfs the kernel can write in; without root
        the kernel owns every folder of the sandbox). Once the kernel has made them, the grader opens each one
        through the root of the sandbox's init process, folder by folder, following no link (an absolute link
        there would be resolved in the grader's own file system), checks that it is a socket, and keeps it open;
        its clients connect through links to these open files (``/proc/self/fd/N``) in a folder of the grader's
        own. Whatever the kernel later renames or replaces in its folder, the grader only ever connects to the
        sockets the kernel made at its start."""
        import psutil

        flags = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
        wanted = {port: f"kernel-{port}" for port in self.ports}
        deadline = time.monotonic() + 60
        while True:
            pinned = self._open_sockets(init, wanted, flags)
            if pinned is not None:
                break
            outer = psutil.Process(self.provisioner.pid) if self.provisioner.pid else None
            if (outer is None or not outer.is_running() or outer.status() == psutil.STATUS_ZOMBIE
                    or time.monotonic() > deadline):
                return  # the kernel died (or never made its sockets): jupyter_client reports it
            await asyncio.sleep(0.005)
        folder = self.run_dir / "sockets"
        folder.mkdir(mode=0o700, exist_ok=True)
        for port, fd in pinned.items():
            link = folder / f"kernel-{port}"
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(f"/proc/self/fd/{fd}", link)
        self._close_sockets()
        self._pinned = pinned
        self.ip = str(folder / "kernel")
        longest = max(len(f"{self.ip}-{port}") for port in self.ports)
        if longest > SOCKET_PATH_MAX:
            raise SandboxError(f"the kernel's socket paths are {longest} characters long, over the "
                               f"{SOCKET_PATH_MAX} a Unix socket allows: the run root {run_root()} is too deep "
                               "(set TMPDIR or XDG_RUNTIME_DIR to a shorter folder)")

    def _open_sockets(self, init, wanted, flags):
        """``{port: open file}`` of the kernel's sockets, or None while one of them is not there yet. A link, or
        anything but a folder or a socket, on the way stops the kernel's start."""
        opened = []
        try:
            try:
                current = os.open(f"/proc/{init}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                return None
            opened.append(current)
            for part in self.run_dir.relative_to("/").parts:
                try:
                    current = os.open(part, flags | os.O_DIRECTORY, dir_fd=current)
                except FileNotFoundError:
                    return None
                except OSError:  # a link (ENOTDIR, ELOOP) or anything else that is not a folder
                    raise SandboxError(f"the kernel replaced a folder of its run folder's path ({part}) with "
                                       "something else: it is not started") from None
                opened.append(current)
            pinned = {}
            for port, name in wanted.items():
                try:
                    fd = os.open(name, flags, dir_fd=current)
                except FileNotFoundError:
                    return None
                opened.append(fd)
                if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                    raise SandboxError(f"the kernel's {name} is not a socket: it is not started")
                pinned[port] = fd
            for fd in pinned.values():
                opened.remove(fd)
            return pinned
        finally:
            for fd in opened:
                os.close(fd)

    def _close_sockets(self):
        for fd in getattr(self, "_pinned", {}).values():
            os.close(fd)
        self._pinned = {}

    async def _sandbox_ready(self):
        """The sandbox's init process and its waiter (outside pids), once bubblewrap has built it and the copy of
        the submission is made (the waiter runs after it)."""
        import psutil

        outer = psutil.Process(self.provisioner.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                for process in outer.children(recursive=True):
                    # the waiter itself, not the shell that copies the submission and then becomes it
                    if process.uids().real == self.uid and process.cmdline() == waiter_argv():
                        return process.ppid(), process.pid
            except psutil.NoSuchProcess:
                pass
            if not outer.is_running() or outer.status() == psutil.STATUS_ZOMBIE:
                break
            await asyncio.sleep(0.002)
        raise SandboxError("the sandbox of a kernel did not come up (bubblewrap stopped or took over a minute)")

    def lock_run_dir(self):
        """Once the kernel has made its sockets, take the run folder back (defence in depth: the sandbox shows the
        kernel a tmpfs of its own at that path, never this folder)."""
        if os.geteuid() == 0:
            os.chown(self.run_dir, 0, 0)
            os.chmod(self.run_dir, 0o711)

    async def _async_wait(self, pollinterval=0.1):
        # jupyter_client looks every 0.1 s whether a kernel asked to shut down has ended: a tenth of a second per
        # submission spent waiting on a kernel that ends within milliseconds
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        self._close_seccomp()
        self._close_sockets()
        if not restart:
            _SANDBOXES.pop(self.uid, None)
            kill_leftovers(self.uid)
            shutil.rmtree(self.run_dir, ignore_errors=True)
            try:
                self.run_dir.parent.rmdir()  # the process's folder, once its last kernel is gone
            except OSError:
                pass
            self._uid_lock.close()

    cleanup_resources = _async_cleanup_resources


#: Without root, every sandbox runs as the grader's own user: ``{sandbox uid: pid of its bubblewrap}``, so that
#: :func:`processes_of` finds a sandbox's processes as bubblewrap's descendants rather than by their user.
_SANDBOXES = {}


def _members(uid):
    """The processes of the sandbox whose user is ``uid``: by user id with root, else bubblewrap's descendants."""
    import psutil

    if os.geteuid() == 0 or uid not in _SANDBOXES:
        return [process for process in psutil.process_iter(["uids", "cmdline", "name"])
                if process.info["uids"] and process.info["uids"].real == uid]
    try:
        family = psutil.Process(_SANDBOXES[uid]).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    members = []
    for process in family:
        try:
            process.info = process.as_dict(["uids", "cmdline", "name"])
        except psutil.Error:
            continue
        if process.info["name"] != "bwrap":
            members.append(process)
    return members


def processes_of(uid, exclude_kernel=False, own=()):
    """The names of the processes running in a sandbox whose user is ``uid`` (the kernel itself left out when asked:
    the processes ``own``, when the manager knows them, else those running ipykernel_launcher)."""
    import psutil

    names = []
    for process in _members(uid):
        try:
            command_line = process.info["cmdline"] or []
            if exclude_kernel and (process.pid in own if own else
                                   any("ipykernel_launcher" in part for part in command_line)):
                continue
            names.append(process.info["name"] or "?")
        except psutil.Error:
            pass
    return names


def kill_leftovers(uid):
    """Kill any process still running as a sandbox's user (there should be none: the PID namespace is gone with
    its kernel). Returns how many were killed."""
    import psutil

    if os.geteuid() != 0:
        return 0
    left = []
    for process in psutil.process_iter(["uids"]):
        try:
            if process.info["uids"] and process.info["uids"].real == uid:
                process.kill()
                left.append(process)
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=5)
    return len(left)
