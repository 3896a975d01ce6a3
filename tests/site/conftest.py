"""The fixtures of the site's tests: the built book copied aside, served on localhost, and read in Chromium.

Defined here once (a test module never imports another's fixtures) and shared by every module of tests/site:

- ``site_dir`` (session): the strict build of tests/conftest.py's ``built_site``, copied aside under the build
  lock, so that nothing written into ``_build`` later changes a page under the tests; ``built_notebooks`` holds
  each chapter notebook as it was when the copy was taken (what the download button must serve).
- ``site`` (session): ``site_dir`` served by Python's http.server on a free port of 127.0.0.1; yields the base URL.
- ``chromium`` (module): one headless Debian Chromium with a fresh profile whose requests outside localhost are
  blocked and recorded; yields (context, external URLs seen).
- ``reader_browser`` (module): one headless Debian Chromium in which each test opens fresh, empty contexts (the
  reader's audit: axe, keyboard, narrow screens, weight).

The copy and the server are per pytest process (one per xdist worker). The browsers are per module: playwright's
sync API runs one instance per process at a time, and the test modules of other folders (JupyterLab, the hub, the
sanitiser) start their own, so a browser kept for the whole session would stop those. Starting Chromium costs about
a second.
"""

import shutil
from urllib.parse import urlsplit

import browser_utils as bu
import nbformat
import pytest

PAGES = bu.toc_files()
EXTRA_PAGES = ["genindex", "search"]  # Sphinx's own pages, which every page links to
TIMEOUT_MS = 20_000  # any single wait in the browser


@pytest.fixture(scope="session")
def _site_snapshot(tmp_path_factory, built_site):
    with bu.build_lock():
        notebooks = {doc: nbformat.read(bu.ROOT / f"{doc}.ipynb", as_version=4)
                     for doc in PAGES if (bu.ROOT / f"{doc}.ipynb").is_file()}
        rc, output = built_site.returncode, built_site.stdout
        expected = PAGES + EXTRA_PAGES + ["index"]
        missing = [f"{f}.html" for f in expected if not (bu.HTML / f"{f}.html").is_file()]
        assert not missing, (
            f"the build (exit {rc}) wrote no {missing} in {bu.HTML}:\n" + "\n".join(output.splitlines()[-30:])
        )
        snapshot = tmp_path_factory.mktemp("site") / "html"
        shutil.copytree(bu.HTML, snapshot)
    return snapshot, notebooks


@pytest.fixture(scope="session")
def site_dir(_site_snapshot):
    """The built book (conftest's strict build), copied aside."""
    return _site_snapshot[0]


@pytest.fixture(scope="session")
def built_notebooks(_site_snapshot):
    """{document: notebook} of every page of _toc.yml that is a notebook, as read when the site was copied."""
    return _site_snapshot[1]


@pytest.fixture(scope="session")
def site(site_dir):
    """The built site served on a free localhost port; yields the base URL."""
    with bu.serve_directory(site_dir) as base:
        yield base


@pytest.fixture(scope="module")
def _playwright():
    """One playwright instance for the module (both browsers below start from it)."""
    playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt: run make")
    with playwright_sync.sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def chromium(_playwright):
    """One headless Debian Chromium with a fresh profile; yields (context, external requests seen)."""
    executable = bu.require_chromium()
    external = []

    def block_external(route):
        url = route.request.url
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost") and not url.startswith(("data:", "blob:")):
            external.append(url)
            route.abort()
        else:
            route.continue_()

    with bu.fresh_user_data_dir() as profile:
        context = _playwright.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            args=bu.CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
            timeout=60_000,
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", block_external)
        try:
            yield context, external
        finally:
            context.close()


@pytest.fixture(scope="module")
def reader_browser(_playwright):
    """One headless Debian Chromium for the reader's audit tests (each test opens fresh, empty contexts in it)."""
    browser = bu.launch_browser(_playwright)
    try:
        yield browser
    finally:
        browser.close()
