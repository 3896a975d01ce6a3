"""The concept checks of chapters 0-3 and the notation page, in the notebooks and in the browser.

The course's convention for a concept check (one for every chapter):

- a multiple-choice check is a code cell tagged ``remove-input`` that calls
  ``from jupyterquiz import display_quiz`` and ``display_quiz([...], shuffle_answers=False)`` with the questions
  written inline (never a URL); every answer has a feedback sentence;
- a "predict, then run" prompt is a markdown cell right before the key code cell, with the question in bold and
  the answer folded in ``<details><summary>Show the answer</summary> ... </details>``.

The notebook tests count and read the checks; the browser tests open the built site (conftest's strict build)
in Debian's Chromium, click a wrong and then the right answer of every check and watch the feedback, and open
every folded answer with a click. A canary page without jupyterquiz's script shows that the click check can fail.
"""

import ast
from urllib.parse import urljoin

import browser_utils as bu
import concept_checks as cc
import nbformat
import pytest

CHECKED_CHAPTERS = ["01_perceptron", "02_sigmoid_neuron", "03_backpropagation"]  # three to five checks each
NOTATION_CHAPTERS = ["00_introduction"] + CHECKED_CHAPTERS
QUIZ_CHAPTERS = NOTATION_CHAPTERS  # the introduction has one check
TIMEOUT_MS = 20_000


# The checks in the notebooks ----------------------------------------------------------------------------------


def notebook(chapter):
    return nbformat.read(bu.ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)


def quiz_questions(cell):
    """The question dicts of a jupyterquiz cell, read from its source without running it."""
    return ast.literal_eval(cc.quiz_call(cell.source).args[0])


def quiz_cells(nb):
    """(index, cell) of every multiple-choice check."""
    return [(i, nb.cells[i]) for i in cc.concept_checks(nb)[0]]


def predict_cells(nb):
    """(index, cell) of every "predict, then run" prompt."""
    return [(i, nb.cells[i]) for i in cc.concept_checks(nb)[1]]


def test_introduction_check_follows_the_convention():
    quizzes = quiz_cells(notebook("00_introduction"))
    assert quizzes, "00_introduction: no concept check"
    problems = [f"cell {i}: {p}" for i, cell in quizzes for p in cc.quiz_problems(cell)]
    assert not problems, "00_introduction:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", CHECKED_CHAPTERS)
def test_chapter_has_three_to_five_checks_following_the_convention(chapter):
    problems = cc.convention_problems(notebook(chapter))
    assert not problems, f"{chapter}:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", QUIZ_CHAPTERS)
def test_quiz_cells_ran_and_left_their_quiz_in_the_outputs(chapter):
    """The site shows the stored outputs: each quiz cell holds jupyterquiz's HTML and its script."""
    for index, cell in quiz_cells(notebook(chapter)):
        mimes = {mime for out in cell.outputs for mime in out.get("data", {})}
        assert {"text/html", "application/javascript"} <= mimes, f"{chapter} cell {index}: outputs {mimes}"


def test_the_xor_runs_have_a_predict_prompt():
    """Issue 13: "predict, then run" before chapter 1's XOR epochs and chapter 3's single layer on XOR."""
    for chapter, key in [("01_perceptron", 'truth_table("xor")'), ("03_backpropagation", 'three_input_example("xor")')]:
        nb = notebook(chapter)
        key_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and key in c.source]
        assert key_cells, f"{chapter}: no cell runs {key}"
        before = nb.cells[key_cells[0] - 1]
        assert before.cell_type == "markdown" and cc.SUMMARY in before.source, (
            f"{chapter}: the cell before the XOR run (cell {key_cells[0]}) is no predict-then-run prompt")


