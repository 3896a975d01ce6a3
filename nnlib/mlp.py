r"""Multi-layer perceptrons with scikit-learn's interface: a classifier (chapters 4-6) and a regressor (chapter 6).

Both stack :class:`nnlib.layers.Dense` layers (hidden layers with one activation, then an identity output layer)
and train them with :func:`nnlib.optim.train`, minibatch gradient descent on scikit-learn's objective. For the
classifier, with one logit per class and a softmax over all classes (also for two classes),

.. math:: J = -\frac{1}{n} \sum_i \log \mathrm{softmax}(z_i)_{y_i} + \frac{\alpha}{2n} \sum_\ell \lVert W_\ell \rVert^2,

and for the regressor, with one output per target,

.. math:: J = \frac{1}{2n} \sum_i \lVert \hat y_i - y_i \rVert^2 + \frac{\alpha}{2n} \sum_\ell \lVert W_\ell \rVert^2,

where :math:`n` is the number of samples in the batch. Both work wherever scikit-learn expects an estimator:
``clone``, ``Pipeline``, ``cross_val_score``, ``GridSearchCV``, ``pickle``, ``joblib`` and ``skops.io``; both
pass scikit-learn's ``check_estimator``.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from . import optim
from ._validation import (
    check_array,
    check_choice,
    check_class_labels,
    check_classes,
    check_labels,
    check_n_features,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
    check_shape,
    raise_not_fitted,
)
from .activations import softmax
from .layers import Dense, Network

__all__ = ["MLPClassifier", "MLPRegressor"]

_HIDDEN_ACTIVATIONS = ("identity", "logistic", "sigmoid", "tanh", "relu")
_DTYPES = ("float64", "float32")

_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        The number of units of each hidden layer.
    activation : {'identity', 'logistic', 'sigmoid', 'tanh', 'relu'}, default 'relu'
        The hidden layers' activation ('sigmoid' is an alias of 'logistic').
    solver : {'sgd'}, default 'sgd'
        Plain minibatch gradient descent (the only solver).
    alpha : float, default 1e-4
        L2 penalty on the weights (not the biases).
    batch_size : int or None, default None
        Samples per gradient step; None uses the whole training set (full-batch gradient descent).
    learning_rate_init : float, default LEARNING_RATE
        The constant step size :math:`\\eta`.
    max_iter : int, default 200
        The largest number of epochs (passes over the training data).
    shuffle : bool, default True
        Shuffle the samples before each epoch (only matters with minibatches).
    random_state : int, numpy.random.Generator or None
        Seed for the initial weights and the shuffling.
    tol : float, default 1e-4
        An epoch improves when its loss is below the best loss so far minus ``tol``.
    n_iter_no_change : int, default 10
        Stop after more than this many epochs in a row without improvement. Set it to ``max_iter`` or more to
        always train for ``max_iter`` epochs.
    momentum : float, default 0.0
        Classical momentum in [0, 1): ``v = momentum * v - eta * grad``, ``param += v``.
    coefs_init, intercepts_init : list of ndarray, optional
        Initial weights and biases (shapes as ``coefs_`` and ``intercepts_``) instead of random ones.
    dtype : {'float64', 'float32'}, default 'float64'
        The floating-point type of the computation; float32 is faster on large networks.
    verbose : bool, default False
        Show a progress bar with the loss.

    Attributes
    ----------
    coefs_ : list of ndarray, ``coefs_[i]`` of shape (n_units[i], n_units[i + 1])
        The weights of each layer, from the input to the output.
    intercepts_ : list of ndarray, ``intercepts_[i]`` of shape (n_units[i + 1],)
    loss_curve_ : list of float
        The mean objective of each epoch, from that epoch's forward passes (before its updates).
    best_loss_ : float
        The smallest value of ``loss_curve_``.
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
    network_ : nnlib.layers.Network
        The trained layers (``coefs_`` and ``intercepts_`` are their arrays).
"""


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, checks, the layers and the training loop.

    A subclass sets ``_loss`` (the name of the network's loss) and implements ``fit``, which turns ``y`` into
    a function that gives each batch its targets and calls :meth:`_fit`.
    """

    _loss = None

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="sgd",
        alpha=1e-4,
        batch_size=None,
        learning_rate_init=0.1,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        n_iter_no_change=10,
        momentum=0.0,
        coefs_init=None,
        intercepts_init=None,
        dtype="float64",
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.momentum = momentum
        self.coefs_init = coefs_init
        self.intercepts_init = intercepts_init
        self.dtype = dtype
        self.verbose = verbose

    # -- checks -------------------------------------------------------------------------------------------------
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise TypeError(f"hidden_layer_sizes must be a tuple of positive ints; got {sizes!r}") from None
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
                raise TypeError(f"hidden_layer_sizes must hold positive ints; got {self.hidden_layer_sizes!r}")
            if size <= 0:
                raise ValueError(f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes!r}")
        return sizes

    def _check_params(self):
        check_choice(self.activation, "activation", _HIDDEN_ACTIVATIONS)
        check_choice(self.solver, "solver", ("sgd",))
        try:  # np.dtype('banana') raises a TypeError that does not name the argument
            dtype_name = np.dtype(self.dtype).name if self.dtype is not None else None
        except TypeError:
            dtype_name = self.dtype
        check_choice(dtype_name, "dtype", _DTYPES)
        check_non_negative_float(self.alpha, "alpha")
        check_positive_int(self.batch_size, "batch_size", allow_none=True)
        check_positive_float(self.learning_rate_init, "learning_rate_init")
        check_positive_int(self.max_iter, "max_iter")
        check_non_negative_float(self.tol, "tol")
        check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        if check_non_negative_float(self.momentum, "momentum") >= 1:
            raise ValueError(f"momentum must be in [0, 1); got {self.momentum}")

    def _check_fitted(self):
        if not hasattr(self, "network_"):
            raise_not_fitted(self)

    def _initial_network(self, n_features, n_outputs, rng, dtype):
        sizes = [n_features, *self._hidden_sizes(), n_outputs]
        activations = [self.activation] * (len(sizes) - 2) + ["identity"]
        layers = [
            Dense(n_in, n_out, act, random_state=rng, dtype=dtype)
            for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations)
        ]
        for name, given, attr in (("coefs_init", self.coefs_init, "W"), ("intercepts_init", self.intercepts_init, "b")):
            if given is None:
                continue
            if len(given) != len(layers):
                raise ValueError(f"{name} must be a list of {len(layers)} arrays (one per layer); got {len(given)}")
            for i, (layer, value) in enumerate(zip(layers, given)):
                target = getattr(layer, attr)
                target[...] = check_shape(value, target.shape, f"{name}[{i}]")
        return Network(layers, loss=self._loss, alpha=self.alpha)

    def _check_X(self, X):
        """``X`` for fit, in the dtype of the computation (after the settings are checked)."""
        self._check_params()
        return check_array(X, "X", dtype=np.dtype(self.dtype))

    # -- training -----------------------------------------------------------------------------------------------
    def _fit(self, X, n_outputs, batch_targets):
        """Train a new network with ``n_outputs`` outputs; ``batch_targets(rows)`` gives the targets of X[rows]."""
        self.n_features_in_ = X.shape[1]
        rng = np.random.default_rng(self.random_state)
        network = self._initial_network(X.shape[1], n_outputs, rng, X.dtype)
        optimizer = optim.SGD([(value, grad) for _, value, grad in network.parameters()], self.learning_rate_init,
                        self.momentum)
        self.loss_curve_, self.best_loss_ = optim.train(
            network, X, batch_targets, optimizer, max_iter=self.max_iter, batch_size=self.batch_size,
            shuffle=self.shuffle, rng=rng, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
            rate_name="learning_rate_init", verbose=self.verbose,
        )
        self.network_ = network
        self.coefs_ = [layer.W for layer in network.layers]
        self.intercepts_ = [layer.b for layer in network.layers]
        self.n_iter_ = len(self.loss_curve_)
        return self

    def _output(self, X):
        """The network's output layer for ``X`` (logits for the classifier, predictions for the regressor)."""
        self._check_fitted()
        X = check_array(X, "X", dtype=self.coefs_[0].dtype)
        check_n_features(X, self.n_features_in_, self)
        return self.network_.forward(X)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    _loss = "categorical_cross_entropy"

    def fit(self, X, y):
        """Train on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape (n_samples,); returns self."""
        X = self._check_X(X)
        y = check_class_labels(check_labels(y, n_samples=X.shape[0]))
        self.classes_ = check_classes(y)
        # row k of the identity matrix is the one-hot target of class k: each batch picks its rows from it, so
        # the one-hot targets of the whole data set never exist in memory
        targets = np.eye(len(self.classes_), dtype=X.dtype)
        class_index = np.searchsorted(self.classes_, y)
        return self._fit(X, len(self.classes_), lambda rows: targets[class_index[rows]])

    def predict_proba(self, X):
        """Class probabilities (softmax of the output layer), shape (n_samples, n_classes)."""
        return softmax(self._output(X))

    def predict(self, X):
        """The most probable class of each row of ``X``, shape (n_samples,)."""
        logits = self._output(X)  # first: it raises NotFittedError before classes_ is looked up
        return self.classes_[np.argmax(logits, axis=1)]


MLPClassifier.__doc__ = """Multi-layer perceptron classifier trained by minibatch gradient descent (chapters 4-6).

    Parameter names and meanings follow ``sklearn.neural_network.MLPClassifier`` wherever the two overlap. The
    output layer has one logit per class; the loss is the softmax cross-entropy.
""" + _PARAMETERS.replace("LEARNING_RATE", "0.1") + """    classes_ : ndarray of shape (n_classes,)
"""


class MLPRegressor(RegressorMixin, _BaseMLP):
    _loss = "half_squared_error"

    # The same parameters as the classifier; two defaults are scikit-learn's own (its MLPRegressor with
    # solver='sgd'): a squared error on unscaled targets has steep gradients, where a step of 0.1 diverges.
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="sgd", alpha=1e-4, batch_size=None,
                 learning_rate_init=0.001, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 n_iter_no_change=10, momentum=0.9, coefs_init=None, intercepts_init=None, dtype="float64",
                 verbose=False):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
                         learning_rate_init=learning_rate_init, max_iter=max_iter, shuffle=shuffle,
                         random_state=random_state, tol=tol, n_iter_no_change=n_iter_no_change, momentum=momentum,
                         coefs_init=coefs_init, intercepts_init=intercepts_init, dtype=dtype, verbose=verbose)

    def fit(self, X, y):
        """Train on ``X`` of shape (n_samples, n_features) and targets ``y`` of shape (n_samples,) or
        (n_samples, n_outputs); returns self."""
        X = self._check_X(X)
        if y is None:
            raise ValueError("y must be an array of numeric targets; got None (this estimator requires y to be "
                             "passed, but the target y is None)")
        y = check_array(y, "y", ndim=None, dtype=X.dtype)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs); got shape {y.shape}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y must have the same number of samples; got {X.shape[0]} rows in X and "
                             f"{y.shape[0]} in y")
        self._one_target = y.ndim == 1
        Y = y.reshape(-1, 1) if self._one_target else y
        return self._fit(X, Y.shape[1], lambda rows: Y[rows])

    def predict(self, X):
        """The network's output for each row of ``X``: shape (n_samples,), or (n_samples, n_outputs) when the
        model was fitted on several targets."""
        output = self._output(X)
        return output.ravel() if self._one_target else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


MLPRegressor.__doc__ = """Multi-layer perceptron regressor trained by minibatch gradient descent (chapter 6).

    The same layers and training loop as :class:`MLPClassifier`, with an identity output layer of one unit per
    target and scikit-learn's squared-error loss, :math:`\\frac{1}{2n} \\sum_i \\lVert \\hat y_i - y_i \\rVert^2`
    plus the same L2 term. ``score`` is the coefficient of determination :math:`R^2`. Parameter names and
    meanings follow ``sklearn.neural_network.MLPRegressor`` wherever the two overlap.
""" + _PARAMETERS.replace("LEARNING_RATE", "0.001").replace("momentum : float, default 0.0",
                                                              "momentum : float, default 0.9")
