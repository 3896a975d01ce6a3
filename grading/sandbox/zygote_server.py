"""The preloaded process that grading kernels are forked from (this file's text is run by ``python -B -c``; the
grader never imports it). See :class:`grading.sandbox.zygote.Zygote` for why and how.

The process starts with a sandbox's clean environment, imports the libraries every kernel needs (ipykernel, numpy,
nnlib, scikit-learn's base) and nothing of the course's grading data, then waits on its channel (a Unix socket
inherited as file descriptor ``argv[1]``) for requests, one JSON line each::

    {"init": <pid of a sandbox's init, outside view>, "uid": <the sandbox's user>, "limits": {<rlimit>: <value>},
     "env": {...}, "cwd": <the kernel's folder inside>, "argv": [<ipykernel arguments>],
     "seccomp": <the seccomp filter, compiled BPF in hex>}

For each it forks: the child joins the sandbox's namespaces (mount, PID, network, IPC, UTS, cgroup: the sandbox
bubblewrap built for that submission) and forks the kernel into them through an intermediate process that ends at
once, so that the kernel's parent is the sandbox's init, as for a kernel bubblewrap starts. The kernel sets the
sandbox's limits, becomes the sandbox's user with no privileges left, loads the grader's seccomp filter (the
same program bubblewrap loads for a kernel it starts) and starts ipykernel. The answer is ``ok`` or
an error.
"""

import ctypes
import importlib
import importlib.util
import json
import os
import resource
import signal
import socket
import sys

LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 22, 24, 38
SECCOMP_MODE_FILTER = 2
#: The namespaces a kernel joins, in the order it joins them (the mount namespace last: it changes the root).
NAMESPACES = (("cgroup", 0x02000000), ("ipc", 0x08000000), ("uts", 0x04000000), ("net", 0x40000000),
              ("pid", 0x20000000), ("mnt", 0x00020000))
#: The lowest user id a kernel may run as (the grader's ``SANDBOX_UID``): never root or the instructor.
FIRST_UID = None
#: What importing the preloaded libraries added to the environment.
PRELOAD_ENV = {}
LIMITS = {"as": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "nproc": resource.RLIMIT_NPROC,
          "fsize": resource.RLIMIT_FSIZE, "core": resource.RLIMIT_CORE}


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _prctl(option, value):
    _check(LIBC.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _load_seccomp(program):
    """Load the grader's seccomp filter (compiled BPF, seccomp.py's program, the one bubblewrap loads for a
    kernel it starts) on this process; needs no_new_privs, and holds for everything it runs or starts."""
    if not program or len(program) % 8:
        raise RuntimeError(f"no seccomp filter to load ({len(program)} bytes)")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _check(LIBC.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0),
           "prctl(PR_SET_SECCOMP)")
    status = open("/proc/self/status").read()
    if "\nSeccomp:\t2" not in status:
        raise RuntimeError("the seccomp filter is not in force")


def _join(init):
    """Join the namespaces of the sandbox whose init is ``init`` (each one that differs from ours)."""
    handles = []
    for name, flag in NAMESPACES:
        theirs, ours = f"/proc/{init}/ns/{name}", f"/proc/self/ns/{name}"
        try:
            if os.stat(theirs).st_ino == os.stat(ours).st_ino:
                if name in ("pid", "mnt", "net"):
                    raise RuntimeError(f"the sandbox of process {init} has no {name} namespace of its own")
                continue
        except FileNotFoundError:
            if name == "cgroup":
                continue
            raise
        handles.append((os.open(theirs, os.O_RDONLY | os.O_CLOEXEC), flag, name))
    for fd, flag, name in handles:
        _check(LIBC.setns(fd, flag), f"setns({name})")
        os.close(fd)


