"""The course's convention for concept checks, one for every chapter, and the code that reads it.

- a multiple-choice check is a code cell tagged ``remove-input`` that imports ``display_quiz`` from
  ``jupyterquiz`` and calls ``display_quiz([...], shuffle_answers=False)`` with its questions written inline (never a
  URL): each question of type ``multiple_choice`` with a ``question`` and ``answers``, each answer with ``answer``,
  ``correct`` and a ``feedback`` sentence, and no ``$`` (jupyterquiz would read it as math);
- a "predict, then run" prompt is a markdown cell right before the code cell it is about, the question in bold and
  the answer folded in ``<details><summary>Show the answer</summary> ... </details>``.

Each chapter from 1 to 6 has three to five of them. tests/site/test_site_checks_ch0_3.py, _ch4.py and _ch5_6.py check
their chapters against it, and click the checks on the built site.
"""

import ast
import copy
import uuid

import nbformat

SUMMARY = "<details><summary>Show the answer</summary>"


def quiz_call(source):
    """The ``display_quiz(...)`` call of a cell's source (an ast.Call), or None when it has none."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "display_quiz":
            return node
    return None


def quiz_problems(cell):
    """What is wrong with a multiple-choice check cell (an empty list: it follows the convention)."""
    problems = []
    if "remove-input" not in cell.metadata.get("tags", []):
        problems.append("not tagged remove-input")
    if "from jupyterquiz import display_quiz" not in cell.source:
        problems.append("does not import display_quiz from jupyterquiz")
    if "http" in cell.source:
        problems.append("names a URL (questions must be written inline)")
    call = quiz_call(cell.source)
    if call is None or not call.args:
        return problems + ["no display_quiz([...]) call"]
    shuffle = {k.arg: k.value for k in call.keywords}.get("shuffle_answers")
    if not (isinstance(shuffle, ast.Constant) and shuffle.value is False):
        problems.append("shuffle_answers=False is missing")
    try:
        questions = ast.literal_eval(call.args[0])
    except ValueError:
        return problems + ["the questions are not an inline list of dicts"]
    if not isinstance(questions, list) or not questions:
        return problems + ["the first argument is not a non-empty list of questions"]
    for n, question in enumerate(questions):
        if question.get("type") != "multiple_choice":
            problems.append(f"question {n}: type is not 'multiple_choice'")
        if not str(question.get("question", "")).strip():
            problems.append(f"question {n}: no question text")
        answers = question.get("answers") or []
        if len(answers) < 2:
            problems.append(f"question {n}: fewer than two answers")
        if sum(a.get("correct") is True for a in answers) != 1:
            problems.append(f"question {n}: not exactly one correct answer")
        for k, answer in enumerate(answers):
            if not str(answer.get("answer", "")).strip():
                problems.append(f"question {n} answer {k}: no answer text")
            if not isinstance(answer.get("correct"), bool):
                problems.append(f"question {n} answer {k}: 'correct' is not True or False")
            if len(str(answer.get("feedback", "")).split()) < 4:
                problems.append(f"question {n} answer {k}: no feedback sentence")
        texts = [str(question.get("question", ""))] + [str(a.get(key, "")) for a in answers for key in ("answer", "feedback")]  # noqa: E501
        if any("$" in text for text in texts):
            problems.append(f"question {n}: a $ in the text (jupyterquiz would read it as math)")
    outputs = {mime for out in cell.get("outputs", []) for mime in out.get("data", {})}
    if not {"text/html", "application/javascript"} <= outputs:
        problems.append("not executed: no quiz (HTML and JavaScript) in its outputs")
    return problems


def predict_problems(cells, index):
    """What is wrong with the "predict, then run" prompt at ``cells[index]``."""
    cell = cells[index]
    problems = []
    if not cell.source.lstrip().startswith("**"):
        problems.append("the question is not in bold at the start")
    if cell.source.count(SUMMARY) != 1 or not cell.source.rstrip().endswith("</details>"):
        problems.append(f"the answer is not folded in one {SUMMARY} ... </details> block at the end")
    elif not cell.source.split(SUMMARY, 1)[1].replace("</details>", "").strip():
        problems.append("the folded answer is empty")
    if index + 1 >= len(cells) or cells[index + 1].cell_type != "code":
        problems.append("not right before a code cell")
    return problems


def concept_checks(nb):
    """``(quizzes, prompts)``: the indices of a notebook's multiple-choice checks and of its predict prompts."""
    quizzes = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "display_quiz" in c.source]
    # a prompt is found by its folded answer or by its words, so that a prompt with its answer left unfolded counts
    # (and is reported); another folded note (a <details> with another summary) is no check
    prompts = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
               and (SUMMARY in c.source or "predict, then run" in c.source.lower())]
    return quizzes, prompts


def convention_problems(nb):
    """Every way a notebook's concept checks break the convention, as sentences."""
    quizzes, prompts = concept_checks(nb)
    problems = [f"cell {i}: {p}" for i in quizzes for p in quiz_problems(nb.cells[i])]
    problems += [f"cell {i}: {p}" for i in prompts for p in predict_problems(nb.cells, i)]
    if not quizzes or not prompts:
        problems.append(f"{len(quizzes)} multiple-choice checks and {len(prompts)} predict prompts; it needs both")
    total = len(quizzes) + len(prompts)
    if not 3 <= total <= 5:
        problems.append(f"{total} concept checks; each chapter has three to five")
    return problems


def notebook(*cells):
    """A notebook of copies of ``cells``, each with a new id (a cell may be used twice)."""
    copies = [nbformat.from_dict(copy.deepcopy(cell)) for cell in cells]
    for cell in copies:
        cell["id"] = uuid.uuid4().hex[:8]
    return nbformat.v4.new_notebook(cells=copies)
