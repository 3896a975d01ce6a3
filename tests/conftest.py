"""Fixtures shared by the test files."""

import fnmatch
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


# ---- markers, by what a test module needs (so that `make test-fast` and `-m` work without a marker in every file) --

#: Modules that run in seconds with nothing but the Python environment: `make test-fast` runs these.
FAST_MODULES = re.compile(r"test_nnlib_\w+|test_judge|test_wire\w*|test_grading_errors|test_lint|test_environment")
NEEDS = {
    "hub": lambda name, text: name.startswith("test_hub"),
    "root": lambda name, text: name.startswith("test_hub") or "useradd" in text or "runuser" in text,
    "browser": None,  # per test: see _uses_browser
    "grading": lambda name, text: any(word in text for word in ("make_course", '"-m", "grading"',
                                                                "SandboxedKernelManager", "grading_cases")),
    "blas": lambda name, text: name == "test_blas_kernels",
}
WHY = {
    "root": "needs root: it creates Unix users for a real JupyterHub class or a grader who is not root (as CI does)",
    "browser": "needs Debian's Chromium at /usr/bin/chromium: apt-get install chromium chromium-driver",
    "grading": "needs bubblewrap for the grading sandbox: apt-get install bubblewrap (or run as root: make "
               "sandbox-deps installs it)",
    "hub": "needs configurable-http-proxy: make hub-deps (as root)",
}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks set here
def pytest_collection_modifyitems(config, items):
    texts = {}
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
            item.add_marker(pytest.mark.slow)
        else:
            if path not in texts:
                texts[path] = path.read_text() if path.is_file() else ""
            name = path.stem
            for marker, needs in NEEDS.items():
                if needs(name, texts[path]) if needs else _uses_browser(item):
                    item.add_marker(getattr(pytest.mark, marker))
            if not FAST_MODULES.fullmatch(name):
                item.add_marker(pytest.mark.slow)
        group = _xdist_group(item, path, texts.get(path, ""))
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    _longest_first(items)


# ---- distribution over the pytest-xdist workers (`--dist loadgroup`, `--no-loadscope-reorder` in pyproject.toml) --
#
# A test goes to whichever worker is free, test by test, unless it must share a process with others: a notebook's
# cells (nbval runs them in one kernel), and the tests of a module (or a class) whose module- (class-) scoped
# fixtures are expensive (a graded class, a release, a JupyterHub): those are one xdist group, so the fixture is
# set up once, not once per worker. The session-scoped fixtures (the built site, its server) are set up once per
# worker. The work is handed out in the order of the collection, which _longest_first makes longest first (the
# classic rule for keeping two workers busy to the end): a long group met last would be a serial tail.

_FIXTURE_SCOPE = re.compile(r"""@pytest\.fixture\(\s*scope\s*=\s*["'](module|class)["']""")


def _xdist_group(item, path, text):
    """The xdist group of ``item`` (None: free to go to any worker). Named by the file's stem (pytest needs the
    test modules' names to be unique, and the notebooks' are), which pytest-xdist appends to each test's id."""
    if path.suffix == ".ipynb":
        return path.stem
    if "one_hub_at_a_time" in text:  # hub_utils' lock lets one hub run at a time: a second worker would only wait
        return "jupyterhub"
    scopes = set(_FIXTURE_SCOPE.findall(text))
    if "module" in scopes:
        return path.stem
    if "class" in scopes and getattr(item, "cls", None) is not None:
        return f"{path.stem}::{item.cls.__name__}"
    return None


