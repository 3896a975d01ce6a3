"""The site for every reader: axe-core on every page, keyboard focus, Tab stops, narrow screens (issue 21).

The built book (conftest's strict build, copied aside and served on localhost by
tests/site/conftest.py's fixtures)
is read in Debian's Chromium, through playwright, with axe-core from the pinned axe-playwright-python (axe-core
4.12, every rule it runs by default: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and best practice).

- axe finds no violation, of any impact, on any page of _toc.yml, in light and in dark mode, as the page opens,
  after every concept check is answered wrongly and after it is answered rightly (with every folded answer, hint
  and disclosure open and every player's slider moved);
- chapter 4's first player is at most 40 presses of Tab from the top of the page;
- every control that Tab reaches shows a focus indicator;
- no page scrolls sideways at 320 CSS pixels.

Each check also runs on a small page broken on purpose (the canaries), so that a check that cannot fail shows.
"""

from urllib.parse import urljoin

import browser_utils as bu
import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt: run make")
pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is in requirements.txt: run make")

PAGES = bu.toc_files()
PLAYER_CHAPTER = "chapters/04_moons_network"
MAX_TABS_TO_PLAYER = 40
NARROW = 320
FOCUS_PAGES = ["intro", "chapters/01_perceptron", PLAYER_CHAPTER, "exercises/ex01_perceptron/ex01_perceptron"]


def describe(violations):
    return "\n".join(f"- {v['id']} ({v['impact']}, {v['nodes']} nodes): {v['help']}; e.g. {v['targets']}"
                     for v in violations)


def axe_after_interaction(browser, url, mode):
    """{state: violations} for the page as it opens, after wrong answers and after right answers."""
    context, page, log = bu.open_in(browser, url, mode)
    seen = []  # the page's own errors; axe's own fetches (it resolves a stylesheet's @import against the page,
    # so the theme's `@import "../basic.css"` gets a 404 of axe's making) are left out

    def axe():
        seen.extend(log)
        violations = bu.axe_violations(page)
        del log[:]
        return violations

    try:
        found = {"as it opens": axe()}
        for wrong in (True, False):
            page.evaluate(bu.INTERACT_JS, {"wrong": wrong})
            found["after " + ("wrong" if wrong else "right") + " answers"] = axe()
        return found, seen
    finally:
        context.close()


# axe-core -------------------------------------------------------------------------------------------------------


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("doc", PAGES)
def test_axe_finds_nothing_after_interaction(site, reader_browser, doc, mode):
    """In light and in dark mode (one test each, so that the two workers can share a page's work)."""
    found, log = axe_after_interaction(reader_browser, urljoin(site, f"{doc}.html"), mode)
    problems = [f"{mode}, {state}:\n{describe(v)}" for state, v in found.items() if v]
    problems += [f"{mode}: {line}" for line in log]
    assert not problems, f"{doc}.html:\n" + "\n".join(problems)


CANARY_AXE_PAGE = """<!DOCTYPE html><html lang="en"><head><title>canary</title></head><body><main>
<h1>Canary</h1>
<p style="color:#999;background:#fff">Grey on white: 2.8 to 1.</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10">
<input type="range" min="0" max="3" value="0">
<form aria-label="Repetition mode"><input type="radio" name="a" aria-label="once"></form>
<form aria-label="Repetition mode"><input type="radio" name="b" aria-label="once"></form>
<div class="Quiz"><label class="MCButton" data-correct="false" style="color:#fafafa;background:#fafafa">
  <input type="radio" name="q">wrong</label>
  <label class="MCButton" data-correct="true"
   onclick="this.style.cssText='background:#009113;color:#fafafa'"><input type="radio"
  name="q">right</label></div>
</main></body></html>
"""


@pytest.mark.timeout(300)
def test_canary_axe_reports_each_kind_of_barrier(reader_browser, tmp_path):
    (tmp_path / "canary.html").write_text(CANARY_AXE_PAGE)
    with bu.serve_directory(tmp_path) as base:
        found, _ = axe_after_interaction(reader_browser, urljoin(base, "canary.html"), None)
    ids = {v["id"] for v in found["as it opens"]}
    for expected in ("color-contrast", "image-alt", "label", "landmark-unique"):
        assert expected in ids, f"axe missed {expected!r} on the canary page; it found {sorted(ids)}"
    after = {v["id"]: v["nodes"] for v in found["after right answers"]}
    assert after.get("color-contrast", 0) > 1, f"the answered check's contrast was not seen after interaction: {after}"


# Keyboard -------------------------------------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_first_player_of_chapter_4_is_at_most_40_tab_stops_away(site, reader_browser):
    context, page, _ = bu.open_in(reader_browser, urljoin(site, f"{PLAYER_CHAPTER}.html"))
    try:
        assert page.locator(".animation").count() >= 1, "chapter 4 shows no player"
        stops = bu.tab_stops_until(page, ".animation", limit=300)
    finally:
        context.close()
    assert stops is not None, "Tab never reaches chapter 4's first player (300 presses)"
    assert stops <= MAX_TABS_TO_PLAYER, f"chapter 4's first player is {stops} Tab stops from the top"


