"""The claims of chapters 0-3 and of the page "Maths and NumPy you need", checked against their stored outputs.

Where the prose quotes a number, a test finds the quote in the prose *and* the number in the stored output of the
cell that computes it, so that neither can change alone. Where it can, the test also recomputes the number
independently of the notebook (by hand, with the standard library, or by brute force). Other tests check what the
issue-19 review asked of these chapters: the sources they reproduce are named, each chapter has further reading,
the exercises are counted and located correctly, one letter means one thing, and the concept checks do not give
their answer away by its position or length. Canaries show that the readers of outputs can fail.
"""

import ast
import math
import re
from pathlib import Path

import concept_checks as cc
import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ["00_introduction", "00b_maths_numpy", "01_perceptron", "02_sigmoid_neuron", "03_backpropagation"]


def notebook(chapter):
    return nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)


def cell(nb, cell_id):
    """The cell with id ``cell_id`` (a KeyError names the missing id)."""
    for c in nb.cells:
        if c.get("id") == cell_id:
            return c
    raise KeyError(f"no cell with id {cell_id!r}")


def output(nb, cell_id):
    """The stored text output of a code cell: its streams and plain-text results, joined."""
    c = cell(nb, cell_id)
    assert c.cell_type == "code", f"{cell_id} is not a code cell"
    parts = []
    for out in c.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    text = "".join(parts)
    assert text.strip(), f"{cell_id}: no stored text output (was the notebook executed?)"
    return text


def prose(nb, cell_id):
    c = cell(nb, cell_id)
    assert c.cell_type == "markdown", f"{cell_id} is not a markdown cell"
    return " ".join(c.source.split())


def markdown(nb):
    return " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")


def number_after(text, label):
    """The first number after ``label`` in ``text`` (a float)."""
    match = re.search(re.escape(label) + r"\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)", text)
    assert match, f"no number after {label!r} in {text!r}"
    return float(match.group(1))


def array_after(text, label):
    """The printed NumPy array or list after ``label``: '[0.5  0.42 ...]' -> array."""
    match = re.search(re.escape(label) + r"\s*\[([^\]]*)\]", text)
    assert match, f"no [...] after {label!r} in {text!r}"
    return np.array([float(v) for v in re.split(r"[,\s]+", match.group(1).strip()) if v])


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


# The readers of outputs can fail -------------------------------------------------------------------------------


def test_canary_readers_fail_on_missing_or_empty_outputs():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)"), nbformat.v4.new_markdown_cell("x")])
    nb.cells[0]["id"], nb.cells[1]["id"] = "c", "m"
    with pytest.raises(AssertionError, match="no stored text output"):
        output(nb, "c")
    with pytest.raises(KeyError):
        output(nb, "missing")
    with pytest.raises(AssertionError, match="not a code cell"):
        output(nb, "m")
    with pytest.raises(AssertionError, match="no number after"):
        number_after("loss: nan", "loss:")
    np.testing.assert_array_equal(array_after("a: [0.5  0.42 1.   ]", "a:"), [0.5, 0.42, 1.0])


# Chapter 0 -----------------------------------------------------------------------------------------------------


def test_ch0_hand_worked_neuron():
    nb = notebook("00_introduction")
    out = output(nb, "code-x-np-array-0")
    z = 0.5 * 0.8 + 2.0 * (-0.2) + (-1.0) * 0.4 + 0.1
    assert number_after(out, "z =") == pytest.approx(z, abs=5e-5) == pytest.approx(-0.3)
    assert number_after(out, "a =") == pytest.approx(sigmoid(z), abs=5e-5)
    assert number_after(out, "nnlib.predict_neuron gives") == number_after(out, "a =")


def test_ch0_weight_and_bias_counts():
    nb = notebook("00_introduction")
    text = prose(nb, "md-layers-and-networks-a")
    assert "= 78$ weights" in text and "= 15$ biases" in text
    assert 4 * 6 + 6 * 6 + 6 * 3 == 78 and 6 + 6 + 3 == 15
    assert "78 weights and 15 biases in all" in output(nb, "code-rng-np-random-default")


