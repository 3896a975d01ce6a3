"""The one kind of error the grading workflow raises for a problem the instructor can fix (a missing release, an
unknown exercise, a step of nbgrader that failed, a sandbox that cannot be set up). ``python -m grading`` catches it
once, prints its message and exits 1; library code never exits, so each error path can be tested by calling it."""


class GradingError(Exception):
    """A problem the instructor can fix; its message says what and how."""


class ConfigurationError(GradingError):
    """A setting has a value the workflow cannot use (``JOBS``, ``SANDBOX_*``...)."""


class CourseError(GradingError):
    """The course is not in the state a step needs: an unknown exercise, an exercise not released, a file missing."""


class StepFailed(GradingError):
    """A step of nbgrader (or of the workflow) failed; the message holds what it printed."""
