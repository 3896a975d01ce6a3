"""Chapter 4's concept checks and sliders: the course's convention in the notebook, and the sliders in Chromium.

The convention and the checks of one cell are tests/concept_checks.py's, as for tests/site/test_site_checks_ch5_6.py,
so that the course has one checker. Chapter 4 also has a folded note that is no concept check (the library upkeep
beside LogisticRegressionCV, under another summary line), so its "predict, then run" prompts are found by their
summary line, "Show the answer", or by the words "predict, then run".

On the site (built strictly by conftest's ``built_site`` fixture, copied aside and served on localhost, read in
Debian's Chromium): every multiple-choice check answers a click with that answer's feedback; the epoch slider,
moved with the keyboard as a reader would, changes the picture; the learning-rate slider switches between the five
precomputed runs. matplotlib's players are told apart by the alt text the chapter gives their pictures. Their
frames are image files of the site (_ext/reader_site.py takes them out of the page), fetched when shown; the
slider is labelled with the player's description and its value text says which frame is shown.
"""

import ast
import re
from copy import deepcopy
from urllib.parse import urljoin

import browser_utils as bu
import nbformat
import pytest
from concept_checks import SUMMARY, concept_checks, convention_problems, quiz_call

# The site and the browser are tests/site/conftest.py's fixtures (without playwright they skip, and the notebook
# tests here still run).

DOC = "chapters/04_moons_network"
# The key cells a "predict, then run" prompt must come right before (a piece of their code).
PREDICT_BEFORE = ["smaller_step = published_moons_network(3, learning_rate=1.0", "hidden_sizes = ["]
EPOCH_PLAYER = "update by update"  # part of the alt text of each player's picture
RATES_PLAYER = "five learning rates"
N_RATES = 5
MAX_FRAMES = 40
MAX_PAGE_BYTES = 600_000  # the built page; the frames are image files of their own (_ext/reader_site.py)


def read_chapter():
    return nbformat.read(bu.ROOT / f"{DOC}.ipynb", as_version=4)


def questions_of(nb):
    """The questions of every multiple-choice check, in page order."""
    return [q for i in concept_checks(nb)[0] for q in ast.literal_eval(quiz_call(nb.cells[i].source).args[0])]


# The notebook --------------------------------------------------------------------------------------------------


def test_chapter_4_has_three_to_five_checks_following_the_convention():
    problems = convention_problems(read_chapter())
    assert not problems, f"{DOC}.ipynb:\n" + "\n".join(f"- {p}" for p in problems)


@pytest.mark.parametrize("piece", PREDICT_BEFORE)
def test_a_predict_prompt_comes_right_before_the_key_cell(piece):
    nb = read_chapter()
    key = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and piece in c.source]
    assert len(key) == 1, f"{len(key)} code cells contain {piece!r}"
    assert key[0] - 1 in concept_checks(nb)[1], f"the cell before the one with {piece!r} is no predict-then-run prompt"


def test_a_check_takes_on_bigger_networks_are_always_better():
    questions = [q for q in questions_of(read_chapter()) if "bigger networks are always better" in q["question"].lower()]  # noqa: E501
    assert len(questions) == 1, "no multiple-choice check on the misconception 'bigger networks are always better'"
    (right,) = [a for a in questions[0]["answers"] if a["correct"]]
    assert "always" not in right["answer"].lower(), f"the answer marked right agrees with it: {right['answer']!r}"


def test_canary_the_checker_finds_broken_checks_in_the_chapter():
    """The chapter broken on purpose, one way at a time: each must be reported, so the tests above could fail."""
    nb = read_chapter()
    quizzes, prompts = concept_checks(nb)
    notes = [c for c in nb.cells if c.cell_type == "markdown" and "<details>" in c.source and SUMMARY not in c.source]
    assert notes, "the chapter has no folded note that is no check (the library upkeep): this canary expects one"

    def broken(edit):
        copy = nbformat.from_dict(deepcopy(nb))
        edit(copy.cells)
        return "\n".join(convention_problems(copy))

    def unfold(cells):
        cells[prompts[0]].source = cells[prompts[0]].source.replace(SUMMARY, "<details><summary>Answer</summary>")

    def untag(cells):
        cells[quizzes[0]].metadata["tags"] = []

    def six_checks(cells):
        cells[quizzes[0] + 1:quizzes[0] + 1] = [deepcopy(cells[quizzes[0]])] * (6 - len(quizzes) - len(prompts))

    def no_prompts(cells):
        cells[:] = [c for i, c in enumerate(cells) if i not in prompts]

    for edit, expected in [(unfold, "not folded"), (untag, "not tagged remove-input"), (six_checks, "three to five"),
                           (no_prompts, "needs both")]:
        assert expected in broken(edit), f"{edit.__name__}: {expected!r} not reported"


# The built page ------------------------------------------------------------------------------------------------


@pytest.mark.timeout(1500)
def test_chapter_4_page_stays_small(built_site):
    page = bu.HTML / f"{DOC}.html"
    assert page.is_file(), f"the build (exit {built_site.returncode}) wrote no {page}"
    html = page.read_text()
    frames = [int(n) for n in re.findall(r"var frames = new Array\((\d+)\);", html)]
    assert len(frames) == 2, f"{len(frames)} slider players on the page, not 2"
    assert max(frames) <= MAX_FRAMES, f"a player with {max(frames)} frames (at most {MAX_FRAMES})"
    assert page.stat().st_size <= MAX_PAGE_BYTES, f"{page.name} is {page.stat().st_size:,} bytes"
    sources = re.findall(r'frames\[\d+\] = "([^"]*)"', html)
    assert len(sources) == sum(frames), f"{len(sources)} frame sources for {sum(frames)} frames"
    missing = [s for s in sources if s.startswith("data:") or not (page.parent / s).resolve().is_file()]
    assert not missing, f"frames that are no image file of the site: {missing[:3]}"


