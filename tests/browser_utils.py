"""Helpers of the reader's-eye tests (tests/site/test_site_browser.py, tests/jupyter/test_jupyterlab.py).

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



def chromium():
    """A headless Debian Chromium for one test module (a fixture's generator: ``yield from bu.chromium()``)."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


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

    Every test that runs `jupyter-book build` into _build should build inside this lock (tests/site/test_book.py
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


def relative_luminance(css_colour):
    """The WCAG relative luminance (0 black .. 1 white) of a CSS `rgb(...)`/`rgba(...)` colour."""
    numbers = [float(x) for x in re.findall(r"[\d.]+", css_colour)[:3]]
    assert len(numbers) == 3, f"not an rgb() colour: {css_colour!r}"

    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in numbers)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def open_page(context, url, mode=None):
    """Open `url` in a new tab of ``context`` (a browser context), with the colour mode stored as the theme would
    store it (None: a first visit).

    Returns (page, log): log gathers console errors, uncaught exceptions, failed localhost requests and
    localhost responses with status >= 400 while the page loads.
    """
    from urllib.parse import urlsplit

    page = context.new_page()
    log = []
    page.on("console", lambda m: m.type == "error" and log.append(f"console error: {m.text} ({m.location['url']})"))
    page.on("pageerror", lambda e: log.append(f"uncaught exception: {e}"))

    def failed(request):
        if urlsplit(request.url).hostname == "127.0.0.1":
            log.append(f"failed request: {request.url} ({request.failure})")

    def response(resp):
        if resp.status >= 400 and urlsplit(resp.url).hostname == "127.0.0.1":
            log.append(f"HTTP {resp.status}: {resp.url}")

    page.on("requestfailed", failed)
    page.on("response", response)
    stored = json.dumps(mode)
    page.add_init_script(
        f"const m = {stored}; if (m) {{ localStorage.setItem('mode', m); localStorage.setItem('theme', m); }}"
        " else { localStorage.removeItem('mode'); localStorage.removeItem('theme'); }"
    )
    page.goto(url, wait_until="load")
    page.mouse.wheel(0, 1)  # a reader scrolls: the concept checks' library is fetched once the reader does something
    return page, log


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


# The reader's audit: axe-core, keyboard, narrow screens, weight -----------------------------------------------
# Used by tests/site/test_a11y_site.py and tests/site/test_site_weight.py, and by
# `python tests/browser_utils.py audit DIR`, which prints the per-page table (axe by impact in light and dark mode,
# Tab stops, gzipped weight).

AUDIT_PAGES_EXTRA = ()  # the 18 pages of _toc.yml; Sphinx's genindex and search are checked by test_site_browser

# Interaction a reader does on a page, run in the page: each concept check answered (wrong first when `wrong`,
# else right), every folded answer, hint and disclosure opened, every player's slider moved half way.
INTERACT_JS = """
async ({wrong}) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  if (window.courseConceptChecks) await window.courseConceptChecks.ready();  // as a scroll or key press would
  for (const quiz of document.querySelectorAll('.Quiz')) {
    const answers = [...quiz.querySelectorAll('label.MCButton')];
    const pick = answers.find((a) => (a.dataset.correct === 'true') !== wrong) || answers[0];
    if (pick) pick.click();
  }
  for (const d of document.querySelectorAll('details')) d.open = true;
  for (const b of document.querySelectorAll('button.toggle-button, .toggle-details summary')) {
    if (b.getAttribute('aria-expanded') === 'false') b.click();
  }
  for (const s of document.querySelectorAll('.animation input[type=range]')) {
    s.value = String(Math.round((Number(s.max) || 0) / 2));
    s.dispatchEvent(new Event('input', {bubbles: true}));
    s.dispatchEvent(new Event('change', {bubbles: true}));
  }
  await sleep(900);  // jupyterquiz's answer animation lasts 0.8 s: axe must see its end state
}
"""


def axe_violations(page):
    """axe-core's violations on ``page`` as it is now, every rule axe runs by default (WCAG 2.0-2.2 A and AA, best
    practice): a list of dicts with id, impact, help, nodes (count) and targets (the first few selectors)."""
    from axe_playwright_python.sync_playwright import Axe

    response = Axe().run(page, options={"resultTypes": ["violations"]}).response
    return [
        {"id": v["id"], "impact": v["impact"] or "none", "help": v["help"], "nodes": len(v["nodes"]),
         "targets": [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]}
        for v in response["violations"]
    ]


def wait_until_settled(page, timeout_ms=20_000):
    """Wait for the load event, the network to go quiet, MathJax (where the page loads it) to finish, and the concept
    checks to be drawn once their library has been asked for.

    The concept checks' library (_ext/assets/concept-checks.js) is fetched only when a check comes near the screen
    or the reader does something; until then the checks stay pending (``data-jq-pending``) however long one waits.
    So the wait for them ends at once when the library was never asked for (a wait of ``timeout_ms`` on every page
    with a check further down, before: 20 s a page opened, the same page state at its end)."""
    page.wait_for_load_state("load")
    try:
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
    except Exception:  # noqa: BLE001 (a page that keeps polling still gets audited)
        pass
    page.evaluate(
        """async (ms) => { const sleep = (t) => new Promise((r) => setTimeout(r, t));
        const end = Date.now() + ms;
        while (Date.now() < end && document.querySelector('.math') && !(window.MathJax && MathJax.startup
               && MathJax.startup.promise)) await sleep(50);
        if (window.MathJax && MathJax.startup && MathJax.startup.promise)
          await Promise.race([MathJax.startup.promise, sleep(Math.max(0, end - Date.now()))]);
        const checks = document.querySelector('script[data-library]');
        const asked = () => !!window.jupyterquiz || (!!checks && [...document.scripts].some(
          (s) => s !== checks && s.getAttribute('src') === checks.dataset.library));
        while (Date.now() < end && document.querySelector('[data-jq-pending]') && asked()) await sleep(50);
        await sleep(100); }""",
        timeout_ms,
    )


def set_colour_mode(page, mode):
    """Make the next navigation of ``page`` open in ``mode`` ("light" or "dark"), as the theme stores it."""
    page.add_init_script(f"localStorage.setItem('mode', {json.dumps(mode)}); localStorage.setItem('theme', "
                         f"{json.dumps(mode)});")


def tab_stops_until(page, selector, limit=400):
    """How many presses of Tab, from the top of the freshly loaded page, until focus is inside ``selector``
    (None: not reached within ``limit`` presses, or the page has no such element)."""
    if not page.locator(selector).count():
        return None
    page.evaluate("() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); }")
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(sel) => !!(document.activeElement && document.activeElement.closest(sel))", selector):
            return presses
    return None


def focus_ring_missing(page, limit=400):
    """Tab through the page (at most ``limit`` stops): (the focused controls that show no focus indicator, how many
    controls were seen). An indicator is an outline, or a change of box-shadow, border or background against the
    control's unfocused look, drawn on the control's visible box (a visually hidden radio's label)."""
    missing, seen = [], set()
    page.evaluate("() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); }")
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUS_STYLE_JS)
        if info is None or info["key"] in seen:
            if info is not None and info["key"] in seen:
                break  # back at the start: every stop seen
            continue
        seen.add(info["key"])
        if not info["visible"]:
            missing.append(info["key"])
    return missing, len(seen)


