"""nnlib: the small neural-network library of the course *Neural Networks in Python*.

Importing ``nnlib`` loads only NumPy. The modules that need more load when first used: ``nnlib.MLPClassifier``
(scikit-learn), ``nnlib.datasets`` (scikit-learn, pandas), ``nnlib.plotting`` (matplotlib) and
``nnlib.progress_bar`` (tqdm).

Where each name is taught: the first chapter whose code uses it (``tests/nnlib/test_nnlib_chapter_map.py`` checks this
table against the chapters' imports, and the "(chapter N)" tags of the docstrings against the table).

==========================================================================  ===========================================
name                                                                        chapter
==========================================================================  ===========================================
``step``, ``Perceptron``, ``datasets.truth_table``                          1 the perceptron
``plotting.draw_network``, ``plotting.plot_decision_boundary``              1 the perceptron
``sigmoid``, ``SigmoidNeuron``, ``predict_neuron``, ``neuron_gradients``    2 prediction with a sigmoid neuron
``squared_error``, ``datasets.SIGMOID_EXAMPLE``                             2 prediction with a sigmoid neuron
``datasets.sigmoid_training_data``                                          2 prediction with a sigmoid neuron
``Dense``, ``Network``, ``one_hot``, ``check_network_gradients``            3 backpropagation from scratch
``gradcheck.numerical_gradient``, ``gradcheck.rel_error``                   3 backpropagation from scratch
``datasets.three_input_example``, ``plotting.plot_loss_curve``              3 backpropagation from scratch
``MLPClassifier``, ``datasets.moons``, ``datasets.moons_initial_weights``   4 the moons network
``progress_bar``                                                            4 the moons network
``softmax``, ``relu``, ``datasets.load_wine_frame``                         5 scikit-learn's MLP on the wine data
``datasets.wine_csv_path``                                                  5 scikit-learn's MLP on the wine data
``plotting.plot_activations``                                               6 evaluating and improving a network
``MLPRegressor``                                                            6 evaluating and improving a network
==========================================================================  ===========================================

Used by the library and the exercises rather than imported by a chapter: ``perceptron_update`` (the rule behind
``Perceptron``), ``tanh`` and the tables ``ACTIVATIONS`` and ``LOSSES``, the cross-entropies, ``optim`` (``SGD`` and
the epoch loop ``train`` that every model trains with) and ``DivergenceError``.
"""

import importlib

from . import activations, gradcheck, layers, losses, optim
from ._validation import DivergenceError
from .activations import ACTIVATIONS, relu, sigmoid, softmax, step, tanh
from .gradcheck import check_network_gradients, numerical_gradient, rel_error
from .layers import Dense, Network, one_hot
from .losses import LOSSES, binary_cross_entropy, categorical_cross_entropy, squared_error
from .neuron import SigmoidNeuron, neuron_gradients, predict_neuron

__version__ = "0.1.0"

# scikit-learn's estimators (and what builds on them) load with scikit-learn, on first use
_LAZY = {"MLPClassifier": ("nnlib.mlp", "MLPClassifier"), "MLPRegressor": ("nnlib.mlp", "MLPRegressor"),
         "Perceptron": ("nnlib.perceptron", "Perceptron"),
         "perceptron_update": ("nnlib.perceptron", "perceptron_update"),
         "perceptron": ("nnlib.perceptron", None), "datasets": ("nnlib.datasets", None),
         "plotting": ("nnlib.plotting", None), "mlp": ("nnlib.mlp", None),
         "progress": ("nnlib.progress", None), "progress_bar": ("nnlib.progress", "progress_bar")}

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Dense",
    "DivergenceError",
    "MLPClassifier",
    "MLPRegressor",
    "Network",
    "Perceptron",
    "SigmoidNeuron",
    "activations",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "check_network_gradients",
    "datasets",
    "gradcheck",
    "layers",
    "losses",
    "neuron_gradients",
    "numerical_gradient",
    "one_hot",
    "optim",
    "perceptron_update",
    "plotting",
    "predict_neuron",
    "progress",
    "progress_bar",
    "rel_error",
    "relu",
    "sigmoid",
    "softmax",
    "squared_error",
    "step",
    "tanh",
]


def __getattr__(name):
    """Load the heavier modules (scikit-learn, pandas, matplotlib) only when they are first used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'nnlib' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
