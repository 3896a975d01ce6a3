"""How the grader learns which process is a sandbox's init: bubblewrap's own report on ``--info-fd``
(grading.sandbox.read_info), not a search of bubblewrap's children.

The report is checked against what the kernel of Linux says of that process (its parent, its namespaces, its
child), and against what the search used to find (bubblewrap's child in another mount namespace). A report that
never comes, or that is not one, is a clear error, not a hang; the pipe does not reach the sandbox."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time

import psutil
import pytest

from grading import sandbox

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap: apt-get install bubblewrap")

#: Run in the sandbox: the files it has open, then wait to be looked at.
PROBE = "import os, sys, time\nprint(sorted(os.listdir('/proc/self/fd')), flush=True)\ntime.sleep(30)\n"


def _report(data, close=True):
    """The pid read_info makes of ``data`` written on a pipe (the write end closed, as bubblewrap's is)."""
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    if close:
        os.close(write_end)
    try:
        return asyncio.run(sandbox.read_info(read_end, timeout=2))
    finally:
        if not close:
            os.close(write_end)


def test_a_report_is_read():
    """bubblewrap 0.8's report, as it writes it (hand-copied from a run), gives its child-pid."""
    text = b'{\n    "child-pid": 21610,\n    "mnt-namespace": 4026532174,\n    "pid-namespace": 4026532175\n}\n'
    assert _report(text) == 21610


@pytest.mark.parametrize("data", [b"", b"{}", b"not json", b'{"child-pid": "12"}', b'{"child-pid": true}',
                                  b'{"child-pid": 1}', b'[1, 2]'])
def test_what_is_not_a_report_is_an_error(data):
    with pytest.raises(sandbox.SandboxError, match="did not come up"):
        _report(data)


def test_a_report_that_never_ends_is_an_error_not_a_hang():
    start = time.monotonic()
    with pytest.raises(sandbox.SandboxError, match="took over"):
        _report(b'{"child-pid": 5', close=False)
    assert time.monotonic() - start < 10


def _start(tmp_path, argv, extra=()):
    run_dir, submission = tmp_path / "run", tmp_path / "submission"
    run_dir.mkdir()
    submission.mkdir()
    os.chmod(tmp_path, 0o755)
    uid, lock = sandbox.allocate_uid()
    read_end, write_end = os.pipe()
    command = sandbox.command(argv, run_dir, submission, sandbox.Limits(), uid, info_fd=write_end)
    box = subprocess.Popen([command[0], *extra, *command[1:]],
                           env=sandbox.bwrap_environment(), pass_fds=(write_end,), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    return box, read_end, uid, lock


@needs_bwrap
def test_the_reported_process_is_the_sandboxs_init(tmp_path):
    box, read_end, uid, lock = _start(tmp_path, [sys.executable, "-I", "-c", PROBE])
    try:
        init = asyncio.run(sandbox.read_info(read_end))
        fds = json.loads(box.stdout.readline().replace("'", '"'))  # the probe has started: the sandbox is built
        process = psutil.Process(init)
        assert process.ppid() == box.pid, "not bubblewrap's own child"
        for namespace in ("mnt", "pid", "net"):
            assert os.readlink(f"/proc/{init}/ns/{namespace}") != os.readlink(f"/proc/self/ns/{namespace}")
        # what the grader searched for before: bubblewrap's child in a mount namespace other than its own
        ours = os.stat("/proc/self/ns/mnt").st_ino
        searched = [c.pid for c in psutil.Process(box.pid).children()
                    if os.stat(f"/proc/{c.pid}/ns/mnt").st_ino != ours]
        assert searched == [init]
        # the probe is the init's child as root (bubblewrap's reaper is process 1), the init itself without root
        probe = [c for c in process.children() if c.uids().real == uid] if os.geteuid() == 0 else [process]
        assert len(probe) == 1 and probe[0].cmdline()[-1] == PROBE
        # nothing of the grader's open files in the sandbox: not the report's pipe, not anything else
        assert fds == ["0", "1", "2", "3"], fds  # 3: the listing's own
    finally:
        box.kill()
        box.wait()
        lock.close()


@needs_bwrap
def test_a_bubblewrap_that_fails_to_start_is_reported(tmp_path):
    """bubblewrap stops before it makes a sandbox (here: an option it does not know): the report's pipe ends
    empty, which is an error at once, not a wait for the time limit."""
    box, read_end, uid, lock = _start(tmp_path, [sys.executable, "-I", "-c", PROBE], extra=["--no-such-option"])
    try:
        start = time.monotonic()
        with pytest.raises(sandbox.SandboxError, match="did not come up"):
            asyncio.run(sandbox.read_info(read_end, timeout=30))
        assert time.monotonic() - start < 10
        assert box.wait(timeout=10) != 0 and "no-such-option" in box.stderr.read()
    finally:
        box.kill()
        box.wait()
        lock.close()
