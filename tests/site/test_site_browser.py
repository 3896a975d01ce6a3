"""The course site as a reader sees it: the built book served on localhost and read in headless Chromium.

The site is built once (`jupyter-book build`, executed notebooks from the cache), served from _build/html by
Python's http.server on 127.0.0.1, and read in Debian's Chromium driven by playwright (never a downloaded
browser). Requests that leave localhost are blocked and reported: nothing may be downloaded at run time.
Screenshots of every chapter, light and dark, land in artifacts/screenshots/ (git-ignored) for a person to look at.

Each kind of check is also run once against a small broken page (the canary tests), so that a check that could
never fail would show.
"""

import functools
import html
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import browser_utils as bu
import nbformat
import pytest

from grading import leaks
from grading.course import Course

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt: run make")

PAGES = bu.toc_files()  # intro, chapters, guides: reading order
CHAPTERS = [f for f in PAGES if f.startswith("chapters/")]
EXTRA_PAGES = ["genindex", "search"]  # Sphinx's own pages, which every page links to
TIMEOUT_MS = 20_000  # any single wait in the browser (the same as conftest's)
SHOT_MODES = ("light", "dark")


# The fixtures (site_dir, site, chromium, built_notebooks) are tests/site/conftest.py's.


# Reading a page ------------------------------------------------------------------------------------------------

# Run in the page once it has loaded: waits (bounded) for images and MathJax, then reports what a reader would
# meet. Math elements are Sphinx's `.math` spans/divs; MathJax 3 puts an <mjx-container> in each one it renders.
INSPECT_JS = """
async (timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const images = [...document.images];
  for (const img of images) { img.loading = "eager"; }
  while (Date.now() < deadline && images.some((img) => !img.complete)) await sleep(50);
  const maths = [...document.querySelectorAll(".math")];
  // MathJax is a deferred script: by the load event it has run, or failed to load (then there is nothing to wait
  // for). Its startup promise settles once the page is typeset.
  if (window.MathJax && MathJax.version && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, sleep(Math.max(0, deadline - Date.now()))]);
    while (Date.now() < deadline && maths.some((m) => !m.querySelector("mjx-container"))) await sleep(50);
  }
  // The prose as a reader sees it: code, rendered math and scripts left out.
  const main = (document.querySelector("main") || document.body).cloneNode(true);
  main.querySelectorAll("pre, code, .highlight, mjx-container, script, style, noscript").forEach((n) => n.remove());
  return {
    images: images.map((img) => ({
      src: img.getAttribute("src"), alt: img.getAttribute("alt"), complete: img.complete,
      naturalWidth: img.naturalWidth,
    })),
    mathElements: maths.length,
    mathUnrendered: maths.filter((m) => !m.querySelector("mjx-container")).map((m) => m.textContent.slice(0, 80)),
    mathErrors: [...document.querySelectorAll("mjx-merror")].map((m) => m.textContent.slice(0, 80)),
    mjxContainers: document.querySelectorAll("mjx-container").length,
    mathJaxLoaded: !!(window.MathJax && MathJax.version),
    prose: main.textContent,
    code: [...document.querySelectorAll("pre")].map((p) => p.innerText).join("\\n"),
    text: document.body.innerText,
    hasIcon: !!document.querySelector("link[rel~='icon']"),
    theme: document.documentElement.dataset.theme,
    background: getComputedStyle(document.body).backgroundColor,
  };
}
"""

RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\$[^$\n]{0,200}\\[A-Za-z]+[^$\n]{0,200}\$")
FILE_NAME_ALT = re.compile(r"(_images/|\.(png|jpe?g|svg|gif|webp)$)", re.I)


def inspect(page):
    return page.evaluate(INSPECT_JS, TIMEOUT_MS)


