"""How fast a class is autograded: stock nbgrader against the course's sandboxed, parallel autograde (a script, not a
test).

    .venv/bin/python benchmarks/grading_speed.py [--students 30] [--rounds 2] [--exercise ex01_perceptron]

One class of the exercise (a third solved, a third blank, a third partly wrong) is graded, interleaved, round after
round, by

- stock nbgrader: ``nbgrader autograde EX --force`` in a copy of the course whose nbgrader_config.py only says where
  things are (nbgrader's defaults otherwise: one submission after another, no sandbox);
- the course: ``python -m grading autograde --force EX``, what ``make autograde FORCE=1`` runs (every submission in
  its own sandbox, as many at once as there are cores);
- the course one at a time (``JOBS=1``): sandboxed with its kernels forked from the preloaded process (the
  default), sandboxed with every kernel started from scratch (``SANDBOX_PRELOAD=0``), and without the sandbox
  (``SANDBOX=0``). The last two differ by what the sandbox itself costs a submission, start-up and clean-up of its
  kernel included; the first two by what preloading saves.

Then the start and stop of a lone kernel, plain, in the sandbox, and in the sandbox forked from the preloaded
process, many times over. Prints the medians and checks that every configuration gave every student the same score.
"""

import argparse
import asyncio
import csv
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from grading_cases import Exercise, exercises, make_course  # noqa: E402

STOCK_CONFIG = '''c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "nn-in-python"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.Exchange.root = "{root}/nbgrader_exchange"
'''


JUDGE_LINE = re.compile(r"judge: (\d+) tests, (\d+) requests to the kernel, ([\d.]+) s in the judge, ([\d.]+) s of it "
                        r"waiting for the kernel")


def judge_costs(course, name):
    """Per submission of the last autograde: (seconds in the judge not spent waiting for the kernel, requests),
    from the line grading.plugins.preprocessors.ResilientExecute logs for each submission."""
    costs = []
    for log in sorted((course / "grades" / "logs" / name).glob("*.log")):
        for match in JUDGE_LINE.finditer(log.read_text()):
            costs.append((float(match.group(3)) - float(match.group(4)), int(match.group(2))))
    return costs


