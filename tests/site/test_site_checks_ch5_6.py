"""The concept checks of chapters 5 and 6: the course's convention in the notebooks, and a click on the site.

The convention (one for the whole course):

- a multiple-choice check is a code cell tagged ``remove-input`` that imports ``display_quiz`` from
  ``jupyterquiz`` and calls ``display_quiz([...], shuffle_answers=False)`` with its questions written inline (never a
  URL): each question of type ``multiple_choice`` with a ``question`` and ``answers``, each answer with ``answer``,
  ``correct`` and a ``feedback`` sentence;
- a "predict, then run" prompt is a markdown cell right before the code cell it is about, the question in bold and
  the answer folded in ``<details><summary>Show the answer</summary> ... </details>``.

Each chapter has three to five of them. The browser tests open the built site in Debian's Chromium (the
``built_site`` fixture of conftest.py builds it strictly) and check that a multiple-choice check answers a click
with its feedback, and that a folded answer opens.
"""

import ast
import copy
from urllib.parse import urljoin

import browser_utils as bu
import nbformat
import pytest
from concept_checks import SUMMARY, concept_checks, convention_problems, notebook, quiz_call

CHAPTERS = ["chapters/05_wine_mlp", "chapters/06_evaluating"]


# The key cells that a "predict, then run" prompt must come right before, by chapter (a piece of their code).
PREDICT_BEFORE = {
    "chapters/05_wine_mlp": ["raw_vs_scaled = {}"],
    "chapters/06_evaluating": ["size_models = {h: moons_mlp", "learning_rates = [0.001"],
}


def read(doc):
    return nbformat.read(bu.ROOT / f"{doc}.ipynb", as_version=4)


# The notebooks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", CHAPTERS)
def test_chapter_has_three_to_five_checks_following_the_convention(doc):
    nb = read(doc)
    quizzes, prompts = concept_checks(nb)
    assert quizzes and prompts, f"{doc}: {len(quizzes)} multiple-choice checks, {len(prompts)} predict prompts"
    problems = convention_problems(nb)
    assert not problems, f"{doc}.ipynb:\n" + "\n".join(f"- {p}" for p in problems)


@pytest.mark.parametrize("doc", CHAPTERS)
def test_predict_prompts_come_right_before_the_key_cells(doc):
    nb = read(doc)
    for piece in PREDICT_BEFORE[doc]:
        key = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and piece in c.source]
        assert len(key) == 1, f"{doc}: {len(key)} code cells contain {piece!r}"
        before = nb.cells[key[0] - 1]
        assert before.cell_type == "markdown" and SUMMARY in before.source, (
            f"{doc}: the cell before the one with {piece!r} is no predict-then-run prompt")


def test_canary_the_convention_check_finds_each_mistake():
    """Each kind of broken check is reported, so that the test above could fail."""
    good_quiz = nbformat.v4.new_code_cell(
        "from jupyterquiz import display_quiz\n\ndisplay_quiz([{'type': 'multiple_choice', 'question': 'Q?', "
        "'answers': [{'answer': 'a', 'correct': True, 'feedback': 'Right, because of this.'}, "
        "{'answer': 'b', 'correct': False, 'feedback': 'No, because of that.'}]}], shuffle_answers=False)")
    good_quiz.metadata["tags"] = ["remove-input"]
    good_quiz.outputs = [nbformat.v4.new_output("display_data", {"text/html": "<div></div>"}),
                         nbformat.v4.new_output("display_data", {"application/javascript": "1;"})]
    good_prompt = nbformat.v4.new_markdown_cell(f"**Predict, then run.** Which?\n\n{SUMMARY}\n\nThis.\n\n</details>")
    key = nbformat.v4.new_code_cell("print(1)")
    nb = notebook(good_quiz, good_quiz, good_prompt, key)
    assert convention_problems(nb) == []
    note = nbformat.v4.new_markdown_cell("Upkeep.\n\n<details><summary>A note</summary>\n\nWhy.\n\n</details>")
    assert convention_problems(notebook(note, good_quiz, good_quiz, good_prompt, key)) == [], "a folded note is no check"  # noqa: E501

    def broken(cell, old, new):
        changed = nbformat.from_dict(copy.deepcopy(cell))
        changed.source = changed.source.replace(old, new)
        return changed

    untagged = nbformat.from_dict(copy.deepcopy(good_quiz))
    untagged.metadata["tags"] = []
    cases = {
        "not tagged remove-input": untagged,
        "shuffle_answers=False is missing": broken(good_quiz, ", shuffle_answers=False", ""),
        "no feedback sentence": broken(good_quiz, "'feedback': 'No, because of that.'", "'feedback': ''"),
        "not exactly one correct answer": broken(good_quiz, "'correct': False", "'correct': True"),
        "names a URL": broken(good_quiz, "[{'type'", "'https://example.org/q.json' or [{'type'"),
        "the answer is not folded": broken(good_prompt, SUMMARY, "Answer:"),
    }
    for expected, cell in cases.items():
        cells = [good_quiz, good_quiz, good_prompt, key]
        cells[2 if cell.cell_type == "markdown" else 0] = cell
        found = convention_problems(notebook(*cells))
        assert any(expected in p for p in found), f"{expected!r} not reported: {found}"
    too_few = convention_problems(notebook(good_quiz, key))
    assert any("three to five" in p for p in too_few), too_few
    misplaced = convention_problems(notebook(good_quiz, good_quiz, key, good_prompt))
    assert any("not right before a code cell" in p for p in misplaced), misplaced


