"""Fixtures shared by the test files."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from browser_utils import build_lock

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture
def rng():
    """A seeded NumPy generator, new for each test."""
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def built_site():
    """Build the book strictly (``-W -n --keep-going --all``) once, into the repository's ``_build``.

    ``--all`` re-reads every page, so warnings on unchanged pages are reported too; executed notebooks still
    come from the execution cache in ``_build/.jupyter_cache``, so a rebuild costs seconds.

    Several test files need the built site, and pytest-xdist may run them in different processes: the build
    lock makes the second worker wait, and it then reuses the first worker's result (recorded by test-run id).
    Returns the completed process (its ``returncode`` and combined ``stdout``).
    """
    (ROOT / "_build").mkdir(exist_ok=True)
    record = ROOT / "_build" / ".build_result.json"
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
    with build_lock():
        previous = json.loads(record.read_text()) if record.exists() else {}
        if previous.get("run_id") == run_id:  # another worker of this same test run built it
            return subprocess.CompletedProcess(previous["args"], previous["returncode"], previous["stdout"], "")
        result = subprocess.run(
            [str(BIN / "jupyter-book"), "build", "-W", "-n", "--keep-going", "--all", str(ROOT)],
            cwd=ROOT, capture_output=True, text=True, timeout=1800,
        )
        result.stdout = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # no colour codes
        record.write_text(json.dumps({"run_id": run_id, "args": result.args, "returncode": result.returncode,
                                      "stdout": result.stdout}))
        return result
