"""nnlib's estimators as scikit-learn citizens: scikit-learn's own estimator checks, one not-fitted error, one name
for the per-epoch loss and the epoch limit, and saving and loading with pickle, joblib and skops."""

import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnlib import MLPClassifier, MLPRegressor, Perceptron, SigmoidNeuron


# Every check of scikit-learn's check_estimator, one test each (about 55 per estimator), on the default settings.
@parametrize_with_checks([MLPClassifier(), MLPRegressor(), Perceptron()])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def fitted_models(iris):
    """One fitted model of each kind (names for the test ids), on the standardised iris data: fitted once for the
    module (saving and loading leave a model as it was, so the tests can share them)."""
    X, y = iris
    binary = (y == 0).astype(int)
    two_targets = np.column_stack([X[:, 0] + X[:, 1], X[:, 2] * X[:, 3]])
    return {
        "MLPClassifier": (MLPClassifier((6,), max_iter=30, random_state=0).fit(X, y), X),
        "MLPClassifier float32 minibatches": (
            MLPClassifier((6, 4), batch_size=32, dtype="float32", momentum=0.5, max_iter=10, random_state=1)
            .fit(X, y), X),
        "MLPRegressor": (MLPRegressor((6,), max_iter=40, random_state=0).fit(X[:, :3], X[:, 3]), X[:, :3]),
        "MLPRegressor two targets": (MLPRegressor((5,), activation="tanh", max_iter=40, random_state=0)
                                     .fit(X, two_targets), X),
        "Perceptron": (Perceptron(max_iter=20).fit(X, binary), X),
        "pipeline": (make_pipeline(StandardScaler(), MLPClassifier((6,), max_iter=30, random_state=0)).fit(X, y), X),
        "SigmoidNeuron": (SigmoidNeuron(max_iter=50, random_state=0).fit(X, binary), X),
    }


PREDICTING = ("predict", "predict_proba", "decision_function")
NAMES = ["MLPClassifier", "MLPClassifier float32 minibatches", "MLPRegressor", "MLPRegressor two targets",
         "Perceptron", "pipeline", "SigmoidNeuron"]


def assert_same_predictions(loaded, original, X):
    methods = [name for name in PREDICTING if hasattr(original, name)]
    assert "predict" in methods
    for name in methods:
        np.testing.assert_array_equal(getattr(loaded, name)(X), getattr(original, name)(X))


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip(fitted_models, name):
    model, X = fitted_models[name]
    assert_same_predictions(pickle.loads(pickle.dumps(model)), model, X)


@pytest.mark.parametrize("name", NAMES)
def test_joblib_round_trip(fitted_models, name, tmp_path):
    model, X = fitted_models[name]
    joblib.dump(model, tmp_path / "model.joblib")
    assert_same_predictions(joblib.load(tmp_path / "model.joblib"), model, X)


# The types a skops file holds beyond NumPy's and scikit-learn's, which a reader must trust by name to load it.
NNLIB_TYPES = {"nnlib.layers.Dense", "nnlib.layers.Network"}


@pytest.mark.parametrize("name", NAMES)
def test_skops_round_trip(fitted_models, name, tmp_path):
    model, X = fitted_models[name]
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = set(sio.get_untrusted_types(file=path))
    # only nnlib's own classes need trust: no function, no lambda, nothing a file could run
    assert untrusted and all(t.startswith("nnlib.") for t in untrusted)
    assert untrusted <= NNLIB_TYPES | {f"nnlib.mlp.{n}" for n in ("MLPClassifier", "MLPRegressor")} | {
        "nnlib.perceptron.Perceptron", "nnlib.neuron.SigmoidNeuron"}
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)  # skops refuses what nobody trusted
    assert_same_predictions(sio.load(path, trusted=sorted(untrusted)), model, X)


def test_a_saved_network_holds_no_training_data(fitted_models):
    """A layer keeps the last batch for its backward pass; a saved model leaves it out (smaller, and private)."""
    model, _ = fitted_models["MLPClassifier"]
    assert model.network_.layers[0]._cache is not None  # held after training
    loaded = pickle.loads(pickle.dumps(model))
    assert all(layer._cache is None for layer in loaded.network_.layers)
    assert loaded.network_.loss.name == "categorical_cross_entropy"
    assert [layer.activation.name for layer in loaded.network_.layers] == ["relu", "identity"]


def test_a_model_saved_with_joblib_loads_in_a_fresh_process(fitted_models, tmp_path):
    model, X = fitted_models["pipeline"]
    joblib.dump(model, tmp_path / "model.joblib")
    np.save(tmp_path / "X.npy", X)
    code = ("import joblib, numpy as np; m = joblib.load('model.joblib'); "
            "np.save('p.npy', m.predict_proba(np.load('X.npy')))")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.predict_proba(X))


MODELS = [MLPClassifier, MLPRegressor, Perceptron, SigmoidNeuron]


@pytest.mark.parametrize("cls", MODELS)
def test_one_not_fitted_error_for_every_model(cls, iris):
    X, _ = iris
    method = "predict_proba" if cls is SigmoidNeuron else "predict"
    with pytest.raises(NotFittedError, match=rf"This {cls.__name__} is not fitted yet; call fit\(X, y\) before"):
        getattr(cls(), method)(X)


@pytest.mark.parametrize("cls", MODELS)
def test_one_name_for_the_epoch_limit_and_the_loss_curve(cls, iris):
    X, y = iris
    y = (y == 0).astype(int) if cls in (Perceptron, SigmoidNeuron) else y
    model = cls(max_iter=7)
    if hasattr(model, "n_iter_no_change"):
        model.set_params(n_iter_no_change=7)
    model.fit(X, y)
    assert not hasattr(model, "n_iter") and not hasattr(model, "errors_") or cls is Perceptron
    assert model.n_iter_ == len(model.loss_curve_) <= 7
    assert all(np.isfinite(model.loss_curve_))


@pytest.mark.parametrize("cls", [MLPClassifier, Perceptron])
def test_a_classifier_refuses_a_continuous_target(cls):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.uniform(0, 10, 30)  # 30 distinct floats: a regression target
    with pytest.raises(ValueError, match=r"Unknown label type: continuous\. y must hold class labels .*got 30 "
                                         r"distinct numbers, not all whole.*use a regressor \(nnlib\.MLPRegressor\)"):
        cls().fit(X, y)


@pytest.mark.parametrize("cls", [MLPClassifier, Perceptron])
def test_whole_floats_are_class_labels(cls):
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.1, 0.0], [0.9, 1.0]])
    model = cls(max_iter=50).fit(X, np.array([0.0, 1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(model.classes_, [0.0, 1.0])


def test_a_column_vector_y_warns_as_in_scikit_learn(iris):
    from sklearn.exceptions import DataConversionWarning

    X, y = iris
    with pytest.warns(DataConversionWarning, match=r"A column-vector y was passed when a 1d array was expected"):
        model = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y.reshape(-1, 1))
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
