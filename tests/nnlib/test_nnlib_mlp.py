"""nnlib.MLPClassifier against scikit-learn's MLPClassifier, its scikit-learn compatibility, and its bad input."""

import warnings

import numpy as np
import pytest
from sgd_reference import BIG
from sgd_reference import initial_weights as reference_weights
from sgd_reference import sklearn_run as reference_run
from sklearn.base import clone
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nnlib
from nnlib import MLPClassifier

HIDDEN = (5, 4)


@pytest.fixture(scope="module")
def iris():
    """Three classes (scikit-learn uses a single logistic output for two), 150 samples, standardised."""
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def initial_weights(n_features, n_classes, seed=0):
    return reference_weights([n_features, *HIDDEN, n_classes], seed)


def sklearn_run(X, y, coefs, intercepts, epochs, **kwargs):
    return reference_run(SklearnMLP, HIDDEN, X, y, coefs, intercepts, epochs, **kwargs)


# batch sizes 30, 50, 25 divide the 150 samples; 40 leaves a last batch of 30, which both weight by its size
@pytest.mark.parametrize("batch_size, momentum", [(None, 0.0), (30, 0.0), (50, 0.0), (None, 0.9), (25, 0.5), (40, 0.3)])
@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_same_weights_as_sklearn(iris, activation, batch_size, momentum):
    X, y = iris
    coefs, intercepts = initial_weights(4, 3)
    epochs = 6
    common = dict(activation=activation, alpha=0.05, learning_rate_init=0.2, momentum=momentum)
    theirs = sklearn_run(X, y, coefs, intercepts, epochs, batch_size=batch_size or len(X), **common)
    ours = MLPClassifier(HIDDEN, batch_size=batch_size, shuffle=False, max_iter=epochs, n_iter_no_change=BIG,
                         coefs_init=coefs, intercepts_init=intercepts, **common).fit(X, y)
    assert ours.n_iter_ == epochs
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=0, atol=1e-10)
    # scikit-learn's curve also holds the loss of its first (throw-away) fit
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_[1:], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    # and the weights moved: the comparison is not between two copies of the initial weights
    assert np.abs(ours.coefs_[0] - coefs[0]).max() > 1e-3


def test_fit_leaves_the_initial_weights_alone(iris):
    X, y = iris
    coefs, intercepts = initial_weights(4, 3)
    before = [a.copy() for a in coefs + intercepts]
    MLPClassifier(HIDDEN, max_iter=3, coefs_init=coefs, intercepts_init=intercepts).fit(X, y)
    for a, b in zip(coefs + intercepts, before):
        np.testing.assert_array_equal(a, b)


def test_attributes_have_sklearns_shapes(iris):
    X, y = iris
    model = MLPClassifier((13, 13, 13), max_iter=2, random_state=0).fit(X, y)
    theirs = SklearnMLP((13, 13, 13), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
    assert [c.shape for c in model.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in model.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert model.n_features_in_ == theirs.n_features_in_ == 4
    np.testing.assert_array_equal(model.classes_, theirs.classes_)
    assert model.predict_proba(X).shape == (150, 3)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)


# -- scikit-learn compatibility --------------------------------------------------------------------------------------

def test_clone_and_params():
    model = MLPClassifier((7,), "tanh", alpha=0.5, learning_rate_init=0.05, max_iter=30, random_state=3)
    params = model.get_params()
    assert params["hidden_layer_sizes"] == (7,) and params["activation"] == "tanh" and params["alpha"] == 0.5
    assert {"batch_size", "momentum", "coefs_init", "intercepts_init", "dtype", "shuffle", "tol"} <= set(params)
    copy = clone(model)
    assert copy is not model and copy.get_params() == params
    assert model.set_params(alpha=0.1, hidden_layer_sizes=(3, 2)) is model
    assert model.alpha == 0.1 and model.hidden_layer_sizes == (3, 2)
    assert repr(MLPClassifier(alpha=0.5)) == "MLPClassifier(alpha=0.5)"


def test_clone_of_a_fitted_model_is_unfitted(iris):
    X, y = iris
    model = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(NotFittedError):
        clone(model).predict(X)


def test_pipeline_cross_validation_and_grid_search():
    X, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier((8,), "tanh", learning_rate_init=0.3, max_iter=200,
                                                            n_iter_no_change=BIG, random_state=0))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    grid = GridSearchCV(pipeline, {"mlpclassifier__alpha": [1e-4, 1.0], "mlpclassifier__hidden_layer_sizes": [(2,), (8,)]},  # noqa: E501
                        cv=3).fit(X, y)
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] in [(2,), (8,)]
    assert grid.cv_results_["mean_test_score"].shape == (4,)
    assert grid.score(X, y) > 0.9


