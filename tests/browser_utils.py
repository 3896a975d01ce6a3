"""Helpers of the reader's-eye tests (tests/test_site_browser.py, tests/test_jupyterlab.py).

Everything runs on localhost and nothing is downloaded: the site is served from `_build/html` by Python's
http.server, the browser is Debian's Chromium (`/usr/bin/chromium`, packages chromium and chromium-driver, which
.ci/run installs) driven by the playwright Python package, which never fetches a browser of its own here.
"""

import contextlib
import fcntl
import functools
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "artifacts"  # git-ignored: screenshots and other things for a person to look at
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"

# The flags of the course's contract, plus the two that keep Chromium from dialling out on its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]

# nbgrader's markers: none of them may reach a page a reader sees.
NBGRADER_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "### BEGIN", "### END")


def toc_files():
    """Every document of _toc.yml in reading order (root first), relative to the repository, without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts") or []:
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [str(Path(f).with_suffix("")) for f in files]


def require_chromium():
    """The path of Debian's Chromium. Missing: a failure in CI (.ci/run installs it), a skip on a workstation."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    reason = (
        f"{CHROMIUM} is missing: install Debian's packages chromium and chromium-driver "
        "(`apt-get install chromium chromium-driver`, as .ci/run does)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".ipynb": "application/x-ipynb+json"}

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve_directory(directory):
    """Serve `directory` on http://127.0.0.1:<free port>/ from a background thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def build_lock():
    """Hold an exclusive lock on _build while building the book or copying the built site.

    Every test that runs `jupyter-book build` into _build should build inside this lock (tests/test_book.py
    included): under pytest-xdist, two test files on two workers would otherwise write _build at the same time.
    """
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def fresh_user_data_dir():
    """An empty Chromium profile folder, removed afterwards."""
    path = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def solution_blocks():
    """The text of every solution and hidden-test block of the nbgrader sources in solutions/.

    Yields (where, text) with text the block's lines between the BEGIN/END markers, stripped and joined by
    newlines; blocks too short to be told apart from ordinary course code (under 2 lines or 40 characters) are
    left out.
    """
    for notebook in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        for index, cell in enumerate(cells):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for kind in ("SOLUTION", "HIDDEN TESTS"):
                pattern = rf"BEGIN {kind}[^\n]*\n(.*?)\n[^\n]*END {kind}"
                for block in re.findall(pattern, source, flags=re.S):
                    lines = [line.strip() for line in block.splitlines() if line.strip()]
                    text = "\n".join(lines)
                    if len(lines) >= 2 and len(text) >= 40:
                        yield f"{notebook.relative_to(ROOT)} cell {index} ({kind.lower()})", text


def normalise_code_text(text):
    """Lines stripped, blank lines dropped: how code is compared with a page's text."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def relative_luminance(css_colour):
    """The WCAG relative luminance (0 black .. 1 white) of a CSS `rgb(...)`/`rgba(...)` colour."""
    numbers = [float(x) for x in re.findall(r"[\d.]+", css_colour)[:3]]
    assert len(numbers) == 3, f"not an rgb() colour: {css_colour!r}"

    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in numbers)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def download_source(context, page):
    """Click the theme's download button on ``page`` (open in ``context``) and return the body of the .ipynb it
    serves, after checking the menu offers .ipynb and the server answers 200."""
    page.locator("button[aria-label='Download this page']").click()
    link = page.locator("a.btn-download-source-button")
    link.wait_for(state="visible")
    assert link.inner_text().strip() == ".ipynb", f"the download menu offers {link.inner_text()!r}, not .ipynb"
    with context.expect_event("response", lambda r: r.url.split("?")[0].endswith(".ipynb")) as got:
        with context.expect_page() as tab:
            link.click()
    response = got.value
    assert response.status == 200, f"the download button's {response.url} answered {response.status}"
    body = response.body()
    tab.value.close()
    return body
