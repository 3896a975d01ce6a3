"""Kernels forked from a preloaded process (:class:`Zygote`, whose own code is zygote_server.py) into the sandbox
bubblewrap built for each submission, where that sandbox runs :data:`WAITER` in the kernel's place."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import seccomp
from .bwrap import WORK, kernel_environment
from .common import SandboxError, as_root
from .limits import Limits, sandbox_uid

#: What the preloaded process imports, so that no kernel has to: ipykernel with IPython, numpy, nnlib, and
#: scikit-learn's base (which nnlib's estimators import; about 0.9 s of a 1.6 s kernel start on its own). Nothing
#: that reads a home folder or a configuration when imported (matplotlib does: it is not preloaded).
PRELOAD = ("ipykernel.kernelapp", "ipykernel.debugger", "IPython.core.history", "numpy", "sklearn.base")
#: The preloaded process's program (run as text, never imported by the grader).
SERVER = Path(__file__).with_name("zygote_server.py")
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


def waiter_argv() -> list[str]:
    """The command line of :data:`WAITER` (how the grader recognises it among the sandbox's processes)."""
    return [sys.executable, "-I", "-S", "-c", WAITER]


def preload_enabled() -> bool:
    """Kernels are forked from a preloaded process (:class:`Zygote`) unless ``SANDBOX_PRELOAD=0``; only where the
    grader runs as root (the preloaded process joins each sandbox's namespaces, which takes root)."""
    return as_root() and os.environ.get("SANDBOX_PRELOAD", "1").strip().lower() not in ("0", "no", "off", "false")


class Zygote:
    """A process that has imported what every kernel needs, and forks each grading kernel into its sandbox.

    A kernel started from scratch spends most of its start-up importing the same libraries (ipykernel, numpy,
    nnlib, scikit-learn) for every submission. This process (``grading/sandbox/zygote_server.py``) imports them once
    and forks a kernel for each submission instead. It is started by the grading worker with a sandbox's clean
    environment, never runs or reads a submission, the gradebook or the solutions, and holds no file of the
    course open, so a forked kernel inherits only the imported libraries.

    The walls are still bubblewrap's: each submission gets its own sandbox from :func:`grading.sandbox.command`
    (its mounts, its PID, network, IPC and UTS namespaces, its user and limits), running :data:`WAITER` in place of
    the kernel. The forked child joins that sandbox's namespaces, sets the same limits prlimit would, drops to the
    sandbox's user with no capability and no new privileges (as setpriv does), and starts ipykernel. When the
    kernel ends the waiter ends, and with it the sandbox and everything the kernel started.
    """

    _shared: "Zygote | None" = None

    @classmethod
    def shared(cls) -> "Zygote":
        """The grading process's preloaded process, started on first use (and again should it have died)."""
        if cls._shared is None or cls._shared.process.poll() is not None:
            cls._shared = cls()
        return cls._shared

    def __init__(self, preload: Sequence[str] = PRELOAD) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen([sys.executable, "-B", "-c", SERVER.read_text(), str(theirs.fileno()),
                                         json.dumps(list(preload)), str(sandbox_uid())],
                                        env=kernel_environment(), cwd="/",
                                        stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),))
        theirs.close()
        ours.settimeout(120)
        self.channel, self.reader, self.ready = ours, ours.makefile("rb"), False

    def _wait_ready(self) -> None:
        """The imports take a second or two; they run while the grader prepares the first submission."""
        if not self.ready:
            answer = self._answer()
            if not answer.get("ready"):
                self.stop()
                raise SandboxError(f"the preloaded kernel process could not start: {answer.get('error')}")
            self.ready = True

    def _answer(self) -> dict[str, Any]:
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

    def spawn(self, init: int, uid: int, limits: Limits, argv: Sequence[str], cwd: str = WORK) -> None:
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

    def stop(self) -> None:
        """Stop the preloaded process."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.channel.close()