def _become_kernel(request):
    """In the sandbox's namespaces, still root: drop everything, then run ipykernel (never returns)."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        for name, value in request["limits"].items():
            resource.setrlimit(LIMITS[name], (value, value))
        for cap in range(64):  # the bounding set: no capability can ever come back
            if LIBC.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
                break
        uid = int(request["uid"])
        if not FIRST_UID <= uid:
            raise RuntimeError(f"user {uid} is not a sandbox's user (from {FIRST_UID} up)")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
        if os.getuid() == 0 or os.geteuid() == 0 or int(status["CapEff"], 16) or int(status["CapPrm"], 16):
            raise RuntimeError("the kernel kept privileges")
        _load_seccomp(bytes.fromhex(request["seccomp"]))  # before anything of the submission's can run
        os.umask(0o022)
        os.environ.clear()
        os.environ.update(request["env"], **PRELOAD_ENV, PWD=request["cwd"])
        os.chdir(request["cwd"])
        sys.argv = [request["launcher"], *request["argv"]]
        sys.dont_write_bytecode = False
        from ipykernel import kernelapp

        null = os.open("/dev/null", os.O_RDWR)  # the kernel sends its output over its sockets: nothing of it
        for fd in (0, 1, 2):                     # reaches the grader's log
            os.dup2(null, fd)
        os.close(null)
        kernelapp.launch_new_instance()
        code = 0
    except BaseException as error:  # noqa: B036, BLE001 (a forked child must never return into the server's loop)
        print(f"[grader] the kernel could not start: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    finally:
        os._exit(code)


def _spawn(request):
    """Fork a kernel into the sandbox of ``request``. The kernel's parent ends at once, so that the kernel, like one
    that bubblewrap started, is a child of the sandbox's own init (its parent is all it sees of the world)."""
    if not FIRST_UID <= int(request["uid"]):
        return {"error": f"user {request['uid']} is not a sandbox's user (from {FIRST_UID} up)"}
    if not request.get("seccomp"):
        return {"error": "no seccomp filter in the request: no kernel starts without one"}
    read_end, write_end = os.pipe()
    first = os.fork()
    if first == 0:
        code = 1
        try:
            os.close(read_end)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            _join(int(request["init"]))
            second = os.fork()  # the first process in the sandbox's PID namespace
            if second == 0:
                os.close(write_end)
                if os.fork() == 0:
                    _become_kernel(request)
                os._exit(0)
            status = os.waitstatus_to_exitcode(os.waitpid(second, 0)[1])
            os.write(write_end, b"ok\n" if status == 0 else f"error: exit {status}\n".encode())
            code = 0
        except BaseException as error:  # noqa: B036, BLE001 (a forked child must never return into the server's loop)
            try:
                os.write(write_end, f"error {type(error).__name__}: {error}\n".encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.readline().decode().strip()
    if answer == "ok":
        return {"ok": True}
    return {"error": answer or "the kernel's process stopped before it started"}


def serve(channel_fd: int, preload: list[str], first_uid: int) -> None:
    """Import ``preload``, then fork a kernel for each request on the channel, until the channel closes."""
    global FIRST_UID
    FIRST_UID = first_uid
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the grading worker that started it is gone: so is it
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # its children are reaped by the system
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; the kernel puts its own folder back
    before = dict(os.environ)
    for name in preload:
        importlib.import_module(name)
    # what the imports set in the environment (debugpy sets PYDEVD_USE_FRAME_EVAL), as a fresh kernel has it
    PRELOAD_ENV.update({key: value for key, value in os.environ.items() if before.get(key) != value})
    threads = os.listdir("/proc/self/task")
    channel = socket.socket(fileno=channel_fd)
    reader = channel.makefile("rb")
    if len(threads) != 1:
        channel.sendall(json.dumps({"error": f"{len(threads)} threads after the imports: cannot fork"}).encode()
                        + b"\n")
        return
    channel.sendall(b'{"ready": true}\n')
    for line in reader:
        try:
            answer = _spawn(json.loads(line))
        except Exception as error:  # noqa: BLE001 (the grader gets every error as an answer)
            answer = {"error": f"{type(error).__name__}: {error}"}
        channel.sendall(json.dumps(answer).encode() + b"\n")

if __name__ == "__main__":
    serve(int(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]))
