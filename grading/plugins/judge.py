"""The judge: an exercise's tests, run in the grading process, where the student's code never runs.

nbgrader (like Otter-Grader and most notebook graders) runs the test cells in the student's own kernel and scores a
test by the absence of an error that the kernel itself reports, so a student who controls the kernel controls the
verdict. Here, when grading, no test cell is ever sent to the kernel. For each test cell of a submission the judge
runs that cell's code, taken from the exercise's *source* notebook (hidden tests included), in a namespace of its
own in the trusted grading process:

- **Setup.** Before a test, the source notebook's read-only cells above it that use no name an answer defines (the
  imports, the data, the helpers) run in the judge too, so the judge has its own copies of ``np``, ``X_train`` and
  the like, not the student's.
- **The student's work** is reached only through :class:`Remote`: any other name the test uses is fetched from the
  kernel (``judge_kernel.py``). Data (numbers, text, NumPy arrays of numbers, lists and dicts of them: see
  :mod:`.wire`) arrives as a copy; anything else stays in the kernel and arrives as a reference the judge can
  call, read an attribute of, index, or take the length of, getting data or references back. A reference can't be
  compared, tested for truth, iterated or converted: no object of the student's ever runs code in the judge.
- **The verdict** is the test's own: an ``AssertionError`` (or any error) in the judge fails the test. It becomes the
  test cell's outputs (what the test printed, and an error output with the assertion's message on failure), so
  nbgrader's gradebook, Formgrader and feedback work as they always did. A failure inside the hidden block shows
  only its message: never its source or a traceback through it.

In the learner's own kernel (JupyterLab, ``make validate``) the same cells run as ordinary Python: each test is
written once.
"""

import ast
import builtins
import contextlib
import io
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.utils import is_grade, is_locked, is_solution

from . import wire

#: The delimiters of hidden tests (nbgrader's defaults).
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
#: Names that make a read-only cell a figure or a display, which the judge does not need.
DISPLAY_NAMES = {"plt", "display", "HTML", "Markdown", "Image", "matplotlib", "get_ipython"}
#: The only double-underscore attributes a test may read from a student's object (all plain data or a reference).
DUNDERS = {"__code__", "__name__", "__qualname__", "__module__", "__defaults__", "__kwdefaults__", "__doc__"}
#: The name the kernel's side of the judge is registered under in the kernel's ``sys.modules``.
KERNEL_MODULE = "_nn_judge"


class JudgeError(Exception):
    """A test used a student's object in a way only data allows (compared it, iterated it, converted it)."""


class StudentError(Exception):
    """The student's code raised an error while a test called it; subclasses also derive from the builtin
    error of the same name, so that ``hasattr`` and ``except KeyError`` behave as they do in the kernel."""

    ename = "Error"


class KernelGone(BaseException):
    """The kernel died while the judge waited for it (a BaseException: no test's ``except`` may swallow it)."""


class KernelHung(BaseException):
    """The student's code ran past the time limit and the kernel did not come back after an interrupt."""


class TimeLimit(BaseException):
    """The student's code ran past the time limit during this test (the kernel came back after an interrupt)."""


_STUDENT_ERRORS = {}


def student_error(ename: object, evalue: object) -> "StudentError":
    """An exception to raise in the judge for an error of the student's code (its name is text from the kernel)."""
    ename = ename if isinstance(ename, str) and ename.isidentifier() else "Error"
    base = getattr(builtins, ename, None)
    if not (isinstance(base, type) and issubclass(base, Exception)) or issubclass(base, (JudgeError,)):
        base = None
    kind = _STUDENT_ERRORS.get(ename)
    if kind is None:
        kind = type(ename, (StudentError, base) if base else (StudentError,), {"ename": ename})
        _STUDENT_ERRORS[ename] = kind
    return kind(evalue if isinstance(evalue, str) else "")


#: The types (module, name) of the student's objects that :meth:`Judge.fetch` keeps for the rest of a test.
CODE_TYPES = {("builtins", "function"), ("builtins", "type")}


class RemoteType:
    """What ``remote.__class__`` gives: the name of the student's object's type, as text (not a type: it can't make
    an ``isinstance`` check pass)."""

    def __init__(self, info: dict[str, str]) -> None:
        vars(self).update({"__name__": info["name"], "__qualname__": info["qualname"], "__module__": info["module"]})

    def __repr__(self):
        return f"<student's class {self.__name__}>"

    def __eq__(self, other):
        return isinstance(other, RemoteType) and (self.__module__, self.__qualname__) == (other.__module__,
                                                                                            other.__qualname__)

    def __hash__(self):
        return hash((self.__module__, self.__qualname__))


