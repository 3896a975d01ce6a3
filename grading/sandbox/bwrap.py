"""The bubblewrap command that builds a kernel's sandbox (:func:`command`), what it reports when it has started one
(:func:`read_info`), and :func:`check`, which starts one sandbox to see that this machine has what it takes."""

import asyncio
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import seccomp
from .common import SandboxError, as_root
from .limits import Limits, allocate_uid

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
INSTALL_HINT = ("install it with `apt-get install -y bubblewrap` (Debian, Ubuntu; `dnf install bubblewrap` on "
                "Fedora), or run trusted work without the sandbox with SANDBOX=0")


def _tools() -> None:
    missing = [tool for tool in ("bwrap", "prlimit", "setpriv") if shutil.which(tool) is None]
    if missing:
        what = {"bwrap": "bubblewrap (bwrap)", "prlimit": "prlimit (util-linux)", "setpriv": "setpriv (util-linux)"}
        raise SandboxError("the sandbox cannot be set up: " + ", ".join(what[m] for m in missing)
                           + f" not found; {INSTALL_HINT}")


def course_package_dirs() -> list[str]:
    """The folders of the course's packages (nnlib), found the way the kernel will import them."""
    dirs = []
    for name in COURSE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs += [str(Path(p).resolve()) for p in spec.submodule_search_locations]
    return dirs


def kernel_environment() -> dict[str, str]:
    """All the environment a sandboxed kernel gets."""
    return {"HOME": HOME, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "PYTHONNOUSERSITE": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def bwrap_environment() -> dict[str, str]:
    """All the environment bubblewrap itself gets: where to find programs, nothing of the grader's. (Without root,
    bubblewrap runs as the same user as the kernel, which could read its environment in ``/proc``.)"""
    found = shutil.which("bwrap")
    folders = [str(Path(found).parent)] if found else []
    return {"PATH": os.pathsep.join(dict.fromkeys(folders + ["/usr/bin", "/bin"]))}


def command(kernel_argv: Sequence[str], run_dir: str | Path, submission_dir: str | Path, limits: Limits, uid: int,
            packages: Mapping[str, str] | None = None, seccomp_fd: int | None = None,
            info_fd: int | None = None) -> list[str]:
    """The command line that runs ``kernel_argv`` in a sandbox.

    ``run_dir`` is a size-limited folder of the sandbox's own at the same path, where the kernel makes its sockets,
    with only ``run_dir``'s connection file from outside (read-only); ``submission_dir`` is bound read-only
    and copied into the kernel's working folder before the kernel starts. ``packages`` maps a course package's
    folder to the folder the sandbox shows in its place (nnlib without the exercise's answer key). ``seccomp_fd``
    is an open file holding :func:`grading.sandbox.seccomp.program` (every kernel of the grader gets one; bubblewrap
    loads it just before it runs the kernel's command). ``info_fd`` is the write end of a pipe on which bubblewrap
    reports the sandbox's first process once it has made it (:func:`read_info`).
    """
    packages = packages or {}
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
    if info_fd is not None:
        argv += ["--info-fd", str(info_fd)]
    if as_root():
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


async def read_info(fd: int, timeout: float = 60.0) -> int:
    """The sandbox's first process (its pid outside), from what bubblewrap writes on ``--info-fd`` (the read end
    ``fd`` of that pipe, closed here): a JSON object with ``child-pid``, written as soon as bubblewrap has made the
    process, in the sandbox's own namespaces, that builds the sandbox and becomes its init (as root: bubblewrap's
    reaper, whose child is the kernel's command; without root: the kernel's command itself, ``--as-pid-1``).
    Neither the grader's end nor the sandbox keeps the pipe open (bubblewrap closes it in the sandbox), so the pipe
    ends once bubblewrap has written or stopped."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    done = loop.create_future()

    def readable():
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as error:
            chunk = b""
            chunks.append(f"(read failed: {error})".encode())
        if chunk:
            chunks.append(chunk)
        elif not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await asyncio.wait_for(done, timeout)
    except TimeoutError:
        raise SandboxError("the sandbox of a kernel did not come up (bubblewrap took over a minute)") from None
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    text = b"".join(chunks).decode(errors="replace")
    try:
        pid = json.loads(text)["child-pid"]
    except (ValueError, KeyError, TypeError):
        pid = None
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        raise SandboxError("the sandbox of a kernel did not come up (bubblewrap stopped before it made the sandbox: "
                           f"it reported {text.strip()[:200]!r})")
    return pid


def check(limits: Limits | None = None) -> None:
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


def usable() -> bool:
    """Whether a sandbox can be set up here (for ``make validate``, which runs a learner's own notebook and goes on
    without the sandbox where there is none)."""
    try:
        check()
    except SandboxError:
        return False
    return True
