"""The claims of chapters 4, 5 and 6 against their stored outputs, and against independent references.

Where the prose quotes a number, the output of the cell that computes it must hold that number, and where it can be
done cheaply the number is recomputed here another way (a closed form, scikit-learn or SciPy directly, hand
arithmetic on the printed counts). Claims that issue 19 found wrong are checked to stay fixed: scikit-learn's
output layer for two classes, Britz's loss, the size sweep of chapter 4, the sigmoid's shrink factor, the learning
rate 10 run, the 60/20/20 split, the diabetes split, and that every test score of chapter 6 has its interval.

Cells are found by their ids (``ch04-...``, ``code-...``), which the chapters keep when they are edited.
"""

import ast
import itertools
import math
import re

import browser_utils as bu
import nbformat
import numpy as np
import pytest
from concept_checks import concept_checks, quiz_call
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nnlib
from nnlib.datasets import load_wine_frame, moons, moons_initial_weights

CH4, CH5, CH6 = "04_moons_network", "05_wine_mlp", "06_evaluating"
NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


@pytest.fixture(scope="module")
def books():
    return {name: nbformat.read(bu.ROOT / "chapters" / f"{name}.ipynb", as_version=4) for name in (CH4, CH5, CH6)}


def cell(nb, cell_id):
    found = [c for c in nb.cells if c.get("id") == cell_id]
    assert len(found) == 1, f"{len(found)} cells with id {cell_id!r}"
    return found[0]


def out(nb, cell_id):
    """The text a code cell printed or returned (streams and text/plain results), as one string."""
    parts = []
    for output in cell(nb, cell_id).get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            plain = output.get("data", {}).get("text/plain", "")
            if not plain.startswith("<Figure"):  # a figure's text stand-in holds its size, not a result
                parts.append(plain)
    text = "".join(parts)
    assert text.strip(), f"cell {cell_id!r} has no stored text output (was the chapter executed?)"
    return text


def md(nb, *cell_ids):
    return " ".join(" ".join(cell(nb, i).source.split()) for i in cell_ids)


def prose(nb):
    """Every markdown cell, whitespace collapsed, so that a quote may cross a line break."""
    return " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")


def numbers(text):
    return [float(x) for x in re.findall(NUMBER, text)]


def table_rows(text, columns):
    """Rows of a printed table whose lines hold exactly ``columns`` numbers."""
    rows = [numbers(line) for line in text.splitlines()]
    return [row for row in rows if len(row) == columns]


def quoted(text, *values):
    for value in values:
        assert value in text, f"the prose does not quote {value!r}"


# Chapter 4 -----------------------------------------------------------------------------------------------------


def test_ch4_scikit_learn_uses_one_logistic_output_unit_for_two_classes(books):
    nb = books[CH4]
    printed = out(nb, "ch04-sk-logistic-code")
    assert "out_activation_ = 'logistic'" in printed and "n_outputs_ = 1" in printed and "(3, 1)" in printed, printed
    assert "sigmoid(z1 - z0): True" in printed, printed
    # the library fact itself, independently of the notebook
    X, y = moons()
    fitted = MLPClassifier(hidden_layer_sizes=(2,), solver="lbfgs", max_iter=50, random_state=0).fit(X[:40], y[:40])
    assert fitted.out_activation_ == "logistic" and fitted.n_outputs_ == 1
    text = prose(nb)
    assert not re.search(r"scikit-learn[^.]{0,80}always uses a softmax", text, re.IGNORECASE), "the old claim is back"
    quoted(md(nb, "ch04-sk-logistic"), "one", "logistic")


