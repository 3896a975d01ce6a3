"""The course's exchange classes (grading/plugins/exchange.py, installed by deploy/jupyterhub/jupyter/
nbgrader_config.py) on folders, without a hub: a fast check of the rules that tests/jupyter/test_hub.py checks
through a real class, and of the per-user layout of the Kubernetes class, which no test here can run on a cluster.

Run as root: the submissions belong to the machine's own system users (``daemon``, ``bin``, ``sys``, ``games``).

Shared layout (one machine), each attack beside an honest submission of ``daemon``, made with ``chown`` as if those
users had handed them in:

- a folder named after ``daemon`` but owned by ``bin`` (``submit --student=daemon``), dated 2099;
- ``bin``'s own submission whose notebook is a link to a secret, and a FIFO beside it;
- a submission folder that is a link;
- a user not on the roster.

Per-user layout (Kubernetes): each student's pod is played by bubblewrap with the mounts deploy/kubernetes/values.yaml
gives a student's pod (outbound read-only, their own ``inbound/<user>`` read-write, their own ``feedback/<user>``
read-only, nothing else of the exchange volume), running as that student. ``daemon`` submits honestly with the
course's own submit class; ``bin``, from inside its pod, tries to write anywhere else on the volume, hands in under
``daemon``'s name dated 2099, with a link to a secret, a submission folder that is a link, a FIFO, a hard link, an
oversize file and file times set to 2099; ``games`` floods its folder; ``sys`` is not on the roster. Then the
instructor collects and releases feedback, and each pod looks for a classmate's feedback.

Each time: the honest one is collected byte for byte with the server's time; every attack is listed, as the
attacker's; nothing of the secret is copied.
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

from grading.plugins import exchange as exchange_module

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "jupyterhub" / "jupyter" / "nbgrader_config.py"
EX = "ex01_perceptron"
SECRET = b"SECRET-4b1d-the-solutions"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="making submissions of other users needs root (chown)")


def load_deploy_config():
    """The hub's nbgrader_config.py, loaded as nbgrader loads it: its ``c``."""
    config = Config()
    namespace = {"get_config": lambda: config, "__file__": str(CONFIG)}
    exec(compile(CONFIG.read_text(), str(CONFIG), "exec"), namespace)  # noqa: S102 (the course's own config)
    return config


def exchange_classes():
    """The exchange classes the hub's nbgrader_config.py installs, by nbgrader's step names and class names."""
    factory = load_deploy_config().ExchangeFactory
    return {cls.__name__: cls for cls in (factory[step] for step in exchange_module.EXCHANGE_CLASSES)}


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


# ---- the deploy configuration --------------------------------------------------------------------------------

def test_the_hub_config_installs_the_course_classes():
    factory = load_deploy_config().ExchangeFactory
    for step, cls in exchange_module.EXCHANGE_CLASSES.items():
        assert factory[step] is cls, (step, factory[step])


def test_without_the_course_classes_every_step_refuses(monkeypatch, capsys):
    """The hub's config never falls back to nbgrader's own classes (folder names for identity, links followed)."""
    from nbgrader.exchange.abc.exchange import ExchangeError
    from nbgrader.exchange.default import ExchangeCollect, ExchangeSubmit

    monkeypatch.setitem(sys.modules, "grading.plugins", None)  # `from grading.plugins import ...` now fails
    monkeypatch.setitem(sys.modules, "grading.plugins.exchange", None)
    factory = load_deploy_config().ExchangeFactory
    assert "can't be imported" in capsys.readouterr().err
    assert issubclass(factory["collect"], ExchangeCollect) and issubclass(factory["submit"], ExchangeSubmit)
    for step in exchange_module.EXCHANGE_CLASSES:
        with pytest.raises(ExchangeError, match="can't be imported"):
            factory[step](coursedir=CourseDirectory(), authenticator=Authenticator()).start()
        assert factory[step] is not exchange_module.EXCHANGE_CLASSES[step]


