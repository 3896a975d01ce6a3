"""nbgrader preprocessors that make autograding and feedback robust (configured in nbgrader_config.py).

- :class:`ResilientExecute` runs a submission like nbgrader's ``Execute``, but a kernel that dies or hangs past its
  timeout does not abort the notebook: the cell that did it and every later code cell get an error output, so their
  tests score 0 and the rest of the notebook is still graded.
- :class:`LimitOutputSize` cuts the text output of a cell to a number of characters (nbgrader's ``LimitOutput``
  counts lines only, so one ``print`` of ten megabytes passes through it).
- :class:`HideHiddenTestTracebacks` reduces the traceback of a failing cell that holds hidden tests to its last line
  (the error and its message), so feedback never quotes the hidden code.

Every mark these leave in a notebook starts with :data:`MARK`, which is how :mod:`grading.checks` finds them.
"""

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from traitlets import Integer

from nbgrader.preprocessors import Execute, NbGraderPreprocessor

#: The start of every note the grader leaves in a graded notebook.
MARK = "[grader]"
#: The ``ename`` of the errors :class:`ResilientExecute` adds.
KERNEL_DIED = "KernelDied"
KERNEL_HUNG = "KernelHung"
NOT_RUN = "NotRun"
#: The delimiter of hidden tests (nbgrader's default, ``ClearHiddenTests.begin_test_delimeter``).
HIDDEN_TESTS = "BEGIN HIDDEN TESTS"


def _error(ename, message):
    return new_output("error", ename=ename, evalue=f"{MARK} {message}", traceback=[f"{ename}: {MARK} {message}"])


class ResilientExecute(Execute):
    """nbgrader's ``Execute``, surviving a kernel that dies or cannot be interrupted.

    - The kernel dies during a cell (``os._exit``, a segfault, a kill, running out of memory): that cell gets a
      ``KernelDied`` error.
    - A cell times out and the kernel ignores the interrupt (a loop that catches ``KeyboardInterrupt``, or ignores
      SIGINT): the kernel is shut down and the cell gets a ``KernelHung`` error.

    In both cases the later code cells are not run: each gets a ``NotRun`` error (what the student sees on *Restart
    and Run All*: after the kernel is gone nothing else runs), so every test after that point scores 0.
    """

    def preprocess(self, nb, resources, retries=None):
        self._stopped_at = None
        return super().preprocess(nb, resources, retries)

    def preprocess_cell(self, cell, resources, index):
        if self._stopped_at is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error(NOT_RUN, f"not run: the kernel stopped in {self._stopped_at}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stop(cell, index, KERNEL_DIED, "the Python kernel died while running this cell "
                       "(os._exit, a crash, a kill or running out of memory)")
        except CellTimeoutError:
            self._stop(cell, index, KERNEL_HUNG, f"this cell ran past the time limit ({self.timeout} s) and did not "
                       "stop when interrupted, so the kernel was shut down")
        return cell, resources

    def _stop(self, cell, index, ename, message):
        self.log.warning("Cell %d: %s", index, message)
        cell.outputs.append(_error(ename, message))
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        self._stopped_at = f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")
        try:
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as error:  # the kernel may already be gone; the cleanup copes either way
            self.log.warning("Stopping the kernel: %s", error)


class LimitOutputSize(NbGraderPreprocessor):
    """Keep at most ``max_chars`` characters of text output per code cell (images and other data are not cut)."""

    max_chars = Integer(20000, help="Characters of text output kept per cell (-1: no limit)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if self.max_chars < 0 or cell.cell_type != "code":
            return cell, resources
        budget, cut = self.max_chars, 0
        for output in cell.outputs:
            if output.output_type == "stream":
                text = output.text
                output.text, budget = text[:max(budget, 0)], budget - len(text)
                cut += len(text) - len(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                for mime, value in output.data.items():
                    if mime.startswith("text/") or mime.endswith("json"):
                        text = value if isinstance(value, str) else str(value)
                        if len(text) > max(budget, 0):
                            output.data[mime] = text[:max(budget, 0)] if mime.startswith("text/") else {}
                            cut += len(text) - max(budget, 0)
                        budget -= min(len(text), max(budget, 0))
        if cut:
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and not o.text)]
            cell.outputs.append(new_output("stream", name="stdout", text=(
                f"\n{MARK} output cut: {cut} characters not shown (at most {self.max_chars} are kept per cell)\n")))
        return cell, resources


class HideHiddenTestTracebacks(NbGraderPreprocessor):
    """In a cell that holds hidden tests, reduce each error's traceback to ``ename: evalue``.

    A failing assert's traceback quotes the lines around it; for a hidden test those are the hidden code. The
    visible asserts say what is wrong in their message, which is kept. Runs before ``ClearHiddenTests``.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_TESTS in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}",
                                        "(The rest of this error is not shown: this cell also holds hidden tests.)"]
        return cell, resources
