r"""A from-scratch layered network: dense layers as forward/backward pairs (chapters 3-4).

A :class:`Dense` layer computes :math:`A = g(XW + b)` and keeps what its backward pass needs. Its ``backward``
takes :math:`dA = \partial L / \partial A` and returns :math:`dX = \partial L / \partial X`, storing the parameter
gradients ``dW`` and ``db`` on the layer, where a learner (or :func:`nnlib.gradcheck.check_network_gradients`) can
compare them with finite differences. A :class:`Network` chains layers, adds a loss and an L2 penalty, and takes
gradient-descent steps. :class:`nnlib.MLPClassifier` trains exactly these objects.

Shapes follow scikit-learn: rows are samples, ``W`` has shape ``(n_in, n_out)``.
"""

import numpy as np

from . import optim
from ._validation import (
    check_array,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
    check_shape,
)
from .activations import get_activation
from .losses import get_loss

__all__ = ["Dense", "Network", "glorot_uniform", "one_hot"]


def glorot_uniform(n_in, n_out, activation="identity", random_state=None, dtype=np.float64):
    r"""Glorot (Xavier) uniform initial weights, as scikit-learn's MLP draws them.

    :math:`W_{jk} \sim U(-r, r)` with :math:`r = \sqrt{6 / (n_{in} + n_{out})}` (the factor is 2 instead of 6
    for the logistic activation); the biases are drawn the same way.

    Parameters
    ----------
    n_in, n_out : int
    activation : str
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    W : ndarray of shape (n_in, n_out)
    b : ndarray of shape (n_out,)
    """
    rng = np.random.default_rng(random_state)
    factor = 2.0 if get_activation(activation).name == "logistic" else 6.0
    bound = np.sqrt(factor / (n_in + n_out))
    W = rng.uniform(-bound, bound, size=(n_in, n_out)).astype(dtype)
    b = rng.uniform(-bound, bound, size=n_out).astype(dtype)
    return W, b


