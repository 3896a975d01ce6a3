"""nbgrader preprocessors that make autograding and feedback robust (configured in nbgrader_config.py).

- :class:`ResilientExecute` runs a submission like nbgrader's ``Execute``, except its test cells: those the judge
  (:mod:`.judge`) runs in the grading process, outside the student's kernel, so that nothing the student's code
  does can decide a verdict or read a hidden test. The kernel runs in its sandbox (:mod:`grading.sandbox`) with the
  exercise's answer key taken out of nnlib (:mod:`grading.answer_key`). A kernel that dies or hangs past its timeout
  does not abort the notebook: the cell that did it and every later code cell get an error output, so their tests
  score 0 and the rest of the notebook is still graded.
- :class:`LimitOutputSize` cuts the text output of a cell to a number of characters (nbgrader's ``LimitOutput``
  counts lines only, so one ``print`` of ten megabytes passes through it).
- :class:`HideHiddenTestTracebacks` reduces the traceback of a failing cell that holds hidden tests to its last line
  (the error and its message), so feedback never quotes the hidden code.

Every mark these leave in a notebook starts with :data:`MARK`, which is how :mod:`grading.checks` finds them.
"""

import json
import subprocess
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from jupyter_client import KernelClient, KernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Bool, Integer

from .. import answer_key, sandbox
from . import judge, wire

#: What nbconvert hands a preprocessor with each notebook (and takes back from it).
Resources = dict[str, Any]
#: The start of every note the grader leaves in a graded notebook.
MARK = "[grader]"
#: The ``ename`` of the errors :class:`ResilientExecute` adds.
KERNEL_DIED = "KernelDied"
KERNEL_HUNG = "KernelHung"
NOT_RUN = "NotRun"
#: The note :class:`ResilientExecute` leaves in a cell's output.
LEFT_RUNNING = "processes left running"
#: The ``ename`` of a call of the answer key (the stub in the sandbox's nnlib raises it).
ANSWER_KEY = answer_key.ERROR_NAME
#: The kernel's side of the judge (its text is sent to each graded kernel).
JUDGE_KERNEL_SOURCE = Path(__file__).with_name("judge_kernel.py")
#: Where a source notebook lists what a learner may not call (the exercise's answer key).
OFF_LIMITS_KEY = ("course", "off_limits")
#: The delimiter of hidden tests (nbgrader's default, ``ClearHiddenTests.begin_test_delimeter``).
HIDDEN_TESTS = "BEGIN HIDDEN TESTS"
#: Seconds the kernel has to come back after the judge interrupted a call that ran past the time limit.
INTERRUPT_GRACE = 5


def _error(ename, message):
    return new_output("error", ename=ename, evalue=f"{MARK} {message}", traceback=[f"{ename}: {MARK} {message}"])


