"""nnlib.activations: values against independent references, gradients against finite differences, properties.

The references are SciPy (``expit``, ``softmax``), the standard library's ``math`` and hand-written values; the
gradients are compared with centred differences (nnlib.gradcheck, itself tested in test_nnlib_gradcheck.py).
"""

import math
import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib.activations import ACTIVATIONS, get_activation, sigmoid, softmax, step
from nnlib.gradcheck import numerical_gradient, rel_error

FAST = settings(max_examples=40, deadline=None)
ELEMENTWISE = sorted(name for name, act in ACTIVATIONS.items() if act.derivative is not None)


def away_from_zero(rng, shape):
    """Random values with |z| in [0.1, 2]: far from the kinks of step and relu at 0, where h = 1e-5 would cross."""
    return rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def shapes(max_rows=6, max_cols=6):
    """Shapes (n_samples, n_units) of a batch of pre-activations."""
    return st.tuples(st.integers(1, max_rows), st.integers(1, max_cols))


# -- values ----------------------------------------------------------------------------------------------------------

def test_table_names():
    assert set(ACTIVATIONS) == {"identity", "step", "logistic", "sigmoid", "tanh", "relu", "softmax"}
    assert ACTIVATIONS["sigmoid"] is ACTIVATIONS["logistic"]
    assert ACTIVATIONS["softmax"].derivative is None  # its Jacobian is not diagonal
    for name, activation in ACTIVATIONS.items():
        assert get_activation(name) is activation
        assert activation.name in (name, "logistic")


def test_values_by_hand():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(ACTIVATIONS["step"].function(z), [0, 0, 1, 1, 1])  # step(0) = 1
    np.testing.assert_array_equal(ACTIVATIONS["relu"].function(z), [0, 0, 0, 0.5, 2.0])
    np.testing.assert_array_equal(ACTIVATIONS["identity"].function(z), z)
    assert sigmoid(0.0) == 0.5
    np.testing.assert_allclose(sigmoid(z), [1 / (1 + math.exp(-v)) for v in z], rtol=1e-15)
    np.testing.assert_allclose(ACTIVATIONS["tanh"].function(z), [math.tanh(v) for v in z], rtol=1e-15)
    np.testing.assert_allclose(softmax(np.array([[0.0, math.log(3.0)]])), [[0.25, 0.75]], rtol=1e-15)


def test_derivatives_by_hand():
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(ACTIVATIONS["logistic"].derivative(z),
                               [math.exp(-v) / (1 + math.exp(-v)) ** 2 for v in z], rtol=1e-14)
    np.testing.assert_allclose(ACTIVATIONS["tanh"].derivative(z), [1 / math.cosh(v) ** 2 for v in z], rtol=1e-14)
    np.testing.assert_array_equal(ACTIVATIONS["relu"].derivative(z), [0, 0, 1])  # 0 at z = 0 by convention
    np.testing.assert_array_equal(ACTIVATIONS["step"].derivative(z), [0, 0, 0])
    np.testing.assert_array_equal(ACTIVATIONS["identity"].derivative(z), [1, 1, 1])


@given(hnp.arrays(np.float64, shapes(), elements=st.floats(-700, 700)))
@FAST
def test_sigmoid_and_softmax_match_scipy(Z):
    np.testing.assert_allclose(sigmoid(Z), scipy.special.expit(Z), rtol=1e-12, atol=0)
    np.testing.assert_allclose(softmax(Z), scipy.special.softmax(Z, axis=1), rtol=1e-12, atol=1e-300)


# -- gradients: every entry of the table against finite differences ---------------------------------------------------