def test_convention_check_can_fail():
    """Canary: a quiz cell that breaks each rule, and a prompt with nothing folded."""
    bad = nbformat.v4.new_code_cell(
        'from jupyterquiz import display_quiz\n'
        'display_quiz([{"question": "Is $x$ big?", "type": "multiple_choice", "answers": ['
        '{"answer": "yes", "correct": True}, {"answer": "no", "correct": True, "feedback": "no"}]}])')
    found = "\n".join(cc.quiz_problems(bad))
    for expected in ("remove-input", "shuffle_answers=False", "exactly one correct", "no feedback", "$", "executed"):
        assert expected in found, f"the quiz check missed {expected!r}: {found}"
    url = nbformat.v4.new_code_cell('from jupyterquiz import display_quiz\ndisplay_quiz("https://example.org/q.json")')
    assert any("URL" in p for p in cc.quiz_problems(url))
    cells = [nbformat.v4.new_markdown_cell("What happens? The answer is 4.\n\n" + cc.SUMMARY + "\n\n</details>"),
             nbformat.v4.new_markdown_cell("text")]
    found = "\n".join(cc.predict_problems(cells, 0))
    assert "bold" in found and "empty" in found and "code cell" in found, found


@pytest.mark.parametrize("chapter", NOTATION_CHAPTERS)
def test_chapter_links_the_notation_page_near_the_top(chapter):
    nb = notebook(chapter)
    first = [c.source for c in nb.cells[:3] if c.cell_type == "markdown"]
    assert any("../guides/notation.md" in s for s in first), f"{chapter}: no link to ../guides/notation.md at the top"


def test_notation_page_is_in_the_toc_and_names_the_symbols():
    assert "guides/notation" in bu.toc_files()
    text = (bu.ROOT / "guides" / "notation.md").read_text()
    for symbol in [r"$x$", r"$w$", r"$b$", r"$\hat y$", r"$\eta$", r"$\alpha$", r"$J$", r"$n$", r"$W_\ell$", r"$dZ$"]:
        assert symbol in text, f"guides/notation.md does not list {symbol}"
    for chapter in NOTATION_CHAPTERS:
        assert (bu.ROOT / "chapters" / f"{chapter}.ipynb").is_file()


# In the browser ------------------------------------------------------------------------------------------------


# The site and the browser are tests/site/conftest.py's fixtures: the strict build copied aside and served on
# localhost, and one headless Debian Chromium whose requests outside localhost are blocked and recorded.


def open_page(context, url):
    """Open `url`; returns (page, log of console errors and uncaught exceptions)."""
    page = context.new_page()
    log = []
    page.on("console", lambda m: m.type == "error" and log.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: log.append(f"uncaught exception: {e}"))
    page.goto(url, wait_until="load")
    return page, log


def normalise(text):
    return " ".join((text or "").split())


def quiz_click_problems(page, expected, timeout_ms=TIMEOUT_MS):
    """Click a wrong and then the right answer of each of the page's quizzes; what went wrong (empty: nothing).

    expected: how many quiz questions the page must show; timeout_ms: how long to wait for them."""
    page.mouse.wheel(0, 1)  # a reader scrolls: the checks' library is fetched once the reader does something
    try:
        page.wait_for_function("n => document.querySelectorAll('div.Quiz').length >= n", arg=expected,
                               timeout=timeout_ms)
    except Exception:  # noqa: BLE001 (playwright's TimeoutError: report it as a problem, like the others)
        shown = page.locator("div.Quiz").count()
        return [f"{shown} quiz question(s) rendered, expected {expected}: jupyterquiz's script did not run"]
    problems = []
    quizzes = page.locator("div.Quiz")
    for k in range(quizzes.count()):
        quiz = quizzes.nth(k)
        question = normalise(quiz.locator("div.MultipleChoiceQn").inner_text())[:60]
        feedback = quiz.locator("div.Feedback")
        if normalise(feedback.inner_text()):
            problems.append(f"quiz {k} ({question!r}) shows feedback before any click")
        for correct, verdict in (("false", "incorrect"), ("true", "correct")):
            answer = quiz.locator(f"label.MCButton[data-correct='{correct}']").first
            answer.scroll_into_view_if_needed()
            answer.click()
            try:
                feedback.wait_for(state="visible", timeout=TIMEOUT_MS)
            except Exception:  # noqa: BLE001
                problems.append(f"quiz {k} ({question!r}): no feedback visible after a click")
                continue
            classes = (feedback.get_attribute("class") or "").split()
            said = normalise(feedback.inner_text())
            if verdict not in classes:
                problems.append(f"quiz {k} ({question!r}): a {verdict} answer gives feedback of class {classes}")
            if said != normalise(answer.get_attribute("data-feedback")) or not said:
                problems.append(f"quiz {k} ({question!r}): feedback {said!r:.60} is not the answer's own")
            marked = "correctButton" if verdict == "correct" else "incorrectButton"
            if marked not in (answer.get_attribute("class") or ""):
                problems.append(f"quiz {k} ({question!r}): the clicked answer is not marked {marked}")
    return problems