def exercise_names():
    """The exercises the site lists (_toc.yml's exercises/NAME/NAME entries): the course's list of exercises."""
    import browser_utils

    return sorted(f.split("/")[1] for f in browser_utils.toc_files() if f.startswith("exercises/"))


NUMBER_WORDS = {5: "five", 6: "six", 7: "seven", 8: "eight"}


def test_ch0_and_intro_count_and_locate_the_exercises():
    names = exercise_names()
    assert len(names) >= 5, names
    ch0 = markdown(notebook("00_introduction"))
    intro = " ".join((ROOT / "intro.md").read_text().split())
    for text, where in [(ch0, "chapter 0"), (intro, "intro.md")]:
        assert NUMBER_WORDS[len(names)] in text.lower(), f"{where} does not say there are {len(names)} exercises"
        assert set(re.findall(r"ex0\d_\w+?(?=[`/ ,.)])", text)) >= set(names), f"{where} does not name {names}"
        assert "exercises/" in text, f"{where} does not say that the exercises live in exercises/"
        assert "1 to 5" not in text, f"{where} still says the exercises cover chapters 1 to 5"
    assert "not on this site" not in ch0, "chapter 0 says the exercises are not on the site (they are)"
    # chapter 3 has its own exercise; ex04_backprop comes after chapter 4
    assert re.search(r"`ex03_xor_backprop` \| chapter 3", ch0)
    assert re.search(r"`ex04_backprop` \| chapter 4", ch0)
    assert "`ex03_xor_backprop` after chapter 3" in intro
    assert "`ex04_backprop` and `ex05_minibatch` after chapter 4" in intro


def test_ch0_links_the_maths_page():
    nb = notebook("00_introduction")
    assert "00b_maths_numpy.ipynb" in cell(nb, "md-introduction-what-a-neural").source
    assert "chapters/00b_maths_numpy.ipynb" in (ROOT / "intro.md").read_text()


# The maths page ------------------------------------------------------------------------------------------------


def test_maths_page_broadcasting_trap():
    nb = notebook("00b_maths_numpy")
    answer = prose(nb, "maths-15")
    out = output(nb, "maths-16")
    y_hat, y = np.array([[0.9], [0.2], [0.6], [0.1]]), np.array([1.0, 0.0, 1.0, 0.0])
    wrong = np.mean((y_hat - y) ** 2)            # every prediction against every target
    right = np.mean((y_hat.ravel() - y) ** 2)    # each against its own
    assert (round(wrong, 3), round(right, 3)) == (0.355, 0.055)
    assert "0.355" in answer and "0.055" in answer and "(4, 4)" in answer
    assert "shape (4, 4) and mean square 0.355" in out and "(4, 1) and mean square 0.055" in out


def test_maths_page_derivatives_agree():
    nb = notebook("00b_maths_numpy")
    out = output(nb, "maths-18")
    by_hand = 2 * (0.5 * 2.0 + 0.3 * -1.0 - 1.0) * 2.0   # 2 (w1 x1 + w2 x2 - y) x1
    assert number_after(out, "by the formula:") == number_after(out, "by nudging w1:") == pytest.approx(by_hand)
    out = output(nb, "maths-20")
    a = sigmoid(0.8 * 1.5 + 0.2)
    assert number_after(out, "chain rule:") == pytest.approx(2 * a * a * (1 - a) * 1.5, abs=5e-7)
    assert number_after(out, "chain rule:") == number_after(out, "nudging w:")


# Chapter 1 -----------------------------------------------------------------------------------------------------


def reference_perceptron(X, y, max_epochs=20):
    """The perceptron rule written out again (zero start, learning rate 1, examples in order)."""
    w, b, history = [0.0] * len(X[0]), 0.0, []
    for _ in range(max_epochs):
        mistakes = 0
        for x, target in zip(X, y):
            out = 1 if sum(wi * xi for wi, xi in zip(w, x)) + b >= 0 else 0
            mistakes += out != target
            w = [wi + (target - out) * xi for wi, xi in zip(w, x)]
            b += target - out
        history.append(mistakes)
        if mistakes == 0:
            break
    return w, b, history


