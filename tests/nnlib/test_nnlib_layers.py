"""nnlib.layers: Dense and Network gradients against finite differences, the objective by hand, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_nnlib_losses import targets

import nnlib
from nnlib import ACTIVATIONS, LOSSES, Dense, Network, one_hot
from nnlib.gradcheck import numerical_gradient, rel_error

FAST = settings(max_examples=30, deadline=None)


def dense_gradients(layer, X, dA):
    """Backpropagated (dX, dW, db) of f = sum(dA * layer.forward(X)), and the same by centred differences."""
    layer.forward(X)
    dX = layer.backward(dA)
    analytic = {"X": dX, "W": layer.dW.copy()}
    f = lambda _: np.sum(dA * layer.forward(X))  # noqa: E731
    numeric = {"X": numerical_gradient(f, X), "W": numerical_gradient(f, layer.W)}
    if layer.b is not None:
        analytic["b"] = layer.db.copy()
        numeric["b"] = numerical_gradient(f, layer.b)
    return analytic, numeric


def network_gradients(network, X, Y):
    """Backpropagated gradients of every parameter, and the same by centred differences of the objective."""
    network.loss_and_gradients(X, Y)
    analytic = {name: grad.copy() for name, _, grad in network.parameters()}
    numeric = {name: numerical_gradient(lambda _: network.objective(X, Y), value)
               for name, value, _ in network.parameters()}
    return analytic, numeric


# -- gradients -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_dense_gradients_match_finite_differences(activation, use_bias, rng):
    layer = Dense(3, 4, activation, use_bias=use_bias, random_state=0)
    X = rng.standard_normal((5, 3))
    dA = rng.standard_normal((5, 4))
    analytic, numeric = dense_gradients(layer, X, dA)
    assert analytic["X"].shape == X.shape and analytic["W"].shape == (3, 4)
    for name in analytic:
        assert rel_error(analytic[name], numeric[name]) < 1e-7, name


@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
def test_network_gradients_match_finite_differences(hidden, loss, alpha, rng):
    n_out = 1 if loss == "binary_cross_entropy" else 3
    network = Network([Dense(2, 4, hidden, random_state=1), Dense(4, n_out, random_state=2)], loss=loss, alpha=alpha)
    X = rng.standard_normal((4, 2))
    Y = targets(loss, rng, 4, n_out)
    analytic, numeric = network_gradients(network, X, Y)
    for name in analytic:
        assert rel_error(analytic[name], numeric[name]) < 1e-7, name


# Random shapes. The comparison is entrywise, rtol 1e-7 with an absolute floor of 1e-9: centred differences carry
# a round-off of about 1e-11, which would dominate a purely relative error on entries that happen to be tiny.
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 6), st.sampled_from(sorted(ACTIVATIONS)),
       st.booleans(), st.integers(0, 2**32 - 1))
@FAST
def test_dense_gradients_for_random_sizes(n_in, n_out, n_samples, activation, use_bias, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, activation, use_bias=use_bias, random_state=rng)
    X = rng.standard_normal((n_samples, n_in))
    dA = rng.standard_normal((n_samples, n_out))
    analytic, numeric = dense_gradients(layer, X, dA)
    for name in analytic:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-7, atol=1e-9, err_msg=name)


@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.integers(1, 6),
       st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=3, max_size=3), st.sampled_from(sorted(LOSSES)),
       st.sampled_from([0.0, 0.01, 1.0]), st.integers(0, 2**32 - 1))
@FAST
def test_network_gradients_for_random_sizes(sizes, n_samples, activations, loss, alpha, seed):
    rng = np.random.default_rng(seed)
    if loss == "binary_cross_entropy":
        sizes[-1] = 1
    kinds = activations[: len(sizes) - 2] + ["identity"]
    network = Network([Dense(a, b, g, random_state=rng) for a, b, g in zip(sizes[:-1], sizes[1:], kinds)],
                      loss=loss, alpha=alpha)
    X = rng.standard_normal((n_samples, sizes[0]))
    Y = targets(loss, rng, n_samples, sizes[-1])
    analytic, numeric = network_gradients(network, X, Y)
    for name in analytic:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-7, atol=1e-9, err_msg=name)


# -- values by hand --------------------------------------------------------------------------------------------------

def test_forward_and_objective_by_hand():
    layer = Dense(2, 1, "identity").set_weights([[2.0], [-1.0]], [0.5])
    network = Network([layer], loss="squared_error", alpha=0.4)
    X = np.array([[1.0, 1.0], [0.0, 2.0]])
    Y = np.array([[1.0], [0.0]])
    np.testing.assert_array_equal(network.forward(X), [[1.5], [-1.5]])
    # mean squared error (0.25 + 2.25) / 2, plus alpha / (2 n) * (4 + 1) = 0.4 / 4 * 5; biases are not penalised
    assert network.objective(X, Y) == pytest.approx(1.25 + 0.5, rel=1e-15)
    assert network.loss_and_gradients(X, Y) == pytest.approx(1.75, rel=1e-15)
    # dZ = (2/n)(out - y) = [0.5, -1.5];  dJ/dW = X^T dZ + (alpha/n) W = [[0.5], [0.5 - 3]] + [[0.4], [-0.2]];
    # dJ/db = 0.5 - 1.5
    np.testing.assert_allclose(layer.dW, [[0.9], [-2.7]], rtol=1e-15)
    np.testing.assert_allclose(layer.db, [-1.0], rtol=1e-15)


def test_one_gradient_step_by_hand():
    network = Network([Dense(1, 1).set_weights([[1.0]], [0.0])], loss="squared_error")
    history = network.fit([[1.0]], [[3.0]], learning_rate=0.25, epochs=2)
    # J = (w + b - 3)^2: 4, then w and b each move by 0.25 * 2 * 2 = 1 -> w + b = 3 and J = 0
    assert history == [4.0, 0.0]
    assert network.layers[0].W[0, 0] == 2.0 and network.layers[0].b[0] == 1.0


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array(["b", "a", "c", "a"])), np.eye(3)[[1, 0, 2, 0]])
    np.testing.assert_array_equal(one_hot([2, 0], classes=[0, 1, 2]), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"y holds labels not in classes \[0, 1\]: \[5\]"):
        one_hot([0, 5], classes=[0, 1])


def test_set_weights_copies_and_checks():
    layer = Dense(2, 3)
    W = np.ones((2, 3))
    layer.set_weights(W, np.zeros(3))
    W[0, 0] = 7.0
    assert layer.W[0, 0] == 1.0
    with pytest.raises(ValueError, match=r"W must have shape \(2, 3\); got shape \(3, 2\)"):
        layer.set_weights(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"b must have shape \(3,\); got shape \(2,\)"):
        layer.set_weights(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match=r"b was given, but this layer was made with use_bias=False"):
        Dense(2, 3, use_bias=False).set_weights(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"W must hold only finite numbers; got 1 NaN or inf"):
        layer.set_weights([[np.nan, 0, 0], [0, 0, 0]])


def test_float32_layer_stays_float32(rng):
    network = Network([Dense(3, 4, "tanh", dtype=np.float32, random_state=0), Dense(4, 2, dtype=np.float32)])
    X = rng.standard_normal((5, 3))
    network.fit(X, np.eye(2)[[0, 1, 0, 1, 1]], learning_rate=0.1, epochs=3)
    assert all(value.dtype == np.float32 for _, value, _ in network.parameters())


# -- bad input -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_in, n_out, error, message", [
    (0, 3, ValueError, r"n_in must be > 0; got 0"),
    (2, -1, ValueError, r"n_out must be > 0; got -1"),
    (2.0, 3, TypeError, r"n_in must be a positive integer; got 2.0 \(float\)"),
    (True, 3, TypeError, r"n_in must be a positive integer; got True \(bool\)"),
])
def test_dense_rejects_bad_sizes(n_in, n_out, error, message):
    with pytest.raises(error, match=message):
        Dense(n_in, n_out)


def test_dense_rejects_unknown_activation():
    with pytest.raises(ValueError, match=r"Unknown activation 'sigmiod'; choose from \["):
        Dense(2, 3, "sigmiod")


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match=r"Dense.backward was called before forward"):
        Dense(2, 3).backward(np.ones((1, 3)))


def test_network_rejects_bad_layers():
    with pytest.raises(TypeError, match=r"layers must be a non-empty list of Dense layers; got \[\]"):
        Network([])
    with pytest.raises(TypeError, match=r"layers must be a non-empty list of Dense layers"):
        Network([Dense(2, 3), "relu"])
    with pytest.raises(ValueError, match=r"layers\[0\] has 3 outputs but layers\[1\] expects 4 inputs"):
        Network([Dense(2, 3), Dense(4, 1)])
    with pytest.raises(ValueError, match=r"Unknown loss 'hinge'; choose from \["):
        Network([Dense(2, 3)], loss="hinge")
    with pytest.raises(ValueError, match=r"alpha must be a finite number >= 0; got -0.1"):
        Network([Dense(2, 3)], alpha=-0.1)


@pytest.fixture
def small_network():
    return Network([Dense(3, 4, "tanh", random_state=0), Dense(4, 1)], loss="squared_error")


@pytest.mark.parametrize("X, Y, error, message", [
    ([[0, 0, np.nan]] * 4, [[0.0]] * 4, ValueError, r"X must hold only finite numbers; got 4 NaN or inf value\(s\)"),
    ([[0, 0, 1]] * 4, [[0.0], [np.inf], [0.0], [1.0]], ValueError, r"Y must hold only finite numbers; got 1 NaN"),
    ([0, 0, 1], [[0.0]] * 3, ValueError, r"X must be 2-D \(n_samples, n_features\); got shape \(3,\); Reshape your data: use X.reshape"),  # noqa: E501
    ([[[0, 0, 1]]] * 4, [[0.0]] * 4, ValueError, r"X must be 2-D \(n_samples, n_features\); got shape \(4, 1, 3\)"),
    ([[0, 0, 1]] * 4, [[0.0]] * 3, ValueError, r"X and Y must have the same number of samples; got 4 and 3"),
    (np.zeros((0, 3)), np.zeros((0, 1)), ValueError, r"X must hold at least one sample; got shape \(0, 3\)"),
    ([[0, 1]] * 4, [[0.0]] * 4, ValueError, r"X has 2 features, but layers\[0\] expects 3 inputs"),
    ([[0, 0, 1]] * 4, [0.0] * 4, ValueError, r"Y must have shape \(4, 1\), .*; got shape \(4,\) \(use y.reshape"),
    ([[0, 0, 1]] * 4, [[0.0, 1.0]] * 4, ValueError, r"Y must have shape \(4, 1\), .*; got shape \(4, 2\)"),
    ("abc", [[0.0]], TypeError, r"X must be an array of numbers; got the string 'abc'"),
])
def test_network_fit_rejects_bad_data(small_network, X, Y, error, message):
    with pytest.raises(error, match=message):
        small_network.fit(X, Y)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"learning_rate": 0}, ValueError, r"learning_rate must be a finite number > 0; got 0"),
    ({"learning_rate": -1.0}, ValueError, r"learning_rate must be a finite number > 0; got -1.0"),
    ({"learning_rate": np.inf}, ValueError, r"learning_rate must be a finite number > 0; got inf"),
    ({"learning_rate": "fast"}, TypeError, r"learning_rate must be a positive number; got 'fast' \(str\)"),
    ({"epochs": 0}, ValueError, r"epochs must be > 0; got 0"),
    ({"epochs": 10.0}, TypeError, r"epochs must be a positive integer; got 10.0 \(float\)"),
])
def test_network_fit_rejects_bad_settings(small_network, kwargs, error, message):
    X, y = nnlib.datasets.three_input_example()
    with pytest.raises(error, match=message):
        small_network.fit(X, y, **kwargs)


@pytest.mark.parametrize("loss, n_out, rate, message", [
    ("squared_error", 1, 1e8, r"the loss grew from .* learning_rate \(now 100000000.0\), e.g. 1e\+07"),
    ("categorical_cross_entropy", 2, 1e8, r"the loss grew from .* learning_rate \(now 100000000.0\), e.g. 1e\+07"),
    ("squared_error", 1, 1e300, r"the loss became inf.* learning_rate \(now 1e\+300\), e.g. 1e\+299"),  # overflows
])
def test_network_fit_with_a_huge_rate_raises_divergence_error(loss, n_out, rate, message):
    X, y = nnlib.datasets.three_input_example()
    Y = np.hstack([y, 1 - y])[:, :n_out]
    network = Network([Dense(3, 4, "tanh", random_state=0), Dense(4, n_out, random_state=1)], loss=loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (overflow, invalid value) on the way
        with pytest.raises(nnlib.DivergenceError, match=r"Training diverged at epoch \d+: " + message):
            network.fit(X * 100, Y, learning_rate=rate, epochs=200)
