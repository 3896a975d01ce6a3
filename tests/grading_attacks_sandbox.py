"""Hostile submissions against the sandbox's seccomp filter (grading/sandbox/seccomp.py): system calls a student
would use to reach past the sandbox (debug a sibling process, make a user namespace to be root in, mount, load a BPF
program, read performance counters, set up io_uring, use the kernel's key rings, ...), each in a cell of its own.

Each attack is written so that it tells its outcome: it prints ``SYSCALL <name> <errno>`` (0: the call worked) and
raises ``OSError`` when the call was refused, as a student's code that checks its calls would. The same code run in
the same sandbox without the filter (:func:`run_unfiltered`) is the canary: there the calls that the filter alone
refuses answer otherwise (they work, or fail with another error), so the checks can fail.
"""

import errno
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from grading_cases import meta

from grading import sandbox  # noqa: E402

#: System call numbers of x86-64 (the course's machines); the attacks call them directly, as a student could.
X86_64 = {"ptrace": 101, "process_vm_readv": 310, "perf_event_open": 298, "io_uring_setup": 425, "keyctl": 250,
          "add_key": 248, "userfaultfd": 323, "bpf": 321, "mount": 165, "unshare": 272, "setns": 308,
          "personality": 135, "ioctl": 16, "kexec_load": 246, "init_module": 175}

PRELUDE = r'''import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def call(name, number, *args):
    """Make a system call; print and return its outcome (0, or the error number), raise OSError when refused."""
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) if isinstance(a, int) else a for a in args))
    code = 0 if result >= 0 else ctypes.get_errno()
    print("SYSCALL", name, code, flush=True)
    if code:
        raise OSError(code, f"{name}: {os.strerror(code)}")
    return result
'''

#: One cell per attack: {name: source}. ``N`` is the table of system call numbers.
ATTACKS = {
    # attach to a sibling process (another process of the same user: no Yama here, so only seccomp stops it)
    "ptrace": "sibling = subprocess.Popen(['sleep', '30'])\ntry:\n"
              "    call('ptrace', N['ptrace'], 16, sibling.pid, 0, 0)  # PTRACE_ATTACH\n"
              "finally:\n    sibling.kill()\n    sibling.wait()",
    # read another address space (our own: the call works wherever it is allowed)
    "process_vm_readv": "buf = ctypes.create_string_buffer(b'secret', 8)\nout = ctypes.create_string_buffer(8)\n"
                        "class IoVec(ctypes.Structure):\n"
                        "    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]\n"
                        "local = IoVec(ctypes.cast(out, ctypes.c_void_p), 8)\n"
                        "remote = IoVec(ctypes.cast(buf, ctypes.c_void_p), 8)\n"
                        "call('process_vm_readv', N['process_vm_readv'], os.getpid(), ctypes.byref(local), 1, "
                        "ctypes.byref(remote), 1, 0)",
    # a user namespace to be root in (unshare -U), then the kernel's own calls
    "unshare_tool": "result = subprocess.run(['unshare', '-U', '-r', 'id', '-u'], capture_output=True, text=True)\n"
                    "print('SYSCALL unshare_tool', 0 if result.returncode == 0 else result.stderr.strip()[-60:])\n"
                    "if result.returncode:\n    raise PermissionError(1, result.stderr.strip())",
    "unshare": "call('unshare', N['unshare'], 0x10000000)  # CLONE_NEWUSER",
    "setns": "call('setns', N['setns'], -1, 0)",
    "mount": "call('mount', N['mount'], b'none', b'/nonexistent-nn-attack', b'tmpfs', 0, None)",
    "bpf": "call('bpf', N['bpf'], 0, None, 0)",
    "perf_event_open": "call('perf_event_open', N['perf_event_open'], None, 0, -1, -1, 0)",
    "io_uring_setup": "call('io_uring_setup', N['io_uring_setup'], 1, None)",
    "keyctl": "call('keyctl', N['keyctl'], 0, -3, 1)  # KEYCTL_GET_KEYRING_ID of the session keyring",
    "add_key": "call('add_key', N['add_key'], None, None, None, 0, -3)",
    "userfaultfd": "call('userfaultfd', N['userfaultfd'], 1)  # UFFD_USER_MODE_ONLY",
    "personality": "try:\n    call('personality', N['personality'], 0x0040000)  # ADDR_NO_RANDOMIZE\n"
                   "finally:\n    libc.syscall(ctypes.c_long(N['personality']), ctypes.c_long(0))",
    "ioctl_tiocsti": "call('ioctl_tiocsti', N['ioctl'], 0, 0x5412, ctypes.byref(ctypes.c_char(b'x')))",
    "kexec_load": "call('kexec_load', N['kexec_load'], 0, 0, None, 0)",
    "init_module": "call('init_module', N['init_module'], None, 0, b'')",
}


