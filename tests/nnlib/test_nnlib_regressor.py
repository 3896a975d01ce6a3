"""nnlib.MLPRegressor against scikit-learn's MLPRegressor, finite differences and hand-worked numbers; the SGD
update rule; and the one epoch loop that every model trains through."""

import numpy as np
import pytest
from sgd_reference import BIG
from sgd_reference import initial_weights as reference_weights
from sgd_reference import sklearn_run as reference_run
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

import nnlib
from nnlib import MLPRegressor, Network
from nnlib.gradcheck import check_network_gradients
from nnlib.optim import SGD

HIDDEN = (6, 4)


@pytest.fixture(scope="module")
def diabetes():
    """442 patients, 10 standardised features; the target (disease progression a year on) standardised too."""
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, (y - y.mean()) / y.std()


def initial_weights(n_features, n_outputs, seed=0):
    return reference_weights([n_features, *HIDDEN, n_outputs], seed, weight_scale=0.5)


def sklearn_run(X, y, coefs, intercepts, epochs, **kwargs):
    """scikit-learn's plain full-batch SGD from the given weights."""
    return reference_run(SklearnMLPRegressor, HIDDEN, X, y, coefs, intercepts, epochs, batch_size=len(X), **kwargs)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_same_weights_as_sklearn(diabetes, activation, n_outputs, momentum):
    X, y = diabetes
    if n_outputs == 2:
        y = np.column_stack([y, 0.5 * y + X[:, 2]])
    coefs, intercepts = initial_weights(X.shape[1], n_outputs)
    epochs = 8
    common = dict(activation=activation, alpha=0.05, learning_rate_init=0.05, momentum=momentum)
    theirs = sklearn_run(X, y, coefs, intercepts, epochs, **common)
    ours = MLPRegressor(HIDDEN, shuffle=False, max_iter=epochs, n_iter_no_change=BIG, coefs_init=coefs,
                        intercepts_init=intercepts, **common).fit(X, y)
    assert ours.n_iter_ == epochs
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, reference, rtol=0, atol=1e-10)
    # scikit-learn's curve holds its throw-away first fit too. With several targets it divides the squared-error
    # part of its loss (not the penalty, and not the gradient: both take the same steps) by the number of targets:
    # checked on the first epoch, whose penalty comes from the initial weights.
    if n_outputs == 1:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_[1:], rtol=1e-12, atol=0)
    else:
        penalty = 0.5 * common["alpha"] * sum(float(np.sum(c * c)) for c in coefs) / len(X)
        assert (ours.loss_curve_[0] - penalty) / n_outputs + penalty == pytest.approx(theirs.loss_curve_[1], 1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=1e-10)
    assert ours.predict(X).shape == y.shape
    assert np.abs(ours.coefs_[0] - coefs[0]).max() > 1e-3  # the weights moved


def test_score_is_r2_and_training_helps(diabetes):
    X, y = diabetes
    model = MLPRegressor((16,), activation="tanh", learning_rate_init=0.05, momentum=0.0, max_iter=300,
                         random_state=0).fit(X, y)
    assert model.score(X, y) == pytest.approx(r2_score(y, model.predict(X)), rel=1e-12)
    assert model.score(X, y) > 0.5  # a linear model reaches 0.52 on these data
    assert model.loss_curve_[-1] < model.loss_curve_[0] / 2


def test_loss_is_half_the_mean_squared_error_plus_the_penalty():
    """Hand-worked: one layer, W = [[1], [2]], b = [0.5], two samples."""
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([1.0, 0.0])
    model = MLPRegressor((), alpha=0.2, max_iter=1, coefs_init=[np.array([[1.0], [2.0]])],
                         intercepts_init=[np.array([0.5])]).fit(X, y)
    # predictions 1.5 and 2.5: 0.5 * (0.5^2 + 2.5^2) / 2 = 1.625; penalty 0.2 / (2 * 2) * (1 + 4) = 0.25
    assert model.loss_curve_ == [pytest.approx(1.875, rel=1e-15)]


@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_gradients_match_finite_differences(activation, rng):
    model = MLPRegressor((5, 3), activation=activation, alpha=0.3, max_iter=2, random_state=0)
    X, Y = rng.standard_normal((7, 4)), rng.standard_normal((7, 2))
    model.fit(X, Y)
    errors = check_network_gradients(model.network_, X, Y)
    # the course's rule: about 1e-7 is right, above 1e-2 a bug (the logistic layer's small entries reach 4e-7)
    assert max(errors.values()) < 1e-6, errors


GOOD_X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
GOOD_Y = np.array([0.5, 1.0, 1.5, 0.0])