# The focused element's look, compared with the same element unfocused (focus moved to a throwaway element).
FOCUS_STYLE_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
      (e.getAttribute('aria-label') ? `[aria-label="${e.getAttribute('aria-label')}"]` : '');
  const look = (e) => { const s = getComputedStyle(e); const r = e.getBoundingClientRect();
    return {outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 ? s.outlineStyle + s.outlineWidth +
      s.outlineColor : '', shadow: s.boxShadow, border: s.borderColor + s.borderWidth, bg: s.backgroundColor,
      w: r.width, h: r.height}; };
  // a visually hidden radio or checkbox shows its focus on its label
  const box = (el.matches('input[type=radio], input[type=checkbox]') && el.closest('label')) || el;
  // each look as a reader sees it once the theme's transitions (Bootstrap's .nav-link: 0.15 s) have run: measured
  // mid-way, on a machine too busy to draw a frame, a focus style would still be the unfocused one
  const settle = () => document.getAnimations().forEach((a) => { if (a instanceof CSSTransition) a.finish(); });
  settle();
  const focused = look(box);
  const key = describe(el) + '@' + [...document.querySelectorAll('*')].indexOf(el);
  const visible = focused.w > 0 && focused.h > 0;
  // unfocused look: blur, measure, focus again (focus-visible holds for keyboard focus moved by script here)
  el.blur();
  settle();
  const plain = look(box);
  el.focus({preventScroll: true});
  settle();
  const rendered = visible && box.checkVisibility ? box.checkVisibility({opacityProperty: true,
                   visibilityProperty: true}) : visible;
  const changed = focused.outline !== '' || focused.shadow !== plain.shadow || focused.border !== plain.border ||
                  focused.bg !== plain.bg;
  return {key, visible: rendered && changed};
}
"""


def horizontal_overflow(page):
    """How many CSS pixels the page scrolls sideways (0: none), and the widest elements that stick out."""
    return page.evaluate(
        """() => { const W = document.documentElement.clientWidth;
        const over = document.documentElement.scrollWidth - W;
        const out = [...document.querySelectorAll('body *')].filter((e) => {
          const r = e.getBoundingClientRect(); return r.width > 0 && r.right > W + 1; })
          .filter((e) => !e.closest('[hidden], .d-none') && getComputedStyle(e).visibility !== 'hidden')
          .slice(0, 5).map((e) => e.tagName.toLowerCase() + '.' + String(e.className).split(' ')[0]);
        return {over, out}; }"""
    )


def page_weight(browser, url, timeout_ms=30_000):
    """What opening ``url`` in a fresh, empty-cache context downloads, until the network is quiet: a dict with
    bytes (raw), gzip (each response gzip-compressed at level 6, as a server would send it; woff2 and PNG barely
    shrink) and resources (url -> (raw, gzip))."""
    import gzip

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    resources = {}

    def record(response):
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 (a redirect or an aborted request has no body)
            return
        resources[response.url] = (len(body), len(gzip.compress(body, compresslevel=6, mtime=0)))

    try:
        page = context.new_page()
        page.on("response", record)
        page.goto(url, wait_until="load", timeout=timeout_ms)
        wait_until_settled(page, timeout_ms)
        page.wait_for_timeout(300)
    finally:
        context.close()
    return {"bytes": sum(r[0] for r in resources.values()), "gzip": sum(r[1] for r in resources.values()),
            "resources": resources}


def launch_browser(pw):
    """Debian's Chromium, headless, through playwright (a plain browser: each new_context starts empty)."""
    return pw.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS, headless=True, timeout=60_000)