ROWS = [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_ch1_epochs_of_and_and_or():
    nb = notebook("01_perceptron")
    _, _, and_history = reference_perceptron(ROWS, [0, 0, 0, 1])
    _, _, or_history = reference_perceptron(ROWS, [0, 1, 1, 1])
    assert and_history == [2, 3, 3, 2, 1, 0] and or_history == [2, 2, 1, 0]
    assert "needs six epochs" in prose(nb, "md-now-the-whole-loop")
    assert array_after(output(nb, "code-w-and-b-and"), "mistakes in each epoch:").tolist() == and_history
    assert array_after(output(nb, "code-x-or-y-or"), "mistakes in each epoch:").tolist() == or_history


def test_ch1_xor_cycles():
    nb = notebook("01_perceptron")
    w, b, history = reference_perceptron(ROWS, [0, 1, 1, 0])
    assert history[2:] == [4] * 18 and (w, b) == ([-1, 0], 0)
    assert array_after(output(nb, "code-x-xor-y-xor"), "mistakes in each epoch:").tolist() == history
    text = prose(nb, "md-the-count-never-reaches")
    assert "From the third epoch on, each epoch makes four mistakes" in text and "$w = (-1, 0)$ and $b = 0$" in text
    epochs = output(nb, "code-xor-weights-each-epoch")
    for epoch in range(2, 6):
        assert f"after epoch {epoch}: w = [-1.  0.], b = 0.0" in epochs
    assert "get wrong: 2 of 4" in epochs
    assert "two points misclassified" in cell(nb, "code-fig-ax-errors-ax").source


def test_ch1_novikoff_bound():
    nb = notebook("01_perceptron")
    out = output(nb, "code-novikoff-bound-and")
    R, gamma = math.sqrt(3), 0.5 / math.sqrt(1 + 1 + 1.5**2)    # by hand: (1, 1, 1) and (1, 1, -1.5) / |...|
    assert number_after(out, "R =") == pytest.approx(R, abs=5e-5)
    assert number_after(out, "gamma =") == pytest.approx(gamma, abs=5e-5)
    assert number_after(out, "(R / gamma)^2 =") == pytest.approx((R / gamma) ** 2, abs=0.05) == pytest.approx(51)
    assert number_after(out, "all epochs together:") == sum(reference_perceptron(ROWS, [0, 0, 0, 1])[2]) == 11
    assert "made 11 mistakes, well under the bound of 51" in prose(nb, "md-the-bound-holds")
    assert "(51 for AND, which took 11)" in prose(nb, "md-summary-a-perceptron-computes")


def test_ch1_names_the_first_neuron_and_the_papers():
    text = markdown(notebook("01_perceptron"))
    assert "oldest" not in text, "the perceptron is not the oldest artificial neuron (McCulloch-Pitts, 1943)"
    assert "McCulloch" in text and "1943" in text
    for source in ["Rosenblatt", "1958", "Novikoff", "1962", "Minsky", "Papert", "1969", "(R/\\gamma)^2"]:
        assert source in text, f"chapter 1 does not name {source}"


# Chapter 2 -----------------------------------------------------------------------------------------------------


W, X1, X2 = (1.45, -0.66), (1.66, 1.56), (2.0, 1.5)


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_ch2_names_real_python():
    nb = notebook("02_sigmoid_neuron")
    text = prose(nb, "md-a-worked-example-take")
    assert "Real Python" in text and "Mesquita" in text and "Python AI: How to Build a Neural Network" in text
    assert "0.7985731" in text


def test_ch2_one_gradient_step():
    nb = notebook("02_sigmoid_neuron")
    p2 = sigmoid(dot(W, X2))
    assert p2**2 == pytest.approx(0.7587, abs=5e-5)
    assert "\\approx 0.7587" in prose(nb, "md-measuring-the-error-to")
    grad = [2 * p2 * p2 * (1 - p2) * x for x in X2]
    new_w = [w - 2.0 * g for w, g in zip(W, grad)]
    p2_new, p1_new = sigmoid(dot(new_w, X2)), sigmoid(dot(new_w, X1))
    out = output(nb, "code-learning-rate-2-0")
    assert number_after(out, "new prediction for the second input:") == pytest.approx(p2_new, abs=5e-5)
    assert number_after(out, "error before:") == 0.7587
    assert number_after(out, "after:") == pytest.approx(p2_new**2, abs=5e-5)
    assert "from 0.871 down to 0.369" in prose(nb, "md-one-step-brought-the") and round(p2_new, 3) == 0.369
    assert "from 0.76 to 0.14" in prose(nb, "md-one-step-brought-the") and round(p2_new**2, 2) == 0.14
    assert number_after(output(nb, "code-print-f-first-input"), "new weights:") == pytest.approx(p1_new, abs=5e-5)
    assert "from 0.7986 to 0.3020" in prose(nb, "f52561cd") and round(p1_new, 4) == 0.3020


def test_ch2_learning_rates_that_flip_each_input():
    nb = notebook("02_sigmoid_neuron")
    p2 = sigmoid(dot(W, X2))
    grad = [2 * p2 * p2 * (1 - p2) * x for x in X2]
    etas = {name: dot(W, x) / dot(grad, x) for name, x in [("first", X1), ("second", X2)]}
    out = output(nb, "code-eta-where-each-crosses")
    text = prose(nb, "md-it-is-now-wrong")
    for name, quoted in [("first", "1.24"), ("second", "1.56")]:
        assert f"{etas[name]:.2f}" == quoted
        assert f"{name} input: prediction below 0.5 once eta > {quoted}" in out
        assert f"above about {quoted}" in text


def test_ch2_weights_that_get_both_right_exist():
    assert "$w = (-1.6, 2)$ with $b = 0$" in prose(notebook("02_sigmoid_neuron"), "md-weights-that-get-both")
    assert dot((-1.6, 2), X1) > 0 > dot((-1.6, 2), X2)


def test_ch2_landscape_and_training_numbers():
    nb = notebook("02_sigmoid_neuron")
    assert number_after(output(nb, "d1f37805"), "first step with both inputs right:") == 31
    assert "from step 31 on" in prose(nb, "c007c2cb")
    assert number_after(output(nb, "code-def-train-neuron-x"), "after 2000 iterations:") == 0.2355
    assert "levels off at about 0.235" in prose(nb, "md-both-curves-go-down")


def test_ch2_no_line_gets_more_than_six_of_eight():
    """Brute force over lines: every split of the 8 points by a direction and a threshold."""
    from nnlib.datasets import sigmoid_training_data

    X, y = sigmoid_training_data()
    best = 0
    for angle in np.linspace(0, 2 * np.pi, 7201):
        s = X @ np.array([np.cos(angle), np.sin(angle)])
        cuts = np.concatenate([[s.min() - 1], np.sort(s) + 1e-9])
        best = max(best, max(int(np.sum((s > c) == y)) for c in cuts))
    assert best == 6
    nb = notebook("02_sigmoid_neuron")
    text = prose(nb, "md-the-and-gate-is")
    assert "no straight line gets more than 6 of the 8 right" in text
    out = output(nb, "code-print-8-example-data")
    predictions = array_after(out, "8-example data set, predictions:")
    assert (predictions.min(), predictions.max()) == (0.37, 0.74)
    assert "between about 0.37 and 0.74" in text
    assert "classes right: 4 of 8 on the 8-example data set, 4 of 4 on AND" in out
    assert "only half of its classes are right" in text


def test_ch2_cross_entropy_numbers():
    nb = notebook("02_sigmoid_neuron")
    p1, p2 = sigmoid(dot(W, X1)), sigmoid(dot(W, X2))
    out = output(nb, "89b4263c")
    assert f"cross-entropy {-math.log(1 - p2):.4f}, squared error {p2**2:.4f}" in out
    assert f"cross-entropy {-math.log(p1):.4f}" in out
    assert "costs 2.05 under the cross-entropy, against 0.76" in prose(nb, "7871eb20")
    steps = output(nb, "485214b0")
    assert number_after(steps, "squared error: first step with the prediction below 0.5:") == 55
    assert number_after(steps, "cross-entropy: first step with the prediction below 0.5:") == 2
    assert "after 2 steps, against 55 steps" in prose(nb, "11181494")


# Chapter 3 -----------------------------------------------------------------------------------------------------


def test_ch3_trains_on_cross_entropy_with_a_derived_bias_gradient():
    nb = notebook("03_backpropagation")
    text = markdown(nb)
    assert "dZ = \\frac{\\partial J}{\\partial Z} = \\frac{1}{n}(\\hat y - y)" in text
    assert "db = \\mathbf{1}^\\top dZ" in text and "\\partial z_i / \\partial b = 1" in text
    code = cell(nb, "ch03-07").source
    assert "dZ = (y_hat - y) / len(y)" in code and "db = dZ.sum(axis=0)" in code
    assert "dZ2 = (y_hat - y) / len(y)" in cell(nb, "ch03-21").source
    assert "the course's loss" not in text and "squared_error" not in " ".join(c.source for c in nb.cells)


def test_ch3_bias_gradient_is_the_sum_of_dz():
    """Independently of the chapter: the centred difference of the mean cross-entropy with respect to b."""
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(5, 2)), rng.integers(0, 2, size=(5, 1)).astype(float)
    w, b = rng.normal(size=(2, 1)), rng.normal(size=1)

    def J(bias):
        p = 1 / (1 + np.exp(-(X @ w + bias)))
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    dZ = (1 / (1 + np.exp(-(X @ w + b))) - y) / len(y)
    numeric = (J(b + 1e-6) - J(b - 1e-6)) / 2e-6
    assert dZ.sum() == pytest.approx(numeric[0] if np.ndim(numeric) else numeric, rel=1e-6)