class ResilientExecute(Execute):
    """nbgrader's ``Execute`` with the tests run by the judge, surviving a kernel that dies or cannot be interrupted.

    - Test cells (nbgrader grade cells that are not answers) whose grade id the exercise's source notebook has are
      run by :class:`.judge.Judge`, never sent to the kernel. The judge reaches the student's work through
      ``judge_kernel.py`` (beside this file), installed in the kernel before the first cell.
    - The kernel dies during a cell (``os._exit``, a segfault, a kill, running out of memory): that cell gets a
      ``KernelDied`` error.
    - A cell times out and the kernel ignores the interrupt (a loop that catches ``KeyboardInterrupt``, or ignores
      SIGINT): the kernel is shut down and the cell gets a ``KernelHung`` error.

    In both cases the later code cells are not run: each gets a ``NotRun`` error (what the student sees on *Restart
    and Run All*: after the kernel is gone nothing else runs), so every test after that point scores 0.
    """

    judge = Bool(True, help="Run the test cells in the judge, outside the kernel (plugins/judge.py)").tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if sandbox.enabled():
            kwargs.setdefault("kernel_manager_class", sandbox.SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb: NotebookNode, resources: Resources | None,
                   retries: int | None = None) -> tuple[NotebookNode, Resources]:
        self._stopped_at = None
        self._notebook_name = (resources or {}).get("nbgrader", {}).get("notebook")
        source = source_notebook(resources, self.config)
        self._off_limits = off_limits(nb, source)
        self._judge = None
        if self.judge and source is not None:
            self._judge = judge.Judge(judge.Plan(source), self._judge_request, timeout=self.timeout or 30)
        result = super().preprocess(nb, resources, retries)
        if self._judge is not None:
            j = self._judge
            self.log.info("judge: %d tests, %d requests to the kernel, %.3f s in the judge, %.3f s of it waiting for "
                          "the kernel", j.tests_run, j.requests, j.seconds, j.waiting)
        return result

    def create_kernel_manager(self) -> KernelManager:
        km = super().create_kernel_manager()
        if hasattr(km, "package_overrides"):
            if self._off_limits:  # the sandbox's nnlib without the answer key
                dirs = sandbox.course_package_dirs()
                km.package_overrides = {
                    folder: str(answer_key.redacted_package(folder, self._off_limits, sandbox.process_run_root()))
                    for folder in dirs if Path(folder).name == "nnlib"}
            if self._notebook_name:  # the kernel's copy of the submission leaves out the notebook being graded
                km.exclude_files = {f"{self._notebook_name}.ipynb"}
        return km

    async def async_start_new_kernel_client(self) -> KernelClient:
        kc = await super().async_start_new_kernel_client()
        lock = getattr(self.km, "lock_run_dir", None)
        if lock is not None:
            lock()
        if self._judge is not None:
            code = (JUDGE_KERNEL_SOURCE.read_text()
                    + f"\ninstall({Path(wire.__file__).read_text()!r}, {judge.KERNEL_MODULE!r})\ndel install\n")
            reply = await self._run_quietly(code)
            if reply is None or reply["content"]["status"] != "ok":
                content = (reply or {}).get("content", {})
                raise RuntimeError(f"the judge's side could not be set up in the kernel: "
                                   f"{content.get('ename', 'no reply')}: {content.get('evalue', '')}")
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _async_cleanup_kernel(self):
        """Before the kernel stops: note the processes the submission started that still run (the sandbox's PID
        namespace kills them with the kernel)."""
        uid = getattr(self.km, "uid", None)
        if uid is not None and getattr(self, "nb", None) is not None:
            left = sandbox.processes_of(uid, exclude_kernel=True, own=getattr(self.km, "own_pids", ()))
            code_cells = [cell for cell in self.nb.cells if cell.cell_type == "code"]
            if left and code_cells:
                code_cells[-1].outputs.append(new_output("stream", name="stdout", text=(
                    f"\n{MARK} {LEFT_RUNNING}: {len(left)} process(es) it started were still running when the "
                    f"notebook ended ({', '.join(sorted(set(left))[:5])}); the sandbox stopped them\n")))
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    async def _run_quietly(self, code):
        """Run code in the kernel outside the notebook (no history, no output kept); returns the reply. An error
        here must not make the kernel drop the next cell (``stop_on_error``)."""
        msg_id = self.kc.execute(code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False)
        return await self.async_wait_for_reply(msg_id)

    async def _async_judge_request(self, request, seconds):
        """Send one request of the judge to the kernel's side (judge_kernel.py) and return its answer (a
        dict, or None when it sent none). Past ``seconds`` the kernel is interrupted: :class:`judge.TimeLimit` if it
        comes back, :class:`judge.KernelHung` if not; :class:`judge.KernelGone` if it dies."""
        code = f"__import__('sys').modules[{judge.KERNEL_MODULE!r}].serve({json.dumps(request)!r})"
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)
        answer, idle, interrupted = None, False, False
        deadline = time.monotonic() + seconds
        while not idle:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if interrupted:
                    raise judge.KernelHung()
                interrupted = True
                await self.km.interrupt_kernel()
                deadline = time.monotonic() + INTERRUPT_GRACE
                continue
            try:
                msg = await self.kc.iopub_channel.get_msg(timeout=min(remaining, 1.0))
            except Empty:
                if not await self.km.is_alive():
                    raise judge.KernelGone() from None
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = msg.get("content", {})
            if msg["msg_type"] == "display_data" and answer is None:
                answer = content.get("data", {}).get(wire.MIME)
            elif msg["msg_type"] == "status" and content.get("execution_state") == "idle":
                idle = True
        try:
            await self.kc.shell_channel.get_msg(timeout=INTERRUPT_GRACE)  # the execute_reply of the request
        except Empty:
            pass
        if interrupted:
            raise judge.TimeLimit()
        return answer

    _judge_request = run_sync(_async_judge_request)

    def preprocess_cell(self, cell: NotebookNode, resources: Resources, index: int) -> tuple[NotebookNode, Resources]:
        if self._stopped_at is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error(NOT_RUN, f"not run: the kernel stopped in {self._stopped_at}")]
            return cell, resources
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        test = (self._judge is not None and cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)
                and self._judge.plan.knows(grade_id))
        try:
            if not test:
                return super().preprocess_cell(cell, resources, index)
            cell.outputs = self._judge.run_test(grade_id)
            cell.execution_count = None
            return cell, resources
        except (DeadKernelError, judge.KernelGone):
            self._stop(cell, index, KERNEL_DIED, "the Python kernel died while running this cell "
                       "(os._exit, a crash, a kill or running out of memory)")
        except (CellTimeoutError, judge.KernelHung):
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
        except Exception as error:  # noqa: BLE001 (the kernel may already be gone; the cleanup copes either way)
            self.log.warning("Stopping the kernel: %s", error)