def audit_page(browser, url, modes=("light", "dark")):
    """One row of the audit table for the page at ``url``."""
    row = {}
    for mode in modes:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            set_colour_mode(page, mode)
            page.goto(url, wait_until="load")
            wait_until_settled(page)
            found = {v["id"]: v for v in axe_violations(page)}
            for wrong in (True, False):
                page.evaluate(INTERACT_JS, {"wrong": wrong})
                for v in axe_violations(page):
                    if v["id"] not in found or found[v["id"]]["nodes"] < v["nodes"]:
                        found[v["id"]] = v
            row[mode] = list(found.values())
            if mode == modes[0]:
                page.goto(url, wait_until="load")
                wait_until_settled(page)
                row["tab_quiz"] = tab_stops_until(page, ".Quiz")
                page.goto(url, wait_until="load")
                wait_until_settled(page)
                row["tab_player"] = tab_stops_until(page, ".animation")
        finally:
            context.close()
    weight = page_weight(browser, url)
    row["gzip"], row["bytes"] = weight["gzip"], weight["bytes"]
    return row


def _impacts(violations):
    counts = {}
    for v in violations:
        counts[v["impact"]] = counts.get(v["impact"], 0) + v["nodes"]
    order = ("critical", "serious", "moderate", "minor", "none")
    return " ".join(f"{k[0]}{counts[k]}" for k in order if k in counts) or "0"


def main(argv):
    """``python tests/browser_utils.py audit [DIR]``: the per-page table of the built site in DIR (_build/html)."""
    from playwright.sync_api import sync_playwright

    directory = Path(argv[1]) if len(argv) > 1 else HTML
    with serve_directory(directory) as base, sync_playwright() as pw:
        browser = launch_browser(pw)
        print("| page | axe light (c/s/m/mi nodes) | axe dark | rules | Tab to 1st check | Tab to 1st player |"
              " gzip KiB | raw KiB |")
        print("|---|---|---|---|---|---|---|---|")
        try:
            for doc in toc_files():
                row = audit_page(browser, f"{base}{doc}.html")
                rules = sorted({v["id"] for m in ("light", "dark") for v in row[m]})
                print(f"| {doc} | {_impacts(row['light'])} | {_impacts(row['dark'])} | {', '.join(rules)} | "
                      f"{row['tab_quiz'] if row['tab_quiz'] is not None else '-'} | "
                      f"{row['tab_player'] if row['tab_player'] is not None else '-'} | "
                      f"{row['gzip'] / 1024:.0f} | {row['bytes'] / 1024:.0f} |", flush=True)
        finally:
            browser.close()


if __name__ == "__main__" and sys.argv[1:2] == ["audit"]:
    main(sys.argv[1:])


def open_in(browser, url, mode=None, width=1280, height=900):
    """(context, page, log): ``url`` opened in a fresh context of ``browser``, in colour ``mode`` (None: the
    theme's default), settled (load, quiet network, MathJax done). ``log`` gathers console errors, uncaught
    exceptions and requests that left localhost (which are blocked). Close the context when done."""
    from urllib.parse import urlsplit

    context = browser.new_context(viewport={"width": width, "height": height})
    log = []

    def route(r):
        if urlsplit(r.request.url).hostname in ("127.0.0.1", "localhost") or r.request.url.startswith(("data:", "blob:")):  # noqa: E501
            r.continue_()
        else:
            log.append(f"request outside localhost: {r.request.url}")
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and log.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: log.append(f"uncaught exception: {e}"))
    page.on("response", lambda r: r.status >= 400 and log.append(f"HTTP {r.status}: {r.url}"))
    if mode:
        set_colour_mode(page, mode)
    page.goto(url, wait_until="load")
    wait_until_settled(page)
    return context, page, log