def reader_problems(context, external, url, expect_math=False):
    """Everything wrong with the page at `url` for a reader, as a list of sentences (empty: all well).

    expect_math: the page's source has math, so MathJax must have typeset some (<mjx-container>).
    """
    seen_external = len(external)
    page, log = bu.open_page(context, url)
    try:
        info = inspect(page)
        page.wait_for_timeout(200)  # late console messages of the theme's scripts
        # With no <link rel="icon">, every browser asks for /favicon.ico (a request the page's own network log
        # does not show, so it is checked here).
        favicon = page.request.get(urljoin(url, "/favicon.ico")).status if not info["hasIcon"] else 200
    finally:
        page.close()
    problems = list(log)
    if favicon >= 400:
        problems.append(f"no <link rel='icon'>, and the browser's request for /favicon.ico answers {favicon}")
    if expect_math and not info["mjxContainers"]:
        problems.append("the source has math but the page shows none typeset by MathJax (no <mjx-container>)")
    problems += [f"requested {u} from outside localhost (nothing may be downloaded)" for u in external[seen_external:]]
    images = info["images"]
    broken = [i["src"] for i in images if not i["complete"] or not i["naturalWidth"]]
    problems += summarise("image does not load", broken)
    problems += summarise("image without alt text", [i["src"] for i in images if not (i["alt"] or "").strip()])
    problems += summarise(
        "image whose alt text is its file name, not a description",
        [i["src"] for i in images if FILE_NAME_ALT.search((i["alt"] or "").strip())],
    )
    if info["mathElements"] and not info["mathJaxLoaded"]:
        problems.append(f"{info['mathElements']} math elements but MathJax never loaded: the math shows as raw TeX")
    else:
        problems += summarise("math not rendered by MathJax", info["mathUnrendered"])
        problems += summarise("raw TeX in the text", [m.group(0)[:80] for m in RAW_TEX.finditer(info["prose"])])
    problems += summarise("MathJax error", info["mathErrors"])
    page_text = leaks.normalise(info["text"] + "\n" + info["code"])
    problems += [f"nbgrader marker {m!r} on the page" for m in leaks.MARKERS if m in page_text]
    problems += summarise("solution or hidden-test line on the page",
                          [line for line in sorted(secret_lines()) if line in page_text])
    return problems


@functools.cache
def secret_lines():
    """The telling lines of every solution and hidden test (grading.leaks, the course's one leak scanner)."""
    return frozenset(leaks.course_secrets(Course(bu.ROOT)))


def summarise(what, items, show=3):
    """One problem line for a list of offending snippets: how many, and the first few."""
    if not items:
        return []
    more = f" and {len(items) - show} more" if len(items) > show else ""
    return [f"{what} ({len(items)}x): " + ", ".join(repr(i) for i in items[:show]) + more]


def source_has_math(doc):
    """Whether the page's prose (a notebook's markdown cells, or a .md file) has $...$ or a LaTeX environment."""
    notebook, markdown = bu.ROOT / f"{doc}.ipynb", bu.ROOT / f"{doc}.md"
    if notebook.is_file():
        text = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown")
    else:
        text = markdown.read_text() if markdown.is_file() else ""
    return bool(re.search(r"\$[^$\n]+\$|\\begin\{", text))


# The pages -----------------------------------------------------------------------------------------------------


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("doc", PAGES + EXTRA_PAGES)
def test_page_reads_cleanly(site, chromium, doc):
    """No console error or failed local request, every image loads and has alt text, math rendered by MathJax,
    no request leaves localhost, no solution code or hidden test text."""
    context, external = chromium
    problems = reader_problems(context, external, urljoin(site, f"{doc}.html"), expect_math=source_has_math(doc))
    assert not problems, f"{doc}.html:\n" + "\n".join(f"- {p}" for p in problems)


# Navigation ----------------------------------------------------------------------------------------------------


@pytest.mark.timeout(1500)
def test_next_and_previous_links_walk_the_toc_in_order(site, chromium):
    """Clicking 'next' from the root page visits every page of _toc.yml in order; on each page 'previous' points
    back to the page before."""
    expected = [f"/{f}.html" for f in PAGES]
    page, _ = bu.open_page(chromium[0], site)  # index.html sends the reader to the root page
    visited, previous = [], []
    try:
        page.wait_for_url(urljoin(site, f"{PAGES[0]}.html"), wait_until="domcontentloaded")
        for _ in range(len(PAGES) + 2):
            visited.append(urlsplit(page.url).path)
            back = page.locator("a.left-prev")
            previous.append(urlsplit(urljoin(page.url, back.get_attribute("href"))).path if back.count() else None)
            link = page.locator("a.right-next")
            if link.count() == 0:
                break
            target = urljoin(page.url, link.get_attribute("href"))
            link.click()
            page.wait_for_url(target, wait_until="domcontentloaded")
    finally:
        page.close()
    assert visited == expected, f"'next' links walk {visited}; _toc.yml says {expected}"
    assert previous == [None] + expected[:-1], f"'previous' links on those pages point to {previous}"


