"""nnlib.perceptron and nnlib.neuron (chapters 1 and 2): hand-worked numbers, finite differences, bad input."""

import math

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from nnlib import Perceptron, SigmoidNeuron, neuron_gradients, perceptron_update, predict_neuron
from nnlib.datasets import sigmoid_training_data, truth_table
from nnlib.gradcheck import numerical_gradient, rel_error

# -- the perceptron --------------------------------------------------------------------------------------------------

def test_perceptron_update_by_hand():
    # w = (0.5, -0.5), b = 0.1, x = (1, 2): z = 0.5 - 1 + 0.1 = -0.4 -> output 0; target 1, so error = +1 and,
    # with rate 0.5, w += 0.5 * (1, 2) = (1.0, 0.5) and b += 0.5 -> 0.6
    w, b = perceptron_update(np.array([0.5, -0.5]), 0.1, np.array([1.0, 2.0]), 1, learning_rate=0.5)
    np.testing.assert_allclose(w, [1.0, 0.5], rtol=1e-15)
    assert b == pytest.approx(0.6, rel=1e-15)
    # target 0 for the same input: the output is already 0, nothing changes
    w, b = perceptron_update(np.array([0.5, -0.5]), 0.1, np.array([1.0, 2.0]), 0, learning_rate=0.5)
    np.testing.assert_array_equal(w, [0.5, -0.5])
    assert b == 0.1
    # z = 0 counts as output 1 (step(0) = 1): target 0 gives error -1, w -= x, b -= 1
    w, b = perceptron_update(np.zeros(2), 0.0, np.array([3.0, 4.0]), 0)
    np.testing.assert_array_equal(w, [-3.0, -4.0])
    assert b == -1.0


def test_perceptron_update_returns_new_arrays():
    w = np.array([0.0, 0.0])
    new_w, _ = perceptron_update(w, 0.0, np.array([1.0, 1.0]), 0)
    assert new_w is not w and np.array_equal(w, [0.0, 0.0])


def test_perceptron_and_first_epochs_by_hand():
    """AND with rate 1 from w = (0, 0), b = 0, the rows in the order (0,0), (0,1), (1,0), (1,1):

    epoch 1: (0,0) z=0 -> 1, target 0: w=(0,0), b=-1 | (0,1) z=-1 -> 0 ok | (1,0) z=-1 -> 0 ok |
             (1,1) z=-1 -> 0, target 1: w=(1,1), b=0.                                   2 errors, w=(1,1), b=0
    epoch 2: (0,0) z=0 wrong: b=-1 | (0,1) z=0 wrong: w=(1,0), b=-2 | (1,0) z=-1 ok |
             (1,1) z=-1 wrong: w=(2,1), b=-1.                                           3 errors
    epoch 3: (0,0) z=-1 ok | (0,1) z=0 wrong: w=(2,0), b=-2 | (1,0) z=0 wrong: w=(1,0), b=-3 |
             (1,1) z=-2 wrong: w=(2,1), b=-2.                                           3 errors
    epoch 4: (0,0) ok | (0,1) z=-1 ok | (1,0) z=0 wrong: w=(1,1), b=-3 | (1,1) z=-1 wrong: w=(2,2), b=-2.  2 errors
    epoch 5: (0,0) ok | (0,1) z=0 wrong: w=(2,1), b=-3 | (1,0) z=-1 ok | (1,1) z=0 -> 1 ok.                1 error
    epoch 6: z = -3, -2, -1, 0: outputs 0, 0, 0, 1, all right.                                            0 errors
    """
    X, y = truth_table("and")
    one_epoch = Perceptron(learning_rate=1.0, max_iter=1).fit(X, y)
    assert one_epoch.errors_ == [2]
    np.testing.assert_array_equal(one_epoch.coef_, [1.0, 1.0])
    assert one_epoch.intercept_ == 0.0

    model = Perceptron(learning_rate=1.0).fit(X, y)
    assert model.errors_ == [2, 3, 3, 2, 1, 0]
    assert model.loss_curve_ == [0.5, 0.75, 0.75, 0.5, 0.25, 0.0]  # the same mistakes, as a share of 4 examples
    assert model.n_iter_ == 6
    np.testing.assert_array_equal(model.coef_, [2.0, 1.0])
    assert model.intercept_ == -3.0


@pytest.mark.parametrize("gate", ["and", "or", "nand"])
def test_perceptron_learns_linearly_separable_gates(gate):
    X, y = truth_table(gate)
    model = Perceptron(max_iter=100).fit(X, y)
    assert model.errors_[-1] == 0 and model.n_iter_ < 100
    np.testing.assert_array_equal(model.predict(X), y)
    assert model.score(X, y) == 1.0


@pytest.mark.parametrize("shuffle", [False, True])
def test_perceptron_never_learns_xor(shuffle):
    X, y = truth_table("xor")
    model = Perceptron(max_iter=200, shuffle=shuffle, random_state=0).fit(X, y)
    assert model.n_iter_ == 200 and len(model.errors_) == 200
    assert min(model.errors_) > 0
    assert model.score(X, y) < 1.0


