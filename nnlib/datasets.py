"""The course's small data sets, all built in or read from files that ship with scikit-learn (nothing is downloaded).

- :func:`truth_table`: AND, OR and XOR (chapter 1);
- :data:`SIGMOID_EXAMPLE` and :func:`sigmoid_training_data`: the neuron of chapter 2;
- :func:`three_input_example`: the classic backpropagation example of chapter 3;
- :func:`moons` and :func:`moons_initial_weights`: the two moons and the published run of chapter 4;
- :func:`load_wine_frame`: the UCI wine data as a pandas DataFrame (chapter 5).
"""

from importlib import resources

import numpy as np

from ._validation import check_choice, check_non_negative_float, check_positive_int

__all__ = [
    "truth_table",
    "SIGMOID_EXAMPLE",
    "sigmoid_training_data",
    "three_input_example",
    "moons",
    "moons_initial_weights",
    "WINE_FEATURES",
    "wine_csv_path",
    "load_wine_frame",
]

_TRUTH_TABLES = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "xor": [0, 1, 1, 0],
    "nand": [1, 1, 1, 0],
}


def truth_table(name):
    """The four rows of a two-input logic gate.

    Parameters
    ----------
    name : {'and', 'or', 'xor', 'nand'}

    Returns
    -------
    X : ndarray of shape (4, 2), the inputs (0,0), (0,1), (1,0), (1,1) as floats
    y : ndarray of shape (4,), the gate's output (ints)
    """
    key = check_choice(name.lower() if isinstance(name, str) else name, "truth table", _TRUTH_TABLES)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    return X, np.array(_TRUTH_TABLES[key])


#: Chapter 2's worked example: the weights, the bias, and two inputs with their targets.
SIGMOID_EXAMPLE = {
    "weights": np.array([1.45, -0.66]),
    "bias": 0.0,
    "inputs": np.array([[1.66, 1.56], [2.0, 1.5]]),
    "targets": np.array([1, 0]),
}


def sigmoid_training_data():
    """Chapter 2's small labelled data set for training the neuron: 8 points with two features.

    Returns
    -------
    X : ndarray of shape (8, 2)
    y : ndarray of shape (8,), 0 or 1
    """
    X = np.array([[3, 1.5], [2, 1], [4, 1.5], [3, 4], [3.5, 0.5], [2, 0.5], [5.5, 1], [1, 1]])
    y = np.array([0, 1, 0, 1, 0, 1, 1, 0])
    return X, y


def three_input_example(target="first"):
    """Chapter 3's classic example: four rows of three binary inputs (the third is always 1).

    Parameters
    ----------
    target : {'first', 'xor'}
        'first': the output copies the first input, ``y = [0, 0, 1, 1]`` (one layer learns it);
        'xor': ``y = [0, 1, 1, 0]``, the XOR of the first two inputs (needs a hidden layer).

    Returns
    -------
    X : ndarray of shape (4, 3)
    y : ndarray of shape (4, 1)
    """
    targets = {"first": [0, 0, 1, 1], "xor": [0, 1, 1, 0]}
    key = check_choice(target, "target", targets)
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    return X, np.array(targets[key], dtype=float).reshape(-1, 1)


def moons(n_samples=200, noise=0.20, random_state=0):
    """Two interleaving half circles, as in chapter 4 (scikit-learn's ``make_moons``).

    With the defaults this is exactly the published data set: ``np.random.seed(0)`` followed by
    ``make_moons(200, noise=0.20)`` draws the same numbers as ``random_state=0``.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,), 0 or 1
    """
    from sklearn.datasets import make_moons

    n_samples = check_positive_int(n_samples, "n_samples")
    noise = check_non_negative_float(noise, "noise")
    return make_moons(n_samples, noise=noise, random_state=random_state)


def moons_initial_weights(hidden_size=3, seed=0):
    """The published run's initial weights for a 2-``hidden_size``-2 network (chapter 4).

    The run seeds NumPy's legacy generator with 0, then draws ``W1 = randn(2, h) / sqrt(2)`` and
    ``W2 = randn(h, 2) / sqrt(h)``; the biases start at zero.

    Returns
    -------
    coefs : list of two ndarrays, shapes (2, hidden_size) and (hidden_size, 2)
    intercepts : list of two zero ndarrays, shapes (hidden_size,) and (2,)
    """
    hidden_size = check_positive_int(hidden_size, "hidden_size")
    rng = np.random.RandomState(seed)  # the legacy generator, to reproduce the published numbers
    W1 = rng.randn(2, hidden_size) / np.sqrt(2)
    W2 = rng.randn(hidden_size, 2) / np.sqrt(hidden_size)
    return [W1, W2], [np.zeros(hidden_size), np.zeros(2)]


#: The 13 chemical measurements of the wine data, in the file's column order.
WINE_FEATURES = [
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280/od315_of_diluted_wines",
    "proline",
]


def wine_csv_path():
    """The path of ``wine_data.csv`` inside the installed scikit-learn."""
    return resources.files("sklearn.datasets.data") / "wine_data.csv"


def load_wine_frame():
    """The UCI wine data (178 wines, 3 cultivars, 13 features) as a pandas DataFrame (chapter 5).

    Read with pandas from the CSV file that ships inside scikit-learn. Its first row holds counts and class names,
    not column names, so it is skipped, and the columns are named here; the last column, ``target``, is the
    cultivar (0, 1 or 2).

    Returns
    -------
    frame : pandas.DataFrame of shape (178, 14)
    """
    import pandas as pd

    with resources.as_file(wine_csv_path()) as path:
        return pd.read_csv(path, skiprows=1, header=None, names=[*WINE_FEATURES, "target"])
