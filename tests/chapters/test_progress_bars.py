"""The progress bars of the chapters' long loops (``nnlib.progress_bar``): in the stored notebooks, in a kernel and
on the built pages.

The developers' guide asks for a progress bar where a loop takes more than a few seconds. The bar is one output of
its cell, a display that the kernel updates in place as the loop goes round; the saved notebook and the page keep
only the finished bar, whose text has no elapsed time or rate, so it is the same on every run and every machine.
tqdm's text bar on a stream would leave one line per redraw on the page, and its widget bar needs scripts from
the web.
"""

import re

import browser_utils as bu
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import nnlib
from nnlib.progress import progress_bar

# (chapter, the bar's label, the number of items its loop goes over). The numbers come from the chapters' prose:
# chapter 4's 20,000 updates, its seven hidden-layer sizes (1, 2, 3, 4, 5, 20 and 50) and the three networks trained
# without a penalty (3, 20, 50 units), fifty seeds, the five network sizes (2 to 64 units), the four penalties.
LONG_LOOPS = [
    ("04_moons_network", "updates", 20_000),
    ("04_moons_network", "networks trained", 7),
    ("04_moons_network", "networks trained without a penalty", 3),
    ("05_wine_mlp", "seeds", 50),
    ("06_evaluating", "network sizes", 5),
    ("06_evaluating", "penalties", 4),
]
LOOP_IDS = [f"{chapter}-{desc}" for chapter, desc, _ in LONG_LOOPS]
CHAPTERS = sorted((bu.ROOT / "chapters").glob("[0-9][0-9]*.ipynb"))
WIDGET = re.compile(r"jupyter-widgets|widget-(?:state|view)\+json|require(?:\.min)?\.js|requirejs", re.IGNORECASE)
TIMING = re.compile(r"it/s|s/it|\[\d\d:\d\d|elapsed|remaining")


def finished_bar(desc, n):
    return f"{desc}: 100%|{'█' * 10}| {n}/{n}"


def bar_cells(nb):
    """The indices of the code cells that call ``progress_bar``."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "progress_bar(" in c.source]


def text_of(output):
    return output.get("text", "") + output.get("data", {}).get("text/plain", "")


# The stored notebooks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chapter, desc, n", LONG_LOOPS, ids=LOOP_IDS)
def test_the_long_loop_shows_one_finished_bar_and_no_timing(chapter, desc, n):
    nb = nbformat.read(bu.ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    cells = [i for i in bar_cells(nb) if f'"{desc}"' in nb.cells[i].source]
    assert len(cells) == 1, f"{chapter}: {len(cells)} cells call progress_bar labelled {desc!r}, not 1"
    assert len(bar_cells(nb)) == sum(c == chapter for c, _, _ in LONG_LOOPS), f"{chapter}: a bar not listed here"
    cell = nb.cells[cells[0]]
    bars = [o for o in cell.outputs if "%|" in text_of(o)]
    assert len(bars) == 1, f"{chapter} cell {cells[0]}: {len(bars)} outputs with a bar, not 1: {cell.outputs}"
    (bar,) = bars
    assert bar.output_type == "display_data" and bar.data == {"text/plain": finished_bar(desc, n)}, bar
    for output in cell.outputs:
        assert output.get("name") != "stderr", f"{chapter} cell {cells[0]}: stderr output {output.text!r}"
        assert "\r" not in text_of(output) and not TIMING.search(text_of(output)), output
    # the bar's text is fixed, but the outputs of a cell nbval compares must not hang on how the kernel drew it
    assert "nbval-check-output" not in cell.metadata.get("tags", []), f"{chapter} cell {cells[0]} is compared"


def test_chapter_4_table_of_accuracies_is_still_compared_by_nbval():
    nb = nbformat.read(bu.ROOT / "chapters" / "04_moons_network.ipynb", as_version=4)
    (table,) = [c for c in nb.cells if c.cell_type == "code" and 'print("hidden units' in c.source]
    assert "nbval-check-output" in table.metadata.get("tags", [])
    printed = "".join(o.text for o in table.outputs if o.output_type == "stream")
    assert len(printed.splitlines()) == 1 + 7 and "0.985" in printed, printed  # a header and seven networks


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_no_chapter_stores_a_stream_bar_or_a_widget(notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert "widgets" not in nb.metadata, f"{notebook.name} stores widget state (a widget progress bar?)"
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert not any(WIDGET.search(mime) for mime in output.get("data", {})), f"cell {index}: a widget"
            if output.output_type == "stream":
                assert "\r" not in output.text and not re.search(r"\d%\|", output.text), (
                    f"{notebook.name} cell {index}: a bar written to {output.name}: {output.text[:200]!r}")


# The helper ----------------------------------------------------------------------------------------------------


def test_outside_a_notebook_the_bar_goes_to_stderr_and_the_items_are_unchanged(capsys):
    items = {"a": 1, "b": 2, "c": 3}
    assert list(progress_bar(items, "letters")) == ["a", "b", "c"]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith(finished_bar("letters", 3) + "\n"), captured.err
    assert not TIMING.search(captured.err), captured.err


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="iterable must have a length.*got generator"):
        progress_bar((i for i in range(3)), "steps")
    with pytest.raises(TypeError, match="desc must be a str.*got int"):
        progress_bar(range(3), 3)
    assert list(progress_bar((i for i in range(3)), "steps", total=3)) == [0, 1, 2]


def test_verbose_training_gives_the_same_numbers(capsys):
    X, y = nnlib.datasets.moons(n_samples=60, noise=0.2, random_state=0)
    settings = dict(hidden_layer_sizes=(4,), batch_size=16, max_iter=30, n_iter_no_change=30, random_state=0)
    quiet = nnlib.MLPClassifier(**settings).fit(X, y)
    assert capsys.readouterr().err == ""
    loud = nnlib.MLPClassifier(**settings, verbose=True).fit(X, y)
    assert loud.loss_curve_ == quiet.loss_curve_
    assert all(np.array_equal(a, b) for a, b in zip(loud.coefs_ + loud.intercepts_, quiet.coefs_ + quiet.intercepts_))
    assert f"{finished_bar('epochs', 30)}, loss=" in capsys.readouterr().err


class RecordingClient(NotebookClient):
    """nbclient, keeping every message the kernel sent about each cell: what JupyterLab would be shown live."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages = []

    def process_message(self, msg, cell, cell_index):
        self.messages.append((cell_index, msg["msg_type"], msg["content"]))
        return super().process_message(msg, cell, cell_index)