def one_hot(y, classes=None):
    """One-hot encode labels.

    Parameters
    ----------
    y : ndarray of shape (n_samples,), labels of any type
    classes : ndarray of shape (n_classes,), sorted, optional
        Defaults to the sorted distinct values of ``y``.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_classes), ``Y[i, k] = 1`` where ``y[i] == classes[k]``
    """
    y = np.asarray(y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    index = np.searchsorted(classes, y)
    if np.any(index >= len(classes)) or np.any(classes[np.minimum(index, len(classes) - 1)] != y):
        unknown = sorted(set(np.asarray(y).tolist()) - set(classes.tolist()))
        raise ValueError(f"y holds labels not in classes {classes.tolist()}: {unknown[:5]}")
    Y = np.zeros((y.shape[0], len(classes)))
    Y[np.arange(y.shape[0]), index] = 1.0
    return Y


class Dense:
    r"""A fully connected layer, :math:`A = g(XW + b)` (chapter 3).

    Parameters
    ----------
    n_in : int
        Number of inputs (features or units of the previous layer).
    n_out : int
        Number of units of this layer.
    activation : str, default 'identity'
        A name from :data:`nnlib.activations.ACTIVATIONS`.
    use_bias : bool, default True
        Whether the layer adds a bias :math:`b` (chapter 3's first example has none).
    random_state : int, numpy.random.Generator or None
        Seed for the Glorot-uniform initial weights (:func:`glorot_uniform`).
    dtype : numpy dtype, default float64

    Attributes
    ----------
    W : ndarray of shape (n_in, n_out)
    b : ndarray of shape (n_out,), or None without a bias
    dW, db : the gradients of the loss with respect to ``W`` and ``b``, filled by :meth:`backward`
    """

    def __init__(self, n_in, n_out, activation="identity", *, use_bias=True, random_state=None, dtype=np.float64):
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        self.activation = get_activation(activation)
        W, b = glorot_uniform(self.n_in, self.n_out, self.activation.name, random_state, dtype)
        self.W = W
        self.b = b if use_bias else None
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b) if use_bias else None
        self._cache = None

    def set_weights(self, W, b=None):
        """Replace the weights (and the bias, if given) by copies of ``W`` and ``b``, checking their shapes."""
        self.W[...] = check_shape(W, self.W.shape, "W")
        if b is not None:
            if self.b is None:
                raise ValueError("b was given, but this layer was made with use_bias=False")
            self.b[...] = check_shape(b, self.b.shape, "b")
        return self

    def parameters(self):
        """The layer's parameters and their gradients, as ``{name: (value, gradient)}``."""
        params = {"W": (self.W, self.dW)}
        if self.b is not None:
            params["b"] = (self.b, self.db)
        return params

    def forward(self, X):
        r"""Affine map then activation, :math:`Z = XW + b`, :math:`A = g(Z)`.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_in)

        Returns
        -------
        A : ndarray of shape (n_samples, n_out)
        """
        Z = X @ self.W
        if self.b is not None:
            Z += self.b
        if self.activation.in_place is not None:
            # Z is this call's own temporary and the backward pass reads only A: compute A in Z's memory
            A = self.activation.in_place(Z)
            self._cache = (X, None, A)
        else:
            A = self.activation.function(Z)
            self._cache = (X, Z, A)
        return A

    def backward(self, dA, need_dX=True):
        r"""Backpropagate through the layer: the chain rule, one line per quantity.

        .. math:: dZ = dA \odot g'(Z), \quad dW = X^\top dZ, \quad db = \textstyle\sum_i dZ_i, \quad dX = dZ W^\top

        Parameters
        ----------
        dA : ndarray of shape (n_samples, n_out)
            Gradient of the loss with respect to this layer's output.
        need_dX : bool, default True
            The first layer of a network can skip computing ``dX``, which nothing uses.

        Returns
        -------
        dX : ndarray of shape (n_samples, n_in), or None when ``need_dX`` is False
        """
        if self._cache is None:
            raise RuntimeError("Dense.backward was called before forward")
        X, Z, A = self._cache
        dZ = self.activation.backward(dA, Z, A)   # (n_samples, n_out)
        np.matmul(X.T, dZ, out=self.dW)            # (n_in, n_out)
        if self.b is not None:
            dZ.sum(axis=0, out=self.db)            # (n_out,)
        return dZ @ self.W.T if need_dX else None  # (n_samples, n_in)

    # Saving (pickle, joblib, skops): the activation is stored by its name, and the cache of the last forward pass,
    # which holds a batch of training data, is left out.
    def __getstate__(self):
        return {**self.__dict__, "activation": self.activation.name, "_cache": None}

    def __setstate__(self, state):
        self.__dict__.update(state, activation=get_activation(state["activation"]))

    def __repr__(self):
        bias = "" if self.b is not None else ", use_bias=False"
        return f"Dense({self.n_in}, {self.n_out}, activation={self.activation.name!r}{bias})"


