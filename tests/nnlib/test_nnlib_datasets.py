"""nnlib.datasets against hand-written tables, scikit-learn's loaders and the published seeding recipes."""

import numpy as np
import pytest
from sklearn.datasets import load_wine, make_moons

from nnlib import datasets


@pytest.fixture
def global_seed_restored():
    """The tests below call np.random.seed as the published runs do; put the global state back afterwards."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.mark.parametrize("name, outputs", [
    ("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("xor", [0, 1, 1, 0]), ("nand", [1, 1, 1, 0]), ("XOR", [0, 1, 1, 0]),
])
def test_truth_tables(name, outputs):
    X, y = datasets.truth_table(name)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert X.dtype == np.float64
    np.testing.assert_array_equal(y, outputs)


def test_truth_table_rejects_unknown_gates():
    with pytest.raises(ValueError, match=r"Unknown truth table 'nor'; choose from \['and', 'nand', 'or', 'xor'\]"):
        datasets.truth_table("nor")
    with pytest.raises(ValueError, match=r"Unknown truth table 1; choose from"):
        datasets.truth_table(1)


def test_sigmoid_example_is_chapter_2s():
    example = datasets.SIGMOID_EXAMPLE
    np.testing.assert_array_equal(example["weights"], [1.45, -0.66])
    assert example["bias"] == 0.0
    np.testing.assert_array_equal(example["inputs"], [[1.66, 1.56], [2.0, 1.5]])
    np.testing.assert_array_equal(example["targets"], [1, 0])


def test_sigmoid_training_data_shapes():
    X, y = datasets.sigmoid_training_data()
    assert X.shape == (8, 2) and y.shape == (8,)
    assert set(y.tolist()) == {0, 1}


def test_three_input_example():
    X, y = datasets.three_input_example()
    np.testing.assert_array_equal(X, [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    np.testing.assert_array_equal(y, [[0], [0], [1], [1]])
    X_xor, y_xor = datasets.three_input_example("xor")
    np.testing.assert_array_equal(X_xor, X)
    np.testing.assert_array_equal(y_xor, [[0], [1], [1], [0]])
    with pytest.raises(ValueError, match=r"Unknown target 'and'; choose from \['first', 'xor'\]"):
        datasets.three_input_example("and")


def test_moons_is_the_published_data_set(global_seed_restored):
    np.random.seed(0)
    X_published, y_published = make_moons(200, noise=0.20)
    X, y = datasets.moons()
    assert X.shape == (200, 2) and y.shape == (200,)
    np.testing.assert_array_equal(X, X_published)
    np.testing.assert_array_equal(y, y_published)


def test_moons_rejects_bad_sizes():
    with pytest.raises(ValueError, match=r"n_samples must be > 0; got 0"):
        datasets.moons(0)
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0; got -0.1"):
        datasets.moons(noise=-0.1)


@pytest.mark.parametrize("hidden_size", [3, 1, 5])
def test_moons_initial_weights_are_the_published_ones(hidden_size, global_seed_restored):
    np.random.seed(0)
    W1 = np.random.randn(2, hidden_size) / np.sqrt(2)
    W2 = np.random.randn(hidden_size, 2) / np.sqrt(hidden_size)
    coefs, intercepts = datasets.moons_initial_weights(hidden_size)
    np.testing.assert_array_equal(coefs[0], W1)
    np.testing.assert_array_equal(coefs[1], W2)
    np.testing.assert_array_equal(intercepts[0], np.zeros(hidden_size))
    np.testing.assert_array_equal(intercepts[1], np.zeros(2))


def test_moons_initial_weights_leave_the_global_generator_alone(global_seed_restored):
    np.random.seed(5)
    expected = np.random.random(3)
    np.random.seed(5)
    datasets.moons_initial_weights()
    np.testing.assert_array_equal(np.random.random(3), expected)
    with pytest.raises(ValueError, match=r"hidden_size must be > 0; got 0"):
        datasets.moons_initial_weights(0)


def test_load_wine_frame_equals_sklearns_wine():
    frame = datasets.load_wine_frame()
    reference = load_wine()
    assert frame.shape == (178, 14)
    assert list(frame.columns) == [*reference.feature_names, "target"]
    assert list(frame.columns[:13]) == datasets.WINE_FEATURES
    np.testing.assert_array_equal(frame[datasets.WINE_FEATURES].to_numpy(), reference.data)
    np.testing.assert_array_equal(frame["target"].to_numpy(), reference.target)
    assert frame["target"].value_counts().sort_index().tolist() == [59, 71, 48]  # the three cultivars
    assert datasets.wine_csv_path().name == "wine_data.csv"
