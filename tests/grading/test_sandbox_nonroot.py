"""The grader who is not root: a teaching assistant, an ordinary Unix user with bubblewrap installed, grades the class
of hostile submissions (tests/grading_attacks.py's every attack, and the system calls of
tests/grading_attacks_sandbox.py) next to an honest classmate, through the real workflow (``python -m grading
grade``). Without root the sandbox is built in a user namespace and bubblewrap runs as the grader's own user; the
checks are the same as for root's sandbox (tests/grading/test_grading_attacks.py): no
attack earns points it did not, none
reads a secret of the grader's environment (``/proc/1/environ`` included), none leaves a process, a connection or a
file behind, and the honest grade is the solution's.

Before grading, another user squats the name the grader's run folders used to have (``/tmp/nn-grading-<uid>``):
grading still works and the squatted folder is neither used nor changed.

The test creates its own user (``useradd``, as tests/hub_utils.py does) and removes it, and everything it ran, by
name and user id at the end; so it runs where the suite runs as root (CI). Run as an ordinary user, the whole
grading suite already takes this path.
"""

import csv
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grading_attacks as ga
import grading_attacks_sandbox as gs
import pytest
from grading_cases import ROOT, Exercise, attention_kinds, exercises, make_course, write_submissions

from grading import sandbox  # noqa: E402

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creates a Unix user to grade as (as an ordinary user the whole "
                                                 "grading suite already runs on the unprivileged path)"),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("useradd", "userdel", "runuser", "bwrap")),
                       reason="needs useradd, userdel, runuser (Debian: passwd, util-linux) and bubblewrap"),
]

NAME = exercises()[0]
SECCOMP = "syscalls"


def exercise():
    return Exercise(ROOT / "solutions" / NAME / f"{NAME}.ipynb", ROOT / "exercises" / NAME / f"{NAME}.ipynb")


def _processes_of(uid):
    import psutil

    return [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]


def _kill_all(uid):
    import psutil

    left = _processes_of(uid)
    for process in left:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(left, timeout=10)


def _instructor_files(course):
    """``{path: sha256}`` of what the attacks aim at in the course copy: solutions, configuration, grading code (a
    snapshot of the copy itself, so that the course's own files changing meanwhile is no finding)."""
    import hashlib

    files = [course / "nbgrader_config.py", *sorted((course / "solutions").rglob("*")),
             *sorted((course / "grading").rglob("*.py"))]
    return {str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def _as_user(user, argv, cwd, env, timeout):
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv],
                          cwd=cwd, text=True, capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def assistant():
    """A Unix user of its own (home 0700), removed with everything it ran."""
    user = "nnta" + secrets.token_hex(3)
    subprocess.run(["useradd", "-m", "-K", "HOME_MODE=0700", "-s", "/bin/sh", user], check=True,
                   capture_output=True)
    info = pwd.getpwnam(user)
    base = Path(tempfile.mkdtemp(prefix="nn-nonroot-"))
    os.chmod(base, 0o755)
    try:
        probe = _as_user(user, [sys.executable, "-c", "import nnlib, pyseccomp"], "/", {"PATH": "/usr/bin:/bin"}, 60)
        if probe.returncode != 0:
            pytest.fail(f"{user} cannot run {sys.executable} with nnlib ({probe.stderr.strip()[-300:]}): build the "
                        "environment from a Python every user can execute (Debian's /usr/bin/python3.11), not "
                        "from one under a private home folder")
        yield {"user": user, "uid": info.pw_uid, "home": Path(info.pw_dir), "base": base}
    finally:
        _kill_all(info.pw_uid)
        subprocess.run(["userdel", "-r", "-f", user], capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", str(base)], capture_output=True)


@pytest.fixture(scope="module")
def attacked(assistant):
    user, uid, base = assistant["user"], assistant["uid"], assistant["base"]
    # Another user squats the name the run folders used to have, with a link to the course in it.
    squat = Path(tempfile.gettempdir()) / f"nn-grading-{uid}"
    made_squat = not os.path.lexists(squat)
    if made_squat:
        squat.mkdir(mode=0o777)
        os.chmod(squat, 0o777)
        (squat / "worker-1").symlink_to(base)
        (squat / f"uid-{sandbox.DEFAULT_UID}.lock").write_text("squatter\n")
        nobody = pwd.getpwnam("nobody")
        for path in (squat, squat / "worker-1", squat / f"uid-{sandbox.DEFAULT_UID}.lock"):
            os.lchown(path, nobody.pw_uid, nobody.pw_gid)
    squat_before = sorted((p.name, p.lstat().st_mtime_ns) for p in squat.iterdir()) if made_squat else None

    course = make_course(base / "course", [NAME])
    course_before = _instructor_files(course)
    listener = ga.Listener()
    target = ga.Target(course=course, exercise=NAME, port=listener.port)
    ex = exercise()
    cases = {ga.HONEST: (ex.answered(), ex.test_points, set()), **ga.attacks(ex, target)}
    if gs.numbers() is not None:
        cases[SECCOMP] = (gs.seccomp_submission(ex), ex.test_points, {"blocked by the sandbox"})
    src = write_submissions(base / "download", {s: (f"{NAME}.ipynb", nb, p, k) for s, (nb, p, k) in cases.items()})
    subprocess.run(["chown", "-R", f"{user}:{user}", str(course), str(src)], check=True)
    env = {"HOME": str(assistant["home"]), "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
           "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "NBGRADER_CELL_TIMEOUT": "20",
           "SANDBOX_FILE_MB": "64", "JOBS": "2", "SANDBOX": "1", "NN_INSTRUCTOR_SECRET": target.secret,
           "OPENBLAS_NUM_THREADS": "1"}
    start = time.monotonic()
    result = _as_user(user, [sys.executable, "-m", "grading", "grade", str(src)], course, env, 1500)
    survivors = ga.surviving_processes(target)
    listener.close()
    squat_after = sorted((p.name, p.lstat().st_mtime_ns) for p in squat.iterdir()) if made_squat else None
    yield {"course": course, "target": target, "cases": cases, "result": result, "survivors": survivors,
           "received": listener.received, "seconds": time.monotonic() - start, "squat": (squat_before, squat_after),
           "uid": uid, "course_before": course_before, "course_after": _instructor_files(course)}
    for pid, _ in survivors + ga.surviving_processes(target):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    ga.remove_planted(target)
    if made_squat:
        shutil.rmtree(squat, ignore_errors=True)


def scores(course):
    with open(course / "grades" / "grades.csv", newline="") as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle) if row["assignment"] == NAME}