class Network:
    r"""Layers in sequence, a loss on the last layer's output, and an L2 penalty (chapters 3-4).

    The training objective is scikit-learn's:

    .. math:: J = L(Y, \text{output}) + \frac{\alpha}{2n} \sum_{\ell} \lVert W_\ell \rVert^2

    where :math:`L` is a mean over the :math:`n` samples (biases are not penalised). With
    ``loss='categorical_cross_entropy'`` the last layer should have the identity activation: the loss applies the
    softmax to those logits itself, which is exact and cannot overflow.

    Parameters
    ----------
    layers : list of Dense
    loss : str, default 'categorical_cross_entropy'
        A name from :data:`nnlib.losses.LOSSES`.
    alpha : float, default 0.0
        L2 regularisation strength.
    """

    def __init__(self, layers, loss="categorical_cross_entropy", alpha=0.0):
        layers = list(layers)
        if not layers or not all(isinstance(layer, Dense) for layer in layers):
            raise TypeError(f"layers must be a non-empty list of Dense layers; got {layers!r}")
        for i, (a, b) in enumerate(zip(layers, layers[1:])):
            if a.n_out != b.n_in:
                raise ValueError(f"layers[{i}] has {a.n_out} outputs but layers[{i + 1}] expects {b.n_in} inputs")
        self.layers = layers
        self.loss = get_loss(loss)
        self.alpha = check_non_negative_float(alpha, "alpha")

    def forward(self, X):
        """Run ``X`` of shape (n_samples, n_in) through every layer; returns the last layer's output."""
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def penalty(self, n_samples):
        r"""The L2 term :math:`\frac{\alpha}{2n} \sum_\ell \lVert W_\ell \rVert^2`."""
        if self.alpha == 0.0:
            return 0.0
        return 0.5 * self.alpha * sum(float(np.vdot(layer.W, layer.W)) for layer in self.layers) / n_samples

    def objective(self, X, Y):
        """The training objective (loss plus penalty) at the current parameters, without gradients."""
        return self.loss.function(Y, self.forward(X)) + self.penalty(X.shape[0])

    def loss_and_gradients(self, X, Y):
        r"""Forward pass, objective, then backward pass filling every layer's ``dW`` and ``db``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_in)
        Y : ndarray of the shape of the network's output (one-hot targets for cross-entropy)

        Returns
        -------
        J : float, the objective before this step
        """
        n_samples = X.shape[0]
        output = self.forward(X)
        loss, d = self.loss.value_and_gradient(Y, output)
        J = loss + self.penalty(n_samples)
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            d = layer.backward(d, need_dX=i > 0)
            if self.alpha:
                layer.dW += (self.alpha / n_samples) * layer.W  # gradient of the L2 penalty
        return J

    def parameters(self):
        """Every parameter with its gradient, as a list of ``(name, value, gradient)``, e.g. ``'layers[0].W'``."""
        return [
            (f"layers[{i}].{name}", value, grad)
            for i, layer in enumerate(self.layers)
            for name, (value, grad) in layer.parameters().items()
        ]

    def step(self, learning_rate):
        r"""One gradient-descent step on every parameter, :math:`\theta \leftarrow \theta - \eta\, d\theta`."""
        optim.SGD([(value, grad) for _, value, grad in self.parameters()], learning_rate).step()

    def fit(self, X, Y, learning_rate=0.1, epochs=1000):
        """Full-batch gradient descent for ``epochs`` steps; returns the objective before each step (a list).

        A small loop for the chapters; :class:`nnlib.MLPClassifier` adds minibatches, shuffling, momentum and
        a stop on a stalled loss, through the same :func:`nnlib.optim.train`.
        """
        X = check_array(X, "X", dtype=self.layers[0].W.dtype)
        Y = check_array(Y, "Y", ndim=None, dtype=self.layers[0].W.dtype)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X and Y must have the same number of samples; got {X.shape[0]} and {Y.shape[0]}")
        if X.shape[1] != self.layers[0].n_in:
            raise ValueError(f"X has {X.shape[1]} features, but layers[0] expects {self.layers[0].n_in} inputs")
        if Y.shape != (X.shape[0], self.layers[-1].n_out):
            raise ValueError(
                f"Y must have shape {(X.shape[0], self.layers[-1].n_out)}, one column per output of the last layer; "
                f"got shape {Y.shape}" + (" (use y.reshape(-1, 1) for one output)" if Y.ndim == 1 else "")
            )
        learning_rate = check_positive_float(learning_rate, "learning_rate")
        epochs = check_positive_int(epochs, "epochs")
        optimizer = optim.SGD([(value, grad) for _, value, grad in self.parameters()], learning_rate)
        history, _ = optim.train(self, X, lambda rows: Y[rows], optimizer, max_iter=epochs)
        return history

    # Saving: the loss is stored by its name, as a layer's activation is.
    def __getstate__(self):
        return {**self.__dict__, "loss": self.loss.name}

    def __setstate__(self, state):
        self.__dict__.update(state, loss=get_loss(state["loss"]))

    def __repr__(self):
        inner = ",\n    ".join(repr(layer) for layer in self.layers)
        return f"Network([\n    {inner}\n], loss={self.loss.name!r}, alpha={self.alpha})"
