"""The hub's exchange classes (deploy/jupyterhub/jupyter/nbgrader_config.py) on a folder, without a hub: a fast check
of the rules that tests/jupyter/test_hub.py checks through a real class.

Run as root: the submissions belong to the machine's own system users (``daemon``, ``bin``), made with ``chown``, as
if those users had handed them in. Each attack sits beside an honest submission of ``daemon``:

- a folder named after ``daemon`` but owned by ``bin`` (``submit --student=daemon``), dated 2099;
- ``bin``'s own submission whose notebook is a link to a secret, and a FIFO beside it;
- a submission folder that is a link;
- a user not on the roster.

The honest one is collected byte for byte with the server's time; every attack is listed; nothing of the secret is
copied.
"""

import datetime
import grp
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "jupyterhub" / "jupyter" / "nbgrader_config.py"
EX = "ex01_perceptron"
SECRET = b"SECRET-4b1d-the-solutions"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="making submissions of other users needs root (chown)")


def exchange_classes():
    """The classes the hub's nbgrader_config.py defines, loaded as nbgrader loads it."""
    namespace = {"get_config": Config, "__file__": str(CONFIG)}
    exec(compile(CONFIG.read_text(), str(CONFIG), "exec"), namespace)  # noqa: S102 (the course's own config)
    return namespace


@pytest.fixture
def exchange(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT))
    root = tmp_path / "exchange"
    inbound = root / "nn-in-python" / "inbound"
    inbound.mkdir(parents=True)
    course = tmp_path / "course"
    course.mkdir()
    secret = tmp_path / "solutions.ipynb"
    secret.write_bytes(SECRET)
    users = {name: pwd.getpwnam(name) for name in ("daemon", "bin", "sys")}
    roster = f"nnx{os.getpid()}"
    subprocess.run(["groupadd", roster], check=True)
    subprocess.run(["gpasswd", "-M", "daemon,bin", roster], check=True, capture_output=True)
    monkeypatch.setenv("NBGRADER_ROSTER_GROUP", roster)
    try:
        yield root, inbound, course, secret, users
    finally:
        subprocess.run(["groupdel", roster], capture_output=True)
        sys.path.remove(str(ROOT))


def submission(inbound, name, owner, notebook=b'{"cells": []}'):
    folder = inbound / name
    folder.mkdir()
    if notebook is not None:
        (folder / f"{EX}.ipynb").write_bytes(notebook)
    (folder / "timestamp.txt").write_text("2099-01-01 00:00:00.000000 UTC")
    for path in (folder, *folder.iterdir()):
        os.chown(path, owner.pw_uid, owner.pw_gid, follow_symlinks=False)
    return folder


def collect(root, course):
    classes = exchange_classes()
    coursedir = CourseDirectory(root=str(course), course_id="nn-in-python", assignment_id=EX)
    collector = classes["SafeCollect"](coursedir=coursedir, authenticator=Authenticator(), root=str(root),
                                       update=True)
    collector.start()
    problems = json.loads((course / "grades" / "collect_problems.json").read_text())
    return problems, {p.name: p for p in (course / "submitted").iterdir()} if (course / "submitted").exists() else {}


def test_identity_time_links_and_roster(exchange):
    root, inbound, course, secret, users = exchange
    honest = b'{"cells": [], "honest": true}'
    submission(inbound, f"daemon+{EX}+2026-01-01 00:00:00.000000 UTC", users["daemon"], honest)
    submission(inbound, f"daemon+{EX}+2099-01-01 00:00:00.000000 UTC", users["bin"])  # bin pretending
    linked = submission(inbound, f"bin+{EX}+2098-01-01 00:00:00.000000 UTC", users["bin"], notebook=None)
    (linked / f"{EX}.ipynb").symlink_to(secret)
    os.mkfifo(linked / "fifo.ipynb")
    os.chown(linked / "fifo.ipynb", users["bin"].pw_uid, users["bin"].pw_gid)
    (inbound / f"bin+{EX}+2097-01-01 00:00:00.000000 UTC").symlink_to(secret.parent)
    submission(inbound, f"sys+{EX}+2026-01-01 00:00:00.000000 UTC", users["sys"])  # not on the roster
    problems, submitted = collect(root, course)
    kinds = sorted((Path(p["source"]).name.split("+")[0] if "+" in Path(p["source"]).name
                    else Path(p["source"]).name, p["kind"]) for p in problems)
    assert ("daemon", "identity") in kinds and ("sys", "not on the roster") in kinds, kinds
    assert (f"{EX}.ipynb", "symbolic link") in kinds and ("fifo.ipynb", "FIFO") in kinds, kinds
    assert ("bin", "not a folder") in kinds and ("bin", "no notebook") in kinds, kinds
    assert sorted(submitted) == ["daemon"], sorted(submitted)
    collected = submitted["daemon"] / EX
    assert (collected / f"{EX}.ipynb").read_bytes() == honest
    stamp = (collected / "timestamp.txt").read_text()
    when = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f UTC")
    assert abs((datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - when).total_seconds()) < 600, stamp  # noqa: E501 (the server's clock, not 2099)
    assert not any(SECRET in p.read_bytes() for p in (course / "submitted").rglob("*") if p.is_file())
    assert grp.getgrnam(os.environ["NBGRADER_ROSTER_GROUP"])  # the roster was a real group


def test_release_refuses_a_squatted_course_folder(exchange):
    root, inbound, course, secret, users = exchange
    os.chown(root / "nn-in-python", users["bin"].pw_uid, users["bin"].pw_gid)  # made by a student first
    classes = exchange_classes()
    release = classes["SafeReleaseAssignment"](coursedir=CourseDirectory(root=str(course), course_id="nn-in-python"),
                                               authenticator=Authenticator(), root=str(root))
    release.course_path = str(root / "nn-in-python")
    with pytest.raises(Exception, match="squatted"):
        release.ensure_directory(str(root / "nn-in-python"), 0o755)
