r"""One sigmoid neuron: prediction and training by gradient descent (chapter 2).

The neuron predicts :math:`\hat y = \sigma(x \cdot w + b)`, a number between 0 and 1 read as the probability of
class 1 (class 1 when :math:`\hat y \geq 0.5`). Training minimises the mean squared error

.. math:: E = \frac{1}{n} \sum_i (\hat y_i - y_i)^2,

whose gradient comes from the chain rule:

.. math:: \frac{\partial E}{\partial w} = \frac{2}{n} \sum_i (\hat y_i - y_i)\, \hat y_i (1 - \hat y_i)\, x_i,
          \qquad \frac{\partial E}{\partial b} = \frac{2}{n} \sum_i (\hat y_i - y_i)\, \hat y_i (1 - \hat y_i)
"""

import numpy as np

from ._validation import (
    check_array,
    check_finite_loss,
    check_labels,
    check_n_features,
    check_positive_float,
    check_positive_int,
    raise_not_fitted,
)
from .activations import sigmoid
from .losses import squared_error

__all__ = ["predict_neuron", "neuron_gradients", "SigmoidNeuron"]


def _check_inputs(X, weights, bias):
    X = check_array(X, "X", ndim=None)
    weights = check_array(weights, "weights", ndim=1)
    if X.ndim not in (1, 2):
        raise ValueError(f"X must be one input (n_features,) or a 2-D batch (n_samples, n_features); got {X.shape}")
    if X.shape[-1] != weights.shape[0]:
        raise ValueError(f"X has {X.shape[-1]} features but weights has {weights.shape[0]} entries")
    bias = float(check_array(bias, "bias", ndim=0))
    return X, weights, bias


def predict_neuron(X, weights, bias):
    r"""The neuron's output :math:`\sigma(x \cdot w + b)` for one input or a batch.

    Parameters
    ----------
    X : ndarray of shape (n_features,) or (n_samples, n_features)
    weights : ndarray of shape (n_features,)
    bias : float

    Returns
    -------
    prediction : float for one input, ndarray of shape (n_samples,) for a batch

    Examples
    --------
    >>> predict_neuron([1.66, 1.56], [1.45, -0.66], 0.0)  # doctest: +ELLIPSIS
    0.79857...
    """
    X, weights, bias = _check_inputs(X, weights, bias)
    out = sigmoid(X @ weights + bias)
    return float(out) if out.ndim == 0 else out


def neuron_gradients(X, y, weights, bias):
    r"""Gradients of the mean squared error with respect to the weights and the bias.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or (n_features,) for one example
    y : ndarray of shape (n_samples,), or a number for one example
    weights : ndarray of shape (n_features,)
    bias : float

    Returns
    -------
    dw : ndarray of shape (n_features,)
    db : float
    """
    X, weights, bias = _check_inputs(X, weights, bias)
    X = np.atleast_2d(X)
    y = np.atleast_1d(np.asarray(y, dtype=float))
    prediction = sigmoid(X @ weights + bias)                         # (n_samples,)
    dZ = 2.0 * (prediction - y) * prediction * (1.0 - prediction) / len(y)  # dE/dz, (n_samples,)
    return X.T @ dZ, float(dZ.sum())


class SigmoidNeuron:
    """One sigmoid neuron trained by full-batch gradient descent on the squared error (chapter 2).

    A teaching object, not a scikit-learn estimator: it exists to show chapter 2's squared error, its chain-rule
    gradient and the gradient-descent loop in a dozen readable lines, for 0/1 targets only. It has no
    ``get_params`` and is not meant for pipelines or grid searches. For a sigmoid model with scikit-learn's full
    interface use ``sklearn.linear_model.LogisticRegression`` (the same neuron with the cross-entropy loss), or
    :class:`nnlib.MLPClassifier`.

    Parameters
    ----------
    learning_rate : float, default 0.1
    max_iter : int, default 10000
        Number of gradient-descent steps (each one uses every sample, so a step is an epoch).
    random_state : int, numpy.random.Generator or None
        Seed for the initial weights and bias (standard normal).
    weights, bias : optional starting values instead of random ones.

    Attributes
    ----------
    weights_ : ndarray of shape (n_features,)
    bias_ : float
    loss_curve_ : list of float
        The mean squared error on the training data before each step.
    n_iter_ : int
        Steps run.
    """

    def __init__(self, learning_rate=0.1, max_iter=10000, random_state=None, weights=None, bias=None):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.random_state = random_state
        self.weights = weights
        self.bias = bias

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and 0/1 targets ``y`` (n_samples,); returns self."""
        X = check_array(X)
        y = check_labels(y, n_samples=X.shape[0]).astype(float)
        learning_rate = check_positive_float(self.learning_rate, "learning_rate")
        max_iter = check_positive_int(self.max_iter, "max_iter")
        rng = np.random.default_rng(self.random_state)
        w = rng.standard_normal(X.shape[1]) if self.weights is None else np.array(self.weights, dtype=float)
        b = float(rng.standard_normal()) if self.bias is None else float(self.bias)
        self.loss_curve_ = []
        for iteration in range(max_iter):
            error = squared_error(y, predict_neuron(X, w, b))
            check_finite_loss(error, iteration, learning_rate)
            self.loss_curve_.append(error)
            dw, db = neuron_gradients(X, y, w, b)
            w, b = w - learning_rate * dw, b - learning_rate * db
        self.weights_, self.bias_ = w, b
        self.n_iter_ = len(self.loss_curve_)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        """The neuron's output for each row of ``X``, shape (n_samples,)."""
        if not hasattr(self, "weights_"):
            raise_not_fitted(self)
        X = check_array(X)
        check_n_features(X, self.n_features_in_, self)
        return predict_neuron(X, self.weights_, self.bias_)

    def predict(self, X):
        """Class 1 where the output is at least 0.5, else 0; shape (n_samples,)."""
        return (self.predict_proba(X) >= 0.5).astype(int)
