"""Importing nnlib loads only NumPy: scikit-learn, pandas and matplotlib load when first used.

The scikit-learn estimators (Perceptron, MLPClassifier, MLPRegressor) load scikit-learn when first used."""

import subprocess
import sys

# One fresh interpreter (each costs seconds on a busy machine): after each step, print the heavy packages loaded.
PROBE = """
import sys
def loaded():
    print(",".join(m for m in ("sklearn", "pandas", "matplotlib") if m in sys.modules))
import nnlib
nnlib.Network, nnlib.SigmoidNeuron, nnlib.gradcheck, nnlib.optim
loaded()
nnlib.Perceptron
loaded()
nnlib.plotting
loaded()
nnlib.datasets.load_wine_frame()
loaded()
"""


def test_import_nnlib_loads_none_of_the_heavy_packages(tmp_path):
    # run outside the repository, so that `import nnlib` finds the installed package, as a notebook does
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True,
                            cwd=tmp_path)
    after_import, after_perceptron, after_plotting, after_wine = [set(filter(None, line.split(",")))
                                                                 for line in result.stdout.splitlines()]
    assert after_import == set()
    assert "sklearn" in after_perceptron
    assert "matplotlib" in after_plotting
    assert "pandas" in after_wine