class LearnerExecute(ResilientExecute):
    """``make validate``: the learner's notebook as the learner runs it, tests in the kernel (the interface of the
    tests resolves locally), with the full nnlib, in the sandbox where one can be set up; where not (a learner's own
    computer without bubblewrap) it runs as it always did: it is the learner's own code."""

    judge = Bool(False).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if sandbox.enabled() and not sandbox.usable():
            from jupyter_client.manager import AsyncKernelManager

            kwargs.setdefault("kernel_manager_class", AsyncKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self) -> KernelManager:
        self._off_limits = []  # the learner's own nnlib is complete
        return super().create_kernel_manager()

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        """What the kernel process prints on its own (a start-up banner, a debugger's warning) goes to a file, not
        into the learner's report; it is shown only when the kernel does not start."""
        self._kernel_log = tempfile.TemporaryFile("w+", prefix="validate-kernel-")
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", self._kernel_log)
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self) -> KernelClient:
        log = getattr(self, "_kernel_log", None)
        try:
            return await super().async_start_new_kernel_client()
        except Exception as error:
            printed = ""
            if log is not None:
                log.seek(0)
                printed = log.read()[-3000:].strip()
            raise RuntimeError(f"the Python kernel did not start ({error})"
                               + (f"; it printed:\n{printed}" if printed else "")) from error
        finally:
            if log is not None:
                log.close()

    start_new_kernel_client = run_sync(async_start_new_kernel_client)


def source_notebook(resources: Resources | None, config: Any) -> NotebookNode | None:
    """The exercise's source notebook (the instructor's, with solutions and hidden tests), or None (validate)."""
    info = (resources or {}).get("nbgrader", {})
    try:
        root, folder = config.CourseDirectory.root, config.CourseDirectory.source_directory
        if info.get("assignment") and info.get("notebook") and isinstance(root, str) and isinstance(folder, str):
            path = Path(root) / folder / info["assignment"] / f"{info['notebook']}.ipynb"
            if path.is_file():
                return nbformat.read(path, as_version=4)
    except (AttributeError, TypeError, ValueError):
        return None
    return None


def off_limits(nb: NotebookNode, source: NotebookNode | None) -> list[str]:
    """The exercise's answer key: the dotted names listed in its *source* notebook's metadata (a submission's own
    metadata is the student's to edit, so it is only read when there is no source, as in validate)."""
    metadata = dict(source.metadata) if source is not None else dict(nb.metadata)
    for key in OFF_LIMITS_KEY:
        metadata = metadata.get(key, {}) if isinstance(metadata, dict) else {}
    return [str(name) for name in metadata] if isinstance(metadata, list) else []


class LimitOutputSize(NbGraderPreprocessor):
    """Keep at most ``max_chars`` characters of text output per code cell (images and other data are not cut)."""

    max_chars = Integer(20000, help="Characters of text output kept per cell (-1: no limit)").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Resources, index: int) -> tuple[NotebookNode, Resources]:
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

    def preprocess_cell(self, cell: NotebookNode, resources: Resources, index: int) -> tuple[NotebookNode, Resources]:
        if cell.cell_type == "code" and HIDDEN_TESTS in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}",
                                        "(The rest of this error is not shown: this cell also holds hidden tests.)"]
        return cell, resources