def test_a_wrong_layout_is_named(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXCHANGE_LAYOUT", "per_user")
    with pytest.raises(ValueError, match=r"NBGRADER_EXCHANGE_LAYOUT: expected one of shared, per-user, got 'per_user'"):
        exchange_module.layout()


# ---- the per-user layout (Kubernetes), each student's pod played by bubblewrap --------------------------------

COURSE = "nn-in-python"
POD_ROOT = "/mnt/exchange"  # the exchange root as a pod sees it (a fresh tmpfs over /mnt in the pod)
SUBMIT = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from grading.plugins.exchange import PrivateSubmit
coursedir = CourseDirectory(root="/mnt/home", course_id={COURSE!r}, assignment_id={EX!r})
PrivateSubmit(coursedir=coursedir, authenticator=Authenticator(), root={POD_ROOT!r},
              cache="/mnt/home/.cache").start()
"""


class Volume:
    """The exchange volume of a Kubernetes class, as folders: what the set-up Job and each pod's init container make
    (deploy/kubernetes/exchange-pvc.yaml, values.yaml), the pods' mounts, and the instructor's side."""

    def __init__(self, base, students):
        self.base, self.students = base, students
        self.volume = base / "volume"
        self.course = self.volume / COURSE
        for part in ("outbound", "inbound", "feedback"):
            (self.course / part).mkdir(parents=True)
        for user in students:  # the init container of each student's pod, running as the pod's user
            for part in ("inbound", "feedback"):
                folder = self.course / part / user
                folder.mkdir(mode=0o700)
                os.chown(folder, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        (self.course / "outbound" / EX).mkdir()
        (self.course / "outbound" / EX / f"{EX}.ipynb").write_text('{"cells": [], "released": true}')
        self.instructor = base / "course"
        self.instructor.mkdir()

    def pod(self, user, script, python=False):
        """Run ``script`` (sh, or Python) as ``user`` in a stand-in for their pod: only a student's mounts of the
        volume, a home of their own, the rest of the machine read-only."""
        home = self.base / "homes" / user
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        mine = f"{POD_ROOT}/{COURSE}"
        command = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/mnt",
                   # the image's folders above the mounts: root's, mode 755 (bwrap's own would be 700)
                   "--perms", "0755", "--dir", POD_ROOT, "--perms", "0755", "--dir", mine,
                   "--bind", str(home), "/mnt/home",
                   "--ro-bind", str(self.course / "outbound"), f"{mine}/outbound",
                   "--bind", str(self.course / "inbound" / user), f"{mine}/inbound",
                   "--ro-bind", str(self.course / "feedback" / user), f"{mine}/feedback",
                   "--chdir", "/mnt/home", "--unshare-pid", "--die-with-parent",
                   "setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
        command += [sys.executable, "-c", script] if python else ["sh", "-c", script]
        env = {"PATH": "/usr/bin:/bin", "HOME": "/mnt/home", "JUPYTERHUB_USER": user,
               "NBGRADER_EXCHANGE_LAYOUT": "per-user", "OPENBLAS_NUM_THREADS": "1"}
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    def snapshot(self, skip=()):
        """Every path of the volume with its type, size, mode and owner, except below ``skip``."""
        seen = {}
        for path in sorted(self.volume.rglob("*")):
            if any(path == s or s in path.parents for s in skip):
                continue
            info = path.lstat()
            seen[str(path.relative_to(self.volume))] = (info.st_mode, info.st_size, info.st_uid)
        return seen


@pytest.fixture
def per_user(tmp_path, monkeypatch):
    if not Path("/mnt").is_dir() or subprocess.run(["bwrap", "--ro-bind", "/", "/", "true"]).returncode != 0:
        pytest.skip("the per-user pods are played by bubblewrap over /mnt, which this machine lacks")
    if subprocess.run(["setpriv", "--reuid=daemon", "--regid=daemon", "--clear-groups", sys.executable, "-c",
                       f"import sys; sys.path.insert(0, {str(ROOT)!r}); import nbgrader, grading"]).returncode:
        pytest.skip(f"the user daemon can't run {sys.executable} with this checkout's grading package")
    volume = Volume(tmp_path, ["daemon", "bin", "sys", "games"])
    roster = tmp_path / "roster.txt"
    roster.write_text("# the class\ndaemon\nbin\ngames\n")
    monkeypatch.setenv("NBGRADER_EXCHANGE_LAYOUT", "per-user")
    monkeypatch.setenv("NBGRADER_ROSTER_FILE", str(roster))
    monkeypatch.delenv("NBGRADER_ROSTER_GROUP", raising=False)
    return volume


def collect_per_user(volume, max_file_size=100000):
    coursedir = CourseDirectory(root=str(volume.instructor), course_id=COURSE, assignment_id=EX,
                                max_file_size=max_file_size)
    exchange_module.SafeCollect(coursedir=coursedir, authenticator=Authenticator(), root=str(volume.volume),
                                update=True).start()
    problems = json.loads((volume.instructor / "grades" / "collect_problems.json").read_text())
    submitted = volume.instructor / "submitted"
    return problems, sorted(p.name for p in submitted.iterdir()) if submitted.exists() else []


ATTACK = f"""
set -u
mine={POD_ROOT}/{COURSE}
now=$(date -u '+%Y-%m-%d %H:%M:%S.000000 UTC')
# anywhere but my own inbound folder: the released exercise, the exchange root, the course folder
for target in $mine/outbound/planted $mine/outbound/{EX}/planted $mine/planted {POD_ROOT}/planted \
              $mine/feedback/planted; do
    (echo x > "$target") 2>/dev/null && echo "WROTE $target"
done
ls $mine/inbound/../inbound 2>/dev/null | grep -v '^bin' && echo "SAW OTHERS"
# daemon's name, dated 2099, blank
d="$mine/inbound/daemon+{EX}+2099-01-01 00:00:00.000000 UTC"; mkdir "$d"; echo '{{"cells": []}}' > "$d/{EX}.ipynb"
# my own submissions: a link to the secret, a FIFO, a hard link, an oversize file, times set to 2099
s="$mine/inbound/bin+{EX}+$now"; mkdir "$s"
echo '{{"cells": [], "bin": true}}' > "$s/{EX}.ipynb"; ln -s "$SECRET" "$s/solutions.ipynb"
mkfifo "$s/fifo.ipynb"; echo '{{}}' > "$s/a.ipynb"; ln "$s/a.ipynb" "$s/b.ipynb"
ln /etc/passwd "$s/passwd" 2>/dev/null && echo "HARD-LINKED /etc/passwd"
head -c 40000 /dev/zero > "$s/big.ipynb"
echo '2099-01-01 00:00:00.000000 UTC' > "$s/timestamp.txt"; touch -d 2099-01-01 "$s" "$s"/*
ln -s /etc "$mine/inbound/bin+{EX}+2097-01-01 00:00:00.000000 UTC"
echo done
"""


def test_per_user_collect_takes_identity_from_the_hubs_folder(per_user, tmp_path):
    volume = per_user
    secret = tmp_path / "solutions.ipynb"  # the instructor's, outside the pods
    secret.write_bytes(SECRET)
    honest = volume.pod("daemon", f"""
import os
os.makedirs("/mnt/home/{EX}")
open("/mnt/home/{EX}/{EX}.ipynb", "w").write('{{"cells": [], "honest": true}}')
""" + SUBMIT, python=True)
    assert honest.returncode == 0, honest.stderr
    before = volume.snapshot(skip=[volume.course / "inbound" / "bin"])
    attack = volume.pod("bin", f"SECRET={secret}\n" + ATTACK)
    assert attack.stdout.strip().endswith("done"), attack.stdout + attack.stderr
    assert "WROTE" not in attack.stdout and "SAW" not in attack.stdout and "HARD-LINKED" not in attack.stdout, \
        attack.stdout
    assert volume.snapshot(skip=[volume.course / "inbound" / "bin"]) == before  # nothing else on the volume changed
    flood = volume.pod("games", f"cd {POD_ROOT}/{COURSE}/inbound && for i in $(seq 1 501); do "
                                f"mkdir \"games+{EX}+$i\"; done && echo '{{}}' > \"games+{EX}+1/{EX}.ipynb\"")
    assert flood.returncode == 0, flood.stderr
    outsider = volume.pod("sys", f"d=\"{POD_ROOT}/{COURSE}/inbound/sys+{EX}+x\"; mkdir \"$d\" && "
                                 f"echo '{{}}' > \"$d/{EX}.ipynb\"")
    assert outsider.returncode == 0, outsider.stderr

    (volume.course / "inbound" / "lp").symlink_to("/etc")  # a per-user folder that is a link (a set-up's slip)
    problems, submitted = collect_per_user(volume, max_file_size=20)  # kB: the 40 kB file is too big
    assert submitted == ["bin", "daemon"], (submitted, problems)
    inbound = volume.course / "inbound"
    found = {(str(Path(p["source"]).relative_to(inbound)), p["kind"]) for p in problems}
    attacker = f"bin/bin+{EX}+"
    expected_kinds = [("identity", f"bin/daemon+{EX}+2099"), ("symbolic link", attacker), ("FIFO", attacker),
                      ("hard link", attacker), ("not a folder", f"bin/bin+{EX}+2097"),
                      ("too many entries", "games"), ("not on the roster", "sys"), ("not a folder", "lp")]
    for kind, where in expected_kinds:
        assert any(k == kind and source.startswith(where) for source, k in found), (kind, where, sorted(found))
    too_big = [p for p in problems if "big.ipynb" in p["source"]]
    assert too_big, sorted(found)  # the oversize file is listed, by whatever kind safe_files gives it
    assert all(source.split("/")[0] in ("bin", "games", "sys", "lp") for source, _ in found), found  # attackers
    for student, notebook in (("daemon", {"cells": [], "honest": True}), ("bin", {"cells": [], "bin": True})):
        collected = volume.instructor / "submitted" / student / EX
        assert json.loads((collected / f"{EX}.ipynb").read_text()) == notebook
        copied = {p.name for p in collected.iterdir()}  # none of the refused files
        assert copied <= {f"{EX}.ipynb", "submission_secret.txt", "timestamp.txt"}, (student, copied)
        # the server's clock, not the name's, timestamp.txt's or the file times' 2099
        when = datetime.datetime.strptime((collected / "timestamp.txt").read_text(), "%Y-%m-%d %H:%M:%S.%f UTC")
        assert abs((datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - when).total_seconds()) < 600, when
    assert not any(SECRET in p.read_bytes() for p in (volume.instructor / "submitted").rglob("*") if p.is_file())


def test_per_user_collect_needs_a_roster(per_user, monkeypatch):
    from nbgrader.exchange.abc.exchange import ExchangeError

    monkeypatch.delenv("NBGRADER_ROSTER_FILE")
    with pytest.raises(ExchangeError, match="needs a roster"):
        collect_per_user(per_user)


def test_per_user_feedback_reaches_its_own_student_only(per_user):
    volume = per_user
    for student in ("daemon", "bin"):
        folder = volume.instructor / "feedback" / student / EX
        folder.mkdir(parents=True)
        (folder / f"{EX}.html").write_text(f"<p>feedback of {student}: FEEDBACK-{student}</p>")
        (folder / "submission_secret.txt").write_text(f"secret-of-{student}")
        (folder / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
    coursedir = CourseDirectory(root=str(volume.instructor), course_id=COURSE, assignment_id=EX)
    exchange_module.PrivateReleaseFeedback(coursedir=coursedir, authenticator=Authenticator(),
                                           root=str(volume.volume)).start()
    from nbgrader.utils import notebook_hash

    for student in ("daemon", "bin"):
        name = notebook_hash(secret=f"secret-of-{student}", notebook_id=EX)  # what nbgrader's fetch looks for
        page = volume.course / "feedback" / student / f"{name}.html"
        assert page.read_text().endswith(f"FEEDBACK-{student}</p>"), page
    assert not list((volume.course / "feedback").glob("*.html"))  # nothing at the top, where stock nbgrader writes
    for student, other in (("daemon", "bin"), ("bin", "daemon")):
        seen = volume.pod(student, f"find {POD_ROOT} -type f -exec cat {{}} + ; echo; "
                                   f"ls {POD_ROOT}/{COURSE}/feedback")
        assert f"FEEDBACK-{student}" in seen.stdout and f"FEEDBACK-{other}" not in seen.stdout, seen.stdout


def test_the_courses_own_grading_package_is_imported_afterwards(tmp_path):
    """The hub's config imports the exchange's classes from the environment, then forgets that grading package, so
    that the instructor's course (its nbgrader_config.py is read next) loads its own copy of grading."""
    course = tmp_path / "course"
    (course / "grading").mkdir(parents=True)
    (course / "grading" / "__init__.py").write_text("COURSE_COPY = True\n")
    script = f"""
import sys
from traitlets.config import Config
config = Config()
source = open({str(CONFIG)!r}).read()
exec(compile(source, {str(CONFIG)!r}, "exec"), {{"get_config": lambda: config, "__file__": {str(CONFIG)!r}}})
collect = config.ExchangeFactory.collect
assert collect.__module__ == "grading.plugins.exchange" and collect.__name__ == "SafeCollect", collect
assert not [name for name in sys.modules if name.split(".")[0] == "grading"], "grading still imported"
sys.path.insert(0, {str(course)!r})  # what the course's nbgrader_config.py does
import grading
assert grading.COURSE_COPY
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


def test_per_user_inbound_list_for_the_instructor(per_user):
    volume = per_user
    folder = volume.course / "inbound" / "daemon" / f"daemon+{EX}+2026-01-01 00:00:00.000000 UTC"
    folder.mkdir()
    coursedir = CourseDirectory(root=str(volume.instructor), course_id=COURSE, assignment_id=EX)
    lister = exchange_module.SafeList(coursedir=coursedir, authenticator=Authenticator(), root=str(volume.volume),
                                      inbound=True)
    found = lister.start()
    assert [(a["student_id"], a["assignment_id"]) for a in found] == [("daemon", EX)], found