def test_ch3_one_neuron_and_xor_outputs():
    nb = notebook("03_backpropagation")
    out = output(nb, "ch03-10")
    assert np.max(np.abs(array_after(out, "output after training:") - [0, 0, 1, 1])) <= 0.001
    assert "within 0.001 of the targets" in prose(nb, "ch03-11")
    assert "learned weights: [15.28 -0.41]  bias: [-7.23]" in out
    assert all(f"({quoted})" in prose(nb, "ch03-11") for quoted in ["15.28", "−0.41", "−7.23"])
    single = output(nb, "ch03-16")
    np.testing.assert_array_equal(array_after(single, "one neuron, after training:"), [0.5] * 4)
    assert number_after(single, "its loss J:") == round(math.log(2), 4) == 0.6931
    assert "All four come out at 0.5" in prose(nb, "940900a8") and "about 0.693" in prose(nb, "940900a8")
    hidden = output(nb, "ch03-23")
    assert np.max(np.abs(array_after(hidden, "hidden layer, after training:") - [0, 1, 1, 0])) <= 0.002
    assert "within 0.002 of $[0, 1, 1, 0]$" in prose(nb, "ch03-24") and "\\log 2 \\approx 0.693" in prose(nb, "ch03-24")


def test_ch3_graph_numbers_by_hand():
    nb = notebook("03_backpropagation")
    out = output(nb, "1c0130f3")
    a1, a2 = sigmoid(1.0 * 0.5 + 0.5 * 0.8), sigmoid(1.0 * -0.3 + 0.5 * 0.2)
    y_hat = sigmoid(a1 * 1.2 + a2 * -0.7)
    assert number_after(out, "y_hat =") == pytest.approx(y_hat, abs=5e-5)
    assert number_after(out, "J =") == pytest.approx(-math.log(y_hat), abs=5e-5)
    assert number_after(out, "dJ/dz_out =") == number_after(out, "(y_hat - y =") == pytest.approx(y_hat - 1, abs=5e-5)
    assert "True" in output(nb, "3ec86ade") and "False" not in output(nb, "3ec86ade")