def test_ch4_britz_prints_a_mean_loss_and_steps_on_the_sum(books):
    """Britz's calculate_loss is (sum of -log p + lambda/2 |W|^2) / n: computed here from his starting weights, it is
    the 0.583940 the chapter prints, not 200 times that; his summed step with eps = 0.01 equals a mean step with
    eta = 2.0."""
    nb = books[CH4]
    X, y = moons()
    (W1, W2), (b1, b2) = moons_initial_weights()
    n, lam = len(X), 0.01
    A1 = np.tanh(X @ W1 + b1)
    Z2 = A1 @ W2 + b2
    P = np.exp(Z2) / np.exp(Z2).sum(axis=1, keepdims=True)
    britz_loss = (np.sum(-np.log(P[np.arange(n), y])) + lam / 2 * (np.sum(W1**2) + np.sum(W2**2))) / n
    assert f"loss {britz_loss:.6f}" in out(nb, "ch04-20-print")
    delta = P.copy()
    delta[np.arange(n), y] -= 1
    britz_dW2 = A1.T @ delta + lam * W2  # summed over the examples, as in his code
    mean_dW2 = A1.T @ delta / n + lam / n * W2  # the gradient of the mean loss J with alpha = lam
    assert np.allclose(0.01 * britz_dW2, 2.0 * mean_dW2)
    text = md(nb, "ch04-19")
    assert "mean" in text and "wrote its loss as a **sum**" not in text
    quoted(prose(nb), "Denny Britz", "Implementing a Neural Network from Scratch in Python")


def test_ch4_size_sweep_prose_matches_its_table(books):
    nb = books[CH4]
    rows = {int(h): (train, new) for h, train, new in table_rows(out(nb, "ch04-37"), 3)}
    assert sorted(rows) == [1, 2, 3, 4, 5, 20, 50]
    gap = {h: round(train - new, 3) for h, (train, new) in rows.items()}
    assert gap[3] == gap[20] == 0.015 and gap[50] == 0.020, gap
    best_new = max(new for _, new in rows.values())
    assert rows[20][1] == rows[50][1] == best_new == 0.965
    text = md(nb, "ch04-38", "8eee1a78")
    quoted(text, "0.015", "0.965", "0.020", "0.985", "do *not* overfit")
    assert "growing gap is the first sign of overfitting" not in prose(nb)


def test_ch4_networks_trained_without_a_penalty_overfit_as_the_prose_says(books):
    nb = books[CH4]
    rows = {int(r[0]): r[1:] for r in table_rows(out(nb, "ch04-overfit-table"), 4)}
    assert sorted(rows) == [3, 20, 50]
    for train, new, gap in rows.values():
        assert round(train - new, 3) == gap
    assert rows[20][0] == rows[50][0] == 1.0, "the large networks do not fit every training point"
    assert rows[50][1] < rows[3][1] and rows[20][1] < rows[3][1], "no drop on new points: no overfitting shown"
    text = md(nb, "ch04-overfit-after")
    quoted(text, "1.000", f"{rows[20][1]:.3f}", f"{rows[50][1]:.3f}", f"{rows[3][1]:.3f}",
           f"{rows[3][2]:.3f}", f"{rows[20][2]:.3f}", f"{rows[50][2]:.3f}")


def test_ch4_hessian_part_is_folded_and_plotting_hidden(books):
    nb = books[CH4]
    assert "<details><summary>Going deeper" in cell(nb, "86f707cc").source
    for cell_id in ("8083de72", "f21e4bff", "46066d61", "a6ac6b5e", "23946ea1"):
        assert "hide-input" in cell(nb, cell_id).metadata.get("tags", []), cell_id
    assert "to_jshtml" in cell(nb, "46066d61").source, "the players are made with matplotlib's to_jshtml"


# Chapter 5 -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wine():
    frame = load_wine_frame()
    return frame.drop(columns="target"), frame["target"]


def test_ch5_stratified_split_keeps_the_shares(books, wine):
    X, y = wine
    _, _, _, y_test = train_test_split(X, y, test_size=0.25, random_state=21, stratify=y)
    counts = y_test.value_counts().sort_index().to_dict()
    assert f"wines per cultivar: {counts}" in out(books[CH5], "code-stratify")
    quoted(md(books[CH5], "md-stratify-after"), f"{counts[0]}, {counts[1]} and {counts[2]}")
    assert "stratify=y" in cell(books[CH5], "code-def-wine-test-accuracy").source


def test_ch5_logistic_regression_baseline(books, wine):
    X, y = wine
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=21)
    score = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train).score(X_test, y_test)
    printed = out(books[CH5], "code-baseline")
    assert f"test accuracy {score:.3f} ({round(score * 45)} of 45 wines)" in printed, printed
    quoted(md(books[CH5], "md-baseline-after"), f"{round(score * 45)} of 45")


