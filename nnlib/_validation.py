"""Input checks shared by every public function of nnlib.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the argument, says what was expected and
shows what arrived, so a learner can fix the call without reading the library.
"""

import numbers
import warnings

import numpy as np


def _describe(value):
    """A short description of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_array(X, name="X", ndim=2, dtype=np.float64, allow_empty=False):
    """Return ``X`` as a finite float array with ``ndim`` dimensions, or raise.

    Parameters
    ----------
    X : array-like
        The values to check.
    name : str
        The argument's name, used in error messages.
    ndim : int or None
        The required number of dimensions (None: any).
    dtype : numpy dtype
        The floating-point dtype of the result.
    allow_empty : bool
        Whether an array with no samples (first axis of length 0) is allowed.
    """
    if X is None:
        raise TypeError(f"{name} must be an array of numbers; got None")
    if isinstance(X, str):
        raise TypeError(f"{name} must be an array of numbers; got the string {X!r}")
    with warnings.catch_warnings():
        # NumPy only warns when it drops the imaginary part of complex numbers: make that an error of ours
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            arr = np.asarray(X, dtype=dtype)
        except np.exceptions.ComplexWarning:
            raise ValueError(f"{name} must hold real numbers; got complex values (Complex data not supported)") \
                from None
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be an array of numbers; got {_describe(X)} ({err})") from None
    if ndim is not None and arr.ndim != ndim:
        shape_hint = {2: "2-D (n_samples, n_features)"}.get(ndim, f"{ndim}-D")
        extra = ("; Reshape your data: use X.reshape(-1, 1) for a single feature, X.reshape(1, -1) for a single "
                 "sample") if ndim == 2 and arr.ndim == 1 else ""
        raise ValueError(f"{name} must be {shape_hint}; got shape {arr.shape}{extra}")
    if ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one feature; got 0 feature(s) (shape={arr.shape}) while a "
                         "minimum of 1 is required.")
    if not allow_empty and arr.ndim >= 1 and arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample; got shape {arr.shape}")
    # A sum is finite only if every entry is (NaN and inf propagate), and it needs no temporary array;
    # only when it is not finite do we look entry by entry.
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total) and not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must hold only finite numbers; got {n_bad} NaN or inf value(s)")
    return arr


def check_labels(y, name="y", n_samples=None):
    """Return ``y`` as a 1-D array of class labels, or raise.

    Labels may be of any type (numbers, strings); numeric labels must be finite.
    """
    if y is None:
        # a ValueError, as scikit-learn raises for a missing target
        raise ValueError(f"{name} must be a 1-D array of labels; got None (this estimator requires y to be "
                         "passed, but the target y is None)")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        from sklearn.exceptions import DataConversionWarning  # loaded only here: importing nnlib stays light

        warnings.warn(f"A column-vector {name} was passed when a 1d array was expected: {name} of shape "
                      f"{arr.shape} was read as shape ({arr.shape[0]},); pass {name}.ravel() to avoid this warning",
                      DataConversionWarning, stacklevel=3)
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,); got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample; got shape {arr.shape}")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold only finite labels; got NaN or inf")
    if arr.dtype.kind == "O" and any(isinstance(v, float) and not np.isfinite(v) for v in arr):
        raise ValueError(f"{name} must hold only finite labels; got NaN or inf")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(
            f"X and {name} must have the same number of samples; got {n_samples} rows in X and "
            f"{arr.shape[0]} in {name}"
        )
    return arr


def check_classes(y, name="y"):
    """Return the sorted distinct labels of ``y``; raise if there are fewer than two."""
    classes = np.unique(y)
    if classes.shape[0] < 2:
        raise ValueError(
            f"{name} must contain at least two classes to train a classifier; got only one class, {classes.tolist()}"
        )
    return classes


def check_class_labels(y, name="y"):
    """Raise if ``y`` holds numbers that are not whole: a continuous target, which a classifier cannot learn.

    As in scikit-learn's ``type_of_target``, floats with a fractional part are 'continuous'; whole floats such as
    0.0 and 1.0 are class labels.
    """
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        n_distinct = np.unique(y).shape[0]
        raise ValueError(
            f"Unknown label type: continuous. {name} must hold class labels (ints, strings or whole numbers); got "
            f"{n_distinct} distinct numbers, not all whole, such as {y[y != np.round(y)][:3].tolist()}. For a "
            "numeric target use a regressor (nnlib.MLPRegressor)"
        )
    return y


def check_n_features(X, n_expected, estimator, name="X"):
    """Raise if ``X`` does not have ``n_expected`` columns; ``estimator`` is the model (its class names it)."""
    if X.shape[1] != n_expected:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but {type(estimator).__name__} is expecting {n_expected} features "
            f"as input (it was fitted with {n_expected})"
        )


def check_positive_int(value, name, allow_none=False):
    """Return ``value`` as an int if it is an integer > 0, else raise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer; got {_describe(value)}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0; got {value}")
    return int(value)


def check_positive_float(value, name):
    """Return ``value`` as a float if it is a finite number > 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number; got {_describe(value)}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value}")
    return float(value)


def check_non_negative_float(value, name):
    """Return ``value`` as a float if it is a finite number >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a non-negative number; got {_describe(value)}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value}")
    return float(value)


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``, else raise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"Unknown {name} {value!r}; choose from {sorted(choices)}")
    return value


def check_shape(arr, expected, name):
    """Return ``arr`` as a finite float array of shape ``expected``, or raise."""
    arr = check_array(arr, name=name, ndim=None, allow_empty=True)
    if arr.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}; got shape {arr.shape}")
    return arr


class DivergenceError(FloatingPointError):
    """Training stopped because the loss became NaN or infinite, or grew far beyond its starting value."""


#: A loss this many times its first value (or 1, whichever is larger) counts as diverged, even while finite: a
#: cross-entropy grows only linearly in the logits, so a run with far too large steps can climb to 1e30 and beyond
#: without ever overflowing.
DIVERGENCE_FACTOR = 1e6


def check_finite_loss(loss, epoch, learning_rate, rate_name="learning_rate", initial_loss=None):
    """Raise :class:`DivergenceError` if ``loss`` is NaN or infinite, or (when ``initial_loss``, the first epoch's
    loss, is given) larger than ``DIVERGENCE_FACTOR * max(initial_loss, 1)``; the message suggests a smaller
    learning rate."""
    if not np.isfinite(loss):
        what = f"the loss became {loss}"
    elif initial_loss is not None and loss > DIVERGENCE_FACTOR * max(initial_loss, 1.0):
        what = f"the loss grew from {initial_loss:.4g} to {loss:.4g}"
    else:
        return
    raise DivergenceError(
        f"Training diverged at epoch {epoch}: {what}. The steps are too large for this "
        f"problem; try a smaller {rate_name} (now {learning_rate}), e.g. {learning_rate / 10:g}."
    )


def raise_not_fitted(estimator):
    """Raise scikit-learn's ``NotFittedError`` (a ValueError and an AttributeError) for an unfitted model."""
    from sklearn.exceptions import NotFittedError  # loaded only here: importing nnlib stays light

    raise NotFittedError(f"This {type(estimator).__name__} is not fitted yet; call fit(X, y) before predicting")
