"""The course library as a graded kernel sees it: nnlib without the exercise's answer key.

Each exercise lists, in its source notebook's metadata (``course.off_limits``), the nnlib functions and classes that
a learner is asked to write (``nnlib.activations.step``, ``nnlib.perceptron.Perceptron``...). When grading, the
sandbox binds a copy of nnlib in which each of them is replaced by a stub that raises :class:`AnswerKeyError`
("nnlib.step is the answer key of this exercise: write it yourself"); their code is not in the copy at all, so
nothing in the kernel can call, read or rebuild it, under any name. A learner's own environment keeps the full nnlib.
"""

import ast
import hashlib
import shutil
from pathlib import Path

#: The ``ename`` of the error a stub raises (grading.checks lists the submission as having called the answer key).
ERROR_NAME = "AnswerKeyError"

STUB_MODULE = '''"""Stand-ins for the exercise's answer key (made by the grader; not part of nnlib)."""


class AnswerKeyError(RuntimeError):
    """An answer called a part of nnlib that the exercise asks the learner to write."""


def answer_key(name, qualname, is_class):
    message = f"{name} is the answer key of this exercise: write it yourself"

    def refuse(*args, **kwargs):
        raise AnswerKeyError(message)

    if is_class:
        stub = type(qualname, (), {"__init__": refuse, "__new__": lambda cls, *a, **k: refuse(),
                                   "__doc__": message})
    else:
        stub = refuse
        stub.__name__ = stub.__qualname__ = qualname
        stub.__doc__ = message
    return stub
'''


def _public_name(package_dir, module, name):
    """``nnlib.step`` when nnlib's ``__init__`` exports ``step``, else ``nnlib.<module>.step``."""
    init = (package_dir / "__init__.py").read_text()
    return f"nnlib.{name}" if module is None or _exports(init, name) else f"nnlib.{module}.{name}"


def _exports(init_source, name):
    for node in ast.walk(ast.parse(init_source)):
        if isinstance(node, ast.ImportFrom) and any((alias.asname or alias.name) == name for alias in node.names):
            return True
    return False


def _split(dotted):
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] != "nnlib" or not all(part.isidentifier() for part in parts):
        raise ValueError(f"off_limits: expected names like 'nnlib.module.function', got {dotted!r}")
    return (".".join(parts[1:-1]) or None), parts[-1]


def redact(source, names, public):
    """``source`` (a module of nnlib) with each top-level function or class in ``names`` replaced by a stub."""
    tree = ast.parse(source)
    body, found = [], set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names:
            found.add(node.name)
            stub = ast.parse(f"{node.name} = __nn_answer_key({public[node.name]!r}, {node.name!r}, "
                             f"{isinstance(node, ast.ClassDef)})").body[0]
            body.append(ast.copy_location(stub, node))
        else:
            body.append(node)
    missing = set(names) - found
    if missing:
        raise ValueError(f"off_limits names {sorted(missing)} are not defined at the top of their module")
    doc = [body.pop(0)] if body and isinstance(body[0], ast.Expr) and isinstance(
        getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str) else []
    future = [node for node in body if isinstance(node, ast.ImportFrom) and node.module == "__future__"]
    rest = [node for node in body if node not in future]
    header = ast.parse("from nnlib._answer_key import answer_key as __nn_answer_key").body
    tree.body = doc + future + header + rest
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def redacted_package(package_dir, off_limits, dest_root):
    """A copy of the package at ``package_dir`` under ``dest_root`` with ``off_limits`` stubbed out; the same list
    gives the same folder (made once). Returns the copy's package folder."""
    package_dir = Path(package_dir)
    by_module = {}
    for dotted in off_limits:
        module, name = _split(dotted)
        by_module.setdefault(module, set()).add(name)
    key = hashlib.sha256(repr(sorted(off_limits)).encode()).hexdigest()[:16]
    target = Path(dest_root) / f"nnlib-{key}" / package_dir.name
    if target.is_dir():
        return target
    staging = target.parent.with_name(target.parent.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / package_dir.name).mkdir(parents=True)
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir)
        out = staging / package_dir.name / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        module = ".".join(relative.with_suffix("").parts)
        module = None if module == "__init__" else module
        names = by_module.pop(module, None)
        if names:
            public = {name: _public_name(package_dir, module, name) for name in names}
            out.write_text(redact(path.read_text(), names, public))
        else:
            shutil.copyfile(path, out)
    if by_module:
        raise ValueError(f"off_limits names in modules that do not exist: {sorted(by_module)}")
    (staging / package_dir.name / "_answer_key.py").write_text(STUB_MODULE)
    for folder in [staging, *staging.rglob("*")]:
        folder.chmod(0o755 if folder.is_dir() else 0o644)
    staging.rename(target.parent)
    return target
