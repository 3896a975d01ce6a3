"""The sandbox's mounts in the order bubblewrap applies them: a later mount hides an earlier one below it.

A CI machine may clone the course under /tmp, and the environment (.venv) with it. The sandbox gives every kernel a
private /tmp; mounted after the environment, that tmpfs would hide the interpreter, and no submission could be
graded ("exec: .../.venv/bin/python: not found"). So the private /tmp must come first and the environment and the
course be bound on top of it.

Where the grader keeps its kernels' run folders: never a name in the shared /tmp that a student could make first,
never a folder someone else owns or can write in.
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grading import sandbox


def test_an_environment_under_tmp_is_bound_after_the_private_tmp(tmp_path, monkeypatch):
    prefix = "/tmp/ci-clone/.venv"
    monkeypatch.setattr(sys, "prefix", prefix)
    argv = sandbox.command(["python", "-m", "ipykernel_launcher"], tmp_path / "run", tmp_path / "submission",
                           sandbox.Limits(), uid=sandbox.sandbox_uid())
    pairs = list(zip(argv, argv[1:]))
    private_tmp = pairs.index(("--tmpfs", "/tmp"))
    environment = next(i for i, (flag, path) in enumerate(pairs) if flag == "--ro-bind" and path == prefix)
    assert private_tmp < environment, "the private /tmp is mounted over the environment and hides it"
    for package in sandbox.course_package_dirs():  # nnlib, wherever the course lives
        assert pairs.index(("--ro-bind", package)) > private_tmp



# ---- the run root: where the kernels' run folders are made ---------------------------------------------------

RUN_ROOT_PROBE = """
import os, stat, sys
sys.path.insert(0, {root!r})
from grading import sandbox
root = sandbox.run_root()
info = os.lstat(root)
print(root, info.st_uid, oct(stat.S_IMODE(info.st_mode)), stat.S_ISDIR(info.st_mode))
"""


@pytest.fixture
def public_tmp():
    """A folder every user can reach (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="nn-runroot-test-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _user():
    """The ordinary user the probe runs as: nobody when this runs as root, else oneself."""
    return pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()


def _probe_run_root(env):
    """run_root() in a fresh process of an ordinary user: its path, owner, mode, and whether it is a folder."""
    argv = [sys.executable, "-c", RUN_ROOT_PROBE.format(root=str(Path(__file__).resolve().parents[2]))]
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("runuser (util-linux) is missing")
        argv = ["runuser", "-u", "nobody", "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
        env = None
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/", timeout=60)
    assert result.returncode == 0, result.stderr
    path, uid, mode, is_dir = result.stdout.split()
    return Path(path), int(uid), mode, is_dir == "True"


def test_a_run_root_someone_else_could_write_is_never_used(public_tmp):
    """A run root named by the environment, or an $XDG_RUNTIME_DIR, that is another user's or that others can write
    in (a student made it first) is not used: the grader makes a private folder with an unpredictable name, and
    removes it when it ends."""
    squat, runtime = public_tmp / "squatted", public_tmp / "runtime"
    for folder in (squat, runtime):
        folder.mkdir()
        os.chmod(folder, 0o777)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "NN_GRADING_RUN_ROOT": str(squat), "XDG_RUNTIME_DIR": str(runtime)}
    path, uid, mode, is_dir = _probe_run_root(env)
    assert path != squat and runtime not in path.parents and squat not in path.parents
    assert is_dir and uid == _user() and mode == "0o711"
    assert path.name.startswith("nn-grading-") and path.name != f"nn-grading-{uid}"
    assert list(squat.iterdir()) == [] and list(runtime.iterdir()) == []
    assert not path.exists(), "the private run root outlived the process that made it"


def test_a_private_runtime_folder_is_used(public_tmp):
    """An $XDG_RUNTIME_DIR of the user's own, that no one else can write in, holds the run root (shared by all the
    grader's runs, so that sandbox user ids are never given out twice)."""
    runtime = public_tmp / "runtime"
    runtime.mkdir(mode=0o700)
    os.chown(runtime, _user(), -1)
    path, uid, mode, is_dir = _probe_run_root({"PATH": "/usr/bin:/bin", "HOME": "/", "XDG_RUNTIME_DIR": str(runtime)})
    assert path == runtime / "nn-grading" and is_dir and uid == _user() and mode == "0o711"


@pytest.mark.skipif(os.geteuid() != 0, reason="root's run root")
def test_roots_run_root_is_in_run():
    root = sandbox.run_root()
    assert root == Path("/run/nn-grading")
    info = os.lstat(root)
    assert info.st_uid == 0 and oct(info.st_mode & 0o7777) == "0o711"