@pytest.mark.timeout(300)
def test_in_a_kernel_the_bar_is_redrawn_in_place_and_only_the_finished_bar_is_kept(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import time\nimport nnlib\n\nfor step in nnlib.progress_bar(range(4), 'steps'):\n"
                                  "    time.sleep(0.15)   # longer than tqdm's 0.1 s between redraws\nprint(step)"),
        nbformat.v4.new_code_cell("X, y = nnlib.datasets.moons(n_samples=40, random_state=0)\n"
                                  "model = nnlib.MLPClassifier((3,), max_iter=20, n_iter_no_change=20, random_state=0,"
                                  " verbose=True).fit(X, y)"),
    ]
    client = RecordingClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    # live: one display, then updates of that same display, through every step
    drawn = [(kind, content) for index, kind, content in client.messages
             if index == 0 and kind in ("display_data", "update_display_data", "stream")]
    assert drawn[0][0] == "display_data", drawn
    display_id = drawn[0][1].get("transient", {}).get("display_id")
    assert display_id, f"the bar's first output is no display that can be updated: {drawn[0]}"
    updates = [content for kind, content in drawn if kind == "update_display_data"]
    assert updates and all(u["transient"]["display_id"] == display_id for u in updates), drawn
    texts = [drawn[0][1]["data"]["text/plain"]] + [u["data"]["text/plain"] for u in updates]
    assert [f"{k}/4" for k in range(5)] == sorted({t.rsplit(" ", 1)[1] for t in texts}), texts
    assert "".join(content["text"] for kind, content in drawn if kind == "stream") == "3\n"  # only the print

    # saved: the finished bar, then what the cell printed
    first, second = nb.cells
    assert first.outputs[0].output_type == "display_data", first.outputs
    assert first.outputs[0].data == {"text/plain": finished_bar("steps", 4)}
    assert "".join(o.text for o in first.outputs[1:] if o.output_type == "stream") == "3\n", first.outputs
    assert all(o.output_type == "stream" for o in first.outputs[1:]), first.outputs
    # nnlib's own training loop (verbose=True) draws the same kind of bar, with the loss, and no widget
    (bar,) = second.outputs
    assert bar.output_type == "display_data" and list(bar.data) == ["text/plain"], bar
    assert re.fullmatch(re.escape(finished_bar("epochs", 20)) + r", loss=\d\.\d{6}", bar.data["text/plain"]), bar


# The built pages -----------------------------------------------------------------------------------------------


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("chapter, desc, n", LONG_LOOPS, ids=LOOP_IDS)
def test_the_page_shows_the_finished_bar_once_with_no_widget_script(built_site, chapter, desc, n):
    page = bu.HTML / "chapters" / f"{chapter}.html"
    assert page.is_file(), f"the build (exit {built_site.returncode}) wrote no {page}"
    html = page.read_text()
    assert html.count(finished_bar(desc, n)) == 1, f"{page.name}: the finished bar is not shown once"
    bars = re.findall(re.escape(desc) + r":\s+\d+%\|", html)
    assert bars == [f"{desc}: 100%|"], f"{page.name}: bars {bars}, not the finished one alone"
    block = html[: html.index(finished_bar(desc, n))].rsplit('<div class="output', 1)[1]
    assert block.startswith(" text_plain"), f"{page.name}: the bar is in an output of class {block[:40]!r}"
    assert 'class="output stderr' not in html, f"{page.name} shows a stderr output"
    assert not WIDGET.search(html), f"{page.name}: {WIDGET.search(html).group()!r}, a widget's script or state"
    assert not re.findall(r'<script[^>]+src="(?:https?:)?//', html), f"{page.name} loads a script from the web"