# On the site, in Chromium --------------------------------------------------------------------------------------

# The site and the browser are tests/site/conftest.py's fixtures (the strict build copied aside and served on
# localhost; one headless Debian Chromium whose requests outside localhost are blocked and recorded; without
# playwright they skip, and the notebook tests above still run); browser_utils.open_page opens a new tab whose
# console errors and uncaught exceptions are gathered in a log.


def first_questions(nb):
    """The questions of every multiple-choice check of a notebook, in page order."""
    questions = []
    for i in concept_checks(nb)[0]:
        questions += ast.literal_eval(quiz_call(nb.cells[i].source).args[0])
    return questions


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("doc", CHAPTERS)
def test_a_check_answers_a_click_on_the_site(site, chromium, doc):
    context, external = chromium
    seen_external = len(external)
    questions = first_questions(read(doc))
    page, log = bu.open_page(context, urljoin(site, f"{doc}.html"))
    try:
        quizzes = page.locator(".Quiz")
        quizzes.nth(len(questions) - 1).wait_for(state="visible")
        assert quizzes.count() == len(questions), f"{quizzes.count()} quizzes on the page, {len(questions)} in the notebook"  # noqa: E501
        assert "display_quiz(" not in page.inner_text("main"), "the quiz code is shown (remove-input is missing)"
        quiz, question = quizzes.first, questions[0]
        feedback = quiz.locator(".Feedback")
        for answer in sorted(question["answers"], key=lambda a: a["correct"]):  # noqa: E501 (a wrong answer first, then the right one)
            quiz.locator("label.MCButton", has_text=answer["answer"]).click()
            expected = "correct" if answer["correct"] else "incorrect"
            page.wait_for_function("([el, cls]) => el.classList.contains(cls)", arg=[feedback.element_handle(), expected])  # noqa: E501
            assert feedback.inner_text().strip() == answer["feedback"], (
                f"clicking {answer['answer']!r} showed {feedback.inner_text()!r}, not its feedback")
        assert not log, f"{doc}.html: " + "; ".join(log)
    finally:
        page.close()
    assert not external[seen_external:], f"requests that left localhost: {external[seen_external:]}"


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("doc", CHAPTERS)
def test_a_folded_answer_opens_on_the_site(site, chromium, doc):
    context, _ = chromium
    page, _ = bu.open_page(context, urljoin(site, f"{doc}.html"))
    try:
        details = page.locator("details", has=page.locator("summary", has_text="Show the answer"))
        assert details.count() == len(concept_checks(read(doc))[1]), "not every predict prompt is folded on the page"
        first = details.first
        assert first.get_attribute("open") is None, "the answer is not folded at first"
        answer = first.locator(":scope > :not(summary)").first
        assert not answer.is_visible(), "the folded answer is visible before the click"
        first.locator("summary").click()
        answer.wait_for(state="visible")
        assert first.get_attribute("open") is not None
    finally:
        page.close()