@pytest.mark.timeout(1500)
def test_search_finds_the_perceptron_chapter(site, chromium):
    """Typed into the search box, as a reader would; Sphinx's search runs in the browser."""
    perceptron = next(f for f in CHAPTERS if "perceptron" in f)
    page, _ = bu.open_page(chromium[0], urljoin(site, f"{PAGES[0]}.html"))
    try:
        page.locator("button.search-button__button").first.click()
        box = page.locator("#search-input:visible, input[name='q']:visible").first
        box.fill("perceptron")
        box.press("Enter")
        page.wait_for_url(re.compile(r"/search\.html\?q=perceptron"), wait_until="load")
        # Sphinx writes the summary ("Search finished, found N pages ...") once every result is listed.
        page.wait_for_function("() => document.querySelector('#search-results .search-summary')?.innerText")
        summary = page.locator("#search-results .search-summary").inner_text()
        found = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    finally:
        page.close()
    paths = sorted({urlsplit(u).path for u in found})
    assert f"/{perceptron}.html" in paths, f"searching 'perceptron' gave {paths} ({summary!r})"


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("doc", CHAPTERS)
def test_download_button_gives_the_chapter_notebook(site, chromium, built_notebooks, doc):
    context, _ = chromium
    page, _ = bu.open_page(context, urljoin(site, f"{doc}.html"))
    try:
        body = bu.download_source(context, page)
    finally:
        page.close()
    downloaded = nbformat.reads(body.decode("utf-8"), as_version=4)
    nbformat.validate(downloaded)
    original = built_notebooks[doc]
    assert [c.source for c in downloaded.cells] == [c.source for c in original.cells], (
        f"the notebook served for {doc} is not {doc}.ipynb"
    )
    assert downloaded.metadata.get("kernelspec", {}).get("name") == "python3"


# Screenshots ---------------------------------------------------------------------------------------------------


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("doc", CHAPTERS)
def test_screenshots_light_and_dark(site, chromium, doc):
    """A full-page screenshot per chapter and colour mode in artifacts/screenshots/, for a person to look at;
    checks that the mode took: the theme attribute and the page's background."""
    bu.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for mode in SHOT_MODES:
        page, _ = bu.open_page(chromium[0], urljoin(site, f"{doc}.html"), mode=mode)
        try:
            info = inspect(page)
            target = bu.SCREENSHOTS / f"{Path(doc).name}-{mode}.png"
            page.screenshot(path=str(target), full_page=True, animations="disabled")
        finally:
            page.close()
        assert info["theme"] == mode, f"{doc} in {mode} mode has data-theme={info['theme']!r}"
        luminance = bu.relative_luminance(info["background"])
        assert (luminance < 0.2) if mode == "dark" else (luminance > 0.8), (
            f"{doc} in {mode} mode has background {info['background']} (luminance {luminance:.2f})"
        )
        assert target.stat().st_size > 10_000, f"{target} is suspiciously small"


# Internal links ------------------------------------------------------------------------------------------------


class _Refs(HTMLParser):
    """The ids of an HTML page and the local addresses it refers to."""

    ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src"}

    def __init__(self):
        super().__init__()
        self.ids, self.refs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        ref = attrs.get(self.ATTRS.get(tag, ""))
        if ref and tag == "link" and attrs.get("rel") in ("preconnect", "dns-prefetch"):
            return
        if ref:
            self.refs.append((tag, ref.strip()))


