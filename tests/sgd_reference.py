"""scikit-learn's plain SGD from given weights: the reference that nnlib's MLPClassifier and MLPRegressor must
match step for step (tests/nnlib/test_nnlib_mlp.py, tests/nnlib/test_nnlib_regressor.py)."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

BIG = 10**6


def initial_weights(sizes, seed=0, weight_scale=0.6, bias_scale=0.2):
    """Random weights and biases for layers of ``sizes`` units (inputs first), as lists of arrays."""
    rng = np.random.default_rng(seed)
    coefs = [rng.normal(0, weight_scale, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [rng.normal(0, bias_scale, b) for b in sizes[1:]]
    return coefs, intercepts


def sklearn_run(estimator_class, hidden, X, y, coefs, intercepts, epochs, **kwargs):
    """Train scikit-learn's ``estimator_class`` with plain SGD for ``epochs`` epochs from the given weights: fit
    once to create coefs_, overwrite them, then warm-start. (Its loss_curve_ keeps the throw-away fit first.)"""
    model = estimator_class(hidden_layer_sizes=hidden, solver="sgd", learning_rate="constant",
                            nesterovs_momentum=False, warm_start=True, shuffle=False, early_stopping=False,
                            n_iter_no_change=BIG, tol=0, max_iter=1, random_state=0, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter epochs is all we ask for
        model.fit(X, y)
        model.coefs_ = [c.copy() for c in coefs]
        model.intercepts_ = [b.copy() for b in intercepts]
        model.set_params(max_iter=epochs)
        model.fit(X, y)
    return model
