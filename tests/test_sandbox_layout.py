"""The sandbox's mounts in the order bubblewrap applies them: a later mount hides an earlier one below it.

A CI machine may clone the course under /tmp, and the environment (.venv) with it. The sandbox gives every kernel a
private /tmp; mounted after the environment, that tmpfs would hide the interpreter, and no submission could be
graded ("exec: .../.venv/bin/python: not found"). So the private /tmp must come first and the environment and the
course be bound on top of it.
"""

import sys

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
