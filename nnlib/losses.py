r"""Loss functions and their gradients (chapters 2-6).

Every loss comes as a pair in the table :data:`LOSSES`: ``function(y_true, output)`` returns the mean loss over the
samples (a float) and ``gradient(y_true, output)`` returns its gradient with respect to ``output`` (the shape of
``output``).

The two cross-entropies take **logits** (the raw scores before the sigmoid or softmax), not probabilities. Written
in terms of logits they never take the log of 0, so logits of :math:`\pm 1000` give finite losses, and their
gradients are the famous :math:`\sigma(z) - y` and :math:`\mathrm{softmax}(z) - y`.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import check_choice
from .activations import sigmoid, softmax

__all__ = [
    "Loss",
    "LOSSES",
    "get_loss",
    "squared_error",
    "squared_error_gradient",
    "half_squared_error",
    "half_squared_error_gradient",
    "half_squared_error_and_gradient",
    "binary_cross_entropy",
    "binary_cross_entropy_gradient",
    "categorical_cross_entropy",
    "categorical_cross_entropy_gradient",
    "categorical_cross_entropy_and_gradient",
    "log_sum_exp",
]


def _n_samples(output):
    output = np.asarray(output)
    return output.shape[0] if output.ndim else 1


def squared_error(y_true, y_pred):
    r"""Mean squared error, :math:`L = \frac{1}{n} \sum_{i} \lVert \hat y_i - y_i \rVert^2` (chapter 2).

    For one sample and one output this is the chapter-2 error :math:`(\hat y - y)^2`.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : ndarray of the same shape

    Returns
    -------
    loss : float
    """
    diff = np.asarray(y_pred) - np.asarray(y_true)
    return float(np.sum(diff * diff) / _n_samples(diff))


def squared_error_gradient(y_true, y_pred):
    r""":math:`\partial L / \partial \hat y = \frac{2}{n} (\hat y - y)`, the shape of ``y_pred``."""
    diff = np.asarray(y_pred) - np.asarray(y_true)
    return 2.0 * diff / _n_samples(diff)


def half_squared_error(Y_true, output):
    r"""Half the squared error per sample, :math:`L = \frac{1}{2n} \sum_i \lVert \hat y_i - y_i \rVert^2`
    (chapter 6, the loss of :class:`nnlib.MLPRegressor`).

    For one target this is scikit-learn's ``squared_loss``, :math:`\frac{1}{2}\,\mathrm{mean}((y - \hat y)^2)`.
    With several targets the squares are summed over the targets, which gives scikit-learn's gradient
    :math:`(\hat Y - Y) / n`; scikit-learn takes the same steps, but reports the squared-error part of its loss
    divided by the number of targets as well.

    Parameters
    ----------
    Y_true : ndarray of shape (n_samples, n_outputs)
    output : ndarray of the same shape, the network's (identity) output

    Returns
    -------
    loss : float
    """
    diff = np.asarray(output) - np.asarray(Y_true)
    return float(0.5 * np.vdot(diff, diff) / _n_samples(diff))


def half_squared_error_gradient(Y_true, output):
    r""":math:`\partial L / \partial \hat Y = (\hat Y - Y) / n`, the shape of ``output``."""
    diff = np.asarray(output) - np.asarray(Y_true)
    return diff / _n_samples(diff)


def half_squared_error_and_gradient(Y_true, output):
    """Both :func:`half_squared_error` and its gradient from one difference (what training calls)."""
    diff = np.asarray(output) - np.asarray(Y_true)
    n = _n_samples(diff)
    loss = 0.5 * float(np.vdot(diff, diff)) / n
    diff /= n
    return loss, diff


def binary_cross_entropy(y_true, logits):
    r"""Mean binary cross-entropy of a sigmoid output, from its logits :math:`z` (chapter 2).

    .. math:: L = \frac{1}{n} \sum_i -y_i \log \sigma(z_i) - (1 - y_i) \log(1 - \sigma(z_i))
              = \frac{1}{n} \sum_i \log(1 + e^{z_i}) - y_i z_i

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,) or (n_samples, 1), values in {0, 1}
    logits : ndarray of the same shape

    Returns
    -------
    loss : float
    """
    z = np.asarray(logits)
    return float(np.sum(np.logaddexp(0.0, z) - np.asarray(y_true) * z) / _n_samples(z))


def binary_cross_entropy_gradient(y_true, logits):
    r""":math:`\partial L / \partial z = \frac{1}{n} (\sigma(z) - y)`, the shape of ``logits``."""
    z = np.asarray(logits)
    return (sigmoid(z) - np.asarray(y_true)) / _n_samples(z)


def log_sum_exp(Z):
    r"""Row-wise :math:`\log \sum_k e^{z_k}`, computed without overflow.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    out : ndarray of shape (n_samples,)
    """
    Z = np.asarray(Z)
    Z_max = Z.max(axis=-1, keepdims=True)
    return (Z_max + np.log(np.sum(np.exp(Z - Z_max), axis=-1, keepdims=True)))[..., 0]


def categorical_cross_entropy(Y_true, logits):
    r"""Mean categorical cross-entropy of a softmax output, from its logits (chapter 4).

    .. math:: L = -\frac{1}{n} \sum_i \sum_k Y_{ik} \log \mathrm{softmax}(Z_i)_k
              = \frac{1}{n} \sum_i \Big(\log \sum_k e^{Z_{ik}} - \sum_k Y_{ik} Z_{ik}\Big)

    Parameters
    ----------
    Y_true : ndarray of shape (n_samples, n_classes)
        One-hot targets (each row sums to 1).
    logits : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    loss : float
    """
    Z = np.asarray(logits)
    Y = np.asarray(Y_true)
    return float((np.sum(log_sum_exp(Z)) - np.sum(Y * Z)) / _n_samples(Z))


def categorical_cross_entropy_gradient(Y_true, logits):
    r""":math:`\partial L / \partial Z = \frac{1}{n} (\mathrm{softmax}(Z) - Y)`, shape (n_samples, n_classes)."""
    Z = np.asarray(logits)
    return (softmax(Z) - np.asarray(Y_true)) / _n_samples(Z)


def categorical_cross_entropy_and_gradient(Y_true, logits):
    """Both :func:`categorical_cross_entropy` and its gradient from one softmax (what training calls)."""
    Z = np.asarray(logits)
    Y = np.asarray(Y_true)
    n = _n_samples(Z)
    shifted = Z - Z.max(axis=-1, keepdims=True)   # (n_samples, n_classes), each row's largest entry is 0
    P = np.exp(shifted)
    row_sums = P.sum(axis=-1, keepdims=True)      # (n_samples, 1), between 1 and n_classes
    loss = (np.log(row_sums).sum() - np.vdot(Y, shifted)) / n
    P /= row_sums                                 # softmax(Z)
    P -= Y
    P /= n
    return float(loss), P


@dataclass(frozen=True)
class Loss:
    """A loss with its gradient: ``function(y_true, output) -> float``, ``gradient(y_true, output) -> array``.

    ``value_and_gradient(y_true, output)`` returns both at once; it defaults to calling the two functions.
    """

    name: str
    function: Callable
    gradient: Callable
    fused: Callable | None = None

    def __call__(self, y_true, output):
        return self.function(y_true, output)

    def __reduce__(self):
        # saved by name and looked up again on loading, like an Activation
        return get_loss, (self.name,)

    def value_and_gradient(self, y_true, output):
        if self.fused is not None:
            return self.fused(y_true, output)
        return self.function(y_true, output), self.gradient(y_true, output)


LOSSES = {
    "squared_error": Loss("squared_error", squared_error, squared_error_gradient),
    "half_squared_error": Loss("half_squared_error", half_squared_error, half_squared_error_gradient,
                               half_squared_error_and_gradient),
    "binary_cross_entropy": Loss("binary_cross_entropy", binary_cross_entropy, binary_cross_entropy_gradient),
    "categorical_cross_entropy": Loss(
        "categorical_cross_entropy",
        categorical_cross_entropy,
        categorical_cross_entropy_gradient,
        categorical_cross_entropy_and_gradient,
    ),
}


def get_loss(name):
    """Look up a :class:`Loss` by name; raises ``ValueError`` for an unknown name."""
    if isinstance(name, Loss):
        return name
    return LOSSES[check_choice(name, "loss", LOSSES)]