def test_perceptron_with_string_labels():
    X, y = truth_table("or")
    names = np.array(["off", "on"])[y]
    model = Perceptron().fit(X, names)
    np.testing.assert_array_equal(model.classes_, ["off", "on"])
    np.testing.assert_array_equal(model.predict(X), names)


@pytest.mark.parametrize("X, y, message", [
    ([[0, 0], [0, np.nan]], [0, 1], r"X must hold only finite numbers; got 1 NaN or inf"),
    ([[0, 0], [0, np.inf]], [0, 1], r"X must hold only finite numbers; got 1 NaN or inf"),
    ([[0, 0], [0, 1]], [0, np.nan], r"y must hold only finite labels; got NaN or inf"),
    ([0, 1], [0, 1], r"X must be 2-D \(n_samples, n_features\); got shape \(2,\); Reshape your data"),
    ([[0, 0], [0, 1]], [0, 1, 1], r"X and y must have the same number of samples; got 2 rows in X and 3 in y"),
    ([[0, 0], [0, 1]], [1, 1], r"y must contain at least two classes to train a classifier; got only one class, \[1\]"),
    ([[0, 0], [0, 1], [1, 1]], [0, 1, 2], r"A perceptron separates two classes \(Only binary classification is supported\); y has 3"),  # noqa: E501
    (np.zeros((0, 2)), [], r"X must hold at least one sample; got shape \(0, 2\)"),
])
def test_perceptron_rejects_bad_data(X, y, message):
    with pytest.raises(ValueError, match=message):
        Perceptron().fit(X, y)


@pytest.mark.parametrize("params, error, message", [
    ({"learning_rate": 0}, ValueError, r"learning_rate must be a finite number > 0; got 0"),
    ({"learning_rate": -1.0}, ValueError, r"learning_rate must be a finite number > 0; got -1.0"),
    ({"max_iter": 0}, ValueError, r"max_iter must be > 0; got 0"),
    ({"max_iter": 2.5}, TypeError, r"max_iter must be a positive integer; got 2.5 \(float\)"),
])
def test_perceptron_rejects_bad_settings(params, error, message):
    X, y = truth_table("and")
    with pytest.raises(error, match=message):
        Perceptron(**params).fit(X, y)


def test_perceptron_predict_before_fit_and_wrong_features():
    X, y = truth_table("and")
    with pytest.raises(NotFittedError, match=r"This Perceptron is not fitted yet; call fit\(X, y\) before predicting"):
        Perceptron().predict(X)
    model = Perceptron().fit(X, y)
    with pytest.raises(ValueError, match=r"X has 3 features, but Perceptron is expecting 2 features as input"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"X and y must have the same number of samples; got 4 rows in X and 2"):
        model.score(X, [0, 1])


# -- the sigmoid neuron ----------------------------------------------------------------------------------------------

def mean_squared_error(X, y, w, b):
    """Written out here, independently of nnlib: (1/n) sum (sigmoid(x.w + b) - y)^2."""
    return sum((1 / (1 + math.exp(-(x @ w + b))) - t) ** 2 for x, t in zip(X, y)) / len(y)


def test_neuron_gradients_match_finite_differences(rng):
    X, y = sigmoid_training_data()
    w = rng.standard_normal(2)
    b = np.array(0.3)
    dw, db = neuron_gradients(X, y, w, float(b))
    assert dw.shape == (2,) and isinstance(db, float)
    assert rel_error(dw, numerical_gradient(lambda v: mean_squared_error(X, y, v, float(b)), w)) < 1e-7
    assert rel_error(db, numerical_gradient(lambda v: mean_squared_error(X, y, w, float(v)), b)) < 1e-7


def test_neuron_gradients_of_one_example_by_hand():
    # chapter 2's wrong prediction p = 0.87101915 for x = (2, 1.5), target 0: dE/dz = 2 p (1 - p) p
    p = 1 / (1 + math.exp(-(1.45 * 2 - 0.66 * 1.5)))
    dw, db = neuron_gradients([2.0, 1.5], 0, [1.45, -0.66], 0.0)
    np.testing.assert_allclose(dw, [2 * p * (1 - p) * p * 2.0, 2 * p * (1 - p) * p * 1.5], rtol=1e-14)
    assert db == pytest.approx(2 * p * (1 - p) * p, rel=1e-14)
    # one step against the gradient lowers that prediction
    assert predict_neuron([2.0, 1.5], np.array([1.45, -0.66]) - 1.0 * dw, -1.0 * db) < p


