"""How long grading takes: one submission, and a class of 30, of one exercise (a script, not a test).

    .venv/bin/python benchmarks/grading_speed.py [--students 30] [--exercise ex01_perceptron]

Builds a temporary copy of the course, releases the exercise, and times each step of the workflow on a class
whose submissions are two thirds full solutions and one third partly wrong. Prints wall-clock and CPU seconds
(CPU includes the kernels); on a shared machine the CPU column is the steadier one.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from grading_cases import Exercise, exercises, make_course  # noqa: E402


def timed(course, *args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "grading", *args], cwd=course, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.monotonic() - start, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--exercise", default=exercises()[0])
    args = parser.parse_args()
    name = args.exercise
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        course = make_course(tmp / "course", [name])
        rows.append(("release", 1, *timed(course, "release", name)))
        ex = Exercise(course / "solutions" / name / f"{name}.ipynb", course / "exercises" / name / f"{name}.ipynb")
        partly, _ = ex.partly_wrong()
        src = tmp / "class"
        for i in range(args.students):
            (src / f"student{i:02d}").mkdir(parents=True)
            nbformat.write(partly if i % 3 == 2 else ex.answered(), src / f"student{i:02d}" / f"{name}.ipynb")
        one = tmp / "one"
        (one / "student00").mkdir(parents=True)
        nbformat.write(ex.answered(), one / "student00" / f"{name}.ipynb")
        timed(course, "collect", str(one))
        rows.append(("autograde, one submission", 1, *timed(course, "autograde", name)))
        rows.append(("collect", args.students, *timed(course, "collect", str(src))))
        rows.append(("autograde", args.students, *timed(course, "autograde", "--force", name)))
        rows.append(("feedback", args.students, *timed(course, "feedback", name)))
        rows.append(("export", args.students, *timed(course, "export")))
        rows.append(("summary", args.students, *timed(course, "summary")))
        again = make_course(tmp / "again", [name])
        rows.append(("grade (all steps at once)", args.students, *timed(again, "grade", str(src))))
    print(f"Grading {name} on {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'step':<28}{'submissions':>12}{'wall s':>10}{'CPU s':>10}{'wall s each':>13}")
    for step, count, wall, cpu in rows:
        print(f"{step:<28}{count:>12}{wall:>10.1f}{cpu:>10.1f}{wall / count:>13.2f}")
    total = sum(wall for step, _, wall, _ in rows if step in ("collect", "autograde", "feedback", "export",
                                                               "summary"))
    print(f"{'collect to summary, by step':<28}{args.students:>12}{total:>10.1f}")


if __name__ == "__main__":
    main()