def _refuse(what):
    def refuse(self, *args, **kwargs):
        raise JudgeError(f"a test tried to {what} {self!r}, which is an object of the student's code, not data "
                         "(the grader only compares data: numbers, text, arrays)")
    return refuse


class Remote:
    """A reference to an object that lives in the student's kernel."""

    __slots__ = ("_judge", "_id", "_type")

    def __init__(self, judge: "Judge", number: int, info: dict[str, str]) -> None:
        object.__setattr__(self, "_judge", judge)
        object.__setattr__(self, "_id", number)
        object.__setattr__(self, "_type", info)

    @property
    def __class__(self):
        return RemoteType(self._type)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in DUNDERS:
            raise AttributeError(name)
        return self._judge.request({"op": "getattr", "ref": self._id, "name": name})

    def __call__(self, *args, **kwargs):
        return self._judge.call(self, args, kwargs)

    def __getitem__(self, key):
        return self._judge.request({"op": "getitem", "ref": self._id, "key": self._judge.encode(key)})

    def __len__(self):
        length = self._judge.request({"op": "len", "ref": self._id})
        if type(length) is not int or length < 0:
            raise JudgeError(f"the length of {self!r} is not a whole number")
        return length

    def __repr__(self):
        return f"<student's {self._type['name']} object>"

    __str__ = __repr__

    def __format__(self, spec):
        return format(repr(self), spec)

    __setattr__ = _refuse("change")
    __delattr__ = _refuse("change")
    __setitem__ = _refuse("change")
    __eq__ = _refuse("compare")
    __ne__ = _refuse("compare")
    __lt__ = _refuse("compare")
    __le__ = _refuse("compare")
    __gt__ = _refuse("compare")
    __ge__ = _refuse("compare")
    __bool__ = _refuse("test the truth of")
    __iter__ = _refuse("iterate over")
    __contains__ = _refuse("search")
    __array__ = _refuse("convert to an array")
    __float__ = _refuse("convert to a number")
    __int__ = _refuse("convert to a number")
    __index__ = _refuse("convert to a number")
    __complex__ = _refuse("convert to a number")
    __hash__ = None
    __array_ufunc__ = None
    __array_function__ = _refuse("pass to NumPy")