@pytest.mark.parametrize("X, y, error, message", [
    (GOOD_X, None, ValueError, r"y must be an array of numeric targets; got None \(this estimator requires y"),
    (GOOD_X, [0.5, np.nan, 1.0, 0.0], ValueError, r"y must hold only finite numbers; got 1 NaN or inf value\(s\)"),
    (GOOD_X, ["a", "b", "c", "d"], TypeError, r"y must be an array of numbers; got \['a', 'b', 'c', 'd'\]"),
    (GOOD_X, [0.5, 1.0, 1.5], ValueError, r"X and y must have the same number of samples; got 4 rows in X and 3"),
    (GOOD_X, np.zeros((4, 2, 1)), ValueError, r"y must be 1-D \(n_samples,\) or 2-D \(n_samples, n_outputs\); got "
                                              r"shape \(4, 2, 1\)"),
    ([0.0, 1.0, 2.0, 3.0], GOOD_Y, ValueError, r"X must be 2-D \(n_samples, n_features\); got shape \(4,\); "
                                               r"Reshape your data"),
    ([[0, np.inf]] * 4, GOOD_Y, ValueError, r"X must hold only finite numbers; got 4 NaN or inf value\(s\)"),
    (GOOD_X + 1j, GOOD_Y, ValueError, r"X must hold real numbers; got complex values"),
    (np.zeros((4, 0)), GOOD_Y, ValueError, r"X must have at least one feature; got 0 feature\(s\) \(shape=\(4, 0\)\)"),
])
def test_fit_rejects_bad_data(X, y, error, message):
    with pytest.raises(error, match=message):
        MLPRegressor((3,), max_iter=2).fit(X, y)


@pytest.mark.parametrize("params, error, message", [
    ({"learning_rate_init": 0.0}, ValueError, r"learning_rate_init must be a finite number > 0; got 0.0"),
    ({"hidden_layer_sizes": (3, 0)}, ValueError, r"hidden_layer_sizes must be > 0, got \(3, 0\)"),
    ({"momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\); got 1.0"),
    ({"activation": "softmax"}, ValueError, r"Unknown activation 'softmax'; choose from"),
])
def test_fit_rejects_bad_settings(params, error, message):
    with pytest.raises(error, match=message):
        MLPRegressor(**{"max_iter": 2, **params}).fit(GOOD_X, GOOD_Y)


def test_diverging_run_raises_divergence_error():
    X, y = load_diabetes(return_X_y=True)  # the target is in the hundreds: squared errors of 1e4
    with pytest.raises(nnlib.DivergenceError, match=r"try a smaller learning_rate_init \(now 0.5\)"):
        MLPRegressor(learning_rate_init=0.5, momentum=0.0, random_state=0).fit(X * 10, y)


def test_predict_rejects_features_it_was_not_fitted_on():
    model = MLPRegressor((3,), max_iter=2, random_state=0).fit(GOOD_X, GOOD_Y)
    with pytest.raises(ValueError, match=r"X has 3 features, but MLPRegressor is expecting 2 features as input"):
        model.predict(np.zeros((2, 3)))


# ---- the update rule and the epoch loop -------------------------------------------------------------------

def test_sgd_step_by_hand():
    value, grad = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    SGD([(value, grad)], learning_rate=0.1).step()
    np.testing.assert_allclose(value, [0.95, 2.1], rtol=0, atol=1e-15)


def test_sgd_momentum_by_hand():
    # v1 = -0.1 * g = (-0.05, 0.1); v2 = 0.9 * v1 - 0.1 * g = (-0.095, 0.19)
    value, grad = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    optimizer = SGD([(value, grad)], learning_rate=0.1, momentum=0.9)
    optimizer.step()
    np.testing.assert_allclose(value, [0.95, 2.1], rtol=0, atol=1e-15)
    optimizer.step()
    np.testing.assert_allclose(value, [0.855, 2.29], rtol=0, atol=1e-15)


@pytest.mark.parametrize("make_and_fit", [
    lambda X, y: nnlib.MLPClassifier((3,), max_iter=4, n_iter_no_change=10).fit(X, (y > 0).astype(int)),
    lambda X, y: MLPRegressor((3,), max_iter=4, n_iter_no_change=10).fit(X, y),
    lambda X, y: Network([nnlib.Dense(2, 3, "tanh", random_state=0), nnlib.Dense(3, 1)], loss="squared_error")
    .fit(X, y.reshape(-1, 1), epochs=4),
], ids=["MLPClassifier", "MLPRegressor", "Network.fit"])
def test_every_model_trains_through_the_one_epoch_loop(make_and_fit, monkeypatch):
    calls = []
    real_train = nnlib.optim.train

    def spy(*args, **kwargs):
        calls.append(kwargs["max_iter"])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(nnlib.optim, "train", spy)
    make_and_fit(GOOD_X, GOOD_Y - 0.7)
    assert calls == [4]
