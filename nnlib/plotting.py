"""Figures for the chapters: decision boundaries, loss curves and activation functions.

The only module of nnlib that imports matplotlib. Every function takes ``ax=None`` (a new figure is made when it is
None) and returns the axes, so a notebook can add titles or combine plots in a grid.
"""

import matplotlib.pyplot as plt
import numpy as np

from ._validation import check_array, check_labels, check_positive_int
from .activations import get_activation

__all__ = ["plot_decision_boundary", "plot_loss_curve", "plot_activations", "draw_network"]


def _axes(ax, figsize=(5, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_decision_boundary(predict, X, y, ax=None, resolution=200, margin=0.5, cmap="coolwarm", title=None):
    """Colour the plane by ``predict`` and scatter the 2-D data on top.

    Parameters
    ----------
    predict : callable
        Maps an array of shape (n_points, 2) to labels of shape (n_points,), e.g. ``model.predict``.
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
    ax : matplotlib Axes, optional
    resolution : int, default 200
        Grid points along each axis.
    margin : float, default 0.5
        Space around the data.

    Returns
    -------
    ax : matplotlib Axes
    """
    if not callable(predict):
        raise TypeError(f"predict must be a function of X, e.g. model.predict; got {type(predict).__name__}")
    X = check_array(X)
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 features to draw a decision boundary; got {X.shape[1]}")
    y = check_labels(y, n_samples=X.shape[0])
    resolution = check_positive_int(resolution, "resolution")
    ax = _axes(ax)
    x0 = np.linspace(X[:, 0].min() - margin, X[:, 0].max() + margin, resolution)
    x1 = np.linspace(X[:, 1].min() - margin, X[:, 1].max() + margin, resolution)
    grid0, grid1 = np.meshgrid(x0, x1)
    labels = np.asarray(predict(np.c_[grid0.ravel(), grid1.ravel()]))
    classes, codes = np.unique(np.concatenate([labels, y]), return_inverse=True)
    ax.contourf(grid0, grid1, codes[: labels.size].reshape(grid0.shape), levels=np.arange(len(classes) + 1) - 0.5,
                cmap=cmap, alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=codes[labels.size:], cmap=cmap, edgecolors="k", linewidths=0.5, s=25,
               vmin=0, vmax=max(len(classes) - 1, 1))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def plot_loss_curve(losses, ax=None, label=None, log=False, title="Loss during training", xlabel="epoch"):
    """Plot a loss history (one value per epoch or iteration) against its index.

    Parameters
    ----------
    losses : sequence of float, e.g. ``model.loss_curve_``
    ax : matplotlib Axes, optional
    label : str, optional, the legend entry
    log : bool, default False, use a logarithmic y axis
    xlabel : str, default 'epoch', e.g. 'iteration' for a history of single steps

    Returns
    -------
    ax : matplotlib Axes
    """
    losses = check_array(losses, "losses", ndim=1)
    ax = _axes(ax)
    ax.plot(np.arange(len(losses)), losses, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    if label is not None:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_activations(names=("step", "logistic", "tanh", "relu"), ax=None, z_range=(-4.0, 4.0), derivatives=False):
    """Plot activation functions (or their derivatives) side by side on one axes.

    Parameters
    ----------
    names : sequence of str, names from :data:`nnlib.activations.ACTIVATIONS` (not softmax)
    ax : matplotlib Axes, optional
    z_range : (float, float)
    derivatives : bool, default False, plot :math:`g'(z)` instead of :math:`g(z)`

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax)
    z = np.linspace(*z_range, 401)
    for name in names:
        activation = get_activation(name)
        if activation.derivative is None:
            raise ValueError(f"names may only hold elementwise activations; {name!r} is not one")
        values = activation.derivative(z) if derivatives else activation.function(z)
        ax.plot(z, values, label=name)
    ax.axhline(0, color="gray", linewidth=0.5)
    ax.axvline(0, color="gray", linewidth=0.5)
    ax.set_xlabel("$z$")
    ax.set_ylabel("$g'(z)$" if derivatives else "$g(z)$")
    ax.legend()
    return ax


def draw_network(layer_sizes, ax=None, layer_names=None, max_units=10):
    """Draw a fully connected network as circles (units) joined by lines (weights).

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, from the inputs to the outputs, e.g. ``(2, 3, 2)``.
    ax : matplotlib Axes, optional
    layer_names : sequence of str, optional
        A caption under each layer; by default "input", "hidden 1", ..., "output".
    max_units : int, default 10
        Larger layers are drawn with this many units and labelled with their true size.

    Returns
    -------
    ax : matplotlib Axes
    """
    sizes = [check_positive_int(n, f"layer_sizes[{i}]") for i, n in enumerate(layer_sizes)]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes must list at least two layers; got {list(layer_sizes)}")
    if layer_names is None:
        layer_names = ["input"] + [f"hidden {i}" for i in range(1, len(sizes) - 1)] + ["output"]
    if len(layer_names) != len(sizes):
        raise ValueError(f"layer_names must have {len(sizes)} entries; got {len(layer_names)}")
    ax = _axes(ax, figsize=(1.8 * len(sizes), 3.5))
    shown = [min(n, max_units) for n in sizes]
    top = max(shown)
    positions = [[(x, (n - 1) / 2 - k) for k in range(n)] for x, n in enumerate(shown)]
    for left, right in zip(positions, positions[1:]):
        for x0, y0 in left:
            for x1, y1 in right:
                ax.plot([x0, x1], [y0, y1], color="gray", linewidth=0.6, alpha=0.6, zorder=1)
    colours = ["#4c72b0"] + ["#55a868"] * (len(sizes) - 2) + ["#c44e52"]
    for x, (layer, colour) in enumerate(zip(positions, colours)):
        ax.scatter([p[0] for p in layer], [p[1] for p in layer], s=300, color=colour, edgecolors="k", zorder=2)
        caption = layer_names[x] + (f"\n({sizes[x]} units)" if sizes[x] > max_units else f"\n({sizes[x]})")
        ax.text(x, -(top - 1) / 2 - 0.6, caption, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-(top - 1) / 2 - 1.5, (top - 1) / 2 + 0.6)
    ax.set_axis_off()
    return ax
