"""nbgrader settings of every user's server on the course's JupyterHub (the hub puts this folder on
JUPYTER_CONFIG_PATH). The course's own nbgrader_config.py, which the instructors' servers load, reads the same
NBGRADER_EXCHANGE_ROOT, so the two never disagree on where the exchange is.

nbgrader's exchange is a shared folder, and everything in it that a student made is hostile input for the
instructor who collects it. The course's exchange classes (grading/plugins/exchange.py: identity from what a
student can't choose, a roster, the server's clock, regular files only, feedback for its own student only) replace
nbgrader's for all seven exchange steps. They come from the course's environment, where the set-up installs the
course's grading package (guides/jupyterhub.md, step 2; the Kubernetes image does the same).

If they can't be imported, every exchange step fails with a message that says so: the exchange fails closed
rather than fall back to nbgrader's own classes, which trust folder names and follow links.
"""

import os
import sys

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")

STEPS = ("release_assignment", "fetch_assignment", "submit", "list", "collect", "release_feedback", "fetch_feedback")
BEFORE = {name for name in sys.modules if name == "grading" or name.startswith("grading.")}
try:
    from grading.plugins import exchange
except ImportError as error:
    from nbgrader.exchange import default

    MISSING = (f"The course's exchange classes (grading.plugins.exchange) can't be imported ({error}): the "
               "course's grading package must be installed in the servers' environment (guides/jupyterhub.md, "
               "step 2). Nothing is exchanged until it is.")

    def refuse(self):
        self.fail(MISSING)

    print(f"nbgrader_config ({__file__}): {MISSING}", file=sys.stderr)
    for step in STEPS:
        base = getattr(default, "Exchange" + "".join(word.title() for word in step.split("_")))
        setattr(c.ExchangeFactory, step, type(f"Unavailable{base.__name__}", (base,), {"start": refuse}))
else:
    exchange.install(c)
    # The course's own code stays the one the instructor's course loads: the course's nbgrader_config.py (read
    # after this file) puts its folder first on sys.path and imports its grading package from there. What this
    # import brought in from the environment is forgotten again; the exchange's classes keep their modules.
    for name in [name for name in sys.modules if (name == "grading" or name.startswith("grading."))
                 and name not in BEFORE]:
        del sys.modules[name]
