"""The grading workflow's settings, as traitlets of one configurable, :class:`Grading`.

They are read from the course's loaded nbgrader configuration (``nbgrader_config.py``, where an environment variable
overrides each: see that file), like nbgrader's own settings: ``Grading(config=course.config())``. Each is checked
when it is read; a bad value is a :class:`grading.errors.ConfigurationError` that names the environment variable and
the value. (The sandbox's limits are its own: ``grading.sandbox.Limits``.)
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import TraitType
from traitlets.config import Configurable

from .errors import ConfigurationError


class Number(TraitType):
    """A setting that is a number (whole when ``whole``) of at least ``minimum``, given as a number or as the text
    of an environment variable; ``None`` when it may be left unset."""

    def __init__(self, default: float | None, *, minimum: float, whole: bool, variable: str, what: str,
                 help: str) -> None:
        super().__init__(default_value=default, allow_none=default is None, help=help, config=True)
        self.minimum, self.whole, self.variable, self.what = minimum, whole, variable, what

    def validate(self, obj: Any, value: Any) -> float | int | None:
        if value is None and self.allow_none:
            return None
        text = str(value).strip()
        try:
            number = (int if self.whole else float)(text)
        except ValueError:
            number = None
        if isinstance(value, bool) or number is None or number != number or number < self.minimum:
            raise ConfigurationError(f"{self.variable} must be {self.what}, got {value!r} "
                                     f"(Grading.{self.name} in nbgrader_config.py)")
        return number


class Grading(Configurable):
    """What the grading workflow needs to know besides the course: how long a cell and a submission may run, how
    much output is kept, and how many submissions are graded at once."""

    cell_timeout = Number(30, minimum=1, whole=True, variable="NBGRADER_CELL_TIMEOUT",
                          what="a whole number of seconds (1 or more)",
                          help="Seconds one cell may run before it is interrupted and scored 0 (the later cells still "
                               "run).")
    max_output_chars = Number(20000, minimum=1, whole=True, variable="NBGRADER_MAX_OUTPUT_CHARS",
                              what="a whole number of characters (1 or more)",
                              help="Characters of output kept per cell in graded notebooks and feedback pages.")
    submission_limit = Number(None, minimum=1, whole=False, variable="NBGRADER_SUBMISSION_LIMIT",
                              what="a number of seconds (1 or more)",
                              help="Wall-clock seconds one submission may take before its grading is stopped and it "
                                   "is scored 0. Unset: every code cell of the exercise running into its timeout, "
                                   "plus start-up (grading.autograde.submission_limit).")
    jobs = Number(None, minimum=1, whole=True, variable="JOBS",
                  what="a whole number of submissions to grade at once (1 or more)",
                  help="How many submissions are graded at once. Unset: one per core.")

    @property
    def workers(self) -> int:
        """How many submissions are graded at once: ``jobs``, else the number of cores."""
        return self.jobs or max(1, os.cpu_count() or 1)


#: The environment variable that overrides each setting (nbgrader_config.py reads them).
ENVIRONMENT = {name: trait.variable for name, trait in Grading.class_traits(config=True).items()}