def broken_links(root):
    """Every local reference under `root`'s HTML pages whose file, or whose #anchor, does not exist."""
    root = Path(root)
    parsed, problems = {}, []

    def parse(path):
        if path not in parsed:
            refs = _Refs()
            refs.feed(path.read_text(errors="replace"))
            parsed[path] = refs
        return parsed[path]

    pages = [p for p in root.rglob("*.html") if not p.relative_to(root).parts[0].startswith(("_static", "_sources"))]
    for page in sorted(pages):
        for tag, ref in parse(page).refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith("//") or ref in ("#", ""):
                continue  # external (not this check's business), or a script-driven button
            path = unquote(parts.path)
            target = page if not path else (root / path.lstrip("/") if path.startswith("/") else page.parent / path)
            if path.endswith("/") or target.is_dir():
                target = target / "index.html"
            target = Path(target).resolve()
            where = f"{page.relative_to(root)}: <{tag}> {ref}"
            if not target.is_relative_to(root.resolve()):
                problems.append(f"{where} points outside the site")
            elif not target.is_file():
                problems.append(f"{where} -> missing file")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in parse(target).ids:
                problems.append(f"{where} -> no #{parts.fragment} in {target.name}")
    return problems, len(pages)


@pytest.mark.timeout(1500)
def test_internal_links_resolve(site_dir):
    problems, pages = broken_links(site_dir)
    assert pages >= len(PAGES), f"only {pages} HTML pages found under {site_dir}"
    assert not problems, f"{len(problems)} broken internal links:\n" + "\n".join(problems[:50])


# Canaries: every check above, on pages made broken on purpose ------------------------------------------------


def test_canary_link_crawl_finds_broken_links(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text('<p id="top"><a href="sub/b.html#here">ok</a><a href="#top">ok</a></p>')
    (tmp_path / "sub" / "b.html").write_text(
        '<h1 id="here">b</h1><a href="../gone.html">x</a><a href="../index.html#nowhere">y</a>'
        '<img src="pic.png" alt="a picture"><a href="https://example.org/">external</a>'
    )
    problems, pages = broken_links(tmp_path)
    assert pages == 2
    assert len(problems) == 3, problems
    assert any("gone.html -> missing file" in p for p in problems)
    assert any("no #nowhere" in p for p in problems)
    assert any("pic.png -> missing file" in p for p in problems)


CANARY_PAGE = """<!DOCTYPE html><html><head><title>canary</title></head><body><main>
<p>Raw math left over: $$ w \\cdot x + b $$ and $\\sigma(z)$.</p>
<img src="missing.png" alt="a figure that is not there">
<img src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/%3E">
<img src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/%3E"
     alt="../_images/abc123.png">
<pre>{solution}</pre>
<script>console.error("canary console error");</script>
<script src="https://cdn.example.org/lib.js"></script>
</main></body></html>
"""


CANARY_MATH_PAGE = """<!DOCTYPE html><html><head><link rel="icon" href="data:,">
<script defer src="_static/mathjax/tex-chtml.js"></script></head><body><main>
<p>Inline <span class="math notranslate nohighlight">\\(x\\)</span> and display math:</p>
<div class="math notranslate nohighlight">\\[ z = w \\cdot x + b \\]</div>
</main></body></html>
"""


@pytest.mark.timeout(300)
def test_canary_reader_checks_find_a_broken_page(chromium, tmp_path):
    """A page with each fault the page check looks for: each must be reported."""
    context, external = chromium
    solution = "### BEGIN SOLUTION\n" + sorted(secret_lines())[0] + "\n### END SOLUTION"
    (tmp_path / "canary.html").write_text(CANARY_PAGE.format(solution=html.escape(solution)))
    (tmp_path / "canary-math.html").write_text(CANARY_MATH_PAGE)
    with bu.serve_directory(tmp_path) as base:
        problems = reader_problems(context, external, urljoin(base, "canary.html"), expect_math=True)
        math_problems = reader_problems(context, external, urljoin(base, "canary-math.html"), expect_math=True)
    text = "\n".join(problems)
    assert any("2 math elements but MathJax never loaded" in p for p in math_problems), math_problems
    for expected in (
        "canary console error",
        "HTTP 404",
        "image does not load (1x): 'missing.png'",
        "image without alt text",
        "alt text is its file name",
        "raw TeX",
        "no <mjx-container>",
        "from outside localhost",
        "/favicon.ico answers 404",
        "solution or hidden-test line on the page (1x)",
        "nbgrader marker 'BEGIN SOLUTION'",
    ):
        assert expected in text, f"the page check missed {expected!r}; it reported:\n{text}"
