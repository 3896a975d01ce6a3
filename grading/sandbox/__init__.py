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
- a seccomp filter (:mod:`grading.sandbox.seccomp`): the system calls a notebook never needs and an attacker would
  (ptrace, perf_event_open, bpf, io_uring, mounts, namespaces, ...) answer EPERM;
- nothing of the grader: not its environment (bubblewrap itself starts with a clean one), its standard input or
  output, or any file it has open.

The trusted side (nbgrader, the gradebook, the records) stays outside and talks to the kernel only through the
kernel protocol, over ZeroMQ IPC sockets in the kernel's run folder: inside the sandbox a 1 MiB tmpfs of its own
(the grader reaches the sockets through ``/proc/<the sandbox's init>/root``, the init bubblewrap reports on
``--info-fd``), outside a folder under the grader's :func:`run_root` (never a name in the shared /tmp another user
could take first). Without root, bubblewrap runs as the grader's own user in a user namespace; the kernel is then
the sandbox's process 1, so that no process of bubblewrap's (its environment, its memory) is within its reach.

The sandbox fails closed: :func:`check` raises :class:`SandboxError`, saying what is missing and how to install it,
and the autograde stops before grading anyone. ``SANDBOX=0`` switches it off for trusted work; every run that used
it says so in its output and in the summary.

One job per module:

- :mod:`~grading.sandbox.common`: the error, the ``SANDBOX=0`` switch, whether the grader is root;
- :mod:`~grading.sandbox.limits`: what a kernel may use, and the user id each sandbox runs as;
- :mod:`~grading.sandbox.folders`: the run folders of the kernels, and the copy of a submission's folder;
- :mod:`~grading.sandbox.bwrap`: the bubblewrap command, what it reports, and :func:`check` of this machine;
- :mod:`~grading.sandbox.seccomp`: the system calls a kernel may not make;
- :mod:`~grading.sandbox.zygote` (with ``zygote_server.py``, the preloaded process's own code): kernels forked from
  a process that has imported what every kernel needs;
- :mod:`~grading.sandbox.kernel`: the kernel manager nbgrader uses, and its client;
- :mod:`~grading.sandbox.reap`: the processes a sandbox still runs, and the end of any it leaves.
"""

from .bwrap import (
    CONNECTION_COPY,
    CONNECTION_FILE,
    COURSE_PACKAGES,
    ETC_FILES,
    HOME,
    INSTALL_HINT,
    RUN_DIR_MB,
    SUBMISSION,
    WORK,
    bwrap_environment,
    check,
    command,
    course_package_dirs,
    kernel_environment,
    read_info,
    usable,
)
from .common import SandboxError, as_root, enabled
from .folders import RUN_ROOT_VARIABLE, process_run_root, run_root, stage_submission
from .kernel import SOCKET_PATH_MAX, PromptKernelClient, SandboxedKernelManager
from .limits import DEFAULT_UID, Limits, allocate_uid, sandbox_uid
from .reap import kill_leftovers, processes_of
from .zygote import PRELOAD, WAITER, Zygote, preload_enabled, waiter_argv

__all__ = [
    "CONNECTION_COPY", "CONNECTION_FILE", "COURSE_PACKAGES", "DEFAULT_UID", "ETC_FILES", "HOME", "INSTALL_HINT",
    "PRELOAD", "RUN_DIR_MB", "RUN_ROOT_VARIABLE", "SOCKET_PATH_MAX", "SUBMISSION", "WAITER", "WORK",
    "Limits", "PromptKernelClient", "SandboxError", "SandboxedKernelManager", "Zygote",
    "allocate_uid", "as_root", "bwrap_environment", "check", "command", "course_package_dirs", "enabled",
    "kernel_environment", "kill_leftovers", "preload_enabled", "process_run_root", "processes_of", "read_info",
    "run_root", "sandbox_uid", "stage_submission", "usable", "waiter_argv",
]