@pytest.mark.timeout(300)
def test_canary_tab_count_counts_every_stop(reader_browser, tmp_path):
    links = "".join(f'<a href="#x{i}">link {i}</a> ' for i in range(45))
    (tmp_path / "tabs.html").write_text(
        f'<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main>{links}'
        '<div class="animation"><input type="range" aria-label="frame"></div></main></body></html>')
    with bu.serve_directory(tmp_path) as base:
        context, page, _ = bu.open_in(reader_browser, urljoin(base, "tabs.html"))
        try:
            stops = bu.tab_stops_until(page, ".animation")
        finally:
            context.close()
    assert stops == 46, f"45 links then the player: counted {stops} Tab stops"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("doc", FOCUS_PAGES)
def test_every_control_shows_keyboard_focus(site, reader_browser, doc, mode):
    context, page, _ = bu.open_in(reader_browser, urljoin(site, f"{doc}.html"), mode)
    try:
        missing, seen = bu.focus_ring_missing(page)
    finally:
        context.close()
    assert seen >= 10, f"{doc}: only {seen} Tab stops seen: the walk did not work"
    assert not missing, f"{doc} ({mode}): {len(missing)} controls show no focus indicator:\n" + "\n".join(missing[:20])


@pytest.mark.timeout(300)
def test_canary_focus_check_finds_a_control_without_focus_ring(reader_browser, tmp_path):
    buttons = "".join(f"<button>ok {i}</button>" for i in range(10))
    (tmp_path / "focus.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><title>f</title><style>.bare:focus{outline:none}</style></head>'
        f'<body><main>{buttons}<button class="bare">no ring</button></main></body></html>')
    with bu.serve_directory(tmp_path) as base:
        context, page, _ = bu.open_in(reader_browser, urljoin(base, "focus.html"))
        try:
            missing, seen = bu.focus_ring_missing(page)
        finally:
            context.close()
    assert seen == 11, f"11 buttons, {seen} Tab stops seen"
    assert len(missing) == 1 and "bare" in missing[0], missing


def test_canary_quiz_arrow_key_moves_without_answering(site, reader_browser):
    """On a concept check, an arrow key moves the focus to the next answer without answering; Space answers."""
    context, page, _ = bu.open_in(reader_browser, urljoin(site, "chapters/01_perceptron.html"))
    try:
        page.evaluate("() => window.courseConceptChecks.ready()")  # as the reader's first key press would
        quiz = page.locator(".Quiz").first
        radios = quiz.locator("input[type=radio]")
        radios.first.focus()
        page.keyboard.press("ArrowDown")
        focused = page.evaluate("() => document.activeElement.id")
        assert focused == radios.nth(1).get_attribute("id"), "ArrowDown did not move to the second answer"
        assert quiz.locator(".Feedback").inner_text().strip() == "", "ArrowDown answered the check"
        page.keyboard.press("Space")
        page.wait_for_function("el => el.innerText.trim().length > 0", arg=quiz.locator(".Feedback").element_handle())
        assert quiz.locator(".Answer").get_attribute("role") == "radiogroup"
        assert quiz.locator(".Feedback").get_attribute("aria-live") == "polite"
        labelled = quiz.locator(".Answer").get_attribute("aria-labelledby")
        assert labelled and page.locator(f"#{labelled}").inner_text().strip(), "the answers are not named by the question"  # noqa: E501
    finally:
        context.close()


@pytest.mark.timeout(300)
def test_escape_closes_the_contents_drawer_and_returns_focus(site, reader_browser):
    context, page, _ = bu.open_in(reader_browser, urljoin(site, "chapters/01_perceptron.html"), width=400)
    try:
        toggle = page.locator("button.primary-toggle").first
        toggle.focus()
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('pst-primary-sidebar-checkbox').checked")
        page.wait_for_function("() => document.activeElement.closest('.bd-sidebar-primary') !== null")
        for _ in range(60):  # Tab stays inside the open drawer
            page.keyboard.press("Tab")
            inside = page.evaluate("() => !!document.activeElement.closest('.bd-sidebar-primary')")
            assert inside, "Tab left the open contents drawer"
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.getElementById('pst-primary-sidebar-checkbox').checked")
        assert page.evaluate("() => document.activeElement.classList.contains('primary-toggle')"), (
            "after Escape, focus is not back on the button that opened the drawer")
    finally:
        context.close()


# Narrow screens -------------------------------------------------------------------------------------------------


@pytest.mark.timeout(600)
@pytest.mark.parametrize("doc", PAGES)
def test_no_sideways_scrolling_at_320_px(site, reader_browser, doc):
    context, page, _ = bu.open_in(reader_browser, urljoin(site, f"{doc}.html"), width=NARROW, height=700)
    try:
        overflow = bu.horizontal_overflow(page)
    finally:
        context.close()
    assert overflow["over"] <= 0, f"{doc} scrolls {overflow['over']} px sideways at {NARROW} px: {overflow['out']}"


@pytest.mark.timeout(300)
def test_canary_overflow_check_finds_a_wide_line(reader_browser, tmp_path):
    (tmp_path / "wide.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><title>w</title><meta name="viewport" content="width=device-width">'
        '</head><body><main><p><span style="white-space:nowrap">' + "long_identifier_" * 20 +
        "</span></p></main></body></html>")
    with bu.serve_directory(tmp_path) as base:
        context, page, _ = bu.open_in(reader_browser, urljoin(base, "wide.html"), width=NARROW, height=700)
        try:
            overflow = bu.horizontal_overflow(page)
        finally:
            context.close()
    assert overflow["over"] > 100, overflow
