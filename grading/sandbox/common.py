"""What every part of the sandbox shares: its error, the switch that turns it off, and whether the grader is root.

Whether the grader is root decides how a sandbox is built. As root, bubblewrap builds the mounts with root's rights
and setpriv then makes the kernel a user of its own (a free id from ``SANDBOX_UID`` up), so the processes of a
sandbox are found by their user. Without root, a user namespace maps the grader's own id to an unprivileged one
inside; every sandbox then runs as the grader's user and is found as bubblewrap's descendants.
"""

import os

from ..errors import GradingError


class SandboxError(GradingError, RuntimeError):
    """The sandbox cannot be set up: grading stops before any submission runs."""


def enabled() -> bool:
    """False only when the instructor opted out explicitly with ``SANDBOX=0``."""
    return os.environ.get("SANDBOX", "1").strip().lower() not in ("0", "no", "off", "false")


def as_root() -> bool:
    """Whether the grader runs as root (each sandbox a user of its own) rather than as an ordinary user (each
    sandbox in a user namespace of the grader's own user)."""
    return os.geteuid() == 0