def test_ch3_gradient_checks():
    nb = notebook("03_backpropagation")
    checks = output(nb, "ch03-29")
    assert checks.count("below 1e-7") == 4 and "ABOVE" not in checks
    assert number_after(output(nb, "ch03-31"), "relative error of the buggy dW1:") > 1e-2
    assert output(nb, "ch03-33").count("below 1e-7") == 4
    nnlib_run = output(nb, "ch03-37")
    assert "to 10 decimals: True" in nnlib_run and "same loss before every step: True" in nnlib_run


def test_ch3_published_run_is_one_cited_aside():
    nb = notebook("03_backpropagation")
    aside = prose(nb, "ch03-aside")
    assert "Trask" in aside and "A Neural Network in 11 Lines of Python" in aside and "2015" in aside
    np.testing.assert_array_equal(array_after(output(nb, "ch03-aside-code"), "output after training:"),
                                  [0.00966449, 0.00786506, 0.99358898, 0.99211957])
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sum("np.random.seed(1)" in s for s in sources) == 1, "the published run appears more than once"
    text = markdown(nb)
    assert "learning rate $n/2$" not in text and "\\eta = n/2" not in text, "a conversion between losses is left"


# Notation, sources and concept checks ----------------------------------------------------------------------------


def test_one_letter_one_meaning():
    """n counts examples only; h is only the finite-difference step; E only one example's squared error."""
    for chapter in CHAPTERS:
        text = markdown(notebook(chapter))
        assert not re.search(r"\$n\$ \*\*inputs|x_1, \\dots, x_n|w_1, \\dots, w_n|\$n\$ numbers", text), (
            f"{chapter}: n counts inputs")
        assert not re.search(r"\$h_\{?\d|\$H\b|\bH = \\sigma", text), f"{chapter}: h or H names hidden activations"
    ch3 = markdown(notebook("03_backpropagation"))
    assert "$E" not in ch3 and "E =" not in ch3, "chapter 3 gives E a second meaning"
    assert "A_1 = \\sigma(Z_1)" in ch3
    notation = (ROOT / "guides" / "notation.md").read_text()
    assert "(never the number of inputs)" in notation and "(and nothing else)" in notation


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_page_has_further_reading(chapter):
    nb = notebook(chapter)
    sections = [c.source for c in nb.cells if c.cell_type == "markdown" and "## Further reading" in c.source]
    assert sections, f"{chapter}: no Further reading section"
    items = [line for line in sections[0].split("## Further reading", 1)[1].splitlines() if line.startswith("- ")]
    assert len(items) >= 3, f"{chapter}: {len(items)} items of further reading"