def warm_up() -> None:
    """Import what tests use (numpy, scikit-learn's base, nnlib's estimators) once, in a grading worker before its
    first submission, so that no submission's tests pay for it."""
    import importlib

    for name in ("numpy", "sklearn.base", "nnlib", "nnlib.perceptron", "nnlib.mlp"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


# ---- reading the source notebook ----------------------------------------------------------------------------

def bound_names(source: str) -> set[str]:
    """The names a cell binds at its top level (imports, definitions, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        else:
            names |= _stored(node)
    return names


def _stored(node):
    """Names a statement stores at the level it runs at (loop variables and ``with ... as`` included), not those of
    a comprehension, a lambda or a nested definition, which do not reach the notebook's globals."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Store) else set()
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
        return set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"}
    found = set()
    for child in ast.iter_child_nodes(node):
        found |= _stored(child)
    return found


def used_names(source: str) -> set[str] | None:
    """Every name a cell uses or imports (None when it does not parse as Python: a magic, a shell escape)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names} | {node.module.split(".")[0] for node in ast.walk(tree)
                                    if isinstance(node, ast.ImportFrom) and node.module}


def hidden_lines(source: str) -> set[int]:
    """The line numbers (1-based) inside the hidden block(s) of a test cell."""
    lines, inside = set(), False
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip() == HIDDEN_BEGIN:
            inside = True
        elif line.strip() == HIDDEN_END:
            inside = False
        elif inside:
            lines.add(number)
    return lines


class Plan:
    """What the judge takes from an exercise's source notebook: its tests (by grade id) and, before each, the
    read-only setup cells it runs in its own namespace."""

    def __init__(self, source_nb: NotebookNode) -> None:
        cells = [cell for cell in source_nb.cells if cell.cell_type == "code"]
        answers = set()
        for cell in cells:
            if is_solution(cell):
                answers |= bound_names(cell.source)
        self.answer_names = answers
        self.steps = []  # ("setup", source) or ("test", grade_id, source)
        self.tests = {}
        for cell in cells:
            if is_grade(cell) and not is_solution(cell):
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                self.tests[grade_id] = cell.source
                self.steps.append(("test", grade_id, cell.source))
            elif is_locked(cell) and not is_solution(cell) and not is_grade(cell):
                used = used_names(cell.source)
                if used is not None and not used & (answers | DISPLAY_NAMES) and not cell.source.lstrip(
                        ).startswith(("%", "!")):
                    self.steps.append(("setup", cell.source))

    def knows(self, grade_id: str | None) -> bool:
        return grade_id in self.tests

    def setup_before(self, grade_id: str) -> list[str]:
        """The setup cells above the test ``grade_id``."""
        out = []
        for step in self.steps:
            if step[0] == "test" and step[1] == grade_id:
                return out
            if step[0] == "setup":
                out.append(step[1])
        return out


# ---- the namespace and the verdict --------------------------------------------------------------------------

class Namespace(dict):
    """The judge's globals: its own names first, then Python's builtins, then the student's kernel."""

    def __init__(self, judge: "Judge") -> None:
        super().__init__(__builtins__=builtins, __name__="__judge__")
        self._judge = judge

    def __missing__(self, name):
        if hasattr(builtins, name) or name.startswith("__"):
            raise KeyError(name)
        found, value = self._judge.fetch(name)
        if not found:
            raise KeyError(name)
        return value


def uses_answer_key(function: object, *answer_keys: object) -> bool:
    """The judge's ``uses_answer_key``: a student's function is never inspected here. When grading, the sandbox's
    nnlib has no answer key (grading/answer_key.py): an answer that calls it fails the test that runs it."""
    if isinstance(function, Remote):
        return False
    return any(function is key for key in answer_keys)


class Judge:
    """Runs the tests of one submission; ``transport(request, seconds)`` sends a request to the student's kernel
    and returns its answer (a dict), raising :class:`KernelGone`, :class:`KernelHung` or :class:`TimeLimit`."""

    def __init__(self, plan: Plan, transport: Callable[[dict[str, Any], float], dict[str, Any] | None],
                 timeout: float = 30) -> None:
        self.plan, self.transport, self.timeout = plan, transport, timeout
        self.namespace = Namespace(self)
        self._setup_done = 0
        #: The student's functions and classes fetched during the current test: see :meth:`fetch`.
        self._code = {}
        self._deadline = None
        #: What the judge cost: requests to the kernel, seconds running tests, seconds of those waiting for it.
        self.requests, self.tests_run, self.seconds, self.waiting = 0, 0, 0.0, 0.0

    # -- talking to the kernel --

    def _remaining(self):
        return max(self._deadline - time.monotonic(), 0.0) if self._deadline else float(self.timeout)

    def _answer(self, request):
        self.requests += 1
        start = time.monotonic()
        try:
            answer = self.transport(request, self._remaining())
        finally:
            self.waiting += time.monotonic() - start
        if not isinstance(answer, dict):
            raise JudgeError("the student's kernel gave no answer the grader could read (its side of the grader "
                             "was changed or removed)")
        for entry in answer.get("warnings") or []:
            if isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, str) for part in entry):
                category = getattr(builtins, entry[0], None)
                category = category if isinstance(category, type) and issubclass(category, Warning) else UserWarning
                warnings.warn(entry[1], category, stacklevel=2)
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            raise student_error(error.get("ename"), error.get("evalue"))
        if "ok" not in answer:
            raise JudgeError("the student's kernel gave no answer the grader could read")
        return answer

    def decode(self, node: Any) -> Any:
        try:
            return wire.decode(node, self._remote)
        except wire.WireError as error:
            raise JudgeError(f"the student's code gave something the grader can't use as data: {error}") from None

    def _remote(self, number, info):
        return Remote(self, number, info)

    def encode(self, value: Any) -> Any:
        def ref(obj):
            if isinstance(obj, Remote) and obj._judge is self:
                return {"t": "ref", "id": obj._id, "type": obj._type}
            raise JudgeError(f"a test passed a {type(obj).__name__} to the student's code: only data and the "
                             "student's own objects can be passed")
        return wire.encode(value, ref)

    def request(self, request: dict[str, Any]) -> Any:
        return self.decode(self._answer(request)["ok"])

    def fetch(self, name: str) -> tuple[bool, Any]:
        """``(True, value)`` for a global of the student's notebook, ``(False, None)`` when it has none.

        Within one test a name bound to a function or a class is fetched once (a test that calls the student's
        function in a loop would otherwise ask for it every time); any other value, which the student's code may
        change, is fetched at every use, as the test would see it in the notebook."""
        if name in self._code:
            return True, self._code[name]
        try:
            value = self.request({"op": "get", "name": name})
        except StudentError as error:
            if error.ename == "NameError":
                return False, None
            raise
        if isinstance(value, Remote) and (value._type.get("module"), value._type.get("name")) in CODE_TYPES:
            self._code[name] = value
        return True, value

    def call(self, remote: Remote, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        answer = self._answer({"op": "call", "ref": remote._id, "args": self.encode(list(args)),
                               "kwargs": self.encode(dict(kwargs))})
        writeback = answer.get("writeback") if isinstance(answer.get("writeback"), dict) else {}
        import numpy as np

        for where, values in (("args", dict(enumerate(args))), ("kwargs", kwargs)):
            for key, node in (writeback.get(where) or {}).items():
                key = int(key) if where == "args" and isinstance(key, str) and key.isdigit() else key
                mine = values.get(key)
                if isinstance(mine, np.ndarray) and mine.flags.writeable:
                    new = self.decode(node)
                    if isinstance(new, np.ndarray) and new.shape == mine.shape:
                        np.copyto(mine, new, casting="unsafe")
        return self.decode(answer["ok"])

    # -- running tests --

    def _setup(self, grade_id):
        sources = self.plan.setup_before(grade_id)
        for source in sources[self._setup_done:]:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(source, "<setup>", "exec"), self.namespace)
        self._setup_done = max(self._setup_done, len(sources))
        self.namespace["uses_answer_key"] = uses_answer_key

    def run_test(self, grade_id: str) -> list[NotebookNode]:
        """The outputs of the test cell ``grade_id`` (nbformat outputs). Raises :class:`KernelGone` or
        :class:`KernelHung` when the kernel is lost; the caller stops the notebook."""
        source = self.plan.tests[grade_id]
        hidden = hidden_lines(source)
        stdout, stderr = io.StringIO(), io.StringIO()
        error = None
        started = time.monotonic()
        self._deadline = started + self.timeout
        self._code = {}  # the student's cells ran since the last test: their names are fetched again
        self.tests_run += 1
        try:
            self._setup(grade_id)
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
                    warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = _show_warning(stderr)
                exec(compile(source, f"<test {grade_id}>", "exec"), self.namespace)
        except TimeLimit:
            error = ("TimeoutError", f"the code this test ran took longer than {self.timeout} s (it was "
                                     "interrupted): look for a loop that never ends or work that could be done "
                                     "with arrays at once")
        except (KernelGone, KernelHung):
            raise
        except Exception as caught:  # noqa: BLE001 (the test failed: its message is the verdict)
            error = _describe(caught, grade_id, hidden)
        finally:
            self._deadline = None
            self.seconds += time.monotonic() - started
        outputs = []
        for name, buffer in (("stdout", stdout), ("stderr", stderr)):
            if buffer.getvalue():
                outputs.append(new_output("stream", name=name, text=buffer.getvalue()))
        if error is not None:
            ename, evalue = error
            outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
        return outputs


def _show_warning(stream):
    def show(message, category, filename, lineno, file=None, line=None):
        stream.write(f"{category.__name__}: {message}\n")
    return show


def _describe(error, grade_id, hidden):
    """``(ename, evalue)`` of a failed test: the assertion's message (or the student's error), and where it failed,
    without the source of a hidden test or any traceback."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == f"<test {grade_id}>"]
    line = frames[-1].lineno if frames else None
    in_hidden = line in hidden
    if isinstance(error, StudentError):
        ename = error.ename
        if ename == "NotImplementedError":
            message = "this part is not answered yet: your code still raises NotImplementedError"
        else:
            message = f"{error or 'no message'} (raised by your code when the test called it)"
    else:
        ename, message = type(error).__name__, str(error)
        if isinstance(error, AssertionError) and not message:
            message = "a test failed" + ("" if in_hidden else f" (line {line} of the test cell)")
    if in_hidden:
        message = f"hidden test of {grade_id}: {message}"
    return ename, message
