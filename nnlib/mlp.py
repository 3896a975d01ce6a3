r"""A multi-layer perceptron classifier with scikit-learn's interface (chapters 4-6).

:class:`MLPClassifier` stacks :class:`nnlib.layers.Dense` layers (hidden layers with one activation, then an
output layer of one logit per class), and trains them by minibatch gradient descent on scikit-learn's objective

.. math:: J = -\frac{1}{n} \sum_i \log \mathrm{softmax}(z_i)_{y_i} + \frac{\alpha}{2n} \sum_\ell \lVert W_\ell \rVert^2,

where :math:`n` is the number of samples in the batch. The output layer is a softmax over all classes, also for
two classes. It works wherever scikit-learn expects a classifier: ``clone``, ``Pipeline``, ``cross_val_score``,
``GridSearchCV``.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from tqdm.auto import tqdm

from ._validation import (
    check_array,
    check_choice,
    check_classes,
    check_finite_loss,
    check_labels,
    check_n_features,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
    check_shape,
)
from .activations import softmax
from .layers import Dense, Network

__all__ = ["MLPClassifier"]

_HIDDEN_ACTIVATIONS = ("identity", "logistic", "sigmoid", "tanh", "relu")
_DTYPES = ("float64", "float32")


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier trained by minibatch gradient descent.

    Parameter names and meanings follow ``sklearn.neural_network.MLPClassifier`` wherever the two overlap.

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
    learning_rate_init : float, default 0.1
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
    n_iter_ : int
        Epochs run.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    network_ : nnlib.layers.Network
        The trained layers (``coefs_`` and ``intercepts_`` are their arrays).
    """

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
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) before predicting"
            )

    def _initial_network(self, n_features, n_classes, rng, dtype):
        sizes = [n_features, *self._hidden_sizes(), n_classes]
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
        return Network(layers, loss="categorical_cross_entropy", alpha=self.alpha)

    # -- training -----------------------------------------------------------------------------------------------
    def fit(self, X, y):
        """Train on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape (n_samples,); returns self."""
        self._check_params()
        dtype = np.dtype(self.dtype)
        X = check_array(X, "X", dtype=dtype)
        y = check_labels(y, n_samples=X.shape[0])
        self.classes_ = check_classes(y)
        self.n_features_in_ = X.shape[1]
        # row k of the identity matrix is the one-hot target of class k: each batch picks its rows from it, so
        # the one-hot targets of the whole data set never exist in memory
        targets = np.eye(len(self.classes_), dtype=dtype)
        class_index = np.searchsorted(self.classes_, y)
        rng = np.random.default_rng(self.random_state)
        network = self._initial_network(X.shape[1], len(self.classes_), rng, dtype)

        n_samples = X.shape[0]
        batch_size = n_samples if self.batch_size is None else min(self.batch_size, n_samples)
        shuffle = self.shuffle and batch_size < n_samples
        velocities = [np.zeros_like(value) for _, value, _ in network.parameters()] if self.momentum else None

        self.loss_curve_ = []
        best_loss, no_improvement = np.inf, 0
        epochs = tqdm(range(self.max_iter), disable=not self.verbose, desc="epochs", unit="epoch")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in epochs:
                order = rng.permutation(n_samples) if shuffle else None
                total = 0.0
                for start in range(0, n_samples, batch_size):
                    # a slice is a view; shuffled batches copy only their own rows, never the whole data set
                    rows = slice(start, start + batch_size) if order is None else order[start : start + batch_size]
                    J = network.loss_and_gradients(X[rows], targets[class_index[rows]])
                    total += J * (min(start + batch_size, n_samples) - start)
                    self._update(network, velocities)
                loss = total / n_samples
                check_finite_loss(loss, epoch, self.learning_rate_init, "learning_rate_init",
                                  initial_loss=self.loss_curve_[0] if self.loss_curve_ else None)
                self.loss_curve_.append(loss)
                if self.verbose:
                    epochs.set_postfix(loss=f"{loss:.6f}")
                # early stopping on a stalled loss, as scikit-learn does it
                no_improvement = no_improvement + 1 if loss > best_loss - self.tol else 0
                best_loss = min(best_loss, loss)
                if no_improvement > self.n_iter_no_change:
                    break
        epochs.close()

        self.network_ = network
        self.coefs_ = [layer.W for layer in network.layers]
        self.intercepts_ = [layer.b for layer in network.layers]
        self.n_iter_ = len(self.loss_curve_)
        self.best_loss_ = best_loss
        return self

    def _update(self, network, velocities):
        """One step of gradient descent (with momentum when it is set) on every parameter."""
        if velocities is None:
            network.step(self.learning_rate_init)
            return
        for velocity, (_, value, grad) in zip(velocities, network.parameters()):
            velocity *= self.momentum
            velocity -= self.learning_rate_init * grad
            value += velocity

    # -- prediction ---------------------------------------------------------------------------------------------
    def _logits(self, X):
        self._check_fitted()
        X = check_array(X, "X", dtype=self.coefs_[0].dtype)
        check_n_features(X, self.n_features_in_)
        return self.network_.forward(X)

    def predict_proba(self, X):
        """Class probabilities (softmax of the output layer), shape (n_samples, n_classes)."""
        return softmax(self._logits(X))

    def predict(self, X):
        """The most probable class of each row of ``X``, shape (n_samples,)."""
        logits = self._logits(X)  # first: it raises NotFittedError before classes_ is looked up
        return self.classes_[np.argmax(logits, axis=1)]

