"""nnlib: the small neural-network library of the course *Neural Networks in Python*.

Importing ``nnlib`` loads only NumPy. The modules that need more load when first used: ``nnlib.MLPClassifier``
(scikit-learn), ``nnlib.datasets`` (scikit-learn, pandas) and ``nnlib.plotting`` (matplotlib).

Where each name is taught:

========================================  =====================================
name                                      chapter
========================================  =====================================
``activations.step``, ``Perceptron``      1, the perceptron
``activations.sigmoid``, ``SigmoidNeuron``,
``predict_neuron``, ``squared_error``     2, prediction with a sigmoid neuron
``Dense``, ``Network``, ``gradcheck``     3, backpropagation from scratch
``softmax``, ``categorical_cross_entropy``,
``MLPClassifier``                         4, the moons network
``datasets.load_wine_frame``              5, scikit-learn's MLP on the wine data
``relu``, ``plotting``                    6, evaluating and improving a network
========================================  =====================================
"""

import importlib

from . import activations, gradcheck, layers, losses
from ._validation import DivergenceError
from .activations import ACTIVATIONS, relu, sigmoid, softmax, step, tanh
from .gradcheck import check_network_gradients, numerical_gradient, rel_error
from .layers import Dense, Network, one_hot
from .losses import LOSSES, binary_cross_entropy, categorical_cross_entropy, squared_error
from .neuron import SigmoidNeuron, neuron_gradients, predict_neuron
from .perceptron import Perceptron, perceptron_update

__version__ = "0.1.0"

_LAZY = {"MLPClassifier": ("nnlib.mlp", "MLPClassifier"), "datasets": ("nnlib.datasets", None),
         "plotting": ("nnlib.plotting", None), "mlp": ("nnlib.mlp", None)}

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Dense",
    "DivergenceError",
    "MLPClassifier",
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
    "perceptron_update",
    "plotting",
    "predict_neuron",
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
