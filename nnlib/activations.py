r"""Activation functions and their derivatives (chapters 1-4).

Every activation :math:`g` comes as a pair in the table :data:`ACTIVATIONS`:

- ``function(Z)`` computes :math:`A = g(Z)`;
- ``backward(dA, Z, A)`` turns the gradient of the loss with respect to the output, ``dA``, into the gradient with
  respect to the input, :math:`dZ = dA \odot g'(Z)` (softmax mixes the columns of a row, so its backward is not
  elementwise).

``derivative(Z)`` gives :math:`g'(Z)` itself for the elementwise activations. The table lets a test check every
entry against finite differences, and lets a network pick its activation by name.

Taught in: step (chapter 1), logistic/sigmoid (chapter 2), tanh and softmax (chapter 4, which writes them by hand;
the chapters import nnlib's softmax from chapter 5 on), relu (chapter 5), identity (the output layers).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import check_choice

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "step",
    "identity",
    "sigmoid",
    "logistic",
    "sigmoid_derivative",
    "tanh",
    "tanh_derivative",
    "relu",
    "relu_derivative",
    "softmax",
]


def step(Z):
    r"""Heaviside step, :math:`g(z) = 1` if :math:`z \geq 0` else :math:`0` (chapter 1, the perceptron).

    Parameters
    ----------
    Z : ndarray of any shape

    Returns
    -------
    A : ndarray of the shape of ``Z``, with values 0.0 or 1.0
    """
    Z = np.asarray(Z, dtype=float)
    return (Z >= 0).astype(Z.dtype)


def _step_derivative(Z):
    """Zero everywhere (undefined at 0): why the perceptron cannot be trained by gradient descent."""
    return np.zeros_like(np.asarray(Z, dtype=float))


def identity(Z):
    r"""Identity, :math:`g(z) = z`; its derivative is 1."""
    return np.asarray(Z)


def _identity_derivative(Z):
    return np.ones_like(np.asarray(Z, dtype=float))


def sigmoid(Z):
    r"""Logistic sigmoid, :math:`\sigma(z) = 1 / (1 + e^{-z})` (chapter 2).

    Computed as :math:`\exp(-\log(1 + e^{-z}))` with ``np.logaddexp``, which never overflows, so
    :math:`z = \pm 1000` gives 0 and 1 rather than a warning.

    Parameters
    ----------
    Z : array-like of any shape

    Returns
    -------
    A : ndarray of the shape of ``Z``, values in (0, 1)
    """
    Z = np.asarray(Z, dtype=np.result_type(np.asarray(Z).dtype, np.float32))
    return np.exp(-np.logaddexp(0.0, -Z))


#: scikit-learn's name for the sigmoid.
logistic = sigmoid


def sigmoid_derivative(Z):
    r""":math:`\sigma'(z) = \sigma(z)\,(1 - \sigma(z))` (chapter 2)."""
    A = sigmoid(Z)
    return A * (1.0 - A)


def tanh(Z):
    r"""Hyperbolic tangent, :math:`\tanh(z) = (e^{z} - e^{-z}) / (e^{z} + e^{-z})` (chapter 4)."""
    return np.tanh(Z)


def tanh_derivative(Z):
    r""":math:`\tanh'(z) = 1 - \tanh^2(z)` (chapter 4)."""
    A = np.tanh(Z)
    return 1.0 - A * A


def relu(Z):
    r"""Rectified linear unit, :math:`g(z) = \max(0, z)` (chapter 5; compared with the others in chapter 6)."""
    return np.maximum(Z, 0)


def relu_derivative(Z):
    r""":math:`g'(z) = 1` for :math:`z > 0`, else 0 (taken as 0 at :math:`z = 0`)."""
    Z = np.asarray(Z)
    return (Z > 0).astype(np.result_type(Z.dtype, np.float32))


def softmax(Z):
    r"""Softmax over each row, :math:`\mathrm{softmax}(z)_k = e^{z_k} / \sum_j e^{z_j}`
    (chapter 5; chapter 4 writes it by hand).

    The row maximum is subtracted first, which changes nothing mathematically and keeps :math:`e^{z}` finite.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    P : ndarray of shape (n_samples, n_classes); each row is positive and sums to 1
    """
    Z = np.asarray(Z, dtype=np.result_type(np.asarray(Z).dtype, np.float32))
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    E /= E.sum(axis=-1, keepdims=True)
    return E


def _softmax_backward(dA, Z, A):
    r"""Vector-Jacobian product of softmax: :math:`dZ = A \odot (dA - \sum_k dA_k A_k)`, row by row."""
    return A * (dA - np.sum(dA * A, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """An activation function with what backpropagation needs.

    Attributes
    ----------
    name : str
    function : callable, ``A = function(Z)``
    backward : callable, ``dZ = backward(dA, Z, A)``, where ``A = function(Z)`` was kept from the forward pass
    derivative : callable or None, ``g'(Z)`` elementwise; None for softmax, whose Jacobian is not diagonal
    in_place : callable or None, ``function`` computed into ``Z`` itself (a layer uses it on its own temporary
        ``Z`` to save memory and time); None where the activation has no in-place form
    """

    name: str
    function: Callable
    backward: Callable
    derivative: Callable | None = None
    in_place: Callable | None = None

    def __call__(self, Z):
        return self.function(Z)

    def __reduce__(self):
        # saved by name and looked up again on loading: the table's small lambdas cannot be pickled themselves
        return get_activation, (self.name,)


# The backward passes below read the kept output A, never Z, so a layer never evaluates the activation twice and
# may compute A into Z's own memory (``in_place``).
ACTIVATIONS = {
    "identity": Activation("identity", identity, lambda dA, Z, A: dA, _identity_derivative, lambda Z: Z),
    "step": Activation("step", step, lambda dA, Z, A: np.zeros_like(dA), _step_derivative),
    "logistic": Activation("logistic", sigmoid, lambda dA, Z, A: dA * A * (1.0 - A), sigmoid_derivative),
    "tanh": Activation("tanh", tanh, lambda dA, Z, A: dA * (1.0 - A * A), tanh_derivative,
                       lambda Z: np.tanh(Z, out=Z)),
    # relu'(z) = 1 exactly where relu(z) > 0, so the backward pass reads A (Z may have been overwritten by A)
    "relu": Activation("relu", relu, lambda dA, Z, A: dA * (A > 0), relu_derivative,
                       lambda Z: np.maximum(Z, 0, out=Z)),
    "softmax": Activation("softmax", softmax, _softmax_backward, None),
}
ACTIVATIONS["sigmoid"] = ACTIVATIONS["logistic"]


def get_activation(name):
    """Look up an :class:`Activation` by name (``'sigmoid'`` is an alias of ``'logistic'``).

    Raises
    ------
    ValueError
        If ``name`` is not in :data:`ACTIVATIONS`.
    """
    if isinstance(name, Activation):
        return name
    return ACTIVATIONS[check_choice(name, "activation", ACTIVATIONS)]
