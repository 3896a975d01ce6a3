"""nnlib.losses: values against scikit-learn and hand formulas, gradients against finite differences, stability."""

import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss, mean_squared_error

from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.losses import LOSSES, get_loss

FAST = settings(max_examples=40, deadline=None)


def targets(name, rng, n_samples, n_outputs):
    """Valid targets for each loss: real values, 0/1, or one-hot rows."""
    if name in ("squared_error", "half_squared_error"):
        return rng.standard_normal((n_samples, n_outputs))
    if name == "binary_cross_entropy":
        return rng.integers(0, 2, (n_samples, n_outputs)).astype(float)
    return np.eye(n_outputs)[rng.integers(0, n_outputs, n_samples)]


def gradient_of(loss, method, y, output):
    """The gradient by ``loss.gradient`` or, where the table offers it, by the fused ``value_and_gradient``."""
    if method == "gradient":
        return loss.gradient(y, output)
    if not hasattr(loss, method):
        pytest.skip(f"Loss has no {method}")
    value, grad = loss.value_and_gradient(y, output)
    assert value == pytest.approx(loss.function(y, output), rel=1e-12)
    return grad


def test_table_names():
    assert set(LOSSES) == {"squared_error", "half_squared_error", "binary_cross_entropy", "categorical_cross_entropy"}
    for name, loss in LOSSES.items():
        assert get_loss(name) is loss and loss.name == name


def test_values_against_independent_references(rng):
    y = rng.standard_normal((6, 2))
    out = rng.standard_normal((6, 2))
    # mean over samples of the squared norm of the row difference
    assert LOSSES["squared_error"].function(y, out) == pytest.approx(
        sum(sum((o - t) ** 2 for o, t in zip(row_o, row_t)) for row_o, row_t in zip(out, y)) / 6, rel=1e-13)

    # scikit-learn's regression loss for one target: half the mean squared error
    y1, out1 = rng.standard_normal((7, 1)), rng.standard_normal((7, 1))
    assert LOSSES["half_squared_error"].function(y1, out1) == pytest.approx(
        mean_squared_error(y1, out1) / 2, rel=1e-13)

    z = rng.standard_normal(8) * 3
    labels = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    assert LOSSES["binary_cross_entropy"].function(labels, z) == pytest.approx(
        log_loss(labels, scipy.special.expit(z)), rel=1e-12)

    Z = rng.standard_normal((9, 3)) * 3
    classes = np.array([0, 1, 2, 2, 1, 0, 0, 2, 1])
    assert LOSSES["categorical_cross_entropy"].function(np.eye(3)[classes], Z) == pytest.approx(
        log_loss(classes, scipy.special.softmax(Z, axis=1)), rel=1e-12)


def test_one_sample_squared_error_is_chapter_2s_error():
    assert LOSSES["squared_error"].function(0.0, 0.87101915) == pytest.approx(0.87101915 ** 2, rel=1e-15)


@pytest.mark.parametrize("method", ["gradient", "value_and_gradient"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_matches_finite_differences(name, method, rng):
    loss = LOSSES[name]
    n_outputs = 1 if name == "binary_cross_entropy" else 3
    y = targets(name, rng, 3, n_outputs)
    output = rng.standard_normal((3, n_outputs))  # three samples of modest logits keep every entry well above the
    # round-off of the differences (about 1e-11), which would otherwise dominate the relative error of tiny entries
    numeric = numerical_gradient(lambda v: loss.function(y, v), output)
    analytic = gradient_of(loss, method, y, output)
    assert analytic.shape == output.shape
    assert rel_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("method", ["gradient", "value_and_gradient"])
def test_cross_entropy_gradients_are_probability_minus_target(method):
    """The famous forms, by hand: (sigmoid(z) - y) / n and (softmax(Z) - Y) / n."""
    z = np.array([[0.0], [np.log(3.0)]])
    y = np.array([[1.0], [0.0]])
    np.testing.assert_allclose(gradient_of(LOSSES["binary_cross_entropy"], method, y, z),
                               [[(0.5 - 1) / 2], [(0.75 - 0) / 2]], rtol=1e-14)
    Z = np.array([[0.0, np.log(3.0)]])
    np.testing.assert_allclose(gradient_of(LOSSES["categorical_cross_entropy"], method, np.array([[1.0, 0.0]]), Z),
                               [[0.25 - 1, 0.75]], rtol=1e-14)


@given(st.integers(1, 6), st.integers(1, 5), st.sampled_from(sorted(LOSSES)), st.integers(0, 2**32 - 1),
       st.floats(0.1, 1000))
@FAST
def test_losses_are_non_negative(n_samples, n_outputs, name, seed, scale):
    rng = np.random.default_rng(seed)
    y = targets(name, rng, n_samples, n_outputs)
    output = rng.standard_normal((n_samples, n_outputs)) * scale
    value = LOSSES[name].function(y, output)
    assert np.isfinite(value) and value >= 0


@pytest.mark.parametrize("method", ["gradient", "value_and_gradient"])
def test_cross_entropies_of_huge_logits_are_finite_without_warnings(method):
    z = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    y = np.array([[1.0], [0.0], [0.0], [1.0]])  # two right, two wrong by 1000
    Z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
    Y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # right, then wrong by 2000
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        bce = LOSSES["binary_cross_entropy"].function(y, z)
        bce_grad = gradient_of(LOSSES["binary_cross_entropy"], method, y, z)
        cce = LOSSES["categorical_cross_entropy"].function(Y, Z)
        cce_grad = gradient_of(LOSSES["categorical_cross_entropy"], method, Y, Z)
    assert bce == pytest.approx((0 + 0 + 1000 + 1000) / 4, rel=1e-15)
    np.testing.assert_allclose(bce_grad, [[0.0], [0.0], [0.25], [-0.25]], atol=1e-300)
    assert cce == pytest.approx((0 + 2000) / 2, rel=1e-15)
    np.testing.assert_allclose(cce_grad, [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], atol=1e-300)


@pytest.mark.parametrize("bad", ["cross_entropy", "mse", None])
def test_get_loss_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match=r"Unknown loss .*; choose from \['binary_cross_entropy'"):
        get_loss(bad)
