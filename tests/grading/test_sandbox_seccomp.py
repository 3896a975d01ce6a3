"""The seccomp filter on every graded kernel (grading/sandbox/seccomp.py).

A hostile submission (tests/grading_attacks_sandbox.py: the solved exercise plus one cell per system call a student
would use to reach past the sandbox: ptrace of a sibling, ``unshare -U``, mount, bpf, perf_event_open,
io_uring_setup, keyctl, ...) is graded next to an honest classmate through the real workflow (``python -m grading
grade``, two at a time), once with kernels forked from the preloaded process and once with kernels started from
scratch: every call is refused with EPERM, the rest of the notebook is still graded (full marks), and the honest
grade is the solution's. The canary runs the same code in the same sandbox without the filter: there the calls work
or fail otherwise, so each check can fail. (The honest classmate's full marks show that numpy, matplotlib,
ipykernel and zmq need nothing the filter refuses.)
"""

import csv
import errno
import os
import shutil
import subprocess

import grading_attacks_sandbox as gs
import pytest
from grading_cases import ROOT, Exercise, attention_kinds, exercises, make_course, run_grading, write_submissions

from grading.sandbox import seccomp  # noqa: E402

pytestmark = [pytest.mark.skipif(gs.numbers() is None, reason="the attacks use x86-64 system call numbers"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")]

NAME = exercises()[0]
ENV = {"NBGRADER_CELL_TIMEOUT": "30", "JOBS": "2", "SANDBOX": "1"}
ATTACKER, HONEST = "syscalls", "honest"


def exercise(name=NAME):
    return Exercise(ROOT / "solutions" / name / f"{name}.ipynb", ROOT / "exercises" / name / f"{name}.ipynb")


def grade(course, src, extra_env):
    return run_grading(course, "grade", src, env={**ENV, **extra_env}, timeout=900)


def scores(course):
    with open(course / "grades" / "grades.csv", newline="") as handle:
        return {(row["assignment"], row["student_id"]): float(row["score"]) for row in csv.DictReader(handle)}


KINDS = ["preloaded", "fresh"] if os.geteuid() == 0 else ["fresh"]


@pytest.fixture(scope="module", params=KINDS)
def graded(request, tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("course"), [NAME])
    ex = exercise()
    src = write_submissions(tmp_path_factory.mktemp("download"), {
        HONEST: (f"{NAME}.ipynb", ex.answered(), None, None),
        ATTACKER: (f"{NAME}.ipynb", gs.seccomp_submission(ex), None, None)})
    grade(course, src, {"SANDBOX_PRELOAD": "1" if request.param == "preloaded" else "0"})
    notebook = course / "autograded" / ATTACKER / NAME / f"{NAME}.ipynb"
    outcomes, errors = gs.graded_outcomes(notebook)
    return {"course": course, "ex": ex, "outcomes": outcomes, "errors": errors, "kind": request.param}


def test_every_call_is_refused_with_eperm(graded):
    assert set(graded["outcomes"]) == set(gs.ATTACKS), (graded["outcomes"], graded["errors"])
    outcomes = dict(graded["outcomes"])
    assert "Operation not permitted" in outcomes.pop("unshare_tool")
    assert outcomes == {name: errno.EPERM for name in outcomes}, outcomes
    # ... and the student's code saw it as an error of its own, the cell failing with EPERM
    assert all("[Errno 1]" in graded["errors"].get(name, "") for name in outcomes), graded["errors"]


def test_the_rest_of_the_notebook_is_graded(graded):
    course, ex = graded["course"], graded["ex"]
    assert scores(course) == {(NAME, ATTACKER): pytest.approx(ex.test_points),
                              (NAME, HONEST): pytest.approx(ex.test_points)}


def test_the_attacker_is_listed_and_the_honest_student_is_not(graded):
    kinds = attention_kinds(graded["course"])
    assert "blocked by the sandbox" in kinds.get(ATTACKER, set()), kinds
    assert HONEST not in kinds, kinds


def test_canary_without_the_filter_the_calls_answer_otherwise():
    """The same code in the same sandbox (user, namespaces, mounts, limits), without the filter: each call that the
    tests above saw refused with EPERM works or fails with another error, so nothing else in the sandbox refused
    it."""
    unfiltered = gs.run_unfiltered()
    assert set(unfiltered) == set(gs.ATTACKS), unfiltered
    refused = gs.refused_anyway(unfiltered)
    assert not refused & {"ptrace", "process_vm_readv", "mount", "perf_event_open", "io_uring_setup", "keyctl",
                          "personality", "userfaultfd", "setns", "ioctl_tiocsti"}, unfiltered
    # unshare works in the root path's sandbox (a user namespace of its own); the unprivileged path's bubblewrap
    # already forbids nested user namespaces (ENOSPC), still not EPERM
    assert unfiltered["unshare"] != errno.EPERM, unfiltered


def test_the_filter_itself():
    """The filter loaded on a forked child of this process, outside any sandbox: what it refuses and with which
    error, and that what a kernel needs (fork, threads, subprocesses, Unix and IP sockets) still works."""
    import ctypes
    import json

    from grading.sandbox import zygote_server

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            zygote_server._prctl(zygote_server.PR_SET_NO_NEW_PRIVS, 1)
            zygote_server._load_seccomp(seccomp.program())
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long

            def call(number, *args):
                ctypes.set_errno(0)
                result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
                if result == 0 and number in (56,):  # a clone that worked: the child leaves at once
                    os._exit(0)
                return 0 if result >= 0 else ctypes.get_errno()

            import socket
            import threading

            facts = {
                "clone_newuser": call(56, 0x10000000 | 17, 0, 0, 0, 0),
                "clone_newns": call(56, 0x00020000 | 17, 0, 0, 0, 0),
                "clone_newnet": call(56, 0x40000000 | 17, 0, 0, 0, 0),
                "clone3": call(435, 0, 0),
                "x32_ptrace": call(0x40000000 | 521, 0, 0, 0, 0),
                "personality_query": call(135, 0xFFFFFFFF),
                "personality_linux": call(135, 0),
                "personality_norandom": call(135, 0x0040000),
                "personality_high_bits": call(135, 0x100040000),
                "socket_vsock": call(41, 40, 1, 0), "socket_packet": call(41, 17, 3, 0),
                "socket_alg": call(41, 38, 5, 0),
                # this process is root: only the filter stops these
                "setuid_root": call(105, 0), "setuid_root_high_bits": call(105, 1 << 32),
                "setresuid_root": call(117, -1, 0, -1), "setresgid_root": call(119, -1, -1, 0),
                "setfsuid_root": call(122, 0),
                "setresuid_other": call(117, -1, -1, -1),
            }
            for family in (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6):
                socket.socket(family).close()
            worker = threading.Thread(target=lambda: None)
            worker.start()
            worker.join()
            child = os.fork()
            if child == 0:
                os._exit(7)
            facts["fork"] = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
            facts["subprocess"] = subprocess.run(["true"]).returncode
            with open("/proc/self/status") as status:
                facts["seccomp_mode"] = next(line for line in status if line.startswith("Seccomp:"))
            os.write(write_end, json.dumps(facts).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    facts = json.loads(data)
    assert facts["seccomp_mode"].split() == ["Seccomp:", "2"]
    assert facts["clone_newuser"] == facts["clone_newns"] == facts["clone_newnet"] == errno.EPERM
    assert facts["clone3"] == errno.ENOSYS  # so that the C library falls back to clone(), whose flags it sees
    assert facts["x32_ptrace"] == errno.ENOSYS  # another ABI's system calls: all refused
    assert facts["personality_query"] == facts["personality_linux"] == 0
    assert facts["personality_norandom"] == facts["personality_high_bits"] == errno.EPERM
    assert facts["socket_vsock"] == facts["socket_packet"] == facts["socket_alg"] == errno.EAFNOSUPPORT
    assert facts["fork"] == 7 and facts["subprocess"] == 0
    assert facts["setuid_root"] == facts["setuid_root_high_bits"] == facts["setresuid_root"] == errno.EPERM
    assert facts["setresgid_root"] == facts["setfsuid_root"] == errno.EPERM
    assert facts["setresuid_other"] == 0  # changing nothing is allowed