def numbers():
    if platform.machine() != "x86_64":
        return None
    return X86_64


def code(names=None):
    """The attacks' code as one script (the canary runs it in one process; the submission has a cell each)."""
    names = names or ATTACKS
    parts = [PRELUDE, f"N = {numbers()!r}"]
    parts += [f"try:\n{_indent(ATTACKS[name])}\nexcept OSError:\n    pass" for name in names]
    return "\n".join(parts)


def _indent(source):
    return "\n".join("    " + line for line in source.splitlines())


def seccomp_submission(ex):
    """The solved exercise with one cell per attack after its imports: it earns full marks if the rest of the
    notebook is still graded."""
    nb = ex.answered()
    at = next(i for i, cell in enumerate(nb.cells) if meta(cell).get("grade_id") == "imports") + 1
    cells = [nbformat.v4.new_code_cell(PRELUDE + f"\nN = {numbers()!r}")]
    cells += [nbformat.v4.new_code_cell(ATTACKS[name]) for name in ATTACKS]
    nb.cells[at:at] = cells
    return nb


def outcomes(text):
    """``{name: outcome}`` from the ``SYSCALL name outcome`` lines of a text (an int, or the error text of a tool)."""
    found = {}
    for line in text.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[0] == "SYSCALL":
            found[parts[1]] = int(parts[2]) if parts[2].lstrip("-").isdigit() else parts[2]
    return found


def graded_outcomes(notebook_path):
    """The outcomes printed in an autograded notebook, and the errors of its cells: ``{name: "ename: evalue"}`` for
    an attack's cell (by the name it printed), ``{"cell N": ...}`` for a cell that printed none (a timeout, say)."""
    nb = nbformat.read(notebook_path, as_version=4)
    text, errors = [], {}
    for index, cell in enumerate(nb.cells):
        printed = outcomes("".join(o.get("text", "") for o in cell.get("outputs", [])
                                   if o.get("output_type") == "stream"))
        text += [f"SYSCALL {name} {outcome}" for name, outcome in printed.items()]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                for name in printed or [f"cell {index + 1}"]:
                    errors[name] = f"{output.get('ename')}: {output.get('evalue')}"
    return outcomes("\n".join(text)), errors


def run_unfiltered(names=None, timeout=120):
    """The canary: the attacks' code in the same sandbox as a graded kernel (its user, namespaces, mounts, limits)
    but without the seccomp filter; returns ``{name: outcome}``."""
    with tempfile.TemporaryDirectory(prefix="nn-seccomp-canary-") as tmp:
        run_dir, submission = Path(tmp) / "run", Path(tmp) / "submission"
        run_dir.mkdir()
        submission.mkdir()
        os.chmod(tmp, 0o755)
        uid, lock = sandbox.allocate_uid()
        try:
            argv = sandbox.command([sys.executable, "-I", "-c", code(names)], run_dir, submission, sandbox.Limits(),
                                   uid)
            result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                    env=sandbox.bwrap_environment())
        finally:
            lock.close()
    return outcomes(result.stdout)


#: The calls that fail with EPERM in the sandbox whatever the filter says (a capability they need is gone).
def refused_anyway(unfiltered):
    return {name for name, outcome in unfiltered.items() if outcome == errno.EPERM}


def as_json(value):
    return json.dumps(value, sort_keys=True)
