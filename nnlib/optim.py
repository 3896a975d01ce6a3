r"""Gradient descent and the epoch loop: the one place where nnlib updates weights (chapters 3-6).

:class:`SGD` applies one step of gradient descent, with optional classical momentum, to a list of parameters:

.. math:: v \leftarrow \mu v - \eta\, \nabla_\theta J, \qquad \theta \leftarrow \theta + v

(with :math:`\mu = 0` this is plain :math:`\theta \leftarrow \theta - \eta\, \nabla_\theta J`).

:func:`train` runs epochs of minibatch gradient descent on a :class:`nnlib.layers.Network`. ``Network.fit``,
:class:`nnlib.MLPClassifier` and :class:`nnlib.MLPRegressor` all train through it.
"""

import numpy as np

from ._validation import check_finite_loss

__all__ = ["SGD", "train"]


class SGD:
    r"""Stochastic gradient descent with optional momentum.

    Parameters
    ----------
    parameters : list of (value, gradient) pairs of ndarrays
        The arrays to update in place, each with the array its gradient is written into.
    learning_rate : float
        The step size :math:`\eta`.
    momentum : float, default 0.0
        :math:`\mu` in [0, 1); 0 is plain gradient descent and keeps no velocities.
    """

    def __init__(self, parameters, learning_rate, momentum=0.0):
        self.parameters = list(parameters)
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.velocities = [np.zeros_like(value) for value, _ in self.parameters] if momentum else None

    def step(self):
        """Update every parameter in place from its current gradient."""
        learning_rate = self.learning_rate
        if self.velocities is None:
            for value, grad in self.parameters:
                value -= learning_rate * grad
            return
        for velocity, (value, grad) in zip(self.velocities, self.parameters):
            velocity *= self.momentum
            velocity -= learning_rate * grad
            value += velocity


def train(network, X, batch_targets, optimizer, *, max_iter, batch_size=None, shuffle=False, rng=None, tol=0.0,
          n_iter_no_change=None, rate_name="learning_rate", verbose=False):
    """Epochs of minibatch gradient descent on ``network``; returns ``(loss_curve, best_loss)``.

    Parameters
    ----------
    network : nnlib.layers.Network
    X : ndarray of shape (n_samples, n_features)
    batch_targets : callable
        ``batch_targets(rows)`` returns the targets of the samples ``X[rows]`` (``rows`` is a slice or an index
        array), in the shape of the network's output.
    optimizer : SGD
        Built on ``network``'s parameters; called once per batch.
    max_iter : int
        The largest number of epochs.
    batch_size : int or None
        Samples per step; None (or at least ``n_samples``) is full-batch gradient descent.
    shuffle : bool
        Visit the samples in a new order each epoch (with minibatches only), drawn from ``rng``.
    rng : numpy.random.Generator, optional
    tol, n_iter_no_change : float, int or None
        Stop after more than ``n_iter_no_change`` epochs in a row whose loss is not below the best so far minus
        ``tol``; None never stops early.
    rate_name : str
        The learning-rate argument's name, for the message of a diverging run.
    verbose : bool
        Show a progress bar of the epochs with the loss (:func:`nnlib.progress.progress_bar`).

    Returns
    -------
    loss_curve : list of float
        The mean objective of each epoch, from its batches' forward passes (each before its own update).
    best_loss : float
    """
    n_samples = X.shape[0]
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    shuffle = shuffle and batch_size < n_samples
    loss_curve = []
    best_loss, no_improvement = np.inf, 0
    if verbose:
        from .progress import progress_bar  # loads tqdm, only for a progress bar

        epochs = progress_bar(range(max_iter), "epochs")
    else:
        epochs = range(max_iter)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in epochs:
            order = rng.permutation(n_samples) if shuffle else None
            total = 0.0
            for start in range(0, n_samples, batch_size):
                # a slice is a view; shuffled batches copy only their own rows, never the whole data set
                rows = slice(start, start + batch_size) if order is None else order[start : start + batch_size]
                J = network.loss_and_gradients(X[rows], batch_targets(rows))
                total += J * (min(start + batch_size, n_samples) - start)
                optimizer.step()
            loss = J if batch_size == n_samples else total / n_samples
            check_finite_loss(loss, epoch, optimizer.learning_rate, rate_name,
                              initial_loss=loss_curve[0] if loss_curve else None)
            loss_curve.append(loss)
            if verbose:
                epochs.set_postfix(loss=f"{loss:.6f}")
            if n_iter_no_change is None:
                continue
            # early stopping on a stalled loss, as scikit-learn does it
            no_improvement = no_improvement + 1 if loss > best_loss - tol else 0
            best_loss = min(best_loss, loss)
            if no_improvement > n_iter_no_change:
                break
    if verbose:
        epochs.close()
    return loss_curve, min(loss_curve)
