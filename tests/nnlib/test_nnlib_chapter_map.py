"""The map of nnlib's names to chapters (``nnlib/__init__.py``) and the "(chapter N)" tags of the docstrings
agree with what the chapters actually import.

A name is taught in the first chapter from 1 to 6 whose code uses it (chapter 0, the introduction, previews a few
names before they are taught). The map lists every name the chapters use, each in that chapter, and a docstring
that names a chapter ("(chapter 5)", "(chapters 4-6)") names the same one first.
"""

import ast
import importlib
import re
from pathlib import Path

import nbformat
import pytest

import nnlib

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def names_used(source):
    """The nnlib names a piece of code uses: ``nnlib.X``, ``nnlib.mod.X`` and ``from nnlib[.mod] import X``, each
    as 'X' for a top-level name or 'mod.X' for a name of a submodule."""
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "nnlib":
            prefix = node.module[len("nnlib."):] + "." if "." in node.module else ""
            used.update(prefix + alias.name for alias in node.names)
        elif isinstance(node, ast.Attribute):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id == "nnlib":
                chain.reverse()
                # nnlib.datasets.moons -> 'datasets.moons'; nnlib.MLPClassifier(...).fit -> 'MLPClassifier'
                if chain[0] not in _MODULES:
                    used.add(chain[0])
                elif len(chain) > 1:  # a bare module (nnlib.plotting) is not a name; its functions are
                    used.add(".".join(chain[:2]))
    return {name for name in used if not name.startswith("__")}  # nnlib.__version__ is no lesson


_MODULES = {"activations", "datasets", "gradcheck", "layers", "losses", "mlp", "neuron", "optim", "perceptron",
            "plotting"}


def code_of(path):
    """A notebook's code cells joined, without IPython's magics and shell lines."""
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    lines = [line for source in cells for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def first_chapters():
    """``{name: the first chapter (1-6) that uses it}``, and chapter 0 for names only the introduction uses."""
    first = {}
    for path in CHAPTERS:
        chapter = int(path.name[:2])
        for name in names_used(code_of(path)):
            if name not in first or first[name] == 0:
                first[name] = chapter
    return first


def documented_map():
    """``{name: chapter}`` from the table in nnlib's docstring (rows of ````name````, ... then the chapter)."""
    table = {}
    for line in nnlib.__doc__.splitlines():
        match = re.match(r"^((?:``[\w.]+``,?\s*)+)\s+(\d)\b", line)
        if match:
            for name in re.findall(r"``([\w.]+)``", match.group(1)):
                table[name] = int(match.group(2))
    return table


def resolve(name):
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(f"nnlib.{module}") if module else nnlib, attr)


def docstring_chapter(obj):
    """The first chapter a docstring names: '(chapter 5)' -> 5, '(chapters 4-6)' -> 4; None when it names none."""
    match = re.search(r"\(chapters? (\d)", obj.__doc__ or "")
    return int(match.group(1)) if match else None


def test_the_scanner_finds_each_kind_of_use():
    code = ("import nnlib\nfrom nnlib import Dense, Network\nfrom nnlib.plotting import (draw_network,\n"
            "    plot_loss_curve)\nnnlib.MLPClassifier((3,)).fit(X, y)\nnnlib.datasets.moons()\n")
    assert names_used(code) == {"Dense", "Network", "plotting.draw_network", "plotting.plot_loss_curve",
                                "MLPClassifier", "datasets.moons"}


def test_every_name_the_chapters_use_is_in_the_map_at_its_first_chapter():
    used, table = first_chapters(), documented_map()
    assert len(table) >= 20, "the map in nnlib/__init__.py could not be read"
    wrong = {name: (table.get(name), chapter) for name, chapter in used.items() if table.get(name) != chapter}
    assert not wrong, f"map chapter vs first chapter that uses it: {wrong}"


def test_every_name_in_the_map_is_used_by_its_chapter():
    used, table = first_chapters(), documented_map()
    unused = sorted(name for name in table if name not in used)
    assert not unused, f"the map lists names no chapter uses: {unused}"


@pytest.mark.parametrize("name", sorted(documented_map()))
def test_docstring_chapter_tags_agree_with_the_map(name):
    tagged = docstring_chapter(resolve(name))
    assert tagged in (None, documented_map()[name]), (
        f"{name}'s docstring names chapter {tagged}, but the chapters first use it in {documented_map()[name]}")