def test_sigmoid_neuron_training_decreases_the_error():
    X, y = sigmoid_training_data()
    model = SigmoidNeuron(learning_rate=0.1, max_iter=500, random_state=0).fit(X, y)
    errors = np.array(model.loss_curve_)
    assert len(errors) == 500
    assert errors[-1] < 0.9 * errors[0]
    assert np.all(np.diff(errors) <= 0)  # small steps on a smooth error: every step goes downhill
    # loss_curve_ holds the error before each step, recomputed here from the final weights it is below the last one
    assert mean_squared_error(X, y, model.weights_, model.bias_) <= errors[-1]
    np.testing.assert_allclose(model.predict_proba(X), [1 / (1 + math.exp(-(x @ model.weights_ + model.bias_)))
                                                        for x in X], rtol=1e-14)
    assert set(model.predict(X)) <= {0, 1}


def test_sigmoid_neuron_from_given_weights_follows_the_gradient():
    X, y = sigmoid_training_data()
    w0, b0 = np.array([0.2, -0.4]), 0.1
    model = SigmoidNeuron(learning_rate=0.5, max_iter=1, weights=w0, bias=b0).fit(X, y)
    dw, db = neuron_gradients(X, y, w0, b0)
    np.testing.assert_allclose(model.weights_, w0 - 0.5 * dw, rtol=1e-15)
    assert model.bias_ == pytest.approx(b0 - 0.5 * db, rel=1e-15)
    assert model.loss_curve_ == [pytest.approx(mean_squared_error(X, y, w0, b0), rel=1e-14)]


@pytest.mark.parametrize("X, y, message", [
    ([[0, np.nan], [1, 1]], [0, 1], r"X must hold only finite numbers; got 1 NaN or inf"),
    ([[0, 1], [1, 1]], [0, np.inf], r"y must hold only finite labels; got NaN or inf"),
    ([0, 1], [0, 1], r"X must be 2-D \(n_samples, n_features\); got shape \(2,\); Reshape your data"),
    ([[0, 1], [1, 1]], [0], r"X and y must have the same number of samples; got 2 rows in X and 1 in y"),
    (np.zeros((0, 2)), [], r"X must hold at least one sample; got shape \(0, 2\)"),
])
def test_sigmoid_neuron_rejects_bad_data(X, y, message):
    with pytest.raises(ValueError, match=message):
        SigmoidNeuron(max_iter=2).fit(X, y)


@pytest.mark.parametrize("params, error, message", [
    ({"learning_rate": 0.0}, ValueError, r"learning_rate must be a finite number > 0; got 0.0"),
    ({"learning_rate": np.inf}, ValueError, r"learning_rate must be a finite number > 0; got inf"),
    ({"max_iter": 0}, ValueError, r"max_iter must be > 0; got 0"),
    ({"max_iter": 1e3}, TypeError, r"max_iter must be a positive integer; got 1000.0 \(float\)"),
    ({"weights": [1.0, 2.0, 3.0]}, ValueError, r"X has 2 features but weights has 3 entries"),
    ({"weights": [1.0, np.nan]}, ValueError, r"weights must hold only finite numbers; got 1 NaN or inf"),
    ({"bias": np.nan}, ValueError, r"bias must hold only finite numbers; got 1 NaN or inf"),
])
def test_sigmoid_neuron_rejects_bad_settings(params, error, message):
    X, y = sigmoid_training_data()
    with pytest.raises(error, match=message):
        SigmoidNeuron(**{"max_iter": 2, **params}).fit(X, y)


def test_sigmoid_neuron_predict_before_fit_and_wrong_features():
    X, y = sigmoid_training_data()
    with pytest.raises(NotFittedError, match=r"This SigmoidNeuron is not fitted yet; call fit\(X, y\) before predicting"):  # noqa: E501
        SigmoidNeuron().predict(X)
    model = SigmoidNeuron(max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"X has 3 features, but SigmoidNeuron is expecting 2 features as input"):
        model.predict(np.zeros((2, 3)))


@pytest.mark.parametrize("X, weights, bias, message", [
    ([1.0, np.nan], [1.0, 2.0], 0.0, r"X must hold only finite numbers; got 1 NaN or inf"),
    ([1.0, 2.0], [1.0, np.inf], 0.0, r"weights must hold only finite numbers; got 1 NaN or inf"),
    ([1.0, 2.0], [1.0, 2.0], np.nan, r"bias must hold only finite numbers; got 1 NaN or inf"),
    ([1.0, 2.0, 3.0], [1.0, 2.0], 0.0, r"X has 3 features but weights has 2 entries"),
    ([[[1.0, 2.0]]], [1.0, 2.0], 0.0, r"X must be one input \(n_features,\) or a 2-D batch .*; got \(1, 1, 2\)"),
    ([1.0, 2.0], [[1.0, 2.0]], 0.0, r"weights must be 1-D; got shape \(1, 2\)"),
    ([1.0, 2.0], [1.0, 2.0], [0.0, 1.0], r"bias must be 0-D; got shape \(2,\)"),
])
def test_predict_neuron_rejects_bad_input(X, weights, bias, message):
    with pytest.raises(ValueError, match=message):
        predict_neuron(X, weights, bias)