def test_ch5_paired_comparison_over_50_splits(books):
    nb = books[CH5]
    summary = out(nb, "code-def-wine-test-accuracy")
    network = re.search(rf"network, 50 seeds: median ({NUMBER}), mean ({NUMBER}), min ({NUMBER}), max ({NUMBER}), "
                        rf"all 45 right on (\d+)", summary)
    linear = re.search(rf"logistic regression, 50 seeds: median ({NUMBER}), mean ({NUMBER}), min ({NUMBER}), "
                       rf"max ({NUMBER}), all 45 right on (\d+)", summary)
    assert network and linear, summary
    paired = out(nb, "code-paired")
    better, worse, tied = map(int, re.search(r"better on (\d+) splits, worse on (\d+), tied on (\d+)", paired).groups())
    mean_difference = float(re.search(rf"mean difference ({NUMBER})", paired).group(1))
    assert better + worse + tied == 50
    # the mean of the paired differences is the difference of the means
    assert abs(mean_difference - (float(network.group(2)) - float(linear.group(2)))) <= 0.0015
    text = md(nb, "md-the-median-is-0")
    quoted(text, network.group(1), network.group(3), linear.group(3), f"{linear.group(5)} splits",
           f"network on {network.group(5)}", f"better on {better} splits, worse on {worse} and tied on {tied}",
           f"{abs(mean_difference):.3f}")
    quoted(md(nb, "md-summary-the-wine-data"), f"{worse + tied} of the 50")


def test_ch5_names_its_source(books):
    quoted(prose(books[CH5]), "Jose Portilla", "A Beginner's Guide to Neural Networks in Python", "Springboard")


# Chapter 6 -----------------------------------------------------------------------------------------------------


def wilson(k, n, z=1.959964):
    """The Wilson score interval, written out here from Wilson (1927) as a reference independent of the chapter."""
    p = k / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / denominator, (centre + spread) / denominator


def test_wilson_reference_reproduces_the_issue_number():
    low, high = wilson(180, 200)
    assert (round(low, 3), round(high, 3)) == (0.851, 0.934)


INTERVAL = re.compile(rf"({NUMBER}) \((\d+)/(\d+), 95 % interval \[({NUMBER}), ({NUMBER})\]\)")


@pytest.mark.parametrize("cell_id, expected", [("code-wilson", 1), ("code-cancer-model-fit-xc", 3),
                                               ("code-test-probability-cancer-model", 3)])
def test_ch6_every_test_score_has_its_wilson_interval(books, cell_id, expected):
    printed = out(books[CH6], cell_id)
    found = INTERVAL.findall(printed)
    assert len(found) == expected, printed
    for score, k, n, low, high in found:
        k, n = int(k), int(n)
        assert score == f"{k / n:.3f}"
        reference = wilson(k, n)
        assert (low, high) == (f"{reference[0]:.3f}", f"{reference[1]:.3f}"), (k, n, low, high, reference)


def test_ch6_final_model_chosen_over_seeds_and_the_winners_curse_named(books):
    nb = books[CH6]
    assert "alpha_seed_scores.mean().idxmax()" in cell(nb, "code-best-alpha-alpha-scores").source
    printed = out(nb, "code-wilson")
    test_score = float(INTERVAL.search(printed).group(1))
    validation = float(re.search(rf"validation accuracy \(seed 0\): ({NUMBER})", printed).group(1))
    assert test_score < validation, "the test score did not drop: the winner's-curse paragraph would be wrong"
    text = md(nb, "md-winners-curse")
    quoted(text, "winner's curse", f"{test_score:.3f}", f"{validation:.3f}", f"{validation - test_score:.3f}")
    quoted(md(nb, "md-summary-three-sets-the"), "[0.851, 0.934]")


