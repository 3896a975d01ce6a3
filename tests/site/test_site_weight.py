"""What a page costs a reader on a slow link (issue 21), measured in the browser, not guessed from file sizes.

Each chapter is opened in a fresh, empty-cache context of Debian's Chromium (the built book served on localhost);
every response until the network is quiet is counted, each gzip-compressed as a web server would send it (woff2
and PNG barely shrink). A text chapter, with everything it loads, weighs at most 400 KiB; chapter 4 with its two
players at most 1 MiB. The built HTML itself is checked too: jupyterquiz's library is loaded once per page, never
inlined; no script in ``<head>`` blocks rendering; MathJax only on pages with math; the players' frames are image
files, not base64 in the page.
"""

import gzip
import os
import re
from urllib.parse import urljoin

import browser_utils as bu
import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt: run make")

PAGES = bu.toc_files()
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
PLAYER_CHAPTER = "chapters/04_moons_network"
TEXT_CHAPTERS = [c for c in CHAPTERS if c != PLAYER_CHAPTER]
KIB = 1024
TEXT_LIMIT = 400 * KIB
PLAYER_LIMIT = 1024 * KIB
HEAD_SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("doc", TEXT_CHAPTERS)
def test_a_text_chapter_weighs_at_most_400_kib(site, reader_browser, doc):
    weight = bu.page_weight(reader_browser, urljoin(site, f"{doc}.html"))
    heaviest = sorted(weight["resources"].items(), key=lambda r: -r[1][1])[:8]
    assert weight["gzip"] <= TEXT_LIMIT, (
        f"{doc} loads {weight['gzip'] / KIB:.0f} KiB gzipped (at most {TEXT_LIMIT // KIB}); heaviest:\n"
        + "\n".join(f"- {g / KIB:.0f} KiB {u}" for u, (_, g) in heaviest))


@pytest.mark.timeout(600)
def test_chapter_4_weighs_at_most_1_mib(site, reader_browser):
    weight = bu.page_weight(reader_browser, urljoin(site, f"{PLAYER_CHAPTER}.html"))
    heaviest = sorted(weight["resources"].items(), key=lambda r: -r[1][1])[:8]
    assert weight["gzip"] <= PLAYER_LIMIT, (
        f"{PLAYER_CHAPTER} loads {weight['gzip'] / KIB:.0f} KiB gzipped; heaviest:\n"
        + "\n".join(f"- {g / KIB:.0f} KiB {u}" for u, (_, g) in heaviest))


@pytest.mark.timeout(300)
def test_canary_weight_counts_what_a_page_loads(reader_browser, tmp_path):
    blob = os.urandom(300 * KIB)  # random bytes do not compress
    (tmp_path / "blob.bin").write_bytes(blob)
    (tmp_path / "heavy.html").write_text(
        '<!DOCTYPE html><html><head><title>h</title></head><body>'
        '<script>fetch("blob.bin").then(r => r.arrayBuffer())</script></body></html>')
    with bu.serve_directory(tmp_path) as base:
        weight = bu.page_weight(reader_browser, urljoin(base, "heavy.html"))
    assert weight["gzip"] >= len(gzip.compress(blob)), f"a 300 KiB download counted as {weight['gzip']} bytes"
    assert any(u.endswith("blob.bin") for u in weight["resources"]), weight["resources"].keys()


# The built HTML -------------------------------------------------------------------------------------------------


def head_problems(text):
    """What in a page's HTML costs readers: render-blocking scripts in <head>, inlined jupyterquiz, base64 frames,
    FontAwesome's SVG+JS build, MathJax on a page without math."""
    head = text.split("</head>", 1)[0]
    problems = []
    for attrs in HEAD_SCRIPT.findall(head):
        if "src=" in attrs and not re.search(r"\b(defer|async)\b", attrs) and 'type="module"' not in attrs:
            problems.append(f"render-blocking script in <head>: <script{attrs}>")
    inlined = text.count("function make_mc(")
    if inlined:
        problems.append(f"jupyterquiz's library inlined {inlined} times")
    if 'class="jq-questions"' in text and text.count("jupyterquiz-lib.js") != 1:
        problems.append(f"jupyterquiz's library loaded {text.count('jupyterquiz-lib.js')} times, not once")
    if "data:image/png;base64" in text and "frames[" in text:
        problems.append("a player's frames are base64 inside the page")
    if re.search(r"fontawesome/[\d.]+/js/", text):
        problems.append("FontAwesome's SVG+JS build is loaded")
    if "mathjax/" in head and 'class="math' not in text:
        problems.append("MathJax is loaded on a page without math")
    return problems


@pytest.mark.parametrize("doc", PAGES)
def test_page_html_loads_nothing_it_does_not_need(site_dir, doc):
    text = (site_dir / f"{doc}.html").read_text(encoding="utf-8")
    problems = head_problems(text)
    assert not problems, f"{doc}.html:\n" + "\n".join(f"- {p}" for p in problems)
    assert '<meta name="description"' in text, f"{doc}.html has no meta description"


def test_canary_html_check_finds_each_cost():
    page = ('<html><head><script src="a.js"></script><script defer src="b.js"></script>'
            '<script src="x/fontawesome/6.5.2/js/all.min.js"></script><script defer src="m/mathjax/startup.js">'
            '</script></head><body><script>function make_mc(){}</script><script>frames[0] = '
            '"data:image/png;base64,AAAA"</script></body></html>')
    text = "\n".join(head_problems(page))
    for expected in ("render-blocking script in <head>: <script src=\"a.js\"", "inlined 1 times", "base64",
                     "SVG+JS", "without math"):
        assert expected in text, f"{expected!r} not reported:\n{text}"
    assert "b.js" not in text