# On the site, in Chromium --------------------------------------------------------------------------------------


def open_chapter(site, chromium):
    """(page, log, external requests seen while it is open): the log gathers console errors, uncaught exceptions
    and failed local requests."""
    context, external = chromium
    seen = len(external)
    page, log = bu.open_page(context, urljoin(site, f"{DOC}.html"))
    return page, log, lambda: external[seen:]


@pytest.mark.timeout(1500)
def test_every_check_answers_a_click(site, chromium):
    questions = questions_of(read_chapter())
    page, log, external = open_chapter(site, chromium)
    try:
        quizzes = page.locator(".Quiz")
        quizzes.nth(len(questions) - 1).wait_for(state="visible")
        assert quizzes.count() == len(questions), f"{quizzes.count()} quizzes on the page, {len(questions)} in the notebook"  # noqa: E501
        for n, question in enumerate(questions):
            quiz = quizzes.nth(n)
            feedback = quiz.locator(".Feedback")
            for answer in sorted(question["answers"], key=lambda a: a["correct"]):  # the wrong ones first
                quiz.locator("label.MCButton", has_text=answer["answer"]).click()
                expected = "correct" if answer["correct"] else "incorrect"
                page.wait_for_function("([el, cls]) => el.classList.contains(cls)",
                                       arg=[feedback.element_handle(), expected])
                assert feedback.inner_text().strip() == answer["feedback"], (
                    f"check {n}: clicking {answer['answer']!r} showed {feedback.inner_text()!r}")
        assert not log, f"{DOC}.html: " + "; ".join(log)
    finally:
        page.close()
    assert not external(), f"requests that left localhost: {external()}"


def player(page, alt_text):
    """(picture, slider) of the matplotlib player whose picture's alt text contains ``alt_text``, once it runs."""
    box = page.locator("div.animation", has=page.locator(f"img[alt*='{alt_text}']"))
    assert box.count() == 1, f"{box.count()} players whose picture is described with {alt_text!r}"
    picture, slider = box.locator("img"), box.locator("input.anim-slider")
    box.scroll_into_view_if_needed()  # the picture loads lazily, once near the screen
    page.wait_for_function("img => /\\.png$/.test(img.src) && img.complete && img.naturalWidth > 0",
                           arg=picture.element_handle())
    label = slider.get_attribute("aria-label") or ""
    assert alt_text in label, f"the slider of the player {alt_text!r} is labelled {label!r}"
    return picture, slider


def press(page, slider, picture, key):
    """Press ``key`` on the focused slider, as a reader would; returns (the slider's value, the picture shown)."""
    before = picture.get_attribute("src")
    slider.focus()
    page.keyboard.press(key)
    page.wait_for_function("([img, src]) => img.src !== src && img.complete && img.naturalWidth > 0",
                           arg=[picture.element_handle(), before])
    value = int(slider.input_value())
    text = slider.get_attribute("aria-valuetext") or ""
    # the frame's own label, as the chapter gives it (the update count, the learning rate): never a bare number
    assert text.startswith(("after ", "learning rate ")) and text != str(value), (
        f"at frame {value} the slider says {text!r}")
    return value, picture.get_attribute("src")


@pytest.mark.timeout(1500)
def test_epoch_slider_changes_the_picture(site, chromium):
    page, log, external = open_chapter(site, chromium)
    try:
        picture, slider = player(page, EPOCH_PLAYER)
        last = int(slider.get_attribute("max"))
        assert 10 <= last + 1 <= MAX_FRAMES, f"the epoch slider has {last + 1} frames"
        first = picture.get_attribute("src")
        assert int(slider.input_value()) == 0, "the epoch player does not start at its first frame"
        value, second = press(page, slider, picture, "ArrowRight")
        assert value == 1 and second != first, "one step right on the slider did not show the next frame"
        value, final = press(page, slider, picture, "End")
        assert value == last and final not in (first, second), "the slider's far end did not show the last frame"
        assert not log, f"{DOC}.html: " + "; ".join(log)
    finally:
        page.close()
    assert not external(), f"requests that left localhost: {external()}"


@pytest.mark.timeout(1500)
def test_learning_rate_slider_switches_runs(site, chromium):
    page, log, external = open_chapter(site, chromium)
    try:
        picture, slider = player(page, RATES_PLAYER)
        assert int(slider.get_attribute("max")) == N_RATES - 1, "the learning-rate slider has not one stop per run"
        shown = [picture.get_attribute("src")]
        for stop in range(1, N_RATES):
            value, src = press(page, slider, picture, "ArrowRight")
            assert value == stop
            shown.append(src)
        assert len(set(shown)) == N_RATES, f"{len(set(shown))} different pictures for {N_RATES} learning rates"
        assert not log, f"{DOC}.html: " + "; ".join(log)
    finally:
        page.close()
    assert not external(), f"requests that left localhost: {external()}"