def test_ch6_paired_comparison_of_two_penalties(books):
    nb = books[CH6]
    printed = out(nb, "code-paired")
    differences = ast.literal_eval(re.search(r"seed by seed: (\[.*?\])", printed).group(1))
    mean, std, stderr = map(float, re.search(
        rf"mean difference ({NUMBER}), standard deviation ({NUMBER}), standard error ({NUMBER})", printed).groups())
    assert len(differences) == 5 and all(d > 0 for d in differences)
    assert abs(np.mean(differences) - mean) < 0.0015 and abs(np.std(differences, ddof=1) - std) < 0.0015
    assert abs(std / math.sqrt(5) - stderr) < 0.0015
    quoted(md(nb, "md-paired-after"), f"{mean:.3f}", f"{stderr:.3f}", "every one of the five seeds")


def test_ch6_sigmoid_shrink_factor_is_the_geometric_mean_of_its_table(books):
    nb = books[CH6]
    table = out(nb, "7aab9415")
    logistic = [row[1] for row in table_rows(table, 4)]  # layer, logistic, tanh, relu
    assert len(logistic) == 7
    geometric_mean = (logistic[-1] / logistic[0]) ** (1 / 6)
    steps = [b / a for a, b in itertools.pairwise(logistic)]
    assert f"{geometric_mean:.1f}" == "6.5"
    printed = out(nb, "code-gradient-ratios")
    # the table shows two digits, so the step ratios recomputed from it are only good to about 10 %
    smallest, largest = map(float, re.search(rf"logistic: from layer to layer ({NUMBER}) to ({NUMBER}), geometric "
                                             rf"mean 6.5", printed).groups())
    assert abs(smallest / min(steps) - 1) < 0.1 and abs(largest / max(steps) - 1) < 0.1, (smallest, largest, steps)
    quoted(md(nb, "3073b137"), "6.5", f"{smallest} and {largest}")
    text = prose(nb) + " ".join(cell(nb, "deb23fc1").source.split())
    assert "about ten per layer" not in text and "a factor of about ten" not in text


def test_ch6_learning_rate_10_is_described_by_what_its_losses_do(books):
    nb = books[CH6]
    printed = out(nb, "code-exploding-moons-mlp-16")
    first_five = [float(x) for x in re.search(r"\[(.*?)\]", printed).group(1).replace("'", "").split(",")]
    lowest = float(re.search(rf"lowest loss after the first epoch: ({NUMBER})", printed).group(1))
    final, accuracy = map(float, re.search(rf"after 200 epochs: loss ({NUMBER}), training accuracy ({NUMBER})",
                                           printed).groups())
    assert first_five[0] > 1e6 and first_five[1] > first_five[4], "the losses after the explosion do not fall"
    assert lowest > math.log(2) and final > first_five[4] and accuracy <= 0.55
    text = md(nb, "100379b0", "md-exploding-after")
    assert "wrecked" not in text
    quoted(text, f"{lowest:.2f}", "0.69", "falls back")


def test_ch6_sixty_twenty_twenty_is_for_moderate_data(books):
    text = md(books[CH6], "md-training-validation-and-test")
    assert "With plenty of data, a 60 %" not in text
    quoted(text, "moderate size", "98 % / 1 % / 1 %")
    # "10,000 test examples pin an accuracy near 0.9 down to about ±0.006"
    assert round(1.96 * math.sqrt(0.9 * 0.1 / 10_000), 3) == 0.006
    quoted(text, "±0.006")


def test_ch6_momentum_distances_match_the_closed_form(books):
    """On J = (t1^2 + 50 t2^2) / 2 each coordinate evolves linearly: gradient descent multiplies it by (1 - eta c),
    momentum by the 2x2 matrix [[1 + beta - eta c, -beta], [1, 0]] acting on (t_k, t_(k-1))."""
    nb = books[CH6]
    eta, beta, steps, start, curvatures = 0.035, 0.8, 50, np.array([-9.0, 1.0]), np.array([1.0, 50.0])
    gd = start * (1 - eta * curvatures) ** steps
    momentum = []
    for t0, c in zip(start, curvatures):
        step = np.array([[1 + beta - eta * c, -beta], [1.0, 0.0]])
        t1 = t0 - eta * c * t0  # the first step has no velocity yet
        momentum.append((np.linalg.matrix_power(step, steps - 1) @ np.array([t1, t0]))[0])
    printed = out(nb, "code-momentum-adam")
    gd_distance, momentum_distance = np.linalg.norm(gd), np.linalg.norm(momentum)
    assert f"gradient descent: distance to the minimum after 50 steps {gd_distance:.3f}" in printed, printed
    assert f"momentum 0.8: distance to the minimum after 50 steps {momentum_distance:.3f}" in printed, printed
    adam = float(re.search(rf"Adam: distance to the minimum after 50 steps ({NUMBER})", printed).group(1))
    quoted(md(nb, "md-momentum-after"), f"{gd_distance:.2f}", f"{momentum_distance:.3f}", f"{adam:.3f}")