def run(course, command, env=None):
    environment = dict(os.environ, **(env or {}))
    environment["PATH"] = str(Path(sys.executable).parent) + os.pathsep + environment.get("PATH", "")
    start = time.monotonic()
    subprocess.run(command, cwd=course, env=environment, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def stock_course(folder, name):
    course = folder / "stock"
    shutil.copytree(ROOT / "solutions" / name, course / "solutions" / name)
    (course / "nbgrader_config.py").write_text(STOCK_CONFIG.format(root=str(course)))
    run(course, [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force"])
    return course


def write_class(folder, ex, students):
    partly, _ = ex.partly_wrong()
    notebooks = []
    for i in range(students):
        student = f"student{i:02d}"
        nb = (ex.answered(), ex.blank(), partly)[i % 3]
        path = folder / student / f"{ex.name}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        notebooks.append((student, path))
    return notebooks


def stock_scores(course, name):
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute(
            "SELECT submitted_assignment.student_id, SUM(COALESCE(grade.manual_score, grade.auto_score, 0)) "
            "FROM grade JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "GROUP BY submitted_assignment.student_id").fetchall()
    return {student: round(score, 6) for student, score in rows}


def course_scores(course, name):
    subprocess.run([sys.executable, "-m", "grading", "export"], cwd=course, check=True, stdout=subprocess.DEVNULL)
    with open(course / "grades" / "grades.csv", newline="") as handle:
        return {row["student_id"]: round(float(row["score"]), 6) for row in csv.DictReader(handle)
                if row["assignment"] == name}


async def kernel_start_stop(kinds, repeats, cwd):
    """Seconds to start a kernel, run one cell and stop it, ``repeats`` times for each kind (a label: a manager
    class and whether it preloads), alternating."""
    times = {label: [] for label in kinds}
    for _, label in ((r, label) for r in range(repeats) for label in kinds):
        manager_class, preload = kinds[label]
        manager_class.preload = preload
        start = time.monotonic()
        km = manager_class(kernel_name="python3")
        await km.start_kernel(cwd=cwd)
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        reply = await kc.execute_interactive("x = 1", timeout=30)
        assert reply["content"]["status"] == "ok"
        kc.stop_channels()
        await km.shutdown_kernel(now=False)
        times[label].append(time.monotonic() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kernels", type=int, default=10, help="lone kernel start-ups measured each way")
    parser.add_argument("--exercise", default=exercises()[0])
    args = parser.parse_args()
    name = args.exercise
    from jupyter_client.manager import AsyncKernelManager

    from grading import sandbox
    from grading.autograde import jobs

    sandbox.check()
    with tempfile.TemporaryDirectory(prefix="grading-speed-") as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)
        ex = Exercise(ROOT / "solutions" / name / f"{name}.ipynb", ROOT / "exercises" / name / f"{name}.ipynb")
        notebooks = write_class(tmp / "class", ex, args.students)
        stock = stock_course(tmp, name)
        for student, path in notebooks:
            destination = stock / "submitted" / student / name / f"{name}.ipynb"
            destination.parent.mkdir(parents=True)
            shutil.copy(path, destination)
        ours = make_course(tmp / "course", [name])
        run(ours, [sys.executable, "-m", "grading", "release", name])
        run(ours, [sys.executable, "-m", "grading", "collect", str(tmp / "class")])

        configurations = {
            "stock nbgrader autograde (one at a time, no sandbox)":
                (stock, [sys.executable, "-m", "nbgrader", "autograde", name, "--force"], {}),
            f"course autograde, sandboxed, {jobs()} at a time (make autograde)":
                (ours, [sys.executable, "-m", "grading", "autograde", "--force", name], {}),
            "course autograde, sandboxed, JOBS=1":
                (ours, [sys.executable, "-m", "grading", "autograde", "--force", name], {"JOBS": "1"}),
            "course autograde, sandboxed, JOBS=1, SANDBOX_PRELOAD=0":
                (ours, [sys.executable, "-m", "grading", "autograde", "--force", name], {"JOBS": "1",
                                                                                         "SANDBOX_PRELOAD": "0"}),
            "course autograde, SANDBOX=0, JOBS=1":
                (ours, [sys.executable, "-m", "grading", "autograde", "--force", name], {"JOBS": "1",
                                                                                         "SANDBOX": "0"}),
        }
        walls = {label: [] for label in configurations}
        scores = {}
        judged = []
        for _ in range(args.rounds):
            for label, (course, command, env) in configurations.items():
                walls[label].append(run(course, command, env))
                scores[label] = stock_scores(course, name) if course == stock else course_scores(course, name)
                if course == ours:
                    judged += judge_costs(ours, name)
        submission_dir = tmp / "lone"
        submission_dir.mkdir()
        sandbox.Zygote.shared()  # started once, as a grading worker does before its first kernel
        kernels = asyncio.run(kernel_start_stop({"plain": (AsyncKernelManager, False),
                                                 "boxed": (sandbox.SandboxedKernelManager, False),
                                                 "preloaded": (sandbox.SandboxedKernelManager, True)},
                                                args.kernels, str(submission_dir)))
        sandbox.Zygote.shared().stop()
        plain, boxed, preloaded = kernels["plain"], kernels["boxed"], kernels["preloaded"]
        check_times = []
        for _ in range(5):
            start = time.monotonic()
            sandbox.check()
            check_times.append(time.monotonic() - start)

    stock_label = next(iter(configurations))
    stock_wall = statistics.median(walls[stock_label])
    print(f"Autograding {args.students} submissions of {name} (a third solved, blank, partly wrong) on "
          f"{os.cpu_count()} cores; median of {args.rounds} interleaved rounds; load average "
          f"{os.getloadavg()[0]:.1f} at the end")
    print()
    print(f"| {'configuration':<62} | {'wall s':>7} | {'s per submission':>16} | {'vs stock':>8} |")
    print(f"|{'-' * 64}|{'-' * 9}:|{'-' * 18}:|{'-' * 10}:|")
    for label, times in walls.items():
        wall = statistics.median(times)
        print(f"| {label:<62} | {wall:>7.1f} | {wall / args.students:>16.2f} | {wall / stock_wall:>7.2f}x |")
    one_preloaded = statistics.median(walls["course autograde, sandboxed, JOBS=1"])
    one_boxed = statistics.median(walls["course autograde, sandboxed, JOBS=1, SANDBOX_PRELOAD=0"])
    one_open = statistics.median(walls["course autograde, SANDBOX=0, JOBS=1"])
    print()
    print(f"Sandbox cost per submission, one at a time: {(one_boxed - one_open) / args.students:+.3f} s "
          "(sandboxed with kernels from scratch minus SANDBOX=0, whole autograde)")
    print(f"Preloaded kernels save per submission, one at a time: {(one_boxed - one_preloaded) / args.students:.3f} s")
    print(f"Kernel start, first cell and stop (median of {args.kernels}): {statistics.median(plain):.3f} s plain, "
          f"{statistics.median(boxed):.3f} s in the sandbox "
          f"({statistics.median(boxed) - statistics.median(plain):+.3f} s),"
          f" {statistics.median(preloaded):.3f} s in the sandbox forked from the preloaded process")
    print(f"Sandbox check before a class (once per autograde): {statistics.median(check_times):.3f} s")
    if judged:
        own = sorted(cost for cost, _ in judged)
        print(f"The judge's own cost per submission (its time minus the time it waited for the student's kernel), "
              f"{len(own)} submissions: median {statistics.median(own):.3f} s, max {own[-1]:.3f} s; "
              f"median {statistics.median(r for _, r in judged):.0f} requests to the kernel")
    reference = scores[stock_label]
    agree = all(table == reference for table in scores.values())
    print(f"Every configuration gave every student the same score: {'yes' if agree else 'NO'}")
    if not agree:
        for label, table in scores.items():
            print(f"  {label}: {sorted(table.items())}")
        sys.exit(1)


if __name__ == "__main__":
    main()
