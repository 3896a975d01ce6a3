"""Command line of the grading workflow: ``python -m grading STEP ...`` from the course root (see ``--help``).

The make targets wrap these: ``make release``, ``make collect SRC=folder``, ``make autograde``, ``make feedback``,
``make export``, ``make summary``, ``make grade SRC=folder`` (all of them) and, for learners, ``make validate
EX=name``.
"""

import argparse
import gc
import sys

from .course import Course
from .errors import GradingError
from .sandbox import SandboxError

STEPS = """steps (run from the course root, the folder of nbgrader_config.py):
  release    write the student versions exercises/EX/ from solutions/EX/ (nbgrader generate_assignment)
  collect    copy a folder of submissions (one notebook or folder per student) into submitted/
  autograde  run and score every collected submission (a bad one never stops the others)
  feedback   write one HTML feedback page per submission into feedback/ (hidden tests removed)
  export     write grades/grades.csv
  summary    print and write the class summary (grades/summary.md, scores.png, attention.csv)
  grade      all of the above for a folder of submissions
  validate   check a notebook against its tests (for learners, before they hand in)
"""


def _parser():
    parser = argparse.ArgumentParser(prog="python -m grading", description="The course's grading workflow.",
                                     epilog=STEPS, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True, metavar="STEP")

    def exercises_arg(p):
        p.add_argument("exercises", nargs="*", metavar="EX", help="exercise names (default: every exercise)")

    def source_args(p):
        p.add_argument("src", metavar="SRC", help="folder of submissions: SRC/<student>.ipynb or SRC/<student>/...")
        p.add_argument("--exercise", "-e", help="the exercise of every file in SRC (default: guessed per file)")
        p.add_argument("--id-pattern", help="regular expression with a group 'student' for the student id, "
                                            "matched against each file's path inside SRC")
        p.add_argument("--roster", metavar="FILE", help="the class's student ids, one a line (default: roster.txt "
                                                        "in the course root, when there is one): a submission of "
                                                        "another id is listed and not collected")

    exercises_arg(sub.add_parser("release", help="write exercises/ from solutions/"))
    source_args(sub.add_parser("collect", help="copy submissions into submitted/"))
    p = sub.add_parser("autograde", help="autograde every collected submission")
    exercises_arg(p)
    p.add_argument("--force", action="store_true", help="regrade submissions already graded from the same file")
    p.add_argument("--student", action="append", default=[], help="only this student (repeat for several)")
    exercises_arg(sub.add_parser("feedback", help="write the feedback pages"))
    p = sub.add_parser("export", help="write the grades to CSV")
    p.add_argument("--to", help="the CSV file (default grades/grades.csv)")
    sub.add_parser("summary", help="print and write the class summary")
    p = sub.add_parser("grade", help="release, collect, autograde, feedback, export, summary")
    source_args(p)
    p.add_argument("--force", action="store_true", help="regrade submissions already graded from the same file")
    p = sub.add_parser("validate", help="run a notebook's tests (learners: before handing in)")
    p.add_argument("targets", nargs="*", metavar="EX_OR_PATH",
                   help="exercise names (their notebook in exercises/) or notebook paths; default: all exercises")
    p.add_argument("--invert", action="store_true", help="check that no test passes (for the blank exercises)")
    p = sub.add_parser("_worker")  # internal: the autograding worker process
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("exercise")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one step; a :class:`GradingError` (or the sandbox's) is printed as its message, exit status 1."""
    try:
        return _run(_parser().parse_args(argv))
    except (GradingError, SandboxError) as error:
        print(error, file=sys.stderr)
        return 1


def _run(args):
    course = Course.find()
    if args.step == "_worker":
        from .autograde import worker

        return worker(course.root, args.fd, args.exercise)
    if args.step == "validate":
        from .steps import validate

        return 0 if validate(course, args.targets, invert=args.invert) else 1

    from . import autograde, collect, steps, summary

    if args.step == "release":
        steps.release(course, course.check_exercises(args.exercises))
    elif args.step == "collect":
        collect.collect(course, args.src, exercise=args.exercise, id_pattern=args.id_pattern,
                        roster=collect.read_roster(course, args.roster) if args.roster else None)
    elif args.step == "autograde":
        graded = autograde.autograde(course, course.check_exercises(args.exercises), force=args.force,
                                     only=args.student)
        _closing_line(graded)
    elif args.step == "feedback":
        steps.feedback(course, course.check_exercises(args.exercises))
    elif args.step == "export":
        steps.export(course, to=args.to)
    elif args.step == "summary":
        summary.summarise(course)
    elif args.step == "grade":
        steps.release(course, [args.exercise] if args.exercise else course.exercises())
        collected = collect.collect(course, args.src, exercise=args.exercise, id_pattern=args.id_pattern,
                                    roster=collect.read_roster(course, args.roster) if args.roster else None)
        exercises = sorted({exercise for exercise, _ in collected})
        graded = autograde.autograde(course, exercises, force=args.force)
        _closing_line(graded)
        steps.feedback(course, exercises)
        steps.export(course)
        summary.summarise(course)
    return 0


def _closing_line(graded: dict) -> None:
    """What autograde returned, in one line: how many submissions have findings to look at."""
    if graded:
        flagged = sum(bool(record.findings) for record in graded.values())
        print(f"autograde: {len(graded)} submission(s), {flagged} with findings"
              + (" (listed by `python -m grading summary`)" if flagged else ""))


if __name__ == "__main__":
    status = main()
    # Everything is written by now. Without this, Python's shutdown collects every object the imports made (NumPy,
    # scikit-learn, nbgrader, SQLAlchemy): most of a second per process, which the supervisor waits for at the end
    # of each worker. Frozen objects are left out of that collection; exit handlers still run.
    gc.freeze()
    sys.exit(status)
