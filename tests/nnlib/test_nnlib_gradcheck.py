"""nnlib.gradcheck on functions whose gradients are known by hand, and its power to catch a wrong backward pass."""

import numpy as np
import pytest

from nnlib import ACTIVATIONS, Dense, Network
from nnlib.gradcheck import check_network_gradients, numerical_gradient, rel_error


def test_numerical_gradient_of_known_functions(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v**2), x), 2 * x, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(np.sin(v)), x), np.cos(x), rtol=1e-8, atol=1e-11)
    A = rng.standard_normal((5, 5))
    v = rng.standard_normal(5)
    np.testing.assert_allclose(numerical_gradient(lambda u: u @ A @ u, v), (A + A.T) @ v, rtol=1e-8, atol=1e-10)
    # a linear function is differentiated exactly up to round-off, whatever h
    np.testing.assert_allclose(numerical_gradient(lambda u: 3.0 * u[0] - 2.0 * u[1], np.zeros(2), h=0.5), [3, -2])


def test_numerical_gradient_restores_x_and_reads_it_through_a_closure(rng):
    x = rng.standard_normal(6)
    before = x.copy()
    grad = numerical_gradient(lambda _: np.sum(x**3), x)  # reads x itself, not the argument
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-8)


def test_numerical_gradient_bad_input():
    with pytest.raises(TypeError, match=r"x must be a float ndarray .*; got list"):
        numerical_gradient(np.sum, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"x must be a float ndarray .*; got ndarray"):
        numerical_gradient(np.sum, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"h must be a finite number > 0; got 0"):
        numerical_gradient(np.sum, np.zeros(2), h=0)


def test_rel_error_basics():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error([1.0], [-1.0]) == 1.0
    assert rel_error([1.0, 100.0], [1.1, 100.0]) == pytest.approx(0.1 / 2.1, rel=1e-12)  # the worst entry
    assert rel_error(np.array([[2.0]]), np.array([[2.0 + 2e-7]])) == pytest.approx(5e-8, rel=1e-6)
    assert rel_error([], []) == 0.0
    with pytest.raises(ValueError, match=r"a and b must have the same shape; got \(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


# Small networks and few samples: the relative error is taken entry by entry, and a tiny entry (a saturated unit)
# would let the round-off of the differences (about 1e-11) dominate it.
@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
def test_check_network_gradients_on_every_hidden_activation(hidden, rng):
    network = Network([Dense(3, 4, hidden, random_state=1), Dense(4, 3, random_state=2)], alpha=0.3)
    X = rng.standard_normal((4, 3))
    Y = np.eye(3)[rng.integers(0, 3, 4)]
    errors = check_network_gradients(network, X, Y)
    assert set(errors) == {"layers[0].W", "layers[0].b", "layers[1].W", "layers[1].b"}
    assert max(errors.values()) < 1e-7, errors


def test_check_network_gradients_on_a_network_of_every_activation(rng):
    chain = ["tanh", "logistic", "relu", "identity", "softmax"]
    layers = [Dense(3, 3, name, random_state=i) for i, name in enumerate(chain)] + [Dense(3, 2, random_state=9)]
    network = Network(layers, alpha=0.5)
    X = rng.standard_normal((3, 3))
    Y = np.eye(2)[[0, 1, 1]]
    errors = check_network_gradients(network, X, Y)
    assert len(errors) == 2 * len(layers)
    assert max(errors.values()) < 1e-7, errors


def test_check_network_gradients_detects_a_wrong_dX(rng, monkeypatch):
    network = Network([Dense(3, 4, "tanh", random_state=1), Dense(4, 2, random_state=2)], alpha=0.1)
    X = rng.standard_normal((5, 3))
    Y = np.eye(2)[[0, 1, 1, 0, 0]]
    last = network.layers[1]
    right_backward = last.backward
    monkeypatch.setattr(last, "backward", lambda dA, need_dX=True: 1.5 * right_backward(dA, need_dX))
    errors = check_network_gradients(network, X, Y)
    assert errors["layers[0].W"] > 1e-2 and errors["layers[0].b"] > 1e-2
    assert errors["layers[1].W"] < 1e-7  # the last layer's own gradients are still right


def test_check_network_gradients_detects_a_wrong_dW(rng, monkeypatch):
    network = Network([Dense(3, 4, "relu", random_state=1), Dense(4, 2, random_state=2)])
    X = rng.standard_normal((5, 3))
    Y = np.eye(2)[[0, 1, 1, 0, 0]]
    first = network.layers[0]
    right_backward = first.backward

    def forgets_the_transpose(dA, need_dX=True):
        dX = right_backward(dA, need_dX)
        first.dW[...] = first.dW[::-1]  # rows in the wrong order: the kind of slip a learner makes
        return dX

    monkeypatch.setattr(first, "backward", forgets_the_transpose)
    errors = check_network_gradients(network, X, Y)
    assert errors["layers[0].W"] > 1e-2
    assert errors["layers[0].b"] < 1e-7
