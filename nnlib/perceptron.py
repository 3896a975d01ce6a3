r"""The perceptron and its learning rule (chapter 1).

A perceptron computes :math:`\hat y = \mathrm{step}(x \cdot w + b)`. The learning rule visits the examples one at a
time and nudges the weights by the error on each:

.. math:: w \leftarrow w + \eta\,(y - \hat y)\,x, \qquad b \leftarrow b + \eta\,(y - \hat y)

An epoch is one pass over the examples. Training stops after an epoch with no mistakes or after ``max_iter``
epochs. The rule is sequential by nature (each update changes the next prediction), so this is the one place in
nnlib that loops over samples.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ._validation import (
    check_array,
    check_class_labels,
    check_classes,
    check_labels,
    check_n_features,
    check_positive_float,
    check_positive_int,
    raise_not_fitted,
)
from .activations import step

__all__ = ["Perceptron", "perceptron_update"]


def perceptron_update(weights, bias, x, target, learning_rate=1.0):
    r"""One application of the perceptron rule to one example.

    Parameters
    ----------
    weights : ndarray of shape (n_features,)
    bias : float
    x : ndarray of shape (n_features,)
    target : 0 or 1
    learning_rate : float, default 1.0

    Returns
    -------
    weights : ndarray of shape (n_features,), the new weights (a new array)
    bias : float, the new bias
    """
    error = target - float(step(np.dot(x, weights) + bias))
    return weights + learning_rate * error * np.asarray(x, dtype=float), bias + learning_rate * error


class Perceptron(ClassifierMixin, BaseEstimator):
    """A single perceptron for two classes, trained with the perceptron rule (chapter 1).

    A scikit-learn estimator (``fit``, ``predict``, ``decision_function``, ``score``, ``get_params``; it can be
    cloned, put in a ``Pipeline`` or a grid search, pickled and saved with skops), with the weights kept 1-D for
    readability. It passes scikit-learn's ``check_estimator`` as a binary-only classifier.

    Parameters
    ----------
    learning_rate : float, default 1.0
        :math:`\\eta`, the size of each correction.
    max_iter : int, default 100
        The largest number of epochs.
    shuffle : bool, default False
        Visit the examples in a new random order each epoch (default: in the given order).
    random_state : int, numpy.random.Generator or None
        Seed for the shuffling.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        The weights :math:`w` (they start at zero).
    intercept_ : float
        The bias :math:`b` (it starts at zero).
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the one the perceptron outputs 1 for.
    errors_ : list of int
        The number of misclassified examples in each epoch (counted as the epoch visits them).
    loss_curve_ : list of float
        The same as a fraction of the examples: the zero-one loss of each epoch.
    n_iter_ : int
        The number of epochs run.
    """

    def __init__(self, learning_rate=1.0, max_iter=100, shuffle=False, random_state=None):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X, y):
        """Train on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape (n_samples,)."""
        X = check_array(X)
        y = check_class_labels(check_labels(y, n_samples=X.shape[0]))
        self.classes_ = check_classes(y)
        if len(self.classes_) != 2:
            raise ValueError(f"A perceptron separates two classes (Only binary classification is supported); "
                             f"y has {len(self.classes_)}: {self.classes_}")
        learning_rate = check_positive_float(self.learning_rate, "learning_rate")
        max_iter = check_positive_int(self.max_iter, "max_iter")
        targets = (y == self.classes_[1]).astype(float)
        rng = np.random.default_rng(self.random_state)
        w, b = np.zeros(X.shape[1]), 0.0
        self.errors_ = []
        for _ in range(max_iter):
            order = rng.permutation(len(X)) if self.shuffle else range(len(X))
            errors = 0
            for i in order:
                errors += int(step(X[i] @ w + b) != targets[i])
                w, b = perceptron_update(w, b, X[i], targets[i], learning_rate)
            self.errors_.append(errors)
            if errors == 0:
                break
        self.coef_, self.intercept_ = w, float(b)
        self.loss_curve_ = [errors / len(X) for errors in self.errors_]
        self.n_iter_ = len(self.errors_)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X):
        r""":math:`x \cdot w + b` for each row of ``X``; shape (n_samples,)."""
        if not hasattr(self, "coef_"):
            raise_not_fitted(self)
        X = check_array(X)
        check_n_features(X, self.n_features_in_, self)
        return X @ self.coef_ + self.intercept_

    def predict(self, X):
        """The predicted label of each row of ``X``; shape (n_samples,)."""
        scores = self.decision_function(X)  # first: it says "not fitted" before classes_ is looked up
        return self.classes_[step(scores).astype(int)]

    def score(self, X, y, sample_weight=None):
        """The fraction of rows of ``X`` whose predicted label equals ``y`` (the accuracy)."""
        check_labels(y, n_samples=np.shape(X)[0] if np.ndim(X) else None)
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # one perceptron separates two classes
        return tags
