r"""Numerical gradient checking with centred differences (chapter 3).

For each entry :math:`x_j` of an array,

.. math:: \frac{\partial f}{\partial x_j} \approx \frac{f(x + h e_j) - f(x - h e_j)}{2h},

whose error shrinks like :math:`h^2`. An analytic gradient :math:`a` is compared with the numerical one :math:`n`
by the relative error :math:`\max_j |a_j - n_j| / \max(|a_j| + |n_j|, \epsilon)`: about 1e-7 or less in float64
means the backward pass is right; above 1e-2 means it has a bug.
"""

import numpy as np

from ._validation import check_positive_float

__all__ = ["numerical_gradient", "rel_error", "check_network_gradients"]


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored, so ``f`` may read ``x`` through a closure
    (this is how the parameters of a network are checked).

    Parameters
    ----------
    f : callable
        ``f()`` or ``f(x)`` returning a float. It is called as ``f(x)``.
    x : ndarray of float, any shape
    h : float, default 1e-5

    Returns
    -------
    grad : ndarray of the shape of ``x``
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"x must be a float ndarray (it is perturbed in place); got {type(x).__name__}")
    h = check_positive_float(h, "h")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        j = it.multi_index
        original = x[j]
        x[j] = original + h
        f_plus = float(f(x))
        x[j] = original - h
        f_minus = float(f(x))
        x[j] = original
        grad[j] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b, eps=1e-12):
    r"""Largest relative difference, :math:`\max_j |a_j - b_j| / \max(|a_j| + |b_j|, \epsilon)`."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps), initial=0.0))


def check_network_gradients(network, X, Y, h=1e-5):
    """Compare every backpropagated gradient of ``network`` with centred differences.

    Parameters
    ----------
    network : nnlib.layers.Network
    X : ndarray of shape (n_samples, n_in)
    Y : ndarray of the shape of the network's output

    Returns
    -------
    errors : dict mapping each parameter's name (e.g. ``'layers[0].W'``) to its relative error
    """
    network.loss_and_gradients(X, Y)
    analytic = {name: grad.copy() for name, _, grad in network.parameters()}
    errors = {}
    for name, value, _ in network.parameters():
        numeric = numerical_gradient(lambda _: network.objective(X, Y), value, h)
        errors[name] = rel_error(analytic[name], numeric)
    return errors
