"""The judge's parts on their own, in one process (no kernel): the wire format, the references to a student's
objects, the namespace a test runs in, its verdicts, and nnlib without the answer key.

The kernel's side (grading/plugins/judge_kernel.py) runs here against a stand-in for IPython's shell, so a request
makes the same round trip as in grading (JSON text in, JSON answer out), only without the sockets. The real pipeline,
with a real sandboxed kernel, is exercised by tests/grading/test_grading_attacks.py and tests/grading/test_answers.py.
"""

import base64
import io
import json
import sys
import types

import nbformat
import numpy as np
import pandas as pd
import pytest
from grading_cases import ROOT

from grading import answer_key  # noqa: E402
from grading.plugins import judge, wire  # noqa: E402

# ---- a kernel's side of the judge, in this process -----------------------------------------------------------

class FakeShell:
    def __init__(self, user_ns):
        self.user_ns = user_ns
        self.published = []
        self.display_pub = types.SimpleNamespace(publish=lambda data, metadata: self.published.append(data))


def student(**user_ns):
    """A judge whose 'kernel' is this process, with the student's globals ``user_ns``; returns (judge, shell)."""
    shell = FakeShell(user_ns)
    space = {"get_ipython": lambda: shell}
    exec(compile((ROOT / "grading" / "plugins" / "judge_kernel.py").read_text(), "judge_kernel", "exec"), space)
    module = f"_nn_judge_test_{id(shell)}"
    space["install"]((ROOT / "grading" / "plugins" / "wire.py").read_text(), module)
    serve = sys.modules.pop(module).serve

    def transport(request, seconds):
        serve(json.dumps(request))  # what the kernel receives is text
        answer = shell.published.pop()[wire.MIME]
        return json.loads(json.dumps(answer))  # and what comes back is JSON

    plan = judge.Plan(nbformat.v4.new_notebook())
    j = judge.Judge(plan, transport)
    j.namespace["np"] = np  # as a setup cell's `import numpy as np` would
    return j, shell


def run(j, source, grade_id="test_x"):
    j.plan.tests[grade_id] = source
    return j.run_test(grade_id)


def verdict(outputs):
    errors = [o for o in outputs if o.output_type == "error"]
    return (errors[0].ename, errors[0].evalue) if errors else None


# ---- the wire -------------------------------------------------------------------------------------------------

DATA = [None, True, 3, -2.5, float("inf"), float("nan"), 1 + 2j, "text", b"\x00bytes", [1, [2, (3,)]],
        {"a": 1, (1.0, 20): 0.98, 3: None}, {1, 2}, frozenset({"x"}), np.arange(6).reshape(2, 3),
        np.array([True, False]), np.float32(1.5), np.array(2.0), np.zeros((2, 2), dtype=np.complex64)]


@pytest.mark.parametrize("value", DATA, ids=lambda v: type(v).__name__)
def test_data_crosses_unchanged(value):
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value


def test_pandas_frames_cross_as_data():
    frame = pd.DataFrame({"alcohol": [13.2, 12.1], "hue": [1.0, 0.9]}, index=[5, 9])
    back = wire.decode(wire.encode(frame))
    pd.testing.assert_frame_equal(back, frame, check_index_type=False)
    series = wire.decode(wire.encode(frame["hue"]))
    assert list(series.index) == [5, 9] and series.name == "hue"


class Subarray(np.ndarray):
    pass


@pytest.mark.parametrize("value", [object(), len, Subarray((2,)), np.array([object()]),
                                   np.zeros(2, dtype=[("a", "f8")]), type("MyList", (list,), {})()],
                         ids=["object", "function", "subclass", "object-array", "structured", "list-subclass"])
def test_what_is_not_data_never_crosses_as_data(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)
    assert wire.encode(value, ref=lambda obj: {"t": "ref"})["t"] == "ref"


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize("node", [
    {"t": "ndarray", "v": _npy(np.array([print], dtype=object), allow_pickle=True)},  # would unpickle
    {"t": "float", "v": "__import__('os')"},
    {"t": "ref", "id": 1, "type": {"name": "x", "qualname": "x", "module": "x"}},  # no deref: not data
    {"t": "dict", "v": [[{"t": "list", "v": []}, 1]]},  # an unhashable key
    {"t": "mystery", "v": 1},
    ["a", "plain", "list"],
    {"t": "scalar", "v": _npy(np.zeros(3))},
], ids=["pickle", "eval", "ref", "unhashable-key", "unknown-tag", "untagged-list", "scalar-shape"])
def test_hostile_answers_are_refused(node):
    with pytest.raises(wire.WireError):
        wire.decode(node)