def test_string_labels(iris):
    X, y = iris
    names = np.array(["virginica", "setosa", "versicolor"])[y]  # deliberately not in sorted order
    coefs, intercepts = initial_weights(4, 3)
    settings = dict(max_iter=20, n_iter_no_change=BIG, coefs_init=coefs, intercepts_init=intercepts)
    model = MLPClassifier(HIDDEN, **settings).fit(X, names)
    np.testing.assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert model.predict(X).dtype.kind == "U"
    # the same training with integer codes in the sorted order gives the same predictions
    codes = np.searchsorted(model.classes_, names)
    by_code = MLPClassifier(HIDDEN, **settings).fit(X, codes)
    np.testing.assert_array_equal(model.predict(X), model.classes_[by_code.predict(X)])
    assert model.score(X, names) == by_code.score(X, codes)


def test_float32_is_close_to_float64(iris):
    X, y = iris
    coefs, intercepts = initial_weights(4, 3)
    settings = dict(max_iter=30, n_iter_no_change=BIG, coefs_init=coefs, intercepts_init=intercepts, batch_size=50,
                    shuffle=False, momentum=0.5)
    single = MLPClassifier(HIDDEN, dtype="float32", **settings).fit(X, y)
    double = MLPClassifier(HIDDEN, dtype="float64", **settings).fit(X, y)
    assert all(c.dtype == np.float32 for c in single.coefs_ + single.intercepts_)
    assert single.predict_proba(X).dtype == np.float32
    for a, b in zip(single.coefs_ + single.intercepts_, double.coefs_ + double.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(single.loss_curve_, double.loss_curve_, rtol=1e-5)
    np.testing.assert_array_equal(single.predict(X), double.predict(X))


def test_shuffled_minibatches_are_seeded(iris):
    X, y = iris
    fits = [MLPClassifier((4,), batch_size=16, max_iter=5, random_state=s).fit(X, y) for s in (7, 7, 8)]
    np.testing.assert_array_equal(fits[0].coefs_[0], fits[1].coefs_[0])
    assert not np.array_equal(fits[0].coefs_[0], fits[2].coefs_[0])


def test_early_stopping_on_a_stalled_loss(iris):
    X, y = iris
    settings = dict(learning_rate_init=1e-9, tol=1e-3, n_iter_no_change=5, max_iter=100, random_state=0)
    model = MLPClassifier((4,), **settings).fit(X, y)
    theirs = SklearnMLP((4,), solver="sgd", momentum=0.0, **settings).fit(X, y)
    # the loss barely moves, so epochs 2..7 are no improvement: it stops once 6 > n_iter_no_change in a row
    assert model.n_iter_ == theirs.n_iter_ == 7


# -- bad input -------------------------------------------------------------------------------------------------------

GOOD_X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
GOOD_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("X, y, error, message", [
    ([[0, np.nan], [1, 0]], [0, 1], ValueError, r"X must hold only finite numbers; got 1 NaN or inf value\(s\)"),
    ([[0, np.inf], [1, -np.inf]], [0, 1], ValueError, r"X must hold only finite numbers; got 2 NaN or inf"),
    (GOOD_X, [0.0, np.nan, 1.0, 0.0], ValueError, r"y must hold only finite labels; got NaN or inf"),
    (GOOD_X, [0.0, np.inf, 1.0, 0.0], ValueError, r"y must hold only finite labels; got NaN or inf"),
    ([0.0, 1.0, 2.0, 3.0], GOOD_Y, ValueError, r"X must be 2-D \(n_samples, n_features\); got shape \(4,\); Reshape your data: use X"),  # noqa: E501
    (np.zeros((4, 2, 1)), GOOD_Y, ValueError, r"X must be 2-D \(n_samples, n_features\); got shape \(4, 2, 1\)"),
    (GOOD_X, [0, 1, 1], ValueError, r"X and y must have the same number of samples; got 4 rows in X and 3 in y"),
    (GOOD_X, np.zeros((4, 2)), ValueError, r"y must be 1-D \(n_samples,\); got shape \(4, 2\)"),
    (GOOD_X, [1, 1, 1, 1], ValueError, r"y must contain at least two classes to train a classifier; got only one class, \[1\]"),  # noqa: E501
    (np.zeros((0, 2)), [], ValueError, r"X must hold at least one sample; got shape \(0, 2\)"),
    (None, GOOD_Y, TypeError, r"X must be an array of numbers; got None"),
    ([["a", "b"]] * 4, GOOD_Y, TypeError, r"X must be an array of numbers; got \[\['a', 'b'\]"),
    (GOOD_X, None, ValueError, r"y must be a 1-D array of labels; got None \(this estimator requires y to be passed"),
])
def test_fit_rejects_bad_data(X, y, error, message):
    with pytest.raises(error, match=message):
        MLPClassifier((3,), max_iter=2).fit(X, y)


@pytest.mark.parametrize("params, error, message", [
    ({"hidden_layer_sizes": (3, 0)}, ValueError, r"hidden_layer_sizes must be > 0, got \(3, 0\)"),
    ({"hidden_layer_sizes": -2}, ValueError, r"hidden_layer_sizes must be > 0, got -2"),
    ({"hidden_layer_sizes": (2.5,)}, TypeError, r"hidden_layer_sizes must hold positive ints; got \(2.5,\)"),
    ({"hidden_layer_sizes": "big"}, TypeError, r"hidden_layer_sizes must hold positive ints; got 'big'"),
    ({"hidden_layer_sizes": None}, TypeError, r"hidden_layer_sizes must be a tuple of positive ints; got None"),
    ({"activation": "softmax"}, ValueError, r"Unknown activation 'softmax'; choose from \['identity', 'logistic'"),
    ({"activation": "Relu"}, ValueError, r"Unknown activation 'Relu'; choose from"),
    ({"solver": "adam"}, ValueError, r"Unknown solver 'adam'; choose from \['sgd'\]"),
    ({"dtype": "float16"}, ValueError, r"Unknown dtype 'float16'; choose from \['float32', 'float64'\]"),
    ({"dtype": "banana"}, ValueError, r"Unknown dtype 'banana'; choose from \['float32', 'float64'\]"),
    ({"learning_rate_init": 0.0}, ValueError, r"learning_rate_init must be a finite number > 0; got 0.0"),
    ({"learning_rate_init": -0.1}, ValueError, r"learning_rate_init must be a finite number > 0; got -0.1"),
    ({"learning_rate_init": np.nan}, ValueError, r"learning_rate_init must be a finite number > 0; got nan"),
    ({"learning_rate_init": "0.1"}, TypeError, r"learning_rate_init must be a positive number; got '0.1' \(str\)"),
    ({"max_iter": 0}, ValueError, r"max_iter must be > 0; got 0"),
    ({"max_iter": 10.0}, TypeError, r"max_iter must be a positive integer; got 10.0 \(float\)"),
    ({"batch_size": 0}, ValueError, r"batch_size must be > 0; got 0"),
    ({"batch_size": -5}, ValueError, r"batch_size must be > 0; got -5"),
    ({"batch_size": "auto"}, TypeError, r"batch_size must be a positive integer; got 'auto' \(str\)"),
    ({"alpha": -1e-4}, ValueError, r"alpha must be a finite number >= 0; got -0.0001"),
    ({"alpha": np.inf}, ValueError, r"alpha must be a finite number >= 0; got inf"),
    ({"tol": -1.0}, ValueError, r"tol must be a finite number >= 0; got -1.0"),
    ({"n_iter_no_change": 0}, ValueError, r"n_iter_no_change must be > 0; got 0"),
    ({"momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\); got 1.0"),
    ({"momentum": -0.5}, ValueError, r"momentum must be a finite number >= 0; got -0.5"),
])
def test_fit_rejects_bad_settings(params, error, message):
    with pytest.raises(error, match=message):
        MLPClassifier(**{"max_iter": 2, **params}).fit(GOOD_X, GOOD_Y)


@pytest.mark.parametrize("coefs_init, intercepts_init, message", [
    ([np.zeros((2, 3)), np.zeros((2, 2))], None, r"coefs_init\[1\] must have shape \(3, 2\); got shape \(2, 2\)"),
    ([np.zeros((3, 2)), np.zeros((3, 2))], None, r"coefs_init\[0\] must have shape \(2, 3\); got shape \(3, 2\)"),
    ([np.zeros((2, 3))], None, r"coefs_init must be a list of 2 arrays \(one per layer\); got 1"),
    ([np.zeros((2, 3)), np.zeros((3, 2)), np.zeros((2, 2))], None, r"coefs_init must be a list of 2 arrays"),
    (None, [np.zeros(3), np.zeros(3)], r"intercepts_init\[1\] must have shape \(2,\); got shape \(3,\)"),
    (None, [np.zeros((3, 1)), np.zeros(2)], r"intercepts_init\[0\] must have shape \(3,\); got shape \(3, 1\)"),
    (None, [np.zeros(3)], r"intercepts_init must be a list of 2 arrays \(one per layer\); got 1"),
    ([np.full((2, 3), np.nan), np.zeros((3, 2))], None, r"coefs_init\[0\] must hold only finite numbers"),
    ([np.zeros(6), np.zeros((3, 2))], None, r"coefs_init\[0\] must have shape \(2, 3\); got shape \(6,\)"),
    ([np.zeros((0, 3)), np.zeros((3, 2))], None, r"coefs_init\[0\] must have shape \(2, 3\); got shape \(0, 3\)"),
])
def test_fit_rejects_initial_weights_of_the_wrong_shape(coefs_init, intercepts_init, message):
    with pytest.raises(ValueError, match=message):
        MLPClassifier((3,), max_iter=2, coefs_init=coefs_init, intercepts_init=intercepts_init).fit(GOOD_X, GOOD_Y)


def test_predict_before_fit():
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError, match=r"This MLPClassifier is not fitted yet; call fit\(X, y\)"):
            getattr(MLPClassifier(), method)(GOOD_X)


@pytest.mark.parametrize("X, message", [
    (np.zeros((3, 3)), r"X has 3 features, but MLPClassifier is expecting 2 features as input"),
    (np.zeros(2), r"X must be 2-D \(n_samples, n_features\); got shape \(2,\); Reshape your data"),
    ([[np.nan, 0.0]], r"X must hold only finite numbers; got 1 NaN or inf value\(s\)"),
])
def test_predict_rejects_bad_data(X, message):
    model = MLPClassifier((3,), max_iter=2, random_state=0).fit(GOOD_X, GOOD_Y)
    for method in ("predict", "predict_proba"):
        with pytest.raises(ValueError, match=message):
            getattr(model, method)(X)


# Full batches: the loss grows past a million times its start while still finite (a cross-entropy grows only
# linearly in the logits). One sample per step: it overflows to NaN within the first epoch.
@pytest.mark.parametrize("batch_size, how", [(None, "grew from"), (32, "grew from"), (1, "became nan")])
def test_diverging_run_raises_divergence_error_without_warnings(batch_size, how):
    X, y = load_wine(return_X_y=True)  # unscaled: proline is in the hundreds and thousands
    model = MLPClassifier(learning_rate_init=1e6, batch_size=batch_size, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning (overflow, invalid value) would fail here
        with pytest.raises(nnlib.DivergenceError,
                           match=rf"diverged at epoch \d+: the loss {how}.* try a smaller learning_rate_init "
                                 r"\(now 1000000.0\), e.g. 100000"):
            model.fit(X, y)
    assert issubclass(nnlib.DivergenceError, ArithmeticError)


def test_a_sane_run_on_scaled_wine_does_not_diverge():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = MLPClassifier((13,), learning_rate_init=0.1, max_iter=100, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.95
