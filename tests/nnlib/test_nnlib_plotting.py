"""nnlib.plotting: each function returns the axes it drew on, and rejects bad input with a clear message."""

import matplotlib

matplotlib.use("Agg")  # no display in the test run

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnlib import plotting  # noqa: E402
from nnlib.datasets import truth_table  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def predict_and(points):
    return (points.sum(axis=1) > 1.5).astype(int)


def test_plots_return_the_axes_they_drew_on():
    X, y = truth_table("and")
    _, axes = plt.subplots(1, 4)
    assert plotting.plot_decision_boundary(predict_and, X, y, ax=axes[0], resolution=20) is axes[0]
    assert plotting.plot_loss_curve([3.0, 2.0, 1.5], ax=axes[1], label="train") is axes[1]
    assert plotting.plot_activations(ax=axes[2], derivatives=True) is axes[2]
    assert plotting.draw_network((2, 3, 1), ax=axes[3]) is axes[3]
    assert len(axes[1].lines) == 1
    np.testing.assert_array_equal(axes[1].lines[0].get_ydata(), [3.0, 2.0, 1.5])
    assert [line.get_label() for line in axes[2].lines if not line.get_label().startswith('_')] == [
        "step", "logistic", "tanh", "relu"]


def test_plots_make_their_own_axes():
    assert isinstance(plotting.plot_loss_curve([1.0, 0.5], log=True), plt.Axes)


@pytest.mark.parametrize("args, kwargs, error, message", [
    (("not callable", np.zeros((4, 2)), [0, 1, 1, 0]), {}, TypeError,
     r"predict must be a function of X, e.g. model.predict; got str"),
    ((predict_and, np.zeros((4, 3)), [0, 1, 1, 0]), {}, ValueError,
     r"X must have 2 features to draw a decision boundary; got 3"),
    ((predict_and, [[0, np.nan], [1, 1]], [0, 1]), {}, ValueError, r"X must hold only finite numbers; got 1 NaN"),
    ((predict_and, [0, 1, 1, 0], [0, 1, 1, 0]), {}, ValueError, r"X must be 2-D \(n_samples, n_features\)"),
    ((predict_and, np.zeros((4, 2)), [0, 1]), {}, ValueError,
     r"X and y must have the same number of samples; got 4 rows in X and 2 in y"),
    ((predict_and, np.zeros((4, 2)), [0, 1, 1, 0]), {"resolution": 0}, ValueError, r"resolution must be > 0; got 0"),
])
def test_plot_decision_boundary_rejects_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        plotting.plot_decision_boundary(*args, **kwargs)


def test_plot_loss_curve_rejects_bad_input():
    with pytest.raises(ValueError, match=r"losses must hold only finite numbers; got 1 NaN or inf"):
        plotting.plot_loss_curve([1.0, np.inf])
    with pytest.raises(ValueError, match=r"losses must hold at least one sample; got shape \(0,\)"):
        plotting.plot_loss_curve([])
    with pytest.raises(ValueError, match=r"losses must be 1-D; got shape \(2, 2\)"):
        plotting.plot_loss_curve([[1.0, 2.0], [3.0, 4.0]])


def test_plot_activations_rejects_bad_names():
    with pytest.raises(ValueError, match=r"names may only hold elementwise activations; 'softmax' is not one"):
        plotting.plot_activations(["tanh", "softmax"])
    with pytest.raises(ValueError, match=r"Unknown activation 'swish'; choose from"):
        plotting.plot_activations(["swish"])


def test_draw_network_rejects_bad_sizes():
    with pytest.raises(ValueError, match=r"layer_sizes\[1\] must be > 0; got 0"):
        plotting.draw_network((2, 0, 1))
    with pytest.raises(TypeError, match=r"layer_sizes\[0\] must be a positive integer; got 2.5 \(float\)"):
        plotting.draw_network((2.5, 1))
    with pytest.raises(ValueError, match=r"layer_sizes must list at least two layers; got \[3\]"):
        plotting.draw_network((3,))
    with pytest.raises(ValueError, match=r"layer_names must have 3 entries; got 2"):
        plotting.draw_network((2, 3, 1), layer_names=["in", "out"])