def test_ch6_says_where_nnlib_uses_momentum(books):
    nb = books[CH6]
    assert nnlib.MLPRegressor().momentum == 0.9 and nnlib.MLPClassifier().momentum == 0.0
    assert "nnlib.MLPClassifier(): 0.0" in out(nb, "code-momentum-defaults")
    assert "nnlib.MLPRegressor(): 0.9" in out(nb, "code-momentum-defaults")
    quoted(md(nb, "md-momentum-after"), "`momentum=0.9`", "`momentum=0.0`", "nnlib.optim.SGD")
    # the promise of chapter 5
    assert "chapter 6 explains momentum and Adam" in md(books[CH5], "md-training-scikit-learn-s")


def test_ch6_cost_based_threshold_and_tuned_threshold(books):
    nb = books[CH6]
    printed = out(nb, "code-cost-threshold")
    assert "t* = 1 / (1 + 10) = 0.091" in printed and round(1 / 11, 3) == 0.091
    lowest, at = re.search(rf"lowest: (\d+) at ({NUMBER})", printed).groups()
    tuned = out(nb, "code-tuned")
    threshold, per_fold = re.search(rf"best threshold ({NUMBER}), cross-validated cost ({NUMBER}) per fold", tuned).groups()  # noqa: E501
    assert threshold == at, "TunedThresholdClassifierCV and the hand-made search disagree"
    assert abs(int(lowest) / 5 - float(per_fold)) < 0.05
    quoted(md(nb, "md-test-thresholds"), at, per_fold, lowest, "0.091")
    assert "TunedThresholdClassifierCV" in cell(nb, "code-tuned").source


def test_ch6_test_costs_add_up_and_the_prose_quotes_them(books):
    nb = books[CH6]
    lines = out(nb, "code-test-probability-cancer-model").strip().splitlines()
    costs = {}
    for line in lines:
        threshold = re.match(rf"threshold ({NUMBER})", line).group(1)
        missed, alarms, cost = map(int, re.search(r"missed (\d+), false alarms (\d+), cost (\d+)", line).groups())
        assert cost == alarms + 10 * missed
        costs[threshold] = cost
    assert list(costs) == ["0.500", "0.091", "0.170"], costs
    quoted(md(nb, "md-a-model-like-this"), f"costs {costs['0.091']}", f"costs {costs['0.170']}")


def test_ch6_diabetes_split_is_placed_among_300_splits(books):
    """The 300 splits recomputed here with scikit-learn directly (about a second)."""
    nb = books[CH6]
    X, y = load_diabetes(return_X_y=True, scaled=False)
    r2 = []
    for seed in range(300):
        X_a, X_b, y_a, y_b = train_test_split(X, y, test_size=0.25, random_state=seed)
        r2.append(r2_score(y_b, make_pipeline(StandardScaler(), LinearRegression()).fit(X_a, y_a).predict(X_b)))
    r2 = np.array(r2)
    lower = int(np.sum(r2 < r2[0]))
    printed = out(nb, "code-diabetes-splits")
    assert f"median test R^2 {np.median(r2):.3f}" in printed
    assert f"our split: test R^2 {r2[0]:.3f}; {lower} of the 300 splits are lower" in printed, printed
    assert round(100 * lower / 300) == 3
    cv = float(re.search(rf"linear regression\s+({NUMBER})", out(nb, "c5347ddc")).group(1))
    assert cv > np.median(r2) > r2[0]
    quoted(md(nb, "md-diabetes-after"), f"{lower} of the 300", "3rd percentile", f"{np.median(r2):.2f}", f"{cv:.2f}")


