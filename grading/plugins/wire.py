"""What may cross between the judge (trusted, outside the sandbox) and a student's kernel: data, never behaviour.

The judge (:mod:`grading.plugins.judge`) runs an exercise's tests in the grading process; the student's code runs in its
sandboxed kernel. They exchange JSON trees built by :func:`encode` and read back by :func:`decode`:

- data is copied: ``None``, ``bool``, ``int``, ``float`` (``nan`` and the infinities tagged), ``complex``, ``str``,
  ``bytes``; ``list``, ``tuple``, ``set``, ``frozenset`` and ``dict`` of data (exactly those types, no subclass);
  NumPy arrays and scalars of a boolean or numeric dtype, as ``.npy`` bytes read back with ``allow_pickle=False``;
  pandas ``DataFrame`` and ``Series`` of numeric columns;
- anything else (a function, a class, an estimator) stays where it is and crosses as a reference, ``{"t": "ref",
  "id": ..., "type": {...}}``, which the other side turns into its own stand-in (the judge's is
  :class:`grading.plugins.judge.Remote`, whose methods are the judge's, never the student's).

:func:`decode` trusts nothing: every node is checked (its tag, its types, its depth), sizes are counted on the bytes
read, a NumPy array must really be one of a plain dtype, and anything else is a :class:`WireError`. Nothing is ever
unpickled or evaluated.

This file is also sent, as text, into each graded kernel (``judge_kernel.py`` runs it there), so that both
sides speak the same format; it imports nothing that is not already loaded in a kernel.
"""

import base64
import io
import math
import sys
from collections.abc import Callable

#: The MIME type of the kernel's answers on its IOPub channel.
MIME = "application/x.nn-judge+json"
#: Limits on one message: nesting, number of nodes, bytes of arrays and strings.
MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_BYTES = 64 << 20
#: Array dtypes that are data: booleans, integers, unsigned integers, floats, complex numbers.
DATA_KINDS = "biufc"


class WireError(ValueError):
    """Something that is not data where data was expected (or a message too big or malformed)."""


class _Budget:
    def __init__(self):
        self.nodes = 0
        self.bytes = 0

    def spend(self, nodes=1, size=0):
        self.nodes += nodes
        self.bytes += size
        if self.nodes > MAX_NODES:
            raise WireError(f"more than {MAX_NODES} values in one answer")
        if self.bytes > MAX_BYTES:
            raise WireError(f"more than {MAX_BYTES >> 20} MB in one answer")


def _numpy():
    return sys.modules.get("numpy")


def _pandas():
    return sys.modules.get("pandas")


def _npy(array):
    np = _numpy()
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _is_data_array(value):
    np = _numpy()
    return (np is not None and type(value) is np.ndarray and value.dtype.kind in DATA_KINDS
            and not value.dtype.hasobject and value.dtype.fields is None)


def encode(value: object, ref: Callable[[object], dict] | None = None, _depth: int = 0,
           _budget: _Budget | None = None) -> object:
    """``value`` as a JSON tree; what is not data goes through ``ref(value)`` (which returns a reference node) or,
    without ``ref``, raises :class:`WireError`."""
    budget = _budget or _Budget()
    budget.spend()
    if _depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind is bool or kind is int:
        return value
    if kind is float:
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if kind is str:
        budget.spend(size=len(value))
        return value
    if kind is bytes:
        budget.spend(size=len(value))
        return {"t": "bytes", "v": base64.b64encode(value).decode("ascii")}
    if kind is complex:
        return {"t": "complex", "v": [encode(value.real), encode(value.imag)]}
    if kind in (list, tuple, set, frozenset):
        items = list(value)
        return {"t": kind.__name__, "v": [encode(item, ref, _depth + 1, budget) for item in items]}
    if kind is dict:
        return {"t": "dict", "v": [[encode(k, ref, _depth + 1, budget), encode(v, ref, _depth + 1, budget)]
                                   for k, v in list(value.items())]}
    np = _numpy()
    if _is_data_array(value):
        budget.spend(size=value.nbytes)
        return {"t": "ndarray", "v": _npy(value)}
    if np is not None and isinstance(value, np.generic) and type(value).__module__ == "numpy" \
            and value.dtype.kind in DATA_KINDS:
        return {"t": "scalar", "v": _npy(np.asarray(value))}
    pd = _pandas()
    if pd is not None and kind is pd.Series and _is_data_array(value.to_numpy()):
        return {"t": "series", "v": encode(value.to_numpy(), None, _depth + 1, budget),
                "index": encode(_index(value.index), None, _depth + 1, budget),
                "name": encode(value.name if type(value.name) in (str, int) else None)}
    if pd is not None and kind is pd.DataFrame and value.shape[1] and all(
            _is_data_array(value[column].to_numpy()) for column in value.columns):
        return {"t": "dataframe", "v": encode(value.to_numpy(), None, _depth + 1, budget),
                "index": encode(_index(value.index), None, _depth + 1, budget),
                "columns": encode(_index(value.columns), None, _depth + 1, budget)}
    if ref is None:
        raise WireError(f"a {kind.__name__} object is not data")
    return ref(value)