def test_further_reading_names_the_papers():
    ch3 = markdown(notebook("03_backpropagation"))
    assert "Rumelhart" in ch3 and "Hinton" in ch3 and "1986" in ch3
    for chapter, names in {"01_perceptron": ["Nielsen", "scikit-learn"], "02_sigmoid_neuron": ["Nielsen", "d2l"],
                           "03_backpropagation": ["Nielsen", "CS231n", "d2l"]}.items():
        for name in names:
            assert name in markdown(notebook(chapter)), f"{chapter}: further reading without {name}"


def quiz_questions():
    """(chapter, question dict) for every multiple-choice question of the pages."""
    found = []
    for chapter in CHAPTERS:
        nb = notebook(chapter)
        for index in cc.concept_checks(nb)[0]:
            found += [(chapter, q) for q in ast.literal_eval(cc.quiz_call(nb.cells[index].source).args[0])]
    return found


def answer_tells(questions):
    """(how many have the correct answer first, how many have it strictly or tied longest) over the questions."""
    first = longest = 0
    for _, q in questions:
        answers = q["answers"]
        k = [a["correct"] for a in answers].index(True)
        lengths = [len(a["answer"]) for a in answers]
        first += k == 0
        longest += lengths[k] == max(lengths)
    return first, longest


def test_concept_checks_do_not_give_the_answer_away():
    questions = quiz_questions()
    assert len(questions) >= 9, len(questions)
    first, longest = answer_tells(questions)
    assert first <= len(questions) // 4, f"the correct answer is first in {first} of {len(questions)} questions"
    assert longest <= len(questions) // 4, f"the correct answer is the longest in {longest} of {len(questions)}"
    positions = {[a["correct"] for a in q["answers"]].index(True) for _, q in questions}
    assert len(positions) >= 3, f"the correct answer sits only at positions {positions}"


def test_canary_answer_tells_are_counted():
    q = {"answers": [{"answer": "the long right answer", "correct": True}, {"answer": "short", "correct": False}]}
    assert answer_tells([("x", q)] * 4) == (4, 4)


def test_pages_keep_their_predict_prompts():
    for chapter in CHAPTERS[1:]:
        nb = notebook(chapter)
        prompts = cc.concept_checks(nb)[1]
        assert prompts, f"{chapter}: no predict-then-run prompt"
        assert not [p for i in prompts for p in cc.predict_problems(nb.cells, i)]