def details_click_problems(page, expected):
    """Open each folded answer with a click; what went wrong (empty: nothing)."""
    folds = page.locator("main details").filter(has=page.locator("summary", has_text="Show the answer"))
    if folds.count() != expected:
        return [f"{folds.count()} folded answers on the page, expected {expected}"]
    problems = []
    for k in range(folds.count()):
        fold = folds.nth(k)
        answer = fold.locator("p").first
        if fold.evaluate("d => d.open") or answer.is_visible():
            problems.append(f"folded answer {k} is open before any click")
            continue
        fold.locator("summary").scroll_into_view_if_needed()
        fold.locator("summary").click()
        try:
            answer.wait_for(state="visible", timeout=TIMEOUT_MS)
        except Exception:  # noqa: BLE001
            problems.append(f"folded answer {k}: its text is not visible after a click on 'Show the answer'")
            continue
        if not fold.evaluate("d => d.open") or not normalise(answer.inner_text()):
            problems.append(f"folded answer {k} did not open, or is empty")
    return problems


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("chapter", QUIZ_CHAPTERS)
def test_concept_checks_answer_a_click_in_chromium(site, chromium, chapter):
    """Every quiz of the chapter: a wrong answer says so, the right one says so, each with its own feedback;
    every folded answer opens on a click. No console error, no request leaves localhost."""
    context, external = chromium
    nb = notebook(chapter)
    n_questions = sum(len(quiz_questions(c)) for _, c in quiz_cells(nb))
    seen = len(external)
    page, log = open_page(context, urljoin(site, f"chapters/{chapter}.html"))
    try:
        problems = quiz_click_problems(page, n_questions)
        problems += details_click_problems(page, len(predict_cells(nb)))
        page.wait_for_timeout(1000)  # jupyterquiz looks for MathJax again 500 ms after it draws
    finally:
        page.close()
    problems += log + [f"requested {u} from outside localhost" for u in external[seen:]]
    assert not problems, f"{chapter}:\n" + "\n".join(f"- {p}" for p in problems)


@pytest.mark.timeout(300)
def test_canary_click_check_fails_without_the_quiz_script(chromium, tmp_path):
    """The quiz's HTML output alone (its script left out), and a page whose answer is not folded: both must be
    reported."""
    context, _ = chromium
    cell = quiz_cells(notebook(CHECKED_CHAPTERS[0]))[0][1]
    quiz_html = next(out.data["text/html"] for out in cell.outputs if "text/html" in out.get("data", {}))
    (tmp_path / "canary.html").write_text(
        f"<!DOCTYPE html><html><head><link rel='icon' href='data:,'></head><body><main>{quiz_html}"
        "<details open><summary>Show the answer</summary><p>4</p></details></main></body></html>")
    with bu.serve_directory(tmp_path) as base:
        page, _ = open_page(context, urljoin(base, "canary.html"))
        try:
            quiz = quiz_click_problems(page, 1, timeout_ms=3000)
            folds = details_click_problems(page, 1)
        finally:
            page.close()
    assert quiz and "did not run" in quiz[0], quiz
    assert any("open before any click" in p for p in folds), folds
