"""nbgrader configuration of the course (read by every `nbgrader` command run from this folder).

nbgrader reads this file only from the current folder: run nbgrader, `make validate` and `make grade` from the
course root. The paths below are absolute and derived from this file's own location, so a copy of the course (the
tests make one per run) grades into its own folders and its own gradebook.

Environment variables (for the instructor and the tests), each overriding one setting of the grading workflow
(``c.Grading``: grading/settings.py holds the defaults and checks the values):
- NBGRADER_CELL_TIMEOUT: seconds one cell may run before it is interrupted and graded 0 (default 30).
- NBGRADER_MAX_OUTPUT_CHARS: characters of output kept per cell in graded notebooks and feedback (default 20000).
- NBGRADER_SUBMISSION_LIMIT: seconds one whole submission may take (default: from the exercise's number of cells).
- JOBS: submissions graded at once by `python -m grading autograde` (default: one per core).
- NBGRADER_EXCHANGE_ROOT: nbgrader's exchange folder (default nbgrader_exchange/ here). A JupyterHub sets it for
  every server (deploy/jupyterhub/), so the Formgrader's release and collect use the hub's shared exchange.
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # so that the preprocessors of the course's grading package can be imported

from grading.plugins.preprocessors import (  # noqa: E402
    HideHiddenTestTracebacks,
    LearnerExecute,
    LimitOutputSize,
    ResilientExecute,
)
from grading.sanitize import SanitizeNotebook  # noqa: E402

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# Where things are: the source notebooks (with solutions) in solutions/, the student versions in exercises/.
c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "nn-in-python"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# The instructor's working folders and the gradebook: all ignored by git (see .gitignore).
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")
# The exchange (nbgrader's release/collect through a shared folder): the hub's, given in the environment, else an
# ignored folder here. A value set in this file would override the machine-wide one of a JupyterHub.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT") or os.path.join(ROOT, "nbgrader_exchange")
# Never ship the notebooks' checkpoints or caches with a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# The grading workflow's settings (grading/settings.py): an environment variable overrides each.
from grading.settings import ENVIRONMENT, Grading  # noqa: E402

for setting, variable in ENVIRONMENT.items():  # cell_timeout, max_output_chars, submission_limit, jobs
    if os.environ.get(variable, "").strip():
        c.Grading[setting] = os.environ[variable]
settings = Grading(config=c)  # checked here: a bad value is an error that names its variable

# Per-cell timeout, in seconds: a cell running longer is interrupted and graded 0, and later cells still run.
# nbgrader's own Execute preprocessor and nbconvert's ExecutePreprocessor each read their own setting: set both.
c.ExecutePreprocessor.timeout = settings.cell_timeout
c.Execute.timeout = settings.cell_timeout
c.ResilientExecute.timeout = settings.cell_timeout

# Autograding: nbgrader's pipeline with replacements that keep one bad submission from stopping the class or
# cheating it.
# ResilientExecute: the kernel runs in a sandbox of its own (grading/sandbox/) with the exercise's answer key taken
# out of nnlib (grading/answer_key.py); the test cells never enter it: the judge runs them in the grading process and
# reaches the student's work only as data (grading/plugins/judge.py); and a kernel that dies (os._exit, a crash, a
# kill) or ignores the interrupt after a timeout does not abort the notebook; the cell that did it gets an error, the
# kernel is stopped, and every later code cell gets an error too ("not run"), so its tests score 0.
# LimitOutputSize: megabytes of printed output are cut to NBGRADER_MAX_OUTPUT_CHARS per cell.
# SanitizeNotebook: nothing of a submission that runs or fetches (scripts, event handlers, javascript:/data: links,
# image metadata, attachments, MathJax's \\href) reaches Formgrader or a feedback page (grading/sanitize.py, nh3).
c.Autograde.autograde_preprocessors = [
    ResilientExecute,
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    LimitOutputSize,
    SanitizeNotebook,
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.LimitOutputSize.max_chars = settings.max_output_chars
# A graded kernel is stopped at once rather than asked to shut down and waited for (0.3-0.4 s a submission): its
# sandbox's PID namespace takes down everything it started with it.
c.ResilientExecute.shutdown_kernel = "immediate"

# Feedback: hidden tests are removed from the cells' sources (ClearHiddenTests), and a failing hidden test's
# traceback, which would quote the hidden code, is cut down to its last line (HideHiddenTestTracebacks, which must
# run first, while the hidden block is still there to be seen).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    HideHiddenTestTracebacks,
    "nbgrader.preprocessors.ClearHiddenTests",
    SanitizeNotebook,  # again: notebooks autograded before it existed, and whatever manual grading added
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.ClearHiddenTests.enforce_metadata = False

# `nbgrader validate` (make validate): the notebook runs as the learner runs it (tests in the kernel, the full nnlib),
# in the sandbox where bubblewrap works.
# nbgrader's Validator does not make its list of preprocessors configurable, so its default is set here.
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput  # noqa: E402
from nbgrader.validator import Validator  # noqa: E402

Validator.preprocessors.default_value = [CheckCellMetadata, ClearOutput, LearnerExecute]