def _index(index):
    """A pandas index as data: its values when they are numbers, else their text."""
    values = index.to_numpy()
    if _is_data_array(values):
        return values
    return [str(item) for item in values]


def type_info(value: object) -> dict[str, str]:
    """What a reference node says of its object's type (text only)."""
    kind = type(value)
    return {"name": str(getattr(kind, "__name__", "object")), "qualname": str(getattr(kind, "__qualname__", "")),
            "module": str(getattr(kind, "__module__", ""))}


def _fail(what):
    raise WireError(what)


def _text(node, what):
    if type(node) is not str:
        _fail(f"{what} is not text")
    return node


def _array(node, budget):
    np = _numpy()
    try:
        raw = base64.b64decode(_text(node, "an array's bytes"), validate=True)
        budget.spend(size=len(raw))
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except WireError:
        raise
    except (ValueError, EOFError, OSError) as error:  # not .npy, or an array that would need unpickling
        raise WireError(f"an array the grader cannot read ({str(error)[:100]})") from None
    if type(array) is not np.ndarray or array.dtype.kind not in DATA_KINDS or array.dtype.hasobject \
            or array.dtype.fields is not None:
        _fail("an array of something other than numbers")
    return array


def decode(node: object, deref: Callable[[int, dict], object] | None = None, _depth: int = 0,
           _budget: _Budget | None = None) -> object:
    """The value of a JSON tree made by :func:`encode`; a reference becomes ``deref(id, type_info)`` (without
    ``deref``, a reference is a :class:`WireError`)."""
    budget = _budget or _Budget()
    budget.spend()
    if _depth > MAX_DEPTH:
        _fail(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(node)
    if node is None or kind is bool or kind is int:
        return node
    if kind is float:
        return node
    if kind is str:
        budget.spend(size=len(node))
        return node
    if kind is not dict or type(node.get("t")) is not str:
        _fail(f"a {kind.__name__} where a tagged value was expected")
    tag, value = node["t"], node.get("v")
    if tag == "float":
        if value not in ("nan", "inf", "-inf"):
            _fail("a float that is neither a number nor nan or an infinity")
        return float(value)
    if tag == "bytes":
        try:
            raw = base64.b64decode(_text(value, "bytes"), validate=True)
        except ValueError:
            _fail("malformed bytes")
        budget.spend(size=len(raw))
        return raw
    if tag == "complex":
        if type(value) is not list or len(value) != 2 or not all(type(v) in (int, float, dict) for v in value):
            _fail("a malformed complex number")
        parts = [decode(v, None, _depth + 1, budget) for v in value]
        if not all(type(p) in (int, float) for p in parts):
            _fail("a malformed complex number")
        return complex(*parts)
    if tag in ("list", "tuple", "set", "frozenset"):
        if type(value) is not list:
            _fail(f"a malformed {tag}")
        items = [decode(item, deref, _depth + 1, budget) for item in value]
        if tag in ("set", "frozenset"):
            return _hashable(items, set if tag == "set" else frozenset)
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        if type(value) is not list or not all(type(pair) is list and len(pair) == 2 for pair in value):
            _fail("a malformed dict")
        keys = _hashable([decode(k, None, _depth + 1, budget) for k, _ in value], list)
        return dict(zip(keys, [decode(v, deref, _depth + 1, budget) for _, v in value], strict=True))
    if tag == "ndarray":
        return _array(value, budget)
    if tag == "scalar":
        array = _array(value, budget)
        if array.shape != ():
            _fail("a malformed NumPy scalar")
        return array[()]
    if tag in ("series", "dataframe"):
        return _frame(node, tag, budget, _depth)
    if tag == "ref":
        info = node.get("type")
        if deref is None or type(node.get("id")) is not int or type(info) is not dict or not all(
                type(info.get(key)) is str and len(info[key]) < 500 for key in ("name", "qualname", "module")):
            _fail("an object where data was expected")
        return deref(node["id"], {key: info[key] for key in ("name", "qualname", "module")})
    _fail(f"an unknown kind of value ({tag[:40]!r})")


def _hashable(items, container):
    try:
        for item in items:
            hash(item)
    except TypeError:
        _fail("a key that cannot be a key (unhashable)")
    return container(items)


def _frame(node, tag, budget, depth):
    pd = _pandas()
    if pd is None:
        import pandas as pd
    values = decode(node.get("v"), None, depth + 1, budget)
    index = decode(node.get("index"), None, depth + 1, budget)
    np = _numpy()
    if type(values) is not np.ndarray or type(index) not in (np.ndarray, list) or len(index) != len(values):
        _fail(f"a malformed {tag}")
    if tag == "series":
        name = node.get("name")
        if values.ndim != 1 or not (name is None or type(name) in (str, int)):
            _fail("a malformed series")
        return pd.Series(values, index=index, name=name)
    columns = decode(node.get("columns"), None, depth + 1, budget)
    if values.ndim != 2 or type(columns) not in (np.ndarray, list) or len(columns) != values.shape[1]:
        _fail("a malformed data frame")
    return pd.DataFrame(values, index=index, columns=columns)