ATTACKS = sorted(ga.attacks(exercise(), ga.Target(ROOT, NAME))) + ([SECCOMP] if gs.numbers() else [])


def test_the_class_was_graded_by_the_ordinary_user_in_sandboxes(attacked):
    result = attacked["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 at a time, each in its own sandbox" in result.stdout
    assert "WITHOUT the sandbox" not in result.stdout
    assert (attacked["course"] / "grades" / "grades.csv").stat().st_uid == attacked["uid"]


def test_the_honest_grade_is_unchanged(attacked):
    assert scores(attacked["course"])[ga.HONEST] == pytest.approx(exercise().test_points)
    assert ga.HONEST not in attention_kinds(attacked["course"])


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attack_earns_nothing(attacked, attack):
    assert scores(attacked["course"])[attack] == pytest.approx(attacked["cases"][attack][1])


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attacker_is_listed_with_the_reason(attacked, attack):
    expected = attacked["cases"][attack][2]
    listed = attention_kinds(attacked["course"]).get(attack, set())
    assert expected <= listed, f"{attack} is listed as {listed}, expected at least {expected}"


@pytest.mark.parametrize("attack", ATTACKS)
def test_nothing_secret_reaches_the_attacker(attacked, attack):
    """No hidden test, no solution line, no secret of the grader's environment (its own, or bubblewrap's through
    /proc/1/environ), not even the grader's home folder."""
    course, target = attacked["course"], attacked["target"]
    assert ga.leaked(course, NAME, attack) == []
    assert ga.shows(course, NAME, attack, target.secret) == []
    assert ga.shows(course, NAME, attack, f"HOME=/home/{pwd.getpwuid(attacked['uid']).pw_name}") == []


def test_no_connection_left_the_sandbox(attacked):
    assert attacked["received"] == []


def test_no_process_survives(attacked):
    assert attacked["survivors"] == []


def test_the_instructors_side_is_unchanged(attacked):
    target = attacked["target"]
    planted = [path for path in target.planted() + [Path("/tmp") / target.marker] if os.path.lexists(path)]
    assert planted == []
    assert attacked["course_after"] == attacked["course_before"]
    assert set(scores(attacked["course"])) == set(attacked["cases"])


@pytest.mark.skipif(gs.numbers() is None, reason="the attacks use x86-64 system call numbers")
def test_the_seccomp_filter_holds_on_this_path(attacked):
    graded = attacked["course"] / "autograded" / SECCOMP / NAME / f"{NAME}.ipynb"
    outcomes, errors = gs.graded_outcomes(graded)
    assert set(outcomes) == set(gs.ATTACKS), (outcomes, errors)
    assert "Operation not permitted" in outcomes.pop("unshare_tool")
    assert outcomes == {name: 1 for name in outcomes}, outcomes


def test_the_squatted_run_folder_is_neither_used_nor_changed(attacked):
    before, after = attacked["squat"]
    if before is None:
        pytest.skip("the old run folder name was already taken on this machine")
    assert after == before


def test_canary_bubblewrap_with_the_graders_environment_leaks_it(assistant):
    """The check can fail: bubblewrap started with the grader's environment and its own process 1 (as the sandbox
    was before) shows that environment to the kernel in /proc/1/environ; as the grader starts it, it does not."""
    user, base = assistant["user"], assistant["base"]
    secret = "instructor-" + secrets.token_hex(8)
    folder = base / "canary"
    (folder / "run").mkdir(parents=True)
    (folder / "submission").mkdir()
    subprocess.run(["chown", "-R", f"{user}:{user}", str(folder)], check=True)
    probe = "print(open('/proc/1/environ').read().replace(chr(0), ' '))"
    code = ("import sys, json, subprocess\nsys.path.insert(0, %r)\nfrom grading import sandbox\n"  # noqa: UP031
            "argv = sandbox.command([sys.executable, '-I', '-c', %r], %r, %r, sandbox.Limits(), sandbox.DEFAULT_UID)\n"
            "old = [a for a in argv if a != '--as-pid-1']\n"
            "print('NEW', subprocess.run(argv, capture_output=True, text=True, env=sandbox.bwrap_environment()).stdout)\n"  # noqa: E501
            "print('OLD', subprocess.run(old, capture_output=True, text=True).stdout)\n"
            % (str(ROOT), probe, str(folder / "run"), str(folder / "submission")))
    result = _as_user(user, [sys.executable, "-c", code], "/", {"PATH": "/usr/bin:/bin", "SECRET": secret}, 120)
    assert result.returncode == 0, result.stderr
    new, old = result.stdout.split("OLD", 1)
    assert secret in old, "the canary's sandbox did not show the grader's environment"
    assert secret not in new and "HOME=/home/student" in new