@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_backward_matches_finite_differences(name, rng):
    act = ACTIVATIONS[name]
    Z = away_from_zero(rng, (4, 3))
    dA = rng.standard_normal((4, 3))
    numeric = numerical_gradient(lambda v: np.sum(dA * act.function(v)), Z)
    analytic = act.backward(dA, Z, act.function(Z))
    assert analytic.shape == Z.shape
    assert rel_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_finite_differences(name, rng):
    act = ACTIVATIONS[name]
    Z = away_from_zero(rng, (4, 3))
    numeric = numerical_gradient(lambda v: act.function(v).sum(), Z)
    assert rel_error(act.derivative(Z), numeric) < 1e-7


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_backward_is_derivative_times_upstream(name, rng):
    act = ACTIVATIONS[name]
    Z = away_from_zero(rng, (5, 2))
    dA = rng.standard_normal((5, 2))
    np.testing.assert_allclose(act.backward(dA, Z, act.function(Z)), dA * act.derivative(Z), rtol=1e-12)


def test_softmax_backward_is_the_jacobian_product(rng):
    """The full Jacobian of one row, written out: d softmax_k / d z_j = p_k (delta_kj - p_j)."""
    z = rng.standard_normal(4)
    p = scipy.special.softmax(z)
    jacobian = np.diag(p) - np.outer(p, p)
    dA = rng.standard_normal(4)
    dZ = ACTIVATIONS["softmax"].backward(dA[None, :], z[None, :], softmax(z[None, :]))
    np.testing.assert_allclose(dZ[0], jacobian.T @ dA, rtol=1e-12, atol=1e-15)


# -- properties ------------------------------------------------------------------------------------------------------

@given(hnp.arrays(np.float64, shapes(), elements=st.floats(-1000, 1000)),
       st.floats(-100, 100))
@FAST
def test_softmax_rows_sum_to_one_and_ignore_a_shift(Z, shift):
    P = softmax(Z)
    assert P.shape == Z.shape
    assert np.all(np.isfinite(P)) and np.all(P >= 0) and np.all(P <= 1)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    row_shifts = shift * np.arange(1, Z.shape[0] + 1)[:, None] / Z.shape[0]  # a different constant per row
    np.testing.assert_allclose(softmax(Z + row_shifts), P, rtol=1e-9, atol=1e-15)


@given(hnp.arrays(np.float64, shapes(), elements=st.floats(-30, 30)))
@FAST
def test_sigmoid_is_strictly_between_0_and_1_and_symmetric(Z):
    A = sigmoid(Z)
    assert np.all(A > 0) and np.all(A < 1)
    np.testing.assert_allclose(sigmoid(-Z), 1.0 - A, rtol=1e-12, atol=1e-15)


@given(hnp.arrays(np.float64, shapes(), elements=st.floats(-1e4, 1e4)))
@FAST
def test_elementwise_ranges(Z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = sigmoid(Z)
        T = ACTIVATIONS["tanh"].function(Z)
    assert np.all((A >= 0) & (A <= 1))
    assert np.all((T >= -1) & (T <= 1))
    np.testing.assert_array_equal(ACTIVATIONS["tanh"].function(-Z), -T)
    assert np.all(ACTIVATIONS["relu"].function(Z) >= 0)
    assert set(np.unique(step(Z))) <= {0.0, 1.0}


# -- numerical stability ---------------------------------------------------------------------------------------------

def test_sigmoid_and_softmax_of_huge_inputs_are_finite_without_warnings():
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 1000.0], [-1000.0, -1000.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        A = sigmoid(Z)
        P = softmax(Z)
        dZ = ACTIVATIONS["logistic"].backward(np.ones_like(Z), Z, A)
    np.testing.assert_array_equal(A, [[1, 0], [0, 1], [1, 1], [0, 0]])
    np.testing.assert_array_equal(P, [[1, 0], [0, 1], [0.5, 0.5], [0.5, 0.5]])
    assert np.all(np.isfinite(dZ))


def test_sigmoid_keeps_float32():
    assert sigmoid(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert softmax(np.zeros((2, 3), dtype=np.float32)).dtype == np.float32


# -- bad input -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["swish", "Tanh", "", None, 3])
def test_get_activation_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match=r"Unknown activation .*; choose from \['identity', 'logistic'"):
        get_activation(bad)
