"""The reference numbers of course-spec.md, reproduced with nnlib (and, for chapter 3, with the classic loop)."""

import math

import numpy as np
import pytest

import nnlib
from nnlib import Dense, Network, predict_neuron
from nnlib.datasets import SIGMOID_EXAMPLE, moons, moons_initial_weights, three_input_example

THREE_INPUT_OUTPUT = [0.00966449, 0.00786506, 0.99358898, 0.99211957]


# -- chapter 2: the sigmoid neuron -----------------------------------------------------------------------------------

def test_sigmoid_example_predictions():
    w, b = SIGMOID_EXAMPLE["weights"], SIGMOID_EXAMPLE["bias"]
    first, second = SIGMOID_EXAMPLE["inputs"]
    assert predict_neuron(first, w, b) == pytest.approx(0.7985731, abs=5e-8)
    assert predict_neuron(second, w, b) == pytest.approx(0.87101915, abs=5e-9)
    # and by hand: 1 / (1 + e^-(1.45 * 1.66 - 0.66 * 1.56)) with the standard library
    assert predict_neuron(first, w, b) == pytest.approx(1 / (1 + math.exp(-(1.45 * 1.66 - 0.66 * 1.56))), rel=1e-15)
    np.testing.assert_allclose(predict_neuron(SIGMOID_EXAMPLE["inputs"], w, b), [0.7985731, 0.87101915], atol=5e-8)
    # the first is right (class 1, target 1), the second wrong (class 1, target 0)
    assert list(SIGMOID_EXAMPLE["targets"]) == [1, 0]


# -- chapter 3: the classic 3-input example --------------------------------------------------------------------------

def classic_three_input_loop(n_iterations=10_000):
    """The published loop, written out independently of nnlib; returns the last `out` it computed and the weights."""
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    y = np.array([[0, 0, 1, 1]]).T
    state = np.random.get_state()
    np.random.seed(1)
    w = 2 * np.random.random((3, 1)) - 1
    np.random.set_state(state)
    for _ in range(n_iterations):
        out = 1 / (1 + np.exp(-(X @ w)))
        w += X.T @ ((y - out) * out * (1 - out))
    return out, w


def initial_three_input_weights():
    state = np.random.get_state()
    np.random.seed(1)
    W = 2 * np.random.random((3, 1)) - 1
    np.random.set_state(state)
    return W


@pytest.fixture(scope="module")
def classic_run():
    return classic_three_input_loop()


def test_classic_loop_gives_the_published_output(classic_run):
    out, _ = classic_run
    np.testing.assert_allclose(out.ravel(), THREE_INPUT_OUTPUT, atol=5e-9)


def test_nnlib_reproduces_the_three_input_example(classic_run):
    """The published `out` is computed at the start of the 10,000th iteration, before that iteration's update:
    it is the output after 9,999 steps. nnlib's mean squared error over n = 4 samples has gradient (2/n)(out - y),
    so a learning rate of n/2 = 2 makes each step exactly the classic `w += X.T @ ((y - out) * out * (1 - out))`."""
    X, y = three_input_example()
    network = Network([Dense(3, 1, "logistic", use_bias=False)], loss="squared_error")
    network.layers[0].set_weights(initial_three_input_weights())
    network.fit(X, y, learning_rate=2.0, epochs=9_999)
    np.testing.assert_allclose(network.forward(X).ravel(), THREE_INPUT_OUTPUT, atol=5e-9)
    # one more step: 10,000 in all, the same weights as the classic loop's final ones
    network.fit(X, y, learning_rate=2.0, epochs=1)
    _, classic_w = classic_run
    np.testing.assert_allclose(network.layers[0].W, classic_w, rtol=1e-12)


# -- chapter 4: the published moons run ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def moons_run():
    X, y = moons()
    coefs, intercepts = moons_initial_weights()
    model = nnlib.MLPClassifier((3,), "tanh", learning_rate_init=2.0, alpha=0.01, max_iter=20_000,
                                n_iter_no_change=10**6, coefs_init=coefs, intercepts_init=intercepts)
    return model.fit(X, y), X, y


def test_moons_loss_curve(moons_run):
    model, _, _ = moons_run
    curve = model.loss_curve_
    assert len(curve) == model.n_iter_ == 20_000
    assert curve[0] == pytest.approx(0.58394, abs=5e-6)      # before any update
    assert curve[1000] == pytest.approx(0.068948, abs=5e-7)  # after 1000 updates
    # a period-2 oscillation at the end: the last values alternate between 0.070758 and 0.071316
    assert {round(curve[-1], 6), round(curve[-2], 6)} == {0.070758, 0.071316}
    np.testing.assert_allclose(curve[-6::2], curve[-2], rtol=1e-8)
    np.testing.assert_allclose(curve[-5::2], curve[-1], rtol=1e-8)


def test_moons_training_accuracy(moons_run):
    model, X, y = moons_run
    assert model.score(X, y) == 0.975
    assert np.sum(model.predict(X) != y) == 5