#: Seconds one unit of work takes on one of 2 cores: a group (all its tests, fixtures included) or a single test,
#: by an fnmatch pattern on the test's id (the first pattern that matches counts; a unit not listed counts as 1 s).
#: Only the order matters. From the fresh-clone run of 2026-12-07 (the answers, the grading modules' set-ups), runs
#: of tests/site and tests/chapters of 2026-12-08 on a machine others were loading (halved), or estimated (marked).
COST = {
    # groups
    "tests/grading/test_answers.py::TestEx06Wine::*": 230,
    "tests/grading/test_answers.py::Test*": 100,
    "tests/jupyter/test_hub.py::*": 250,  # estimated: with test_hub_csp.py, one group (one hub at a time)
    "tests/jupyter/test_hub_kubernetes.py::*": 30,  # estimated
    "tests/grading/test_grading.py::*": 250,  # 94 s of release, then a class graded (estimated)
    "tests/grading/test_grading_robustness.py::*": 200,
    "tests/grading/test_grading_attacks.py::*": 200,  # estimated
    "tests/grading/test_sandbox_nonroot.py::*": 150,  # estimated
    "tests/grading/test_sandbox_seccomp.py::*": 100,  # estimated
    "tests/grading/test_sandbox_preload.py::*": 60,  # estimated
    "tests/jupyter/test_jupyterlab.py::*": 60,  # estimated
    "tests/chapters/test_claims_ch4_6.py::*": 60,  # estimated
    "chapters/04_moons_network.ipynb::*": 90,  # estimated, as the notebooks below
    "chapters/06_evaluating.ipynb::*": 60,
    "chapters/05_wine_mlp.ipynb::*": 40,
    "chapters/*.ipynb::*": 20,
    "solutions/*.ipynb::*": 15,
    # single tests
    "tests/site/test_a11y_site.py::test_axe_*06_evaluating*": 85,  # axe's colour-contrast rule over ~9,000 nodes
    "tests/site/test_a11y_site.py::test_axe_*chapters/0[345]*": 40,
    "tests/site/test_a11y_site.py::test_axe_*": 25,
    "tests/chapters/test_blas_kernels.py::*04_moons_network*": 50,
    "tests/chapters/test_blas_kernels.py::*06_evaluating*": 50,
    "tests/chapters/test_blas_kernels.py::test_nnlib_*": 40,
    "tests/chapters/test_blas_kernels.py::*": 8,
    "tests/site/test_site_browser.py::test_screenshots*": 10,
    "tests/site/*.py::*": 2,
}


def _cost(item):
    nodeid = item.nodeid.partition("@")[0]
    return next((seconds for pattern, seconds in COST.items() if fnmatch.fnmatchcase(nodeid, pattern)), 1)


def _longest_first(items):
    """Sort ``items`` in place so that the units of work come longest first (a group's place is its first test's);
    tests of the same cost keep their order, so a module's tests stay together."""
    unit_cost, first = {}, {}
    for index, item in enumerate(items):
        unit = next((m.args[0] for m in item.iter_markers("xdist_group")), None) or item.nodeid
        unit_cost.setdefault(unit, _cost(item))
        first.setdefault(unit, index)
        item.stash[_UNIT] = unit
    items.sort(key=lambda item: (-unit_cost[item.stash[_UNIT]], first[item.stash[_UNIT]]))


_UNIT = pytest.StashKey[str]()


#: Fixtures that start Chromium or need the built site (which the browser tests share).
BROWSER_FIXTURES = {"browser", "chromium", "reader_browser", "site", "site_dir", "built_site", "pages", "lab"}


def _uses_browser(item):
    """A test that takes a browser or site fixture, or starts Chromium itself."""
    import inspect

    if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    try:
        source = inspect.getsource(item.function)
    except (AttributeError, OSError, TypeError):
        return False
    return "chromium" in source.lower() or "playwright" in source


def _missing(marker):
    import shutil

    if marker == "root":
        return os.geteuid() != 0
    if marker == "browser":
        return not Path("/usr/bin/chromium").exists()
    if marker == "grading":
        return shutil.which("bwrap") is None and os.geteuid() != 0
    if marker == "hub":
        return shutil.which("configurable-http-proxy") is None
    return False


def pytest_runtest_setup(item):
    """Skip, saying what to install and why, a test whose machine lacks what it needs (a learner's `make test` is
    green with reasons, not red with errors; CI, as root with everything installed, skips nothing)."""
    for marker in ("root", "hub", "browser", "grading"):
        if item.get_closest_marker(marker) and _missing(marker):
            pytest.skip(WHY[marker])
