"""A progress bar for loops that take more than a few seconds (chapters 4-6), and for ``verbose`` training.

:func:`progress_bar` wraps an iterable in a `tqdm <https://tqdm.github.io>`_ bar and hands its items on unchanged,
so a loop gives the same results with or without it.

In a Jupyter notebook the bar is a single output of its cell, drawn again in place as the loop goes round. tqdm's
text bar written to a stream would instead leave one stream output per redraw in the saved notebook, and every one
of them would show as a line of the built page; a display that is updated (IPython's ``display(...,
display_id=True)``, then ``update``) keeps only its last state. Its text has no elapsed time or rate, so the finished
bar reads the same on every run and on every machine. tqdm's notebook bar is an ipywidget instead, which a static
page can show only with scripts from the web. Outside a notebook, the bar is tqdm's, on standard error.
"""

import io
import sys

from tqdm import tqdm

__all__ = ["BAR_FORMAT", "progress_bar"]

#: The bar's text: ``seeds: 100%|██████████| 50/50``, then tqdm's postfix (``, loss=0.070758``) if one is set.
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}"


def progress_bar(iterable, desc, total=None):
    """``iterable``, item by item, with a progress bar labelled ``desc`` (chapter 4).

    ``for seed in progress_bar(range(50), "seeds"):`` runs the loop body for seeds 0 to 49, as ``range(50)`` would,
    and fills the bar by one fiftieth after each.

    Parameters
    ----------
    iterable : iterable
        What the loop goes over: a list, a range, a dict (its keys), ...
    desc : str
        The bar's label, what is being counted.
    total : int, optional
        The number of items; by default ``len(iterable)``.

    Returns
    -------
    bar : tqdm.tqdm
        Iterate over it as over ``iterable``. It closes when the loop ends; call ``close()`` after a ``break``.
    """
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a str, the bar's label; got {type(desc).__name__}")
    if total is None:
        try:
            total = len(iterable)
        except TypeError:
            raise TypeError(f"iterable must have a length (a list, a range, a dict, ...), or give total; got "
                            f"{type(iterable).__name__}") from None
    bar = _NotebookBar if _in_notebook() else tqdm
    return bar(iterable, desc=desc, total=total, bar_format=BAR_FORMAT)


def _in_notebook():
    """True in a Jupyter kernel: IPython is running and a kernel is attached to it."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class _NotebookBar(tqdm):
    """tqdm's bar as one output of a notebook cell, updated in place."""

    def __init__(self, *args, **kwargs):
        self._handle = None  # the display, made at the first draw
        # The text goes to `display`, never to the stream; miniters=1: tqdm's helper thread never redraws it.
        super().__init__(*args, file=io.StringIO(), ascii=False, miniters=1, **kwargs)

    def display(self, msg=None, pos=None):
        from IPython.display import display

        bundle = {"text/plain": self.__str__() if msg is None else msg}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
        return True