def test_ch6_diabetes_paired_folds(books):
    nb = books[CH6]
    printed = out(nb, "code-diabetes-paired")
    differences = ast.literal_eval(re.search(r"fold by fold: (\[.*?\])", printed).group(1))
    mean, std = map(float, re.search(rf"mean ({NUMBER}), standard deviation ({NUMBER})", printed).groups())
    assert abs(np.mean(differences) - mean) < 0.0015 and abs(np.std(differences, ddof=1) - std) < 0.0015
    ahead = sum(d > 0 for d in differences)
    words = {3: "three", 4: "four", 5: "five"}
    quoted(md(nb, "md-diabetes-paired-after"), f"{words.get(ahead, ahead)} folds of five", f"{mean:.3f}", f"{std:.3f}")


# Sources and concept checks, chapters 4-6 ---------------------------------------------------------------------


@pytest.mark.parametrize("name, sources", [
    (CH4, ["Britz", "Rumelhart", "Cohen", "Nielsen", "CS231n", "Dive into Deep Learning", "scikit-learn's user guide"]),
    (CH5, ["Portilla", "Rumelhart", "Nielsen", "CS231n", "Dive into Deep Learning", "scikit-learn's user guide"]),
    (CH6, ["Rumelhart", "Kingma", "Wilson", "Nielsen", "CS231n", "Dive into Deep Learning", "scikit-learn's user guide"]),  # noqa: E501
])
def test_each_chapter_has_further_reading(books, name, sources):
    readings = [c.source for c in books[name].cells if c.cell_type == "markdown" and "further reading" in c.source.lower()  # noqa: E501
                and c.source.lstrip().startswith("## ")]
    assert len(readings) == 1, f"{name}: {len(readings)} further-reading sections"
    for source in sources:
        assert source in readings[0], f"{name}: {source!r} is not in its further reading"


def test_concept_checks_of_chapters_4_to_6_need_thought(books):
    """The right answer is not always in the same place, and not usually the longest."""
    positions, longest, total = [], 0, 0
    for nb in books.values():
        for index in concept_checks(nb)[0]:
            for question in ast.literal_eval(quiz_call(nb.cells[index].source).args[0]):
                answers = question["answers"]
                right = [a["correct"] for a in answers].index(True)
                positions.append(right)
                lengths = [len(a["answer"]) for a in answers]
                longest += lengths[right] == max(lengths)
                total += 1
    assert total >= 8
    assert positions.count(0) <= total // 3, f"the right answer is first in {positions.count(0)} of {total}"
    assert len(set(positions)) >= 3, f"the right answer's positions: {positions}"
    assert longest <= total // 3, f"the right answer is the longest in {longest} of {total}"


def test_ch6_alpha_over_seeds_table_backs_the_prose(books):
    nb = books[CH6]
    rows = {line.split()[0]: numbers(line) for line in out(nb, "code-alpha-seeds-table").splitlines()
            if line.split() and line.split()[0] in ("mean", "std", "min", "max")}
    alphas = [0.0, 0.01, 0.1, 1.0]
    best = alphas[int(np.argmax(rows["mean"]))]
    assert best == 0.1
    others_best = max(value for alpha, value in zip(alphas, rows["max"]) if alpha != best)
    worst_of_best = rows["min"][alphas.index(best)]
    assert worst_of_best > others_best, "the prose says the winner's worst seed beats every other seed"
    quoted(md(nb, "md-paired"), f"({worst_of_best:.3f})")
    assert "progress_bar" not in cell(nb, "code-alpha-seeds-table").source  # a bar's cell is never compared


def test_ch5_interval_of_its_test_score(books):
    printed = out(books[CH5], "code-accuracy-accuracy-score-y")
    k, n = map(int, re.search(r"\((\d+) of (\d+) test wines correct\)", printed).groups())
    low, high = wilson(k, n)
    quoted(md(books[CH5], "md-one-split-is-one"), f"{k} of {n}", f"[{low:.3f}, {high:.3f}]")