def test_size_and_depth_are_limited():
    deep = 1
    for _ in range(wire.MAX_DEPTH + 2):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(wire.WireError, match="deeper"):
        wire.decode(deep)
    with pytest.raises(wire.WireError, match="MB"):
        wire.decode({"t": "list", "v": ["x" * (1 << 20)] * (wire.MAX_BYTES // (1 << 20) + 1)})
    assert wire.decode({"t": "list", "v": ["x" * 10] * 3}) == ["x" * 10] * 3  # the canary: small is fine


# ---- references and the namespace ---------------------------------------------------------------------------

class Scaler:
    def __init__(self):
        self.mean_ = np.array([1.0, 2.0])

    def transform(self, X):
        return np.asarray(X) - self.mean_


def test_student_data_and_objects_come_back_as_data_and_references():
    j, _ = student(weights=np.array([0.5, -1.0]), scaler=Scaler(), n=3, table={(1.0, 20): 0.98})
    outputs = run(j, "assert np.allclose(weights, [0.5, -1.0])\nassert n == 3 and table[(1.0, 20)] == 0.98\n"
                     "assert hasattr(scaler, 'mean_') and not hasattr(scaler, 'coefs_')\n"
                     "assert np.allclose(scaler.transform([[1.0, 2.0]]), 0)\n"
                     "assert scaler.__class__.__name__ == 'Scaler'\nprint(repr(scaler))")
    assert verdict(outputs) is None, outputs
    assert outputs[0].text == "<student's Scaler object>\n"


def test_a_test_fails_where_it_should():
    """The canary of the one above: a wrong value fails, with the assertion's message."""
    j, _ = student(weights=np.array([0.5, 1.0]))
    assert verdict(run(j, "assert np.allclose(weights, [0.5, -1.0]), 'the weights are wrong'")) == (
        "AssertionError", "the weights are wrong")


@pytest.mark.parametrize("use", ["result == 1", "bool(result)", "list(result)", "np.asarray(result)",
                                 "np.allclose(result, 1)", "float(result)", "result < 2", "1 in result",
                                 "{result}", "result.x = 1"])
def test_a_student_object_is_never_compared_converted_or_iterated(use):
    class Anything:
        def __eq__(self, other):
            return True

        def __array__(self, *args, **kwargs):
            return np.ones(1)

        def __iter__(self):
            return iter([1])

        def __float__(self):
            return 1.0

    j, _ = student(result=Anything())
    ename, evalue = verdict(run(j, use))
    assert ename in ("JudgeError", "TypeError"), (ename, evalue)


def test_writeback_shows_what_the_students_function_changed_in_an_array():
    def in_place(weights, bias, x):
        weights += x
        return weights, bias

    def careful(weights, bias, x):
        return weights + x, bias

    test = ("w = np.array([1.0, 2.0]); before = w.copy()\nnew_w, new_b = update(w, 0.5, np.array([1.0, 1.0]))\n"
            "assert np.allclose(new_w, [2.0, 3.0]), 'wrong update'\n"
            "assert np.array_equal(w, before), 'the weights passed in are left unchanged'")
    j, _ = student(update=in_place)
    assert verdict(run(j, test)) == ("AssertionError", "the weights passed in are left unchanged")
    j, _ = student(update=careful)
    assert verdict(run(j, test)) is None


def test_a_test_fetches_a_function_once_and_data_at_every_use():
    """Within one test, a function of the student's is asked for once (a loop of calls would otherwise ask every
    time); data the student's code changes is read again at every use, and every name is asked for again in the
    next test (the student's cells ran in between)."""
    calls = []

    def bump():
        shell.user_ns["counter"] += 1
        calls.append(1)

    j, shell = student(bump=bump, counter=0)
    asked = []
    transport = j.transport

    def counting(request, seconds):
        if request["op"] == "get":
            asked.append(request["name"])
        return transport(request, seconds)

    j.transport = counting
    test = "for _ in range(3):\n    bump()\nassert counter == 3, counter"
    assert verdict(run(j, test)) is None
    assert asked.count("bump") == 1 and asked.count("counter") == 1
    shell.user_ns["counter"] = 0
    test = "bump()\nassert counter == 1, counter\nbump()\nassert counter == 2, counter"
    assert verdict(run(j, test, "test_y")) is None
    assert asked.count("bump") == 2 and asked.count("counter") == 3
    shell.user_ns["bump"] = lambda: None  # the student's next cell rebinds it
    assert verdict(run(j, "bump()\nassert counter == 3, counter", "test_z")) == ("AssertionError", "2")
    assert len(calls) == 5


def test_the_students_errors_keep_their_kind():
    def broken(x):
        raise KeyError("no such column")

    def blank(x):
        raise NotImplementedError()

    j, _ = student(f=broken, g=blank)
    assert verdict(run(j, "try:\n    f(1)\nexcept KeyError:\n    print('caught')\n")) is None
    ename, evalue = verdict(run(j, "g(1)"))
    assert ename == "NotImplementedError" and "not answered yet" in evalue
    ename, evalue = verdict(run(j, "undefined_name + 1"))
    assert ename == "NameError" and "undefined_name" in evalue


def test_student_warnings_reach_the_test():
    def noisy(z):
        return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))

    j, _ = student(sigmoid=noisy)
    test = "import warnings\nwith warnings.catch_warnings():\n    warnings.simplefilter('error')\n" \
           "    sigmoid(np.array([-1000.0]))"
    ename, _ = verdict(run(j, test))
    assert ename == "RuntimeWarning"


def test_the_judges_names_come_first_then_builtins_then_the_students():
    j, _ = student(np="not numpy", len=lambda x: 0, X_train=np.zeros(3))
    j.namespace["np"] = np
    j.namespace["X_train"] = np.ones(3)  # the judge's trusted copy, from a setup cell
    assert verdict(run(j, "assert np.sum(X_train) == 3 and len([1, 2]) == 2")) is None


def test_a_hidden_failure_shows_its_message_and_no_source():
    j, _ = student(step=lambda z: np.zeros(np.shape(z)))
    source = ("assert True\n### BEGIN HIDDEN TESTS\nsecret_grid = np.array([0.25, -1.0])\n"
              "assert np.array_equal(step(secret_grid), [1, 0]), 'step agrees with the reference'\n"
              "### END HIDDEN TESTS\n")
    outputs = run(j, source)
    ename, evalue = verdict(outputs)
    assert (ename, evalue) == ("AssertionError", "hidden test of test_x: step agrees with the reference")
    text = json.dumps([dict(o) for o in outputs])
    assert "secret_grid" not in text and "0.25" not in text


# ---- the plan: which read-only cells the judge runs ---------------------------------------------------------

def test_the_judge_runs_setup_cells_but_never_one_that_uses_an_answer():
    nb = nbformat.read(ROOT / "solutions" / "ex01_perceptron" / "ex01_perceptron.ipynb", as_version=4)
    plan = judge.Plan(nb)
    assert {"step", "perceptron_update", "pocket"} <= plan.answer_names
    setup = "\n".join(plan.setup_before(list(plan.tests)[-1]))
    assert "import numpy as np" in setup
    assert not judge.used_names(setup) & plan.answer_names


# ---- nnlib without the answer key -----------------------------------------------------------------------------

def test_the_answer_key_is_stubbed_out_and_its_code_is_gone(tmp_path):
    import nnlib

    package = answer_key.redacted_package(ROOT / "nnlib", ["nnlib.activations.step", "nnlib.perceptron.Perceptron"],
                                          tmp_path)
    text = (package / "activations.py").read_text()
    original = (ROOT / "nnlib" / "activations.py").read_text()
    assert "def step" in original and "def step" not in text
    code = (f"import sys; sys.path.insert(0, {str(package.parent)!r}); import nnlib\n"
            "for call in (lambda: nnlib.step(0.0), lambda: nnlib.Perceptron()):\n"
            "    try:\n        call()\n    except RuntimeError as e:\n        print(type(e).__name__, e)\n"
            "print(nnlib.sigmoid(0.0))")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "AnswerKeyError nnlib.step is the answer key of this exercise: write it yourself"
    assert lines[1].startswith("AnswerKeyError nnlib.") and "Perceptron is the answer key" in lines[1]
    assert lines[2] == "0.5"  # the rest of nnlib works
    assert nnlib.step(0.0) == 1  # and the learner's own nnlib is untouched


def test_an_off_limits_name_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not defined"):
        answer_key.redacted_package(ROOT / "nnlib", ["nnlib.activations.no_such_function"], tmp_path)


def test_an_answer_binds_its_top_level_names_only():
    """A comprehension's or a lambda's variable, or a name inside a function, never reaches the notebook's globals,
    so a read-only cell that uses the same name still runs in the judge."""
    source = ("for alpha in [1, 2]:\n    scores = [e for e in range(3)]\n    with open('x') as fh:\n        pass\n"
              "best = max(d, key=lambda k: k)\nif True:\n    import numpy as np\n    def f(x):\n        inner = 1\n")
    assert judge.bound_names(source) == {"alpha", "scores", "fh", "best", "np", "f"}
